package testrig

import (
	"fmt"
	"math"
	"strings"

	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// The fault kinds, one descriptor each. Everything else about a kind is
// derived from its entry here: FaultKinds (the control API's list), the
// checks of a FaultSpec (which parameters a kind takes, their defaults,
// ranges and allowed values, the targets of the plant's faults), the JSON
// of FaultSpec, the flags and help of `pretreat rig fault inject`, the
// checks of a scenario's inject steps, and the table in docs/testrig.md
// (TestDocsFaultTable). Adding a kind is adding an entry and its prepare
// function; a parameter no kind had before also needs its field in
// FaultSpec (the YAML of scenarios is decoded into that struct).
var faultKinds = []FaultKindDesc{
	// Faults of a device front act on the wire.
	{
		// Requests time out. Clearing closes the connections that were
		// held (as a device that restarts does); new ones are served
		// normally.
		Kind: FaultStopAnswering, Group: GroupDevice, Target: "device",
		Doc:     "accepts connections, answers nothing: requests time out. Clearing closes the connections it held",
		prepare: prepareStopAnswering,
	},
	{
		// Modbus: each new connection is closed as soon as it sends a
		// request; OPC UA: as soon as it connects.
		Kind: FaultDisconnect, Group: GroupDevice, Target: "device",
		Doc:     "closes every connection, and each new one",
		prepare: prepareDisconnect,
	},
	{
		// The wire runs on wall time, so the delay is wall time.
		Kind: FaultSlow, Group: GroupDevice, Target: "device",
		Params: []FaultParam{{Name: "delay", Type: ParamDuration, Unit: "wall time", Default: "1s", Range: "(0, 10m]",
			Doc: "extra response time"}},
		Doc:     "every response is that late",
		prepare: prepareSlow,
	},
	{
		Kind: FaultException, Group: GroupDevice, Target: "Modbus device",
		Params: []FaultParam{{Name: "code", Type: ParamInt, Default: "4", Values: []string{"1", "2", "3", "4", "5", "6", "8", "10", "11"},
			ValueNoun: "a Modbus exception", Doc: "Modbus exception code (4: server device failure)"}},
		Doc:     "every request gets that Modbus exception",
		prepare: prepareException,
	},
	{
		Kind: FaultBadStatus, Group: GroupDevice, Target: "OPC UA device, or a tag it serves",
		Params: []FaultParam{{Name: "status", Type: ParamString, Default: "BadDeviceFailure",
			Doc: "OPC UA status: a name (BadSensorFailure) or number (0x808C0000), Bad or Uncertain", checkText: checkStatus}},
		Doc:     "values come with that status, in reads and subscriptions",
		prepare: prepareBadStatus,
	},

	// Faults of a sensor corrupt one reading of the model.
	{
		Kind: FaultSensorStuck, Group: GroupSensor, Target: "tag or role",
		Params:  []FaultParam{{Name: "value", Type: ParamFloat, DefaultDoc: "where it is", Doc: "the reading it sticks at"}},
		Doc:     "the reading freezes",
		prepare: prepareSensorStuck,
	},
	{
		// The rate is per minute of plant time.
		Kind: FaultSensorDrift, Group: GroupSensor, Target: "tag or role",
		Params: []FaultParam{{Name: "per_minute", Type: ParamFloat, Unit: "units/min", DefaultDoc: "5 % of the point's range, else 1",
			Doc: "drift rate, plant time"}},
		Doc:     "the reading drifts",
		prepare: prepareSensorDrift,
	},
	{
		Kind: FaultSensorNoise, Group: GroupSensor, Target: "tag or role",
		Params: []FaultParam{{Name: "sd", Type: ParamFloat, Unit: "units", DefaultDoc: "2 % of the point's range, else 1",
			Doc: "standard deviation of the noise"}},
		Doc:     "noise on the reading",
		prepare: prepareSensorNoise,
	},
	{
		Kind: FaultSensorOutOfRange, Group: GroupSensor, Target: "tag or role",
		Params: []FaultParam{{Name: "value", Type: ParamFloat, DefaultDoc: "above the point's range by its width, else 1e6",
			Doc: "the reading, outside the point's range"}},
		Doc:     "the reading is out of range",
		prepare: prepareSensorOutOfRange,
	},

	// Faults of the plant act on the model.
	{
		// With reversals > 0 exactly that many reversals free it; else
		// each one frees it with probability 0.7. Clearing takes the
		// object out by hand.
		Kind: FaultJam, Group: GroupPlant, Target: "a shredder", TargetDefault: physics.UnitShredder,
		Targets: []string{physics.UnitShredder}, UnitKinds: []string{physics.KindShredder}, TargetRefusal: ": this fault acts on a shredder",
		Params: []FaultParam{{Name: "reversals", Type: ParamInt, Range: "≥ 0", DefaultDoc: "0: each frees it with p 0.7",
			Doc: "reversals that free it"}},
		Doc:     "a hard object jams the shredder now (a shredder of several: name it)",
		prepare: prepareJam,
	},
	{
		// 300 per tonne is one every ~3 kg, so the shredder jams again
		// soon after every reversal. Clearing restores the normal rate
		// and frees the shredder.
		Kind: FaultJamStorm, Group: GroupPlant, Target: "a shredder", TargetDefault: physics.UnitShredder,
		Targets: []string{physics.UnitShredder}, UnitKinds: []string{physics.KindShredder}, TargetRefusal: ": this fault acts on a shredder",
		Params: []FaultParam{{Name: "per_tonne", Type: ParamFloat, Unit: "objects/t", Default: "300", Range: "> 0",
			Doc: "hard objects per tonne shredded"}},
		Doc:     "hard objects keep coming",
		prepare: prepareJamStorm,
	},
	{
		// The drive stops and reports a fault until cleared.
		Kind: FaultOverloadTrip, Group: GroupPlant, Target: "unit with a motor",
		Targets:       []string{physics.UnitShredder, physics.UnitPress, physics.UnitFeeder, physics.UnitMixer},
		UnitKinds:     []string{physics.KindShredder, physics.KindScrewPress, physics.KindFeeder, physics.KindBeltConveyor, physics.KindDepackager},
		TargetRefusal: " has no motor to trip",
		Doc:           "the motor's overload trips: stops, fault bit",
		prepare:       prepareOverloadTrip,
	},
	{
		Kind: FaultVFDFault, Group: GroupPlant, Target: "unit with a VFD",
		Targets: []string{physics.UnitShredder, physics.UnitPress}, TargetRefusal: " has no VFD",
		UnitKinds: []string{physics.KindShredder, physics.KindScrewPress, physics.KindBeltConveyor, physics.KindDepackager},
		Doc:       "the VFD faults: stops, fault bit",
		prepare:   prepareVFDFault,
	},
	{
		// Clearing releases it; drives need a new run command.
		Kind: FaultEStop, Group: GroupPlant, Target: "(none)",
		Doc:     "every drive stops, `line.estop_ok` = 0, water valve shuts",
		prepare: prepareEStop,
	},
	{
		Kind: FaultGuardOpen, Group: GroupPlant, Target: "a shredder", TargetDefault: physics.UnitShredder,
		Targets: []string{physics.UnitShredder}, UnitKinds: []string{physics.KindShredder}, TargetRefusal: ": this fault acts on a shredder",
		Doc:     "the shredder and its feeder stop, `<shredder>.guard_closed` = 0",
		prepare: prepareGuardOpen,
	},
	{
		// The pulper fills until it spills over its weir; the filtrate
		// tank until it spills.
		Kind: FaultLevelHH, Group: GroupPlant, Target: "tank", TargetDefault: "pulper",
		Targets: []string{"pulper", "filtrate"},
		Params: []FaultParam{{Name: "flow", Type: ParamFloat, Unit: "kg/s", Default: "20", Range: "(0, 100]", Targets: []string{"pulper"},
			Doc: "flow of the stuck dilution water valve"}},
		Doc: "pulper: the water valve sticks open and the pulper fills over high-high to its weir; " +
			"filtrate: the transfer pump fails (a commanded pump then needs a new command once cleared)",
		prepare: prepareLevelHH,
	},
	{
		// The drive runs on; the belt slips on its pulley and carries
		// that much less. Clearing restores the grip.
		Kind: FaultBeltSlip, Group: GroupPlant, Target: "a belt conveyor", TargetDefault: "conveyor", UnitKinds: []string{physics.KindBeltConveyor},
		Params: []FaultParam{{Name: "keep", Type: ParamFloat, Default: "0.4", Range: "[0, 1)",
			Doc: "share of its speed the belt keeps"}},
		Doc:     "the belt slips: it runs at that share of its speed and carries that much less",
		prepare: prepareBeltSlip,
	},
	{
		// Clearing resets the cord; the drive needs a new run command.
		Kind: FaultPullCord, Group: GroupPlant, Target: "a belt conveyor", TargetDefault: "conveyor", UnitKinds: []string{physics.KindBeltConveyor},
		Doc:     "someone pulls the belt's pull cord: it stops at once, `pull_cord_ok` = 0",
		prepare: preparePullCord,
	},
}

// Fault kinds, for Go callers; faultKinds documents them.
const (
	FaultStopAnswering    FaultKind = "stop_answering"
	FaultDisconnect       FaultKind = "disconnect"
	FaultSlow             FaultKind = "slow"
	FaultException        FaultKind = "exception"
	FaultBadStatus        FaultKind = "bad_status"
	FaultSensorStuck      FaultKind = "sensor_stuck"
	FaultSensorDrift      FaultKind = "sensor_drift"
	FaultSensorNoise      FaultKind = "sensor_noise"
	FaultSensorOutOfRange FaultKind = "sensor_out_of_range"
	FaultJam              FaultKind = "jam"
	FaultJamStorm         FaultKind = "jam_storm"
	FaultOverloadTrip     FaultKind = "overload_trip"
	FaultVFDFault         FaultKind = "vfd_fault"
	FaultBeltSlip         FaultKind = "belt_slip"
	FaultPullCord         FaultKind = "pull_cord"
	FaultEStop            FaultKind = "estop"
	FaultGuardOpen        FaultKind = "guard_open"
	FaultLevelHH          FaultKind = "level_hh"
)

// The prepare functions: each checks a spec (its table checks passed, its
// defaults filled in) against the rig and sets what the fault does: its
// description, its change of the model or of a device's front, and how to
// undo it.

func prepareStopAnswering(r *Rig, a *activeFault) error {
	dev, err := r.frontDevice(a, false)
	if err != nil {
		return err
	}
	release := make(chan struct{})
	a.release = release
	a.front = func(nf *netFault) { nf.release = release }
	a.Description = dev.Name + " stops answering (requests time out)"
	return nil
}

func prepareDisconnect(r *Rig, a *activeFault) error {
	dev, err := r.frontDevice(a, false)
	if err != nil {
		return err
	}
	a.front = func(nf *netFault) { nf.disconnect = true }
	a.closeConns = true
	a.Description = dev.Name + " closes every connection"
	return nil
}

func prepareSlow(r *Rig, a *activeFault) error {
	dev, err := r.frontDevice(a, false)
	if err != nil {
		return err
	}
	delay := a.Spec.Delay
	a.front = func(nf *netFault) { nf.delay = delay }
	a.Description = fmt.Sprintf("%s answers %v late", dev.Name, delay)
	return nil
}

func prepareException(r *Rig, a *activeFault) error {
	s := &a.Spec
	dev, err := r.frontDevice(a, false)
	if err != nil {
		return err
	}
	if dev.Protocol != drivers.ProtocolModbusTCP {
		return fmt.Errorf("target %q is an OPC UA device; exceptions are Modbus (use bad_status)", s.Target)
	}
	excep, ok := modbusExceptions[s.Code]
	if !ok {
		return fmt.Errorf("code %d is not a Modbus exception", s.Code)
	}
	a.front = func(nf *netFault) { nf.exception = excep }
	a.Description = fmt.Sprintf("%s answers every request with exception %d (%v)", dev.Name, s.Code, excep)
	return nil
}

func prepareBadStatus(r *Rig, a *activeFault) error {
	s := &a.Spec
	dev, err := r.frontDevice(a, true)
	if err != nil {
		return err
	}
	if dev.Protocol != drivers.ProtocolOPCUA {
		return fmt.Errorf("target %q is a Modbus device; bad status is OPC UA (use exception)", s.Target)
	}
	st, err := parseStatus(s.Status)
	if err != nil {
		return err
	}
	tag := a.tag
	a.front = func(nf *netFault) {
		if tag == "" {
			nf.status = st
			return
		}
		if nf.tagStatus == nil {
			nf.tagStatus = map[string]ua.StatusCode{}
		}
		nf.tagStatus[tag] = st
	}
	a.notify = true
	what := dev.Name
	if tag != "" {
		what = tag + " on " + dev.Name
	}
	a.Description = fmt.Sprintf("%s reads with status %s", what, statusName(st))
	return nil
}

func prepareSensorStuck(r *Rig, a *activeFault) error {
	return r.sensorFault(a, func(s *FaultSpec, _ pointRange, f *physics.SensorFault) error {
		f.Kind = physics.SensorStuck
		if s.Value != nil {
			f.Value = *s.Value
			a.Description = fmt.Sprintf("%s sticks at %g", s.Target, *s.Value)
		} else {
			a.Description = s.Target + " sticks where it is"
		}
		return nil
	})
}

func prepareSensorDrift(r *Rig, a *activeFault) error {
	return r.sensorFault(a, func(s *FaultSpec, pr pointRange, f *physics.SensorFault) error {
		f.Kind = physics.SensorDrift
		if s.PerMinute == 0 {
			s.PerMinute = pr.share(0.05)
		}
		f.DriftPerS = s.PerMinute / 60
		a.Description = fmt.Sprintf("%s drifts by %g per minute", s.Target, s.PerMinute)
		return nil
	})
}

func prepareSensorNoise(r *Rig, a *activeFault) error {
	return r.sensorFault(a, func(s *FaultSpec, pr pointRange, f *physics.SensorFault) error {
		f.Kind = physics.SensorNoise
		if s.SD == 0 {
			s.SD = pr.share(0.02)
		}
		f.NoiseSD = s.SD
		a.Description = fmt.Sprintf("%s is noisy (sd %g)", s.Target, s.SD)
		return nil
	})
}

func prepareSensorOutOfRange(r *Rig, a *activeFault) error {
	return r.sensorFault(a, func(s *FaultSpec, pr pointRange, f *physics.SensorFault) error {
		f.Kind = physics.SensorOutOfRange
		switch {
		case s.Value != nil:
			f.Value = *s.Value
		case pr.span() > 0:
			f.Value = pr.hi + pr.span()
		default:
			f.Value = 1e6
		}
		v := f.Value
		s.Value = &v
		if pr.span() > 0 && v >= pr.lo && v <= pr.hi {
			return fmt.Errorf("value %g is inside %s's range [%g, %g]", v, s.Target, pr.lo, pr.hi)
		}
		a.Description = fmt.Sprintf("%s reads %g (out of range)", s.Target, v)
		return nil
	})
}

func prepareJam(_ *Rig, a *activeFault) error {
	n, unit := a.Spec.Reversals, a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.StartJamOn(unit, n) }, func(l *physics.Line) { _ = l.ClearJamOn(unit) })
	a.Description = "a hard object jams " + unit + "; "
	if n > 0 {
		a.Description += fmt.Sprintf("%d reversal(s) free it", n)
	} else {
		a.Description += "each reversal frees it with probability 0.7"
	}
	return nil
}

func prepareJamStorm(_ *Rig, a *activeFault) error {
	rate, unit := a.Spec.PerTonne, a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetHardObjectRateOn(unit, rate) },
		func(l *physics.Line) { _ = l.SetHardObjectRateOn(unit, 0); _ = l.ClearJamOn(unit) })
	a.Description = fmt.Sprintf("jam storm on %s: %g hard objects per tonne shredded", unit, rate)
	return nil
}

func prepareBeltSlip(_ *Rig, a *activeFault) error {
	keep, unit := a.Spec.Keep, a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetBeltSlip(unit, keep) }, func(l *physics.Line) { _ = l.SetBeltSlip(unit, 1) })
	a.Description = fmt.Sprintf("the belt of %s slips: it keeps %.0f %% of its speed", unit, 100*keep)
	return nil
}

func preparePullCord(_ *Rig, a *activeFault) error {
	unit := a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetPullCord(unit, true) }, func(l *physics.Line) { _ = l.SetPullCord(unit, false) })
	a.Description = "the pull cord of " + unit + " is pulled"
	return nil
}

func prepareOverloadTrip(_ *Rig, a *activeFault) error {
	unit := a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetOverloadTrip(unit, true) }, func(l *physics.Line) { _ = l.SetOverloadTrip(unit, false) })
	a.Description = "the overload protection of the " + unit + " motor trips"
	return nil
}

func prepareVFDFault(_ *Rig, a *activeFault) error {
	unit := a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetVFDFault(unit, true) }, func(l *physics.Line) { _ = l.SetVFDFault(unit, false) })
	a.Description = "the " + unit + " VFD faults"
	return nil
}

func prepareEStop(_ *Rig, a *activeFault) error {
	a.setModel(func(l *physics.Line) { l.SetEStop(true) }, func(l *physics.Line) { l.SetEStop(false) })
	a.Description = "the e-stop is pressed: every drive stops"
	return nil
}

func prepareGuardOpen(_ *Rig, a *activeFault) error {
	unit := a.Spec.Target
	a.setModel(func(l *physics.Line) { _ = l.SetGuardOpenOn(unit, true) }, func(l *physics.Line) { _ = l.SetGuardOpenOn(unit, false) })
	a.Description = "the guard door of " + unit + " is open: it and its feeder stop"
	return nil
}

func prepareLevelHH(_ *Rig, a *activeFault) error {
	if a.Spec.Target == "filtrate" {
		a.setModel(func(l *physics.Line) { l.SetFiltratePumpFailed(true) }, func(l *physics.Line) { l.SetFiltratePumpFailed(false) })
		a.Description = "the filtrate transfer pump fails: the filtrate tank fills to high-high"
		return nil
	}
	flow := a.Spec.Flow
	a.setModel(func(l *physics.Line) { l.SetWaterValveStuck(flow) }, func(l *physics.Line) { l.SetWaterValveStuck(0) })
	a.Description = fmt.Sprintf("the dilution water valve sticks open at %g kg/s: the pulper fills to high-high", flow)
	return nil
}

// checkStatus checks a bad_status fault's status without a rig.
func checkStatus(s string) error {
	_, err := parseStatus(s)
	return err
}

// pointRange is the configured range of a sensor fault's point; lo and hi
// are 0 when it has none.
type pointRange struct{ lo, hi float64 }

func (p pointRange) span() float64 { return p.hi - p.lo }

// share returns that share of the range, or 1 without one: the default
// size of a drift or noise.
func (p pointRange) share(x float64) float64 {
	if p.span() > 0 {
		return x * p.span()
	}
	return 1
}

// sensorFault resolves a sensor fault's target to a measured role and its
// point's range, lets set fill in the physics fault (and the spec's
// defaults), and sets the fault's change of the model.
func (r *Rig) sensorFault(a *activeFault, set func(s *FaultSpec, pr pointRange, f *physics.SensorFault) error) error {
	s := &a.Spec
	role := s.Target
	var pt *drivers.PointConfig
	if _, p := r.pointByTag(s.Target); p != nil {
		role, pt = p.EffectiveRole(), p
	} else if p := r.pointByRole(s.Target); p != nil {
		pt = p
	}
	r.mu.Lock()
	isMeasurement := r.line.Measurement(role)
	r.mu.Unlock()
	if !isMeasurement {
		return fmt.Errorf("target %q is not a measured tag or role (commands, setpoints and balance variables take no sensor faults)", s.Target)
	}
	a.role = role
	var pr pointRange
	if pt != nil && pt.Max > pt.Min {
		pr = pointRange{pt.Min, pt.Max}
	}
	f := physics.SensorFault{Value: math.NaN()}
	if err := set(s, pr, &f); err != nil {
		return err
	}
	a.applyFn = func(l *physics.Line) error { return l.SetSensorFault(role, f) }
	a.undoModel = func(l *physics.Line) { l.ClearSensorFault(role) }
	return nil
}

// frontDevice resolves a front fault's target to a simulated device (with
// tagOK, also to a tag an OPC UA device serves: one node).
func (r *Rig) frontDevice(a *activeFault, tagOK bool) (*drivers.DeviceConfig, error) {
	s := &a.Spec
	dev := r.device(s.Target)
	if dev == nil && tagOK {
		if d, p := r.pointByTag(s.Target); d != nil {
			dev, a.tag = d, p.Tag
		}
	}
	if dev == nil {
		return nil, fmt.Errorf("target %q is not a simulated device; devices: %s", s.Target, strings.Join(r.deviceNames(), ", "))
	}
	a.device = dev.Name
	return dev, nil
}
