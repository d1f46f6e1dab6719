package equipment

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

func testPressConfig() PressConfig {
	return PressConfig{
		Motor:          MotorConfig{Name: "press", StartTimeout: 5 * time.Second, HasOverload: true, HasDriveFault: true, MinSpeed: 5, MaxSpeed: 50},
		FLA:            40,
		MaxPressureBar: 7.5,
	}
}

func testPressParams() PressParams {
	return PressParams{SpeedRPM: 15, BackPressureBar: 3, MaxCurrentPct: 95}
}

type pressRig struct {
	t   *testing.T
	x   *Press
	p   *pressPlant
	now time.Time
	out PressOutputs
	in  PressInputs
}

func newPressRig(t *testing.T, cfg PressConfig, p PressParams) *pressRig {
	t.Helper()
	x, err := NewPress(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	r := &pressRig{t: t, x: x, p: newPressPlant(), now: t0}
	r.run(scan)
	return r
}

func (r *pressRig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(scan)
		r.in = r.p.step(r.now, r.out)
		r.out = r.x.Step(r.now, r.in)
		if r.out.ConeValvePct < 0 || r.out.ConeValvePct > 100 {
			r.t.Fatalf("cone valve %g outside 0–100 %%", r.out.ConeValvePct)
		}
		if !r.out.Motor.Run && r.out.ConeValvePct != 0 {
			r.t.Fatalf("cone at %g %% with the press off, want open", r.out.ConeValvePct)
		}
	}
}

func (r *pressRig) wantState(want RunState) {
	r.t.Helper()
	if got := r.x.State(); got != want {
		r.t.Fatalf("state = %s, want %s (reason %q)", got, want, r.x.Reason())
	}
}

func (r *pressRig) start() {
	r.t.Helper()
	if err := r.x.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.run(time.Second)
	r.wantState(Running)
}

func TestPress(t *testing.T) {
	cases := []struct {
		name   string
		params func(*PressParams)
		run    func(t *testing.T, r *pressRig)
	}{
		{"back-pressure settles to set-point", nil, func(t *testing.T, r *pressRig) {
			r.start()
			if r.out.Motor.SpeedRef != 15 || r.out.BackPressureSetpointBar != 3 {
				t.Errorf("speed ref %g set-point %g, want 15 rpm and 3 bar", r.out.Motor.SpeedRef, r.out.BackPressureSetpointBar)
			}
			r.run(time.Minute)
			if math.Abs(r.p.pressure-3) > 0.03 {
				t.Fatalf("pressure %g bar after a minute, want 3 ± 0.03", r.p.pressure)
			}
			// A new set-point is followed too.
			if err := r.x.SetParams(PressParams{SpeedRPM: 15, BackPressureBar: 5, MaxCurrentPct: 95}); err != nil {
				t.Fatal(err)
			}
			r.run(time.Minute)
			if math.Abs(r.p.pressure-5) > 0.05 {
				t.Fatalf("pressure %g bar after a set-point change, want 5 ± 0.05", r.p.pressure)
			}
		}},
		{"over-current for the confirm time trips", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(30 * time.Second)
			r.p.extraAmps = 20 // ~ 38 A limit exceeded
			r.run(2 * time.Second)
			r.wantState(Running) // not yet: 3 s confirm
			r.run(1*time.Second + 2*scan)
			r.wantState(Faulted)
			if !strings.HasPrefix(r.x.Reason(), "over-current: ") || !strings.Contains(r.x.Reason(), "38.0 A") {
				t.Errorf("reason = %q", r.x.Reason())
			}
			if !r.out.StopUpstream || r.out.Motor.Run {
				t.Errorf("after trip: %+v", r.out)
			}
			r.p.extraAmps = 0
			if err := r.x.Reset(); err != nil {
				t.Fatal(err)
			}
			r.run(time.Minute)
			r.wantState(Stopped)
		}},
		{"current spike shorter than the confirm time does not trip", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(10 * time.Second)
			r.p.extraAmps = 20
			r.run(2900 * time.Millisecond)
			r.p.extraAmps = 0
			r.run(10 * time.Second)
			r.wantState(Running)
		}},
		{"over-pressure trips; reset refused while high", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(20 * time.Second)
			r.p.extraBar = 6 // ~9 bar read
			r.run(time.Second + 2*scan)
			r.wantState(Faulted)
			if !strings.HasPrefix(r.x.Reason(), "over-pressure: ") {
				t.Errorf("reason = %q", r.x.Reason())
			}
			if r.out.ConeValvePct != 0 {
				t.Errorf("cone at %g %% after an over-pressure trip, want open", r.out.ConeValvePct)
			}
			if err := r.x.Reset(); !errors.Is(err, ErrTripActive) {
				t.Fatalf("Reset with pressure high = %v, want ErrTripActive", err)
			}
			r.p.extraBar = 0
			r.run(10 * time.Second)
			if err := r.x.Reset(); err != nil {
				t.Fatal(err)
			}
			r.run(time.Minute)
			r.wantState(Stopped)
			if r.out.Motor.Run {
				t.Fatal("started by itself after reset")
			}
		}},
		{"bad back-pressure stops it, cone open, no restart", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(20 * time.Second)
			r.p.pq = drivers.QualityBadDeviceException
			r.run(scan)
			if r.out.Motor.Run || r.out.ConeValvePct != 0 || !r.out.StopUpstream {
				t.Fatalf("with bad pressure: %+v, want off, cone open, upstream stopped", r.out)
			}
			r.run(time.Second)
			if got := r.x.Reason(); !strings.HasPrefix(got, "input back_pressure is bad:device_exception") {
				t.Errorf("reason = %q", got)
			}
			r.p.pq = drivers.QualityGood
			r.run(time.Minute)
			r.wantState(Stopped)
		}},
		{"manual cone and bumpless return to auto", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(30 * time.Second)
			r.x.SetValveMode(ModeManual)
			r.x.SetValveManual(60)
			r.run(scan)
			if r.out.ConeValvePct != 60 {
				t.Fatalf("cone %g in manual, want 60", r.out.ConeValvePct)
			}
			r.run(20 * time.Second)
			r.x.SetValveMode(ModeAuto)
			r.run(scan)
			if math.Abs(r.out.ConeValvePct-60) > 0.5 {
				t.Errorf("first auto output %g, want ≈ 60 (bumpless)", r.out.ConeValvePct)
			}
			r.run(time.Minute)
			if math.Abs(r.p.pressure-3) > 0.03 {
				t.Errorf("pressure %g after returning to auto, want 3", r.p.pressure)
			}
		}},
		{"a restart opens from the cone's open position", nil, func(t *testing.T, r *pressRig) {
			r.start()
			r.run(time.Minute)
			if r.out.ConeValvePct < 20 {
				t.Fatalf("cone at %g %% in steady state; the test needs it well closed", r.out.ConeValvePct)
			}
			r.x.Stop()
			r.run(time.Minute)
			if err := r.x.Start(); err != nil {
				t.Fatal(err)
			}
			for r.x.State() != Running {
				r.run(scan)
			}
			if r.out.ConeValvePct > 5 {
				t.Errorf("cone at %g %% on the first running scan after a restart, want ≈ open (bumpless from 0)", r.out.ConeValvePct)
			}
			r.run(time.Minute)
			if math.Abs(r.p.pressure-3) > 0.03 {
				t.Errorf("pressure %g after the restart, want 3", r.p.pressure)
			}
		}},
		{"start refused with pressure above trip", nil, func(t *testing.T, r *pressRig) {
			r.p.extraBar = 8
			r.run(scan)
			if err := r.x.Start(); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Start = %v, want ErrNotPermitted", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testPressParams()
			if c.params != nil {
				c.params(&p)
			}
			c.run(t, newPressRig(t, testPressConfig(), p))
		})
	}
}

func TestPressConfigChecked(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*PressConfig)
		p    func(*PressParams)
	}{
		{"no FLA", func(c *PressConfig) { c.FLA = 0 }, nil},
		{"no trip pressure", func(c *PressConfig) { c.MaxPressureBar = 0 }, nil},
		{"cone limits beyond 100", func(c *PressConfig) { c.PID = PIDConfig{Kp: 1, OutMin: 0, OutMax: 120} }, nil},
		{"set-point above trip", nil, func(p *PressParams) { p.BackPressureBar = 8 }},
		{"no current limit", nil, func(p *PressParams) { p.MaxCurrentPct = 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, p := testPressConfig(), testPressParams()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			if c.p != nil {
				c.p(&p)
			}
			if _, err := NewPress(cfg, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("NewPress = %v, want ErrInvalid", err)
			}
		})
	}
}
