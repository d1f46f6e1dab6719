package equipment

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// firstOrder is y' = (K·u − y)/τ, integrated with the scan period.
type firstOrder struct {
	k, tau, y float64
}

func (p *firstOrder) step(u float64) float64 {
	p.y += (p.k*u - p.y) * scan.Seconds() / p.tau
	return p.y
}

func TestPIDStepResponse(t *testing.T) {
	cases := []struct {
		name       string
		cfg        PIDConfig
		plant      firstOrder
		sp         float64
		settle     time.Duration // within 1 % of sp by then
		overshootP float64       // largest allowed overshoot, % of sp
	}{
		{"PI on a fast plant", PIDConfig{Kp: 5, Ki: 2.5, OutMin: 0, OutMax: 100}, firstOrder{k: 0.07, tau: 2}, 3, 30 * time.Second, 5},
		{"PID with filtered derivative", PIDConfig{Kp: 8, Ki: 3, Kd: 2, DerivativeFilter: 200 * time.Millisecond, OutMin: 0, OutMax: 100}, firstOrder{k: 0.07, tau: 2}, 4, 30 * time.Second, 5},
		{"direct acting", PIDConfig{Kp: 0.5, Ki: 0.1, OutMin: 0, OutMax: 10, Action: DirectActing}, firstOrder{k: -2, tau: 5}, -4, time.Minute, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPID(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			plant := c.plant
			now := t0
			peak, settledAt := 0.0, time.Duration(-1)
			for i := 0; i < int((3*time.Minute)/scan); i++ {
				now = now.Add(scan)
				u := p.Update(now, c.sp, plant.y)
				if u < c.cfg.OutMin || u > c.cfg.OutMax {
					t.Fatalf("output %g outside [%g, %g]", u, c.cfg.OutMin, c.cfg.OutMax)
				}
				y := plant.step(u)
				peak = math.Max(peak, y/c.sp)
				if math.Abs(y-c.sp) <= 0.01*math.Abs(c.sp) {
					if settledAt < 0 {
						settledAt = now.Sub(t0)
					}
				} else {
					settledAt = -1
				}
			}
			if settledAt < 0 || settledAt > c.settle {
				t.Errorf("settled at %v (final y %g), want within 1 %% of %g by %s", settledAt, plant.y, c.sp, c.settle)
			}
			if over := (peak - 1) * 100; over > c.overshootP {
				t.Errorf("overshoot %.1f %%, want ≤ %g %%", over, c.overshootP)
			}
		})
	}
}

func TestPIDAntiWindup(t *testing.T) {
	p, err := NewPID(PIDConfig{Kp: 2, Ki: 1, OutMin: 0, OutMax: 100})
	if err != nil {
		t.Fatal(err)
	}
	plant := firstOrder{k: 0.07, tau: 2} // at most 7 bar
	now := t0
	// Ten minutes asking for 10 bar the plant cannot reach.
	for i := 0; i < int(10*time.Minute/scan); i++ {
		now = now.Add(scan)
		plant.step(p.Update(now, 10, plant.y))
	}
	if p.Output() != 100 {
		t.Fatalf("output %g, want saturated at 100", p.Output())
	}
	if p.Integral() > 100 {
		t.Fatalf("integral wound up to %g, want ≤ the output limit 100", p.Integral())
	}
	// Ask for less than we have: the output must leave saturation at once,
	// not after unwinding minutes of integral.
	now = now.Add(scan)
	u := p.Update(now, 3, plant.y)
	if u >= 100 {
		t.Errorf("output %g one scan after the error reversed, want below 100", u)
	}
	for i := 0; i < int(2*time.Minute/scan); i++ {
		now = now.Add(scan)
		plant.step(p.Update(now, 3, plant.y))
	}
	if math.Abs(plant.y-3) > 0.03 {
		t.Errorf("after the unreachable set-point, y = %g, want 3 within two minutes", plant.y)
	}
}

func TestPIDOutputWithinLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p, err := NewPID(PIDConfig{Kp: 3, Ki: 4, Kd: 1, DerivativeFilter: 50 * time.Millisecond, OutMin: -5, OutMax: 20})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	for i := 0; i < 200000; i++ {
		now = now.Add(time.Duration(rng.IntN(500)) * time.Millisecond)
		switch rng.IntN(50) {
		case 0:
			p.SetMode(ModeManual)
			p.SetManual(rng.Float64()*100 - 50)
		case 1:
			p.SetMode(ModeAuto)
		case 2:
			p.Track(rng.Float64()*100 - 50)
		}
		u := p.Update(now, rng.Float64()*200-100, rng.Float64()*200-100)
		if u < -5 || u > 20 || math.IsNaN(u) {
			t.Fatalf("step %d: output %g outside [-5, 20]", i, u)
		}
	}
}

func TestPIDBumpless(t *testing.T) {
	cases := []struct {
		name   string
		before func(p *PID, now time.Time)
		want   float64
	}{
		{"manual to auto", func(p *PID, now time.Time) {
			p.SetMode(ModeManual)
			p.SetManual(40)
			p.Update(now, 3, 1)
			p.SetMode(ModeAuto)
		}, 40},
		{"track then auto", func(p *PID, now time.Time) { p.Track(0) }, 0},
		{"auto to manual keeps the output", func(p *PID, now time.Time) {
			p.Update(now, 3, 1)
			p.SetMode(ModeManual)
		}, -1}, // -1: compare with the output at the switch
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := NewPID(PIDConfig{Kp: 10, Ki: 5, OutMin: 0, OutMax: 100})
			now := t0
			for i := 0; i < 100; i++ {
				now = now.Add(scan)
				p.Update(now, 3, 2)
			}
			c.before(p, now)
			want := c.want
			if want < 0 {
				want = p.Output()
			}
			now = now.Add(scan)
			if got := p.Update(now, 3, 1); math.Abs(got-want) > 1e-9 {
				t.Errorf("first output after the change = %g, want %g (no bump)", got, want)
			}
		})
	}
}

func TestPIDDetails(t *testing.T) {
	t.Run("derivative on measurement: no set-point kick", func(t *testing.T) {
		p, _ := NewPID(PIDConfig{Kd: 10, OutMin: -100, OutMax: 100})
		p.Update(t0, 0, 1)
		if u := p.Update(t0.Add(scan), 50, 1); u != 0 {
			t.Errorf("output after a set-point step with a steady measurement = %g, want 0", u)
		}
		if u := p.Update(t0.Add(2*scan), 50, 1.1); u >= 0 {
			t.Errorf("reverse-acting derivative on a rising measurement = %g, want < 0", u)
		}
	})
	t.Run("NaN leaves the output alone", func(t *testing.T) {
		p, _ := NewPID(PIDConfig{Kp: 1, Ki: 1, OutMin: 0, OutMax: 100})
		p.Update(t0, 10, 0)
		u := p.Update(t0.Add(time.Second), 10, 5)
		if got := p.Update(t0.Add(2*time.Second), 10, math.NaN()); got != u {
			t.Errorf("output after a NaN = %g, want %g", got, u)
		}
		if got := p.Update(t0.Add(3*time.Second), math.Inf(1), 5); got != u || math.IsNaN(p.Integral()) {
			t.Errorf("output after an infinite set-point = %g, want %g", got, u)
		}
	})
	t.Run("a stalled scan integrates at most MaxStep", func(t *testing.T) {
		p, _ := NewPID(PIDConfig{Ki: 1, OutMin: -1000, OutMax: 1000, MaxStep: 2 * time.Second})
		p.Update(t0, 0, 0)
		p.Update(t0.Add(scan), 1, 0) // bumpless start: integral takes the output
		i0 := p.Integral()
		p.Update(t0.Add(time.Hour), 1, 0)
		if d := p.Integral() - i0; math.Abs(d-2) > 1e-9 {
			t.Errorf("an hour's gap integrated %g, want 2 (MaxStep)", d)
		}
	})
	t.Run("config checked", func(t *testing.T) {
		for _, cfg := range []PIDConfig{
			{OutMin: 0, OutMax: 1},
			{Kp: -1, OutMin: 0, OutMax: 1},
			{Kp: 1, OutMin: 1, OutMax: 1},
			{Kp: math.NaN(), OutMin: 0, OutMax: 1},
			{Kp: 1, OutMin: 0, OutMax: 1, Action: 7},
		} {
			if _, err := NewPID(cfg); !errors.Is(err, ErrInvalid) {
				t.Errorf("NewPID(%+v) = %v, want ErrInvalid", cfg, err)
			}
		}
	})
}

// After Restart the first update acts on the whole error (no bumpless
// start) and nothing integrated before survives; after Track the output
// starts where it was tracked.
func TestPIDRestartActsOnTheWholeError(t *testing.T) {
	var p PID
	if err := p.init(PIDConfig{Kp: 2, Ki: 0.1, OutMin: -5, OutMax: 5, Action: DirectActing}); err != nil {
		t.Fatal(err)
	}
	now := t0
	for i := 0; i < 20; i++ { // wind some integral: measurement above set-point
		now = now.Add(time.Second)
		p.Update(now, 10, 11)
	}
	if p.Integral() == 0 {
		t.Fatal("no integral after 20 s of error")
	}
	p.Restart()
	now = now.Add(time.Second)
	if out := p.Update(now, 10, 8.5); out != -3 {
		t.Errorf("first update after Restart = %g, want Kp·e = -3", out)
	}
	p.Track(1)
	now = now.Add(time.Second)
	if out := p.Update(now, 10, 8.5); out != 1 {
		t.Errorf("first update after Track(1) = %g, want 1 (bumpless)", out)
	}
}
