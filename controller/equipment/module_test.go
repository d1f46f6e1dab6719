package equipment

import (
	"math"
	"testing"
	"time"
)

func detail(m *ModuleState, name string) string {
	for _, d := range m.Detail[:m.NDetail] {
		if d.Name == name {
			return d.Text
		}
	}
	return "(none)"
}

// TestShredderReportsItsJamLogic: through a jam that never clears the
// report goes normal → jam_stopping → reversing → reverse_stopping, counts
// the reversals in the window, and ends jammed at the limit.
func TestShredderReportsItsJamLogic(t *testing.T) {
	r := newShredderRig(t, testShredderConfig(), DefaultShredderParams())
	r.startRunning()
	var m ModuleState
	report := func() {
		m.Reset()
		shredderUnit{r.s}.ReportModule(&m)
	}
	report()
	if m.JamState != "normal" || m.Reversals != 0 || m.MaxReversals != 3 || m.Window != time.Minute || m.Loop {
		t.Fatalf("running: %+v", m)
	}
	r.p.jammed, r.p.clearIn = true, 0
	seen := map[string]bool{}
	maxRev := 0
	for i := 0; i < 6000 && r.s.State() != ShredderFaulted; i++ {
		r.run(scan)
		report()
		seen[m.JamState] = true
		maxRev = max(maxRev, m.Reversals)
	}
	report()
	for _, s := range []string{"jam_stopping", "reversing", "reverse_stopping", "jammed"} {
		if !seen[s] {
			t.Errorf("jam state %s never reported (saw %v)", s, seen)
		}
	}
	if m.JamState != "jammed" || m.Reversals != 3 || maxRev != 3 {
		t.Errorf("at the trip: %+v (max reversals seen %d)", m, maxRev)
	}
	if got := detail(&m, "state"); got != "faulted" {
		t.Errorf("detail state %q", got)
	}
}

// TestLoopsReport: the press reports its back-pressure loop, the pulper
// its dilution (water flow as % of the valve's most), each with set-point
// and measurement.
func TestLoopsReport(t *testing.T) {
	pr := newPressRig(t, testPressConfig(), testPressParams())
	pr.start()
	pr.run(20 * time.Second)
	var m ModuleState
	(&pressUnit{Press: pr.x}).ReportModule(&m)
	if !m.Loop || m.LoopSetpoint != 3 || math.Abs(m.LoopProcess-pr.in.BackPressure.Value) > 1e-9 || m.LoopOutputPct != pr.out.ConeValvePct || m.LoopOutputPct <= 0 {
		t.Errorf("press: %+v (cone %g %%, pressure %g bar)", m, pr.out.ConeValvePct, pr.in.BackPressure.Value)
	}
	if got := detail(&m, "current_limit_a"); got != "38.0" {
		t.Errorf("press current limit %q, want 38.0 (95 %% of 40 A)", got)
	}
	if got := detail(&m, "over_current"); got != "clear" {
		t.Errorf("press over_current %q", got)
	}

	pu := newPulperRig(t, testPulperConfig(), testPulperParams())
	pu.startDosing()
	pu.run(10 * time.Second)
	m.Reset()
	(&pulperUnit{Pulper: pu.u}).ReportModule(&m)
	want := pu.out.WaterFlowSP / pu.u.cfg.MaxWaterFlow * 100
	if !m.Loop || m.LoopSetpoint != 10 || math.Abs(m.LoopOutputPct-want) > 1e-9 || m.LoopProcess != pu.in.DS.Value {
		t.Errorf("pulper: %+v, want output %g %%", m, want)
	}
	if detail(&m, "dilution") != "auto" || detail(&m, "dosing") != "yes" {
		t.Errorf("pulper details %+v", m.Detail[:m.NDetail])
	}
}

// TestReportModuleDoesNotAllocate: the shredder's report costs nothing.
func TestReportModuleDoesNotAllocate(t *testing.T) {
	r := newShredderRig(t, testShredderConfig(), DefaultShredderParams())
	r.startRunning()
	var m ModuleState
	u := shredderUnit{r.s}
	var rep ModuleReporter = u
	if n := testing.AllocsPerRun(100, func() { m.Reset(); rep.ReportModule(&m) }); n != 0 {
		t.Errorf("%v allocations per report", n)
	}
}
