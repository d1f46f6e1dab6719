package physics

import (
	"fmt"
	"math"
	"strings"
)

// Faults of the plant itself: what a fault injector does to the model. Each
// is set and cleared by the caller (package testrig keeps the list of
// injected faults); none of them breaks the mass balance.

// SetEStop presses (true) or releases the e-stop. While pressed, the safety
// circuit removes power from every drive and closes the dilution water
// valve; a drive that was commanded stays off after the release until its
// run command drops and comes back (no restart on reset, IEC 60204-1).
func (l *Line) SetEStop(pressed bool) { l.estopOK = !pressed }

// SetGuardOpen opens (true) or closes the guard door of every shredder.
// The guard circuit stops the shredder and the feeders into it, with the
// same restart rule as the e-stop.
func (l *Line) SetGuardOpen(open bool) {
	for _, u := range l.unitsOf(KindShredder) {
		u.(*shredder).guardClosed = !open
	}
}

// SetGuardOpenOn opens or closes the guard door of the shredder named unit.
func (l *Line) SetGuardOpenOn(unit string, open bool) error {
	s, err := l.shredderNamed(unit)
	if err == nil {
		s.guardClosed = !open
	}
	return err
}

// Units with motors on the default layout, as fault targets. On any
// layout a unit is named by its name in the layout; "mixer" names the
// first pulper's mixer.
const (
	UnitShredder = "shredder"
	UnitPress    = "press"
	UnitFeeder   = "feeder"
	UnitMixer    = "mixer"
)

// driven is a unit with a VFD-driven motor.
type driven interface{ drv() *drive }

// driveOf returns the drive of the unit named unit, if it has one.
func (l *Line) driveOf(unit string) (*drive, bool) {
	if u, ok := l.byName[unit]; ok {
		if d, ok := u.(driven); ok {
			return d.drv(), true
		}
	}
	return nil, false
}

// driveNames lists the units with a VFD.
func (l *Line) driveNames() string {
	var names []string
	for _, u := range l.units {
		if _, ok := u.(driven); ok {
			names = append(names, u.base().name)
		}
	}
	return strings.Join(names, ", ")
}

// mixerOf returns the mixer named unit: a pulper's name, or "mixer" for
// the first pulper's.
func (l *Line) mixerOf(unit string) *contactor {
	if u, ok := l.unit(unit, KindPulper); ok {
		return &u.(*pulper).mixer
	}
	if _, named := l.byName[unit]; !named && unit == UnitMixer {
		if u := l.first(KindPulper); u != nil {
			return &u.(*pulper).mixer
		}
	}
	return nil
}

// SetOverloadTrip trips (true) or resets the overload protection of a
// unit's motor: a unit with a VFD (shredder, press, depackager, belt
// conveyor), a feeder, or a pulper's mixer ("mixer": the first pulper's).
// An injected trip holds until it is reset here; the drive's own I²t trips
// reset when the run command has been off for a second and the motor has
// cooled.
func (l *Line) SetOverloadTrip(unit string, tripped bool) error {
	if d, ok := l.driveOf(unit); ok {
		d.tripHeld, d.tripped = tripped, tripped
		if !tripped {
			d.heat = 0
		}
		return nil
	}
	if u, ok := l.unit(unit, KindFeeder); ok {
		u.(*feeder).motor.tripped = tripped
		return nil
	}
	if m := l.mixerOf(unit); m != nil {
		m.tripped = tripped
		return nil
	}
	allowed := l.driveNames()
	if f := l.namesOf(KindFeeder); f != "none" {
		allowed += ", " + f
	}
	if l.first(KindPulper) != nil {
		allowed += ", " + UnitMixer
	}
	return fmt.Errorf("unit %q has no motor to trip; allowed: %s", unit, allowed)
}

// SetVFDFault sets (true) or resets a fault of a unit's variable-speed
// drive (shredder, press, depackager, belt conveyor): the drive stops and
// reports a fault.
func (l *Line) SetVFDFault(unit string, faulted bool) error {
	if d, ok := l.driveOf(unit); ok {
		d.vfdFault = faulted
		return nil
	}
	return fmt.Errorf("unit %q has no VFD; allowed: %s", unit, l.driveNames())
}

// Coast switches the torque of a unit's drive (shredder, press,
// depackager, belt conveyor) off at once, as a drive does on a coast stop
// (stop category 0, e.g. a fieldbus watchdog set to coast): its running
// feedback drops now, and its speed runs down freely, exponentially with a
// time constant of 0.25 s of plant time to standstill below 0.5 rpm,
// instead of following its ramp (what a dropped run command gives, the
// ramp stop). A drive that is still commanded does not restart by itself:
// the run command must drop and come back, as after a trip. A new start
// ends the coast.
func (l *Line) Coast(unit string) error {
	d, ok := l.driveOf(unit)
	if !ok {
		return fmt.Errorf("unit %q has no drive to coast; allowed: %s", unit, l.driveNames())
	}
	if d.runCmd {
		d.inhibit = true
	}
	d.running, d.startTimer, d.inrushLeft = false, 0, 0
	d.coasting = d.speedRPM != 0
	return nil
}

// Coasting reports whether a unit's drive is coasting to a stop after
// Coast.
func (l *Line) Coasting(unit string) bool {
	d, ok := l.driveOf(unit)
	return ok && d.coasting
}

// shredderNamed returns the shredder named unit.
func (l *Line) shredderNamed(unit string) (*shredder, error) {
	u, ok := l.unit(unit, KindShredder)
	if !ok {
		return nil, fmt.Errorf("unit %q is not a shredder; allowed: %s", unit, l.namesOf(KindShredder))
	}
	return u.(*shredder), nil
}

// StartJam puts a hard object between the first shredder's shafts now, as
// if one had come with the waste (StartJamOn names the shredder). When the
// shafts next turn forwards, the torque builds to stall in 0.2–1 s.
// reversalsToClear > 0 makes exactly that many reversals necessary to free
// it; 0 gives each reversal the model's chance (0.7) of freeing it. A
// shredder that is already jammed stays jammed as it is.
func (l *Line) StartJam(reversalsToClear int) {
	if u := l.first(KindShredder); u != nil {
		u.(*shredder).startJam(max(0, reversalsToClear))
	}
}

// StartJamOn jams the shredder named unit, as StartJam does the first.
func (l *Line) StartJamOn(unit string, reversalsToClear int) error {
	s, err := l.shredderNamed(unit)
	if err == nil {
		s.startJam(max(0, reversalsToClear))
	}
	return err
}

// ClearJam frees every jammed shredder (the object is taken out by hand).
func (l *Line) ClearJam() {
	for _, u := range l.unitsOf(KindShredder) {
		u.(*shredder).jam = jamState{}
	}
}

// ClearJamOn frees the shredder named unit.
func (l *Line) ClearJamOn(unit string) error {
	s, err := l.shredderNamed(unit)
	if err == nil {
		s.jam = jamState{}
	}
	return err
}

// SetHardObjectRate sets how many hard objects arrive per tonne shredded
// (0: none), for every shredder, and draws the mass to the next one afresh.
func (l *Line) SetHardObjectRate(perTonne float64) {
	if math.IsNaN(perTonne) || perTonne < 0 {
		perTonne = 0
	}
	l.hardObjectRate = perTonne
	for _, u := range l.unitsOf(KindShredder) {
		u.(*shredder).drawNextObject()
	}
}

// SetHardObjectRateOn sets how many hard objects per tonne arrive at one
// shredder (a storm on one lane); 0 returns it to the line's rate. It draws
// that shredder's next object afresh.
func (l *Line) SetHardObjectRateOn(unit string, perTonne float64) error {
	s, err := l.shredderNamed(unit)
	if err != nil {
		return err
	}
	if math.IsNaN(perTonne) || perTonne < 0 {
		perTonne = 0
	}
	s.ownRate = perTonne
	s.drawNextObject()
	return nil
}

// UnitsOfKind returns the names of the units of a kind, upstream first.
func (l *Line) UnitsOfKind(kind string) []string {
	var out []string
	for _, u := range l.unitsOf(kind) {
		out = append(out, u.base().name)
	}
	return out
}

// HardObjectRate returns the hard objects per tonne now in force.
func (l *Line) HardObjectRate() float64 { return l.hardObjectRate }

// SetWaterValveStuck sticks the first pulper's dilution water valve open
// at flowKgPerS (kg/s), whatever it is commanded: the pulper fills towards
// high-high and spills over its weir. 0 frees the valve.
func (l *Line) SetWaterValveStuck(flowKgPerS float64) {
	if u := l.first(KindPulper); u != nil {
		_ = l.SetWaterValveStuckOn(u.base().name, flowKgPerS)
	}
}

// SetWaterValveStuckOn sticks the water valve of the pulper named unit.
func (l *Line) SetWaterValveStuckOn(unit string, flowKgPerS float64) error {
	u, ok := l.unit(unit, KindPulper)
	if !ok {
		return fmt.Errorf("unit %q is not a pulper; allowed: %s", unit, l.namesOf(KindPulper))
	}
	if math.IsNaN(flowKgPerS) || flowKgPerS < 0 {
		flowKgPerS = 0
	}
	u.(*pulper).waterStuck = flowKgPerS
	return nil
}

// SetFiltratePumpFailed stops (true) or restores the first transfer pump
// (on the default layout the filtrate tank's): the tank fills to
// high-high and spills to the drain.
func (l *Line) SetFiltratePumpFailed(failed bool) {
	if ps := l.pumps(false); len(ps) > 0 {
		ps[0].failed = failed
	}
}

// SetPumpFailed stops (true) or restores the pump named unit: it reports
// a fault and pumps nothing until restored (a commanded pump then needs
// its command to drop and come back).
func (l *Line) SetPumpFailed(unit string, failed bool) error {
	u, ok := l.unit(unit, KindPump)
	if !ok {
		return fmt.Errorf("unit %q is not a pump; allowed: %s", unit, l.namesOf(KindPump))
	}
	u.(*pump).failed = failed
	return nil
}

// Tip adds kg of waste of the current class to the first reception's
// hopper at once (a truck unloading with the door shut, for tests and
// scenarios).
func (l *Line) Tip(kg float64) {
	if u := l.first(KindReception); u != nil {
		_ = l.TipInto(u.base().name, kg)
	}
}

// TipInto adds kg of waste to the hopper of the reception named unit.
func (l *Line) TipInto(unit string, kg float64) error {
	u, ok := l.unit(unit, KindReception)
	if !ok {
		return fmt.Errorf("unit %q is not a reception; allowed: %s", unit, l.namesOf(KindReception))
	}
	if kg > 0 && !math.IsInf(kg, 0) {
		u.(*reception).tip(kg)
	}
	return nil
}

// SensorFaultKind is how an injected sensor fault corrupts a reading.
type SensorFaultKind int

// Sensor fault kinds.
const (
	SensorStuck      SensorFaultKind = iota + 1 // the reading freezes
	SensorDrift                                 // the reading drifts away from the truth at a constant rate
	SensorNoise                                 // white noise is added to the reading
	SensorOutOfRange                            // the reading is a fixed value outside the instrument's range
)

// SensorFault is an injected fault of one measurement.
type SensorFault struct {
	Kind SensorFaultKind
	// Value is what a stuck sensor reads (NaN: the reading when the fault
	// is injected) and what an out-of-range sensor reads.
	Value float64
	// DriftPerS is the drift rate in the reading's units per second of
	// plant time.
	DriftPerS float64
	// NoiseSD is the standard deviation of the added noise, in the
	// reading's units; a new value is drawn every substep.
	NoiseSD float64
}

type sensorFault struct {
	role   string
	spec   SensorFault
	offset float64 // drift accumulated, or the current noise sample
}

// SetSensorFault corrupts the reading of a measurement role (not a command
// or setpoint) until ClearSensorFault. Get returns the corrupted reading;
// Truth the model's value. A new fault on a role replaces the old one.
func (l *Line) SetSensorFault(role string, f SensorFault) error {
	r, ok := l.roles[role]
	switch {
	case !ok:
		return fmt.Errorf("role %q is not simulated", role)
	case r.set != nil || r.internal:
		return fmt.Errorf("role %q is not a measurement; sensor faults apply to readings", role)
	case f.Kind < SensorStuck || f.Kind > SensorOutOfRange:
		return fmt.Errorf("sensor fault kind %d is not known", f.Kind)
	case f.Kind == SensorOutOfRange && (math.IsNaN(f.Value) || math.IsInf(f.Value, 0)):
		return fmt.Errorf("an out-of-range fault needs a finite value")
	case math.IsNaN(f.DriftPerS) || math.IsInf(f.DriftPerS, 0) || math.IsNaN(f.NoiseSD) || f.NoiseSD < 0 || math.IsInf(f.NoiseSD, 0):
		return fmt.Errorf("drift rate and noise must be finite (noise ≥ 0)")
	}
	if f.Kind == SensorStuck && math.IsNaN(f.Value) {
		f.Value = r.get()
	}
	l.ClearSensorFault(role)
	sf := &sensorFault{role: role, spec: f}
	if l.sensors == nil {
		l.sensors = map[string]*sensorFault{}
	}
	l.sensors[role] = sf
	l.sensorOrder = append(l.sensorOrder, sf)
	return nil
}

// ClearSensorFault restores a role's true reading.
func (l *Line) ClearSensorFault(role string) {
	if l.sensors[role] == nil {
		return
	}
	delete(l.sensors, role)
	for i, sf := range l.sensorOrder {
		if sf.role == role {
			l.sensorOrder = append(l.sensorOrder[:i], l.sensorOrder[i+1:]...)
			break
		}
	}
}

func (l *Line) updateSensorFaults(h float64) {
	for _, sf := range l.sensorOrder {
		switch sf.spec.Kind {
		case SensorDrift:
			sf.offset += sf.spec.DriftPerS * h
		case SensorNoise:
			sf.offset = sf.spec.NoiseSD * l.faultRng.NormFloat64()
		}
	}
}

// read applies a sensor fault to the true value v.
func (sf *sensorFault) read(v float64) float64 {
	switch sf.spec.Kind {
	case SensorStuck, SensorOutOfRange:
		return sf.spec.Value
	}
	return v + sf.offset
}
