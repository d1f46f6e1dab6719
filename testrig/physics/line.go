package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	pulperOverflowKg     = 1.05 * pulperFullKg // the weir: above it slurry spills to the filtrate sump
	filtrateTankKg       = 2000.0
	filtratePumpKgPerS   = 15.0 // transfer pump to the digester
	filtratePumpOnPct    = 70.0 // float switches (FiltratePumpFloats): start…
	filtratePumpOffPct   = 20.0 // …and stop
	filtrateDryRunPct    = 2.0  // est.: below this level the pump's suction draws air (it runs dry)
	mainsVolts           = 400.0
	powerFactor          = 0.85
	idleCurrentFraction  = 0.3 // no-load current as a fraction of FLA
	currentTau           = 0.3 // s, motor current first-order time constant
	jamCurrentTau        = 0.1 // s, current following the torque of a jam: no process smoothing
	startDelayS          = 1.0 // s from run command to running feedback
	inrushS              = 0.5 // s of inrush after each start
	inrushFactor         = 6.0 // inrush current in multiples of FLA
	backPressureTau      = 2.0 // s, pneumatic cone
	waterFlowTau         = 1.0 // s, dilution water valve
	loadCellNoiseKg      = 0.2 // standard deviation of the load-cell noise
	h2sNoisePPM          = 0.15
	h2sTau               = 5.0 // s, correlation time of the H2S noise
	h2sAgeS              = 1800.0
	pHNoise              = 0.15
	pHTau                = 1800.0 // s, pH drifts slowly
	pHMin, pHMax         = 4.5, 5.5

	// The cone valve under the controller's PID (BackPressureFromValve).
	// Estimates (est.), close to the 0.07 bar/% and 2 s lag that
	// controller/equipment's press loop is tuned for: the back-pressure
	// relaxes through backPressureTau towards
	// coneBarPerPct·valve·(coneEmptyFactor + (1−coneEmptyFactor)·fill),
	// at most coneMaxBar, where fill is the press's throughput over its
	// capacity. A fuller screw packs a firmer plug of cake against the
	// cone, so the same valve position holds more pressure: the
	// disturbance the loop has to reject.
	coneBarPerPct   = 0.075 // est.: bar per % of valve closure with the screw running full
	coneEmptyFactor = 0.7   // est.: share of that back-pressure with the screw running empty
	coneMaxBar      = 7.5   // est.: the most the cone holds, valve shut

	// The press feed pump (PressFeedPump): a progressive-cavity pump on a
	// VFD between pulper and press. Estimates (est.): at 100 % it delivers
	// pressFeedMaxKgPerS, somewhat more than the press takes at 15 rpm and
	// 3 bar (4.6 kg/s), so the press, not the pump, sets the most a line
	// can dewater; the rest recirculates to the pulper.
	pressFeedMaxKgPerS = 8.0 // est.: delivery at 100 % speed
	pressFeedDryRunPct = 1.0 // est.: below this pulper level the pump's suction draws air (it runs dry)

	// Jams (PROCESS.md, "Jam handling" and "A simulator model").
	jamRampMinS       = 0.2 // torque reaches stall this soon after a hard object…
	jamRampMaxS       = 1.0 // …or at most this late
	stallCurrentFLA   = 1.6 // the VFD's current limit, in multiples of FLA
	reverseClearS     = 0.5 // s of reverse rotation before a reversal counts
	reverseClearProb  = 0.7 // chance that one reversal frees a jam
	reverseLoad       = 0.1 // load while reversing an empty shredder
	reverseJammedLoad = 0.5 // load while reversing against a jam

	// Motor protection: an I²t overload model. The drive trips when
	// ∫((I/FLA)² − 1) dt over the time above FLA reaches overloadTripI2S
	// (150 % FLA for 60 s, a VFD's usual rating); the state cools with
	// overloadCoolTau below FLA. Inrush is not counted: starting is what the
	// relay class is chosen for. A trip resets once the run command has been
	// off for tripResetS and the state has cooled to half.
	overloadTripI2S = 75.0
	overloadCoolTau = 120.0 // s
	tripResetS      = 1.0

	// Coasting (Line.Coast): a drive whose torque is switched off (a
	// coast stop, IEC 60204-1 category 0) runs down with the load's
	// braking instead of its ramp. Estimates (est.) for a loaded shredder
	// or press: the speed falls exponentially with coastTauS and is at
	// standstill below coastStopRPM, so a drive at 20 rpm stands within
	// about a second, sooner than on its ramp.
	coastTauS    = 0.25 // s
	coastStopRPM = 0.5
)

// stallLoad is the load fraction whose current is stallCurrentFLA.
const stallLoad = (stallCurrentFLA - idleCurrentFraction) / (1 - idleCurrentFraction)

// Line is the state of one simulated pretreatment line: a graph of unit
// models (see UnitSpec and unitModel) and what they share (the waste class,
// the random generators, the e-stop, plant time). It is not safe for
// concurrent use; package testrig guards it with a mutex.
type Line struct {
	class WasteClass
	props ClassProperties
	seed  int64
	// Four generators shared by the units, so that one kind of randomness
	// never shifts another: process noise, hard objects and jams, injected
	// sensor faults, and the reject bins' load cells. Injecting a noisy
	// sensor leaves the jams where they were; the reject load cell, added
	// after the others, has its own so that every older reading keeps the
	// sequence it had for a given seed. Units added since (depackager) seed
	// their own from the seed and their name.
	rng       *rand.Rand
	jamRng    *rand.Rand
	faultRng  *rand.Rand
	rejectRng *rand.Rand

	elapsed time.Duration // plant time since New
	k       decays        // factors for the current substep length

	estopOK        bool
	pH             float64 // the slurry's pH (one process for the whole line)
	hardObjectRate float64 // per tonne shredded, for every shredder

	units  []unitModel // topological order, upstream first
	byName map[string]unitModel
	// The units that take part in each phase of a substep.
	drivers  []driver
	flowers  []flower
	settlers []settler
	spillers []spiller
	meterers []meterer
	noisers  []noiser

	roles      map[string]*role
	roleNames  []string
	modeSwitch map[string]func() // role → the mode its mapping on a writable point selects

	// Injected sensor faults, in injection order (their noise is drawn in
	// that order, so a replay gives the same values).
	sensors     map[string]*sensorFault
	sensorOrder []*sensorFault
}

// New returns the sample plant's line (DefaultLayout) at rest and empty,
// receiving waste of class, with noise drawn from generators seeded with
// seed. Hard objects arrive at the class's rate
// (ClassProperties.HardObjectsPerTonne); SetHardObjectRate changes it. It
// panics if class is not one of WasteClasses: callers validate
// configuration first (ParseWasteClass).
func New(seed int64, class WasteClass) *Line {
	if _, ok := class.Properties(); !ok {
		panic(fmt.Sprintf("physics.New: unknown waste class %q", class))
	}
	l, err := NewPlant(seed, class, DefaultLayout())
	if err != nil {
		panic("physics.New: " + err.Error())
	}
	return l
}

// NewPlant returns a line of the given layout at rest and empty, as New
// does for the sample plant. It checks the layout: known kinds, unique
// names, feeders that exist, no cycles, and units that can take what
// their feeders deliver (a transport between a store and what it feeds).
// An empty layout is an error; nil layout means DefaultLayout.
func NewPlant(seed int64, class WasteClass, layout []UnitSpec) (*Line, error) {
	props, ok := class.Properties()
	if !ok {
		_, err := ParseWasteClass(string(class))
		return nil, err
	}
	if layout == nil {
		layout = DefaultLayout()
	}
	l := &Line{
		class:     class,
		props:     props,
		seed:      seed,
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x70726574726561)), // "pretrea"
		jamRng:    rand.New(rand.NewPCG(uint64(seed), 0x6a616d73)),       // "jams"
		faultRng:  rand.New(rand.NewPCG(uint64(seed), 0x6661756c7473)),   // "faults"
		rejectRng: rand.New(rand.NewPCG(uint64(seed), 0x72656a65637473)), // "rejects"
		estopOK:   true,
		pH:        props.PH,
	}
	if err := l.buildUnits(layout); err != nil {
		return nil, err
	}
	l.SetHardObjectRate(props.HardObjectsPerTonne)
	return l, nil
}

// Class returns the waste class the line receives.
func (l *Line) Class() WasteClass { return l.class }

// SetClass changes the class of the waste tipped from now on (the next
// truck). What is already in the line keeps its dry-solids content; the
// shredders cut it with the new class's hardness and energy, and hard
// objects arrive at the new class's rate unless SetHardObjectRate set one.
// It returns an error, changing nothing, for an unknown class.
func (l *Line) SetClass(c WasteClass) error {
	props, ok := c.Properties()
	if !ok {
		_, err := ParseWasteClass(string(c))
		return err
	}
	followClass := l.hardObjectRate == l.props.HardObjectsPerTonne
	l.class, l.props = c, props
	if followClass {
		l.SetHardObjectRate(props.HardObjectsPerTonne)
	}
	return nil
}

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

// substep integrates h seconds, phase by phase (see unitModel), each phase
// upstream to downstream so that material moves at most one stage per
// substep.
func (l *Line) substep(h float64) {
	for _, u := range l.drivers {
		u.drives(h)
	}
	for _, u := range l.flowers {
		u.flow(h)
	}
	for _, u := range l.settlers {
		u.settle(h)
	}
	for _, u := range l.spillers {
		u.spill(h)
	}
	for _, u := range l.meterers {
		u.meters(h)
	}
	// Analysers and load cells.
	l.pH = ou(l.rng, l.pH, l.props.PH, l.k.pH, l.k.pHNoise)
	l.pH = math.Min(pHMax, math.Max(pHMin, l.pH))
	for _, u := range l.noisers {
		u.noise()
	}
	l.updateSensorFaults(h)
}

// unit returns the unit named name if it is of one of kinds.
func (l *Line) unit(name string, kinds ...string) (unitModel, bool) {
	u, ok := l.byName[name]
	if !ok || (len(kinds) > 0 && !slices.Contains(kinds, u.base().kind)) {
		return nil, false
	}
	return u, true
}

// first returns the first unit of kind (upstream first), or nil.
func (l *Line) first(kind string) unitModel {
	for _, u := range l.units {
		if u.base().kind == kind {
			return u
		}
	}
	return nil
}
