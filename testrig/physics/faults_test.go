package physics

import (
	"math"
	"testing"
	"time"
)

// running starts every motor of a quiet catering line with waste in the
// hopper and lets it settle.
func running(t *testing.T) *Line {
	t.Helper()
	l := quiet(1, ClassCatering)
	l.Tip(1000)
	startLine(t, l)
	l.Step(10 * time.Second)
	for _, r := range []string{"shredder.running", "press.running", "feeder.running", "pulper.mixer_running"} {
		if mustGet(t, l, r) != 1 {
			t.Fatalf("%s = 0 after start", r)
		}
	}
	return l
}

func TestEStopStopsEverythingAndNeedsANewStart(t *testing.T) {
	l := running(t)
	l.SetEStop(true)
	l.Step(100 * time.Millisecond)
	if v := mustGet(t, l, "line.estop_ok"); v != 0 {
		t.Errorf("line.estop_ok = %g with the e-stop pressed", v)
	}
	for _, r := range []string{"shredder.running", "press.running", "feeder.running", "pulper.mixer_running"} {
		if v := mustGet(t, l, r); v != 0 {
			t.Errorf("%s = %g with the e-stop pressed", r, v)
		}
	}
	l.Step(5 * time.Second)
	if f := mustGet(t, l, "pulper.water_flow"); f > 0.05 {
		t.Errorf("water flow %g kg/s with the e-stop pressed", f)
	}
	// Released with the run commands still on: nothing restarts.
	l.SetEStop(false)
	l.Step(5 * time.Second)
	for _, r := range []string{"shredder.running", "press.running", "feeder.running", "pulper.mixer_running"} {
		if v := mustGet(t, l, r); v != 0 {
			t.Errorf("%s = %g after the release without a new run command: restarted by itself", r, v)
		}
	}
	// A new run command starts them.
	for _, c := range []string{"shredder.run_cmd", "press.run_cmd", "feeder.run_cmd", "pulper.mixer_cmd"} {
		mustSet(t, l, c, 0)
	}
	l.Step(100 * time.Millisecond)
	for _, c := range []string{"shredder.run_cmd", "press.run_cmd", "feeder.run_cmd", "pulper.mixer_cmd"} {
		mustSet(t, l, c, 1)
	}
	l.Step(5 * time.Second)
	for _, r := range []string{"shredder.running", "press.running", "feeder.running", "pulper.mixer_running"} {
		if v := mustGet(t, l, r); v != 1 {
			t.Errorf("%s = %g after a new run command", r, v)
		}
	}
}

func TestGuardOpenStopsShredderAndFeeder(t *testing.T) {
	l := running(t)
	l.SetGuardOpen(true)
	l.Step(100 * time.Millisecond)
	want := map[string]float64{"shredder.guard_closed": 0, "shredder.running": 0, "feeder.running": 0, "press.running": 1, "pulper.mixer_running": 1}
	for r, v := range want {
		if got := mustGet(t, l, r); got != v {
			t.Errorf("guard open: %s = %g, want %g", r, got, v)
		}
	}
	l.SetGuardOpen(false)
	mustSet(t, l, "shredder.run_cmd", 0)
	mustSet(t, l, "feeder.run_cmd", 0)
	l.Step(100 * time.Millisecond)
	mustSet(t, l, "shredder.run_cmd", 1)
	mustSet(t, l, "feeder.run_cmd", 1)
	l.Step(2 * time.Second)
	if s, f := mustGet(t, l, "shredder.running"), mustGet(t, l, "feeder.running"); s != 1 || f != 1 {
		t.Errorf("guard closed and restarted: shredder %g, feeder %g; want 1, 1", s, f)
	}
}

func TestDriveFaults(t *testing.T) {
	tests := []struct {
		name          string
		inject, clear func(l *Line) error
		running       string
		fault         []string // roles that read 1 while faulted
	}{
		{"shredder vfd", func(l *Line) error { return l.SetVFDFault("shredder", true) }, func(l *Line) error { return l.SetVFDFault("shredder", false) },
			"shredder.running", []string{"shredder.fault", "shredder.vfd_fault"}},
		{"press vfd", func(l *Line) error { return l.SetVFDFault("press", true) }, func(l *Line) error { return l.SetVFDFault("press", false) },
			"press.running", []string{"press.fault", "press.vfd_fault"}},
		{"shredder overload", func(l *Line) error { return l.SetOverloadTrip("shredder", true) }, func(l *Line) error { return l.SetOverloadTrip("shredder", false) },
			"shredder.running", []string{"shredder.fault", "shredder.overload"}},
		{"press overload", func(l *Line) error { return l.SetOverloadTrip("press", true) }, func(l *Line) error { return l.SetOverloadTrip("press", false) },
			"press.running", []string{"press.fault", "press.overload"}},
		{"feeder overload", func(l *Line) error { return l.SetOverloadTrip("feeder", true) }, func(l *Line) error { return l.SetOverloadTrip("feeder", false) },
			"feeder.running", []string{"feeder.fault"}},
		{"mixer overload", func(l *Line) error { return l.SetOverloadTrip("mixer", true) }, func(l *Line) error { return l.SetOverloadTrip("mixer", false) },
			"pulper.mixer_running", []string{"pulper.mixer_fault"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := running(t)
			if err := tc.inject(l); err != nil {
				t.Fatal(err)
			}
			// Dropping the run command does not reset an injected fault.
			cmd := map[string]string{"shredder.running": "shredder.run_cmd", "press.running": "press.run_cmd", "feeder.running": "feeder.run_cmd", "pulper.mixer_running": "pulper.mixer_cmd"}[tc.running]
			mustSet(t, l, cmd, 0)
			l.Step(5 * time.Second)
			mustSet(t, l, cmd, 1)
			l.Step(5 * time.Second)
			if v := mustGet(t, l, tc.running); v != 0 {
				t.Errorf("%s = %g with the fault injected", tc.running, v)
			}
			for _, r := range tc.fault {
				if v := mustGet(t, l, r); v != 1 {
					t.Errorf("%s = %g with the fault injected, want 1", r, v)
				}
			}
			if err := tc.clear(l); err != nil {
				t.Fatal(err)
			}
			mustSet(t, l, cmd, 0)
			l.Step(100 * time.Millisecond)
			mustSet(t, l, cmd, 1)
			l.Step(5 * time.Second)
			if v := mustGet(t, l, tc.running); v != 1 {
				t.Errorf("%s = %g after clearing and a new run command", tc.running, v)
			}
			for _, r := range tc.fault {
				if v := mustGet(t, l, r); v != 0 {
					t.Errorf("%s = %g after clearing, want 0", r, v)
				}
			}
		})
	}
	l := quiet(1, ClassCatering)
	if err := l.SetVFDFault("feeder", true); err == nil {
		t.Errorf("SetVFDFault(feeder) succeeded; the feeder has no VFD")
	}
	if err := l.SetOverloadTrip("hopper", true); err == nil {
		t.Errorf("SetOverloadTrip(hopper) succeeded")
	}
}

func TestStuckWaterValveFloodsPulper(t *testing.T) {
	l := quiet(1, ClassCatering)
	mustSet(t, l, "press.speed_sp", 15)
	mustSet(t, l, "press.back_pressure_sp", 3)
	mustSet(t, l, "press.run_cmd", 1)
	l.SetWaterValveStuck(20)
	l.SetEStop(true) // a stuck valve ignores the e-stop too
	l.Step(5 * time.Second)
	l.SetEStop(false)
	start := l.Elapsed()
	for mustGet(t, l, "pulper.level") < 90 {
		l.Step(time.Second)
		if l.Elapsed()-start > 20*time.Minute {
			t.Fatalf("level %g %% after 20 min of a stuck valve", mustGet(t, l, "pulper.level"))
		}
	}
	t.Logf("pulper reached 90 %% %v after the valve stuck", l.Elapsed()-start)
	l.Step(30 * time.Minute)
	if lvl := mustGet(t, l, "pulper.level"); lvl > 105+1e-9 {
		t.Errorf("level %g %%: the weir should hold it at 105 %%", lvl)
	}
	if o := mustGet(t, l, "pulper.overflow"); o <= 0 {
		t.Errorf("no overflow after 30 min at the weir")
	}
	if total, dry, scale := balance(t, l); math.Abs(total) > 1e-6*scale || math.Abs(dry) > 1e-6*scale {
		t.Errorf("balance with overflow: residual %g kg, dry %g kg", total, dry)
	}
	l.SetWaterValveStuck(0)
	l.Step(10 * time.Second)
	if f := mustGet(t, l, "pulper.water_flow"); f > 1e-3 {
		t.Errorf("water flow %g kg/s after the valve was freed, want 0", f)
	}
}

func TestFiltrateTank(t *testing.T) {
	l := quiet(1, ClassMarketVeg)
	l.Tip(3000)
	startLine(t, l)
	mustSet(t, l, "press.speed_sp", 40)
	var maxLevel float64
	pumped := false
	for range 1800 {
		l.Step(time.Second)
		maxLevel = math.Max(maxLevel, mustGet(t, l, "filtrate.level"))
		pumped = pumped || mustGet(t, l, "filtrate.pump_running") == 1
	}
	if !pumped || maxLevel > 80 {
		t.Errorf("filtrate tank: pump ran %v, level peaked at %.1f %%; want the pump to hold it below 80 %%", pumped, maxLevel)
	}
	l.SetFiltratePumpFailed(true)
	l.Tip(3000)
	for range 3600 {
		l.Step(time.Second)
	}
	if lvl := mustGet(t, l, "filtrate.level"); lvl < 95 {
		t.Errorf("filtrate level %.1f %% an hour after the pump failed, want full", lvl)
	}
	if total, _, scale := balance(t, l); math.Abs(total) > 1e-6*scale {
		t.Errorf("balance with a spilling filtrate tank: residual %g kg", total)
	}
}

func TestSensorFaults(t *testing.T) {
	l := running(t)
	mustSet(t, l, "reception.door_cmd", 1)
	tests := []struct {
		name  string
		role  string
		fault SensorFault
		check func(t *testing.T, read, truth []float64)
	}{
		{"stuck at the current value", "hopper.weight", SensorFault{Kind: SensorStuck, Value: math.NaN()}, func(t *testing.T, read, truth []float64) {
			for _, v := range read {
				if v != read[0] {
					t.Fatalf("stuck reading moved: %v", read)
				}
			}
			if truth[len(truth)-1]-truth[0] < 10 {
				t.Fatalf("the truth did not move (%v): the test proves nothing", truth)
			}
		}},
		{"stuck at a value", "pulper.level", SensorFault{Kind: SensorStuck, Value: 42}, func(t *testing.T, read, _ []float64) {
			if read[0] != 42 || read[len(read)-1] != 42 {
				t.Fatalf("reads %v, want 42", read)
			}
		}},
		{"drift", "press.back_pressure", SensorFault{Kind: SensorDrift, DriftPerS: 0.01}, func(t *testing.T, read, truth []float64) {
			n := len(read) - 1
			if got := read[n] - truth[n]; math.Abs(got-0.01*float64(n+1)) > 1e-6 {
				t.Fatalf("drift after %d s = %g, want %g", n+1, got, 0.01*float64(n+1))
			}
		}},
		{"noise", "shredder.speed", SensorFault{Kind: SensorNoise, NoiseSD: 2}, func(t *testing.T, read, truth []float64) {
			var ss float64
			for i := range read {
				ss += (read[i] - truth[i]) * (read[i] - truth[i])
			}
			if sd := math.Sqrt(ss / float64(len(read))); sd < 1.5 || sd > 2.5 {
				t.Fatalf("noise sd %g, want about 2", sd)
			}
		}},
		{"out of range", "pulper.ds", SensorFault{Kind: SensorOutOfRange, Value: -25}, func(t *testing.T, read, _ []float64) {
			if read[0] != -25 {
				t.Fatalf("reads %g, want -25", read[0])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := l.SetSensorFault(tc.role, tc.fault); err != nil {
				t.Fatal(err)
			}
			var read, truth []float64
			for range 100 {
				l.Step(time.Second)
				v, _ := l.Get(tc.role)
				tv, _ := l.Truth(tc.role)
				read, truth = append(read, v), append(truth, tv)
			}
			tc.check(t, read, truth)
			l.ClearSensorFault(tc.role)
			v, _ := l.Get(tc.role)
			tv, _ := l.Truth(tc.role)
			if v != tv {
				t.Errorf("after clearing: reads %g, truth %g", v, tv)
			}
		})
	}
	for _, role := range []string{"shredder.run_cmd", "waste_in.total", "no.such"} {
		if err := l.SetSensorFault(role, SensorFault{Kind: SensorStuck}); err == nil {
			t.Errorf("SetSensorFault(%q) succeeded; only measurements take sensor faults", role)
		}
	}
}

func TestSetClassAndTip(t *testing.T) {
	l := quiet(1, ClassCatering)
	l.Tip(100)
	if err := l.SetClass(ClassBakery); err != nil {
		t.Fatal(err)
	}
	l.Tip(100)
	if got, want := mustGet(t, l, "waste_in.dry_mass"), 100*0.28+100*0.55; math.Abs(got-want) > 1e-9 {
		t.Errorf("dry mass in %g kg after 100 kg catering and 100 kg bakery, want %g", got, want)
	}
	if err := l.SetClass("garden"); err == nil {
		t.Errorf("SetClass(garden) succeeded")
	}
	if l.Class() != ClassBakery {
		t.Errorf("class %s after a refused SetClass, want bakery", l.Class())
	}
	// A class change follows the class's hard-object rate only where
	// the rate was the class's.
	m := New(1, ClassCatering)
	if err := m.SetClass(ClassBakery); err != nil {
		t.Fatal(err)
	}
	if r := m.HardObjectRate(); r != 0.2 {
		t.Errorf("hard objects after switching to bakery: %g/t, want bakery's 0.2", r)
	}
	if err := l.SetClass(ClassCatering); err != nil {
		t.Fatal(err)
	}
	if r := l.HardObjectRate(); r != 0 {
		t.Errorf("hard objects switched on by a class change: %g/t, want 0 as set", r)
	}
}
