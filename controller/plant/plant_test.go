package plant

import (
	"errors"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func TestSampleIsValid(t *testing.T) {
	f, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatalf("sample plant file does not check: %v", err)
	}
	if got, want := len(f.Devices), 4; got != want {
		t.Errorf("devices = %d, want %d", got, want)
	}
	if f.Unit(KindShredder) == nil {
		t.Error("no shredder unit")
	}
}

func TestErrorsNameLineAndColumn(t *testing.T) {
	cases := []struct {
		name, edit, old string
		want            string
	}{
		{"bad type", "type: int17", "type: float32, order: ABCD", "sample.yaml:40:67: $.devices[0].points[6].type"},
		{"unknown key", "colour: red\nline: line-1", "line: line-1", "sample.yaml:9:1: $.colour: unknown key \"colour\"; allowed here: api, devices"},
		{"bad order", "order: BADX", "order: CDAB", "order \"BADX\" is not known"},
		{"unknown tag", "running: press.runing", "running: press.running", "tag \"press.runing\" is not mapped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(Sample()), c.old, c.edit, 1)
			if src == string(Sample()) {
				t.Fatalf("edit %q not applied", c.old)
			}
			_, err := Parse("sample.yaml", []byte(src))
			var es yamlsrc.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %v, want located errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if es[0].Line < 1 || es[0].Column < 1 {
				t.Errorf("no position in %v", es[0])
			}
		})
	}
}
