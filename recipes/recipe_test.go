package recipes

import (
	"errors"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func TestShippedRecipesValidate(t *testing.T) {
	rs, err := Shipped(Limits{"shredder.speed_sp": {10, 40}, "screw_press.speed_sp": {5, 50}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 {
		t.Fatal("no shipped recipes")
	}
	for _, r := range rs {
		if r.Hash == "" || r.Version < 1 {
			t.Errorf("%s: hash %q version %d", r.Name, r.Hash, r.Version)
		}
	}
}

func TestBadRecipesAreLocated(t *testing.T) {
	good, err := shipped.ReadFile("shipped/catering.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"unknown key", "version: 1", "version: 1\ncolour: red", `unknown field "colour"`},
		{"wrong unit", "{value: 20, unit: rpm}", "{value: 20, unit: rps}", `shredder_speed is in rpm, not "rps"`},
		{"out of range", "{value: 3.0, unit: bar}", "{value: 9.0, unit: bar}", "press_back_pressure = 9 bar is out of range; allowed: 0.5 to 7 bar"},
		{"phase order", "[receive, shred, dewater]", "[receive, dewater, shred]", `phase "shred" cannot run after "dewater"`},
		{"missing", "  ds_in: {value: 28, unit: \"%\"}\n", "", "required parameter ds_in (%) is missing"},
		{"equipment limit", "{value: 15, unit: rpm}", "{value: 45, unit: rpm}", "outside the equipment limit screw_press.speed_sp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(good), c.old, c.new, 1)
			if src == string(good) {
				t.Fatalf("edit %q not applied", c.old)
			}
			_, err := Parse("catering.yaml", []byte(src), Limits{"screw_press.speed_sp": {5, 40}})
			var es yamlsrc.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want yamlsrc.Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "catering.yaml:") || es[0].Line < 2 {
				t.Errorf("error not located: %q", err)
			}
		})
	}
}
