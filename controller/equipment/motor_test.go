package equipment

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

func testMotorConfig() MotorConfig {
	return MotorConfig{Name: "m1", StartTimeout: 5 * time.Second, StopTimeout: 10 * time.Second, Reversible: true,
		HasOverload: true, HasDriveFault: true, MinSpeed: 5, MaxSpeed: 50}
}

// motorRig steps a Motor against a drive with a fake clock.
type motorRig struct {
	t   *testing.T
	m   *Motor
	d   *drive
	now time.Time
	out MotorOutputs
	in  MotorInputs
}

func newMotorRig(t *testing.T, cfg MotorConfig) *motorRig {
	t.Helper()
	m, err := NewMotor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &motorRig{t: t, m: m, d: newDrive(), now: t0}
	r.run(scan) // first scan: inputs known
	return r
}

// run steps for d of plant time.
func (r *motorRig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(scan)
		r.in = r.d.step(r.now, r.out)
		r.out = r.m.Step(r.now, r.in)
	}
}

// runUntil steps until cond holds or limit passes, and returns the time it took.
func (r *motorRig) runUntil(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := r.now
	for r.now.Sub(start) < limit {
		if cond() {
			return r.now.Sub(start), true
		}
		r.run(scan)
	}
	return r.now.Sub(start), cond()
}

func (r *motorRig) wantState(want RunState) {
	r.t.Helper()
	if got := r.m.State(); got != want {
		r.t.Fatalf("state = %s, want %s (reason %q)", got, want, r.m.Reason())
	}
}

func (r *motorRig) mustStart(dir Direction) {
	r.t.Helper()
	if err := r.m.Start(dir); err != nil {
		r.t.Fatalf("Start(%s): %v", dir, err)
	}
}

func TestMotor(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*MotorConfig)
		run  func(t *testing.T, r *motorRig)
	}{
		{"start confirms running then stop", nil, func(t *testing.T, r *motorRig) {
			r.m.SetSpeed(20)
			r.mustStart(Forward)
			r.run(scan)
			if !r.out.Run || r.out.SpeedRef != 20 || r.out.Direction != Forward {
				t.Fatalf("outputs = %+v, want run forward at 20", r.out)
			}
			r.wantState(Starting)
			r.run(time.Second)
			r.wantState(Running)
			if r.m.Reason() != "" {
				t.Errorf("running motor has reason %q", r.m.Reason())
			}
			r.m.Stop()
			r.run(scan)
			r.wantState(Stopping)
			if r.out.Run || r.out.SpeedRef != 0 {
				t.Fatalf("outputs after stop = %+v, want off", r.out)
			}
			r.run(time.Second)
			r.wantState(Stopped)
			if got := r.m.Reason(); got != "stopped by command" {
				t.Errorf("reason = %q", got)
			}
		}},
		{"failed to start", nil, func(t *testing.T, r *motorRig) {
			r.d.noFeedback = true
			r.mustStart(Forward)
			took, ok := r.runUntil(time.Minute, func() bool { return r.m.State() == Faulted })
			if !ok {
				t.Fatalf("no fault within a minute; state %s", r.m.State())
			}
			if took < 5*time.Second || took > 5*time.Second+2*scan {
				t.Errorf("faulted after %s, want the 5s start timeout", took)
			}
			if r.out.Run {
				t.Error("run still commanded after failed-to-start")
			}
			if got, want := r.m.Reason(), "failed to start: no running feedback within 5s"; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			err := r.m.Start(Forward)
			if !errors.Is(err, ErrFaulted) {
				t.Fatalf("Start while faulted = %v, want ErrFaulted", err)
			}
			if err := r.m.Reset(); err != nil {
				t.Fatalf("Reset: %v", err)
			}
			r.run(10 * time.Second)
			r.wantState(Stopped)
			if r.out.Run {
				t.Error("motor restarted by itself after reset")
			}
		}},
		{"overload trips; reset refused while active; no restart after", nil, func(t *testing.T, r *motorRig) {
			r.mustStart(Forward)
			r.run(time.Second)
			r.wantState(Running)
			r.d.overload = true
			r.run(scan)
			r.wantState(Faulted)
			if r.out.Run {
				t.Fatal("run still on after overload")
			}
			if got := r.m.Reason(); got != "overload relay tripped" {
				t.Errorf("reason = %q", got)
			}
			err := r.m.Reset()
			var ref *Refusal
			if !errors.Is(err, ErrTripActive) || !errors.As(err, &ref) || ref.Command != "reset" {
				t.Fatalf("Reset with overload on = %v, want a reset Refusal wrapping ErrTripActive", err)
			}
			r.wantState(Faulted)
			r.d.overload = false
			r.run(time.Minute) // the trip clears; the fault stays latched
			r.wantState(Faulted)
			if err := r.m.Reset(); err != nil {
				t.Fatalf("Reset after the relay reset: %v", err)
			}
			r.run(time.Minute)
			r.wantState(Stopped)
			if r.out.Run {
				t.Fatal("motor started by itself after reset")
			}
			r.mustStart(Forward)
			r.run(time.Second)
			r.wantState(Running)
		}},
		{"drive fault trips even when stopped", nil, func(t *testing.T, r *motorRig) {
			r.d.fault = true
			r.run(scan)
			r.wantState(Faulted)
			if got := r.m.Reason(); got != "drive reports a fault" {
				t.Errorf("reason = %q", got)
			}
			if !errors.Is(r.m.Start(Forward), ErrFaulted) {
				t.Error("start allowed while faulted")
			}
			if !errors.Is(r.m.Reset(), ErrTripActive) {
				t.Error("reset allowed while the drive fault is on")
			}
		}},
		{"reset refused while the trip input is bad", nil, func(t *testing.T, r *motorRig) {
			r.d.overload = true
			r.run(scan)
			r.d.overload = false
			r.d.quality = drivers.QualityBadCommFailure
			r.run(scan)
			err := r.m.Reset()
			if !errors.Is(err, ErrTripActive) || !strings.Contains(err.Error(), "bad:comm_failure") {
				t.Fatalf("Reset with overload input bad = %v, want ErrTripActive naming the quality", err)
			}
		}},
		{"bad input stops; good again does not restart", nil, func(t *testing.T, r *motorRig) {
			r.mustStart(Forward)
			r.run(time.Second)
			r.wantState(Running)
			r.d.quality = drivers.QualityBadCommFailure
			r.run(scan)
			r.wantState(Stopped)
			if r.out.Run {
				t.Fatal("run on with bad feedback")
			}
			if got, want := r.m.Reason(), "input running is bad:comm_failure; not ready: input overload is bad:comm_failure; input drive_fault is bad:comm_failure"; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
			if err := r.m.Start(Forward); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Start with bad feedback = %v, want ErrNotPermitted", err)
			}
			r.d.quality = drivers.QualityGood
			r.run(time.Minute)
			r.wantState(Stopped)
			if r.out.Run {
				t.Fatal("motor restarted by itself when inputs came back")
			}
		}},
		{"running feedback lost while running faults", nil, func(t *testing.T, r *motorRig) {
			r.mustStart(Forward)
			r.run(time.Second)
			r.d.running, r.d.noFeedback = false, true
			r.run(scan)
			r.wantState(Faulted)
			if got := r.m.Reason(); got != "running feedback lost while running" {
				t.Errorf("reason = %q", got)
			}
		}},
		{"failed to stop", nil, func(t *testing.T, r *motorRig) {
			r.mustStart(Forward)
			r.run(time.Second)
			r.d.stopDelay = time.Hour
			r.m.Stop()
			took, ok := r.runUntil(time.Minute, func() bool { return r.m.State() == Faulted })
			if !ok || took < 10*time.Second-scan {
				t.Fatalf("failed-to-stop after %s (ok %v), want at the 10s stop timeout", took, ok)
			}
			if !strings.HasPrefix(r.m.Reason(), "failed to stop") {
				t.Errorf("reason = %q", r.m.Reason())
			}
		}},
		{"direction change needs a stop", nil, func(t *testing.T, r *motorRig) {
			r.mustStart(Forward)
			r.run(time.Second)
			if err := r.m.Start(Forward); err != nil {
				t.Errorf("Start in the running direction = %v, want nil", err)
			}
			if err := r.m.Start(Reverse); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Start(Reverse) while running forward = %v, want ErrNotPermitted", err)
			}
			r.m.Stop()
			r.run(scan)
			if err := r.m.Start(Reverse); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Start(Reverse) while running down = %v, want ErrNotPermitted", err)
			}
			r.run(time.Second)
			r.mustStart(Reverse)
			r.run(time.Second)
			if r.m.State() != Running || r.out.Direction != Reverse {
				t.Errorf("state %s dir %s, want running reverse", r.m.State(), r.out.Direction)
			}
		}},
		{"non-reversible refuses reverse", func(c *MotorConfig) { c.Reversible = false }, func(t *testing.T, r *motorRig) {
			if err := r.m.Start(Reverse); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Start(Reverse) = %v, want ErrNotPermitted", err)
			}
		}},
		{"nothing starts before the first inputs", nil, func(t *testing.T, r *motorRig) {
			m, _ := NewMotor(testMotorConfig())
			err := m.Start(Forward)
			if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "unknown") {
				t.Errorf("Start before any Step = %v, want ErrNotPermitted naming the unknown input", err)
			}
			if !strings.Contains(m.Reason(), "not started since the controller started") {
				t.Errorf("reason = %q", m.Reason())
			}
		}},
		{"uncommanded running is watched down and faults if it persists", nil, func(t *testing.T, r *motorRig) {
			r.d.running, r.d.cmdSince = true, r.now // a drive in local
			r.d.stopDelay = time.Hour
			r.run(scan)
			r.wantState(Stopping)
			r.run(11 * time.Second)
			r.wantState(Faulted)
		}},
		{"speed reference clamped", nil, func(t *testing.T, r *motorRig) {
			r.m.SetSpeed(500)
			r.mustStart(Forward)
			r.run(scan)
			if r.out.SpeedRef != 50 {
				t.Errorf("speed ref = %g, want clamped to 50", r.out.SpeedRef)
			}
			r.m.SetSpeed(1)
			r.run(scan)
			if r.out.SpeedRef != 5 {
				t.Errorf("speed ref = %g, want clamped to 5", r.out.SpeedRef)
			}
		}},
		{"permissives list what is unmet", nil, func(t *testing.T, r *motorRig) {
			r.d.overload = true
			r.d.quality = drivers.QualityUncertainStale
			r.run(scan)
			var unmet []string
			for _, p := range r.m.Permissives() {
				if !p.Met {
					unmet = append(unmet, p.Name)
				}
			}
			want := "running_feedback_good,overload_healthy,drive_healthy"
			if got := strings.Join(unmet, ","); got != want {
				t.Errorf("unmet = %s, want %s", got, want)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testMotorConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			c.run(t, newMotorRig(t, cfg))
		})
	}
}

func TestMotorConfigChecked(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*MotorConfig)
	}{
		{"no name", func(c *MotorConfig) { c.Name = "" }},
		{"no start timeout", func(c *MotorConfig) { c.StartTimeout = 0 }},
		{"negative stop timeout", func(c *MotorConfig) { c.StopTimeout = -1 }},
		{"inverted speed range", func(c *MotorConfig) { c.MinSpeed, c.MaxSpeed = 10, 5 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testMotorConfig()
			c.cfg(&cfg)
			if _, err := NewMotor(cfg); !errors.Is(err, ErrInvalid) {
				t.Errorf("NewMotor = %v, want ErrInvalid", err)
			}
		})
	}
}
