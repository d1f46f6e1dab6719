package equipment

import (
	"errors"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/recipes"
)

func testShredderConfig() ShredderConfig {
	return ShredderConfig{
		Motor: MotorConfig{Name: "shredder", StartTimeout: 5 * time.Second, StopTimeout: 10 * time.Second, Reversible: true,
			HasOverload: true, HasDriveFault: true, MinSpeed: 10, MaxSpeed: 40},
		FLA: 41,
	}
}

// shredderRig steps a Shredder against shredderPlant with a fake clock and
// records every state it passes through and the invariants it must keep.
type shredderRig struct {
	t      *testing.T
	s      *Shredder
	p      *shredderPlant
	now    time.Time
	out    ShredderOutputs
	in     ShredderInputs
	states []ShredderState
	// since the last fault: every scan while faulted must have FeedPermit
	// false and StopUpstream true.
	faultedScans, badFaultedScans int
}

func newShredderRig(t *testing.T, cfg ShredderConfig, p ShredderParams) *shredderRig {
	t.Helper()
	s, err := NewShredder(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	s.SetSpeed(20)
	r := &shredderRig{t: t, s: s, p: newShredderPlant(), now: t0}
	r.run(scan)
	return r
}

func (r *shredderRig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(scan)
		r.in = r.p.step(r.now, r.out.Motor)
		r.out = r.s.Step(r.now, r.in)
		if st := r.s.State(); len(r.states) == 0 || r.states[len(r.states)-1] != st {
			r.states = append(r.states, st)
		}
		if r.s.State() == ShredderFaulted {
			r.faultedScans++
			if r.out.FeedPermit || !r.out.StopUpstream || r.out.Motor.Run {
				r.badFaultedScans++
			}
		}
		// Invariants on every scan: the feeder never gets a permit unless
		// the shredder runs forward, and a motor is never run while the
		// shredder says stop upstream.
		if r.out.FeedPermit && (r.s.State() != ShredderRunning || r.out.Motor.Direction != Forward || !r.out.Motor.Run) {
			r.t.Fatalf("%s: FeedPermit in state %s (motor %+v)", r.now.Sub(t0), r.s.State(), r.out.Motor)
		}
		if r.out.FeedPermit && r.out.StopUpstream {
			r.t.Fatalf("%s: FeedPermit and StopUpstream together", r.now.Sub(t0))
		}
	}
}

func (r *shredderRig) runUntil(limit time.Duration, cond func() bool) bool {
	for end := r.now.Add(limit); r.now.Before(end); r.run(scan) {
		if cond() {
			return true
		}
	}
	return cond()
}

func (r *shredderRig) wantState(want ShredderState) {
	r.t.Helper()
	if got := r.s.State(); got != want {
		r.t.Fatalf("%s: state = %s, want %s (reason %q)", r.now.Sub(t0), got, want, r.s.Reason())
	}
}

func (r *shredderRig) startRunning() {
	r.t.Helper()
	if err := r.s.Start(); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	if !r.runUntil(5*time.Second, func() bool { return r.out.FeedPermit }) {
		r.t.Fatalf("no feed permit 5 s after start; state %s reason %q", r.s.State(), r.s.Reason())
	}
}

func statesString(ss []ShredderState) string {
	var b []byte
	for i, s := range ss {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s.String()...)
	}
	return string(b)
}

func TestShredderJamHandling(t *testing.T) {
	cases := []struct {
		name   string
		params func(*ShredderParams)
		cfg    func(*ShredderConfig)
		run    func(t *testing.T, r *shredderRig)
	}{
		{"single jam cleared by one reversal", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.run(5 * time.Second)
			r.states = r.states[:0]
			r.p.jammed, r.p.clearIn = true, 1
			jamAt := r.now
			if !r.runUntil(3*time.Second, func() bool { return r.s.State() == ShredderJamStopping }) {
				t.Fatalf("jam not detected; state %s", r.s.State())
			}
			if took := r.now.Sub(jamAt); took < time.Second || took > time.Second+3*scan {
				t.Errorf("jam confirmed after %s, want the 1 s confirm time", took)
			}
			if r.out.FeedPermit || r.out.StopUpstream {
				t.Errorf("during the jam cycle: FeedPermit %v StopUpstream %v, want false, false (pause, not trip)", r.out.FeedPermit, r.out.StopUpstream)
			}
			stopAt := r.now
			if !r.runUntil(10*time.Second, func() bool { return r.out.Motor.Run && r.out.Motor.Direction == Reverse }) {
				t.Fatal("never reversed")
			}
			if waited := r.now.Sub(stopAt); waited < 3*time.Second {
				t.Errorf("reversed %s after the stop, want at least the 3 s standstill wait", waited)
			}
			revAt := r.now
			if !r.runUntil(10*time.Second, func() bool { return !r.out.Motor.Run }) {
				t.Fatal("reverse never stopped")
			}
			if ran := r.now.Sub(revAt); ran < 3*time.Second-scan || ran > 3*time.Second+2*scan {
				t.Errorf("reversed for %s, want the 3 s reverse time", ran)
			}
			if !r.runUntil(15*time.Second, func() bool { return r.out.FeedPermit }) {
				t.Fatalf("forward never resumed; state %s reason %q", r.s.State(), r.s.Reason())
			}
			r.run(10 * time.Second)
			r.wantState(ShredderRunning)
			want := "running jam_stopping reversing reverse_stopping starting running"
			if got := statesString(r.states); got != want {
				t.Errorf("states = %s, want %s", got, want)
			}
			if r.out.JamReversals != 1 || r.s.Jams() != 1 || r.s.Reversals() != 1 {
				t.Errorf("JamReversals %d Jams %d Reversals %d, want 1, 1 and 1", r.out.JamReversals, r.s.Jams(), r.s.Reversals())
			}
			// The window slides: a minute later the reversal no longer counts.
			r.run(time.Minute)
			if r.out.JamReversals != 0 {
				t.Errorf("JamReversals a minute later = %d, want 0", r.out.JamReversals)
			}
		}},
		{"reversal limit faults and stops upstream until reset", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed, r.p.clearIn = true, 0 // never clears
			if !r.runUntil(time.Minute, func() bool { return r.s.State() == ShredderFaulted }) {
				t.Fatalf("no fault within a minute of a permanent jam; state %s reversals %d", r.s.State(), r.out.JamReversals)
			}
			if r.p.revs != 3 || r.s.Reversals() != 3 || r.s.Jams() != 4 {
				t.Errorf("plant saw %d reversals before the fault, counters %d reversals %d jams; want max_reversals = 3 and the fourth jam faulting", r.p.revs, r.s.Reversals(), r.s.Jams())
			}
			if got, want := r.s.Reason(), "jam: 3 reversals in 60 s"; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			if r.out.FeedPermit || !r.out.StopUpstream || r.out.Motor.Run {
				t.Fatalf("at fault: %+v, want no permit, stop upstream, motor off", r.out)
			}
			// Stays faulted, off, upstream stopped, however long; Start refused.
			r.run(10 * time.Minute)
			r.wantState(ShredderFaulted)
			if err := r.s.Start(); !errors.Is(err, ErrFaulted) {
				t.Errorf("Start while faulted = %v, want ErrFaulted", err)
			}
			if r.badFaultedScans != 0 || r.faultedScans < 60000 {
				t.Fatalf("%d of %d faulted scans had a feed permit, no upstream stop, or the motor on", r.badFaultedScans, r.faultedScans)
			}
			r.p.jammed = false // the operator cleared it
			if err := r.s.Reset(); err != nil {
				t.Fatalf("Reset: %v", err)
			}
			r.run(time.Minute)
			r.wantState(ShredderStopped)
			if r.out.Motor.Run || r.out.FeedPermit || !r.out.StopUpstream {
				t.Fatalf("after reset: %+v, want still stopped (no start by itself)", r.out)
			}
			if r.out.JamReversals != 0 {
				t.Errorf("reset kept %d reversals, want the history cleared", r.out.JamReversals)
			}
			r.startRunning()
			if r.out.StopUpstream {
				t.Error("StopUpstream still set while running again")
			}
		}},
		{"jams spread wider than the window do not fault", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			for i := 0; i < 6; i++ {
				r.p.jammed = true
				if !r.runUntil(20*time.Second, func() bool { return r.s.State() == ShredderReversing }) {
					t.Fatalf("jam %d: no reversal", i+1)
				}
				r.run(25 * time.Second)
				r.wantState(ShredderRunning)
			}
			if r.s.Jams() != 6 {
				t.Errorf("Jams = %d, want 6", r.s.Jams())
			}
		}},
		{"max_reversals 5 allows five", func(p *ShredderParams) { p.MaxReversals = 5 }, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed, r.p.clearIn = true, 0
			if !r.runUntil(5*time.Minute, func() bool { return r.s.State() == ShredderFaulted }) {
				t.Fatal("no fault")
			}
			if r.p.revs != 5 || r.s.Reason() != "jam: 5 reversals in 60 s" {
				t.Errorf("revs %d reason %q, want 5 and jam: 5 reversals in 60 s", r.p.revs, r.s.Reason())
			}
		}},
		{"inrush ignored within blanking", func(p *ShredderParams) { p.JamConfirm = 300 * time.Millisecond }, nil, func(t *testing.T, r *shredderRig) {
			// 6×FLA for 0.45 s from the running feedback (0.2 s after the
			// command): longer than the confirm time, so only the 0.5 s
			// blanking keeps it from counting as a jam or pausing the feed.
			r.p.inrush = 450 * time.Millisecond
			if err := r.s.Start(); err != nil {
				t.Fatal(err)
			}
			paused := false
			for i := 0; i < 1000; i++ {
				r.run(scan)
				paused = paused || r.out.FeedPaused
			}
			if r.s.Jams() != 0 || paused {
				t.Errorf("inrush counted as %d jams, paused the feed: %v", r.s.Jams(), paused)
			}
			r.wantState(ShredderRunning)
		}},
		{"inrush past blanking and confirm is a jam", func(p *ShredderParams) {
			p.InrushBlanking = 200 * time.Millisecond
			p.JamConfirm = 300 * time.Millisecond
		}, nil, func(t *testing.T, r *shredderRig) {
			// Proves the blanking case above can fail: with the blanking too
			// short, the same inrush is taken for a jam.
			r.p.inrush = 2 * time.Second
			if err := r.s.Start(); err != nil {
				t.Fatal(err)
			}
			r.run(3 * time.Second)
			if r.s.Jams() == 0 {
				t.Error("a 2 s inrush with 0.2 s blanking was not taken for a jam")
			}
		}},
		{"spike shorter than the confirm time is not a jam", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.spike = 30 // ~ 1.2·FLA on top of the load
			r.run(900 * time.Millisecond)
			r.p.spike = 0
			r.run(5 * time.Second)
			if r.s.Jams() != 0 {
				t.Errorf("a 0.9 s spike counted as a jam")
			}
		}},
		{"feed pause and resume with hysteresis", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			steps := []struct {
				load   float64 // current = FLA·(0.3 + 0.7·load)
				permit bool
			}{
				{0.5, true},   // 65 % FLA
				{0.84, false}, // 88.8 %: above 85 % pause
				{0.7, false},  // 79 %: below 85 but above 68 (20 % below): still paused
				{0.6, false},  // 72 %: still above the resume level of 68 %
				{0.5, true},   // 65 %: resumes
			}
			for i, s := range steps {
				r.p.load = s.load
				r.run(time.Second)
				if r.out.FeedPermit != s.permit || r.out.FeedPaused == s.permit {
					t.Errorf("step %d (load %g, %.0f A): FeedPermit %v FeedPaused %v, want permit %v",
						i, s.load, r.in.Current.Value, r.out.FeedPermit, r.out.FeedPaused, s.permit)
				}
			}
		}},
		{"bad current stops it; good again does not restart", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.curQ = drivers.QualityBadCommFailure
			r.run(scan)
			r.wantState(ShredderStopped)
			if r.out.Motor.Run || r.out.FeedPermit || !r.out.StopUpstream {
				t.Fatalf("with bad current: %+v, want off and upstream stopped", r.out)
			}
			r.run(time.Second)
			if got := r.s.Reason(); got != "input current is bad:comm_failure" {
				t.Errorf("reason = %q", got)
			}
			r.p.curQ = drivers.QualityGood
			r.run(time.Minute)
			r.wantState(ShredderStopped)
			if r.out.Motor.Run {
				t.Fatal("restarted by itself")
			}
		}},
		{"bad current mid jam cycle abandons it", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed = true
			r.runUntil(10*time.Second, func() bool { return r.s.State() == ShredderReversing })
			r.p.curQ = drivers.QualityUncertainStale
			r.run(scan)
			r.wantState(ShredderStopped)
			r.p.curQ = drivers.QualityGood
			r.run(time.Minute)
			if r.out.Motor.Run {
				t.Fatal("the jam cycle went on by itself after the input came back")
			}
		}},
		{"overload trips; reset refused while active", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.overload = true
			r.run(scan)
			r.wantState(ShredderFaulted)
			if !r.out.StopUpstream || r.out.FeedPermit {
				t.Errorf("overload: %+v, want upstream stopped", r.out)
			}
			if got := r.s.Reason(); got != "overload relay tripped" {
				t.Errorf("reason = %q", got)
			}
			if err := r.s.Reset(); !errors.Is(err, ErrTripActive) {
				t.Fatalf("Reset with overload on = %v, want ErrTripActive", err)
			}
			r.p.overload = false
			r.run(scan)
			if err := r.s.Reset(); err != nil {
				t.Fatalf("Reset: %v", err)
			}
			r.run(time.Minute)
			r.wantState(ShredderStopped)
		}},
		{"failed to start", nil, nil, func(t *testing.T, r *shredderRig) {
			r.p.noFeedback = true
			if err := r.s.Start(); err != nil {
				t.Fatal(err)
			}
			r.run(5*time.Second + 2*scan)
			r.wantState(ShredderFaulted)
			if got := r.s.Reason(); got != "failed to start: no running feedback within 5s" {
				t.Errorf("reason = %q", got)
			}
			if !r.out.StopUpstream {
				t.Error("StopUpstream false after failed to start")
			}
		}},
		{"standstill by speed feedback", nil, func(c *ShredderConfig) { c.Motor.HasSpeed = true }, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed = true
			r.runUntil(3*time.Second, func() bool { return r.s.State() == ShredderJamStopping })
			stopAt := r.now
			r.runUntil(10*time.Second, func() bool { return r.s.State() == ShredderReversing })
			// 20 rpm at 40 rpm/s ramps down in 0.5 s, well before 3 s.
			if waited := r.now.Sub(stopAt); waited > 2*time.Second {
				t.Errorf("waited %s for standstill with speed feedback, want ≈ the ramp-down", waited)
			}
			if r.in.Motor.Speed.Value > 0.5 {
				t.Errorf("reversed at %g rpm", r.in.Motor.Speed.Value)
			}
		}},
		{"no standstill faults", nil, func(c *ShredderConfig) { c.Motor.HasSpeed = true; c.Motor.StopTimeout = 0 }, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed = true
			r.runUntil(3*time.Second, func() bool { return r.s.State() == ShredderJamStopping })
			r.p.rampPerS = 0.001 // the shafts coast for ever
			r.run(31 * time.Second)
			r.wantState(ShredderFaulted)
			if got := r.s.Reason(); got != "no standstill within 30s of the stop" {
				t.Errorf("reason = %q", got)
			}
		}},
		{"stop mid jam cycle", nil, nil, func(t *testing.T, r *shredderRig) {
			r.startRunning()
			r.p.jammed = true
			r.runUntil(10*time.Second, func() bool { return r.s.State() == ShredderReversing })
			r.s.Stop()
			r.run(scan)
			if r.out.Motor.Run {
				t.Fatal("motor on after stop")
			}
			r.run(5 * time.Second)
			r.wantState(ShredderStopped)
			if got := r.s.Reason(); got != "stopped by command" {
				t.Errorf("reason = %q", got)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, p := testShredderConfig(), DefaultShredderParams()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			if c.params != nil {
				c.params(&p)
			}
			c.run(t, newShredderRig(t, cfg, p))
		})
	}
}

func TestShredderPermissives(t *testing.T) {
	r := newShredderRig(t, testShredderConfig(), DefaultShredderParams())
	r.p.curQ = drivers.QualityBadCommFailure
	r.p.overload = true
	r.run(scan)
	r.p.overload = false
	r.run(scan)
	var unmet []string
	for _, p := range r.s.Permissives() {
		if !p.Met {
			unmet = append(unmet, p.Name+": "+p.Why)
		}
	}
	want := []string{"no_fault: faulted (overload relay tripped); reset first", "current_good: input current is bad:comm_failure"}
	if len(unmet) != len(want) || unmet[0] != want[0] || unmet[1] != want[1] {
		t.Errorf("unmet permissives = %q, want %q", unmet, want)
	}
	if err := r.s.Reset(); err != nil {
		t.Fatal(err)
	}
	err := r.s.Start()
	var ref *Refusal
	if !errors.As(err, &ref) || !errors.Is(err, ErrNotPermitted) || ref.Reason != "input current is bad:comm_failure" {
		t.Errorf("Start with bad current = %v, want a refusal naming the current", err)
	}
}

func TestShredderParamsChecked(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*ShredderParams)
	}{
		{"pause above jam", func(p *ShredderParams) { p.FeedPauseCurrentPct = 120 }},
		{"zero confirm", func(p *ShredderParams) { p.JamConfirm = 0 }},
		{"zero reversals", func(p *ShredderParams) { p.MaxReversals = 0 }},
		{"too many reversals", func(p *ShredderParams) { p.MaxReversals = maxReversalsCap + 1 }},
		{"zero window", func(p *ShredderParams) { p.ReversalWindow = 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultShredderParams()
			c.mod(&p)
			if _, err := NewShredder(testShredderConfig(), p); !errors.Is(err, ErrInvalid) {
				t.Errorf("NewShredder = %v, want ErrInvalid", err)
			}
			s, _ := NewShredder(testShredderConfig(), DefaultShredderParams())
			if err := s.SetParams(p); !errors.Is(err, ErrInvalid) || s.Params() != DefaultShredderParams() {
				t.Errorf("SetParams = %v, want ErrInvalid and the old parameters kept", err)
			}
		})
	}
	cfg := testShredderConfig()
	cfg.Motor.Reversible = false
	if _, err := NewShredder(cfg, DefaultShredderParams()); !errors.Is(err, ErrInvalid) {
		t.Errorf("non-reversible shredder accepted: %v", err)
	}
}

// TestParamsFromRecipeNames guards the recipe parameter names the modules
// read against the recipe schema, and the defaults against the schema's.
func TestParamsFromRecipeNames(t *testing.T) {
	var asked []string
	lookup := func(name string) float64 {
		asked = append(asked, name)
		d, ok := recipes.Lookup(name)
		if !ok {
			t.Errorf("parameter %q is not in the recipe schema", name)
		}
		return d.Default
	}
	p := ShredderParamsFrom(lookup)
	if p != DefaultShredderParams() {
		t.Errorf("shredder params from the schema defaults = %+v, want DefaultShredderParams %+v", p, DefaultShredderParams())
	}
	PressParamsFrom(lookup)
	PulperParamsFrom(lookup)
	if len(asked) != 13 {
		t.Errorf("looked up %d names (%v), want 13", len(asked), asked)
	}
}
