// Package linetest holds test doubles for the line's logic: crude
// processes of the shipped plants that follow the line's outputs, for
// tests of the line (controller/line) and of the engine (controller) with
// a fake clock. Test doubles live here, never in production code.
package linetest

import (
	"math"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// SamplePlant is a crude process of the sample plant for logic tests: motors follow their run
// command after a delay, the door fills the hopper, the feeder empties it
// into the pulper, water adds to the pulper and the press drains it.
type SamplePlant struct {
	V        map[string]float64
	Bad      map[string]drivers.Quality
	RunSince map[string]time.Duration
	NoStart  map[string]bool
	Dry      float64 // kg of dry solids in the pulper
	WasteDS  float64 // % DS of the waste fed
	Tank     float64 // kg in the filtrate tank (TankKg full)
	PumpKgS  float64 // filtrate pump flow
	PressKgS float64 // press slurry flow while running
	Pumped   float64 // kg pumped on
	DryRunS  float64 // s the pump ran with the tank below 2 %
}

// TankKg is the fake filtrate tank's content at 100 %.
const TankKg = 500.0

// NewSamplePlant returns the process at rest with the e-stop healthy.
func NewSamplePlant() *SamplePlant {
	return &SamplePlant{V: map[string]float64{"line.estop_ok": 1}, Bad: map[string]drivers.Quality{}, RunSince: map[string]time.Duration{}, NoStart: map[string]bool{}, WasteDS: 28, PumpKgS: 6, PressKgS: 4}
}

// Get gives the scan a tag's value and quality (Bad overrides it).
func (p *SamplePlant) Get(tag string) (float64, drivers.Quality) {
	if q, ok := p.Bad[tag]; ok {
		return p.V[tag], q
	}
	return p.V[tag], drivers.QualityGood
}

// Motors are the sample line's sequenced motors: run command and running
// feedback.
var Motors = [][2]string{{"press.run_cmd", "press.running"}, {"pulper.mixer_cmd", "pulper.mixer_running"}, {"shredder.run_cmd", "shredder.running"}, {"feeder.run_cmd", "feeder.running"}}

// Step applies the line's outputs and advances the process by dt.
func (p *SamplePlant) Step(out map[string]float64, dt time.Duration) {
	for k, v := range out {
		p.V[k] = v
	}
	s := dt.Seconds()
	for _, m := range append(Motors[:len(Motors):len(Motors)], [2]string{"filtrate.pump_cmd", "filtrate.pump_running"}, [2]string{"press_feed.run_cmd", "press_feed.running"}) {
		if p.V[m[0]] >= 0.5 && !p.NoStart[m[0]] {
			p.RunSince[m[0]] += dt
			if p.RunSince[m[0]] >= time.Second {
				p.V[m[1]] = 1
			}
		} else {
			p.RunSince[m[0]], p.V[m[1]] = 0, 0
		}
	}
	if p.V["reception.door_cmd"] >= 0.5 {
		p.V["hopper.weight"] += 5 * s
	}
	pulperMass := p.V["pulper.level"] * 40
	if p.V["feeder.running"] >= 0.5 && p.V["shredder.running"] >= 0.5 {
		f := math.Min(p.V["hopper.weight"], 1.6*s)
		p.V["hopper.weight"] -= f
		pulperMass += f * 0.99
		p.Dry += f * 0.99 * p.WasteDS / 100
		p.V["rejects.weight"] += f * 0.01 // the screen takes 1 %
	}
	if p.V["pulper.water_cmd"] >= 0.5 {
		w := p.V["pulper.water_flow_sp"] * s
		p.V["pulper.water_total"] += w
		pulperMass += w
	}
	fill := 0.0
	if p.V["press.running"] >= 0.5 && p.V["press_feed.running"] >= 0.5 && pulperMass > 0 {
		// The feed pump delivers 8 kg/s at 100 %; the press takes up to
		// its capacity of it.
		d := math.Min(pulperMass, math.Min(p.PressKgS, 8*p.V["press_feed.speed_sp"]/100)*s)
		fill = d / (p.PressKgS * s)
		p.Dry -= p.Dry * d / pulperMass
		pulperMass -= d
		p.V["cake_bin.weight"] += d * 0.3
		p.V["filtrate.total"] += d * 0.7
		p.Tank += d * 0.7
	}
	// The cone: back-pressure follows the valve (0.075 bar/%, more when
	// the press is full) with a 2 s lag.
	bpTarget := 0.075 * p.V["press.cone_valve"] * (0.7 + 0.3*fill)
	p.V["press.back_pressure"] += (bpTarget - p.V["press.back_pressure"]) * (1 - math.Exp(-s/2))
	// The cake analyser: about 2.8 % DS per bar, 30 % at 3 bar.
	p.V["press.cake_ds"] = 30 + 2.8*(p.V["press.back_pressure"]-3)
	if p.V["filtrate.pump_running"] >= 0.5 {
		if p.Tank < 0.02*TankKg {
			p.DryRunS += s
		}
		out := math.Min(p.Tank, p.PumpKgS*s)
		p.Tank -= out
		p.Pumped += out
	}
	p.V["filtrate.level"] = p.Tank / TankKg * 100
	p.V["pulper.level"] = pulperMass / 40
	p.V["pulper.ds"] = 0
	if pulperMass > 0 {
		p.V["pulper.ds"] = p.Dry / pulperMass * 100
	}
}
