package line

import (
	"fmt"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
)

// Default pulper level thresholds (% of span) for a plant file that gives
// none: the sample's values.
var defaultPulperLevels = map[string]float64{plant.LevelLowLow: 5, plant.LevelLow: 10, plant.LevelHigh: 85, plant.LevelHighHigh: 90}

// lineDilutionPI is the DS trim on the line: kg/s of water per % DS above
// target. Adding w kg/s to a pulper of M kg at DS % lowers it by DS·w/M %/s
// (0.01 %/s per kg/s at 10 % and 1,000 kg), so Kp = 2 gives a time
// constant near 50 s and Ti = 100 s removes a lasting error in the
// recipe's expected DS within a few minutes (est.).
// MaxStep covers a scan of up to 5 s of plant time (a simulated plant run
// at 20× scans every 2 s).
var lineDilutionPI = equipment.PIDConfig{Kp: 2, Ki: 0.02, Action: equipment.DirectActing, MaxStep: 5 * time.Second}

// Feed-rate estimate: the waste fed (hopper weight fallen since the end of
// receiving) is sampled at most once a second; the rate is taken over the
// oldest sample at most feedWindow old.
const (
	feedSampleEvery = time.Second
	feedWindow      = 15 * time.Second
)

// fedSample is the waste fed so far at one instant.
type fedSample struct {
	t  time.Time
	kg float64
}

// pulperControl connects the pulper's equipment module to the line: the
// mixer (run, running confirmation, feedback lost), the level (high-high
// shuts the water and pauses the feed) and the dilution water: a
// feed-forward in ratio to the waste being fed, trimmed by a PI loop on the
// DS analyser.
type pulperControl struct {
	mod                         *equipment.Pulper
	runningTag, levelTag, dsTag string
	trimMinLevel                float64
	wasActive                   bool

	fed        [16]fedSample // ring of recent fed totals
	head, nFed int
}

func newPulperControl(cfg *plant.File) (*pulperControl, error) {
	u := cfg.Unit(plant.KindPulper)
	lv := u.Levels
	if len(lv) == 0 {
		lv = defaultPulperLevels
	}
	maxFlow := 20.0
	if lim, ok := u.Limits["water_flow_sp"]; ok {
		maxFlow = lim[1]
	}
	if maxFlow <= 0 {
		return nil, fmt.Errorf("pulper %s: its water_flow_sp limit allows no water (max %g kg/s)", u.Name, maxFlow)
	}
	pc := equipment.PulperConfig{
		Mixer: equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime},
		Tank: equipment.TankConfig{Name: u.Name, LowLowPct: lv[plant.LevelLowLow], LowPct: lv[plant.LevelLow],
			HighPct: lv[plant.LevelHigh], HighHighPct: lv[plant.LevelHighHigh]},
		MaxWaterFlow: maxFlow,
		DilutionPI:   lineDilutionPI,
		// Below low-low the analyser reads the first, undiluted waste (or
		// nothing): the trim waits for the slurry.
		TrimMinLevelPct: lv[plant.LevelLowLow],
	}
	mod, err := equipment.NewPulper(pc, equipment.PulperParams{DSTargetPct: 10, DSInPct: 28, MaxWaterRatio: 8})
	if err != nil {
		return nil, fmt.Errorf("pulper %s: %w", u.Name, err)
	}
	return &pulperControl{mod: mod, runningTag: u.Signals["running"], levelTag: u.Signals["level"], dsTag: u.Signals["ds"],
		trimMinLevel: pc.TrimMinLevelPct}, nil
}

// resetFeed forgets the fed history (a new batch, a restart).
func (p *pulperControl) resetFeed() { p.head, p.nFed = 0, 0 }

// feedRate records the waste fed so far and returns the feed rate in kg/s
// over the last feedWindow (0 until two samples a few seconds apart exist).
func (p *pulperControl) feedRate(now time.Time, fedKg float64) float64 {
	n := len(p.fed)
	if p.nFed == 0 || now.Sub(p.fed[(p.head+n-1)%n].t) >= feedSampleEvery {
		p.fed[p.head] = fedSample{now, fedKg}
		p.head = (p.head + 1) % n
		p.nFed = min(p.nFed+1, n)
	}
	for i := p.nFed; i > 0; i-- { // oldest first
		s := p.fed[(p.head+n-i)%n]
		if dt := now.Sub(s.t); dt <= feedWindow && dt >= 2*feedSampleEvery {
			return max(0, (fedKg-s.kg)/dt.Seconds())
		}
	}
	return 0
}

// analyser returns the analyser's DS, whether it is good, and whether the
// level is above the probe's minimum (the reading is of the slurry).
func (p *pulperControl) analyser(in Inputs) (ds float64, good, immersed bool) {
	if p.dsTag == "" {
		return 0, false, false
	}
	ds, q := in.Get(p.dsTag)
	lv, lq := in.Get(p.levelTag)
	return ds, q.Good(), lq.Good() && lv >= p.trimMinLevel
}

// pulperOut is what the pulper module commands for one scan.
type pulperOut struct {
	mixer, water bool
	flow         float64
	stopFeed     bool
	fault        string
}

// step runs the module for one scan. wantMixer is whether the sequence
// (after interlocks) wants the mixer running; dilute whether it wants
// dilution water, at feed rate feedRate kg/s; param gives the batch's
// values (nil without a batch).
func (p *pulperControl) step(now time.Time, in Inputs, wantMixer, dilute bool, feedRate float64, param func(string) float64) pulperOut {
	if param != nil {
		_ = p.mod.SetParams(equipment.PulperParamsFrom(param))
	}
	st := p.mod.State()
	switch {
	case wantMixer && st == equipment.Stopped:
		_ = p.mod.Start()
	case !wantMixer && st.Active():
		p.mod.Stop()
	}
	if dilute {
		p.mod.SetDilution(equipment.DilutionAuto)
	} else {
		p.mod.SetDilution(equipment.DilutionOff)
	}
	var pin equipment.PulperInputs
	if in != nil {
		v, q := in.Get(p.runningTag)
		pin.Mixer.Running = equipment.Digital{On: v >= 0.5, Quality: q}
		l, lq := in.Get(p.levelTag)
		pin.Level = equipment.Analog{Value: l, Quality: lq}
		pin.DS = equipment.Analog{Quality: drivers.QualityBadConfigError}
		if p.dsTag != "" {
			d, dq := in.Get(p.dsTag)
			pin.DS = equipment.Analog{Value: d, Quality: dq}
		}
		pin.FeedRate = equipment.Analog{Value: feedRate, Quality: drivers.QualityGood}
	}
	o := p.mod.Step(now, pin)
	active := p.mod.State().Active()
	defer func() { p.wasActive = active }()
	out := pulperOut{mixer: o.Mixer.Run, water: o.WaterValve, flow: o.WaterFlowSP, stopFeed: o.StopFeed}
	switch {
	case p.mod.State() == equipment.Faulted:
		out.mixer, out.water, out.flow, out.fault = false, false, 0, "faulted: "+p.mod.Reason()
	case wantMixer && p.wasActive && !active:
		out.mixer, out.water, out.flow, out.fault = false, false, 0, "stopped: "+p.mod.Reason()
	}
	return out
}

// reset clears a latched mixer fault (the operator's unhold).
func (p *pulperControl) reset() error { return p.mod.Reset() }
