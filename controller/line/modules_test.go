package line

import (
	"github.com/pretreat/pretreat/controller/line/linetest"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

// runBatch starts a catering batch on the sample line against the fake
// plant and runs it until it leaves Execute or limit passes, calling each
// (if not nil) after every scan.
func runBatch(t *testing.T, l *Line, p *linetest.SamplePlant, now *time.Time, limit time.Duration, each func()) {
	t.Helper()
	res := run(l, p, now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !res[0].OK {
		t.Fatalf("start refused: %s", res[0].Error)
	}
	for end := now.Add(limit); now.Before(end) && (l.State == StateExecute || l.State == StateCompleting); {
		run(l, p, now, 100*time.Millisecond)
		if each != nil {
			each()
		}
	}
}

// The recipe says the waste is 28 % DS; the DS analyser trims the water to
// the slurry's actual DS, so a wetter or drier waste still ends near the
// 10 % target. Without the analyser the water follows the recipe's ratio.
func TestDilutionTrimFollowsTheAnalyser(t *testing.T) {
	// The ratio the recipe implies: 28 % -> 10 % needs 1.8 t/t.
	const recipeRatio = 28.0/10 - 1
	for _, c := range []struct {
		name     string
		wasteDS  float64
		analyser bool
		// the water ratio must lie in [lo, hi] × the recipe's ratio
		lo, hi float64
	}{
		{"as the recipe says", 28, true, 0.97, 1.03},
		// between the recipe's ratio and the one the actual waste needs
		// (up to 5 % above what the waste needs: the trim, acting on the
		// pulper's content through its mixing lag, overshoots a little
		// while the feed runs on)
		{"drier than the recipe says", 33, true, 1.1, 1.05 * (33.0/10 - 1) / recipeRatio},
		{"wetter than the recipe says", 24, true, (24.0/10 - 1) / recipeRatio, 0.9},
		{"drier, analyser bad: the recipe's ratio", 33, false, 0.98, 1.02},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, p := newTestLine(t), linetest.NewSamplePlant()
			p.WasteDS = c.wasteDS
			p.PressKgS = 1.5 // slower than the feed and water: the pulper fills and the analyser sees the slurry
			if !c.analyser {
				p.Bad["pulper.ds"] = drivers.QualityBadCommFailure
			}
			now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
			// The slurry's DS when the top-up has ended (the press
			// then only drains).
			var ds float64
			var inShred bool
			runBatch(t, l, p, &now, 30*time.Minute, func() {
				if l.batch != nil && l.batch.phase == "dewater" && l.batch.step == "draining" && !inShred {
					inShred = true
					ds = p.V["pulper.ds"]
				}
			})
			b := l.LastBatch()
			if l.State != StateComplete || b == nil {
				t.Fatalf("state %s (%s), want Complete", l.State, l.Message)
			}
			toPulper := b.KgReceived * 0.99 // the screen takes 1 %
			ratio := b.KgWater / toPulper
			t.Logf("waste %.0f %% DS: %.1f kg waste, %.1f kg water (%.2f t/t), slurry %.2f %% DS after the top-up", c.wasteDS, toPulper, b.KgWater, ratio, ds)
			if ratio < c.lo*recipeRatio || ratio > c.hi*recipeRatio {
				t.Errorf("water %.2f t/t, want %.2f to %.2f", ratio, c.lo*recipeRatio, c.hi*recipeRatio)
			}
			if c.analyser && math.Abs(ds-10) > 0.6 {
				t.Errorf("slurry %.2f %% DS after the top-up, want 10 ± 0.6", ds)
			}
			if !c.analyser && ds < 11 {
				t.Errorf("slurry %.2f %% DS with a drier waste and no analyser: want it above target (the recipe's ratio, untrimmed)", ds)
			}
		})
	}
}

// The controller's PID holds the press back-pressure on the cone valve at
// the recipe's set-point while the press load changes, and follows an
// operator's override.
func TestPressBackPressureLoop(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	// The set-point in force: the recipe's, trimmed on the cake analyser.
	sp := func() float64 { return l.unit("press").ctl.mod.(interface{ SetpointBar() float64 }).SetpointBar() }
	var worst, spMin, spMax float64
	spMin = math.Inf(1)
	var n int
	for i := 0; i < 5*60*10 && l.State == StateExecute; i++ {
		run(l, p, &now, 100*time.Millisecond)
		if l.batch.phase == "shred" && p.V["press.running"] == 1 && l.unit("press").ctl.last.Active {
			if p.RunSince["press.run_cmd"] > 40*time.Second {
				worst = math.Max(worst, math.Abs(p.V["press.back_pressure"]-sp()))
				spMin, spMax = math.Min(spMin, sp()), math.Max(spMax, sp())
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d samples with the press running in shred", n)
	}
	// The press's fill moves with the feed pump's level loop: a larger
	// disturbance than a press drawing at capacity.
	if worst > 0.2 {
		t.Errorf("back-pressure strayed %.3f bar from its set-point after settling, want ≤ 0.2", worst)
	}
	// The fake cake is at its 30 % target at 3 bar: the trim holds the
	// set-point between the recipe's 3.2 bar and 3 bar.
	if spMin < 2.8 || spMax > 3.3 {
		t.Errorf("trimmed set-point %.2f..%.2f bar, want near 3 bar (the fake cake is on target there)", spMin, spMax)
	}
	if v := p.V["press.cone_valve"]; v <= 0 || v >= 100 {
		t.Errorf("cone valve %.1f %%, want between the limits", v)
	}
	before, base := sp(), l.param("press_back_pressure")
	res := run(l, p, &now, 0, api.Command{Command: api.CommandOverride, Parameter: "press_back_pressure", Value: base + 1, User: "sup"})
	if !res[0].OK {
		t.Fatalf("override: %s", res[0].Error)
	}
	run(l, p, &now, 100*time.Millisecond)
	if d := sp() - before; math.Abs(d-1) > 0.1 {
		t.Errorf("the override to %g bar moved the set-point in force by %.2f bar, want about +1", base+1, d)
	}
	run(l, p, &now, 30*time.Second)
	if bp := p.V["press.back_pressure"]; math.Abs(bp-sp()) > 0.15 || l.State != StateExecute {
		t.Errorf("30 s after the override: %.2f bar against %.2f, state %s", bp, sp(), l.State)
	}
	t.Logf("worst deviation %.3f bar over %d scans; trimmed set-point %.2f..%.2f bar; after the override %.2f bar, valve %.1f %%", worst, n, spMin, spMax, sp(), p.V["press.cone_valve"])
}

// Over-current on the press (above the recipe's 95 % FLA = 38 A for 3 s)
// trips it; the press is the most downstream unit, so everything stops at
// once and the line is Held until the operator unholds.
func TestPressOverCurrentTripsTheLine(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("not feeding after 3 min: %s %s", l.State, l.Message)
	}
	p.V["press.current"] = 30
	run(l, p, &now, 10*time.Second)
	p.V["press.current"] = 45
	run(l, p, &now, 2*time.Second)
	if l.State != StateExecute {
		t.Fatalf("tripped after 2 s above the limit (confirm time 3 s): %s", l.Message)
	}
	run(l, p, &now, 2*time.Second)
	if l.State != StateHeld || !strings.Contains(l.Message, "press faulted") || !strings.Contains(l.Message, "current") {
		t.Fatalf("state %s (%s), want Held by a press over-current", l.State, l.Message)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s on after the press tripped", m[0])
		}
	}
	if why := strings.Join(l.Why("press"), "; "); !strings.Contains(why, "current") || !strings.Contains(why, "unhold resets it") {
		t.Errorf("why can the press not start: %q, want the over-current fault and how to reset it", why)
	}
	if l.Outputs()["press.cone_valve"] != 0 {
		t.Errorf("cone valve %.1f %% after the trip, want open (0)", l.Outputs()["press.cone_valve"])
	}
	p.V["press.current"] = 30
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if !res[0].OK {
		t.Fatalf("unhold: %s", res[0].Error)
	}
	run(l, p, &now, 20*time.Second)
	if l.State != StateExecute || l.Outputs()["feeder.run_cmd"] != 1 || l.Outputs()["press.run_cmd"] != 1 {
		t.Fatalf("after unhold: %s (%s), feeder %v press %v", l.State, l.Message, l.Outputs()["feeder.run_cmd"], l.Outputs()["press.run_cmd"])
	}
}

// The filtrate pump transfers on level (on at high 30 %, off at low 10 %)
// and never runs dry; at high-high (a pump too slow for the press) the
// press and everything upstream pause until the level falls, and the batch
// still completes. The record counts the rejects.
func TestFiltratePumpAndTank(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var starts, hhPauses int
	var maxLevel, minRunning float64 = 0, 100
	wasRunning, wasPaused := false, false
	p.PumpKgS = 1 // slower than the press makes filtrate (2.8 kg/s)
	runBatch(t, l, p, &now, 40*time.Minute, func() {
		lv := p.V["filtrate.level"]
		maxLevel = math.Max(maxLevel, lv)
		on := l.Outputs()["filtrate.pump_cmd"] == 1
		if on && !wasRunning {
			starts++
			if lv < 29 {
				t.Errorf("pump started at %.1f %%, want at high (30 %%)", lv)
			}
		}
		if on {
			minRunning = math.Min(minRunning, lv)
		}
		wasRunning = on
		// With the feed pump holding the pulper's level, most of the
		// filtrate is made while dewatering: high-high may come then.
		paused := l.State == StateExecute && l.batch != nil && (l.batch.phase == "shred" || l.batch.phase == "dewater") && l.unit("press").want && l.Outputs()["press.run_cmd"] == 0
		if paused && !wasPaused {
			hhPauses++
			if lv < 89 {
				t.Errorf("press paused at %.1f %%, want at high-high (90 %%)", lv)
			}
			if l.Outputs()["feeder.run_cmd"] != 0 || l.Outputs()["shredder.run_cmd"] != 0 || l.Outputs()["pulper.mixer_cmd"] != 0 {
				t.Errorf("press paused at high-high but upstream runs: feeder %v shredder %v mixer %v", l.Outputs()["feeder.run_cmd"], l.Outputs()["shredder.run_cmd"], l.Outputs()["pulper.mixer_cmd"])
			}
		}
		wasPaused = paused
	})
	b := l.LastBatch()
	if l.State != StateComplete || b == nil {
		t.Fatalf("state %s (%s), want Complete", l.State, l.Message)
	}
	t.Logf("pump starts %d, high-high pauses %d, level max %.1f %%, lowest while pumping %.1f %%, dry run %.1f s, rejects %.2f kg of %.1f kg",
		starts, hhPauses, maxLevel, minRunning, p.DryRunS, b.KgRejects, b.KgReceived)
	if starts == 0 || hhPauses == 0 {
		t.Errorf("pump starts %d, high-high pauses %d: want both > 0", starts, hhPauses)
	}
	if p.DryRunS > 0 || minRunning < 5 {
		t.Errorf("the pump ran dry for %.1f s (lowest level while running %.1f %%)", p.DryRunS, minRunning)
	}
	if maxLevel > 95 {
		t.Errorf("filtrate level reached %.1f %%; the press should stop at 90 %%", maxLevel)
	}
	if math.Abs(b.KgRejects-0.01*b.KgReceived) > 0.5 {
		t.Errorf("rejects %.2f kg, want 1 %% of %.1f kg", b.KgRejects, b.KgReceived)
	}
	if l.Outputs()["filtrate.pump_cmd"] != 0 {
		t.Error("pump still commanded after Complete")
	}
}

// At low-low the pump is stopped and refused (dry-run protection); a pump
// that fails to start stops the whole line (everything is upstream of it).
func TestFiltratePumpDryRunAndFault(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	p.PumpKgS = 2
	run(l, p, &now, time.Second) // the tank is empty
	if why := strings.Join(l.Why("filtrate_pump"), "; "); !strings.Contains(why, "dry-run protection") {
		t.Errorf("why can the pump not start with the tank empty: %q, want the dry-run protection", why)
	}
	runBatch(t, l, p, &now, 10*time.Minute, func() {
		if l.Outputs()["filtrate.pump_cmd"] == 1 && p.V["filtrate.pump_running"] == 1 && p.Tank > 0.1*linetest.TankKg {
			// The level transmitter suddenly reads low-low (a drained
			// tank): the pump must stop at once.
			p.Tank = 0.01 * linetest.TankKg
		}
	})
	pc := l.pumps[0]
	// Each time, the pump may run one scan (0.1 s) before it sees the level.
	if p.DryRunS > 0.15*float64(pc.dryRuns()) {
		t.Errorf("the pump ran %.1f s with the tank below 2 %% over %d stops; want at most one scan each", p.DryRunS, pc.dryRuns())
	}
	if pc.dryRuns() == 0 {
		t.Errorf("dry-run protection never stopped the pump")
	}
	t.Logf("dry-run stops %d, dry running %.1f s", pc.dryRuns(), p.DryRunS)

	l, p = newTestLine(t), linetest.NewSamplePlant()
	p.NoStart["filtrate.pump_cmd"] = true
	runBatch(t, l, p, &now, 20*time.Minute, nil)
	if l.State != StateHolding && l.State != StateHeld || !strings.Contains(l.Message, "filtrate_pump") || !strings.Contains(l.Message, "failed to start") {
		t.Fatalf("state %s (%s), want held by the pump failing to start", l.State, l.Message)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s on after the pump fault", m[0])
		}
	}
}

// A hold that switches everything off (here a device lost) stops a running
// pump at once, and the pump stays off until an operator unholds, even with
// the tank above its high level.
func TestPumpOffInAHoldUntilUnhold(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	p.PumpKgS = 1
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	for i := 0; i < 20*60*10 && l.Outputs()["filtrate.pump_cmd"] != 1; i++ {
		run(l, p, &now, 100*time.Millisecond)
	}
	if l.Outputs()["filtrate.pump_cmd"] != 1 {
		t.Fatalf("the pump never ran: %s %s", l.State, l.Message)
	}
	p.Bad["hopper.weight"] = drivers.QualityBadCommFailure
	for i := 0; i < 600; i++ { // every scan's outputs
		p.Step(l.Outputs(), 100*time.Millisecond)
		now = now.Add(100 * time.Millisecond)
		l.Step(now, p, nil, nil)
		if l.Outputs()["filtrate.pump_cmd"] != 0 {
			t.Fatalf("pump commanded on %d scans after the device was lost (state %s)", i+1, l.State)
		}
	}
	delete(p.Bad, "hopper.weight")
	run(l, p, &now, time.Minute)
	if l.State != StateHeld || l.Outputs()["filtrate.pump_cmd"] != 0 || p.V["filtrate.level"] < 30 {
		t.Fatalf("device back: state %s pump %v level %.1f %%; want Held, pump off with the tank above high", l.State, l.Outputs()["filtrate.pump_cmd"], p.V["filtrate.level"])
	}
	if res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"}); !res[0].OK {
		t.Fatalf("unhold: %s", res[0].Error)
	}
	run(l, p, &now, 2*time.Second)
	if l.Outputs()["filtrate.pump_cmd"] != 1 {
		t.Errorf("pump not running after the unhold with the tank at %.1f %%", p.V["filtrate.level"])
	}
}
