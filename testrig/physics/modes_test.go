package physics

import (
	"math"
	"testing"
	"time"
)

// piLoop is a textbook PI controller on the cone valve, written here rather
// than taken from the controller so that the model is tested on its own:
// reverse acting in the controller's sense (more pressure than wanted opens
// the valve), output clamped to 0–100 % with the integral held while the
// output is saturated.
type piLoop struct {
	kp, ki   float64 // %/bar, %/(bar·s)
	integral float64 // %
}

func (p *piLoop) update(spBar, pvBar, dtS float64) float64 {
	e := spBar - pvBar
	out := p.kp*e + p.integral + p.ki*e*dtS
	if out >= 0 && out <= 100 {
		p.integral += p.ki * e * dtS
	}
	return clamp(out, 0, 100)
}

// closeLoop runs the PI loop on press.back_pressure every dt for d and
// returns the plant time (from the call) after which the back-pressure
// stayed within tol of sp to the end (-1 when it did not settle), the
// lowest back-pressure seen and the last.
func closeLoop(t *testing.T, l *Line, pi *piLoop, sp, tol float64, d time.Duration) (settled time.Duration, lowest, last float64) {
	t.Helper()
	const dt = 100 * time.Millisecond
	settled, lowest = -1, math.Inf(1)
	for at := time.Duration(0); at < d; at += dt {
		pv := mustGet(t, l, "press.back_pressure")
		mustSet(t, l, RoleConeValve, pi.update(sp, pv, dt.Seconds()))
		l.Step(dt)
		pv = mustGet(t, l, "press.back_pressure")
		lowest = math.Min(lowest, pv)
		switch {
		case math.Abs(pv-sp) > tol:
			settled = -1
		case settled < 0:
			settled = at + dt
		}
	}
	return settled, lowest, mustGet(t, l, "press.back_pressure")
}

func TestConeValveUnderPI(t *testing.T) {
	const sp, tol = 3.0, 0.1
	l := fullPulper(t)
	l.SetBackPressureControl(BackPressureFromValve)
	if got := l.BackPressureControl(); got != BackPressureFromValve {
		t.Fatalf("BackPressureControl() = %v after setting cone_valve", got)
	}
	// The set-point role is ignored in this mode: a PI loop must do the work.
	mustSet(t, l, "press.back_pressure_sp", 6)
	mustSet(t, l, "press.run_cmd", 1)
	// Tuned as for a 0.07 bar/%, 2 s cone: the integral time cancels the lag.
	pi := &piLoop{kp: 10, ki: 5}
	settled, _, bp := closeLoop(t, l, pi, sp, tol, 60*time.Second)
	valve := mustGet(t, l, RoleConeValve)
	t.Logf("from rest: within %.1f ± %.1f bar after %v of plant time, %.3f bar at 60 s, valve %.1f %%, fill %.2f",
		sp, tol, settled, bp, valve, l.first(KindScrewPress).(*press).fill)
	if settled < 0 || settled > 30*time.Second {
		t.Fatalf("back-pressure settled within %g ± %g bar after %v (−1: never), want within 30 s; %.3f bar at the end", sp, tol, settled, bp)
	}
	if l.first(KindScrewPress).(*press).fill < 0.99 {
		t.Fatalf("press fill %.2f: the test needs the screw running full", l.first(KindScrewPress).(*press).fill)
	}
	if want := sp / coneBarPerPct; math.Abs(valve-want) > 0.5 {
		t.Errorf("valve settled at %.2f %%, want about %.1f %% (3 bar at %g bar/%% with the screw full)", valve, want, coneBarPerPct)
	}

	// A load change the loop must reject: the screw stops, the plug of
	// cake relaxes, the pressure falls at the same valve position; the
	// loop closes the valve further and brings it back.
	mustSet(t, l, "press.run_cmd", 0)
	settled, minBP, bp := closeLoop(t, l, pi, sp, tol, 60*time.Second)
	valve2 := mustGet(t, l, RoleConeValve)
	t.Logf("screw stopped: dipped to %.3f bar, back within %.1f ± %.1f bar for good %v after the stop, valve %.1f %% → %.1f %%", minBP, sp, tol, settled, valve, valve2)
	if minBP > sp-0.2 {
		t.Errorf("back-pressure dipped only to %.3f bar when the screw stopped: no disturbance for the loop to reject", minBP)
	}
	if settled < 0 || settled > 30*time.Second {
		t.Errorf("after the screw stopped: within %g ± %g bar after %v, want within 30 s; %.3f bar", sp, tol, settled, bp)
	}
	if valve2 <= valve+5 {
		t.Errorf("valve %.1f %% with the screw stopped, %.1f %% running: want it further closed", valve2, valve)
	}
}

func TestConeValveFixed(t *testing.T) {
	const valve = 40.0
	l := fullPulper(t)
	l.SetBackPressureControl(BackPressureFromValve)
	mustSet(t, l, RoleConeValve, valve)
	l.Step(20 * time.Second)
	// Stopped screw: the valve alone.
	empty := mustGet(t, l, "press.back_pressure")
	if want := coneBarPerPct * valve * coneEmptyFactor; math.Abs(empty-want) > 0.01 {
		t.Errorf("screw stopped, valve %g %%: %.3f bar, want %.3f", valve, empty, want)
	}
	mustSet(t, l, "press.run_cmd", 1)
	l.Step(30 * time.Second)
	full := mustGet(t, l, "press.back_pressure")
	if want := coneBarPerPct * valve; math.Abs(full-want) > 0.01 {
		t.Errorf("screw running full, valve %g %%: %.3f bar, want %.3f", valve, full, want)
	}
	if full-empty < 0.5 {
		t.Errorf("back-pressure %.3f bar running full, %.3f bar stopped: want the load to move it", full, empty)
	}
	// A screw that turns with nothing to draw runs empty too: let the
	// pulper run down.
	mustSet(t, l, "shredder.run_cmd", 0)
	mustSet(t, l, "pulper.water_cmd", 0)
	for l.first(KindPulper).(*pulper).slurry.mass > 0 && l.Elapsed() < 2*time.Hour {
		l.Step(10 * time.Second)
	}
	l.Step(30 * time.Second)
	starved := mustGet(t, l, "press.back_pressure")
	t.Logf("valve %g %%: %.3f bar stopped, %.3f bar running full, %.3f bar running starved", valve, empty, full, starved)
	if math.Abs(starved-empty) > 0.01 {
		t.Errorf("screw turning with an empty pulper: %.3f bar, want %.3f as when stopped", starved, empty)
	}

	// The cone valve clamps to 0–100 % and a shut valve holds at most
	// coneMaxBar.
	mustSet(t, l, RoleConeValve, 150)
	if v := mustGet(t, l, RoleConeValve); v != 100 {
		t.Errorf("cone_valve = %g after setting 150, want 100", v)
	}
	mustSet(t, l, RoleConeValve, -5)
	l.Step(30 * time.Second)
	if bp := mustGet(t, l, "press.back_pressure"); bp > 1e-3 {
		t.Errorf("back-pressure %.4f bar with the valve fully open, want 0", bp)
	}
}

func TestBackPressureSetpointModeIsTheDefault(t *testing.T) {
	l := fullPulper(t)
	if got := l.BackPressureControl(); got != BackPressureFromSetpoint {
		t.Fatalf("BackPressureControl() = %v on a new line, want the set-point", got)
	}
	if bp := mustGet(t, l, "press.back_pressure"); bp != 3 {
		t.Fatalf("back-pressure %g bar after 15 min at a set-point of 3 bar", bp)
	}
	mustSet(t, l, RoleConeValve, 100) // ignored in this mode
	mustSet(t, l, "press.back_pressure_sp", 5)
	l.Step(2 * time.Second)
	if got, want := mustGet(t, l, "press.back_pressure"), 5-2*math.Exp(-1); math.Abs(got-want) > 1e-9 {
		t.Errorf("one time constant after the set-point went 3 → 5 bar: %.4f bar, want %.4f (2 s lag)", got, want)
	}
	l.Step(28 * time.Second)
	stopped := mustGet(t, l, "press.back_pressure")
	mustSet(t, l, "press.run_cmd", 1)
	l.Step(30 * time.Second)
	running := mustGet(t, l, "press.back_pressure")
	if math.Abs(stopped-5) > 1e-3 || math.Abs(running-5) > 1e-3 {
		t.Errorf("back-pressure %.4f bar stopped, %.4f bar running full: want 5 both, whatever the valve and the load", stopped, running)
	}
}

// filtrateLine is a wet line (market veg) with a commanded filtrate pump,
// making filtrate fast.
func filtrateLine(t *testing.T) *Line {
	t.Helper()
	l := quiet(1, ClassMarketVeg)
	l.SetFiltratePumpControl(FiltratePumpCommanded)
	l.Tip(3000)
	startLine(t, l)
	mustSet(t, l, "press.speed_sp", 40)
	return l
}

func TestFiltratePumpCommanded(t *testing.T) {
	l := filtrateLine(t)
	if got := l.FiltratePumpControl(); got != FiltratePumpCommanded {
		t.Fatalf("FiltratePumpControl() = %v", got)
	}

	// Command off: the tank fills past the float switch's 70 % and
	// nothing drains it.
	last := 0.0
	for range 1800 {
		l.Step(time.Second)
		lvl := mustGet(t, l, "filtrate.level")
		if lvl < last {
			t.Fatalf("level fell from %.2f to %.2f %% at %v with the pump not commanded", last, lvl, l.Elapsed())
		}
		if mustGet(t, l, "filtrate.pump_running") != 0 {
			t.Fatalf("pump running at %v without a command", l.Elapsed())
		}
		last = lvl
	}
	if last < filtratePumpOnPct+5 || mustGet(t, l, "filtrate.pumped") != 0 {
		t.Fatalf("after 30 min uncommanded: level %.1f %%, pumped %g kg; want above the float switch and nothing pumped", last, mustGet(t, l, "filtrate.pumped"))
	}

	// Command on: running after the 1 s start delay, then it drains.
	mustSet(t, l, RoleFiltratePumpCmd, 1)
	l.Step(900 * time.Millisecond)
	if mustGet(t, l, "filtrate.pump_running") != 0 {
		t.Errorf("pump running 0.9 s after the command, want the 1 s start delay")
	}
	l.Step(200 * time.Millisecond)
	if mustGet(t, l, "filtrate.pump_running") != 1 {
		t.Fatalf("pump not running 1.1 s after the command")
	}
	l.Step(30 * time.Second)
	if lvl := mustGet(t, l, "filtrate.level"); lvl > last-10 {
		t.Errorf("level %.1f %% 30 s after the pump started, was %.1f %%: want it draining", lvl, last)
	}
	if d := mustGet(t, l, "filtrate.pump_dry_run_s"); d != 0 {
		t.Errorf("dry-run time %g s while the tank was full", d)
	}

	// Left on below the float switch's 20 % it empties the tank and runs
	// dry; the dry-run time counts it.
	for mustGet(t, l, "filtrate.level") >= filtrateDryRunPct && l.Elapsed() < 3*time.Hour {
		l.Step(time.Second)
	}
	d0 := mustGet(t, l, "filtrate.pump_dry_run_s")
	l.Step(60 * time.Second)
	d1 := mustGet(t, l, "filtrate.pump_dry_run_s")
	t.Logf("pump on an empty tank: dry-run %.2f s → %.2f s over 60 s (level %.2f %%)", d0, d1, mustGet(t, l, "filtrate.level"))
	if d1-d0 < 59 || d1-d0 > 60+1e-6 {
		t.Errorf("dry-run time grew by %.2f s in 60 s on an empty tank, want about 60", d1-d0)
	}

	// Command off: stops at once, no more dry running.
	mustSet(t, l, RoleFiltratePumpCmd, 0)
	l.Step(50 * time.Millisecond)
	d2 := mustGet(t, l, "filtrate.pump_dry_run_s")
	l.Step(60 * time.Second)
	if r, d3 := mustGet(t, l, "filtrate.pump_running"), mustGet(t, l, "filtrate.pump_dry_run_s"); r != 0 || d3 != d2 {
		t.Errorf("after the stop command: running %g, dry-run %g s → %g s; want 0 and no growth", r, d2, d3)
	}
}

func TestFiltratePumpCommandedFailures(t *testing.T) {
	l := filtrateLine(t)
	mustSet(t, l, RoleFiltratePumpCmd, 1)
	l.Step(5 * time.Second)
	if mustGet(t, l, "filtrate.pump_running") != 1 {
		t.Fatalf("commanded pump not running")
	}

	// A failed pump does not run, and the tank fills.
	l.SetFiltratePumpFailed(true)
	l.Step(50 * time.Millisecond)
	before := mustGet(t, l, "filtrate.level")
	for range 600 {
		l.Step(time.Second)
		if mustGet(t, l, "filtrate.pump_running") != 0 {
			t.Fatalf("failed pump reports running at %v", l.Elapsed())
		}
	}
	after := mustGet(t, l, "filtrate.level")
	if after <= before+5 {
		t.Errorf("level %.1f %% → %.1f %% over 10 min with the pump failed, want it rising", before, after)
	}

	// Repaired, it starts again only on a new command (as after a trip).
	l.SetFiltratePumpFailed(false)
	l.Step(5 * time.Second)
	if mustGet(t, l, "filtrate.pump_running") != 0 {
		t.Errorf("repaired pump restarted by itself")
	}
	mustSet(t, l, RoleFiltratePumpCmd, 0)
	l.Step(50 * time.Millisecond)
	mustSet(t, l, RoleFiltratePumpCmd, 1)
	l.Step(1100 * time.Millisecond)
	if mustGet(t, l, "filtrate.pump_running") != 1 {
		t.Errorf("repaired pump not running after a new command")
	}

	// The e-stop stops it like the other motors.
	l.SetEStop(true)
	l.Step(50 * time.Millisecond)
	if mustGet(t, l, "filtrate.pump_running") != 0 {
		t.Errorf("commanded pump running with the e-stop pressed")
	}
	l.SetEStop(false)
	l.Step(5 * time.Second)
	if mustGet(t, l, "filtrate.pump_running") != 0 {
		t.Errorf("commanded pump restarted by itself after the e-stop")
	}
}

func TestFiltratePumpFloatsIsTheDefault(t *testing.T) {
	l := quiet(1, ClassMarketVeg)
	if got := l.FiltratePumpControl(); got != FiltratePumpFloats {
		t.Fatalf("FiltratePumpControl() = %v on a new line, want floats", got)
	}
	mustSet(t, l, RoleFiltratePumpCmd, 1) // ignored: the floats decide
	l.Step(10 * time.Second)
	if mustGet(t, l, "filtrate.pump_running") != 0 {
		t.Errorf("float-switch pump running on an empty tank because of pump_cmd")
	}
	l.Tip(3000)
	startLine(t, l)
	mustSet(t, l, "press.speed_sp", 40)
	mustSet(t, l, RoleFiltratePumpCmd, 0)
	ran := false
	for range 3600 {
		l.Step(time.Second)
		ran = ran || mustGet(t, l, "filtrate.pump_running") == 1
	}
	if !ran {
		t.Errorf("float-switch pump never ran in an hour with pump_cmd off")
	}
	if d := mustGet(t, l, "filtrate.pump_dry_run_s"); d != 0 {
		t.Errorf("float-switch pump ran dry for %g s; it stops at %g %%", d, filtratePumpOffPct)
	}
}

func TestRejectsWeight(t *testing.T) {
	l := quiet(4, ClassPackaged)
	var ss float64
	n := 0
	for range 200 {
		l.Step(time.Second)
		w := mustGet(t, l, "rejects.weight")
		ss += w * w
		n++
	}
	if sd := math.Sqrt(ss / float64(n)); sd < 0.5*loadCellNoiseKg || sd > 1.5*loadCellNoiseKg {
		t.Errorf("empty reject bin: noise sd %.3f kg, want about %g kg", sd, loadCellNoiseKg)
	}

	runBatch(t, l, 100*time.Millisecond)
	total := mustGet(t, l, "rejects.total")
	if total < 50 {
		t.Fatalf("rejects.total %g kg after a packaged batch of 400 kg, want about 80 (20 %%)", total)
	}
	var maxDev float64
	changes := 0
	last := math.NaN()
	for range 100 {
		l.Step(time.Second)
		w := mustGet(t, l, "rejects.weight")
		maxDev = math.Max(maxDev, math.Abs(w-mustGet(t, l, "rejects.total")))
		if w != last {
			changes++
		}
		last = w
	}
	t.Logf("packaged batch: rejects.total %.2f kg, rejects.weight within %.3f kg of it", total, maxDev)
	if maxDev > 5*loadCellNoiseKg {
		t.Errorf("rejects.weight strays %.3f kg from rejects.total, want within load-cell noise (5 × %g kg)", maxDev, loadCellNoiseKg)
	}
	if changes < 95 {
		t.Errorf("rejects.weight changed in %d of 100 readings, want noise in nearly all", changes)
	}

	// It is a measurement: sensor faults apply.
	if !l.Measurement("rejects.weight") {
		t.Errorf("rejects.weight is not a measurement")
	}
	if err := l.SetSensorFault("rejects.weight", SensorFault{Kind: SensorStuck, Value: 12}); err != nil {
		t.Fatal(err)
	}
	l.Step(time.Second)
	if v, tv := mustGet(t, l, "rejects.weight"), mustGet(t, l, "rejects.total"); v != 12 || tv < 50 {
		t.Errorf("stuck rejects.weight reads %g (truth around %g), want 12", v, tv)
	}
	l.ClearSensorFault("rejects.weight")
}

func TestNewRolesKinds(t *testing.T) {
	l := New(1, ClassCatering)
	tests := []struct {
		role                  string
		settable, measurement bool
	}{
		{RoleConeValve, true, false},
		{RoleFiltratePumpCmd, true, false},
		{"rejects.weight", false, true},
		{"filtrate.pump_running", false, true},
		{"press.back_pressure", false, true},
		{"filtrate.pump_dry_run_s", false, false},
	}
	for _, tc := range tests {
		if got := l.Settable(tc.role); got != tc.settable {
			t.Errorf("Settable(%q) = %v, want %v", tc.role, got, tc.settable)
		}
		if got := l.Measurement(tc.role); got != tc.measurement {
			t.Errorf("Measurement(%q) = %v, want %v", tc.role, got, tc.measurement)
		}
		err := l.SetSensorFault(tc.role, SensorFault{Kind: SensorDrift, DriftPerS: 1})
		if (err == nil) != tc.measurement {
			t.Errorf("SetSensorFault(%q) = %v; sensor faults apply to measurements only", tc.role, err)
		}
		l.ClearSensorFault(tc.role)
	}
	if l.Set("filtrate.pump_dry_run_s", 0) {
		t.Errorf("the dry-run time was reset through Set")
	}
}

// TestModesAreDeterministic: in both controller-driven modes one long step
// equals many short ones bit for bit, as in the default modes.
func TestModesAreDeterministic(t *testing.T) {
	a, b := New(7, ClassCatering), New(7, ClassCatering)
	for _, l := range []*Line{a, b} {
		l.SetBackPressureControl(BackPressureFromValve)
		l.SetFiltratePumpControl(FiltratePumpCommanded)
		startLine(t, l)
		mustSet(t, l, RoleConeValve, 45)
		mustSet(t, l, RoleFiltratePumpCmd, 1)
		mustSet(t, l, "reception.door_cmd", 1)
	}
	a.Step(10 * time.Minute)
	for range 12000 {
		b.Step(MaxSubstep)
	}
	for _, r := range a.Roles() {
		if va, vb := mustGet(t, a, r), mustGet(t, b, r); math.Float64bits(va) != math.Float64bits(vb) {
			t.Errorf("%s: one 10 min step %v, 12000 steps of 50 ms %v", r, va, vb)
		}
	}
	if d := mustGet(t, a, "filtrate.pump_dry_run_s"); d <= 0 {
		t.Errorf("dry-run %g s: the pump started on an empty tank and should have run dry a while", d)
	}
}
