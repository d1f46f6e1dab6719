package scenario

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/internal/yamlsrc"
	"github.com/pretreat/pretreat/testrig"
	"github.com/pretreat/pretreat/testrig/physics"
)

// File is one scenario as written in YAML.
type File struct {
	// Scenario names the scenario in reports (the JUnit test suite).
	Scenario    string `yaml:"scenario"`
	Description string `yaml:"description,omitempty"`
	// Rig sets up the simulated plant when the runner starts one.
	Rig RigSetup `yaml:"rig,omitempty"`
	// Speed is how many times faster than real time the plant runs when
	// the runner starts the rig and controller (default 20; the command
	// line's --speed overrides it).
	Speed float64 `yaml:"speed,omitempty"`
	// Limit bounds the whole scenario in plant time (default 1h): steps
	// not reached by then are reported as not run.
	Limit time.Duration `yaml:"limit,omitempty"`
	// Plant is the plant the runner starts the rig and the controller
	// with when it starts them: a shipped plant's name (sample, two-lane)
	// or a plant file's path relative to the scenario (default sample).
	Plant string `yaml:"plant,omitempty"`
	// Also names other plants the scenario holds on, each with the units
	// the scenario names mapped onto that plant's (shredder: shredder_a
	// turns tag shredder.current into shredder_a.current, unit shredder
	// into shredder_a and a fault on shredder onto shredder_a; a full
	// name maps one tag or role: rejects.total: depackager.rejects_total).
	// OnPlant gives the scenario as it runs there.
	Also  map[string]map[string]string `yaml:"also,omitempty"`
	Steps []Step                       `yaml:"steps"`

	name string // file name, for reports
}

// RigSetup is the simulated plant a scenario wants.
type RigSetup struct {
	// Class is the waste class the trucks tip at the start (default
	// catering).
	Class string `yaml:"class,omitempty"`
	// Seed seeds the model (default 1).
	Seed int64 `yaml:"seed,omitempty"`
	// Jams is "injected" (default: the shredder jams only when a fault
	// says so) or "random" (hard objects at the class's rate).
	Jams string `yaml:"jams,omitempty"`
}

// Step is one step of a scenario: exactly one action (command, inject,
// clear, feed, wait) or one expectation, optionally delayed by At or After.
type Step struct {
	// Name labels the step in reports; a description is made up when
	// empty.
	Name string `yaml:"name,omitempty"`
	// At delays the step until this much plant time after the scenario
	// started; After until this long after the previous step ended.
	At    time.Duration `yaml:"at,omitempty"`
	After time.Duration `yaml:"after,omitempty"`

	// Command is an operator command sent through the controller's API
	// (start, hold, unhold, stop, abort, reset, clear, confirm, override,
	// ack, ack_all, …), with its arguments. It must be accepted, or, with
	// Refused, refused.
	Command   string   `yaml:"command,omitempty"`
	Recipe    string   `yaml:"recipe,omitempty"`
	Version   int      `yaml:"version,omitempty"`
	Alarm     string   `yaml:"alarm,omitempty"`
	Parameter string   `yaml:"parameter,omitempty"`
	Value     *float64 `yaml:"value,omitempty"`
	User      string   `yaml:"user,omitempty"`
	Refused   bool     `yaml:"refused,omitempty"`

	// Inject injects a fault into the rig; ID names it for Clear (default
	// the fault's kind).
	Inject *testrig.FaultSpec `yaml:"inject,omitempty"`
	ID     string             `yaml:"id,omitempty"`
	// Clear clears the fault injected with that ID, or every fault with
	// "all".
	Clear string `yaml:"clear,omitempty"`
	// Feed makes the trucks tip another class of waste from now on, and
	// optionally tips a load of it into the hopper at once.
	Feed *Feed `yaml:"feed,omitempty"`
	// Wait lets this much plant time pass.
	Wait time.Duration `yaml:"wait,omitempty"`

	// Expect checks the line and the plant.
	Expect *Expect `yaml:"expect,omitempty"`
}

// Feed is a load of waste.
type Feed struct {
	Class string  `yaml:"class"`
	Kg    float64 `yaml:"kg,omitempty"`
}

// Expect is an expectation: every condition given must hold at once
// (or, with Not, not all of them), within Within of plant time, and then,
// with For, go on holding that long.
type Expect struct {
	// Within is how long the conditions may take to hold (plant time,
	// default 10s). For is how long they must then hold without a break.
	Within time.Duration `yaml:"within,omitempty"`
	For    time.Duration `yaml:"for,omitempty"`
	// Not negates the conditions: the expectation holds when they do not
	// all hold.
	Not bool `yaml:"not,omitempty"`

	// State is the line's PackML state (several separated by |).
	State string `yaml:"state,omitempty"`
	// Message is text the status message contains (case-insensitive).
	Message string `yaml:"message,omitempty"`
	// Phase is the running batch's phase.
	Phase string `yaml:"phase,omitempty"`
	// Batch is what became of the scenario's batch: running (in
	// progress, not held), held, completed, aborted or stopped.
	Batch string `yaml:"batch,omitempty"`
	// Alarm was raised: it is in the controller's alarm list now or has
	// been since the scenario started; with Active, it is active now.
	Alarm  string `yaml:"alarm,omitempty"`
	Active bool   `yaml:"active,omitempty"`
	// Unit and UnitState: a unit's state in the status (stopped,
	// starting, running, stopping, fault).
	Unit      string `yaml:"unit,omitempty"`
	UnitState string `yaml:"unit_state,omitempty"`
	// Tag is a tag as the controller sees it; Rig a role of the rig's
	// model (its reading, sensor faults included). The comparisons below
	// apply to whichever is given. A tag must have good quality unless
	// Quality says otherwise.
	Tag     string   `yaml:"tag,omitempty"`
	Rig     string   `yaml:"rig,omitempty"`
	Quality string   `yaml:"quality,omitempty"` // good, bad, uncertain, or a full name such as bad:comm_failure
	Above   *float64 `yaml:"above,omitempty"`
	Below   *float64 `yaml:"below,omitempty"`
	AtLeast *float64 `yaml:"at_least,omitempty"`
	AtMost  *float64 `yaml:"at_most,omitempty"`
	Equals  *float64 `yaml:"equals,omitempty"`
	// Balance: the rig's total-mass balance (waste in + water = cake +
	// filtrate + rejects + hold-up) closes within this many percent of
	// what came in.
	Balance *float64 `yaml:"balance,omitempty"`
}

// Defaults.
const (
	DefaultSpeed  = 20
	DefaultLimit  = time.Hour
	DefaultWithin = 10 * time.Second
)

var (
	packMLStates = []string{"Stopped", "Resetting", "Idle", "Starting", "Execute", "Holding", "Held", "Unholding",
		"Completing", "Complete", "Stopping", "Aborting", "Aborted", "Clearing"}
	batchOutcomes = []string{"running", "held", "completed", "aborted", "stopped"}
	unitStates    = []string{"stopped", "starting", "running", "stopping", "fault"}
)

// Load reads and checks a scenario file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse checks a scenario. The error, if any, is yamlsrc.Errors with every
// problem located as file:line:column.
func Parse(name string, src []byte) (*File, error) {
	var f File
	doc, err := yamlsrc.Decode(name, src, &f)
	if err != nil {
		return nil, err
	}
	f.name = name
	if f.Scenario == "" {
		doc.Addf("$.scenario", "a scenario needs a name")
	}
	if f.Rig.Class != "" {
		if _, err := physics.ParseWasteClass(f.Rig.Class); err != nil {
			doc.Addf("$.rig.class", "%v", err)
		}
	}
	if _, err := testrig.ParseJamMode(f.Rig.Jams); err != nil {
		doc.Addf("$.rig.jams", "%v", err)
	}
	if f.Speed != 0 && (f.Speed < 1 || f.Speed > 1000) {
		doc.Addf("$.speed", "speed %g must be in [1, 1000]", f.Speed)
	}
	if f.Limit < 0 {
		doc.Addf("$.limit", "limit must be > 0")
	}
	if len(f.Steps) == 0 {
		doc.Addf("$.steps", "a scenario needs at least one step")
	}
	ids := map[string]bool{}
	for i := range f.Steps {
		checkStep(doc, fmt.Sprintf("$.steps[%d]", i), &f.Steps[i], ids)
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Name returns the file the scenario came from.
func (f *File) Name() string { return f.name }

// OnPlant returns the scenario as it runs on another plant listed under
// Also: its units, tags, roles and fault targets renamed, and Plant set.
// It returns false for a plant the scenario does not list.
func (f *File) OnPlant(plant string) (*File, bool) {
	names, ok := f.Also[plant]
	if !ok {
		return nil, false
	}
	rename := func(s string) string {
		if to, ok := names[s]; ok {
			return to
		}
		if unit, rest, dot := strings.Cut(s, "."); dot {
			if to, ok := names[unit]; ok {
				return to + "." + rest
			}
		}
		return s
	}
	g := *f
	g.Plant, g.Also = plant, nil
	g.Scenario = f.Scenario + "@" + plant
	g.Steps = make([]Step, len(f.Steps))
	for i, st := range f.Steps {
		if st.Inject != nil {
			in := *st.Inject
			in.Target = rename(in.Target)
			st.Inject = &in
		}
		if st.Expect != nil {
			e := *st.Expect
			e.Tag, e.Rig, e.Unit = rename(e.Tag), rename(e.Rig), rename(e.Unit)
			st.Expect = &e
		}
		g.Steps[i] = st
	}
	return &g, true
}

func checkStep(doc *yamlsrc.Doc, path string, s *Step, ids map[string]bool) {
	var kinds []string
	for _, k := range stepKinds {
		if k.given(s) {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		doc.Addf(path, "a step does exactly one of %s; this one does none", stepKindNames())
		return
	case 1:
	default:
		doc.Addf(path, "a step does exactly one of %s; this one does %d (%s)", stepKindNames(), len(kinds), strings.Join(kinds, ", "))
		return
	}
	if s.At < 0 || s.After < 0 || s.Wait < 0 {
		doc.Addf(path, "at, after and wait must be ≥ 0")
	}
	if s.At != 0 && s.After != 0 {
		doc.Addf(path+".after", "give at or after, not both")
	}
	k := stepKindOf(s)
	for _, other := range stepKinds {
		for _, key := range other.with {
			if other.name != k.name && key.given(s) {
				doc.Addf(path+"."+key.name, "%s goes with %s, not with %s", key.name, other.name, k.name)
			}
		}
	}
	if k.check != nil {
		k.check(doc, path, s, ids)
	}
}

func checkExpect(doc *yamlsrc.Doc, path string, e *Expect) {
	n := 0
	for _, set := range []bool{e.State != "", e.Message != "", e.Phase != "", e.Batch != "", e.Alarm != "", e.Unit != "", e.Tag != "", e.Rig != "", e.Balance != nil} {
		if set {
			n++
		}
	}
	if n == 0 {
		doc.Addf(path, "an expectation needs a condition: state, message, phase, batch, alarm, unit, tag, rig or balance")
	}
	if e.Within < 0 || e.For < 0 {
		doc.Addf(path, "within and for must be ≥ 0")
	}
	for _, s := range strings.Split(e.State, "|") {
		if e.State != "" && !slices.Contains(packMLStates, strings.TrimSpace(s)) {
			doc.Addf(path+".state", "state %q is not a PackML state; allowed: %s", s, strings.Join(packMLStates, ", "))
		}
	}
	if e.Batch != "" && !slices.Contains(batchOutcomes, e.Batch) {
		doc.Addf(path+".batch", "batch %q: allowed: %s", e.Batch, strings.Join(batchOutcomes, ", "))
	}
	if e.Active && e.Alarm == "" {
		doc.Addf(path+".active", "active goes with alarm")
	}
	if (e.Unit == "") != (e.UnitState == "") {
		doc.Addf(path+".unit", "unit and unit_state go together")
	} else if e.UnitState != "" && !slices.Contains(unitStates, e.UnitState) {
		doc.Addf(path+".unit_state", "unit_state %q: allowed: %s", e.UnitState, strings.Join(unitStates, ", "))
	}
	compares := e.Above != nil || e.Below != nil || e.AtLeast != nil || e.AtMost != nil || e.Equals != nil
	if e.Tag != "" && e.Rig != "" {
		doc.Addf(path+".rig", "give tag or rig, not both")
	}
	if compares && e.Tag == "" && e.Rig == "" {
		doc.Addf(path, "above, below, at_least, at_most and equals compare a tag or rig value; name one")
	}
	if (e.Tag != "" || e.Rig != "") && !compares && e.Quality == "" {
		doc.Addf(path, "say what %s%s should be: above, below, at_least, at_most, equals or quality", e.Tag, e.Rig)
	}
	if e.Quality != "" && e.Tag == "" {
		doc.Addf(path+".quality", "quality goes with tag (the controller's view)")
	}
	if e.Balance != nil && !(*e.Balance > 0) {
		doc.Addf(path+".balance", "balance is a tolerance in %%, > 0")
	}
}
