package recipes

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/bad")

// sampleLimits are the equipment limits of controller/plant/sample.yaml; a
// test in cmd/pretreat checks the shipped recipes against the real file.
var sampleLimits = Limits{
	"screw_press.speed_sp":         {5, 40},
	"screw_press.back_pressure_sp": {0.5, 7},
	"pulper.water_flow_sp":         {0, 20},
	"shredder.speed_sp":            {10, 40},
	"feeder.speed_sp":              {0, 100},
	"reception.weight":             {0, 5000},
}

func TestShippedRecipesValidate(t *testing.T) {
	rs, err := Shipped(sampleLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 3 {
		t.Fatalf("%d shipped recipes, want catering, market veg and packaged/bakery", len(rs))
	}
	classes := map[string]bool{}
	for _, r := range rs {
		classes[r.WasteClass] = true
		if len(r.Hash) != 64 || r.Version != 1 {
			t.Errorf("%s: hash %q version %d", r.Name, r.Hash, r.Version)
		}
	}
	for _, c := range []string{"catering", "market_veg", "bakery"} {
		if !classes[c] {
			t.Errorf("no shipped recipe for waste class %s", c)
		}
	}
}

// TestBadRecipes checks the exact message a person sees for each kind of
// mistake, one file per kind in testdata/bad with its golden output.
func TestBadRecipes(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("%d bad recipes, want at least 20", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := Load(f, sampleLimits)
			var es yamlsrc.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want located errors", err)
			}
			for _, e := range es {
				if e.Line < 1 || e.Column < 1 || e.File != f {
					t.Errorf("error not located: %+v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./recipes -run TestBadRecipes -update)", err)
			}
			if got != string(want) {
				t.Errorf("message differs from %s\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestHashIgnoresLayoutNotContent(t *testing.T) {
	files, _ := ShippedFiles()
	src := files["catering.yaml"]
	a, err := Parse("a.yaml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yaml", []byte("# another comment\n"+strings.ReplaceAll(string(src), "version: 1\n", "")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash {
		t.Errorf("comment and version changed the hash: %s vs %s", a.Hash, b.Hash)
	}
	c, err := Parse("c.yaml", []byte(strings.Replace(string(src), "{value: 3.2, unit: bar}", "{value: 3.5, unit: bar}", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash == a.Hash {
		t.Error("a changed value did not change the hash")
	}
}

// FuzzParse feeds arbitrary bytes to the parser and validator: they must
// return a recipe or located errors, never panic or hang.
func FuzzParse(f *testing.F) {
	files, _ := ShippedFiles()
	for _, src := range files {
		f.Add(src)
	}
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, b := range bad {
		src, _ := os.ReadFile(b)
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		type result struct {
			r   *Recipe
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := Parse("fuzz.yaml", src, sampleLimits)
			done <- result{r, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse hung for 5 s on %q", src)
		}
		r, err := res.r, res.err
		if err == nil {
			if r == nil || r.Hash == "" {
				t.Fatal("no recipe and no error")
			}
			return
		}
		var es yamlsrc.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is not located: %v", err)
		}
	})
}
