package yamlsrc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Speed float64 `yaml:"speed"`
	Count int     `yaml:"count"`
}

type outer struct {
	Name   string            `yaml:"name"`
	Period time.Duration     `yaml:"period"`
	On     bool              `yaml:"on"`
	Items  []inner           `yaml:"items"`
	Limits map[string][2]int `yaml:"limits"`
}

func TestAllProblemsAtOnce(t *testing.T) {
	src := `name: x
period: 5
on: maybe
colour: red
items:
  - {speed: fast, count: 2}
  - {speed: 1.5, count: 2.5, extra: 1}
limits:
  a: [1, 2, 3]
  a: [1, 2]
`
	var v outer
	_, err := Decode("f.yaml", []byte(src), &v)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v, want Errors", err)
	}
	want := []string{
		`f.yaml:2:9: $.period: "5" has no unit`,
		`f.yaml:3:5: $.on: must be true or false, not "maybe"`,
		`f.yaml:4:1: $.colour: unknown key "colour"; allowed here: items, limits, name, on, period`,
		`f.yaml:6:13: $.items[0].speed: must be a number, not "fast"`,
		`f.yaml:7:25: $.items[1].count: must be a whole number, not "2.5"`,
		`f.yaml:7:30: $.items[1].extra: unknown key "extra"; allowed here: count, speed`,
		`f.yaml:9:6: $.limits.a: must be a list of exactly 2 values, not 3`,
		`f.yaml:10:3: $.limits.a: key "a" appears twice`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s…", i, es[i], w)
		}
	}
}

func TestGoodDocumentDecodes(t *testing.T) {
	var v outer
	if _, err := Decode("f.yaml", []byte("name: x\nperiod: 100ms\nitems: [{speed: 2, count: 3}]\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Period != 100*time.Millisecond || v.Items[0].Count != 3 {
		t.Fatalf("decoded %+v", v)
	}
}
