package physics

import "math"

// The shredder: a low-speed twin-shaft shear shredder on a VFD. What its
// feeders deliver waits in its hold-up; the shafts cut it at most at
// capacity (shredderKgPerSPerRPM·speed·hardness) while they turn forwards
// and nothing is jammed, and send it on. Unless a depackager further down
// does the separating, a reject screen under it sends the class's
// RejectFraction to a reject bin on a load cell. Hard objects arrive with
// the waste and jam it; reversals free jams; the guard circuit stops it
// and its feeders.

func init() {
	registerKind(KindShredder, kindDef{
		build: func(b unitBase) unitModel {
			return &shredder{unitBase: b, guardClosed: true, motor: drive{
				fla: shredderFLA, rampRPMps: 20, maxRPM: 70, inrush: true, reversible: true,
			}}
		},
		legacyNames: []string{"shredder"},
		noiseOrder:  3,
	})
}

type shredder struct {
	unitBase
	motor           drive
	guardClosed     bool
	screen          bool        // a reject screen under it (no depackager downstream)
	holdup          compartment // kg inside the shredder
	kgPerS          float64
	load            float64 // fraction of rated torque
	rejects         compartment
	rejectNoise     float64 // kg, current error of the reject bin's load cell
	toNextObjectKg  float64 // kg to shred until the next hard object
	ownRate         float64 // hard objects per tonne for this shredder alone (SetHardObjectRateOn); 0: the line's
	hardObjects     int     // arrived since New (random and injected)
	jam             jamState
	jamFrac         float64 // torque build-up of a jam in this substep, 0..1
	reverseS        float64 // s the shafts have turned backwards in this reversal
	reversalCounted bool
	reversals       int
	outLost         massDry // shredded with nothing downstream: left the line
}

// jamState is a hard object caught between the shredder's shafts.
type jamState struct {
	active bool
	rampS  float64 // s from torque building up to stall
	t      float64 // s of torque build-up while turning forward
	load0  float64 // load when the torque began to build
	// reversalsToClear > 0 frees the jam on that many-th reversal (an
	// injected jam); 0 draws each reversal's outcome at random.
	reversalsToClear int
}

func (s *shredder) link() error {
	s.screen = downstreamOf(s, KindDepackager) == nil
	return nil
}

func (s *shredder) receive(m, d float64) {
	s.holdup.mass += m
	s.holdup.dry += d
}

func (s *shredder) mass() (held, in, out massDry) {
	return massDry{s.holdup.mass, s.holdup.dry}, massDry{}, massDry{s.rejects.mass + s.outLost.m, s.rejects.dry + s.outLost.d}
}

// drives: a jam builds torque only while the shafts are driven forwards;
// the shafts slow to a stall as it does. The guard circuit and the e-stop
// stop the drive.
func (s *shredder) drives(h float64) {
	s.jamFrac = 0
	forwardCmd := s.motor.running && !s.motor.reverseCmd
	if s.jam.active && forwardCmd {
		s.jam.t += h
		s.jamFrac = math.Min(1, s.jam.t/s.jam.rampS)
	} else if s.jam.active {
		s.jam.t, s.jam.load0 = 0, 0
	}
	s.motor.updateRunning(h, s.l.estopOK && s.guardClosed, 1-s.jamFrac)
}

// flow: hold-up to the screen at most at capacity, only while the shafts
// turn forwards and nothing is jammed; the screen sends the reject
// fraction to the reject bin, the rest downstream.
func (s *shredder) flow(h float64) {
	props := &s.l.props
	s.kgPerS = 0
	if s.motor.speedRPM > 0 && !s.jam.active {
		capacity := shredderKgPerSPerRPM * s.motor.speedRPM * props.HardnessFactor
		m, d := take(&s.holdup.mass, &s.holdup.dry, capacity*h)
		s.kgPerS = m / h
		var rm, rd float64
		if s.screen {
			rm, rd = m*props.RejectFraction, d*props.RejectFraction
		}
		s.rejects.mass += rm
		s.rejects.dry += rd
		om, od := s.deliver(m-rm, d-rd)
		s.outLost.m += om
		s.outLost.d += od
		s.hardObjectsIn(m)
	}
	s.reversal(h)
	switch {
	case s.jam.active && s.jamFrac > 0:
		s.load = s.jam.load0 + (stallLoad-s.jam.load0)*s.jamFrac
	case s.motor.speedRPM < 0 && s.jam.active:
		s.load = reverseJammedLoad
	case s.motor.speedRPM < 0:
		s.load = reverseLoad
	default:
		s.load = s.kgPerS * props.SpecificEnergyKWhPerT * 3.6 / shredderRatedKW
	}
}

// meters: a jam's torque shows in the current at once; the process load
// is smoothed by the material.
func (s *shredder) meters(h float64) {
	decay := s.l.k.current
	if s.jam.active && s.jamFrac > 0 {
		decay = s.l.k.jamCurrent
	}
	s.motor.updateCurrent(h, decay, s.l.k.cool, s.load)
}

func (s *shredder) noise() { s.rejectNoise = s.l.rejectRng.NormFloat64() * loadCellNoiseKg }

// hardObjectsIn advances the hard-object clock by m kg shredded and jams the
// shredder when the next object arrives. Objects arrive as a Poisson process
// in shredded mass, so how many a batch brings depends on the seed and the
// mass, not on how fast or in what steps it is shredded.
func (s *shredder) hardObjectsIn(m float64) {
	if m <= 0 || s.rate() <= 0 {
		return
	}
	s.toNextObjectKg -= m
	if s.toNextObjectKg > 0 {
		return
	}
	s.drawNextObject()
	s.startJam(0)
}

// drawNextObject draws the mass to shred until the next hard object.
func (s *shredder) drawNextObject() {
	if s.rate() <= 0 {
		s.toNextObjectKg = math.Inf(1)
		return
	}
	s.toNextObjectKg = s.l.jamRng.ExpFloat64() * 1000 / s.rate()
}

// rate is the hard objects per tonne in force for this shredder.
func (s *shredder) rate() float64 {
	if s.ownRate > 0 {
		return s.ownRate
	}
	return s.l.hardObjectRate
}

// startJam jams the shredder: the torque builds to stall over a time drawn
// from 0.2–1 s while the shafts are driven forwards.
func (s *shredder) startJam(reversalsToClear int) {
	s.hardObjects++
	if s.jam.active {
		return // a second object in a jammed shredder changes nothing
	}
	s.jam = jamState{
		active:           true,
		rampS:            jamRampMinS + (jamRampMaxS-jamRampMinS)*s.l.jamRng.Float64(),
		load0:            s.load,
		reversalsToClear: reversalsToClear,
	}
}

// reversal counts a reversal once the shafts have turned backwards for
// reverseClearS and, if the shredder is jammed, decides whether this
// reversal freed it.
func (s *shredder) reversal(h float64) {
	if s.motor.speedRPM >= 0 {
		s.reverseS, s.reversalCounted = 0, false
		return
	}
	s.reverseS += h
	if s.reversalCounted || s.reverseS < reverseClearS-1e-9 {
		return
	}
	s.reversalCounted = true
	s.reversals++
	if !s.jam.active {
		return
	}
	if s.jam.reversalsToClear > 0 {
		s.jam.reversalsToClear--
		if s.jam.reversalsToClear == 0 {
			s.jam = jamState{}
		}
		return
	}
	if s.l.jamRng.Float64() < reverseClearProb {
		s.jam = jamState{}
	}
}

func (s *shredder) vars() []variable {
	d := &s.motor
	return append(driveVars(d),
		param("reverse_cmd", func() float64 { return b2f(d.reverseCmd) }, func(v float64) { d.reverseCmd = v != 0 }),
		meas("direction", func() float64 { return sign(d.speedRPM) }),
		meas("torque", func() float64 { return b2f(d.running) * 100 * s.load }),
		meas("jammed", func() float64 { return b2f(s.jam.active) }),
		meas("reversals", func() float64 { return float64(s.reversals) }),
		meas("guard_closed", func() float64 { return b2f(s.guardClosed) }),
		meas("rejects_weight", func() float64 { return s.rejects.mass + s.rejectNoise }).as("rejects.weight"),
		intern("holdup", func() float64 { return s.holdup.mass }),
		intern("holdup_dry", func() float64 { return s.holdup.dry }),
		intern("throughput", func() float64 { return s.kgPerS }),
		intern("load", func() float64 { return s.load }),
		intern("hard_objects", func() float64 { return float64(s.hardObjects) }),
		intern("overload_i2t", func() float64 { return d.heat }),
		intern("rejects_total", func() float64 { return s.rejects.mass }).as("rejects.total"),
		intern("rejects_dry_mass", func() float64 { return s.rejects.dry }).as("rejects.dry_mass"),
	)
}

func (s *shredder) drv() *drive { return &s.motor }
