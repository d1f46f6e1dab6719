package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// MaxSubstep is the longest interval the model integrates in one go. Step
// splits longer intervals into equal substeps no longer than this, so the
// result of Step(d) depends only on d, not on how fast the caller steps, as
// long as d is a multiple of MaxSubstep.
const MaxSubstep = 50 * time.Millisecond

// Plant constants. Estimates; see PROCESS.md.
const (
	doorFlowKgPerS       = 5.0  // trucks tipping while the reception door is open
	feederMaxKgPerS      = 2.0  // feeder throughput at 100 % speed
	shredderKgPerSPerRPM = 0.08 // shredder capacity per rpm, times the class hardness factor
	shredderRatedKW      = 22.0 // shaft power at full load
	shredderFLA          = 41.0 // full-load amps of the 22 kW motor at 400 V
	pressKgPerSPerRPM    = 0.4  // press slurry capacity per rpm at zero back-pressure
	pressCapacityPerBar  = 0.08 // capacity falls by this fraction per bar of back-pressure
	pressFLA             = 40.0
	pressDSMax           = 35.0 // % DS the cake approaches at high back-pressure
	pressA               = 0.5  // 1/bar
	pressB               = 0.3  // speed exponent
	pressRefRPM          = 15.0
	cakeDSCeiling        = 45.0 // % DS; the formula is clamped to this
	pulperFullKg         = 4000.0
	mainsVolts           = 400.0
	powerFactor          = 0.85
	idleCurrentFraction  = 0.3 // no-load current as a fraction of FLA
	currentTau           = 0.3 // s, motor current first-order time constant
	startDelayS          = 1.0 // s from run command to running feedback
	inrushS              = 0.5 // s of inrush after each start
	inrushFactor         = 6.0 // inrush current in multiples of FLA
	backPressureTau      = 2.0 // s, pneumatic cone
	waterFlowTau         = 1.0 // s, dilution water valve
	loadCellNoiseKg      = 0.2 // standard deviation of the load-cell noise
	h2sNoisePPM          = 0.15
	h2sTau               = 5.0 // s, correlation time of the H2S noise
	pHNoise              = 0.15
	pHTau                = 1800.0 // s, pH drifts slowly
	pHMin, pHMax         = 4.5, 5.5
)

// drive is a motor with a VFD or starter: run command, start delay, speed
// ramp, first-order current and an energy meter.
type drive struct {
	// configuration
	fla       float64 // A
	rampRPMps float64 // rpm per second
	maxRPM    float64
	inrush    bool // direct-on-line style inrush spike on start

	// commands
	runCmd  bool
	speedSP float64 // rpm

	// state
	running    bool
	startTimer float64 // s the run command has been on while not yet running
	inrushLeft float64 // s of inrush remaining
	speedRPM   float64
	currentA   float64 // first-order state, without the inrush spike
	energyKWh  float64
	fault      bool // jams and trips: not modelled yet
}

// updateRunning advances the run feedback and the speed ramp by h seconds.
// permissive is false when an interlock (e-stop) holds the drive off.
func (d *drive) updateRunning(h float64, permissive bool) {
	if d.runCmd && permissive && !d.fault {
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
		d.running = false
		d.startTimer = 0
		d.inrushLeft = 0
	}
	target := 0.0
	if d.running {
		target = d.speedSP
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
// full load) with an exact exponential update (decay is exp(-h/currentTau)),
// so any h is stable, and integrates electrical energy.
func (d *drive) updateCurrent(h, decay, load float64) {
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
}

// measuredCurrent is what the drive reports: the inrush spike while it
// lasts, else the first-order current.
func (d *drive) measuredCurrent() float64 {
	if d.inrushLeft > 0 {
		return inrushFactor * d.fla
	}
	return d.currentA
}

// decays holds the exact first-order factors exp(-h/tau) for one substep
// length h. Step uses equal substeps, so they are computed once per Step
// call rather than once per substep.
type decays struct {
	h                            float64
	current, water, backPressure float64
	pH, pHNoise, h2s, h2sNoise   float64 // Ornstein-Uhlenbeck factor and noise gain
}

func newDecays(h float64) decays {
	ouGain := func(a, sd float64) float64 { return sd * math.Sqrt(1-a*a) }
	d := decays{
		h:            h,
		current:      math.Exp(-h / currentTau),
		water:        math.Exp(-h / waterFlowTau),
		backPressure: math.Exp(-h / backPressureTau),
		pH:           math.Exp(-h / pHTau),
		h2s:          math.Exp(-h / h2sTau),
	}
	d.pHNoise = ouGain(d.pH, pHNoise)
	d.h2sNoise = ouGain(d.h2s, h2sNoisePPM)
	return d
}

// Line is the state of one simulated pretreatment line. It is not safe for
// concurrent use; package testrig guards it with a mutex.
type Line struct {
	class WasteClass
	props ClassProperties
	rng   *rand.Rand

	elapsed time.Duration // plant time since New
	k       decays        // factors for the current substep length

	estopOK bool

	// Reception.
	doorCmd      bool
	wasteIn      float64 // kg tipped since New
	wasteInDry   float64
	hopper       float64 // kg
	hopperDry    float64
	hopperNoise  float64 // kg, current load-cell error
	h2sNoise     float64 // ppm, current deviation from the base level
	h2sBase      float64 // ppm
	feederRunCmd bool
	feederSP     float64 // %
	feederOn     bool
	feederKgPerS float64

	// Shredder and reject screen.
	shredder           drive
	holdup             float64 // kg inside the shredder
	holdupDry          float64
	shredKgPerS        float64
	shredLoad          float64 // fraction of rated power
	rejects, rejectDry float64

	// Pulper.
	mixerCmd        bool
	mixerRunning    bool
	mixerStartTimer float64
	waterCmd        bool
	waterSP         float64 // kg/s
	waterKgPerS     float64
	waterTotal      float64 // kg
	pulper          float64 // kg
	pulperDry       float64
	pH              float64

	// Press, cake bin and filtrate.
	press          drive
	backPressureSP float64 // bar
	backPressure   float64 // bar
	pressKgPerS    float64
	pressLoad      float64
	cakeDS         float64 // %
	filtrateDS     float64 // %
	cake, cakeDry  float64 // kg
	cakeNoise      float64
	filtrate       float64 // kg
	filtrateDry    float64
}

// New returns a line at rest and empty, receiving waste of class, with noise
// drawn from a generator seeded with seed. It panics if class is not one of
// WasteClasses: callers validate configuration first (ParseWasteClass).
func New(seed int64, class WasteClass) *Line {
	props, ok := class.Properties()
	if !ok {
		panic(fmt.Sprintf("physics.New: unknown waste class %q", class))
	}
	l := &Line{
		class:   class,
		props:   props,
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x70726574726561)), // "pretrea"
		estopOK: true,
		shredder: drive{
			fla: shredderFLA, rampRPMps: 20, maxRPM: 70, inrush: true,
		},
		press: drive{
			fla: pressFLA, rampRPMps: 5, maxRPM: 50,
		},
		pH:      props.PH,
		h2sBase: 0.8,
	}
	return l
}

// Class returns the waste class the line receives.
func (l *Line) Class() WasteClass { return l.class }

// Elapsed returns the plant time simulated since New.
func (l *Line) Elapsed() time.Duration { return l.elapsed }

// Step advances plant time by dt, in equal substeps of at most MaxSubstep.
// A dt of zero or less does nothing.
func (l *Line) Step(dt time.Duration) {
	if dt <= 0 {
		return
	}
	n := int64((dt + MaxSubstep - 1) / MaxSubstep)
	h := dt.Seconds() / float64(n)
	if h != l.k.h {
		l.k = newDecays(h)
	}
	for range n {
		l.substep(h)
	}
	l.elapsed += dt
}

// substep integrates h seconds. The order is upstream to downstream so that
// material moves at most one stage per substep.
func (l *Line) substep(h float64) {
	// Drives.
	l.shredder.updateRunning(h, l.estopOK)
	l.press.updateRunning(h, l.estopOK)
	if l.mixerCmd && l.estopOK {
		if !l.mixerRunning {
			l.mixerStartTimer += h
			if l.mixerStartTimer >= startDelayS-1e-9 {
				l.mixerRunning = true
				l.mixerStartTimer = 0
			}
		}
	} else {
		l.mixerRunning = false
		l.mixerStartTimer = 0
	}

	// Reception: trucks tip while the door is open.
	if l.doorCmd {
		m := doorFlowKgPerS * h
		d := m * l.props.DSPercent / 100
		l.wasteIn += m
		l.wasteInDry += d
		l.hopper += m
		l.hopperDry += d
	}

	// Feeder: hopper to shredder.
	l.feederOn = l.feederRunCmd && l.estopOK
	l.feederKgPerS = 0
	if l.feederOn {
		m, d := take(&l.hopper, &l.hopperDry, feederMaxKgPerS*l.feederSP/100*h)
		l.holdup += m
		l.holdupDry += d
		l.feederKgPerS = m / h
	}

	// Shredder: hold-up to the screen at most at capacity; the screen
	// sends the reject fraction to the reject bin, the rest to the pulper.
	capacity := shredderKgPerSPerRPM * l.shredder.speedRPM * l.props.HardnessFactor
	m, d := take(&l.holdup, &l.holdupDry, capacity*h)
	l.shredKgPerS = m / h
	rm, rd := m*l.props.RejectFraction, d*l.props.RejectFraction
	l.rejects += rm
	l.rejectDry += rd
	l.pulper += m - rm
	l.pulperDry += d - rd
	l.shredLoad = l.shredKgPerS * l.props.SpecificEnergyKWhPerT * 3.6 / shredderRatedKW

	// Dilution water.
	waterTarget := 0.0
	if l.waterCmd && l.estopOK {
		waterTarget = l.waterSP
	}
	l.waterKgPerS = relax(l.waterKgPerS, waterTarget, l.k.water)
	w := l.waterKgPerS * h
	l.waterTotal += w
	l.pulper += w

	// Press: back-pressure follows its setpoint whether or not the screw
	// turns; the screw draws slurry at capacity and splits it into cake and
	// filtrate by the solids balance.
	l.backPressure = relax(l.backPressure, l.backPressureSP, l.k.backPressure)
	l.pressStep(h)

	// Motor currents and energy.
	l.shredder.updateCurrent(h, l.k.current, l.shredLoad)
	l.press.updateCurrent(h, l.k.current, l.pressLoad)

	// Analysers and load cells.
	l.pH = ou(l.rng, l.pH, l.props.PH, l.k.pH, l.k.pHNoise)
	l.pH = math.Min(pHMax, math.Max(pHMin, l.pH))
	l.h2sNoise = ou(l.rng, l.h2sNoise, 0, l.k.h2s, l.k.h2sNoise)
	l.hopperNoise = l.rng.NormFloat64() * loadCellNoiseKg
	l.cakeNoise = l.rng.NormFloat64() * loadCellNoiseKg
}

// pressStep moves slurry through the screw press for h seconds.
func (l *Line) pressStep(h float64) {
	p := math.Max(0, l.backPressure)
	n := l.press.speedRPM
	capacity := pressKgPerSPerRPM * n * math.Max(0, 1-pressCapacityPerBar*p)
	l.pressKgPerS = 0
	l.pressLoad = 0
	if n <= 0 {
		return
	}
	dsIn := 0.0
	if l.pulper > 0 {
		dsIn = l.pulperDry / l.pulper * 100
	}
	cakeDS := dsIn + (pressDSMax-dsIn)*(1-math.Exp(-pressA*p))*math.Pow(pressRefRPM/math.Max(n, 0.1), pressB)
	cakeDS = math.Min(cakeDSCeiling, math.Max(dsIn, cakeDS))
	filtrateDS := math.Min(dsIn, dsIn*(0.25+0.05*p))

	m, d := take(&l.pulper, &l.pulperDry, capacity*h)
	if m > 0 {
		l.cakeDS = cakeDS
		l.filtrateDS = filtrateDS
		var mc, dc float64
		switch {
		case d <= 0 || dsIn <= 0:
			// Water only: all of it leaves as filtrate.
		case cakeDS <= dsIn+1e-9:
			// The slurry is already as dry as the press can make it.
			mc, dc = m, d
			l.filtrateDS = 0
		default:
			mc = m * (dsIn - filtrateDS) / (cakeDS - filtrateDS)
			dc = math.Min(d, mc*cakeDS/100)
		}
		l.cake += mc
		l.cakeDry += dc
		l.filtrate += m - mc
		l.filtrateDry += d - dc
	}
	l.pressKgPerS = m / h
	fill := 0.0
	if capacity > 0 {
		fill = l.pressKgPerS / capacity
	}
	l.pressLoad = 0.2 + (0.2+0.1*p)*fill
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
