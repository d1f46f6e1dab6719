package equipment

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

func testTankConfig() TankConfig {
	return TankConfig{Name: "filtrate", LowLowPct: 5, LowPct: 15, HighPct: 85, HighHighPct: 95, HysteresisPct: 2}
}

func TestTankThresholds(t *testing.T) {
	type want struct {
		state              LevelState
		stopFeed, stopPump bool
	}
	steps := []struct {
		level Analog
		want  want
	}{
		{Analog{}, want{LevelBad, true, true}}, // never received
		{GoodAnalog(50), want{LevelNormal, false, false}},
		{GoodAnalog(85), want{LevelHigh, false, false}},
		{GoodAnalog(95), want{LevelHighHigh, true, false}},
		{GoodAnalog(93.5), want{LevelHighHigh, true, false}}, // within hysteresis
		{GoodAnalog(92.9), want{LevelHigh, false, false}},
		{GoodAnalog(83.5), want{LevelHigh, false, false}},
		{GoodAnalog(82), want{LevelNormal, false, false}},
		{GoodAnalog(15), want{LevelLow, false, false}},
		{GoodAnalog(5), want{LevelLowLow, false, true}},
		{GoodAnalog(6.5), want{LevelLowLow, false, true}}, // within hysteresis
		{GoodAnalog(7.1), want{LevelLow, false, false}},
		{Analog{Value: 50, Quality: drivers.QualityBadCommFailure}, want{LevelBad, true, true}},
		{GoodAnalog(math.NaN()), want{LevelBad, true, true}},
		{GoodAnalog(50), want{LevelNormal, false, false}},
		{GoodAnalog(-3), want{LevelLowLow, false, true}},
		{GoodAnalog(110), want{LevelHighHigh, true, false}},
	}
	tk, err := NewTank(testTankConfig())
	if err != nil {
		t.Fatal(err)
	}
	if tk.State() != LevelBad || !tk.Outputs().StopFeed || !tk.Outputs().StopPump {
		t.Fatalf("before the first Step: %s %+v, want bad and everything stopped", tk.State(), tk.Outputs())
	}
	now := t0
	for i, s := range steps {
		now = now.Add(scan)
		o := tk.Step(now, TankInputs{Level: s.level})
		got := want{tk.State(), o.StopFeed, o.StopPump}
		if got != s.want {
			t.Errorf("step %d (level %g %s): got %+v, want %+v", i, s.level.Value, s.level.Quality, got, s.want)
		}
		if (got.state == LevelNormal) != (tk.Reason() == "") {
			t.Errorf("step %d: reason %q in state %s", i, tk.Reason(), got.state)
		}
	}
	if !strings.Contains(tk.Reason(), "high-high") {
		t.Errorf("reason at 110 %% = %q", tk.Reason())
	}
}

func TestTankConfigChecked(t *testing.T) {
	for _, mod := range []func(*TankConfig){
		func(c *TankConfig) { c.LowPct = 2 },
		func(c *TankConfig) { c.HighHighPct = 80 },
		func(c *TankConfig) { c.HysteresisPct = -1 },
		func(c *TankConfig) { c.HighPct = math.NaN() },
	} {
		c := testTankConfig()
		mod(&c)
		if _, err := NewTank(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewTank(%+v) = %v, want ErrInvalid", c, err)
		}
	}
}

func TestPumpDryRun(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, p *Pump, d *drive, level *Analog, step func(time.Duration)) // level feeds a Tank in front of the pump
	}{
		{"LL stops the pump; it does not restart when the level returns", func(t *testing.T, p *Pump, d *drive, level *Analog, step func(time.Duration)) {
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			step(time.Second)
			if p.State() != Running {
				t.Fatalf("state %s, want running", p.State())
			}
			*level = GoodAnalog(4)
			step(scan)
			if p.Outputs().Run {
				t.Fatal("pump still commanded at LL")
			}
			step(time.Second)
			if got := p.Reason(); !strings.HasPrefix(got, "dry-run protection: suction tank at low-low level") {
				t.Errorf("reason = %q", got)
			}
			*level = GoodAnalog(60)
			step(time.Minute)
			if p.Outputs().Run || p.State() != Stopped {
				t.Fatal("pump restarted by itself")
			}
			if err := p.Start(); err != nil {
				t.Fatalf("Start with the level back: %v", err)
			}
		}},
		{"start refused at LL", func(t *testing.T, p *Pump, d *drive, level *Analog, step func(time.Duration)) {
			*level = GoodAnalog(3)
			step(scan)
			err := p.Start()
			if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "dry-run") {
				t.Fatalf("Start at LL = %v, want a dry-run refusal", err)
			}
			*level = GoodAnalog(6) // inside the hysteresis: still LL
			step(scan)
			if err := p.Start(); !errors.Is(err, ErrNotPermitted) {
				t.Fatalf("Start within the LL hysteresis = %v, want refused", err)
			}
		}},
		{"level lost stops the pump", func(t *testing.T, p *Pump, d *drive, level *Analog, step func(time.Duration)) {
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			step(time.Second)
			level.Quality = drivers.QualityBadCommFailure
			step(time.Second)
			if p.Outputs().Run || !strings.HasPrefix(p.Reason(), "input suction_low_low is bad:comm_failure") {
				t.Fatalf("run %v reason %q", p.Outputs().Run, p.Reason())
			}
		}},
		{"overload trips and latches", func(t *testing.T, p *Pump, d *drive, level *Analog, step func(time.Duration)) {
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			step(time.Second)
			d.overload = true
			step(scan)
			if p.State() != Faulted || !errors.Is(p.Reset(), ErrTripActive) {
				t.Fatalf("state %s", p.State())
			}
			d.overload = false
			step(scan)
			if err := p.Reset(); err != nil || p.State() != Stopped {
				t.Fatalf("Reset = %v, state %s", err, p.State())
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPump(MotorConfig{Name: "filtrate_pump", StartTimeout: 3 * time.Second, HasOverload: true})
			if err != nil {
				t.Fatal(err)
			}
			tk, _ := NewTank(testTankConfig())
			d := newDrive()
			level := GoodAnalog(50)
			now := t0
			var out MotorOutputs
			step := func(dur time.Duration) {
				for end := now.Add(dur); now.Before(end); {
					now = now.Add(scan)
					to := tk.Step(now, TankInputs{Level: level})
					out = p.Step(now, PumpInputs{Motor: d.step(now, out), SuctionLowLow: to.LowLowSignal()})
				}
			}
			step(scan)
			c.run(t, p, d, &level, step)
		})
	}
}
