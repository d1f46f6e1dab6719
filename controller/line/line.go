package line

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/packml"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/recipes"
)

// LineState is the state of the whole line: a PackML state.
type LineState = packml.State

// Line states (PackML). Only Execute, Unholding and Stopping (purging) ever
// command a motor on; a line starts in Stopped.
const (
	StateStopped    = packml.Stopped
	StateResetting  = packml.Resetting
	StateIdle       = packml.Idle
	StateStarting   = packml.Starting
	StateExecute    = packml.Execute
	StateHolding    = packml.Holding
	StateHeld       = packml.Held
	StateUnholding  = packml.Unholding
	StateCompleting = packml.Completing
	StateComplete   = packml.Complete
	StateStopping   = packml.Stopping
	StateAborting   = packml.Aborting
	StateAborted    = packml.Aborted
	StateClearing   = packml.Clearing
)

// Inputs gives the scan's view of one tag.
type Inputs interface {
	Get(tag string) (float64, drivers.Quality)
}

// Event is a record of something that happened on the line.
type Event = records.Event

// unitRun is what the logic wants of one unit the sequence starts and
// stops (plant.IsSequenced kinds).
type unitRun struct {
	name, kind string
	node       int    // its place in Line.g
	pos        int    // its place in Line.order
	run        string // tag of the run command
	running    string // tag of the running feedback
	fault      string // tag of the fault bit, may be ""
	speedSP    string // tag of its speed set-point, may be ""
	bpSP       string // a press's back-pressure set-point tag, may be ""
	want       bool
	since      time.Time // when want last went true
	stoppedAt  time.Time // when want last went false in a run-down
	// up and down are the places in Line.order of the sequenced units
	// directly upstream and downstream of it (through pumps and tanks);
	// feed are all the sequenced units upstream of it, heads those of them
	// fed by no other (the feeders: a shredder's feed pause or the
	// pulper's high-high stops them).
	up, down, feed, heads []int
	// ctl is the unit's equipment module (a shredder's jam handling, a
	// press's back-pressure loop and trips, a conveyor's belt and pull-cord
	// supervision…), nil for a plain motor.
	ctl *unitControl
}

// Line is the batch and sequencing logic for one line. It is a pure state
// machine: Step takes inputs, plant time and commands, and returns outputs
// (through Outputs) and events. It is not safe for concurrent use; the scan
// owns it.
type Line struct {
	cfg     *plant.File
	recipes map[string]*recipes.Recipe
	limits  recipes.Limits

	// State mirrors m's state after every transition, for reading.
	State LineState
	// trace, when set, sees every state transition (tests).
	trace   func(from, to LineState)
	Message string
	m       packml.Machine

	// g is the line's graph; order its sequenced units, downstream first
	// (each after every unit it feeds); pulper the one pulper.
	g      *flowGraph
	order  []*unitRun
	pulper *unitRun
	// Per node of g: latched is why a unit faulted (a jam limit, a trip, a
	// drive fault, a failed start; "" for none), until an unhold or reset;
	// blocked the units that cannot run because of those faults (the
	// faulted ones, and those all of whose outputs lead to them); stopped
	// this scan's units stopped by an interlock trip or a tank at
	// high-high, with stopCause why.
	latched   []string
	blocked   []bool
	stopped   []bool
	stopCause []stopCause
	reception int // node of the reception

	sig struct {
		door, hopper, level, waterCmd, waterFlowSP, waterTotal, ds string
		cake, filtrate, rejects, energy                            []string
		// metered names the unit of each energy tag (same order);
		// cakeDS are the presses' cake analysers, with the press each
		// belongs to (its place in order, -1 when not sequenced).
		metered   []string
		cakeDS    []string
		cakeDSRun []int
	}
	// jams and reversals are the shredders' counters as of the last scan
	// (equipment.Shredder counts from controller start); the batch adds
	// what they rose by. dosing is set while this scan's phase dilutes.
	jams, reversals uint64
	dosing          bool

	batch     *batchRun
	lastBatch *records.Batch
	il        *interlocks
	signals   []phaseSignal
	// critical are the inputs the running logic depends on: one not good
	// holds the line.
	critical []string
	// fed estimates the feed rate from the hopper; trimMinLevel is the
	// pulper level above which its analyser reads slurry.
	fed          feedRate
	trimMinLevel float64
	// tanks and pumps: tanks stop what fills them at high-high; pumps
	// transfer on level control with dry-run protection.
	tanks []*tankControl
	pumps []*pumpRun
	// This scan's water: dilute asks the pulper module for dilution water
	// at feedRate kg/s of waste; washFlow > 0 is wash-down water.
	dilute             bool
	feedRate, washFlow float64
	// receptionName is the reception unit's name (the door is its output).
	receptionName string
	// pulperKg is the pulper's content at 100 % level (0: not known).
	pulperKg float64
	door     bool // the reception door is wanted open (before trips)
	seq      int
	// runEmpty is set while the line is Holding after a unit fault and the
	// units not blocked by it run empty, upstream first, from drainFrom.
	runEmpty  bool
	drainFrom time.Time

	outputs map[string]float64
	// safe is every command's safe value (what allOff sets), for the
	// engine's comm-loss latch.
	safe map[string]float64
	// deviceOf names the device each tag is read from, for causes.
	deviceOf map[string]string
	events   []Event
	now      time.Time
	in       Inputs
	// cause is the first-out of the stop, kept from the scan the line
	// left running normally until it runs again or is reset (cause.go).
	cause *causeState
}

// batchRun is the context of the running batch.
type batchRun struct {
	rec        records.Batch
	recipe     *recipes.Recipe
	phase      string
	step       string
	stepStart  time.Time
	phaseStart time.Time

	tareKg, receivedKg                         float64
	cake0, water0, filtrate0, energy0, reject0 float64
	waterTargetKg                              float64
	// holdup0 is what the line held at the start (hopper and pulper), kg.
	holdup0 float64
	// energy0By is each metered unit's meter at the start (per
	// Line.sig.energy). cakeDS and slurryDS sum the good analyser readings
	// while the press ran and while the phase diluted.
	energy0By        []float64
	cakeDS, slurryDS dsAcc
	// settleRef and settleFrom follow the hopper after the door is shut:
	// the received mass is taken once it has stopped rising.
	settleRef  float64
	settleFrom time.Time

	acc []signalAcc // per l.signals, for the current phase

	phaseIdx    int
	confirmed   bool      // an operator confirmed the current phase
	timeoutFrom time.Time // the phase timeout counts from here (reset on resume)
	overrides   map[string]float64
}

// dsAcc is the sum and count of good dry-solids readings over a batch.
type dsAcc struct {
	Sum float64 `json:"sum"`
	N   int     `json:"n"`
}

func (a *dsAcc) add(v float64) { a.Sum += v; a.N++ }

func (a dsAcc) mean() float64 {
	if a.N == 0 {
		return 0
	}
	return a.Sum / float64(a.N)
}

// phaseSignal is one signal whose setpoint vs actual the batch record keeps
// per phase.
type phaseSignal struct {
	tag   string
	param string // recipe value that is its setpoint, "" for none
	// sp, when set, gives the set-point in force instead of the recipe's
	// value (a press's back-pressure, trimmed on the cake analyser).
	sp func() float64
}

// signalAcc accumulates one signal over the current phase without
// allocating.
type signalAcc struct {
	sp            float64 // sum of the set-point in force, scan by scan
	min, max, sum float64
	n             int
}

// batchContext is what a restarted controller needs to take a batch up
// again; it travels in the batch record (records.Batch.Context).
type batchContext struct {
	PhaseIdx   int                `json:"phase_index"`
	PhaseStart time.Time          `json:"phase_start"`
	TareKg     float64            `json:"tare_kg"`
	ReceivedKg float64            `json:"received_kg"`
	Cake0      float64            `json:"cake0_kg"`
	Water0     float64            `json:"water0_kg"`
	Filtrate0  float64            `json:"filtrate0_kg"`
	Energy0    float64            `json:"energy0_kwh"`
	Rejects0   float64            `json:"rejects0_kg"`
	Holdup0    float64            `json:"holdup0_kg"`
	Overrides  map[string]float64 `json:"overrides,omitempty"`
	Seq        int                `json:"seq"`
	// Energy0By is each metered unit's meter at the start, by unit name.
	Energy0By map[string]float64 `json:"energy0_by_unit_kwh,omitempty"`
	Jams      int                `json:"jams,omitempty"`
	Reversals int                `json:"reversals,omitempty"`
	CakeDS    dsAcc              `json:"cake_ds"`
	SlurryDS  dsAcc              `json:"slurry_ds"`
}

// Request is a command as the scan receives it: the API layer has already
// resolved a start command's recipe (reading the store is I/O, which the
// scan never does). A nil Recipe on start is looked up among the recipes
// the Line was built with.
type Request struct {
	Command api.Command
	Recipe  *recipes.Recipe
}

// stopCause is why an interlock trip or a tank stops a unit this scan.
type stopCause struct {
	il   *interlockState
	tank *tankControl
}

func (c stopCause) describe() string {
	if c.il != nil {
		return c.il.describe()
	}
	if c.tank != nil {
		return fmt.Sprintf("tank %s: %s", c.tank.name, c.tank.mod.Reason())
	}
	return ""
}

// speedParam is the recipe value each kind's speed set-point follows.
var speedParam = map[string]string{plant.KindShredder: "shredder_speed", plant.KindFeeder: "feeder_speed", plant.KindScrewPress: "press_speed"}

// NewLine builds the logic for a checked plant file and the recipes that may
// run on it.
func NewLine(cfg *plant.File, rs []*recipes.Recipe) (*Line, error) {
	l := &Line{cfg: cfg, recipes: map[string]*recipes.Recipe{}, limits: Limits(cfg), State: StateStopped, outputs: map[string]float64{}}
	for _, r := range rs {
		l.recipes[r.Name] = r
	}
	l.g = newFlowGraph(cfg)
	n := len(l.g.names)
	l.latched, l.blocked, l.stopped, l.stopCause = make([]string, n), make([]bool, n), make([]bool, n), make([]stopCause, n)
	units := map[string]*plant.Unit{}
	for i := range cfg.Units {
		units[cfg.Units[i].Name] = &cfg.Units[i]
	}
	at := map[int]int{} // node → place in l.order
	for _, i := range l.g.down {
		u := units[l.g.names[i]]
		if !plant.IsSequenced(u.Kind) {
			continue
		}
		r := &unitRun{name: u.Name, kind: u.Kind, node: i, run: u.Signals["run"], running: u.Signals["running"], fault: u.Signals["fault"], speedSP: u.Signals["speed_sp"], bpSP: u.Signals["back_pressure_sp"]}
		r.pos = len(l.order)
		at[i] = r.pos
		l.order = append(l.order, r)
		if u.Kind == plant.KindPulper {
			l.pulper = r
		}
		var err error
		if r.ctl, err = newUnitControl(cfg, u, l.outputs, nil, u.Levels); err != nil {
			return nil, err
		}
	}
	succ, pred := l.g.seqNeighbours(l.g.succ), l.g.seqNeighbours(l.g.pred)
	for _, r := range l.order {
		for _, j := range succ[r.node] {
			r.down = append(r.down, at[j])
		}
		for _, j := range pred[r.node] {
			r.up = append(r.up, at[j])
		}
		for _, j := range l.g.upstreamOf(r.node) {
			if plant.IsSequenced(l.g.kinds[j]) {
				r.feed = append(r.feed, at[j])
			}
		}
	}
	for _, r := range l.order {
		for _, f := range r.feed {
			if len(l.order[f].up) == 0 {
				r.heads = append(r.heads, f)
			}
		}
	}
	rec, pul := cfg.Unit(plant.KindReception), cfg.Unit(plant.KindPulper)
	l.reception = l.g.index[rec.Name]
	l.receptionName = rec.Name
	l.pulperKg = pul.CapacityKg
	l.sig.door, l.sig.hopper = rec.Signals["door"], rec.Signals["weight"]
	l.sig.level, l.sig.waterCmd, l.sig.waterFlowSP, l.sig.waterTotal = pul.Signals["level"], pul.Signals["water"], pul.Signals["water_flow_sp"], pul.Signals["water_total"]
	l.critical = []string{l.sig.hopper, l.sig.level, l.sig.waterTotal}
	for _, i := range l.g.down {
		u := units[l.g.names[i]]
		for _, t := range []struct {
			role string
			dst  *[]string
		}{{"cake_weight", &l.sig.cake}, {"filtrate_total", &l.sig.filtrate}, {"rejects_weight", &l.sig.rejects}, {"energy", &l.sig.energy}} {
			if tag := u.Signals[t.role]; tag != "" {
				*t.dst = append(*t.dst, tag)
				if t.role == "energy" {
					l.sig.metered = append(l.sig.metered, u.Name)
				}
			}
		}
		if tag := u.Signals["cake_ds"]; tag != "" && u.Kind == plant.KindScrewPress {
			l.sig.cakeDS = append(l.sig.cakeDS, tag)
			pos := -1
			if r, ok := at[i]; ok {
				pos = r
			}
			l.sig.cakeDSRun = append(l.sig.cakeDSRun, pos)
		}
		if tag := u.Signals["cake_weight"]; tag != "" {
			l.critical = append(l.critical, tag)
		}
	}
	for _, u := range l.order {
		l.critical = append(l.critical, u.running)
		if u.fault != "" {
			l.critical = append(l.critical, u.fault)
		}
	}
	l.il = newInterlocks(cfg)
	var err error
	if l.tanks, l.pumps, err = newTanksAndPumps(cfg, l.g, l.order, l.outputs); err != nil {
		return nil, err
	}
	l.sig.ds = pul.Signals["ds"]
	l.trimMinLevel = equipment.DefaultPulperLevels[plant.LevelLowLow]
	if v, ok := pul.Levels[plant.LevelLowLow]; ok {
		l.trimMinLevel = v
	}
	for _, t := range l.tanks {
		l.critical = append(l.critical, t.levelTag)
	}
	for _, p := range l.pumps {
		l.critical = append(l.critical, p.running)
	}
	for _, ps := range []struct{ kind, role, param string }{
		{plant.KindShredder, "speed", "shredder_speed"}, {plant.KindShredder, "current", ""},
		{plant.KindScrewPress, "speed", "press_speed"}, {plant.KindScrewPress, "back_pressure", "press_back_pressure"},
		{plant.KindScrewPress, "current", ""}, {plant.KindScrewPress, "cone_valve", ""}, {plant.KindScrewPress, "cake_ds", "cake_ds_target"},
		{plant.KindPulper, "ds", "slurry_ds_target"}, {plant.KindPulper, "level", ""},
	} {
		for _, u := range cfg.UnitsOf(ps.kind) {
			if t := u.Signals[ps.role]; t != "" {
				sig := phaseSignal{tag: t, param: ps.param}
				if ps.role == "back_pressure" {
					// The press's module trims its set-point: record the
					// one in force.
					if r := l.unit(u.Name); r != nil && r.ctl != nil {
						if sp, ok := r.ctl.mod.(interface{ SetpointBar() float64 }); ok {
							sig.sp = sp.SetpointBar
						}
					}
				}
				l.signals = append(l.signals, sig)
			}
		}
	}
	l.allOff()
	l.safe = make(map[string]float64, len(l.outputs))
	for t, v := range l.outputs {
		l.safe[t] = v
	}
	l.deviceOf = map[string]string{}
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			l.deviceOf[p.Tag] = d.Name
		}
	}
	return l, nil
}

// SafeOutputs returns every command's safe value: motors off, door shut,
// water off, cone open. Setpoints have none. The map is the Line's; callers
// must not change it.
func (l *Line) SafeOutputs() map[string]float64 { return l.safe }

// accumulate adds this scan's good values to the current phase's figures.
func (l *Line) accumulate() {
	b := l.batch
	for i, t := range l.sig.cakeDS {
		// The cake analyser reads cake only while its press runs.
		if r := l.sig.cakeDSRun[i]; r < 0 || !l.order[r].want || !l.on(l.order[r].running) {
			continue
		}
		if v, q := l.in.Get(t); q.Good() {
			b.cakeDS.add(v)
		}
	}
	if l.dosing {
		// The slurry while the phase dilutes, with the probe immersed.
		if ds, good, immersed := l.analyser(); good && immersed {
			b.slurryDS.add(ds)
		}
	}
	if len(b.acc) != len(l.signals) {
		b.acc = make([]signalAcc, len(l.signals))
	}
	for i, s := range l.signals {
		v, q := l.in.Get(s.tag)
		if !q.Good() {
			continue
		}
		a := &b.acc[i]
		switch {
		case s.sp != nil:
			a.sp += s.sp()
		case s.param != "":
			a.sp += l.param(s.param)
		}
		if a.n == 0 || v < a.min {
			a.min = v
		}
		if a.n == 0 || v > a.max {
			a.max = v
		}
		a.sum += v
		a.n++
	}
}

// closePhaseStats writes the current phase's figures into its record and
// starts afresh.
func (l *Line) closePhaseStats() {
	b := l.batch
	n := len(b.rec.Phases)
	if n == 0 || len(b.acc) == 0 {
		return
	}
	var out []records.SignalStats
	for i, s := range l.signals {
		a := b.acc[i]
		if a.n == 0 {
			continue
		}
		out = append(out, records.SignalStats{Tag: s.tag, Setpoint: a.sp / float64(a.n), HasSP: s.param != "", Min: a.min, Mean: a.sum / float64(a.n), Max: a.max, Samples: a.n})
	}
	b.rec.Phases[n-1].Signals = out
	clear(b.acc)
}

// Limits returns the plant's equipment limits in the form recipes are
// validated against ("unit-kind.limit"). Where a line has several units of
// a kind, a recipe value must suit every one of them: the limit is the
// range they all allow.
func Limits(cfg *plant.File) recipes.Limits {
	l := recipes.Limits{}
	for _, u := range cfg.Units {
		for k, v := range u.Limits {
			key := u.Kind + "." + k
			if have, ok := l[key]; ok {
				v = [2]float64{math.Max(have[0], v[0]), math.Min(have[1], v[1])}
			}
			l[key] = v
		}
	}
	return l
}

// Outputs returns the value every commanded tag should have after the last
// Step. The map is owned by the Line; callers must not keep it.
func (l *Line) Outputs() map[string]float64 { return l.outputs }

// LastBatch returns the record of the last finished batch, or nil.
func (l *Line) LastBatch() *records.Batch { return l.lastBatch }

// BatchForSave returns a copy of the running batch's record with its
// restart context filled in, or nil. It allocates; the engine calls it only
// when it saves the record.
func (l *Line) BatchForSave() *records.Batch {
	b := l.batch
	if b == nil {
		return nil
	}
	if l.in != nil { // no inputs yet right after a restore
		l.updateTotals()
	}
	e0 := make(map[string]float64, len(b.energy0By))
	for i, v := range b.energy0By {
		e0[l.sig.metered[i]] = v
	}
	ctx, _ := json.Marshal(batchContext{PhaseIdx: b.phaseIdx, PhaseStart: b.phaseStart, TareKg: b.tareKg, ReceivedKg: b.receivedKg,
		Cake0: b.cake0, Water0: b.water0, Filtrate0: b.filtrate0, Energy0: b.energy0, Rejects0: b.reject0, Holdup0: b.holdup0, Overrides: b.overrides, Seq: l.seq,
		Energy0By: e0, Jams: b.rec.Jams, Reversals: b.rec.Reversals, CakeDS: b.cakeDS, SlurryDS: b.slurryDS})
	rec := b.rec
	rec.Context = ctx
	rec.Phases = append([]records.Phase(nil), b.rec.Phases...)
	rec.Overrides = append([]records.Override(nil), b.rec.Overrides...)
	rec.Actions = append([]records.Action(nil), b.rec.Actions...)
	rec.Alarms = append([]records.AlarmNote(nil), b.rec.Alarms...)
	rec.Notes = append([]records.Note(nil), b.rec.Notes...)
	rec.KWhByUnit = maps.Clone(b.rec.KWhByUnit)
	rec.Deliveries = append([]records.DeliveryShare(nil), b.rec.Deliveries...)
	return &rec
}

// Restore takes up a batch that was running when the controller stopped
// (crash, kill, power loss or shutdown): the line comes back Held with
// every output off and the batch context intact, and waits for an operator
// to unhold, stop or abort. r must be the recipe version the record names.
// The events it returns (the batch restored) are valid until the next Step.
func (l *Line) Restore(now time.Time, rec records.Batch, r *recipes.Recipe) ([]Event, error) {
	if err := l.restore(now, rec, r); err != nil {
		return nil, err
	}
	return l.events, nil
}

func (l *Line) restore(now time.Time, rec records.Batch, r *recipes.Recipe) error {
	if l.State != StateStopped || l.batch != nil {
		return fmt.Errorf("restore: the line is %s, not freshly started", l.State)
	}
	if r.Name != rec.Recipe || r.Version != rec.RecipeVersion || (rec.RecipeHash != "" && r.Hash != rec.RecipeHash) {
		return fmt.Errorf("restore: batch %s ran %s@%d (%s), the store gives %s@%d (%s)", rec.ID, rec.Recipe, rec.RecipeVersion, rec.RecipeHash, r.Name, r.Version, r.Hash)
	}
	var c batchContext
	if err := json.Unmarshal(rec.Context, &c); err != nil {
		return fmt.Errorf("restore: batch %s has no usable context: %v", rec.ID, err)
	}
	if c.PhaseIdx < 0 || c.PhaseIdx >= len(r.Procedure) {
		return fmt.Errorf("restore: batch %s is in phase %d of a %d-phase procedure", rec.ID, c.PhaseIdx, len(r.Procedure))
	}
	if c.Overrides == nil {
		c.Overrides = map[string]float64{}
	}
	rec.State, rec.End, rec.Context = records.BatchHeld, time.Time{}, nil
	l.now = now
	l.batch = &batchRun{rec: rec, recipe: r, phase: r.Procedure[c.PhaseIdx].Phase, step: "start", stepStart: now,
		phaseStart: c.PhaseStart, tareKg: c.TareKg, receivedKg: c.ReceivedKg, cake0: c.Cake0, water0: c.Water0,
		filtrate0: c.Filtrate0, energy0: c.Energy0, reject0: c.Rejects0, holdup0: c.Holdup0, phaseIdx: c.PhaseIdx, timeoutFrom: now, overrides: c.Overrides,
		cakeDS: c.CakeDS, slurryDS: c.SlurryDS}
	// A meter the context does not know (the plant file gained one) counts
	// from the restart: unknown until the first scan reads it.
	l.batch.energy0By = make([]float64, len(l.sig.metered))
	for i, u := range l.sig.metered {
		if v, ok := c.Energy0By[u]; ok {
			l.batch.energy0By[i] = v
		} else {
			l.batch.energy0By[i] = math.NaN()
		}
	}
	l.batch.rec.Jams, l.batch.rec.Reversals = c.Jams, c.Reversals
	l.jams, l.reversals = l.jamCounters()
	l.fed.reset()
	l.seq = max(l.seq, c.Seq)
	l.allOff()
	if err := l.m.Restore(packml.Held); err != nil {
		return err
	}
	l.sync()
	l.Message = fmt.Sprintf("controller restarted during batch %s (phase %s): every output is off; unhold to continue, or stop or abort", rec.ID, l.batch.phase)
	l.setCause(otherCause("restart", fmt.Sprintf("controller restarted during batch %s", rec.ID)))
	l.emit(records.EventBatch, "restored", "", l.Message, "")
	return nil
}

// NoteAlarm adds an alarm transition (or an alarm command by a user) to the
// running batch's record.
func (l *Line) NoteAlarm(now time.Time, alarm, state, user string) {
	if l.batch != nil {
		l.batch.rec.Alarms = append(l.batch.rec.Alarms, records.AlarmNote{Time: now, Alarm: alarm, State: state, User: user})
	}
}

// NoteAction adds an operator command handled outside the line logic (an
// alarm command) to the running batch's record.
func (l *Line) NoteAction(now time.Time, user, command, detail string) {
	if l.batch != nil {
		l.batch.rec.Actions = append(l.batch.rec.Actions, records.Action{Time: now, User: user, Command: command, Detail: detail})
	}
}

// Progress is where the running batch is: its phase, its step and when
// the phase started.
type Progress struct {
	Phase, Step string
	PhaseStart  time.Time
}

// Progress returns where the running batch is (zero without a batch).
func (l *Line) Progress() Progress {
	if l.batch == nil {
		return Progress{}
	}
	return Progress{Phase: l.batch.phase, Step: l.batch.step, PhaseStart: l.batch.phaseStart}
}

// Interlocks returns every interlock's state as of the last scan and the
// first-out: the first to become active while none was.
func (l *Line) Interlocks() ([]api.InterlockStatus, string) {
	out := make([]api.InterlockStatus, 0, len(l.il.list))
	for _, s := range l.il.list {
		out = append(out, api.InterlockStatus{Name: s.cfg.Name, Tag: s.cfg.Tag, Effect: s.cfg.Effect,
			Units: s.cfg.Units, HoldLine: s.cfg.HoldLine, Active: s.active, Since: s.since, Value: s.value, Quality: s.quality, Message: s.cfg.Message})
	}
	return out, l.il.firstOut
}

// Batch returns the record of the running batch, or nil.
func (l *Line) Batch() *records.Batch {
	if l.batch == nil {
		return nil
	}
	return &l.batch.rec
}

// AllOff sets every command to its safe value (the engine's shutdown):
// motors off, door shut, water off, cone open.
func (l *Line) AllOff() { l.allOff() }

// ContinueNumbering makes the next batch's sequence number follow seq at
// least: batch IDs stay unique for the life of the data directory.
func (l *Line) ContinueNumbering(seq int) { l.seq = max(l.seq, seq) }

// NoteDeviceEvent ties an event of the engine's output set (comm loss,
// reconnect, output corrected) to the running batch.
func (l *Line) NoteDeviceEvent(e *Event) { l.noteDeviceEvent(e) }

// allOff sets every command to its safe value: motors off, door shut, water off.
func (l *Line) allOff() {
	for _, u := range l.order {
		u.want = false
		l.outputs[u.run] = 0
	}
	l.outputs[l.sig.door] = 0
	l.outputs[l.sig.waterCmd] = 0
	l.outputs[l.sig.waterFlowSP] = 0
	for _, u := range l.order {
		if u.ctl != nil {
			for _, t := range u.ctl.outputs {
				l.outputs[t] = 0 // reverse off, cone open
			}
		}
	}
	for _, p := range l.pumps {
		l.outputs[p.run] = 0
		if sp := p.ctl.io.signals["speed_sp"]; sp != "" {
			l.outputs[sp] = 0
		}
	}
	l.dilute, l.feedRate, l.washFlow = false, 0, 0
}

// draining reports whether the line now draws the pulper down (a feed
// pump then runs it empty instead of holding its level): in the dewater
// and wash phases, on a stop, and while units run empty after a fault.
// While the batch feeds the pulper (shred) the level is held.
func (l *Line) draining() bool {
	if l.State == StateStopping || l.State == StateHolding {
		return true
	}
	return l.batch == nil || (l.batch.phase != "shred" && l.batch.phase != "pulp")
}

// Step runs one scan of logic at plant time now and returns the events it
// produced (valid until the next Step).
func (l *Line) Step(now time.Time, in Inputs, reqs []Request, results []api.CommandResult) []Event {
	l.now, l.in = now, in
	l.events = l.events[:0]
	// Interlocks and tanks first: a command is judged on this scan's
	// trips (an unhold or a start refused while one would stop a unit).
	l.evaluateStops()
	for i, r := range reqs {
		results[i] = l.command(r)
	}
	if l.State != StateHolding {
		l.runEmpty = false
	}
	l.dilute, l.feedRate, l.washFlow = false, 0, 0 // execute asks again
	l.dosing = false
	if l.State == StateExecute || l.State == StateUnholding {
		if t := l.il.holdingTrip(); t != nil {
			l.setCause(l.interlockCause(t))
			l.hold(t.describe())
		} else {
			l.driveFaults()
		}
	}
	switch l.State {
	case StateResetting, StateClearing:
		l.allOff()
		l.Message = ""
		l.complete()
	case StateStarting:
		l.complete()
	case StateExecute:
		if l.holdOnBadInput() {
			break
		}
		l.execute()
		if l.batch != nil && l.State == StateExecute {
			l.accumulate()
		}
	case StateUnholding:
		if l.holdOnBadInput() {
			break
		}
		l.batch.timeoutFrom = l.now
		l.setStep("start")
		l.complete()
	case StateHolding:
		if l.runEmpty && l.batch != nil && l.badInput() == "" && l.il.holdingTrip() == nil {
			// A unit running empty whose drive faults stops now, with
			// what only it fed.
			l.driveFaults()
			if l.runEmpty && !l.drainStep() {
				break
			}
		}
		l.runEmpty = false
		l.allOff()
		l.complete()
	case StateCompleting:
		l.finish(records.BatchComplete)
		l.complete()
	case StateStopping:
		if l.batch == nil {
			l.allOff()
			l.complete()
			break
		}
		bad := l.badInput()
		if why := l.driveFault(); bad == "" && why != "" {
			bad = why
		}
		if bad != "" {
			// No purge without trustworthy inputs or with a drive
			// fault: everything off now.
			l.allOff()
			l.Message = "stop completed early: " + bad
			l.finish(records.BatchStopped)
			l.complete()
			break
		}
		l.stopping()
	case StateAborting:
		l.allOff()
		l.finish(records.BatchAborted)
		l.complete()
	}
	l.writeUnits()
	l.countJams()
	l.refreshCause()
	return l.events
}

// jamCounterUnit is a unit module that counts jams and reversals (a
// shredder's).
type jamCounterUnit interface {
	Jams() uint64
	Reversals() uint64
}

// jamCounters sums the shredders' jam and reversal counters.
func (l *Line) jamCounters() (jams, reversals uint64) {
	for _, u := range l.order {
		if u.ctl == nil {
			continue
		}
		if c, ok := u.ctl.mod.(jamCounterUnit); ok {
			jams += c.Jams()
			reversals += c.Reversals()
		}
	}
	return jams, reversals
}

// countJams adds to the running batch the jams and reversals since the
// last scan.
func (l *Line) countJams() {
	j, r := l.jamCounters()
	if l.batch != nil && j >= l.jams && r >= l.reversals {
		l.batch.rec.Jams += int(j - l.jams)
		l.batch.rec.Reversals += int(r - l.reversals)
	}
	l.jams, l.reversals = j, r
}

// evaluateStops works out this scan's interlock trips and tanks at
// high-high on the graph: each stops the units it names (a tank: the units
// that fill it), and every unit all of whose outputs are stopped.
func (l *Line) evaluateStops() {
	l.il.evaluate(l.now, l.in)
	for i := range l.stopped {
		l.stopped[i], l.stopCause[i] = false, stopCause{}
		if t := l.il.tripNaming(l.g.names[i]); t != nil {
			l.stopped[i], l.stopCause[i] = true, stopCause{il: t}
		}
	}
	for _, t := range l.tanks {
		t.step(l.now, l.in)
		if t.out.StopFeed { // high-high, or the level cannot be seen
			for _, f := range l.g.pred[t.node] {
				if !l.stopped[f] {
					l.stopped[f], l.stopCause[f] = true, stopCause{tank: t}
				}
			}
		}
	}
	propagate(l.g, l.stopped, l.stopCause)
}

// tripFor is why the named unit is stopped this scan by an interlock or a
// tank, or nil.
func (l *Line) tripFor(name string) *stopCause {
	if i, ok := l.g.index[name]; ok && l.stopped[i] {
		return &l.stopCause[i]
	}
	return nil
}

// writeUnits turns what the logic wants into outputs, with interlock trips
// applied last: a tripped unit (and every unit that only feeds tripped
// ones) is off whatever the sequence wants. Each shredder's jam handling
// drives its run and reverse outputs and may pause its feed.
func (l *Line) writeUnits() {
	running := l.State == StateExecute || l.State == StateUnholding
	for _, u := range l.order {
		if u.want && !l.stopped[u.node] && !l.blocked[u.node] {
			l.outputs[u.run] = 1
		} else {
			l.outputs[u.run] = 0
		}
	}
	// The pulper's module doses this scan's water: dilution at the feed
	// rate while the batch asks for it, or wash-down water.
	io := &l.pulper.ctl.io
	io.set("dilute", b2f(l.dilute))
	io.set("feed_rate", l.feedRate)
	io.set("wash_flow", l.washFlow)
	for _, u := range l.order {
		c := u.ctl
		if c == nil {
			continue
		}
		if l.batch != nil {
			c.setParams(l.param)
		}
		run, feedOK, fault := c.step(l.now, l.in, l.outputs[u.run] == 1)
		l.outputs[u.run] = b2f(run)
		if !feedOK {
			// A shredder's feed pause or jam cycle, the pulper at
			// high-high: the units that feed the line towards it stop.
			for _, f := range u.heads {
				l.outputs[l.order[f].run] = 0
			}
		}
		if fault != "" {
			l.outputs[u.run] = 0
			for _, t := range c.outputs {
				l.outputs[t] = 0
			}
			if running || l.State == StateHolding {
				l.unitFailed(u.node, u.name+" "+fault)
			}
		}
	}
	// Pumps run while a batch runs, purges on a stop, or runs empty after
	// a unit fault; never in a hold that switches everything off.
	enabled := l.batch != nil && (l.State == StateExecute || l.State == StateStopping || l.State == StateUnholding ||
		(l.State == StateHolding && l.runEmpty))
	for _, p := range l.pumps {
		was := l.outputs[p.run] == 1
		on := enabled && !l.stopped[p.node] && !l.blocked[p.node]
		if p.feeds >= 0 {
			// A feed pump runs while the unit it feeds runs (commanded and
			// confirmed), holding its suction at its set-point while the
			// batch fills it, drawing it down when the phase drains it.
			f := l.order[p.feeds]
			on = on && l.outputs[f.run] == 1 && l.on(f.running)
			p.ctl.io.set("drain", b2f(l.draining()))
		}
		dryRuns := p.dryRuns()
		run, _, fault := p.ctl.step(l.now, l.in, on)
		l.outputs[p.run] = b2f(run)
		if run != was && fault == "" {
			why := fmt.Sprintf("%s at %.1f %%", p.suction, l.get(p.suctionLvl))
			if !run && p.dryRuns() > dryRuns {
				why += ": dry-run protection"
			}
			l.emit(records.EventCommand, map[bool]string{true: "start", false: "stop"}[run], p.name, why, "")
		}
		if fault != "" {
			l.outputs[p.run] = 0
			for _, t := range p.ctl.outputs {
				l.outputs[t] = 0
			}
			if sp := p.ctl.io.signals["speed_sp"]; sp != "" {
				l.outputs[sp] = 0
			}
			if running || l.State == StateHolding {
				// Nothing may flow towards a pump that cannot run: the
				// units whose only way on is through it stop (for a
				// transfer pump after the press, the whole line; for the
				// press's feed pump, the pulper and what feeds it, while
				// the press runs empty).
				l.unitFailed(p.node, "pump "+p.name+" "+fault)
			}
		}
	}
	pul := l.pulper
	if l.tripFor(l.receptionName) != nil || l.blocked[l.reception] {
		l.outputs[l.sig.door] = 0
	}
	if l.stopped[pul.node] || l.blocked[pul.node] {
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
	}
}

func (l *Line) get(tag string) float64 {
	v, _ := l.in.Get(tag)
	return v
}

func (l *Line) on(tag string) bool { return l.get(tag) >= 0.5 }

// badInput names the first input the running logic depends on that is not
// good, or "".
func (l *Line) badInput() string {
	msg, _ := l.badInputTag()
	return msg
}

// badInputTag is badInput with the input's tag.
func (l *Line) badInputTag() (msg, tag string) {
	for _, t := range l.critical {
		if _, q := l.in.Get(t); !q.Good() {
			if why := commCause(l.deviceOf[t], q); why != "" {
				return fmt.Sprintf("%s: input %s cannot be read", why, t), t
			}
			return fmt.Sprintf("input %s is %s", t, q), t
		}
	}
	return "", ""
}

// holdOnBadInput holds the line when an input the running logic depends
// on is not good, keeping it as the cause; it reports whether it did.
func (l *Line) holdOnBadInput() bool {
	bad, tag := l.badInputTag()
	if bad == "" {
		return false
	}
	l.setCause(l.inputCause(tag))
	l.hold(bad)
	return true
}

// resetEquipment clears the faults latched in the equipment modules (a
// shredder's jam limit, a press's trips, a mixer or pump that failed to
// start or lost its feedback) and the units dropped for them. A module
// whose cause is still present refuses, and so does the operator's
// command.
func (l *Line) resetEquipment() error {
	for _, u := range l.order {
		if u.ctl != nil {
			if err := u.ctl.reset(); err != nil {
				return resetRefusal(err)
			}
		}
	}
	for _, p := range l.pumps {
		if err := p.ctl.reset(); err != nil {
			return resetRefusal(err)
		}
	}
	clear(l.latched)
	clear(l.blocked)
	return nil
}

// resetRefusal words a module's refused reset for the operator's command
// that asked for it: "shredder cannot be reset: drive still reports a
// fault".
func resetRefusal(err error) error {
	var r *equipment.Refusal
	if errors.As(err, &r) {
		return fmt.Errorf("%s cannot be reset: %s", r.Unit, r.Reason)
	}
	return err
}

// driveFault names the first unit whose drive reports a fault, or "".
func (l *Line) driveFault() string {
	for _, u := range l.order {
		if u.fault != "" && l.on(u.fault) {
			return u.name + " drive reports a fault"
		}
	}
	return ""
}

// driveFaults drops every running unit whose drive reports a fault.
func (l *Line) driveFaults() {
	for _, u := range l.order {
		if u.fault != "" && l.latched[u.node] == "" && !l.blocked[u.node] && l.on(u.fault) {
			l.unitFailed(u.node, u.name+" drive reports a fault")
		}
	}
}

// unitFailed latches a unit's fault and drops it, and every unit all of
// whose outputs lead to dropped units, at once (PROCESS.md: a fault drops
// the faulted unit and everything upstream of it). Where the line can
// still take waste from reception to a discharge without them (a shredder
// of two in parallel), the batch goes on without that branch; otherwise
// the line holds: the units not dropped run empty, upstream first, one
// purge time each, while it is Holding, and then every output goes off
// and it is Held.
func (l *Line) unitFailed(node int, reason string) {
	l.unitFailedFor(node, reason, l.unitCause(CauseUnitFault, node, reason))
}

// unitFailedFor is unitFailed with the cause the line keeps should the
// fault hold it (the unit's fault, its failed start, or the interlock or
// tank that kept it from starting).
func (l *Line) unitFailedFor(node int, reason string, c causeState) {
	if l.latched[node] != "" || l.blocked[node] {
		return
	}
	l.latched[node] = reason
	for i, r := range l.latched {
		l.blocked[i] = r != ""
	}
	propagate[int](l.g, l.blocked, nil)
	for _, u := range l.order {
		if l.blocked[u.node] {
			if u.want {
				u.want, u.stoppedAt = false, l.now
			}
			l.outputs[u.run] = 0
		}
	}
	name := l.g.names[node]
	if l.blocked[l.pulper.node] {
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
		l.dilute, l.feedRate, l.washFlow = false, 0, 0 // and the pulper's step keeps it shut this scan
	}
	if l.State == StateHolding {
		// A unit running empty after an earlier fault faults too: it and
		// what only it fed stop now.
		if l.runEmpty {
			l.Message += "; " + reason
			l.emit(records.EventBatch, "held", name, reason, "")
		}
		return
	}
	if !l.blocked[l.reception] && l.batch != nil {
		// Another branch still runs: the batch goes on without this one.
		msg := fmt.Sprintf("%s dropped, the line runs on without it: %s", name, reason)
		l.emit(records.EventBatch, "unit_dropped", name, msg, "")
		l.batch.rec.Notes = append(l.batch.rec.Notes, records.Note{Time: l.now, Unit: name, Text: msg})
		if l.Message == "" {
			l.Message = msg
		}
		return
	}
	l.outputs[l.sig.door] = 0
	if err := l.apply(packml.Hold); err != nil {
		return
	}
	l.setCause(c)
	l.runEmpty, l.drainFrom = true, l.now
	l.Message = reason
	l.emit(records.EventBatch, "held", name, reason, "")
}

// drainStep runs one Holding scan of the run-empty after a unit fault: the
// units still wanted stop upstream first, each one purge time after the
// units feeding it stopped. It returns true when all have stopped.
func (l *Line) drainStep() bool {
	l.outputs[l.sig.door] = 0
	purge := seconds(l.param("purge_time"))
	return l.runDown(func(*unitRun) bool { return true }, l.drainFrom, func(*unitRun) time.Duration { return purge }, "ran empty after a fault upstream")
}

// runDown stops the wanted units that in selects, upstream first: each
// once every unit feeding it (among those selected) has stopped and its own
// purge time has passed since then, or since from for a unit fed by none
// of them. It returns true when none of them is wanted any more.
func (l *Line) runDown(in func(*unitRun) bool, from time.Time, purge func(*unitRun) time.Duration, why string) bool {
	done := true
	for i := len(l.order) - 1; i >= 0; i-- { // upstream first
		u := l.order[i]
		if !u.want || !in(u) {
			continue
		}
		fedUntil, ready := from, true
		for _, j := range u.up {
			v := l.order[j]
			switch {
			case !in(v):
			case v.want:
				ready = false
			case v.stoppedAt.After(fedUntil):
				fedUntil = v.stoppedAt
			}
		}
		if !ready || l.now.Sub(fedUntil) < purge(u) {
			done = false
			continue
		}
		u.want, u.stoppedAt = false, l.now
		l.emit(records.EventCommand, "stop", u.name, why, "")
	}
	return done
}

func (l *Line) emit(kind, name, unit, msg, user string) {
	e := Event{Time: l.now, Kind: kind, Line: l.cfg.Line, Unit: unit, Name: name, Message: msg, User: user}
	if l.batch != nil {
		e.BatchID = l.batch.rec.ID
		if kind == records.EventCommand && user != "" {
			l.batch.rec.Actions = append(l.batch.rec.Actions, records.Action{Time: l.now, User: user, Command: name, Detail: msg})
		}
	}
	l.events = append(l.events, e)
}

// command runs one operator command. A refusal's error is the reason
// alone, one sentence ("recipe x is not known"): whoever shows it says
// which command was refused ("start refused: …"), and so does the event
// recorded for it (named "<command>:refused").
func (l *Line) command(req Request) api.CommandResult {
	c := req.Command
	refuse := func(format string, args ...any) api.CommandResult {
		msg := refusalReason(c.Command, fmt.Sprintf(format, args...))
		l.emit(records.EventCommand, c.Command+":refused", "", msg, c.User)
		return api.CommandResult{Error: msg}
	}
	switch c.Command {
	case api.CommandStart:
		if l.State != StateIdle {
			return refuse("the line is %s; a batch starts only from Idle (reset a Stopped or Complete line first)", l.State)
		}
		r := req.Recipe
		if r == nil {
			var ok bool
			if r, ok = l.recipes[c.Recipe]; !ok {
				return refuse("recipe %q is not known", c.Recipe)
			}
		}
		if len(r.Procedure) == 0 {
			return refuse("recipe %s has no procedure", r.Name)
		}
		// Starting into a line that would hold at once helps nobody.
		if bad := l.badInput(); bad != "" {
			return refuse("%s", bad)
		}
		if why := l.driveFault(); why != "" {
			return refuse("%s", why)
		}
		if why := l.restartBlocker(r); why != "" {
			return refuse("%s is still active", why)
		}
		if _, err := l.m.Command(packml.Start); err != nil {
			return refuse("%v", err)
		}
		l.sync()
		l.startBatch(r, c.User)
	case api.CommandUnhold, api.CommandResume:
		if l.State == StateHeld {
			// What held the line first: while it is still present, an
			// unhold would only hold again (or fail to start a unit).
			if why := l.restartBlocker(nil); why != "" {
				return refuse("%s is still active", why)
			}
			if bad := l.badInput(); bad != "" {
				return refuse("%s", bad)
			}
			if why := l.driveFault(); why != "" {
				return refuse("%s", why)
			}
			if t := l.il.holdingTrip(); t != nil {
				return refuse("%s is still active", t.describe())
			}
			// Unholding after a unit fault is the operator's reset of it.
			if err := l.resetEquipment(); err != nil {
				return refuse("%v", err)
			}
		}
		if err := l.apply(packml.Unhold); err != nil {
			return refuse("%v", err)
		}
		l.Message = ""
	case api.CommandHold:
		if err := l.apply(packml.Hold); err != nil {
			return refuse("%v", err)
		}
		l.Message = "held by " + c.User
		l.setCause(operatorCause(c.Command, c.User, l.Message))
		l.emit(records.EventBatch, "held", "", l.Message, c.User)
	case api.CommandStop:
		if err := l.apply(packml.Stop); err != nil {
			return refuse("%v", err)
		}
		l.Message = "stop requested by " + c.User
		l.setCause(operatorCause(c.Command, c.User, l.Message))
		l.setStep("stop")
	case api.CommandAbort:
		if err := l.apply(packml.Abort); err != nil {
			return refuse("%v", err)
		}
		l.allOff()
		l.Message = "aborted by " + c.User
		l.setCause(operatorCause(c.Command, c.User, l.Message))
	case api.CommandReset:
		if l.State == StateStopped || l.State == StateComplete {
			// A fault latched in a batch that was then aborted or
			// stopped is reset here, before the next batch.
			if err := l.resetEquipment(); err != nil {
				return refuse("%v", err)
			}
		}
		if err := l.apply(packml.Reset); err != nil {
			return refuse("%v", err)
		}
		l.il.resetFirstOut()
	case api.CommandClear:
		if err := l.apply(packml.Clear); err != nil {
			return refuse("%v", err)
		}
	case api.CommandConfirm:
		if l.State != StateExecute || l.batch == nil {
			return refuse("the line is %s; confirm applies to a running phase", l.State)
		}
		ph := &l.batch.recipe.Procedure[l.batch.phaseIdx]
		if !ph.End.OperatorConfirm {
			return refuse("phase %s does not wait for an operator confirmation", ph.Phase)
		}
		l.batch.confirmed = true
	case api.CommandOverride:
		if msg := l.override(c); msg != "" {
			return refuse("%s", msg)
		}
	default:
		return refuse("command %q is not known; allowed: start, hold, unhold, stop, abort, reset, clear, confirm, override", c.Command)
	}
	l.emit(records.EventCommand, c.Command, "", "", c.User)
	return api.CommandResult{OK: true}
}

// refusalReason strips a leading "<command> refused: " (as the state
// model and the equipment modules may word their errors) so that a
// refusal reads once: the reason alone.
func refusalReason(command, msg string) string {
	for _, p := range []string{command + " refused: ", "refused: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (l *Line) startBatch(r *recipes.Recipe, user string) {
	l.seq++
	id := fmt.Sprintf("%s-%s-%d", l.cfg.Line, l.now.UTC().Format("20060102T150405"), l.seq)
	b := &batchRun{recipe: r, overrides: map[string]float64{}}
	b.rec = records.Batch{ID: id, Line: l.cfg.Line, Recipe: r.Name, RecipeVersion: r.Version, RecipeHash: r.Hash,
		WasteClass: r.WasteClass, State: records.BatchRunning, User: user, Start: l.now}
	if rp := r.PhaseByName("receive"); rp != nil && rp.End.MassReceived != nil {
		b.rec.TargetKg = rp.End.MassReceived.Value
	}
	b.tareKg = l.get(l.sig.hopper)
	b.cake0 = l.sum(l.sig.cake)
	b.water0 = l.get(l.sig.waterTotal)
	b.filtrate0 = l.sum(l.sig.filtrate)
	b.energy0 = l.sum(l.sig.energy)
	b.energy0By = make([]float64, len(l.sig.energy))
	for i, t := range l.sig.energy {
		b.energy0By[i] = l.get(t)
	}
	b.rec.Metered = slices.Clone(l.sig.metered)
	b.reject0 = l.sum(l.sig.rejects)
	b.holdup0 = l.holdup()
	b.rec.KgHoldupStart = b.holdup0
	l.batch = b
	l.fed.reset()
	l.Message = ""
	for _, u := range l.order {
		if u.ctl != nil {
			u.ctl.setParams(r.Param)
		}
	}
	l.emit(records.EventBatch, "started", "", r.Name, user)
	if r.Param("depackager") >= 1 && len(l.cfg.UnitsOf(plant.KindDepackager)) == 0 {
		// The recipe expects its packaging separated; this line cannot.
		msg := fmt.Sprintf("recipe %s expects a depackager (depackager = 1); line %s has none, so packaging is not separated from the slurry (only the shredder's screen takes rejects)", r.Name, l.cfg.Line)
		b.rec.Notes = append(b.rec.Notes, records.Note{Time: l.now, Text: msg})
		l.emit(records.EventBatch, "no_depackager", "", msg, "")
	}
	l.setPhase(0)
}

// override changes an overridable recipe value for the running batch, within
// its range and the plant's limits, and records who did it. It returns why
// not, or "".
func (l *Line) override(c api.Command) string {
	b := l.batch
	if b == nil || (l.State != StateExecute && l.State != StateHeld && l.State != StateHolding && l.State != StateUnholding) {
		return fmt.Sprintf("the line is %s; overrides apply to a running or held batch", l.State)
	}
	d, ok := recipes.Lookup(c.Parameter)
	if !ok || !d.Overridable {
		var allowed []string
		for _, d := range recipes.Definitions {
			if d.Overridable {
				allowed = append(allowed, d.Name)
			}
		}
		return fmt.Sprintf("%q cannot be overridden; allowed: %s", c.Parameter, strings.Join(allowed, ", "))
	}
	if math.IsNaN(c.Value) || c.Value < d.Min || c.Value > d.Max {
		return fmt.Sprintf("%s = %g %s is out of range; allowed: %g to %g %s", d.Name, c.Value, d.Unit, d.Min, d.Max, d.Unit)
	}
	if lim, ok := l.limits[d.Limit]; ok && (c.Value < lim[0] || c.Value > lim[1]) {
		return fmt.Sprintf("%s = %g %s is outside the plant's limit %s; allowed: %g to %g %s", d.Name, c.Value, d.Unit, d.Limit, lim[0], lim[1], d.Unit)
	}
	old := l.param(d.Name)
	b.overrides[d.Name] = c.Value
	b.rec.Overrides = append(b.rec.Overrides, records.Override{Time: l.now, User: c.User, Parameter: d.Name, Unit: d.Unit, Old: old, New: c.Value})
	return ""
}

// param is the value in force for the running batch: an operator override,
// else the current phase's setpoint, else any phase's, else the recipe's
// parameter or the definition's default.
func (l *Line) param(name string) float64 {
	b := l.batch
	if v, ok := b.overrides[name]; ok {
		return v
	}
	if q, ok := b.recipe.Procedure[b.phaseIdx].Setpoints[name]; ok {
		return q.Value
	}
	for i := range b.recipe.Procedure {
		if q, ok := b.recipe.Procedure[i].Setpoints[name]; ok {
			return q.Value
		}
	}
	return b.recipe.Param(name)
}

// sum adds up the values of tags (the cake bins of every press, the
// energy meters of every unit…).
func (l *Line) sum(tags []string) float64 {
	var v float64
	for _, t := range tags {
		v += l.get(t)
	}
	return v
}

func (l *Line) setPhase(idx int) {
	b := l.batch
	if n := len(b.rec.Phases); n > 0 && b.rec.Phases[n-1].End.IsZero() {
		b.rec.Phases[n-1].End = l.now
		l.closePhaseStats()
	}
	p := b.recipe.Procedure[idx].Phase
	b.phaseIdx, b.confirmed, b.timeoutFrom = idx, false, l.now
	b.phase, b.phaseStart = p, l.now
	b.rec.Phases = append(b.rec.Phases, records.Phase{Name: p, Start: l.now})
	l.emit(records.EventPhase, "phase:"+p, "", "", "")
	l.setStep("start")
}

func (l *Line) setStep(s string) {
	if l.batch != nil {
		l.batch.step, l.batch.stepStart = s, l.now
	}
}

func (l *Line) nextPhase() {
	b := l.batch
	if b.phaseIdx+1 < len(b.recipe.Procedure) {
		l.setPhase(b.phaseIdx + 1)
		return
	}
	if _, err := l.m.Finish(); err == nil {
		l.sync()
	}
}

// sync mirrors the state model into State and reports the transition to
// the trace hook (tests check every transition against the model).
func (l *Line) sync() {
	if next := l.m.State(); next != l.State {
		if l.trace != nil {
			l.trace(l.State, next)
		}
		l.State = next
	}
}

// apply runs an operator command through the state model.
func (l *Line) apply(c packml.Command) error {
	if _, err := l.m.Command(c); err != nil {
		return err
	}
	l.sync()
	return nil
}

// complete ends the current acting state's work.
func (l *Line) complete() {
	if _, err := l.m.StateComplete(); err == nil {
		l.sync()
	}
}

// hold drops every unit to its safe state and keeps the batch for the
// operator: Execute or Unholding → Holding → (next scan) Held.
func (l *Line) hold(reason string) {
	l.allOff()
	l.runEmpty = false
	if err := l.apply(packml.Hold); err != nil {
		return
	}
	l.Message = reason
	l.emit(records.EventBatch, "held", "", reason, "")
}

// finish closes the batch record (complete, stopped, aborted) with every
// output off. The state model moves separately.
func (l *Line) finish(recState records.BatchState) {
	l.allOff()
	b := l.batch
	if b == nil {
		return
	}
	l.updateTotals()
	if n := len(b.rec.Phases); n > 0 && b.rec.Phases[n-1].End.IsZero() {
		b.rec.Phases[n-1].End = l.now
		l.closePhaseStats()
	}
	b.rec.State, b.rec.End = recState, l.now
	l.emit(records.EventBatch, string(recState), "", "", "")
	rec := b.rec
	l.lastBatch = &rec
	l.batch = nil
}

func (l *Line) updateTotals() {
	b := l.batch
	b.rec.KgReceived = b.receivedKg
	if b.phase == "receive" {
		b.rec.KgReceived = math.Max(0, l.get(l.sig.hopper)-b.tareKg)
	}
	b.rec.KgCake = l.sum(l.sig.cake) - b.cake0
	b.rec.KgWater = l.get(l.sig.waterTotal) - b.water0
	b.rec.KgFiltrate = l.sum(l.sig.filtrate) - b.filtrate0
	b.rec.KWh = l.sum(l.sig.energy) - b.energy0
	if len(l.sig.energy) > 0 {
		if b.rec.KWhByUnit == nil {
			b.rec.KWhByUnit = make(map[string]float64, len(l.sig.energy))
		}
		// KWh is the sum over the metered units (a meter a restarted
		// controller had no start reading for counts from the restart).
		b.rec.KWh = 0
		for i, t := range l.sig.energy {
			v := l.get(t)
			if math.IsNaN(b.energy0By[i]) {
				b.energy0By[i] = v
			}
			b.rec.KWhByUnit[l.sig.metered[i]] = v - b.energy0By[i]
			b.rec.KWh += v - b.energy0By[i]
		}
	}
	b.rec.CakeDS, b.rec.SlurryDS = b.cakeDS.mean(), b.slurryDS.mean()
	b.rec.CakeDSTarget, b.rec.SlurryDSTarget = l.param("cake_ds_target"), l.param("slurry_ds_target")
	b.rec.KgRejects = l.sum(l.sig.rejects) - b.reject0
	b.rec.KgHoldupStart, b.rec.KgHoldupEnd = b.holdup0, l.holdup()
	b.rec.ClosurePct = 0
	if in := b.rec.KgReceived + b.rec.KgWater + b.holdup0; in > 0 {
		b.rec.ClosurePct = 100 * (b.rec.KgCake + b.rec.KgFiltrate + b.rec.KgRejects + b.rec.KgHoldupEnd) / in
	}
}

// holdup is what the line holds now, kg: the hopper's content and, when
// the plant file gives the pulper's capacity, the pulper's. The shredder's
// own hold-up is not measured; a batch ends with it purged.
func (l *Line) holdup() float64 {
	h := math.Max(0, l.get(l.sig.hopper))
	if l.pulperKg > 0 {
		h += math.Max(0, l.get(l.sig.level)) / 100 * l.pulperKg
	}
	return h
}

// stop drops what the sequence wants of u.
func (l *Line) stop(u *unitRun) {
	if u.want {
		u.want, u.stoppedAt = false, l.now
	}
}

// runs reports whether the current phase runs u (recipes.Phases).
func (l *Line) runs(u *unitRun) bool {
	def, _ := recipes.PhaseNamed(l.batch.phase)
	return slices.Contains(def.Runs, u.kind)
}

// startUnits runs the start sequence for the units the current phase runs,
// downstream first: a unit starts once every unit it feeds (that the phase
// runs) has confirmed running, and must itself confirm running within the
// plant's start_confirm_time. Units dropped for a fault are left out. It
// returns true when all the others run.
func (l *Line) startUnits() bool {
	all := true
	for _, u := range l.order { // downstream first
		if !l.runs(u) || l.blocked[u.node] {
			continue
		}
		if u.want {
			if !l.on(u.running) {
				all = false
				if l.now.Sub(u.since) > l.cfg.StartConfirmTime {
					var reason string
					var c causeState
					if why, bc, ok := l.blocker(u); ok {
						// An interlock or a tank kept it from starting: that
						// is the cause, not the unit.
						reason, c = fmt.Sprintf("%s cannot start: %s", u.name, why), bc
					} else {
						why := fmt.Sprintf("no running feedback within %s", l.cfg.StartConfirmTime)
						if m := l.moduleWhy(u.ctl); m != "" {
							why = m
						}
						reason = fmt.Sprintf("%s failed to start: %s", u.name, why)
						c = l.unitCause(CauseStartFailure, u.node, reason)
					}
					l.unitFailedFor(u.node, reason, c)
					if l.State != StateExecute {
						return false
					}
				}
			}
			continue
		}
		all = false
		ready := true
		for _, j := range u.down {
			if d := l.order[j]; l.runs(d) && !l.blocked[d.node] && !(d.want && l.on(d.running)) {
				ready = false
			}
		}
		if !ready {
			continue
		}
		if why, c, ok := l.blocker(u); ok {
			if u.since.IsZero() || l.now.Sub(u.since) > l.cfg.StartConfirmTime*10 {
				u.since = l.now // first time this unit waits on a permissive
			}
			if l.now.Sub(u.since) > l.cfg.StartConfirmTime {
				l.setCause(c)
				l.hold(fmt.Sprintf("%s cannot start: %s", u.name, why))
				u.since = time.Time{}
				return false
			}
			continue
		}
		u.want, u.since = true, l.now
		l.emit(records.EventCommand, "start", u.name, "start sequence", "")
	}
	return all
}

// whyNot lists the interlocks that keep u from starting now: its own unmet
// permissives, and a trip or tank that stops it.
func (l *Line) whyNot(u *unitRun) []string {
	var out []string
	for _, s := range l.il.permissives(u.name) {
		out = append(out, s.describe())
	}
	if l.stopped[u.node] {
		out = append(out, l.stopCause[u.node].describe())
	}
	return out
}

// endMet reports whether every end condition of the current phase holds.
func (l *Line) endMet() bool {
	b := l.batch
	e := &b.recipe.Procedure[b.phaseIdx].End
	net := l.get(l.sig.hopper) - b.tareKg
	level := l.get(l.sig.level)
	switch {
	case e.MassReceived != nil && net < e.MassReceived.Value,
		e.HopperBelow != nil && net > e.HopperBelow.Value,
		e.LevelAbove != nil && level < e.LevelAbove.Value,
		e.LevelBelow != nil && level > e.LevelBelow.Value,
		e.TimeElapsed != nil && l.now.Sub(b.phaseStart).Seconds() < e.TimeElapsed.Value,
		e.OperatorConfirm && !b.confirmed:
		return false
	}
	return true
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func (l *Line) execute() {
	b := l.batch
	ph := &b.recipe.Procedure[b.phaseIdx]
	if ph.Timeout != nil && l.now.Sub(b.timeoutFrom) > seconds(ph.Timeout.Value) {
		msg := fmt.Sprintf("phase %s has not ended within its timeout of %gs", ph.Phase, ph.Timeout.Value)
		l.setCause(otherCause("timeout", msg))
		l.hold(msg)
		return
	}
	for _, u := range l.order {
		if p := speedParam[u.kind]; p != "" && u.speedSP != "" {
			l.outputs[u.speedSP] = l.param(p)
		}
		if u.bpSP != "" && u.ctl == nil {
			// A press without a module: its drive's own loop takes the
			// recipe's set-point (a module writes its trimmed one).
			l.outputs[u.bpSP] = l.param("press_back_pressure")
		}
		if !l.runs(u) {
			l.stop(u) // the phase does not run this kind
		}
	}
	purge := seconds(l.param("purge_time"))
	l.updateTotals()
	if b.step == "purge" {
		if l.endPurge(purge) {
			l.nextPhase()
		}
		return
	}
	switch b.phase {
	case "receive":
		net := l.get(l.sig.hopper) - b.tareKg
		if b.step == "settling" {
			// The door is shut, but what was in the air, on the chute and
			// in the last poll's worth of tipping still lands: the
			// received mass is taken once the hopper has stopped rising.
			l.outputs[l.sig.door] = 0
			if net > b.settleRef+settleRiseKg {
				b.settleRef, b.settleFrom = net, l.now
			}
			if l.now.Sub(b.settleFrom) < settleTime && l.now.Sub(b.stepStart) < settleMax {
				return
			}
			b.receivedKg = math.Max(0, net)
			l.nextPhase()
			return
		}
		if !l.endMet() {
			l.outputs[l.sig.door] = 1
			b.step = "tipping"
			return
		}
		l.outputs[l.sig.door] = 0
		l.setStep("settling")
		b.settleRef, b.settleFrom = net, l.now
	case "shred":
		if b.receivedKg == 0 { // procedure without a receive phase: shred what is in the hopper
			b.receivedKg = math.Max(0, l.get(l.sig.hopper)-b.tareKg)
		}
		l.doseWater()
		switch b.step {
		case "start":
			if l.startUnits() {
				l.setStep("feeding")
			}
		case "feeding":
			if l.endMet() {
				l.setStep("purge")
				l.endPurge(purge)
			}
		}
	case "pulp":
		switch b.step {
		case "start":
			if l.startUnits() {
				l.setStep("mixing")
			}
		case "mixing":
			if !l.doseWater() && l.endMet() {
				l.nextPhase()
			}
		}
	case "dewater":
		switch b.step {
		case "start":
			if l.startUnits() {
				l.setStep("top-up")
			}
		case "top-up":
			if !l.doseWater() || l.now.Sub(b.stepStart) > 5*time.Minute {
				l.dilute = false
				l.setStep("draining")
			}
		case "draining":
			if l.endMet() {
				l.setStep("purge")
				l.endPurge(purge)
			}
		}
	case "discharge":
		b.step = "waiting"
		if l.endMet() {
			l.nextPhase()
		}
	case "wash":
		switch b.step {
		case "start":
			if l.startUnits() {
				l.setStep("washing")
			}
		case "washing":
			l.washFlow = l.param("wash_water_flow")
			if l.endMet() {
				l.washFlow = 0
				l.setStep("purge")
				l.endPurge(purge)
			}
		}
	default:
		l.nextPhase()
	}
}

// endPurge runs the end of a phase as the phase table says (recipes.
// PhaseDef.EndStop): the units it stops run empty and stop upstream first,
// each one purge time after what feeds it stopped; the pulper, which holds
// its slurry, stops with the units feeding it. It returns true when they
// have all stopped.
func (l *Line) endPurge(purge time.Duration) bool {
	def, _ := recipes.PhaseNamed(l.batch.phase)
	var in func(*unitRun) bool
	switch def.EndStop {
	case recipes.StopFeed:
		in = func(u *unitRun) bool { return slices.Contains(l.pulper.feed, l.index(u)) }
	case recipes.StopAll:
		in = func(*unitRun) bool { return true }
	default:
		return true
	}
	return l.runDown(in, l.batch.stepStart, l.purgeOf(purge), "purge: ran empty")
}

// purgeOf gives each unit's purge time in an orderly stop: the first units
// of the feed (fed by no other) stop at once, the pulper stops with what
// feeds it (it holds its slurry, the presses draw it down), every other
// unit runs empty for purge.
func (l *Line) purgeOf(purge time.Duration) func(*unitRun) time.Duration {
	return func(u *unitRun) time.Duration {
		if len(u.up) == 0 || u == l.pulper {
			return 0
		}
		return purge
	}
}

// doseWater asks the pulper for dilution water this scan and returns true
// while more is wanted. The pulper's module doses a feed-forward in ratio
// to the waste being fed (its rate from the hopper's weight) trimmed by a
// PI loop on the DS analyser; while the analyser cannot be trusted the
// water follows the ratio to the waste fed so far instead. Both follow
// rates or totals of this batch, never elapsed time, so a hold and restart
// never doses twice; and the batch never gets more than max_water_ratio
// times the waste fed.
func (l *Line) doseWater() bool {
	b := l.batch
	l.dosing = true
	fed := math.Max(0, b.receivedKg-(l.get(l.sig.hopper)-b.tareKg))
	dosed := l.get(l.sig.waterTotal) - b.water0
	rate := l.fed.update(l.now, fed)
	if dosed >= fed*l.param("max_water_ratio")-1 {
		return false
	}
	l.dilute = true
	target := l.param("slurry_ds_target")
	if ds, good, immersed := l.analyser(); good {
		// The module trims on the analyser once its probe is immersed.
		l.feedRate = rate
		return rate > 0.01 || (immersed && ds > target+dsBand)
	}
	// No analyser: ratio by totals, catching up on what the waste fed so
	// far needs.
	ratio := math.Max(0, math.Min(l.param("ds_in")/target-1, l.param("max_water_ratio")))
	missing := fed*ratio - dosed
	if ratio == 0 || missing <= 1 {
		l.dilute = false
		return false
	}
	l.feedRate = missing * 0.5 / ratio // a feed-forward of missing/2 kg/s
	return true
}

// analyser returns the pulper's DS analyser reading, whether it is good,
// and whether the level is above the probe's minimum (the reading is of
// the slurry).
func (l *Line) analyser() (ds float64, good, immersed bool) {
	if l.sig.ds == "" {
		return 0, false, false
	}
	ds, q := l.in.Get(l.sig.ds)
	lv, lq := l.in.Get(l.sig.level)
	return ds, q.Good(), lq.Good() && lv >= l.trimMinLevel
}

// After the reception door is shut, the hopper counts as settled once its
// net weight has not risen by more than settleRiseKg (a few load-cell noise
// deviations) for settleTime; the received mass is taken then, or after
// settleMax whatever the hopper does.
const (
	settleRiseKg = 0.5
	settleTime   = 2 * time.Second
	settleMax    = 30 * time.Second
)

// dsBand is how far above its target the slurry DS may end a top-up, in %.
const dsBand = 0.3

// stopping runs the orderly stop: the door shuts, the water stops, and
// every unit runs empty and stops upstream first (the feeders at once,
// then each unit one purge time after what feeds it).
func (l *Line) stopping() {
	b := l.batch
	l.outputs[l.sig.door] = 0
	l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
	if b.step != "stop" {
		l.setStep("stop")
	}
	if l.runDown(func(*unitRun) bool { return true }, b.stepStart, l.purgeOf(seconds(l.param("purge_time"))), "stop: ran empty") {
		l.finish(records.BatchStopped)
		l.complete()
	}
}

// Why lists what keeps a unit from starting or running now: the plant
// file's interlocks and tanks at high-high (on the unit or on what it
// feeds), the fault it or what it feeds was dropped for, and the unit's
// own permissives and latched fault (its equipment module).
func (l *Line) Why(unit string) []string {
	var out []string
	i, ok := l.g.index[unit]
	if !ok {
		return nil
	}
	for _, s := range l.il.permissives(unit) {
		out = append(out, s.describe())
	}
	if l.stopped[i] {
		out = append(out, l.stopCause[i].describe())
	}
	switch {
	case l.latched[i] != "":
		out = append(out, l.latched[i]+"; an unhold resets it once the cause is gone")
	case l.blocked[i]:
		for j, r := range l.latched {
			if r != "" {
				out = append(out, fmt.Sprintf("everything it feeds is stopped: %s (%s)", l.g.names[j], r))
				break
			}
		}
	}
	module := func(faulted bool, reason string, ps []equipment.Permissive) {
		if faulted && l.latched[i] == "" {
			out = append(out, reason+"; an unhold resets it once the cause is gone")
		}
		for _, p := range ps {
			if !p.Met {
				out = append(out, p.Why)
			}
		}
	}
	for _, u := range l.order {
		switch {
		case u.name != unit:
		case u.ctl != nil:
			module(u.ctl.last.Faulted, u.ctl.mod.Reason(), u.ctl.mod.Permissives())
		}
	}
	for _, p := range l.pumps {
		if p.name == unit {
			module(p.ctl.last.Faulted, p.ctl.mod.Reason(), p.ctl.mod.Permissives())
		}
	}
	return out
}

// unit returns the sequenced unit named name, or nil.
func (l *Line) unit(name string) *unitRun {
	if i := l.indexNamed(name); i < len(l.order) {
		return l.order[i]
	}
	return nil
}

// index is u's place in the start order (0 is the most downstream).
func (l *Line) index(u *unitRun) int { return u.pos }

// indexNamed is the named unit's place in the start order, or len(order).
func (l *Line) indexNamed(name string) int {
	for i, v := range l.order {
		if v.name == name {
			return i
		}
	}
	return len(l.order)
}

// UnitRunning reports whether a unit is running (commanded and confirmed);
// units without a motor count as running. Alarms bound to a stopped unit
// are suppressed by design.
func (l *Line) UnitRunning(name string) bool {
	for _, u := range l.order {
		if u.name == name {
			return u.want && l.in != nil && l.on(u.running)
		}
	}
	for _, p := range l.pumps {
		if p.name == name {
			return l.outputs[p.run] == 1 && l.in != nil && l.on(p.running)
		}
	}
	return true
}

// UnitStates reports each motorised unit's state for the API, downstream
// first: fault (latched, or its drive reports one), running, starting,
// stopping, or stopped.
func (l *Line) UnitStates(fn func(name string, cmd bool, state string)) {
	state := func(node int, want bool, running, drive, module bool) string {
		switch {
		case l.latched[node] != "" || drive || module:
			return "fault"
		case want && running:
			return "running"
		case want:
			return "starting"
		case running:
			return "stopping"
		}
		return "stopped"
	}
	for _, u := range l.order {
		running := l.in != nil && l.on(u.running)
		drive := u.fault != "" && l.in != nil && l.on(u.fault)
		module := u.ctl != nil && u.ctl.last.Faulted
		fn(u.name, u.want, state(u.node, u.want, running, drive, module))
	}
	for _, p := range l.pumps {
		running := l.in != nil && l.on(p.running)
		cmd := l.outputs[p.run] == 1
		fn(p.name, cmd, state(p.node, cmd, running, false, p.ctl.last.Faulted))
	}
}

// noteDeviceEvent ties an event of the engine's output set (comm loss,
// reconnect, output corrected) to the running batch.
func (l *Line) noteDeviceEvent(e *Event) {
	if l.batch != nil {
		e.BatchID = l.batch.rec.ID
	}
}

// ReceivedKg returns the running batch's ID and received mass once its
// receive phase has ended (known is false while it still receives, and
// without a running batch). The engine allocates deliveries to it then.
func (l *Line) ReceivedKg() (id string, kg float64, known bool) {
	b := l.batch
	if b == nil {
		return "", 0, false
	}
	ri := slices.IndexFunc(b.recipe.Procedure, func(p recipes.Phase) bool { return p.Phase == "receive" })
	if (ri >= 0 && b.phaseIdx <= ri) || (ri < 0 && b.receivedKg == 0) {
		return b.rec.ID, 0, false
	}
	return b.rec.ID, b.receivedKg, true
}

// AddDeliveryShares appends shares of deliveries to the record of the
// batch id: the running one or the last finished one. It returns false when
// neither is that batch.
func (l *Line) AddDeliveryShares(id string, shares []records.DeliveryShare) bool {
	switch {
	case l.batch != nil && l.batch.rec.ID == id:
		l.batch.rec.Deliveries = mergeShares(l.batch.rec.Deliveries, shares)
	case l.lastBatch != nil && l.lastBatch.ID == id:
		l.lastBatch.Deliveries = mergeShares(l.lastBatch.Deliveries, shares)
	default:
		return false
	}
	return true
}

// mergeShares adds shares to have, adding to a ticket's share it already
// has (a batch takes a delivery's kg at the end of receive and again at
// its finish).
func mergeShares(have, add []records.DeliveryShare) []records.DeliveryShare {
	out := append([]records.DeliveryShare(nil), have...)
	for _, s := range add {
		i := slices.IndexFunc(out, func(h records.DeliveryShare) bool { return h.Ticket == s.Ticket })
		if i >= 0 {
			out[i].Kg += s.Kg
			continue
		}
		out = append(out, s)
	}
	return out
}
