package main

import (
	"math"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
)

func tagValue(st *api.Status, tag string) (float64, bool) {
	for _, tv := range st.Tags {
		if tv.Tag == tag {
			return tv.Value, tv.Quality.Good()
		}
	}
	return 0, false
}

// TestDilutionTrimOverTheWire runs the catering recipe (expected DS 28 %)
// on household waste (25 % DS, 5 % rejects) over Modbus TCP and OPC UA at
// 20×. The feed-forward alone would dilute to about 8.6 % DS; the trim on
// the analyser must bring the slurry to the 10 % target; the press feed
// pump holds the pulper at its working level, so the analyser sees the
// slurry. The press's back-pressure loop holds the recipe's 3 bar.
func TestDilutionTrimOverTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end batch; skipped with -short")
	}
	p, _, _ := startLineWith(t, lineOptions{speed: 20, wasteClass: "household"})
	c := api.NewClient(p.Server.URL())
	ctx := t.Context()
	waitGood(t, c, time.Minute)
	if res, err := c.Send(ctx, api.Command{Command: api.CommandReset, User: "e2e"}); err != nil || !res.OK {
		t.Fatalf("reset: %v %+v", err, res)
	}
	for st, _ := c.Status(ctx); st == nil || st.State != "Idle"; st, _ = c.Status(ctx) {
		time.Sleep(50 * time.Millisecond)
	}
	if res, err := c.Send(ctx, api.Command{Command: api.CommandStart, Recipe: "catering", User: "e2e"}); err != nil || !res.OK {
		t.Fatalf("start: %v %+v", err, res)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var ds, level, bpDev float64
	var bpN int
	for time.Now().Before(deadline) {
		st, err := c.Status(ctx)
		if err != nil || st.Batch == nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if st.State != "Execute" {
			t.Fatalf("line %s: %s", st.State, st.Message)
		}
		if st.Batch.Phase == "shred" && st.Batch.Step == "feeding" {
			ds, _ = tagValue(st, "pulper.ds")
			level, _ = tagValue(st, "pulper.level")
			// The press has settled once it has run for two minutes.
			if st.Time.Sub(st.Batch.PhaseStart) > 2*time.Minute {
				bp, _ := tagValue(st, "press.back_pressure")
				bpDev = math.Max(bpDev, math.Abs(bp-3))
				bpN++
			}
		}
		if st.Batch.Phase == "dewater" || st.Batch.Step == "purge:shredder" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("end of feeding: slurry %.2f %% DS at %.1f %% level; back-pressure within %.2f bar of 3 over %d readings", ds, level, bpDev, bpN)
	if level < 5 {
		t.Fatalf("pulper level %.1f %% at the end of feeding: the analyser never saw the slurry", level)
	}
	if ds < 9.4 || ds > 10.6 {
		t.Errorf("slurry %.2f %% DS at the end of feeding, want 10 ± 0.6 (8.6 %% without the trim)", ds)
	}
	if bpN < 10 || bpDev > 0.4 {
		t.Errorf("back-pressure strayed %.2f bar from 3 over %d readings, want ≤ 0.4", bpDev, bpN)
	}
	if res, err := c.Send(ctx, api.Command{Command: api.CommandAbort, User: "e2e"}); err != nil || !res.OK {
		t.Fatalf("abort: %v %+v", err, res)
	}
}
