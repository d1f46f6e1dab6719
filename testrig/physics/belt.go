package physics

import (
	"fmt"
	"math"
)

// The belt conveyor: a belt on a VFD that carries what the units upstream
// deliver (or draws from a store upstream at what it can carry) to the
// unit downstream. The belt is beltCells sections in series: each
// substep a section passes on the share of its load that the belt moves
// out of it (belt speed over section length), at most beltMaxLoadKgPerM
// times the belt speed, so material takes about length/speed to cross and
// a slow belt carries less. A pull cord along it stops the drive at once;
// the drive stays off until the cord is reset and the run command comes
// back. A slipping belt (SetBeltSlip) runs slower than its drive.

func init() {
	registerKind(KindBeltConveyor, kindDef{
		build: func(b unitBase) unitModel {
			return &belt{unitBase: b, pullCordOK: true, slip: 1,
				motor: drive{fla: beltFLA, rampRPMps: 50, maxRPM: 100, speedSP: 100}}
		},
	})
}

// Belt conveyor constants (est.).
const (
	beltMaxMPS        = 1.0  // m/s at 100 % speed
	beltLengthM       = 12.0 // m
	beltMaxLoadKgPerM = 4.0  // kg per metre of belt it can carry
	beltCells         = 6    // sections of the transport model
	beltFLA           = 9.0  // A, 4 kW at 400 V
	beltIdleLoad      = 0.3  // load of the empty belt
)

type belt struct {
	unitBase
	motor      drive
	src        *compartment // a store it draws from, or nil
	cells      [beltCells]compartment
	pullCordOK bool
	slip       float64 // the belt's speed over the drive's, 1 without slip
	kgPerS     float64 // delivered in the last substep
	load       float64
	outLost    massDry
}

func (b *belt) drv() *drive { return &b.motor }

func (b *belt) link() error {
	for _, u := range b.up {
		if s, ok := u.(store); ok {
			if len(b.up) != 1 {
				return fmt.Errorf("draws from the store %q, and so may have no other feeder", u.base().name)
			}
			b.src = s.contents()
		}
	}
	return nil
}

func (b *belt) receive(m, d float64) {
	b.cells[0].mass += m
	b.cells[0].dry += d
}

func (b *belt) held() massDry {
	var h massDry
	for _, c := range b.cells {
		h.m += c.mass
		h.d += c.dry
	}
	return h
}

func (b *belt) mass() (held, in, out massDry) { return b.held(), massDry{}, b.outLost }

// beltSpeed is the belt's speed in m/s.
func (b *belt) beltSpeed() float64 {
	return math.Max(0, b.motor.speedRPM) / 100 * beltMaxMPS * b.slip
}

func (b *belt) drives(h float64) {
	b.motor.updateRunning(h, b.l.estopOK && b.pullCordOK, 1)
}

func (b *belt) flow(h float64) {
	v := b.beltSpeed()
	b.kgPerS = 0
	if v > 0 {
		most := beltMaxLoadKgPerM * v * h
		share := math.Min(1, v*h*beltCells/beltLengthM)
		for i := beltCells - 1; i >= 0; i-- {
			c := &b.cells[i]
			m, d := take(&c.mass, &c.dry, math.Min(c.mass*share, most))
			if i == beltCells-1 {
				om, od := b.deliver(m, d)
				b.outLost.m += om
				b.outLost.d += od
				b.kgPerS = m / h
			} else {
				b.cells[i+1].mass += m
				b.cells[i+1].dry += d
			}
		}
		if b.src != nil {
			m, d := take(&b.src.mass, &b.src.dry, most)
			b.receive(m, d)
		}
	}
	b.load = 0
	if b.motor.running {
		b.load = beltIdleLoad + (1-beltIdleLoad)*math.Min(1, b.held().m/(beltMaxLoadKgPerM*beltLengthM))
	}
}

func (b *belt) meters(h float64) { b.motor.updateCurrent(h, b.l.k.current, b.l.k.cool, b.load) }

// beltSpeedPct is the belt's speed in % of its nominal speed (beltMaxMPS),
// as a belt-speed monitor on the tail pulley reports it.
func (b *belt) beltSpeedPct() float64 { return 100 * b.beltSpeed() / beltMaxMPS }

func (b *belt) vars() []variable {
	return append(driveVars(&b.motor),
		meas("belt_speed", b.beltSpeedPct),
		meas("pull_cord_ok", func() float64 { return b2f(b.pullCordOK) }),
		intern("holdup", func() float64 { return b.held().m }),
		intern("holdup_dry", func() float64 { return b.held().d }),
		intern("throughput", func() float64 { return b.kgPerS }),
	)
}

func (l *Line) beltNamed(unit string) (*belt, error) {
	u, ok := l.unit(unit, KindBeltConveyor)
	if !ok {
		return nil, fmt.Errorf("unit %q is not a belt conveyor; allowed: %s", unit, l.namesOf(KindBeltConveyor))
	}
	return u.(*belt), nil
}

// SetBeltSlip makes the belt of the conveyor named unit slip on its drive
// pulley: the drive runs as commanded but the belt moves at fraction
// (0..1) of its speed and carries that much less. 1 ends the slip.
func (l *Line) SetBeltSlip(unit string, fraction float64) error {
	b, err := l.beltNamed(unit)
	if err != nil {
		return err
	}
	if math.IsNaN(fraction) {
		fraction = 1
	}
	b.slip = clamp(fraction, 0, 1)
	return nil
}

// SetPullCord pulls (true) or resets a pull cord along the conveyor named
// unit. Pulled, the drive stops at once and pull_cord_ok reads 0; after
// the reset the run command must drop and come back.
func (l *Line) SetPullCord(unit string, pulled bool) error {
	b, err := l.beltNamed(unit)
	if err != nil {
		return err
	}
	b.pullCordOK = !pulled
	if pulled {
		d := &b.motor
		if d.runCmd {
			d.inhibit = true
		}
		d.running, d.startTimer, d.speedRPM, d.coasting = false, 0, 0, false
	}
	return nil
}
