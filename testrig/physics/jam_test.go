package physics

import (
	"math"
	"testing"
	"time"
)

// jamHandler clears jams the way PROCESS.md says shredder controllers do,
// with the catering recipe's figures: ignore the current for 0.5 s after a
// start; a jam is current above 110 % FLA for 1 s; stop, wait 3 s, reverse
// for 3 s, stop, wait 3 s, run forwards again. An overload trip is reset
// by dropping the run command for 2 s. It stands in for the controller in
// tests of the model.
type jamHandler struct {
	t     testing.TB
	l     *Line
	state string
	since time.Duration // plant time the state began
	over  time.Duration // time above the jam limit
	jams  int
}

func newJamHandler(t testing.TB, l *Line) *jamHandler {
	return &jamHandler{t: t, l: l, state: "running", since: l.Elapsed()}
}

func (j *jamHandler) enter(state string) { j.state, j.since, j.over = state, j.l.Elapsed(), 0 }

// step advances the line by dt and runs one scan of the handler.
func (j *jamHandler) step(dt time.Duration) {
	l := j.l
	l.Step(dt)
	in := l.Elapsed() - j.since
	switch j.state {
	case "running":
		if mustGet(j.t, l, "shredder.fault") == 1 {
			mustSet(j.t, l, "shredder.run_cmd", 0)
			j.enter("trip reset")
			return
		}
		if mustGet(j.t, l, "shredder.running") == 0 || in < 1500*time.Millisecond {
			return // starting, or inside the inrush blanking time
		}
		if mustGet(j.t, l, "shredder.current") > 1.1*shredderFLA {
			j.over += dt
		} else {
			j.over = 0
		}
		if j.over >= time.Second {
			j.jams++
			mustSet(j.t, l, "shredder.run_cmd", 0)
			j.enter("stopping")
		}
	case "trip reset":
		if in >= 2*time.Second {
			mustSet(j.t, l, "shredder.run_cmd", 1)
			j.enter("running")
		}
	case "stopping":
		if in >= 3*time.Second {
			mustSet(j.t, l, "shredder.reverse_cmd", 1)
			mustSet(j.t, l, "shredder.run_cmd", 1)
			j.enter("reversing")
		}
	case "reversing":
		if in >= startDelayS*time.Second+3*time.Second {
			mustSet(j.t, l, "shredder.run_cmd", 0)
			j.enter("reverse stopping")
		}
	case "reverse stopping":
		if in >= 3*time.Second {
			mustSet(j.t, l, "shredder.reverse_cmd", 0)
			mustSet(j.t, l, "shredder.run_cmd", 1)
			j.enter("running")
		}
	}
}

// cutting starts the shredder and feeder on a full hopper and runs until
// the shredder cuts at a steady load.
func cutting(t *testing.T, seed int64) *Line {
	t.Helper()
	l := quiet(seed, ClassCatering)
	l.Tip(2000)
	startLine(t, l)
	l.Step(20 * time.Second)
	if th := mustGet(t, l, "shredder.throughput"); th < 1 {
		t.Fatalf("shredder throughput %g kg/s after 20 s, want cutting", th)
	}
	return l
}

func TestJamCurrentAboveLimitWithinOneSecond(t *testing.T) {
	// PROCESS.md: a jam ramps torque to stall in 0.2–1 s; the recipes'
	// jam limits are 105–120 % FLA. Over many jams (each with its own
	// ramp time) the current must pass 120 % FLA within 1 s.
	const limit = 1.2 * shredderFLA
	var slowest time.Duration
	for seed := range int64(50) {
		l := cutting(t, seed)
		l.StartJam(0)
		start := l.Elapsed()
		for mustGet(t, l, "shredder.current") <= limit {
			l.Step(MaxSubstep)
			if l.Elapsed()-start > 2*time.Second {
				t.Fatalf("seed %d: current %g A 2 s after the jam, want above %g A", seed, mustGet(t, l, "shredder.current"), limit)
			}
		}
		slowest = max(slowest, l.Elapsed()-start)
		if th := mustGet(t, l, "shredder.throughput"); th != 0 {
			t.Errorf("seed %d: a jammed shredder still cuts %g kg/s", seed, th)
		}
		l.Step(2 * time.Second)
		if i, s := mustGet(t, l, "shredder.current"), mustGet(t, l, "shredder.speed"); math.Abs(i-stallCurrentFLA*shredderFLA) > 0.5 || s != 0 {
			t.Errorf("seed %d: stalled at %g A and %g rpm, want %g A and 0 rpm", seed, i, s, stallCurrentFLA*shredderFLA)
		}
	}
	t.Logf("slowest of 50 jams passed 120 %% FLA after %v", slowest)
	if slowest > time.Second {
		t.Errorf("current passed the jam limit %v after the jam, want within 1 s", slowest)
	}
}

func TestReversalClearsWithProbability(t *testing.T) {
	// Each reversal frees a jam with probability 0.7: over many jams the
	// share freed by the first reversal is near 0.7, and every jam is
	// freed within a few.
	const trials = 400
	first := 0
	for seed := range int64(trials) {
		l := quiet(seed, ClassCatering)
		mustSet(t, l, "shredder.speed_sp", 20)
		l.StartJam(0)
		for n := 1; ; n++ {
			mustSet(t, l, "shredder.reverse_cmd", 1)
			mustSet(t, l, "shredder.run_cmd", 1)
			l.Step(3 * time.Second)
			mustSet(t, l, "shredder.run_cmd", 0)
			l.Step(2 * time.Second)
			if got := mustGet(t, l, "shredder.reversals"); got != float64(n) {
				t.Fatalf("seed %d: %g reversals counted after %d", seed, got, n)
			}
			if mustGet(t, l, "shredder.jammed") == 0 {
				if n == 1 {
					first++
				}
				break
			}
			if n == 20 {
				t.Fatalf("seed %d: still jammed after 20 reversals", seed)
			}
		}
	}
	p := float64(first) / trials
	// Binomial(400, 0.7): standard deviation 0.023; 4 of them.
	if math.Abs(p-0.7) > 0.09 {
		t.Errorf("first reversal freed %.3f of jams, want about 0.7", p)
	}
	t.Logf("first reversal freed %d of %d jams (%.3f)", first, trials, p)

	// An injected jam that needs exactly two reversals.
	l := quiet(1, ClassCatering)
	mustSet(t, l, "shredder.speed_sp", 20)
	l.StartJam(2)
	for n, want := range []float64{1, 0} {
		mustSet(t, l, "shredder.reverse_cmd", 1)
		mustSet(t, l, "shredder.run_cmd", 1)
		l.Step(3 * time.Second)
		mustSet(t, l, "shredder.run_cmd", 0)
		l.Step(2 * time.Second)
		if got := mustGet(t, l, "shredder.jammed"); got != want {
			t.Errorf("after reversal %d of a jam needing 2: jammed = %g, want %g", n+1, got, want)
		}
	}
}

func TestReverseRunsBackwards(t *testing.T) {
	l := quiet(1, ClassCatering)
	mustSet(t, l, "shredder.speed_sp", 20)
	mustSet(t, l, "shredder.reverse_cmd", 1)
	mustSet(t, l, "shredder.run_cmd", 1)
	l.Step(3 * time.Second)
	if d, s := mustGet(t, l, "shredder.direction"), mustGet(t, l, "shredder.speed"); d != -1 || s != 20 {
		t.Errorf("reverse: direction %g, speed %g rpm; want -1, 20", d, s)
	}
	// Reversing the command while running ramps through zero.
	mustSet(t, l, "shredder.reverse_cmd", 0)
	l.Step(time.Second)
	if d := mustGet(t, l, "shredder.direction"); d != 0 {
		t.Errorf("1 s after the direction change: direction %g, want 0 (at standstill, 20 rpm/s ramp)", d)
	}
	l.Step(2 * time.Second)
	if d, s := mustGet(t, l, "shredder.direction"), mustGet(t, l, "shredder.speed"); d != 1 || s != 20 {
		t.Errorf("forwards again: direction %g, speed %g rpm; want 1, 20", d, s)
	}
	// Nothing is cut in reverse.
	l.Tip(100)
	mustSet(t, l, "feeder.speed_sp", 50)
	mustSet(t, l, "feeder.run_cmd", 1)
	mustSet(t, l, "shredder.reverse_cmd", 1)
	l.Step(5 * time.Second)
	if th := mustGet(t, l, "shredder.throughput"); th != 0 {
		t.Errorf("throughput in reverse %g kg/s, want 0", th)
	}
}

func TestStallTripsOverloadAndResets(t *testing.T) {
	// A jam nobody clears stalls the motor at the VFD's current limit;
	// the I²t relay trips it (150 % for 60 s ≈ 160 % for 48 s).
	l := cutting(t, 1)
	l.StartJam(0)
	start := l.Elapsed()
	for mustGet(t, l, "shredder.fault") == 0 {
		l.Step(100 * time.Millisecond)
		if l.Elapsed()-start > 2*time.Minute {
			t.Fatal("a stalled shredder never tripped")
		}
	}
	took := l.Elapsed() - start
	if took < 30*time.Second || took > 70*time.Second {
		t.Errorf("overload tripped %v after the jam, want 30–70 s", took)
	}
	if r, o := mustGet(t, l, "shredder.running"), mustGet(t, l, "shredder.overload"); r != 0 || o != 1 {
		t.Errorf("after the trip: running %g, overload %g; want 0, 1", r, o)
	}
	// The run command still on: the trip holds.
	l.Step(5 * time.Minute)
	if f := mustGet(t, l, "shredder.fault"); f != 1 {
		t.Errorf("trip reset itself with the run command on")
	}
	// Run command off, motor cooled: the trip resets; restarting needs a
	// new run command.
	mustSet(t, l, "shredder.run_cmd", 0)
	l.Step(2 * time.Second)
	if f := mustGet(t, l, "shredder.fault"); f != 0 {
		t.Errorf("trip did not reset with the run command off and the motor cool (I²t %g)", mustGet(t, l, "shredder.overload_i2t"))
	}
}

func TestHardObjectsArriveByMass(t *testing.T) {
	// Hard objects arrive as a Poisson process in shredded mass: about
	// rate × tonnes of them, each jamming the shredder until a reversal
	// frees it.
	l := New(5, ClassCatering)
	l.SetHardObjectRate(10)
	startLine(t, l)
	jh := newJamHandler(t, l)
	for l.Elapsed() < 2*time.Hour {
		if mustGet(t, l, "hopper.mass") < 100 {
			l.Tip(500)
		}
		jh.step(100 * time.Millisecond)
	}
	shredded := (mustGet(t, l, "waste_in.total") - mustGet(t, l, "hopper.mass") - mustGet(t, l, "shredder.holdup")) / 1000
	n := mustGet(t, l, "shredder.hard_objects")
	want := 10 * shredded
	t.Logf("%.2f t shredded, %g hard objects (expected %.1f), %d jams cleared, %g reversals", shredded, n, want, jh.jams, mustGet(t, l, "shredder.reversals"))
	if shredded < 2 {
		t.Fatalf("only %.2f t shredded in 2 h with jams being cleared", shredded)
	}
	if math.Abs(n-want) > 4*math.Sqrt(want) {
		t.Errorf("%g hard objects in %.2f t at 10/t, want about %.0f", n, shredded, want)
	}
}
