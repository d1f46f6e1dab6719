package testrig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua/ua"
	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// FaultKind names a kind of fault the rig can inject.
type FaultKind string

// Fault kinds. Faults of a device front act on the wire; faults of a sensor
// corrupt one reading; faults of the plant act on the model. Each can be
// cleared, which restores normal service.
const (
	// FaultStopAnswering: the device (Target) accepts connections but
	// answers nothing: requests time out. Clearing closes the connections
	// that were held (as a device that restarts does); new ones are
	// served normally.
	FaultStopAnswering FaultKind = "stop_answering"
	// FaultDisconnect: the device closes every connection, and each new
	// one as soon as it sends a request (Modbus) or connects (OPC UA).
	FaultDisconnect FaultKind = "disconnect"
	// FaultSlow: every response of the device is delayed by Delay (wall
	// time: the wire runs on wall time; default 1s).
	FaultSlow FaultKind = "slow"
	// FaultException: the Modbus device answers every request with the
	// exception Code (default 4, server device failure).
	FaultException FaultKind = "exception"
	// FaultBadStatus: the OPC UA device (Target), or one node of it
	// (Target a tag it serves), returns Status (default BadDeviceFailure)
	// instead of values, in reads and subscriptions.
	FaultBadStatus FaultKind = "bad_status"

	// FaultSensorStuck: the reading of Target (a tag or role) freezes at
	// Value, or where it was.
	FaultSensorStuck FaultKind = "sensor_stuck"
	// FaultSensorDrift: the reading drifts by PerMinute units per minute
	// of plant time (default 5 % of the point's range, else 1).
	FaultSensorDrift FaultKind = "sensor_drift"
	// FaultSensorNoise: noise of standard deviation SD is added to the
	// reading (default 2 % of the point's range, else 1).
	FaultSensorNoise FaultKind = "sensor_noise"
	// FaultSensorOutOfRange: the reading is Value, by default as far above
	// the point's configured range as the range is wide (1e6 without one).
	FaultSensorOutOfRange FaultKind = "sensor_out_of_range"

	// FaultJam: a hard object jams the shredder now. With Reversals > 0
	// exactly that many reversals free it; else each reversal frees it
	// with probability 0.7. Clearing takes the object out by hand.
	FaultJam FaultKind = "jam"
	// FaultJamStorm: hard objects arrive at PerTonne per tonne shredded
	// (default 300: one every ~3 kg), so the shredder jams again soon
	// after every reversal. Clearing restores the normal rate and frees
	// the shredder.
	FaultJamStorm FaultKind = "jam_storm"
	// FaultOverloadTrip: the overload protection of a unit's motor
	// (Target: shredder, press, feeder or mixer) trips; the drive stops
	// and reports a fault until cleared.
	FaultOverloadTrip FaultKind = "overload_trip"
	// FaultVFDFault: a unit's VFD (Target: shredder or press) faults.
	FaultVFDFault FaultKind = "vfd_fault"
	// FaultEStop: the e-stop is pressed: every drive stops and
	// line.estop_ok reads 0. Clearing releases it; drives need a new run
	// command.
	FaultEStop FaultKind = "estop"
	// FaultGuardOpen: the shredder's guard door opens: the shredder and
	// the feeder stop; shredder.guard_closed reads 0.
	FaultGuardOpen FaultKind = "guard_open"
	// FaultLevelHH: a tank fills to high-high. Target pulper (the
	// default): the dilution water valve sticks open at Flow kg/s
	// (default 20) and the pulper fills until it spills over its weir.
	// Target filtrate: the filtrate transfer pump fails and the tank
	// fills until it spills.
	FaultLevelHH FaultKind = "level_hh"
)

// FaultKindInfo describes one fault kind for people: what it does, what it
// targets and which parameters it takes.
type FaultKindInfo struct {
	Kind   FaultKind `json:"kind"`
	Target string    `json:"target"`
	Params string    `json:"params,omitempty"`
	Doc    string    `json:"doc"`
}

// FaultKinds lists every fault kind, in a fixed order.
func FaultKinds() []FaultKindInfo {
	return []FaultKindInfo{
		{FaultStopAnswering, "device", "", "device accepts connections but answers nothing (requests time out)"},
		{FaultDisconnect, "device", "", "device closes every connection, and each new one"},
		{FaultSlow, "device", "delay (wall time, default 1s)", "every response is delayed"},
		{FaultException, "Modbus device", "code (1-11, default 4)", "every request gets a Modbus exception"},
		{FaultBadStatus, "OPC UA device, or a tag it serves", "status (name or 0x…, default BadDeviceFailure)", "values come with a bad status code"},
		{FaultSensorStuck, "tag or role", "value (default: the reading now)", "the reading freezes"},
		{FaultSensorDrift, "tag or role", "per_minute (default 5 % of the point's range)", "the reading drifts"},
		{FaultSensorNoise, "tag or role", "sd (default 2 % of the point's range)", "noise is added to the reading"},
		{FaultSensorOutOfRange, "tag or role", "value (default: above the point's range)", "the reading is out of range"},
		{FaultJam, "shredder (default)", "reversals (default 0: each frees it with p 0.7)", "a hard object jams the shredder"},
		{FaultJamStorm, "shredder (default)", "per_tonne (default 300)", "hard objects keep jamming the shredder"},
		{FaultOverloadTrip, "shredder, press, feeder or mixer", "", "the motor's overload protection trips"},
		{FaultVFDFault, "shredder or press", "", "the variable-speed drive faults"},
		{FaultEStop, "(none)", "", "the e-stop is pressed: every drive stops"},
		{FaultGuardOpen, "shredder (default)", "", "the shredder's guard door opens: shredder and feeder stop"},
		{FaultLevelHH, "pulper (default) or filtrate", "flow (kg/s, pulper, default 20)", "a tank fills to high-high and spills"},
	}
}

// FaultSpec says which fault to inject and how. Kind is required; which
// other fields apply depends on the kind (see FaultKinds and the kinds'
// documentation). In JSON, Delay is a Go duration string ("1.5s").
type FaultSpec struct {
	Kind   FaultKind `yaml:"kind"`
	Target string    `yaml:"target,omitempty"`
	// Delay is the extra response time of a slow device, in wall time.
	Delay time.Duration `yaml:"delay,omitempty"`
	// Code is the Modbus exception code of an exception fault.
	Code int `yaml:"code,omitempty"`
	// Status is the OPC UA status of a bad_status fault: a name such as
	// BadSensorFailure, or a number such as 0x808C0000.
	Status string `yaml:"status,omitempty"`
	// Value is what a stuck or out-of-range sensor reads, in engineering
	// units.
	Value *float64 `yaml:"value,omitempty"`
	// PerMinute is a drifting sensor's rate, in engineering units per
	// minute of plant time.
	PerMinute float64 `yaml:"per_minute,omitempty"`
	// SD is a noisy sensor's standard deviation, in engineering units.
	SD float64 `yaml:"sd,omitempty"`
	// PerTonne is the hard-object rate of a jam storm.
	PerTonne float64 `yaml:"per_tonne,omitempty"`
	// Reversals is how many reversals free an injected jam (0: random).
	Reversals int `yaml:"reversals,omitempty"`
	// Flow is the stuck water valve's flow of a pulper level_hh fault, kg/s.
	Flow float64 `yaml:"flow,omitempty"`
}

type faultSpecJSON struct {
	Kind      FaultKind `json:"kind"`
	Target    string    `json:"target,omitempty"`
	Delay     string    `json:"delay,omitempty"`
	Code      int       `json:"code,omitempty"`
	Status    string    `json:"status,omitempty"`
	Value     *float64  `json:"value,omitempty"`
	PerMinute float64   `json:"per_minute,omitempty"`
	SD        float64   `json:"sd,omitempty"`
	PerTonne  float64   `json:"per_tonne,omitempty"`
	Reversals int       `json:"reversals,omitempty"`
	Flow      float64   `json:"flow,omitempty"`
}

// MarshalJSON writes the spec with Delay as a duration string.
func (s FaultSpec) MarshalJSON() ([]byte, error) {
	j := faultSpecJSON{Kind: s.Kind, Target: s.Target, Code: s.Code, Status: s.Status, Value: s.Value,
		PerMinute: s.PerMinute, SD: s.SD, PerTonne: s.PerTonne, Reversals: s.Reversals, Flow: s.Flow}
	if s.Delay != 0 {
		j.Delay = s.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a spec written by MarshalJSON; unknown keys are
// errors, so that a misspelt parameter is not silently ignored.
func (s *FaultSpec) UnmarshalJSON(b []byte) error {
	var j faultSpecJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*s = FaultSpec{Kind: j.Kind, Target: j.Target, Code: j.Code, Status: j.Status, Value: j.Value,
		PerMinute: j.PerMinute, SD: j.SD, PerTonne: j.PerTonne, Reversals: j.Reversals, Flow: j.Flow}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("delay %q: %w", j.Delay, err)
		}
		s.Delay = d
	}
	return nil
}

// Fault is an injected fault.
type Fault struct {
	// ID names the fault for clearing it ("f1", "f2", …).
	ID   string    `json:"id"`
	Spec FaultSpec `json:"spec"`
	// Since is the plant time it was injected.
	Since time.Time `json:"since"`
	// Description says in words what it does, with its defaults filled in.
	Description string `json:"description"`
}

// ErrFaultNotFound is returned when clearing a fault that is not active.
var ErrFaultNotFound = errors.New("testrig: no such fault")

// faultSet holds the injected faults and the state the device fronts
// consult on every request.
type faultSet struct {
	rig *Rig

	// injectMu serializes Inject and Clear, which change the model and
	// notify OPC UA subscribers outside mu.
	injectMu sync.Mutex

	// mu guards the fields below. It is a leaf lock.
	mu     sync.Mutex
	next   int
	active []*activeFault
	net    map[string]*netFault    // by device name
	conns  map[string][]*faultConn // OPC UA client connections by device
	quit   chan struct{}           // closed by shutdown: release every held request
}

// activeFault is a fault with what is needed to undo it.
type activeFault struct {
	Fault
	device string // device of a front fault
	role   string // role of a sensor fault
	tag    string // tag of a one-node bad_status fault
	// applyFn and undoModel change the model and revert the change, for
	// faults of the plant and of sensors; they run under Rig.mu.
	applyFn   func(l *physics.Line) error
	undoModel func(l *physics.Line)
	status    ua.StatusCode
	excepErr  error
	release   chan struct{} // stop_answering: closed when cleared
}

// netFault is the front state of one device, derived from the active
// faults.
type netFault struct {
	release    chan struct{} // non-nil while the device does not answer
	disconnect bool
	delay      time.Duration
	exception  error
	status     ua.StatusCode            // device-wide bad status (0: none)
	tagStatus  map[string]ua.StatusCode // one-node bad status by tag
}

func newFaultSet(r *Rig) *faultSet {
	return &faultSet{rig: r, net: map[string]*netFault{}, conns: map[string][]*faultConn{}, quit: make(chan struct{})}
}

// shutdown releases every request a fault holds, for Rig.Stop.
func (fs *faultSet) shutdown() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	select {
	case <-fs.quit:
	default:
		close(fs.quit)
	}
}

// Faults returns the active faults in injection order.
func (r *Rig) Faults() []Fault {
	fs := r.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.active))
	for i, a := range fs.active {
		out[i] = a.Fault
	}
	return out
}

// Inject injects a fault and returns it with its ID. It checks the spec
// first and returns an error, injecting nothing, when the kind is unknown,
// the target does not exist or does not fit the kind, a parameter is out of
// range, or the same fault is already active.
func (r *Rig) Inject(spec FaultSpec) (Fault, error) {
	fs := r.faults
	fs.injectMu.Lock()
	defer fs.injectMu.Unlock()
	a, err := r.prepare(spec)
	if err != nil {
		return Fault{}, fmt.Errorf("testrig: fault %s: %w", spec.Kind, err)
	}
	fs.mu.Lock()
	for _, o := range fs.active {
		if o.Spec.Kind == a.Spec.Kind && o.Spec.Target == a.Spec.Target ||
			a.role != "" && o.role == a.role {
			fs.mu.Unlock()
			return Fault{}, fmt.Errorf("testrig: fault %s on %q: already active as %s", spec.Kind, a.Spec.Target, o.ID)
		}
	}
	fs.next++
	a.ID = "f" + strconv.Itoa(fs.next)
	fs.mu.Unlock()

	r.mu.Lock()
	a.Since = r.plantNow
	var applyErr error
	if a.applyFn != nil {
		applyErr = a.applyFn(r.line)
	}
	r.mu.Unlock()
	if applyErr != nil {
		return Fault{}, fmt.Errorf("testrig: fault %s: %w", spec.Kind, applyErr)
	}

	fs.mu.Lock()
	fs.active = append(fs.active, a)
	fs.rebuild()
	var closing []*faultConn
	if a.Spec.Kind == FaultDisconnect {
		closing = slices.Clone(fs.conns[a.device])
	}
	fs.mu.Unlock()
	for _, c := range closing {
		c.Close()
	}
	if a.Spec.Kind == FaultBadStatus {
		r.notifyDevice(a.device)
	}
	return a.Fault, nil
}

// Clear clears the fault with id and returns it; ErrFaultNotFound when no
// such fault is active.
func (r *Rig) Clear(id string) (Fault, error) {
	fs := r.faults
	fs.injectMu.Lock()
	defer fs.injectMu.Unlock()
	fs.mu.Lock()
	i := slices.IndexFunc(fs.active, func(a *activeFault) bool { return a.ID == id })
	if i < 0 {
		fs.mu.Unlock()
		return Fault{}, fmt.Errorf("%w: %q", ErrFaultNotFound, id)
	}
	a := fs.active[i]
	fs.active = slices.Delete(fs.active, i, i+1)
	if a.release != nil {
		close(a.release)
	}
	fs.rebuild()
	fs.mu.Unlock()
	if a.undoModel != nil {
		r.mu.Lock()
		a.undoModel(r.line)
		r.mu.Unlock()
	}
	if a.Spec.Kind == FaultBadStatus {
		r.notifyDevice(a.device)
	}
	return a.Fault, nil
}

// ClearAll clears every active fault, newest first, and returns them.
func (r *Rig) ClearAll() []Fault {
	var out []Fault
	for {
		fs := r.Faults()
		if len(fs) == 0 {
			return out
		}
		if f, err := r.Clear(fs[len(fs)-1].ID); err == nil {
			out = append(out, f)
		}
	}
}

// rebuild derives the per-device front state from the active faults. mu
// must be held.
func (fs *faultSet) rebuild() {
	fs.net = map[string]*netFault{}
	get := func(dev string) *netFault {
		nf := fs.net[dev]
		if nf == nil {
			nf = &netFault{}
			fs.net[dev] = nf
		}
		return nf
	}
	for _, a := range fs.active {
		switch a.Spec.Kind {
		case FaultStopAnswering:
			get(a.device).release = a.release
		case FaultDisconnect:
			get(a.device).disconnect = true
		case FaultSlow:
			get(a.device).delay = a.Spec.Delay
		case FaultException:
			get(a.device).exception = a.excepErr
		case FaultBadStatus:
			nf := get(a.device)
			if a.tag == "" {
				nf.status = a.status
				continue
			}
			if nf.tagStatus == nil {
				nf.tagStatus = map[string]ua.StatusCode{}
			}
			nf.tagStatus[a.tag] = a.status
		}
	}
}

// prepare checks spec against the rig and returns the fault ready to
// apply, with its defaults filled in.
func (r *Rig) prepare(spec FaultSpec) (*activeFault, error) {
	a := &activeFault{Fault: Fault{Spec: spec}}
	s := &a.Spec
	switch s.Kind {
	case FaultStopAnswering, FaultDisconnect, FaultSlow, FaultException, FaultBadStatus:
		if err := r.prepareFront(a); err != nil {
			return nil, err
		}
	case FaultSensorStuck, FaultSensorDrift, FaultSensorNoise, FaultSensorOutOfRange:
		if err := r.prepareSensor(a); err != nil {
			return nil, err
		}
	case FaultJam, FaultJamStorm, FaultGuardOpen:
		if s.Target == "" {
			s.Target = physics.UnitShredder
		}
		if s.Target != physics.UnitShredder {
			return nil, fmt.Errorf("target %q: this fault acts on the shredder", s.Target)
		}
		switch s.Kind {
		case FaultJam:
			if s.Reversals < 0 {
				return nil, fmt.Errorf("reversals %d must be ≥ 0", s.Reversals)
			}
			a.setModel(func(l *physics.Line) { l.StartJam(s.Reversals) }, func(l *physics.Line) { l.ClearJam() })
			a.Description = "a hard object jams the shredder; "
			if s.Reversals > 0 {
				a.Description += fmt.Sprintf("%d reversal(s) free it", s.Reversals)
			} else {
				a.Description += "each reversal frees it with probability 0.7"
			}
		case FaultJamStorm:
			if s.PerTonne == 0 {
				s.PerTonne = 300
			}
			if !(s.PerTonne > 0) || math.IsInf(s.PerTonne, 0) {
				return nil, fmt.Errorf("per_tonne %g must be > 0", s.PerTonne)
			}
			a.setModel(func(l *physics.Line) { l.SetHardObjectRate(s.PerTonne) },
				func(l *physics.Line) { l.SetHardObjectRate(r.baseHardObjectRate()); l.ClearJam() })
			a.Description = fmt.Sprintf("jam storm: %g hard objects per tonne shredded", s.PerTonne)
		case FaultGuardOpen:
			a.setModel(func(l *physics.Line) { l.SetGuardOpen(true) }, func(l *physics.Line) { l.SetGuardOpen(false) })
			a.Description = "the shredder's guard door is open: shredder and feeder stop"
		}
	case FaultOverloadTrip:
		unit := s.Target
		if !slices.Contains([]string{physics.UnitShredder, physics.UnitPress, physics.UnitFeeder, physics.UnitMixer}, unit) {
			return nil, fmt.Errorf("target %q has no motor to trip; allowed: shredder, press, feeder, mixer", unit)
		}
		a.setModel(func(l *physics.Line) { _ = l.SetOverloadTrip(unit, true) }, func(l *physics.Line) { _ = l.SetOverloadTrip(unit, false) })
		a.Description = "the overload protection of the " + unit + " motor trips"
	case FaultVFDFault:
		unit := s.Target
		if unit != physics.UnitShredder && unit != physics.UnitPress {
			return nil, fmt.Errorf("target %q has no VFD; allowed: shredder, press", unit)
		}
		a.setModel(func(l *physics.Line) { _ = l.SetVFDFault(unit, true) }, func(l *physics.Line) { _ = l.SetVFDFault(unit, false) })
		a.Description = "the " + unit + " VFD faults"
	case FaultEStop:
		if s.Target != "" {
			return nil, fmt.Errorf("target %q: the e-stop takes no target", s.Target)
		}
		a.setModel(func(l *physics.Line) { l.SetEStop(true) }, func(l *physics.Line) { l.SetEStop(false) })
		a.Description = "the e-stop is pressed: every drive stops"
	case FaultLevelHH:
		switch s.Target {
		case "", "pulper":
			s.Target = "pulper"
			if s.Flow == 0 {
				s.Flow = 20
			}
			if !(s.Flow > 0) || s.Flow > 100 {
				return nil, fmt.Errorf("flow %g kg/s must be in (0, 100]", s.Flow)
			}
			a.setModel(func(l *physics.Line) { l.SetWaterValveStuck(s.Flow) }, func(l *physics.Line) { l.SetWaterValveStuck(0) })
			a.Description = fmt.Sprintf("the dilution water valve sticks open at %g kg/s: the pulper fills to high-high", s.Flow)
		case "filtrate":
			if s.Flow != 0 {
				return nil, fmt.Errorf("flow applies to the pulper, not the filtrate tank")
			}
			a.setModel(func(l *physics.Line) { l.SetFiltratePumpFailed(true) }, func(l *physics.Line) { l.SetFiltratePumpFailed(false) })
			a.Description = "the filtrate transfer pump fails: the filtrate tank fills to high-high"
		default:
			return nil, fmt.Errorf("target %q: allowed: pulper, filtrate", s.Target)
		}
	default:
		names := make([]string, 0, len(FaultKinds()))
		for _, k := range FaultKinds() {
			names = append(names, string(k.Kind))
		}
		return nil, fmt.Errorf("kind %q is not known; allowed: %s", s.Kind, strings.Join(names, ", "))
	}
	if err := a.unusedParams(); err != nil {
		return nil, err
	}
	return a, nil
}

// setModel sets the fault's change of the model and its undoing.
func (a *activeFault) setModel(apply, undo func(l *physics.Line)) {
	a.applyFn = func(l *physics.Line) error { apply(l); return nil }
	a.undoModel = undo
}

// unusedParams rejects parameters the kind does not take, so that a
// misplaced one is not silently ignored.
func (a *activeFault) unusedParams() error {
	s := &a.Spec
	type param struct {
		name  string
		set   bool
		kinds []FaultKind
	}
	for _, p := range []param{
		{"delay", s.Delay != 0, []FaultKind{FaultSlow}},
		{"code", s.Code != 0, []FaultKind{FaultException}},
		{"status", s.Status != "", []FaultKind{FaultBadStatus}},
		{"value", s.Value != nil, []FaultKind{FaultSensorStuck, FaultSensorOutOfRange}},
		{"per_minute", s.PerMinute != 0, []FaultKind{FaultSensorDrift}},
		{"sd", s.SD != 0, []FaultKind{FaultSensorNoise}},
		{"per_tonne", s.PerTonne != 0, []FaultKind{FaultJamStorm}},
		{"reversals", s.Reversals != 0, []FaultKind{FaultJam}},
		{"flow", s.Flow != 0, []FaultKind{FaultLevelHH}},
	} {
		if p.set && !slices.Contains(p.kinds, s.Kind) {
			return fmt.Errorf("parameter %s does not apply to %s", p.name, s.Kind)
		}
	}
	return nil
}

// baseHardObjectRate is the hard-object rate without a jam storm. Rig.mu
// must be held.
func (r *Rig) baseHardObjectRate() float64 {
	if r.jams != JamsRandom {
		return 0
	}
	p, _ := r.line.Class().Properties()
	return p.HardObjectsPerTonne
}

// prepareFront checks a fault of a device front.
func (r *Rig) prepareFront(a *activeFault) error {
	s := &a.Spec
	dev := r.device(s.Target)
	if dev == nil && s.Kind == FaultBadStatus {
		// One node: a tag served by an OPC UA device.
		if d, p := r.pointByTag(s.Target); d != nil {
			dev, a.tag = d, p.Tag
		}
	}
	if dev == nil {
		return fmt.Errorf("target %q is not a simulated device; devices: %s", s.Target, strings.Join(r.deviceNames(), ", "))
	}
	a.device = dev.Name
	switch s.Kind {
	case FaultStopAnswering:
		a.release = make(chan struct{})
		a.Description = dev.Name + " stops answering (requests time out)"
	case FaultDisconnect:
		a.Description = dev.Name + " closes every connection"
	case FaultSlow:
		if s.Delay == 0 {
			s.Delay = time.Second
		}
		if s.Delay < 0 || s.Delay > 10*time.Minute {
			return fmt.Errorf("delay %v must be in (0, 10m]", s.Delay)
		}
		a.Description = fmt.Sprintf("%s answers %v late", dev.Name, s.Delay)
	case FaultException:
		if dev.Protocol != drivers.ProtocolModbusTCP {
			return fmt.Errorf("target %q is an OPC UA device; exceptions are Modbus (use bad_status)", s.Target)
		}
		if s.Code == 0 {
			s.Code = 4
		}
		err, ok := modbusExceptions[s.Code]
		if !ok {
			return fmt.Errorf("code %d is not a Modbus exception; allowed: 1, 2, 3, 4, 5, 6, 8, 10, 11", s.Code)
		}
		a.excepErr = err
		a.Description = fmt.Sprintf("%s answers every request with exception %d (%v)", dev.Name, s.Code, err)
	case FaultBadStatus:
		if dev.Protocol != drivers.ProtocolOPCUA {
			return fmt.Errorf("target %q is a Modbus device; bad status is OPC UA (use exception)", s.Target)
		}
		if s.Status == "" {
			s.Status = "BadDeviceFailure"
		}
		st, err := parseStatus(s.Status)
		if err != nil {
			return err
		}
		a.status = st
		what := dev.Name
		if a.tag != "" {
			what = a.tag + " on " + dev.Name
		}
		a.Description = fmt.Sprintf("%s reads with status %s", what, statusName(st))
	}
	return nil
}

// modbusExceptions maps exception codes to the errors simonvetter's server
// turns into them.
var modbusExceptions = map[int]error{
	1: modbus.ErrIllegalFunction, 2: modbus.ErrIllegalDataAddress, 3: modbus.ErrIllegalDataValue,
	4: modbus.ErrServerDeviceFailure, 5: modbus.ErrAcknowledge, 6: modbus.ErrServerDeviceBusy,
	8: modbus.ErrMemoryParityError, 10: modbus.ErrGWPathUnavailable, 11: modbus.ErrGWTargetFailedToRespond,
}

// parseStatus reads an OPC UA status code by name (with or without the
// Status prefix) or number. Good codes are refused: the fault is a bad
// (or uncertain) status.
func parseStatus(s string) (ua.StatusCode, error) {
	var st ua.StatusCode
	if n, err := strconv.ParseUint(s, 0, 32); err == nil {
		st = ua.StatusCode(n)
	} else {
		name := strings.TrimPrefix(s, "Status")
		found := false
		for code, d := range ua.StatusCodes {
			if strings.TrimPrefix(d.Name, "Status") == name {
				st, found = code, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("status %q is not an OPC UA status name (e.g. BadSensorFailure) or number (e.g. 0x808C0000)", s)
		}
	}
	if uint32(st)&0xC0000000 == 0 {
		return 0, fmt.Errorf("status %s is good; a bad_status fault needs a Bad or Uncertain code", statusName(st))
	}
	return st, nil
}

func statusName(st ua.StatusCode) string {
	if d, ok := ua.StatusCodes[st]; ok {
		return strings.TrimPrefix(d.Name, "Status")
	}
	return fmt.Sprintf("0x%08X", uint32(st))
}

// prepareSensor checks a sensor fault and fills in its defaults from the
// point's configured range.
func (r *Rig) prepareSensor(a *activeFault) error {
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
	span, lo, hi := 0.0, 0.0, 0.0
	if pt != nil && pt.Max > pt.Min {
		lo, hi = pt.Min, pt.Max
		span = hi - lo
	}
	f := physics.SensorFault{Value: math.NaN()}
	switch s.Kind {
	case FaultSensorStuck:
		f.Kind = physics.SensorStuck
		if s.Value != nil {
			f.Value = *s.Value
			a.Description = fmt.Sprintf("%s sticks at %g", s.Target, *s.Value)
		} else {
			a.Description = s.Target + " sticks where it is"
		}
	case FaultSensorDrift:
		f.Kind = physics.SensorDrift
		if s.PerMinute == 0 {
			s.PerMinute = 1
			if span > 0 {
				s.PerMinute = 0.05 * span
			}
		}
		f.DriftPerS = s.PerMinute / 60
		a.Description = fmt.Sprintf("%s drifts by %g per minute", s.Target, s.PerMinute)
	case FaultSensorNoise:
		f.Kind = physics.SensorNoise
		if s.SD == 0 {
			s.SD = 1
			if span > 0 {
				s.SD = 0.02 * span
			}
		}
		f.NoiseSD = s.SD
		a.Description = fmt.Sprintf("%s is noisy (sd %g)", s.Target, s.SD)
	case FaultSensorOutOfRange:
		f.Kind = physics.SensorOutOfRange
		switch {
		case s.Value != nil:
			f.Value = *s.Value
		case span > 0:
			f.Value = hi + span
		default:
			f.Value = 1e6
		}
		v := f.Value
		s.Value = &v
		a.Description = fmt.Sprintf("%s reads %g (out of range)", s.Target, v)
	}
	if pt != nil && pt.Max > pt.Min && s.Kind == FaultSensorOutOfRange && f.Value >= lo && f.Value <= hi {
		return fmt.Errorf("value %g is inside %s's range [%g, %g]", f.Value, s.Target, lo, hi)
	}
	a.applyFn = func(l *physics.Line) error { return l.SetSensorFault(role, f) }
	a.undoModel = func(l *physics.Line) { l.ClearSensorFault(role) }
	return nil
}

// device returns the simulated device named name, or nil.
func (r *Rig) device(name string) *drivers.DeviceConfig {
	for i := range r.devices {
		if r.devices[i].Name == name {
			return &r.devices[i]
		}
	}
	return nil
}

func (r *Rig) deviceNames() []string {
	var names []string
	for _, d := range r.devices {
		names = append(names, d.Name)
	}
	return names
}

// pointByTag returns the simulated device serving tag and its point.
func (r *Rig) pointByTag(tag string) (*drivers.DeviceConfig, *drivers.PointConfig) {
	for i := range r.devices {
		for j := range r.devices[i].Points {
			if r.devices[i].Points[j].Tag == tag {
				return &r.devices[i], &r.devices[i].Points[j]
			}
		}
	}
	return nil, nil
}

// pointByRole returns the first served point bound to role.
func (r *Rig) pointByRole(role string) *drivers.PointConfig {
	for i := range r.devices {
		for j := range r.devices[i].Points {
			if r.devices[i].Points[j].EffectiveRole() == role {
				return &r.devices[i].Points[j]
			}
		}
	}
	return nil
}

// notifyDevice tells an OPC UA device's subscribers that every value
// changed (its status did), so that they read the values again.
func (r *Rig) notifyDevice(device string) {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.state != stateRunning {
		return
	}
	for _, d := range r.uaDevices {
		if d.name == device && d.srv != nil {
			for _, v := range d.vars {
				notify(d.srv, v)
			}
		}
	}
}

// modbusRequest applies the faults of device to one Modbus request: it
// holds the request while the device does not answer, delays it while the
// device is slow, and returns the error the handler must return instead of
// serving it (modbus.ErrProtocolError makes the server close the
// connection), or nil to serve it.
func (fs *faultSet) modbusRequest(device string) error {
	fs.mu.Lock()
	nf := fs.net[device]
	quit := fs.quit
	fs.mu.Unlock()
	if nf == nil {
		return nil
	}
	if nf.release != nil {
		select {
		case <-nf.release:
		case <-quit:
		}
		// The device comes back as after a restart: the connection the
		// request came on is gone.
		return modbus.ErrProtocolError
	}
	if nf.disconnect {
		return modbus.ErrProtocolError
	}
	if nf.delay > 0 {
		t := time.NewTimer(nf.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-quit:
			return modbus.ErrProtocolError
		}
	}
	return nf.exception
}

// uaStatus returns the bad status a fault gives the value of tag on
// device, or StatusOK.
func (fs *faultSet) uaStatus(device, tag string) ua.StatusCode {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	nf := fs.net[device]
	if nf == nil {
		return ua.StatusOK
	}
	if st, ok := nf.tagStatus[tag]; ok {
		return st
	}
	if nf.status != 0 {
		return nf.status
	}
	return ua.StatusOK
}

// wrapListener makes every connection accepted on ln for device subject to
// the device's faults (stop answering, disconnect, slow).
func (fs *faultSet) wrapListener(device string, ln net.Listener) net.Listener {
	return &faultListener{Listener: ln, fs: fs, device: device}
}

type faultListener struct {
	net.Listener
	fs     *faultSet
	device string
}

// Accept returns the next connection, wrapped. While the device has a
// disconnect fault, connections are closed as soon as they are accepted.
func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		fc := &faultConn{Conn: c, fs: l.fs, device: l.device, closed: make(chan struct{})}
		if l.fs.track(fc) {
			return fc, nil
		}
		c.Close()
	}
}

// faultConn is one client connection of a device with faults: every read
// and write passes a gate that applies them.
type faultConn struct {
	net.Conn
	fs        *faultSet
	device    string
	closeOnce sync.Once
	closed    chan struct{}
}

// track records c among its device's connections; false when the device
// drops connections now.
func (fs *faultSet) track(c *faultConn) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if nf := fs.net[c.device]; nf != nil && nf.disconnect {
		return false
	}
	fs.conns[c.device] = append(fs.conns[c.device], c)
	return true
}

func (fs *faultSet) untrack(c *faultConn) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	cs := fs.conns[c.device]
	if i := slices.Index(cs, c); i >= 0 {
		fs.conns[c.device] = slices.Delete(cs, i, i+1)
	}
}

// errFaultClosed is what reads and writes on a connection a fault closed
// return.
var errFaultClosed = errors.New("testrig: connection closed by an injected fault")

// gate applies the device's faults to one transfer: a stall holds it until
// the fault clears and then closes the connection; a disconnect closes it;
// a slow device delays writes (responses).
func (c *faultConn) gate(write bool) error {
	c.fs.mu.Lock()
	nf := c.fs.net[c.device]
	quit := c.fs.quit
	c.fs.mu.Unlock()
	if nf == nil {
		return nil
	}
	if nf.disconnect {
		c.Close()
		return errFaultClosed
	}
	if nf.release != nil {
		select {
		case <-nf.release:
		case <-c.closed:
		case <-quit:
		}
		c.Close()
		return errFaultClosed
	}
	if write && nf.delay > 0 {
		t := time.NewTimer(nf.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closed:
			return errFaultClosed
		case <-quit:
			return errFaultClosed
		}
	}
	return nil
}

// Read reads from the client; bytes that arrive while the device does not
// answer are dropped with the connection.
func (c *faultConn) Read(b []byte) (int, error) {
	if err := c.gate(false); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		if gerr := c.gate(false); gerr != nil {
			return 0, gerr
		}
		// A message from the client reaches the device: due watchdogs
		// trip before it is served, and it kicks a comm_timeout
		// watchdog (watchdog.go).
		c.fs.rig.deviceRequest(c.device)
	}
	return n, err
}

// Write writes to the client, after the device's delay.
func (c *faultConn) Write(b []byte) (int, error) {
	if err := c.gate(true); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// Close closes the connection and wakes a gate waiting on it.
func (c *faultConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.fs.untrack(c)
	})
	return c.Conn.Close()
}
