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

// BackPressureControl says what sets the press's cone back-pressure. It is
// a property of the plant (which equipment the plant file maps), not a
// command: package testrig chooses it when it builds a rig.
type BackPressureControl int

// Back-pressure control modes. Values other than these act as
// BackPressureFromSetpoint.
const (
	// BackPressureFromSetpoint (the default): the cone has its own
	// pneumatic pressure regulator. press.back_pressure follows
	// press.back_pressure_sp through the 2 s pneumatic lag whatever the
	// screw does; press.cone_valve is ignored.
	BackPressureFromSetpoint BackPressureControl = iota
	// BackPressureFromValve: the controller positions the cone valve
	// (press.cone_valve, 0 % fully open: no back-pressure … 100 % fully
	// closed) and closes the pressure loop itself. press.back_pressure
	// relaxes through the same lag towards a pressure that grows with the
	// valve and with how full the screw runs (coneBarPerPct,
	// coneEmptyFactor, coneMaxBar); press.back_pressure_sp is ignored.
	BackPressureFromValve
)

// String returns the mode's name in the rig's status: "setpoint" or
// "cone_valve".
func (c BackPressureControl) String() string {
	if c == BackPressureFromValve {
		return "cone_valve"
	}
	return "setpoint"
}

// FiltratePumpControl says what starts and stops the filtrate tank's
// transfer pump. Like BackPressureControl it describes the plant, and
// package testrig chooses it when it builds a rig.
type FiltratePumpControl int

// Filtrate pump control modes. Values other than these act as
// FiltratePumpFloats.
const (
	// FiltratePumpFloats (the default): the pump runs on its own float
	// switches, on at 70 % level and off at 20 %; filtrate.pump_cmd is
	// ignored.
	FiltratePumpFloats FiltratePumpControl = iota
	// FiltratePumpCommanded: the pump is on a starter under the
	// controller's command (filtrate.pump_cmd). Like the mixer and the
	// feeder it confirms running 1 s after the command, the e-stop stops
	// it, and after an e-stop or a failure (SetFiltratePumpFailed) it
	// starts again only once the command has dropped and come back. It
	// pumps whatever the level: run on an empty tank it runs dry
	// (filtrate.pump_dry_run_s counts the seconds).
	FiltratePumpCommanded
)

// String returns the mode's name in the rig's status: "floats" or
// "commanded".
func (c FiltratePumpControl) String() string {
	if c == FiltratePumpCommanded {
		return "commanded"
	}
	return "floats"
}

// PressFeedControl says how slurry gets from the pulper to the press. Like
// BackPressureControl it describes the plant, and package testrig chooses
// it when it builds a rig.
type PressFeedControl int

// Press feed modes. Values other than these act as PressFeedDirect.
const (
	// PressFeedDirect (the default): the press draws slurry straight from
	// the pulper at its full capacity for its speed and back-pressure
	// whenever the screw turns, so the pulper holds next to nothing while
	// the press runs. The press_feed.* commands are stored and read back
	// but change nothing; press_feed.running, press_feed.flow and
	// press_feed.dry_run_s stay 0.
	PressFeedDirect PressFeedControl = iota
	// PressFeedPump: a VFD-driven progressive-cavity pump feeds the press
	// under the controller's command (press_feed.run_cmd,
	// press_feed.speed_sp in %). It confirms running 1 s after the
	// command, the e-stop stops it, and after an e-stop it starts again
	// only once the command has dropped and come back. Running, it
	// delivers pressFeedMaxKgPerS·speed/100; the press takes at most its
	// capacity of that and the rest recirculates to the pulper, and with
	// the screw stopped everything recirculates. press_feed.flow is what
	// reaches the press. Run on a pulper below 1 % level it runs dry
	// (press_feed.dry_run_s counts the seconds).
	PressFeedPump
)

// String returns the mode's name in the rig's status: "direct" or "pump".
func (c PressFeedControl) String() string {
	if c == PressFeedPump {
		return "pump"
	}
	return "direct"
}

// Roles whose mapping on a writable point tells package testrig to run the
// model in BackPressureFromValve, FiltratePumpCommanded and PressFeedPump.
const (
	RoleConeValve       = "press.cone_valve"
	RoleFiltratePumpCmd = "filtrate.pump_cmd"
	RolePressFeedRunCmd = "press_feed.run_cmd"
)

// Line is the state of one simulated pretreatment line. It is not safe for
// concurrent use; package testrig guards it with a mutex.
type Line struct {
	class WasteClass
	props ClassProperties
	// Four generators, so that one kind of randomness never shifts
	// another: process noise, hard objects and jams, injected sensor
	// faults, and the reject bin's load cell. Injecting a noisy sensor
	// leaves the jams where they were; the reject load cell, added after
	// the others, has its own so that every older reading keeps the
	// sequence it had for a given seed.
	rng       *rand.Rand
	jamRng    *rand.Rand
	faultRng  *rand.Rand
	rejectRng *rand.Rand

	elapsed time.Duration // plant time since New
	k       decays        // factors for the current substep length

	estopOK     bool
	guardClosed bool

	// Reception.
	doorCmd     bool
	wasteIn     float64 // kg tipped since New
	wasteInDry  float64
	hopper      float64 // kg
	hopperDry   float64
	hopperAgeS  float64 // mass-weighted storage age of the hopper's contents
	hopperNoise float64 // kg, current load-cell error
	h2sNoise    float64 // ppm, current deviation from the base level
	h2sBase     float64 // ppm
	feeder      contactor
	feederSP    float64 // %
	feederKgPS  float64

	// Shredder and reject screen.
	shredder           drive
	holdup             float64 // kg inside the shredder
	holdupDry          float64
	shredKgPerS        float64
	shredLoad          float64 // fraction of rated torque
	rejects, rejectDry float64
	rejectNoise        float64 // kg, current error of the reject bin's load cell
	hardObjectRate     float64 // per tonne shredded
	toNextObjectKg     float64 // kg to shred until the next hard object
	hardObjects        int     // arrived since New (random and injected)
	jam                jamState
	reverseS           float64 // s the shafts have turned backwards in this reversal
	reversalCounted    bool
	reversals          int

	// Pulper.
	mixer       contactor
	waterCmd    bool
	waterSP     float64 // kg/s
	waterStuck  float64 // kg/s; > 0: the valve is stuck open at this flow
	waterKgPerS float64
	waterTotal  float64 // kg
	pulper      float64 // kg
	pulperDry   float64
	overflow    float64 // kg spilled over the pulper weir into the filtrate sump
	pH          float64

	// Press feed pump (PressFeedPump).
	feedBy      PressFeedControl
	feedPump    contactor // the pump's VFD: run command, start delay, restart inhibit
	feedSP      float64   // % speed
	feedKgPerS  float64   // kg/s drawn from the pulper into the press in the last substep
	feedDryRunS float64   // s the pump has run on a nearly empty pulper

	// Press, cake bin and filtrate.
	press          drive
	backPressureBy BackPressureControl
	backPressureSP float64 // bar (BackPressureFromSetpoint)
	coneValve      float64 // % closed (BackPressureFromValve)
	backPressure   float64 // bar
	pressKgPerS    float64
	pressLoad      float64
	pressFill      float64 // throughput over capacity in the last substep, 0..1
	cakeDS         float64 // %
	filtrateDS     float64 // %
	cake, cakeDry  float64 // kg
	cakeNoise      float64
	filtrate       float64 // kg, every kg of filtrate made (and of overflow)
	filtrateDry    float64
	filtrateTank   float64 // kg in the filtrate tank (part of filtrate)
	filtratePumped float64 // kg sent on by the transfer pump
	filtrateSpill  float64 // kg spilled from a full tank to the drain
	pumpBy         FiltratePumpControl
	pumpOn         bool      // the float switches call for the pump (FiltratePumpFloats)
	pump           contactor // the pump's starter (FiltratePumpCommanded)
	pumpFailed     bool
	pumpDryRunS    float64 // s the pump has run on a nearly empty tank

	// Injected sensor faults, in injection order (their noise is drawn in
	// that order, so a replay gives the same values).
	sensors     map[string]*sensorFault
	sensorOrder []*sensorFault
}

// New returns a line at rest and empty, receiving waste of class, with noise
// drawn from generators seeded with seed. Hard objects arrive at the class's
// rate (ClassProperties.HardObjectsPerTonne); SetHardObjectRate changes it.
// It panics if class is not one of WasteClasses: callers validate
// configuration first (ParseWasteClass).
func New(seed int64, class WasteClass) *Line {
	props, ok := class.Properties()
	if !ok {
		panic(fmt.Sprintf("physics.New: unknown waste class %q", class))
	}
	l := &Line{
		class:       class,
		props:       props,
		rng:         rand.New(rand.NewPCG(uint64(seed), 0x70726574726561)), // "pretrea"
		jamRng:      rand.New(rand.NewPCG(uint64(seed), 0x6a616d73)),       // "jams"
		faultRng:    rand.New(rand.NewPCG(uint64(seed), 0x6661756c7473)),   // "faults"
		rejectRng:   rand.New(rand.NewPCG(uint64(seed), 0x72656a65637473)), // "rejects"
		estopOK:     true,
		guardClosed: true,
		shredder: drive{
			fla: shredderFLA, rampRPMps: 20, maxRPM: 70, inrush: true, reversible: true,
		},
		press: drive{
			fla: pressFLA, rampRPMps: 5, maxRPM: 50,
		},
		mixer: contactor{startDelayS: startDelayS},
		pump:  contactor{startDelayS: startDelayS},

		feedPump: contactor{startDelayS: startDelayS},
		pH:       props.PH,
		h2sBase:  0.8,
	}
	l.SetHardObjectRate(props.HardObjectsPerTonne)
	return l
}

// Class returns the waste class the line receives.
func (l *Line) Class() WasteClass { return l.class }

// SetClass changes the class of the waste tipped from now on (the next
// truck). What is already in the line keeps its dry-solids content; the
// shredder cuts it with the new class's hardness and energy, and hard
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

// SetBackPressureControl sets what drives the press's cone back-pressure
// from now on (see BackPressureControl). The back-pressure moves from
// where it is towards the new mode's target through the pneumatic lag.
func (l *Line) SetBackPressureControl(c BackPressureControl) { l.backPressureBy = c }

// BackPressureControl returns what drives the cone back-pressure.
func (l *Line) BackPressureControl() BackPressureControl { return l.backPressureBy }

// SetFiltratePumpControl sets what starts and stops the filtrate transfer
// pump from now on (see FiltratePumpControl). A pump that switches to
// commanded control stops at once and starts after the start delay if it
// is commanded; one that switches to its floats follows them at the next
// substep.
func (l *Line) SetFiltratePumpControl(c FiltratePumpControl) {
	l.pumpBy = c
	l.pump.running, l.pump.startTimer = false, 0
}

// FiltratePumpControl returns what starts and stops the filtrate pump.
func (l *Line) FiltratePumpControl() FiltratePumpControl { return l.pumpBy }

// SetPressFeedControl sets how the press is fed from now on (see
// PressFeedControl). The feed pump stops at once either way; under
// PressFeedPump it starts after the start delay if it is commanded.
func (l *Line) SetPressFeedControl(c PressFeedControl) {
	l.feedBy = c
	l.feedPump.running, l.feedPump.startTimer = false, 0
	l.feedKgPerS = 0
}

// PressFeedControl returns how the press is fed.
func (l *Line) PressFeedControl() PressFeedControl { return l.feedBy }

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
	// A jam builds torque only while the shafts are driven forwards; the
	// shafts slow to a stall as it does.
	jamFrac := 0.0
	forwardCmd := l.shredder.running && !l.shredder.reverseCmd
	if l.jam.active && forwardCmd {
		l.jam.t += h
		jamFrac = math.Min(1, l.jam.t/l.jam.rampS)
	} else if l.jam.active {
		l.jam.t, l.jam.load0 = 0, 0
	}

	// Drives. The guard circuit stops the shredder and the feeder into
	// it; the e-stop circuit stops everything.
	guarded := l.estopOK && l.guardClosed
	l.shredder.updateRunning(h, guarded, 1-jamFrac)
	l.press.updateRunning(h, l.estopOK, 1)
	l.mixer.update(h, l.estopOK)
	l.feeder.update(h, guarded)
	if l.feedBy == PressFeedPump {
		l.feedPump.update(h, l.estopOK)
	}

	// Reception: trucks tip while the door is open.
	if l.doorCmd {
		l.tip(doorFlowKgPerS * h)
	}
	if l.hopper > 0 {
		l.hopperAgeS += h
	} else {
		l.hopperAgeS = 0
	}

	// Feeder: hopper to shredder.
	l.feederKgPS = 0
	if l.feeder.running {
		m, d := take(&l.hopper, &l.hopperDry, feederMaxKgPerS*l.feederSP/100*h)
		l.holdup += m
		l.holdupDry += d
		l.feederKgPS = m / h
	}

	// Shredder: hold-up to the screen at most at capacity, only while the
	// shafts turn forwards and nothing is jammed; the screen sends the
	// reject fraction to the reject bin, the rest to the pulper.
	l.shredKgPerS = 0
	if l.shredder.speedRPM > 0 && !l.jam.active {
		capacity := shredderKgPerSPerRPM * l.shredder.speedRPM * l.props.HardnessFactor
		m, d := take(&l.holdup, &l.holdupDry, capacity*h)
		l.shredKgPerS = m / h
		rm, rd := m*l.props.RejectFraction, d*l.props.RejectFraction
		l.rejects += rm
		l.rejectDry += rd
		l.pulper += m - rm
		l.pulperDry += d - rd
		l.hardObjectsIn(m)
	}
	l.reversal(h)
	switch {
	case l.jam.active && jamFrac > 0:
		l.shredLoad = l.jam.load0 + (stallLoad-l.jam.load0)*jamFrac
	case l.shredder.speedRPM < 0 && l.jam.active:
		l.shredLoad = reverseJammedLoad
	case l.shredder.speedRPM < 0:
		l.shredLoad = reverseLoad
	default:
		l.shredLoad = l.shredKgPerS * l.props.SpecificEnergyKWhPerT * 3.6 / shredderRatedKW
	}

	// Dilution water. A valve stuck open passes its flow whatever it is
	// told and whatever the e-stop says: it is a fault of the valve.
	waterTarget := 0.0
	switch {
	case l.waterStuck > 0:
		waterTarget = l.waterStuck
	case l.waterCmd && l.estopOK:
		waterTarget = l.waterSP
	}
	l.waterKgPerS = relax(l.waterKgPerS, waterTarget, l.k.water)
	w := l.waterKgPerS * h
	l.waterTotal += w
	l.pulper += w

	// Press: back-pressure follows its setpoint whether or not the screw
	// turns (or, under cone valve control, the valve and how full the
	// screw ran in the last substep); the screw draws slurry at capacity,
	// or what the feed pump delivers up to that, and splits it into cake
	// and filtrate by the solids balance.
	filtrateBefore := l.filtrate
	l.backPressure = relax(l.backPressure, l.backPressureTarget(), l.k.backPressure)
	capacity := l.pressCapacity()
	if l.feedBy == PressFeedPump {
		l.pressStep(h, capacity, l.pressFeedStep(h, capacity)*h)
		l.feedKgPerS = l.pressKgPerS
	} else {
		l.pressStep(h, capacity, capacity*h)
	}

	// The pulper's weir: what rises above it spills into the filtrate sump.
	if l.pulper > pulperOverflowKg {
		m, d := take(&l.pulper, &l.pulperDry, l.pulper-pulperOverflowKg)
		l.overflow += m
		l.filtrate += m
		l.filtrateDry += d
	}
	l.filtrateTankStep(h, l.filtrate-filtrateBefore)

	// Motor currents and energy. A jam's torque shows in the current at
	// once; the process load is smoothed by the material.
	shredDecay := l.k.current
	if l.jam.active && jamFrac > 0 {
		shredDecay = l.k.jamCurrent
	}
	l.shredder.updateCurrent(h, shredDecay, l.k.cool, l.shredLoad)
	l.press.updateCurrent(h, l.k.current, l.k.cool, l.pressLoad)

	// Analysers and load cells.
	l.pH = ou(l.rng, l.pH, l.props.PH, l.k.pH, l.k.pHNoise)
	l.pH = math.Min(pHMax, math.Max(pHMin, l.pH))
	l.h2sNoise = ou(l.rng, l.h2sNoise, 0, l.k.h2s, l.k.h2sNoise)
	l.hopperNoise = l.rng.NormFloat64() * loadCellNoiseKg
	l.cakeNoise = l.rng.NormFloat64() * loadCellNoiseKg
	l.rejectNoise = l.rejectRng.NormFloat64() * loadCellNoiseKg
	l.updateSensorFaults(h)
}

// tip adds m kg of the current class to the hopper; the hopper's storage
// age is the mass-weighted mean of what it holds.
func (l *Line) tip(m float64) {
	if m <= 0 {
		return
	}
	d := m * l.props.DSPercent / 100
	l.hopperAgeS *= l.hopper / (l.hopper + m)
	l.wasteIn += m
	l.wasteInDry += d
	l.hopper += m
	l.hopperDry += d
}

// hardObjectsIn advances the hard-object clock by m kg shredded and jams the
// shredder when the next object arrives. Objects arrive as a Poisson process
// in shredded mass, so how many a batch brings depends on the seed and the
// mass, not on how fast or in what steps it is shredded.
func (l *Line) hardObjectsIn(m float64) {
	if m <= 0 || l.hardObjectRate <= 0 {
		return
	}
	l.toNextObjectKg -= m
	if l.toNextObjectKg > 0 {
		return
	}
	l.drawNextObject()
	l.startJam(0)
}

// drawNextObject draws the mass to shred until the next hard object.
func (l *Line) drawNextObject() {
	if l.hardObjectRate <= 0 {
		l.toNextObjectKg = math.Inf(1)
		return
	}
	l.toNextObjectKg = l.jamRng.ExpFloat64() * 1000 / l.hardObjectRate
}

// startJam jams the shredder: the torque builds to stall over a time drawn
// from 0.2–1 s while the shafts are driven forwards.
func (l *Line) startJam(reversalsToClear int) {
	l.hardObjects++
	if l.jam.active {
		return // a second object in a jammed shredder changes nothing
	}
	l.jam = jamState{
		active:           true,
		rampS:            jamRampMinS + (jamRampMaxS-jamRampMinS)*l.jamRng.Float64(),
		load0:            l.shredLoad,
		reversalsToClear: reversalsToClear,
	}
}

// reversal counts a reversal once the shafts have turned backwards for
// reverseClearS and, if the shredder is jammed, decides whether this
// reversal freed it.
func (l *Line) reversal(h float64) {
	if l.shredder.speedRPM >= 0 {
		l.reverseS, l.reversalCounted = 0, false
		return
	}
	l.reverseS += h
	if l.reversalCounted || l.reverseS < reverseClearS-1e-9 {
		return
	}
	l.reversalCounted = true
	l.reversals++
	if !l.jam.active {
		return
	}
	if l.jam.reversalsToClear > 0 {
		l.jam.reversalsToClear--
		if l.jam.reversalsToClear == 0 {
			l.jam = jamState{}
		}
		return
	}
	if l.jamRng.Float64() < reverseClearProb {
		l.jam = jamState{}
	}
}

// backPressureTarget is the pressure the cone's back-pressure relaxes
// towards: the setpoint, or under cone valve control what the valve
// position holds at the fill the screw ran at in the last substep.
func (l *Line) backPressureTarget() float64 {
	if l.backPressureBy != BackPressureFromValve {
		return l.backPressureSP
	}
	return math.Min(coneMaxBar, coneBarPerPct*l.coneValve*(coneEmptyFactor+(1-coneEmptyFactor)*l.pressFill))
}

// filtrateTankStep puts made kg of filtrate (and overflow) into the
// filtrate tank, whose transfer pump runs on its own float switches or on
// the controller's command (FiltratePumpControl); a full tank spills to the
// drain.
func (l *Line) filtrateTankStep(h, made float64) {
	l.filtrateTank += made
	level := l.filtrateTank / filtrateTankKg * 100
	if l.pumpBy == FiltratePumpCommanded {
		l.pump.tripped = l.pumpFailed
		l.pump.update(h, l.estopOK)
	} else {
		switch {
		case level >= filtratePumpOnPct:
			l.pumpOn = true
		case level <= filtratePumpOffPct:
			l.pumpOn = false
		}
	}
	if l.pumpRunning() {
		if level < filtrateDryRunPct {
			l.pumpDryRunS += h
		}
		out := math.Min(l.filtrateTank, filtratePumpKgPerS*h)
		l.filtrateTank -= out
		l.filtratePumped += out
	}
	if l.filtrateTank > filtrateTankKg {
		l.filtrateSpill += l.filtrateTank - filtrateTankKg
		l.filtrateTank = filtrateTankKg
	}
}

// pumpRunning reports whether the filtrate transfer pump runs: its running
// feedback.
func (l *Line) pumpRunning() bool {
	if l.pumpBy == FiltratePumpCommanded {
		return l.pump.running
	}
	return l.pumpOn && !l.pumpFailed
}

// pressCapacity is the most slurry the screw takes, in kg/s, at its speed
// and back-pressure.
func (l *Line) pressCapacity() float64 {
	p := math.Max(0, l.backPressure)
	return pressKgPerSPerRPM * l.press.speedRPM * math.Max(0, 1-pressCapacityPerBar*p)
}

// pressFeedStep runs the press feed pump (PressFeedPump) for h seconds and
// returns the flow in kg/s it sends into a press whose capacity is
// capacity: what it delivers at its speed up to that capacity, nothing
// while it is stopped or the screw stands (it recirculates to the pulper).
// It counts dry running on a pulper below pressFeedDryRunPct.
func (l *Line) pressFeedStep(h, capacity float64) float64 {
	if !l.feedPump.running || l.feedSP <= 0 {
		return 0
	}
	if l.pulper/pulperFullKg*100 < pressFeedDryRunPct {
		l.feedDryRunS += h
	}
	if l.press.speedRPM <= 0 {
		return 0
	}
	return math.Min(pressFeedMaxKgPerS*l.feedSP/100, capacity)
}

// pressStep moves slurry through the screw press for h seconds: it draws
// up to amount kg from the pulper (less if the pulper holds less) into a
// screw of capacity kg/s and splits it into cake and filtrate.
func (l *Line) pressStep(h, capacity, amount float64) {
	p := math.Max(0, l.backPressure)
	n := l.press.speedRPM
	l.pressKgPerS = 0
	l.pressLoad = 0
	l.pressFill = 0
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

	m, d := take(&l.pulper, &l.pulperDry, amount)
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
	l.pressFill = fill
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
