package physics

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// The depackager: a motor-driven separator (hammers or paddles in a
// screen, on a VFD) with a hold-up. What the units upstream deliver waits
// in the hold-up; it processes it at most at depackMaxKgPerS·speed/100 and
// sends the packaging, a class-dependent fraction (ClassProperties'
// PackagingFraction, drawn afresh for every depackLoadKg processed within
// PackagingMin–PackagingMax), to a reject bin on a load cell, the rest
// downstream. Without a speed set-point mapped it runs at 100 %.

func init() {
	registerKind(KindDepackager, kindDef{
		build: func(b unitBase) unitModel {
			h := fnv.New64a()
			h.Write([]byte("depackager:" + b.name))
			return &depackager{
				unitBase: b,
				rng:      rand.New(rand.NewPCG(uint64(b.l.seed), h.Sum64())),
				motor:    drive{fla: depackFLA, rampRPMps: 20, maxRPM: 100, speedSP: 100},
			}
		},
		noiseOrder: 4,
	})
}

// Depackager constants (est.): a small line's separator, sized above two
// feeders at full speed.
const (
	depackMaxKgPerS      = 3.0  // kg/s at 100 % speed
	depackRatedKW        = 30.0 // shaft power at full load
	depackFLA            = 55.0 // A, 30 kW at 400 V
	depackKWhPerT        = 1.5  // specific energy
	depackLoadKg         = 500  // kg processed with one draw of the reject fraction
	depackSpread         = 0.2  // relative standard deviation of a load's fraction
	depackIdleLoad       = 0.1  // load of the rotor turning empty
	depackRejectDSFactor = 1.0  // rejects carry the stream's DS (packaging with food stuck to it)
)

type depackager struct {
	unitBase
	rng         *rand.Rand // the reject fraction and the reject bin's load cell
	motor       drive
	holdup      compartment
	kgPerS      float64
	load        float64
	fraction    float64    // reject fraction of the current load
	fracClass   WasteClass // the class it was drawn for
	loadLeftKg  float64    // kg to process until the next draw
	rejects     compartment
	rejectNoise float64
	outLost     massDry
}

func (p *depackager) drv() *drive { return &p.motor }

func (p *depackager) receive(m, d float64) {
	p.holdup.mass += m
	p.holdup.dry += d
}

func (p *depackager) mass() (held, in, out massDry) {
	return massDry{p.holdup.mass, p.holdup.dry}, massDry{}, massDry{p.rejects.mass + p.outLost.m, p.rejects.dry + p.outLost.d}
}

func (p *depackager) drives(h float64) { p.motor.updateRunning(h, p.l.estopOK, 1) }

// drawFraction draws the reject fraction of the next load.
func (p *depackager) drawFraction() {
	props := p.l.props
	f := props.PackagingFraction * (1 + depackSpread*p.rng.NormFloat64())
	p.fraction = clamp(f, props.PackagingMin, props.PackagingMax)
	p.fracClass = p.l.class
	p.loadLeftKg = depackLoadKg
}

func (p *depackager) flow(h float64) {
	p.kgPerS = 0
	if p.motor.speedRPM > 0 {
		capacity := depackMaxKgPerS * p.motor.speedRPM / 100
		m, d := take(&p.holdup.mass, &p.holdup.dry, capacity*h)
		if m > 0 {
			if p.fracClass != p.l.class || p.loadLeftKg <= 0 {
				p.drawFraction()
			}
			p.loadLeftKg -= m
			rm := m * p.fraction
			rd := math.Min(d, rm*depackRejectDSFactor*d/m)
			p.rejects.mass += rm
			p.rejects.dry += rd
			om, od := p.deliver(m-rm, d-rd)
			p.outLost.m += om
			p.outLost.d += od
		}
		p.kgPerS = m / h
	}
	p.load = 0
	if p.motor.running {
		p.load = depackIdleLoad + p.kgPerS*depackKWhPerT*3.6/depackRatedKW
	}
}

func (p *depackager) meters(h float64) {
	p.motor.updateCurrent(h, p.l.k.current, p.l.k.cool, p.load)
}

func (p *depackager) noise() { p.rejectNoise = p.rng.NormFloat64() * loadCellNoiseKg }

func (p *depackager) vars() []variable {
	return append(driveVars(&p.motor),
		meas("rejects_weight", func() float64 { return p.rejects.mass + p.rejectNoise }),
		intern("rejects_total", func() float64 { return p.rejects.mass }),
		intern("rejects_dry_mass", func() float64 { return p.rejects.dry }),
		intern("holdup", func() float64 { return p.holdup.mass }),
		intern("holdup_dry", func() float64 { return p.holdup.dry }),
		intern("throughput", func() float64 { return p.kgPerS }),
		intern("load", func() float64 { return p.load }),
		intern("reject_fraction", func() float64 { return p.fraction }),
	)
}

// DepackagerRejectFraction returns the reject fraction the depackager
// named unit applies to the load it is processing (0 before its first).
func (l *Line) DepackagerRejectFraction(unit string) (float64, error) {
	u, ok := l.unit(unit, KindDepackager)
	if !ok {
		return 0, fmt.Errorf("unit %q is not a depackager; allowed: %s", unit, l.namesOf(KindDepackager))
	}
	return u.(*depackager).fraction, nil
}
