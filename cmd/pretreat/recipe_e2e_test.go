package main

import (
	"bytes"
	"context"
	"github.com/pretreat/pretreat/controller/line"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/recipes"
)

// TestShippedRecipesPassTheShippedPlants validates the shipped recipes
// against each shipped plant file's limits.
func TestShippedRecipesPassTheShippedPlants(t *testing.T) {
	for name, src := range plant.Shipped() {
		cfg, err := plant.Parse("<"+name+">", src)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := recipes.Shipped(line.Limits(cfg))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rs) < 3 {
			t.Fatalf("%d shipped recipes", len(rs))
		}
	}
}

// TestShippedRecipesRunOnTheRig drives a batch of each shipped recipe to
// Complete on each shipped plant, against the rig tipping that recipe's
// waste class, and checks the batch record's received mass and mass
// balance.
func TestShippedRecipesRunOnTheRig(t *testing.T) {
	if testing.Short() {
		t.Skip("six end-to-end batches; skipped with -short")
	}
	rs, err := recipes.Shipped(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, plantName := range []string{"sample", "two-lane"} {
		for _, r := range rs {
			t.Run(plantName+"/"+r.Name, func(t *testing.T) { runShippedRecipe(t, plantName, r) })
		}
	}
}

func runShippedRecipe(t *testing.T, plantName string, r *recipes.Recipe) {
	p, rig, dir := startLineWith(t, lineOptions{speed: 20, wasteClass: r.WasteClass, plantName: plantName})
	st := runRecipe(t, api.NewClient(p.Server.URL()), r.Name, 4*time.Minute)
	b := st.LastBatch
	tipped, _ := rig.Truth("waste_in.total") // the rig starts empty: all of it is this batch's
	t.Logf("%s on %s: %.1f kg in (rig: %.1f tipped), %.1f kg cake, %.1f kg water, %.1f kg filtrate, %.1f kg rejects, hold-up %.1f → %.1f kg: closure %.2f %%, in %s plant time",
		r.Name, plantName, b.KgReceived, tipped, b.KgCake, b.KgWater, b.KgFiltrate, b.KgRejects, b.KgHoldupStart, b.KgHoldupEnd, b.ClosurePct, b.End.Sub(b.Start).Round(time.Second))
	// The received mass is taken once tipping has stopped, so it is
	// what the trucks tipped, to the load cell's noise.
	if d := b.KgReceived - tipped; d < -1 || d > 1 {
		t.Errorf("received %.1f kg, the rig tipped %.1f kg: off by %.1f kg, want within 1 kg", b.KgReceived, tipped, d)
	}
	if b.ClosurePct < 99.5 || b.ClosurePct > 100.5 {
		t.Errorf("mass balance closes at %.2f %%, want 100 ± 0.5 %%", b.ClosurePct)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	hs, err := historian.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	bs, err := hs.Batches()
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches %+v %v", bs, err)
	}
	got := bs[0]
	if got.State != "complete" || got.Recipe != r.Name || got.RecipeVersion != 1 || got.RecipeHash != r.Hash {
		t.Errorf("record %s %s@%d %s, want complete %s@1 %s", got.State, got.Recipe, got.RecipeVersion, got.RecipeHash, r.Name, r.Hash)
	}
	if len(got.Phases) != len(r.Procedure) {
		t.Errorf("record has %d phases, recipe %d", len(got.Phases), len(r.Procedure))
	}
	want := r.PhaseByName("receive").End.MassReceived.Value
	// The door shuts on the noisy load cell's reading: the settled
	// mass may be a fraction of a kg below the target.
	if got.KgReceived < want-1 || got.KgReceived > want*1.1 {
		t.Errorf("received %.1f kg, recipe asks %.0f kg", got.KgReceived, want)
	}
}

// TestStartRefusesDraftAndOutOfLimits checks, through the API and through
// the CLI, that a draft recipe and an approved recipe outside this plant's
// limits cannot start a batch.
func TestStartRefusesDraftAndOutOfLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rig and a controller; skipped with -short")
	}
	dir := t.TempDir()
	st := recipes.OpenStore(dir)
	files, _ := recipes.ShippedFiles()
	now := time.Now()
	// catering: imported and approved against the sample plant (press up to 40 rpm).
	cfg, _ := plant.Parse("<sample>", plant.Sample())
	info, _, err := st.Import("catering.yaml", files["catering.yaml"], "ann", line.Limits(cfg), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Approve(info.Name, info.Version, "carol", now); err != nil {
		t.Fatal(err)
	}
	// market-veg: imported, left a draft.
	if _, _, err := st.Import("market-veg.yaml", files["market-veg.yaml"], "ann", line.Limits(cfg), now); err != nil {
		t.Fatal(err)
	}
	// This controller's plant has a press limited to 12 rpm: catering's 15 rpm is out.
	p, _, _ := startLineWith(t, lineOptions{speed: 20, noRecipes: true, dataDir: dir, plant: func(f *plant.File) {
		for i := range f.Units {
			if f.Units[i].Kind == plant.KindScrewPress {
				f.Units[i].Limits["speed_sp"] = [2]float64{5, 12}
			}
		}
	}})
	c := api.NewClient(p.Server.URL())
	waitGood(t, c, time.Minute)
	if res, err := c.Send(t.Context(), api.Command{Command: api.CommandReset, User: "op"}); err != nil || !res.OK {
		t.Fatalf("reset: %v %+v", err, res)
	}
	time.Sleep(300 * time.Millisecond)
	cases := []struct{ recipe, want string }{
		{"market-veg", "recipe market-veg has no approved version (the latest, version 1, is a draft; approve it with: pretreat recipe approve market-veg@1)"},
		{"market-veg@1", "recipe market-veg version 1 is a draft; only an approved version can start a batch"},
		{"catering", "press_speed = 15 rpm is outside the plant's limit screw_press.speed_sp; allowed: 5 to 12 rpm"},
		{"nosuch", "recipe nosuch: not found in the store"},
	}
	for _, tc := range cases {
		name, v, _ := parseRef(tc.recipe)
		res, err := c.Send(t.Context(), api.Command{Command: api.CommandStart, Recipe: name, Version: v, User: "op"})
		if err != nil {
			t.Fatal(err)
		}
		// The API gives the reason alone; whoever shows it says "start
		// refused:".
		if res.OK || !strings.Contains(res.Error, tc.want) || strings.Contains(res.Error, "refused") {
			t.Errorf("API start %s: got %+v, want refusal containing %q, without \"refused\"", tc.recipe, res, tc.want)
		}
		// The same through the CLI, as an operator would type it.
		code, stderr := runCLI(t, "batch", "start", "--api", p.Server.URL(), "--recipe", tc.recipe, "--user", "op")
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "refused") != 1 || !strings.Contains(stderr, "start refused: ") {
			t.Errorf("CLI batch start %s: exit %d, stderr %q; want exit 1 with \"start refused: \" once and %q", tc.recipe, code, stderr, tc.want)
		}
	}
	s, err := c.Status(t.Context())
	if err != nil || s.State != "Idle" {
		t.Fatalf("line %v after refusals (%v), want Idle", s.State, err)
	}
}

// runCLI runs the pretreat command line in-process and returns the exit
// code and what it wrote to standard error.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	code := run(context.Background(), args)
	os.Stderr = old
	w.Close()
	var buf bytes.Buffer
	io.Copy(&buf, r)
	return code, buf.String()
}
