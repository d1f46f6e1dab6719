package physics

import (
	"errors"
	"math"
)

// The screw press: a dewatering screw on a VFD with a pneumatic cone. It
// draws slurry from the store upstream (a pulper), straight at its
// capacity or through a feed pump (PressFeedControl), and splits it by
// the solids balance into cake, which falls into its own bin on a load
// cell, and filtrate, which it sends to the units downstream (the filtrate
// tank) or, with none, out of the line. The cone holds its set-point or is
// a valve under the controller's PID (BackPressureControl).

func init() {
	registerKind(KindScrewPress, kindDef{
		build: func(b unitBase) unitModel {
			return &press{unitBase: b, motor: drive{fla: pressFLA, rampRPMps: 5, maxRPM: 50}}
		},
		legacyNames: []string{"press"},
		noiseOrder:  2,
	})
}

type press struct {
	unitBase
	src  *compartment // the slurry it draws
	feed *pump        // the feed pump it pulls through, or nil

	motor          drive
	backPressureBy BackPressureControl
	backPressureSP float64 // bar (BackPressureFromSetpoint)
	coneValve      float64 // % closed (BackPressureFromValve)
	backPressure   float64 // bar
	kgPerS         float64
	load           float64
	fill           float64 // throughput over capacity in the last substep, 0..1
	cakeDS         float64 // %
	filtrateDS     float64 // %
	cake           compartment
	cakeNoise      float64
	filtrate       massDry // kg of filtrate made
	outLost        massDry // filtrate with nothing downstream: left the line
}

func (p *press) link() error {
	if len(p.up) != 1 {
		return errors.New("needs exactly one unit feeding it: a pulper, or a pump drawing from one")
	}
	switch u := p.up[0].(type) {
	case *pump:
		p.feed = u
		p.src = u.src.contents()
	case store:
		p.src = u.contents()
	default:
		return errors.New("is fed by a pulper or tank, or by a pump drawing from one")
	}
	return nil
}

func (p *press) mass() (held, in, out massDry) {
	return massDry{}, massDry{}, massDry{p.cake.mass + p.outLost.m, p.cake.dry + p.outLost.d}
}

// drives: the screw's drive, and the back-pressure following its set-point
// whether or not the screw turns (or, under cone valve control, the valve
// and how full the screw ran in the last substep).
func (p *press) drives(h float64) {
	p.motor.updateRunning(h, p.l.estopOK, 1)
	p.backPressure = relax(p.backPressure, p.backPressureTarget(), p.l.k.backPressure)
}

// backPressureTarget is the pressure the cone's back-pressure relaxes
// towards: the setpoint, or under cone valve control what the valve
// position holds at the fill the screw ran at in the last substep.
func (p *press) backPressureTarget() float64 {
	if p.backPressureBy != BackPressureFromValve {
		return p.backPressureSP
	}
	return math.Min(coneMaxBar, coneBarPerPct*p.coneValve*(coneEmptyFactor+(1-coneEmptyFactor)*p.fill))
}

// capacity is the most slurry the screw takes, in kg/s, at its speed and
// back-pressure.
func (p *press) capacity() float64 {
	bp := math.Max(0, p.backPressure)
	return pressKgPerSPerRPM * p.motor.speedRPM * math.Max(0, 1-pressCapacityPerBar*bp)
}

// flow: the screw draws slurry at capacity, or what the feed pump
// delivers up to that, and splits it into cake and filtrate.
func (p *press) flow(h float64) {
	capacity := p.capacity()
	if p.feed != nil && p.feed.feedBy == PressFeedPump {
		p.step(h, capacity, p.feed.feed(h, capacity, p.motor.speedRPM)*h)
		p.feed.kgPerS = p.kgPerS
	} else {
		p.step(h, capacity, capacity*h)
	}
}

// step moves slurry through the screw for h seconds: it draws up to
// amount kg from its source (less if that holds less) into a screw of
// capacity kg/s and splits it into cake and filtrate.
func (p *press) step(h, capacity, amount float64) {
	bp := math.Max(0, p.backPressure)
	n := p.motor.speedRPM
	p.kgPerS = 0
	p.load = 0
	p.fill = 0
	if n <= 0 {
		return
	}
	dsIn := 0.0
	if p.src.mass > 0 {
		dsIn = p.src.dry / p.src.mass * 100
	}
	cakeDS := dsIn + (pressDSMax-dsIn)*(1-math.Exp(-pressA*bp))*math.Pow(pressRefRPM/math.Max(n, 0.1), pressB)
	cakeDS = math.Min(cakeDSCeiling, math.Max(dsIn, cakeDS))
	filtrateDS := math.Min(dsIn, dsIn*(0.25+0.05*bp))

	m, d := take(&p.src.mass, &p.src.dry, amount)
	if m > 0 {
		p.cakeDS = cakeDS
		p.filtrateDS = filtrateDS
		var mc, dc float64
		switch {
		case d <= 0 || dsIn <= 0:
			// Water only: all of it leaves as filtrate.
		case cakeDS <= dsIn+1e-9:
			// The slurry is already as dry as the press can make it.
			mc, dc = m, d
			p.filtrateDS = 0
		default:
			mc = m * (dsIn - filtrateDS) / (cakeDS - filtrateDS)
			dc = math.Min(d, mc*cakeDS/100)
		}
		p.cake.mass += mc
		p.cake.dry += dc
		fm, fd := m-mc, d-dc
		p.filtrate.m += fm
		p.filtrate.d += fd
		om, od := p.deliver(fm, fd)
		p.outLost.m += om
		p.outLost.d += od
	}
	p.kgPerS = m / h
	fill := 0.0
	if capacity > 0 {
		fill = p.kgPerS / capacity
	}
	p.load = 0.2 + (0.2+0.1*bp)*fill
	p.fill = fill
}

func (p *press) meters(h float64) { p.motor.updateCurrent(h, p.l.k.current, p.l.k.cool, p.load) }

func (p *press) noise() { p.cakeNoise = p.l.rng.NormFloat64() * loadCellNoiseKg }

// modeSwitches: mapping the cone valve on a writable point puts the cone
// under the controller's PID.
func (p *press) modeSwitches() map[string]func() {
	return map[string]func(){"cone_valve": func() { p.backPressureBy = BackPressureFromValve }}
}

func (p *press) vars() []variable {
	d := &p.motor
	return append(driveVars(d),
		param("back_pressure_sp", func() float64 { return p.backPressureSP }, func(v float64) { p.backPressureSP = clamp(v, 0, 7) }),
		param("cone_valve", func() float64 { return p.coneValve }, func(v float64) { p.coneValve = clamp(v, 0, 100) }),
		meas("back_pressure", func() float64 { return p.backPressure }),
		meas("cake_ds", func() float64 { return p.cakeDS }),
		meas("cake_weight", func() float64 { return p.cake.mass + p.cakeNoise }).as("cake_bin.weight"),
		intern("throughput", func() float64 { return p.kgPerS }),
		intern("load", func() float64 { return p.load }),
		intern("filtrate_ds", func() float64 { return p.filtrateDS }),
		intern("overload_i2t", func() float64 { return d.heat }).as("-"),
		intern("cake_total", func() float64 { return p.cake.mass }).as("cake.total"),
		intern("cake_dry_mass", func() float64 { return p.cake.dry }).as("cake.dry_mass"),
		intern("filtrate_total", func() float64 { return p.filtrate.m }).as("-"),
		intern("filtrate_dry_mass", func() float64 { return p.filtrate.d }).as("-"),
	)
}

func (p *press) drv() *drive { return &p.motor }
