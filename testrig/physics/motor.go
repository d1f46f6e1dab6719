package physics

import (
	"math"
	"math/rand/v2"
)

// drive is a motor with a VFD: run command, optional reverse, start delay,
// speed ramp, first-order current with inrush, an energy meter, an I²t
// overload relay, and injected VFD faults.
type drive struct {
	// configuration
	fla        float64 // A
	rampRPMps  float64 // rpm per second
	maxRPM     float64
	inrush     bool // direct-on-line style inrush spike on start
	reversible bool // reverseCmd turns it backwards

	// commands
	runCmd     bool
	reverseCmd bool
	speedSP    float64 // rpm

	// state
	running    bool
	inhibit    bool    // a permissive or fault stopped it while commanded: the run command must drop first
	startTimer float64 // s the run command has been on while not yet running
	inrushLeft float64 // s of inrush remaining
	speedRPM   float64 // signed: negative while turning backwards
	currentA   float64 // first-order state, without the inrush spike
	energyKWh  float64
	heat       float64 // overload relay state, (I/FLA)²·s
	tripped    bool    // overload relay tripped (latched)
	tripHeld   bool    // an injected overload trip: only clearing the fault resets it
	vfdFault   bool    // injected VFD fault
	offTimer   float64 // s the run command has been off
	coasting   bool    // torque off (Line.Coast): the speed runs down freely until standstill or a restart
}

func (d *drive) faulted() bool { return d.tripped || d.vfdFault }

// updateRunning advances the run feedback and the speed ramp by h seconds.
// permissive is false when a hard-wired interlock (e-stop, guard) holds the
// drive off; speedLimit (0..1) scales the speed the shafts can reach (a jam
// stalls them).
func (d *drive) updateRunning(h float64, permissive bool, speedLimit float64) {
	if d.runCmd {
		d.offTimer = 0
	} else {
		d.offTimer += h
		d.inhibit = false
		if d.tripped && !d.tripHeld && d.offTimer >= tripResetS-1e-9 && d.heat <= overloadTripI2S/2 {
			d.tripped = false
		}
	}
	if d.runCmd && permissive && !d.faulted() && !d.inhibit {
		if !d.running {
			d.startTimer += h
			if d.startTimer >= startDelayS-1e-9 {
				d.running = true
				d.startTimer = 0
				if d.inrush {
					d.inrushLeft = inrushS
				}
			}
		}
	} else {
		if d.runCmd && (!permissive || d.faulted()) {
			// Safe-torque-off and trips latch the start: resetting the
			// e-stop or the fault must not restart the machine by itself
			// (IEC 60204-1).
			d.inhibit = true
		}
		d.running = false
		d.startTimer = 0
		d.inrushLeft = 0
	}
	if d.running {
		d.coasting = false
	}
	if d.coasting {
		d.speedRPM *= math.Exp(-h / coastTauS)
		if math.Abs(d.speedRPM) < coastStopRPM {
			d.speedRPM, d.coasting = 0, false
		}
		return
	}
	target := 0.0
	if d.running {
		target = d.speedSP * speedLimit
		if d.reversible && d.reverseCmd {
			target = -target
		}
	}
	step := d.rampRPMps * h
	switch {
	case d.speedRPM < target:
		d.speedRPM = math.Min(target, d.speedRPM+step)
	case d.speedRPM > target:
		d.speedRPM = math.Max(target, d.speedRPM-step)
	}
}

// updateCurrent moves the current towards the value for load (fraction of
// full load) with an exact exponential update (decay is exp(-h/tau)), so any
// h is stable, integrates electrical energy and runs the overload relay.
func (d *drive) updateCurrent(h, decay, cool, load float64) {
	target := 0.0
	if d.running {
		target = d.fla * (idleCurrentFraction + (1-idleCurrentFraction)*load)
	}
	d.currentA = relax(d.currentA, target, decay)
	i := d.measuredCurrent()
	d.energyKWh += math.Sqrt(3) * mainsVolts * i * powerFactor / 1000 * h / 3600
	if d.inrushLeft > 0 {
		d.inrushLeft -= h
		if d.inrushLeft < 1e-9 {
			d.inrushLeft = 0
		}
	}
	if r := d.currentA / d.fla; r > 1 {
		d.heat += (r*r - 1) * h
	} else {
		d.heat *= cool
	}
	if d.heat >= overloadTripI2S {
		d.tripped = true
	}
}

// measuredCurrent is what the drive reports: the inrush spike while it
// lasts, else the first-order current.
func (d *drive) measuredCurrent() float64 {
	if d.inrushLeft > 0 {
		return inrushFactor * d.fla
	}
	return d.currentA
}

// contactor is a fixed-speed motor on a starter (feeder screw, mixer): run
// command, start delay, restart inhibit and an injectable overload trip.
type contactor struct {
	startDelayS float64
	runCmd      bool
	running     bool
	inhibit     bool
	startTimer  float64
	tripped     bool // injected overload trip
}

func (c *contactor) update(h float64, permissive bool) {
	if !c.runCmd {
		c.inhibit = false
	}
	if c.runCmd && permissive && !c.tripped && !c.inhibit {
		if !c.running {
			c.startTimer += h
			if c.startTimer >= c.startDelayS-1e-9 {
				c.running = true
				c.startTimer = 0
			}
		}
		return
	}
	if c.runCmd && (!permissive || c.tripped) {
		c.inhibit = true
	}
	c.running = false
	c.startTimer = 0
}

// decays holds the exact first-order factors exp(-h/tau) for one substep
// length h. Step uses equal substeps, so they are computed once per Step
// call rather than once per substep.
type decays struct {
	h                            float64
	current, water, backPressure float64
	jamCurrent, cool             float64
	pH, pHNoise, h2s, h2sNoise   float64 // Ornstein-Uhlenbeck factor and noise gain
}

func newDecays(h float64) decays {
	ouGain := func(a, sd float64) float64 { return sd * math.Sqrt(1-a*a) }
	d := decays{
		h:            h,
		current:      math.Exp(-h / currentTau),
		jamCurrent:   math.Exp(-h / jamCurrentTau),
		cool:         math.Exp(-h / overloadCoolTau),
		water:        math.Exp(-h / waterFlowTau),
		backPressure: math.Exp(-h / backPressureTau),
		pH:           math.Exp(-h / pHTau),
		h2s:          math.Exp(-h / h2sTau),
	}
	d.pHNoise = ouGain(d.pH, pHNoise)
	d.h2sNoise = ouGain(d.h2s, h2sNoisePPM)
	return d
}

// take removes up to amount kg from a compartment holding *mass kg of which
// *dry kg are solids, keeping its composition, and returns the mass and dry
// mass removed. Taking everything empties the compartment exactly.
func take(mass, dry *float64, amount float64) (m, d float64) {
	if amount <= 0 || *mass <= 0 {
		return 0, 0
	}
	if amount >= *mass {
		m, d = *mass, *dry
		*mass, *dry = 0, 0
		return m, d
	}
	d = amount * (*dry / *mass)
	*mass -= amount
	*dry -= d
	return amount, d
}

// relax moves x towards target by one substep of a first-order lag whose
// exact decay factor is decay = exp(-h/tau), so it is stable for any h. It
// snaps to the target when within 1e-9, so a lag that has settled is exactly
// at its target.
func relax(x, target, decay float64) float64 {
	x = target + (x-target)*decay
	if math.Abs(x-target) < 1e-9 {
		return target
	}
	return x
}

// ou advances an Ornstein-Uhlenbeck process with mean mu by one substep with
// the exact discrete update: decay is exp(-h/tau), gain is sd*sqrt(1-decay²)
// for a stationary standard deviation sd.
func ou(rng *rand.Rand, x, mu, decay, gain float64) float64 {
	return mu + (x-mu)*decay + gain*rng.NormFloat64()
}

// driveVars are the variables of a unit driven by a VFD: run command,
// speed set-point (clamped to the drive's maximum), speed, current,
// running feedback, faults and the energy meter.
func driveVars(d *drive) []variable {
	return []variable{
		param("run_cmd", func() float64 { return b2f(d.runCmd) }, func(v float64) { d.runCmd = v != 0 }),
		param("speed_sp", func() float64 { return d.speedSP }, func(v float64) { d.speedSP = clamp(v, 0, d.maxRPM) }),
		meas("speed", func() float64 { return math.Abs(d.speedRPM) }),
		meas("current", d.measuredCurrent),
		meas("running", func() float64 { return b2f(d.running) }),
		meas("fault", func() float64 { return b2f(d.faulted()) }),
		meas("overload", func() float64 { return b2f(d.tripped) }),
		meas("vfd_fault", func() float64 { return b2f(d.vfdFault) }),
		meas("energy", func() float64 { return d.energyKWh }),
	}
}
