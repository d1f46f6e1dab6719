package line

import (
	"math"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line/linetest"
	"github.com/pretreat/pretreat/recipes"
)

// Jams and reversals are counted per batch, and survive a restart through
// the batch context (the equipment's counters start again from zero).
func TestBatchCountsJamsAndReversals(t *testing.T) {
	l, p := newJamLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	jammed := false
	always := func() bool { return true }
	runJam(l, p, &now, 2*time.Minute, &jammed, always)
	if l.batch == nil || l.batch.step != "feeding" || l.batch.rec.Jams != 0 {
		t.Fatalf("not feeding, or jams before any: %s %s %+v", l.State, l.Message, l.batch)
	}
	for range 2 {
		jammed = true
		runJam(l, p, &now, 20*time.Second, &jammed, always)
	}
	if b := l.batch.rec; b.Jams != 2 || b.Reversals != 2 {
		t.Fatalf("jams %d reversals %d, want 2 and 2", b.Jams, b.Reversals)
	}
	id, kg, known := l.ReceivedKg()
	if !known || kg < 400 || id != l.batch.rec.ID {
		t.Fatalf("ReceivedKg = %s %g %v after receive", id, kg, known)
	}
	saved := l.BatchForSave()

	// A restarted controller: a fresh line, fresh equipment counters.
	rs, _ := recipes.Shipped(nil)
	l2, err := NewLine(l.cfg, rs)
	if err != nil {
		t.Fatal(err)
	}
	var r *recipes.Recipe
	for _, x := range rs {
		if x.Name == saved.Recipe {
			r = x
		}
	}
	saved.Jams, saved.Reversals = 0, 0 // the context, not the record's fields, carries them
	if _, err := l2.Restore(now, *saved, r); err != nil {
		t.Fatal(err)
	}
	if b := l2.batch.rec; b.Jams != 2 || b.Reversals != 2 {
		t.Fatalf("after restore: jams %d reversals %d, want 2 and 2", b.Jams, b.Reversals)
	}
	run(l2, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	runJam(l2, p, &now, 10*time.Second, &jammed, always)
	jammed = true
	runJam(l2, p, &now, 20*time.Second, &jammed, always)
	if b := l2.batch.rec; b.Jams != 3 || b.Reversals != 3 {
		t.Fatalf("after restore and one more jam: jams %d reversals %d, want 3 and 3 (%s %s)", b.Jams, b.Reversals, l2.State, l2.Message)
	}
}

// A batch records the energy of each metered unit (KWh their sum), and the
// mean cake and slurry DS against the recipe's targets.
func TestBatchRecordsEnergyByUnitAndDS(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	p.V["shredder.energy"], p.V["press.energy"] = 100, 500
	var each func()
	each = func() {
		// The meters count while their motors run.
		if p.V["shredder.running"] == 1 {
			p.V["shredder.energy"] += 0.01
		}
		if p.V["press.running"] == 1 {
			p.V["press.energy"] += 0.002
		}
	}
	runBatch(t, l, p, &now, 30*time.Minute, each)
	b := l.LastBatch()
	if b == nil || b.State != "complete" {
		t.Fatalf("batch %+v (%s %s)", b, l.State, l.Message)
	}
	if len(b.Metered) != 2 || b.KWhByUnit["shredder"] <= 0 || b.KWhByUnit["press"] <= 0 {
		t.Fatalf("metered %v, by unit %v", b.Metered, b.KWhByUnit)
	}
	if sum := b.KWhByUnit["shredder"] + b.KWhByUnit["press"]; math.Abs(sum-b.KWh) > 1e-9 {
		t.Errorf("KWh %g, sum by unit %g", b.KWh, sum)
	}
	if b.CakeDSTarget == 0 || b.SlurryDSTarget == 0 {
		t.Errorf("targets cake %g slurry %g, want the recipe's", b.CakeDSTarget, b.SlurryDSTarget)
	}
	if !(b.CakeDS > 20 && b.CakeDS < 40) || !(b.SlurryDS > 5 && b.SlurryDS < 20) {
		t.Errorf("cake DS %g (target %g), slurry DS %g (target %g)", b.CakeDS, b.CakeDSTarget, b.SlurryDS, b.SlurryDSTarget)
	}
	if b.Jams != 0 || b.Reversals != 0 {
		t.Errorf("jams %d reversals %d without a jam", b.Jams, b.Reversals)
	}
}
