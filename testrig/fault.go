package testrig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"reflect"
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

// FaultKind names a kind of fault the rig can inject. The kinds are
// described in faultKinds (faultkinds.go), one descriptor each.
type FaultKind string

// FaultGroup says where a kind of fault acts.
type FaultGroup string

// Fault groups. Faults of a device front act on the wire; faults of a
// sensor corrupt one reading; faults of the plant act on the model. Each
// can be cleared, which restores normal service.
const (
	GroupDevice FaultGroup = "device"
	GroupSensor FaultGroup = "sensor"
	GroupPlant  FaultGroup = "plant"
)

// ParamType is the type of a fault parameter's value.
type ParamType string

// Parameter types. A duration is written as Go writes one ("1.5s") in
// JSON, YAML and on the command line.
const (
	ParamDuration ParamType = "duration"
	ParamFloat    ParamType = "float"
	ParamInt      ParamType = "int"
	ParamString   ParamType = "string"
)

// FaultKindDesc describes a fault kind: everything the rig, its control
// API, the command line and scenarios know of it comes from here.
type FaultKindDesc struct {
	Kind  FaultKind
	Group FaultGroup
	// Target says, for people, what the fault's target is.
	Target string
	// TargetDefault is the target when none is given.
	TargetDefault string
	// Targets lists the targets of a fault of the plant (nil: it takes
	// none); TargetRefusal says why another is refused. The targets of
	// device and sensor faults are the rig's devices, tags and roles,
	// which the prepare function checks.
	Targets       []string
	TargetRefusal string
	// UnitKinds, when set, makes the target any unit of these kinds on the
	// rig's line (a shredder of two: shredder_a): it is checked against
	// the line's layout when the fault is injected, and Targets lists the
	// sample line's names (and aliases such as mixer) for the docs.
	UnitKinds []string
	// Params are the parameters the kind takes; no other is accepted.
	Params []FaultParam
	// Doc says what the fault does, in a line.
	Doc string

	// prepare checks a spec that passed the table's checks, with the
	// table's defaults filled in, against the rig, and sets the fault's
	// description and what it does.
	prepare func(r *Rig, a *activeFault) error
}

// FaultParam describes a parameter of a fault kind. Its Name is its key in
// JSON and YAML, the name of a FaultSpec field's yaml tag, and, with - for
// _, its command-line flag.
type FaultParam struct {
	Name string
	Type ParamType
	// Unit is the value's unit, for people.
	Unit string
	// Default is the value used when none is given, as text (e.g. "1s");
	// DefaultDoc says it in words when it is not a constant (the prepare
	// function fills it in).
	Default    string
	DefaultDoc string
	// Range bounds a number: "(0, 10m]", "[1, 5]", "> 0", "≥ 0", "< 9",
	// "≤ 9". A bounded number must be finite.
	Range string
	// Values, when set, lists the values allowed; ValueNoun says what an
	// allowed value is, for messages ("a Modbus exception").
	Values    []string
	ValueNoun string
	// Targets, when set, lists the only targets the parameter applies to
	// (its default is filled in only for them).
	Targets []string
	Doc     string

	// checkText, when set, checks a string value further.
	checkText func(string) error
}

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
	out := make([]FaultKindInfo, len(faultKinds))
	for i, d := range faultKinds {
		var ps []string
		for _, p := range d.Params {
			ps = append(ps, p.Text())
		}
		out[i] = FaultKindInfo{Kind: d.Kind, Target: d.TargetText(), Params: strings.Join(ps, "; "), Doc: d.Doc}
	}
	return out
}

// FaultKindDescs returns the descriptors of every fault kind, in the
// order of FaultKinds.
func FaultKindDescs() []FaultKindDesc {
	return slices.Clone(faultKinds)
}

// LookupFaultKind returns the descriptor of kind.
func LookupFaultKind(kind FaultKind) (FaultKindDesc, bool) {
	d := lookupKind(kind)
	if d == nil {
		return FaultKindDesc{}, false
	}
	return *d, true
}

func lookupKind(kind FaultKind) *FaultKindDesc {
	for i := range faultKinds {
		if faultKinds[i].Kind == kind {
			return &faultKinds[i]
		}
	}
	return nil
}

// Param returns the kind's parameter named name.
func (d *FaultKindDesc) Param(name string) (FaultParam, bool) {
	for _, p := range d.Params {
		if p.Name == name {
			return p, true
		}
	}
	return FaultParam{}, false
}

// ParamNames returns the names of the kind's parameters, or "none".
func (d *FaultKindDesc) ParamNames() string {
	if len(d.Params) == 0 {
		return "none"
	}
	names := make([]string, len(d.Params))
	for i, p := range d.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// TargetText says what the kind's target is and its default.
func (d *FaultKindDesc) TargetText() string {
	t := d.Target
	if len(d.Targets) > 1 {
		t += ": " + strings.Join(d.Targets, ", ")
	}
	switch d.TargetDefault {
	case "":
	case d.Target:
		t += " (default)"
	default:
		t += " (default " + d.TargetDefault + ")"
	}
	return t
}

// Text says what the parameter is, for people: "delay (wall time, (0,
// 10m], default 1s): extra response time".
func (p FaultParam) Text() string {
	var q []string
	if p.Unit != "" {
		q = append(q, p.Unit)
	}
	if p.Range != "" {
		q = append(q, p.Range)
	}
	if len(p.Values) > 0 {
		q = append(q, "one of "+strings.Join(p.Values, ", "))
	}
	if len(p.Targets) > 0 {
		q = append(q, strings.Join(p.Targets, ", ")+" only")
	}
	switch {
	case p.Default != "":
		q = append(q, "default "+p.Default)
	case p.DefaultDoc != "":
		q = append(q, "default "+p.DefaultDoc)
	}
	t := p.Name
	if len(q) > 0 {
		t += " (" + strings.Join(q, ", ") + ")"
	}
	return t + ": " + p.Doc
}

// FaultParamNames lists every parameter of any kind once, in the order of
// FaultSpec's fields.
func FaultParamNames() []string {
	return slices.Clone(specParamNames)
}

// FaultParamKinds returns the kinds that take the parameter name, with
// their descriptions of it.
func FaultParamKinds(name string) ([]FaultKind, []FaultParam) {
	var kinds []FaultKind
	var params []FaultParam
	for _, d := range faultKinds {
		if p, ok := d.Param(name); ok {
			kinds = append(kinds, d.Kind)
			params = append(params, p)
		}
	}
	return kinds, params
}

// anyParam returns the first kind's parameter named name.
func anyParam(name string) FaultParam {
	_, ps := FaultParamKinds(name)
	if len(ps) == 0 {
		return FaultParam{Name: name}
	}
	return ps[0]
}

// FaultSpec says which fault to inject and how. Kind is required; which
// other fields apply depends on the kind (see FaultKinds and faultKinds):
// a parameter is given when it is not zero (Value: not nil). In JSON,
// Delay is a Go duration string ("1.5s"). Each parameter field's yaml tag
// is the parameter's name.
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
	// Keep is the share of its speed a slipping belt keeps (belt_slip).
	Keep float64 `yaml:"keep,omitempty"`
}

// specParamFields maps a parameter name to its FaultSpec field (by yaml
// tag); specParamNames lists them in field order.
var specParamFields, specParamNames = func() (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	t := reflect.TypeFor[FaultSpec]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "kind" || name == "target" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}()

// field returns the spec's field that holds the parameter.
func (p FaultParam) field(s *FaultSpec) reflect.Value {
	i, ok := specParamFields[p.Name]
	if !ok {
		panic("testrig: fault parameter " + p.Name + " has no FaultSpec field")
	}
	return reflect.ValueOf(s).Elem().Field(i)
}

// given says whether the spec gives the parameter: not zero, or for a
// pointer not nil.
func (p FaultParam) given(s *FaultSpec) bool {
	return !p.field(s).IsZero()
}

// value returns the parameter's value in the spec, dereferenced.
func (p FaultParam) value(s *FaultSpec) reflect.Value {
	v := p.field(s)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Zero(v.Type().Elem())
		}
		v = v.Elem()
	}
	return v
}

// format writes the parameter's value in the spec as text.
func (p FaultParam) format(s *FaultSpec) string {
	switch v := p.value(s).Interface().(type) {
	case time.Duration:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// Set sets the parameter in the spec from text, as written on a command
// line: a duration ("250ms"), a number (ints also as 0x…), or a string.
func (p FaultParam) Set(s *FaultSpec, text string) error {
	v, err := p.parse(text)
	if err != nil {
		return err
	}
	f := p.field(s)
	if f.Kind() == reflect.Pointer {
		ptr := reflect.New(f.Type().Elem())
		ptr.Elem().Set(v)
		v = ptr
	}
	f.Set(v)
	return nil
}

// parse reads text as a value of the parameter's type.
func (p FaultParam) parse(text string) (reflect.Value, error) {
	switch p.Type {
	case ParamDuration:
		d, err := time.ParseDuration(text)
		return reflect.ValueOf(d), err
	case ParamFloat:
		x, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a number", text)
		}
		return reflect.ValueOf(x), nil
	case ParamInt:
		n, err := strconv.ParseInt(text, 0, strconv.IntSize)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a whole number", text)
		}
		return reflect.ValueOf(int(n)), nil
	case ParamString:
		return reflect.ValueOf(text), nil
	}
	return reflect.Value{}, fmt.Errorf("parameter %s has no type", p.Name)
}

// number returns the parameter's value as a number, for its range
// (durations in nanoseconds).
func (p FaultParam) number(s *FaultSpec) float64 {
	v := p.value(s)
	switch v.Kind() {
	case reflect.Float64:
		return v.Float()
	case reflect.Int, reflect.Int64:
		return float64(v.Int())
	}
	return math.NaN()
}

// paramRange is a parsed FaultParam.Range.
type paramRange struct {
	lo, hi         float64
	loOpen, hiOpen bool
	hasLo, hasHi   bool
	interval       bool
}

// parseRange reads a range written as in FaultParam.Range, its bounds as
// values of the parameter's type.
func (p FaultParam) parseRange() (paramRange, error) {
	var r paramRange
	bound := func(t string) (float64, error) {
		v, err := p.parse(strings.TrimSpace(t))
		if err != nil {
			return 0, err
		}
		switch v.Kind() {
		case reflect.Float64:
			return v.Float(), nil
		case reflect.Int, reflect.Int64:
			return float64(v.Int()), nil
		}
		return 0, fmt.Errorf("a %s has no range", p.Type)
	}
	var err error
	t := strings.TrimSpace(p.Range)
	switch {
	case strings.HasPrefix(t, "(") || strings.HasPrefix(t, "["):
		lo, hi, ok := strings.Cut(t[1:len(t)-1], ",")
		if !ok || !strings.HasSuffix(t, ")") && !strings.HasSuffix(t, "]") {
			return r, fmt.Errorf("range %q: write it (lo, hi], [lo, hi] …", p.Range)
		}
		r.interval, r.hasLo, r.hasHi = true, true, true
		r.loOpen, r.hiOpen = t[0] == '(', t[len(t)-1] == ')'
		if r.lo, err = bound(lo); err == nil {
			r.hi, err = bound(hi)
		}
	case strings.HasPrefix(t, ">"), strings.HasPrefix(t, "≥"):
		r.hasLo, r.loOpen = true, t[0] == '>'
		r.lo, err = bound(strings.TrimLeft(t, ">≥"))
	case strings.HasPrefix(t, "<"), strings.HasPrefix(t, "≤"):
		r.hasHi, r.hiOpen = true, t[0] == '<'
		r.hi, err = bound(strings.TrimLeft(t, "<≤"))
	default:
		return r, fmt.Errorf("range %q: write it (lo, hi], > lo, ≥ lo, < hi or ≤ hi", p.Range)
	}
	if err != nil {
		return r, fmt.Errorf("range %q: %w", p.Range, err)
	}
	return r, nil
}

func (r paramRange) contains(x float64) bool {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return false
	case r.hasLo && (x < r.lo || r.loOpen && x == r.lo):
		return false
	case r.hasHi && (x > r.hi || r.hiOpen && x == r.hi):
		return false
	}
	return true
}

// check checks the parameter's value in the spec against its range,
// allowed values and own check.
func (p FaultParam) check(s *FaultSpec) error {
	val := p.format(s)
	if p.Unit != "" && p.Type != ParamDuration {
		val += " " + p.Unit
	}
	if p.Range != "" {
		r, err := p.parseRange()
		if err != nil {
			return err
		}
		if !r.contains(p.number(s)) {
			in := ""
			if r.interval {
				in = "in "
			}
			return fmt.Errorf("%s %s must be %s%s", p.Name, val, in, p.Range)
		}
	}
	if len(p.Values) > 0 && !slices.Contains(p.Values, p.format(s)) {
		noun := p.ValueNoun
		if noun == "" {
			noun = "allowed"
		}
		return fmt.Errorf("%s %s is not %s; allowed: %s", p.Name, val, noun, strings.Join(p.Values, ", "))
	}
	if p.checkText != nil {
		return p.checkText(p.format(s))
	}
	return nil
}

// SpecError is a problem with one key of a FaultSpec (kind, target or a
// parameter), found without a rig.
type SpecError struct {
	Kind FaultKind
	// Key is the key: "kind", "target" or a parameter's name.
	Key string
	Msg string
}

func (e *SpecError) Error() string {
	if e.Kind == "" {
		return e.Msg
	}
	return "fault " + string(e.Kind) + ": " + e.Msg
}

// Problems checks the spec against its kind's descriptor, without a rig:
// the kind is known, every parameter given applies to it and is in range,
// and the target of a fault of the plant is one it takes. It returns every
// problem, or nil.
func (s FaultSpec) Problems() []*SpecError {
	_, errs := normalize(&s)
	return errs
}

// normalize checks s against its kind's descriptor, as Problems, and fills
// in the table's defaults (target and parameters). It returns the
// descriptor (nil when the kind is not known) and every problem.
func normalize(s *FaultSpec) (*FaultKindDesc, []*SpecError) {
	d := lookupKind(s.Kind)
	if d == nil {
		names := make([]string, len(faultKinds))
		for i, k := range faultKinds {
			names[i] = string(k.Kind)
		}
		return nil, []*SpecError{{Kind: s.Kind, Key: "kind", Msg: fmt.Sprintf("kind %q is not known; allowed: %s", s.Kind, strings.Join(names, ", "))}}
	}
	var errs []*SpecError
	add := func(key, format string, args ...any) {
		errs = append(errs, &SpecError{Kind: s.Kind, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if s.Target == "" {
		s.Target = d.TargetDefault
	}
	if d.Group == GroupPlant {
		switch {
		case len(d.UnitKinds) > 0 && s.Target == "":
			add("target", "%s needs a target: a %s of the line", d.Kind, strings.Join(d.UnitKinds, " or "))
		case len(d.UnitKinds) > 0:
			// A unit of the rig's line: checked when injected.
		case len(d.Targets) == 0 && s.Target != "":
			add("target", "target %q: %s takes no target", s.Target, d.Kind)
		case len(d.Targets) > 0 && !slices.Contains(d.Targets, s.Target):
			add("target", "target %q%s; allowed: %s", s.Target, d.TargetRefusal, strings.Join(d.Targets, ", "))
		}
	}
	for _, name := range specParamNames {
		p, ok := d.Param(name)
		if !ok {
			if (FaultParam{Name: name}).given(s) {
				add(name, "parameter %q does not apply; allowed: %s", name, d.ParamNames())
			}
			continue
		}
		if len(p.Targets) > 0 && !slices.Contains(p.Targets, s.Target) {
			if p.given(s) {
				add(name, "parameter %q applies to target %s, not %s", name, strings.Join(p.Targets, ", "), s.Target)
			}
			continue
		}
		if !p.given(s) && p.Default != "" {
			if err := p.Set(s, p.Default); err != nil {
				add(name, "default %q: %v", p.Default, err)
				continue
			}
		}
		if !p.given(s) {
			continue
		}
		if err := p.check(s); err != nil {
			add(name, "%v", err)
		}
	}
	return d, errs
}

// MarshalJSON writes the spec with its kind, target and the parameters it
// gives, Delay as a duration string.
func (s FaultSpec) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	put := func(key string, v any) error {
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		kv, err := json.Marshal(key)
		if err != nil {
			return err
		}
		b.Write(kv)
		b.WriteByte(':')
		vv, err := json.Marshal(v)
		b.Write(vv)
		return err
	}
	if err := put("kind", s.Kind); err != nil {
		return nil, err
	}
	if s.Target != "" {
		if err := put("target", s.Target); err != nil {
			return nil, err
		}
	}
	for _, name := range specParamNames {
		p := FaultParam{Name: name}
		if !p.given(&s) {
			continue
		}
		v := p.value(&s).Interface()
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		if err := put(name, v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a spec written by MarshalJSON. Unknown keys and
// parameters the kind does not take are errors, so that a misspelt or
// misplaced parameter is not silently ignored.
func (s *FaultSpec) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out FaultSpec
	for key, dst := range map[string]any{"kind": &out.Kind, "target": &out.Target} {
		if v, ok := raw[key]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			delete(raw, key)
		}
	}
	d := lookupKind(out.Kind)
	allowed := strings.Join(specParamNames, ", ")
	if d != nil {
		allowed = d.ParamNames()
	}
	keys := slices.Sorted(maps.Keys(raw))
	for _, key := range keys {
		if _, ok := specParamFields[key]; !ok {
			return &SpecError{Kind: out.Kind, Key: key, Msg: fmt.Sprintf("parameter %q is not known; allowed: %s", key, allowed)}
		}
	}
	for _, name := range specParamNames {
		v, ok := raw[name]
		if !ok {
			continue
		}
		p := anyParam(name)
		if d != nil {
			var ok bool
			if p, ok = d.Param(name); !ok {
				return &SpecError{Kind: out.Kind, Key: name, Msg: fmt.Sprintf("parameter %q does not apply; allowed: %s", name, allowed)}
			}
		}
		if p.field(&out).Type() == reflect.TypeFor[time.Duration]() {
			var text string
			if err := json.Unmarshal(v, &text); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if text == "" {
				continue
			}
			if err := p.Set(&out, text); err != nil {
				return fmt.Errorf("%s %q: %w", name, text, err)
			}
			continue
		}
		if err := json.Unmarshal(v, p.field(&out).Addr().Interface()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	*s = out
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
	// front folds a front fault into its device's front state.
	front func(nf *netFault)
	// closeConns closes the device's connections when the fault is
	// injected; notify tells its OPC UA subscribers when it is injected
	// and cleared.
	closeConns, notify bool
	release            chan struct{} // stop_answering: closed when cleared
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
		return Fault{}, fmt.Errorf("testrig: %w", err)
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
	if a.closeConns {
		closing = slices.Clone(fs.conns[a.device])
	}
	fs.mu.Unlock()
	for _, c := range closing {
		c.Close()
	}
	if a.notify {
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
	if a.notify {
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
		if a.front != nil {
			a.front(get(a.device))
		}
	}
}

// prepare checks spec against the table and the rig and returns the fault
// ready to apply, with its defaults filled in.
func (r *Rig) prepare(spec FaultSpec) (*activeFault, error) {
	a := &activeFault{Fault: Fault{Spec: spec}}
	d, errs := normalize(&a.Spec)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if len(d.UnitKinds) > 0 {
		var units []string
		for _, k := range d.UnitKinds {
			units = append(units, r.line.UnitsOfKind(k)...)
		}
		if !slices.Contains(units, a.Spec.Target) && !slices.Contains(d.Targets, a.Spec.Target) {
			for _, t := range d.Targets { // aliases such as mixer
				if !slices.Contains(units, t) && len(r.line.UnitsOfKind(t)) == 0 && slices.Contains(physicsAliases, t) {
					units = append(units, t)
				}
			}
			return nil, fmt.Errorf("fault %s: target %q%s; allowed (this line): %s", spec.Kind, a.Spec.Target, d.TargetRefusal, strings.Join(units, ", "))
		}
	}
	if err := d.prepare(r, a); err != nil {
		return nil, fmt.Errorf("fault %s: %w", spec.Kind, err)
	}
	return a, nil
}

// physicsAliases are target names the model takes besides unit names (the
// pulper's mixer motor).
var physicsAliases = []string{physics.UnitMixer}

// setModel sets the fault's change of the model and its undoing.
func (a *activeFault) setModel(apply, undo func(l *physics.Line)) {
	a.applyFn = func(l *physics.Line) error { apply(l); return nil }
	a.undoModel = undo
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
