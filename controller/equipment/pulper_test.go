package equipment

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

func testPulperConfig() PulperConfig {
	return PulperConfig{
		Mixer:            MotorConfig{Name: "pulper", StartTimeout: 5 * time.Second, HasOverload: true},
		Tank:             TankConfig{LowLowPct: 5, LowPct: 15, HighPct: 85, HighHighPct: 95, HysteresisPct: 2},
		MixerMinLevelPct: 20,
		MaxWaterFlow:     5,
	}
}

func testPulperParams() PulperParams {
	return PulperParams{DSTargetPct: 10, DSInPct: 28, MaxWaterRatio: 2.5}
}

type pulperRig struct {
	t   *testing.T
	u   *Pulper
	p   *pulperPlant
	now time.Time
	out PulperOutputs
	in  PulperInputs
}

func newPulperRig(t *testing.T, cfg PulperConfig, p PulperParams) *pulperRig {
	t.Helper()
	u, err := NewPulper(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	r := &pulperRig{t: t, u: u, p: newPulperPlant(), now: t0}
	r.run(scan)
	return r
}

func (r *pulperRig) run(d time.Duration) {
	for end := r.now.Add(d); r.now.Before(end); {
		r.now = r.now.Add(scan)
		r.in = r.p.step(r.now, r.out)
		r.out = r.u.Step(r.now, r.in)
		if f := r.out.WaterFlowSP; f < 0 || f > 5 || (f > 0) != r.out.WaterValve {
			r.t.Fatalf("water flow %g kg/s valve %v: want within [0, 5] and the valve open exactly when flow > 0", f, r.out.WaterValve)
		}
		if r.out.WaterValve && (r.out.Tank.HighHigh || !r.out.Mixer.Run) {
			r.t.Fatalf("water on at HH or with the mixer off: %+v", r.out)
		}
	}
}

func (r *pulperRig) startDosing() {
	r.t.Helper()
	if err := r.u.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.u.SetDilution(DilutionAuto)
	r.run(time.Second)
	if !r.u.Dosing() {
		r.t.Fatalf("not dosing: %s", r.u.DilutionReason())
	}
}

func TestPulper(t *testing.T) {
	cases := []struct {
		name   string
		params func(*PulperParams)
		run    func(t *testing.T, r *pulperRig)
	}{
		{"feed-forward alone reaches target when ds_in is right", nil, func(t *testing.T, r *pulperRig) {
			r.startDosing()
			if math.Abs(r.out.FeedForward-1.8) > 1e-9 {
				t.Errorf("feed-forward %g kg/s, want 1·(28/10 − 1) = 1.8", r.out.FeedForward)
			}
			r.run(2 * time.Hour)
			if ds := r.in.DS.Value; math.Abs(ds-10) > 0.1 {
				t.Errorf("DS %g %% after 2 h, want 10 ± 0.1", ds)
			}
		}},
		{"PI trims DS to target when ds_in is wrong", func(p *PulperParams) { p.DSInPct = 20 }, func(t *testing.T, r *pulperRig) {
			// The waste is really 28 % DS; the recipe says 20, so the
			// feed-forward gives 1.0 kg/s where 1.8 is needed.
			r.startDosing()
			r.run(2 * time.Hour)
			if ds := r.in.DS.Value; math.Abs(ds-10) > 0.1 {
				t.Errorf("DS %g %% after 2 h, want 10 ± 0.1 (feed-forward %g, trim %g)", ds, r.out.FeedForward, r.out.Trim)
			}
			if math.Abs(r.out.WaterFlowSP-1.8) > 0.05 {
				t.Errorf("water %g kg/s at steady state, want ≈ 1.8", r.out.WaterFlowSP)
			}
		}},
		{"max water ratio limits the feed-forward", func(p *PulperParams) { p.MaxWaterRatio = 0.5 }, func(t *testing.T, r *pulperRig) {
			r.p.dsFeedPct, r.p.dryKg = 10, 100 // already on target: no trim
			r.startDosing()
			if r.out.FeedForward != 0.5 {
				t.Errorf("feed-forward %g, want 1 kg/s · 0.5 = 0.5", r.out.FeedForward)
			}
		}},
		{"flow clamped to the valve maximum", nil, func(t *testing.T, r *pulperRig) {
			r.p.feedKgps = 10 // ff 18 kg/s, valve max 5
			r.startDosing()
			r.run(10 * time.Minute)
			if r.out.WaterFlowSP != 5 {
				t.Errorf("water %g kg/s, want clamped to 5", r.out.WaterFlowSP)
			}
		}},
		{"HH shuts the water and stops the feed", nil, func(t *testing.T, r *pulperRig) {
			r.startDosing()
			r.p.levelPct = 96
			r.run(scan)
			if r.out.WaterValve || !r.out.StopFeed || r.u.LevelState() != LevelHighHigh {
				t.Fatalf("at 96 %%: valve %v StopFeed %v level %s, want shut, stop feed, high_high", r.out.WaterValve, r.out.StopFeed, r.u.LevelState())
			}
			if got := r.u.DilutionReason(); !strings.Contains(got, "high-high") {
				t.Errorf("dilution reason = %q", got)
			}
			if r.out.Mixer.Run != true {
				t.Error("mixer stopped at HH; it should keep mixing")
			}
			r.p.levelPct = 94 // within the 2 % hysteresis
			r.run(scan)
			if !r.out.StopFeed {
				t.Error("feed released within the hysteresis band")
			}
			r.p.levelPct = 92
			r.run(scan)
			if r.out.StopFeed || !r.out.WaterValve {
				t.Errorf("at 92 %%: StopFeed %v valve %v, want feed released and dosing again", r.out.StopFeed, r.out.WaterValve)
			}
		}},
		{"DS analyser lost: feed-forward alone, with the reason", nil, func(t *testing.T, r *pulperRig) {
			r.startDosing()
			r.p.dsQ = drivers.QualityBadCommFailure
			r.run(scan)
			if !r.out.WaterValve || !r.u.Dosing() || r.out.Trim != 0 || r.out.WaterFlowSP != r.out.FeedForward || r.out.FeedForward <= 0 {
				t.Fatalf("analyser bad: valve %v dosing %v flow %g ff %g trim %g; want the feed-forward alone", r.out.WaterValve, r.u.Dosing(), r.out.WaterFlowSP, r.out.FeedForward, r.out.Trim)
			}
			if got := r.u.DilutionReason(); got != "feed-forward only: input ds is bad:comm_failure" {
				t.Errorf("dilution reason = %q", got)
			}
			if !r.out.Mixer.Run {
				t.Error("mixer stopped for an analyser loss")
			}
		}},
		{"mixer refuses to start below its minimum level", nil, func(t *testing.T, r *pulperRig) {
			r.p.levelPct = 10
			r.run(scan)
			err := r.u.Start()
			if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "below the minimum of 20.0 %") {
				t.Fatalf("Start at 10 %% = %v, want refusal naming the minimum", err)
			}
		}},
		{"mixer stops when the level falls below its minimum and does not restart", nil, func(t *testing.T, r *pulperRig) {
			r.startDosing()
			r.p.levelPct = 19 // within hysteresis: keeps running
			r.run(time.Second)
			if !r.out.Mixer.Run {
				t.Fatal("mixer stopped within the hysteresis band")
			}
			r.p.levelPct = 17
			r.run(time.Second)
			if r.out.Mixer.Run || r.out.WaterValve {
				t.Fatal("mixer or water on below the minimum level")
			}
			if got := r.u.Reason(); !strings.HasPrefix(got, "level 17.0 % is below the minimum of 20.0 %") {
				t.Errorf("reason = %q", got)
			}
			r.p.levelPct = 50
			r.run(time.Minute)
			if r.out.Mixer.Run {
				t.Fatal("mixer restarted by itself when the level came back")
			}
		}},
		{"level lost: feed stop, water off, mixer off", nil, func(t *testing.T, r *pulperRig) {
			r.startDosing()
			r.p.levelQ = drivers.QualityUncertainStale
			r.run(scan)
			if !r.out.StopFeed || r.out.WaterValve || r.out.Mixer.Run {
				t.Fatalf("with the level stale: %+v", r.out)
			}
		}},
		{"dilution off by default", nil, func(t *testing.T, r *pulperRig) {
			if err := r.u.Start(); err != nil {
				t.Fatal(err)
			}
			r.run(time.Minute)
			if r.out.WaterValve || r.u.DilutionReason() != "dilution is off" {
				t.Errorf("valve %v reason %q", r.out.WaterValve, r.u.DilutionReason())
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testPulperParams()
			if c.params != nil {
				c.params(&p)
			}
			c.run(t, newPulperRig(t, testPulperConfig(), p))
		})
	}
}

func TestPulperConfigChecked(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*PulperConfig)
		p    func(*PulperParams)
	}{
		{"no water max", func(c *PulperConfig) { c.MaxWaterFlow = 0 }, nil},
		{"reverse-acting DS loop", func(c *PulperConfig) { c.DilutionPI = PIDConfig{Kp: 1} }, nil},
		{"thresholds out of order", func(c *PulperConfig) { c.Tank.HighPct = 99 }, nil},
		{"zero DS target", nil, func(p *PulperParams) { p.DSTargetPct = 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, p := testPulperConfig(), testPulperParams()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			if c.p != nil {
				c.p(&p)
			}
			if _, err := NewPulper(cfg, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("NewPulper = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestPulperTrimHeldBelowTheAnalysersLevel(t *testing.T) {
	cfg := testPulperConfig()
	cfg.TrimMinLevelPct = 30
	r := newPulperRig(t, cfg, testPulperParams())
	r.startDosing()
	r.p.levelPct = 25
	r.run(scan)
	if !r.out.WaterValve || r.out.Trim != 0 || r.out.WaterFlowSP != r.out.FeedForward {
		t.Fatalf("at 25 %%: valve %v flow %g ff %g trim %g; want the feed-forward alone", r.out.WaterValve, r.out.WaterFlowSP, r.out.FeedForward, r.out.Trim)
	}
	if got := r.u.DilutionReason(); !strings.HasPrefix(got, "feed-forward only: ") {
		t.Errorf("dilution reason = %q", got)
	}
	r.p.levelPct = 50
	r.run(scan)
	if r.u.DilutionReason() != "" {
		t.Errorf("at 50 %%: dilution reason %q, want the trim back", r.u.DilutionReason())
	}
}
