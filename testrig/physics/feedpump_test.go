package physics

import (
	"math"
	"strings"
	"testing"
	"time"
)

// feedLine is a quiet catering line with a press feed pump, started as
// startLine does (press at 15 rpm and 3 bar, feeder at 60 %, water for
// 10 % DS) with tonnes in the hopper, the pump commanded off.
func feedLine(t *testing.T, hopperKg float64) *Line {
	t.Helper()
	l := quiet(1, ClassCatering)
	l.SetPressFeedControl(PressFeedPump)
	if got := l.PressFeedControl(); got != PressFeedPump {
		t.Fatalf("PressFeedControl() = %v after setting the pump", got)
	}
	l.Tip(hopperKg)
	startLine(t, l)
	return l
}

// checkBalance fails the test when the total or dry mass balance is off by
// more than 1e-6 of what came in.
func checkBalance(t *testing.T, l *Line, when string) {
	t.Helper()
	total, dry, scale := balance(t, l)
	if math.Abs(total) > 1e-6*scale || math.Abs(dry) > 1e-6*scale {
		t.Fatalf("%s at %v: mass residual %g kg, dry residual %g kg (scale %g kg)", when, l.Elapsed(), total, dry, scale)
	}
}

// TestPressFeedDirectIsTheDefault: without the pump the press_feed roles
// are stored and read back but change nothing, bit for bit.
func TestPressFeedDirectIsTheDefault(t *testing.T) {
	a, b := quiet(1, ClassCatering), quiet(1, ClassCatering)
	if got := a.PressFeedControl(); got != PressFeedDirect {
		t.Fatalf("PressFeedControl() = %v on a new line, want direct", got)
	}
	if PressFeedDirect.String() != "direct" || PressFeedPump.String() != "pump" || PressFeedControl(7).String() != "direct" {
		t.Errorf("String(): %q, %q, %q; want direct, pump, direct", PressFeedDirect, PressFeedPump, PressFeedControl(7))
	}
	for _, l := range []*Line{a, b} {
		l.Tip(1500)
		startLine(t, l)
	}
	mustSet(t, b, RolePressFeedRunCmd, 1)
	mustSet(t, b, "press_feed.speed_sp", 20)
	a.Step(10 * time.Minute)
	b.Step(10 * time.Minute)
	for _, r := range a.Roles() {
		if strings.HasPrefix(r, "press_feed.") {
			continue
		}
		if va, vb := mustGet(t, a, r), mustGet(t, b, r); math.Float64bits(va) != math.Float64bits(vb) {
			t.Errorf("%s: %v without the pump commands, %v with them", r, va, vb)
		}
	}
	if c := mustGet(t, a, "cake.total"); c <= 0 {
		t.Errorf("no cake in 10 min (%g kg): the comparison needs a running press", c)
	}
	if v := mustGet(t, b, RolePressFeedRunCmd); v != 1 {
		t.Errorf("press_feed.run_cmd reads back %g, want 1", v)
	}
	if v := mustGet(t, b, "press_feed.speed_sp"); v != 20 {
		t.Errorf("press_feed.speed_sp reads back %g, want 20", v)
	}
	for _, r := range []string{"press_feed.running", "press_feed.flow", "press_feed.fault", "press_feed.dry_run_s"} {
		if v := mustGet(t, b, r); v != 0 {
			t.Errorf("%s = %g under PressFeedDirect, want 0", r, v)
		}
	}
	t.Logf("direct, 10 min: cake %.2f kg in both, pulper level %.3f %%", mustGet(t, a, "cake.total"), mustGet(t, a, "pulper.level"))
}

func TestPressFeedPumpFlow(t *testing.T) {
	l := feedLine(t, 3000)

	// Pump off: the pulper keeps all the shredder and the water bring,
	// the press turns at speed and makes nothing.
	l.Step(5 * time.Minute)
	g := func(r string) float64 { return mustGet(t, l, r) }
	intoPulper := g("waste_in.total") - g("hopper.mass") - g("shredder.holdup") - g("rejects.total") + g("pulper.water_total")
	if c, f := g("cake.total"), g("filtrate.total"); c != 0 || f != 0 {
		t.Errorf("pump off: cake %g kg, filtrate %g kg; want nothing", c, f)
	}
	if p := g("pulper.mass"); intoPulper < 500 || math.Abs(p-intoPulper) > 1e-6*intoPulper {
		t.Errorf("pump off: pulper %.3f kg, want all of the %.3f kg shredded and added (and some 500 kg)", p, intoPulper)
	}
	if g("press.speed") != 15 || g("press.back_pressure") != 3 || g("press_feed.running") != 0 || g("press_feed.flow") != 0 {
		t.Fatalf("pump off: press %g rpm at %g bar, pump running %g, flow %g; want 15, 3, 0, 0",
			g("press.speed"), g("press.back_pressure"), g("press_feed.running"), g("press_feed.flow"))
	}
	t.Logf("pump off, 5 min: pulper %.1f kg (%.1f %% level, %.2f %% DS), no cake", g("pulper.mass"), g("pulper.level"), g("pulper.ds"))

	// Pump on: running after the 1 s start delay.
	mustSet(t, l, "press_feed.speed_sp", 25)
	mustSet(t, l, RolePressFeedRunCmd, 1)
	l.Step(900 * time.Millisecond)
	if g("press_feed.running") != 0 || g("press_feed.flow") != 0 {
		t.Errorf("pump running 0.9 s after the command, want the 1 s start delay")
	}
	l.Step(200 * time.Millisecond)
	if g("press_feed.running") != 1 {
		t.Fatalf("pump not running 1.1 s after the command")
	}

	capacity := pressKgPerSPerRPM * 15 * (1 - pressCapacityPerBar*3)
	for _, pct := range []float64{25, 50, 57, 80, 100} {
		mustSet(t, l, "press_feed.speed_sp", pct)
		cake0, filt0, pulp0 := g("cake.total"), g("filtrate.total"), g("pulper.mass")
		in0 := g("pulper.water_total") + g("waste_in.total") - g("hopper.mass") - g("shredder.holdup") - g("rejects.total")
		const d = 20 * time.Second
		l.Step(d)
		flow := g("press_feed.flow")
		want := math.Min(pressFeedMaxKgPerS*pct/100, capacity)
		in := g("pulper.water_total") + g("waste_in.total") - g("hopper.mass") - g("shredder.holdup") - g("rejects.total") - in0
		made := (g("cake.total") - cake0 + g("filtrate.total") - filt0) / d.Seconds()
		t.Logf("pump %3.0f %%: flow %.4f kg/s (want min(%.2f, %.4f) = %.4f), cake+filtrate %.4f kg/s, pulper %+.1f kg",
			pct, flow, pressFeedMaxKgPerS*pct/100, capacity, want, made, g("pulper.mass")-pulp0)
		if math.Abs(flow-want) > 0.01*want {
			t.Errorf("pump at %g %%: press_feed.flow %.4f kg/s, want %.4f within 1 %%", pct, flow, want)
		}
		if math.Abs(made-want) > 0.01*want {
			t.Errorf("pump at %g %%: the press made %.4f kg/s of cake and filtrate, want %.4f within 1 %%", pct, made, want)
		}
		if dp := g("pulper.mass") - pulp0; math.Abs(dp-(in-made*d.Seconds())) > 1e-6*in {
			t.Errorf("pump at %g %%: pulper changed by %.3f kg, want %.3f in − %.3f drawn", pct, dp, in, made*d.Seconds())
		}
	}
	if f := g("press.throughput"); f != g("press_feed.flow") {
		t.Errorf("press.throughput %g kg/s, press_feed.flow %g: want the same", f, g("press_feed.flow"))
	}

	// The screw stops: the pump recirculates, nothing goes to the press.
	mustSet(t, l, "press.run_cmd", 0)
	l.Step(10 * time.Second)
	cake0, pulp0 := g("cake.total"), g("pulper.mass")
	l.Step(10 * time.Second)
	if f, c := g("press_feed.flow"), g("cake.total"); f != 0 || c != cake0 || g("pulper.mass") <= pulp0 {
		t.Errorf("screw stopped, pump running: flow %g kg/s, cake %g → %g kg, pulper %g → %g kg; want 0, unchanged, rising", f, cake0, c, pulp0, g("pulper.mass"))
	}

	// The e-stop stops the pump; it needs a new command afterwards.
	mustSet(t, l, "press.run_cmd", 1)
	l.SetEStop(true)
	l.Step(50 * time.Millisecond)
	if g("press_feed.running") != 0 {
		t.Errorf("pump running with the e-stop pressed")
	}
	l.SetEStop(false)
	l.Step(5 * time.Second)
	if g("press_feed.running") != 0 {
		t.Errorf("pump restarted by itself after the e-stop")
	}
	mustSet(t, l, RolePressFeedRunCmd, 0)
	l.Step(50 * time.Millisecond)
	mustSet(t, l, RolePressFeedRunCmd, 1)
	l.Step(1100 * time.Millisecond)
	if g("press_feed.running") != 1 {
		t.Errorf("pump not running after a new command")
	}
	if d := g("press_feed.dry_run_s"); d != 0 {
		t.Errorf("dry-run %g s with a pulper at %.1f %%", d, g("pulper.level"))
	}
	checkBalance(t, l, "end")
}

// TestPressFeedPumpLevelLoop: a PI loop on the pump speed, written here,
// holds the pulper level at 30 % while the line feeds: the plant is
// controllable, and the pulper now holds slurry the DS analyser can read.
func TestPressFeedPumpLevelLoop(t *testing.T) {
	const sp = 30.0 // % level
	l := feedLine(t, 6000)
	mustSet(t, l, RolePressFeedRunCmd, 1)
	pi := &piLoop{kp: 10, ki: 0.1} // % speed per % level; the pulper is 40 kg per %
	const dt = time.Second
	var n int
	var sum, lo, hi, speedSum, dsSum float64
	lo, hi = math.Inf(1), math.Inf(-1)
	for at := time.Duration(0); at < time.Hour; at += dt {
		// Direct acting: a level above the set-point speeds the pump up.
		lvl := mustGet(t, l, "pulper.level")
		mustSet(t, l, "press_feed.speed_sp", pi.update(lvl, sp, dt.Seconds()))
		l.Step(dt)
		checkBalance(t, l, "feeding")
		if at >= 30*time.Minute {
			lvl = mustGet(t, l, "pulper.level")
			n++
			sum += lvl
			lo, hi = math.Min(lo, lvl), math.Max(hi, lvl)
			speedSum += mustGet(t, l, "press_feed.speed_sp")
			dsSum += mustGet(t, l, "pulper.ds")
		}
	}
	if h := mustGet(t, l, "hopper.mass"); h <= 0 {
		t.Fatalf("the hopper ran empty (%g kg): the test needs the line feeding throughout", h)
	}
	mean := sum / float64(n)
	total, dry, scale := balance(t, l)
	t.Logf("PI on the pump, second half hour: level %.2f %% mean (%.2f..%.2f), pump %.1f %% mean, pulper DS %.2f %% mean; cake %.1f kg (%.1f %% DS), overflow %g kg, dry-run %g s; residual %.2g kg, dry %.2g kg of %.0f kg",
		mean, lo, hi, speedSum/float64(n), dsSum/float64(n), mustGet(t, l, "cake.total"),
		mustGet(t, l, "cake.dry_mass")/mustGet(t, l, "cake.total")*100, mustGet(t, l, "pulper.overflow"),
		mustGet(t, l, "press_feed.dry_run_s"), total, dry, scale)
	if math.Abs(mean-sp) > 0.5 || lo < sp-2 || hi > sp+2 {
		t.Errorf("level %.2f %% mean, %.2f..%.2f %% over the second half hour; want %g ± 0.5 mean and within ± 2", mean, lo, hi, sp)
	}
	if ds := dsSum / float64(n); ds < 8 || ds > 12 {
		t.Errorf("pulper DS %.2f %% mean, want about 10 (the dilution is sized for it)", ds)
	}
	if o, d := mustGet(t, l, "pulper.overflow"), mustGet(t, l, "press_feed.dry_run_s"); o != 0 || d != 0 {
		t.Errorf("overflow %g kg, dry-run %g s under level control; want none", o, d)
	}
}

func TestPressFeedPumpDryRun(t *testing.T) {
	l := quiet(1, ClassCatering)
	l.SetPressFeedControl(PressFeedPump)
	mustSet(t, l, "press.speed_sp", 15)
	mustSet(t, l, "press.run_cmd", 1)
	mustSet(t, l, "press_feed.speed_sp", 50)
	mustSet(t, l, RolePressFeedRunCmd, 1)
	l.Step(61 * time.Second)
	d := mustGet(t, l, "press_feed.dry_run_s")
	t.Logf("pump at 50 %% on an empty pulper: dry-run %.3f s in 61 s (1 s start delay), flow %g kg/s", d, mustGet(t, l, "press_feed.flow"))
	// The substep in which the start delay ends already runs.
	if d < 60-1e-6 || d > 60+MaxSubstep.Seconds()+1e-6 {
		t.Errorf("dry-run %g s after 61 s on an empty pulper, want 60 (after the 1 s start delay) to 60.05", d)
	}
	if f := mustGet(t, l, "press_feed.flow"); f != 0 {
		t.Errorf("flow %g kg/s from an empty pulper", f)
	}

	// At 0 % or stopped it does not run dry.
	mustSet(t, l, "press_feed.speed_sp", 0)
	l.Step(10 * time.Second)
	mustSet(t, l, "press_feed.speed_sp", 50)
	mustSet(t, l, RolePressFeedRunCmd, 0)
	l.Step(10 * time.Second)
	if d2 := mustGet(t, l, "press_feed.dry_run_s"); d2 != d {
		t.Errorf("dry-run %g s → %g s at 0 %% and stopped, want no growth", d, d2)
	}

	// Water above 1 % level: no dry running, the pump draws it.
	mustSet(t, l, RolePressFeedRunCmd, 1)
	mustSet(t, l, "pulper.water_flow_sp", 20)
	mustSet(t, l, "pulper.water_cmd", 1)
	for mustGet(t, l, "pulper.level") < 2 {
		l.Step(time.Second)
	}
	mustSet(t, l, "pulper.water_flow_sp", 4)
	d3 := mustGet(t, l, "press_feed.dry_run_s")
	l.Step(30 * time.Second)
	if d4, f := mustGet(t, l, "press_feed.dry_run_s"), mustGet(t, l, "press_feed.flow"); d4 != d3 || f != 4 {
		t.Errorf("pulper at %.2f %%: dry-run %g s → %g s, flow %g kg/s; want no growth and 4 kg/s", mustGet(t, l, "pulper.level"), d3, d4, f)
	}
	checkBalance(t, l, "end")
}

func TestPressFeedRoles(t *testing.T) {
	l := New(1, ClassCatering)
	tests := []struct {
		role                  string
		settable, measurement bool
	}{
		{RolePressFeedRunCmd, true, false},
		{"press_feed.speed_sp", true, false},
		{"press_feed.running", false, true},
		{"press_feed.flow", false, true},
		{"press_feed.fault", false, true},
		{"press_feed.dry_run_s", false, false},
	}
	for _, tc := range tests {
		if got := l.Settable(tc.role); got != tc.settable {
			t.Errorf("Settable(%q) = %v, want %v", tc.role, got, tc.settable)
		}
		if got := l.Measurement(tc.role); got != tc.measurement {
			t.Errorf("Measurement(%q) = %v, want %v", tc.role, got, tc.measurement)
		}
	}
	for _, tc := range []struct{ v, want float64 }{{150, 100}, {-5, 0}, {42.5, 42.5}} {
		mustSet(t, l, "press_feed.speed_sp", tc.v)
		if got := mustGet(t, l, "press_feed.speed_sp"); got != tc.want {
			t.Errorf("press_feed.speed_sp = %g after setting %g, want %g", got, tc.v, tc.want)
		}
	}
}

// TestPressFeedPumpDeterministic: under PressFeedPump one long step equals
// many short ones bit for bit.
func TestPressFeedPumpDeterministic(t *testing.T) {
	a, b := New(7, ClassCatering), New(7, ClassCatering)
	for _, l := range []*Line{a, b} {
		l.SetPressFeedControl(PressFeedPump)
		l.SetBackPressureControl(BackPressureFromValve)
		startLine(t, l)
		mustSet(t, l, RoleConeValve, 45)
		mustSet(t, l, RolePressFeedRunCmd, 1)
		mustSet(t, l, "press_feed.speed_sp", 35)
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
	if f := mustGet(t, a, "press_feed.flow"); f <= 0 {
		t.Errorf("press_feed.flow %g kg/s after 10 min: the comparison needs a feeding pump", f)
	}
}
