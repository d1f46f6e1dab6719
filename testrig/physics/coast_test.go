package physics

import (
	"testing"
	"time"
)

// TestCoastStopsFasterThanTheRamp compares a coast stop (torque off) with a
// ramp stop (run command dropped) of the shredder and the press from the
// same running line: running drops at once on a coast, the speed is lower
// than on the ramp at every instant, and both come to rest.
func TestCoastStopsFasterThanTheRamp(t *testing.T) {
	for _, tc := range []struct {
		unit  string
		speed string
		cmd   string
	}{
		{UnitShredder, "shredder.speed", "shredder.run_cmd"},
		{UnitPress, "press.speed", "press.run_cmd"},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			ramp, coast := running(t), running(t)
			v0 := mustGet(t, coast, tc.speed)
			if v0 < 10 {
				t.Fatalf("%s = %g rpm before the stop; want a running drive", tc.speed, v0)
			}
			mustSet(t, ramp, tc.cmd, 0)
			mustSet(t, coast, tc.cmd, 0)
			if err := coast.Coast(tc.unit); err != nil {
				t.Fatal(err)
			}
			if !coast.Coasting(tc.unit) {
				t.Fatalf("Coasting(%s) = false after Coast", tc.unit)
			}
			if r := mustGet(t, coast, tc.unit+".running"); r != 0 {
				t.Errorf("%s.running = %g right after Coast, want 0 at once", tc.unit, r)
			}
			var coastStill, rampStill time.Duration
			for i := 1; i <= 100; i++ { // 5 s in 50 ms steps
				ramp.Step(MaxSubstep)
				coast.Step(MaxSubstep)
				now := time.Duration(i) * MaxSubstep
				vr, vc := mustGet(t, ramp, tc.speed), mustGet(t, coast, tc.speed)
				if vc > vr+1e-9 && vr > 0 {
					t.Fatalf("at %v: coasting at %g rpm, faster than the ramp stop's %g rpm", now, vc, vr)
				}
				if vc == 0 && coastStill == 0 {
					coastStill = now
				}
				if vr == 0 && rampStill == 0 {
					rampStill = now
				}
			}
			t.Logf("%s from %.1f rpm: at rest after %v coasting, %v on the ramp", tc.unit, v0, coastStill, rampStill)
			if coastStill == 0 || coastStill > 1500*time.Millisecond {
				t.Errorf("coasting from %g rpm: at rest after %v, want within 1.5 s", v0, coastStill)
			}
			if rampStill == 0 || coastStill > rampStill {
				t.Errorf("coast at rest after %v, ramp after %v: the coast must not be slower", coastStill, rampStill)
			}
			if coast.Coasting(tc.unit) {
				t.Errorf("still coasting at standstill")
			}
			// A new run command starts the drive again as usual.
			mustSet(t, coast, tc.cmd, 1)
			coast.Step(3 * time.Second)
			if r := mustGet(t, coast, tc.unit+".running"); r != 1 {
				t.Errorf("%s.running = %g after a new run command", tc.unit, r)
			}
		})
	}
}

// TestCoastWhileCommandedNeedsANewStart: a coast with the run command still
// on (torque off by the drive itself) does not restart by itself.
func TestCoastWhileCommandedNeedsANewStart(t *testing.T) {
	l := running(t)
	if err := l.Coast(UnitShredder); err != nil {
		t.Fatal(err)
	}
	l.Step(3 * time.Second)
	if r := mustGet(t, l, "shredder.running"); r != 0 {
		t.Fatalf("shredder.running = %g: restarted by itself after a coast", r)
	}
	if v := mustGet(t, l, "shredder.speed"); v != 0 {
		t.Errorf("shredder.speed = %g after 3 s coasting", v)
	}
	mustSet(t, l, "shredder.run_cmd", 0)
	l.Step(100 * time.Millisecond)
	mustSet(t, l, "shredder.run_cmd", 1)
	l.Step(3 * time.Second)
	if r := mustGet(t, l, "shredder.running"); r != 1 {
		t.Errorf("shredder.running = %g after a new run command", r)
	}
	if err := l.Coast(UnitFeeder); err == nil {
		t.Errorf("Coast(feeder) = nil; the feeder has no drive")
	}
}
