package controller

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/packml"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
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

// Event kinds are those of historian.Event.
type Event = historian.Event

// unitRun is what the logic wants of one motorised unit.
type unitRun struct {
	name    string
	run     string // tag of the run command
	running string // tag of the running feedback
	fault   string // tag of the fault bit, may be ""
	want    bool
	since   time.Time // when want last went true
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

	// start order: downstream first.
	press, pulper, shredder, feeder *unitRun
	order                           []*unitRun

	sig struct {
		door, hopper, level, waterCmd, waterFlowSP, waterTotal, cake, filtrate, rejects string
		shredSpeedSP, feedSpeedSP, pressSpeedSP, pressBPSP                              string
		energy                                                                          []string
	}

	batch     *batchRun
	lastBatch *historian.BatchRecord
	il        *interlocks
	signals   []phaseSignal
	// critical are the inputs the running logic depends on: one not good
	// holds the line.
	critical []string
	// jam is the shredder's jam handling (inrush blanking, feed pause, jam
	// detection, reversal cycle, reversal limit), active when the plant
	// binds the shredder's reverse and current signals.
	jam *jamControl
	// pc is the press's module (speed, back-pressure loop, over-current
	// and over-pressure trips), active when the plant binds its current
	// and back-pressure.
	pc *pressControl
	// pu is the pulper's module (mixer, level, dilution water on a
	// feed-forward trimmed by the DS analyser).
	pu *pulperControl
	// tanks and pumps: tanks stop what fills them at high-high; pumps
	// transfer on level control with dry-run protection.
	tanks []*tankControl
	pumps []*pumpControl
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
	// drain counts the units downstream of a faulted unit that still run
	// to empty themselves while the line is Holding (l.order[:drain]);
	// drainFrom is when the one now purging started.
	drain     int
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
}

// batchRun is the context of the running batch.
type batchRun struct {
	rec        historian.BatchRecord
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

// phaseSignal is one signal whose setpoint vs actual the batch record keeps
// per phase.
type phaseSignal struct {
	tag   string
	param string // recipe value that is its setpoint, "" for none
}

// signalAcc accumulates one signal over the current phase without
// allocating.
type signalAcc struct {
	sp            float64
	min, max, sum float64
	n             int
}

// batchContext is what a restarted controller needs to take a batch up
// again; it travels in the batch record (historian.BatchRecord.Context).
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
}

// Request is a command as the scan receives it: the API layer has already
// resolved a start command's recipe (reading the store is I/O, which the
// scan never does). A nil Recipe on start is looked up among the recipes
// the Line was built with.
type Request struct {
	Command api.Command
	Recipe  *recipes.Recipe
}

// NewLine builds the logic for a checked plant file and the recipes that may
// run on it.
func NewLine(cfg *plant.File, rs []*recipes.Recipe) (*Line, error) {
	l := &Line{cfg: cfg, recipes: map[string]*recipes.Recipe{}, limits: Limits(cfg), State: StateStopped, outputs: map[string]float64{}}
	for _, r := range rs {
		l.recipes[r.Name] = r
	}
	mk := func(kind string) *unitRun {
		u := cfg.Unit(kind)
		return &unitRun{name: u.Name, run: u.Signals["run"], running: u.Signals["running"], fault: u.Signals["fault"]}
	}
	l.press, l.pulper, l.shredder, l.feeder = mk(plant.KindScrewPress), mk(plant.KindPulper), mk(plant.KindShredder), mk(plant.KindFeeder)
	l.order = []*unitRun{l.press, l.pulper, l.shredder, l.feeder}
	rec, pul, pr := cfg.Unit(plant.KindReception), cfg.Unit(plant.KindPulper), cfg.Unit(plant.KindScrewPress)
	l.receptionName = rec.Name
	l.pulperKg = pul.CapacityKg
	l.sig.door, l.sig.hopper = rec.Signals["door"], rec.Signals["weight"]
	l.sig.level, l.sig.waterCmd, l.sig.waterFlowSP, l.sig.waterTotal = pul.Signals["level"], pul.Signals["water"], pul.Signals["water_flow_sp"], pul.Signals["water_total"]
	l.sig.cake, l.sig.filtrate = pr.Signals["cake_weight"], pr.Signals["filtrate_total"]
	l.sig.shredSpeedSP = cfg.Unit(plant.KindShredder).Signals["speed_sp"]
	l.sig.rejects = cfg.Unit(plant.KindShredder).Signals["rejects_weight"]
	l.sig.feedSpeedSP = cfg.Unit(plant.KindFeeder).Signals["speed_sp"]
	l.sig.pressSpeedSP, l.sig.pressBPSP = pr.Signals["speed_sp"], pr.Signals["back_pressure_sp"]
	for _, k := range []string{plant.KindScrewPress, plant.KindShredder} {
		if t := cfg.Unit(k).Signals["energy"]; t != "" {
			l.sig.energy = append(l.sig.energy, t)
		}
	}
	l.critical = []string{l.sig.hopper, l.sig.level, l.sig.waterTotal, l.sig.cake}
	for _, u := range l.order {
		l.critical = append(l.critical, u.running)
		if u.fault != "" {
			l.critical = append(l.critical, u.fault)
		}
	}
	l.il = newInterlocks(cfg)
	jc, err := newJamControl(cfg)
	if err != nil {
		return nil, err
	}
	l.jam = jc
	if l.pc, err = newPressControl(cfg); err != nil {
		return nil, err
	}
	if l.pu, err = newPulperControl(cfg); err != nil {
		return nil, err
	}
	if l.tanks, l.pumps, err = newTanksAndPumps(cfg, l.order); err != nil {
		return nil, err
	}
	for _, t := range l.tanks {
		l.critical = append(l.critical, t.levelTag)
	}
	for _, p := range l.pumps {
		l.critical = append(l.critical, p.runningTag)
	}
	for _, ps := range []struct{ kind, role, param string }{
		{plant.KindShredder, "speed", "shredder_speed"}, {plant.KindShredder, "current", ""},
		{plant.KindScrewPress, "speed", "press_speed"}, {plant.KindScrewPress, "back_pressure", "press_back_pressure"},
		{plant.KindScrewPress, "current", ""}, {plant.KindScrewPress, "cone_valve", ""}, {plant.KindScrewPress, "cake_ds", "cake_ds_target"},
		{plant.KindPulper, "ds", "slurry_ds_target"}, {plant.KindPulper, "level", ""},
	} {
		if t := cfg.Unit(ps.kind).Signals[ps.role]; t != "" {
			l.signals = append(l.signals, phaseSignal{tag: t, param: ps.param})
		}
	}
	l.allOff()
	if l.jam != nil && l.jam.reverseTag != "" {
		l.outputs[l.jam.reverseTag] = 0
	}
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
	if len(b.acc) != len(l.signals) {
		b.acc = make([]signalAcc, len(l.signals))
	}
	for i, s := range l.signals {
		v, q := l.in.Get(s.tag)
		if !q.Good() {
			continue
		}
		a := &b.acc[i]
		if s.param != "" {
			a.sp = l.param(s.param)
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
	var out []historian.SignalStats
	for i, s := range l.signals {
		a := b.acc[i]
		if a.n == 0 {
			continue
		}
		out = append(out, historian.SignalStats{Tag: s.tag, Setpoint: a.sp, HasSP: s.param != "", Min: a.min, Mean: a.sum / float64(a.n), Max: a.max, Samples: a.n})
	}
	b.rec.Phases[n-1].Signals = out
	clear(b.acc)
}

// Limits returns the plant's equipment limits in the form recipes are
// validated against ("unit-kind.limit").
func Limits(cfg *plant.File) recipes.Limits {
	l := recipes.Limits{}
	for _, u := range cfg.Units {
		for k, v := range u.Limits {
			l[u.Kind+"."+k] = v
		}
	}
	return l
}

// Outputs returns the value every commanded tag should have after the last
// Step. The map is owned by the Line; callers must not keep it.
func (l *Line) Outputs() map[string]float64 { return l.outputs }

// LastBatch returns the record of the last finished batch, or nil.
func (l *Line) LastBatch() *historian.BatchRecord { return l.lastBatch }

// BatchForSave returns a copy of the running batch's record with its
// restart context filled in, or nil. It allocates; the engine calls it only
// when it saves the record.
func (l *Line) BatchForSave() *historian.BatchRecord {
	b := l.batch
	if b == nil {
		return nil
	}
	if l.in != nil { // no inputs yet right after a restore
		l.updateTotals()
	}
	ctx, _ := json.Marshal(batchContext{PhaseIdx: b.phaseIdx, PhaseStart: b.phaseStart, TareKg: b.tareKg, ReceivedKg: b.receivedKg,
		Cake0: b.cake0, Water0: b.water0, Filtrate0: b.filtrate0, Energy0: b.energy0, Rejects0: b.reject0, Holdup0: b.holdup0, Overrides: b.overrides, Seq: l.seq})
	rec := b.rec
	rec.Context = ctx
	rec.Phases = append([]historian.PhaseRecord(nil), b.rec.Phases...)
	rec.Overrides = append([]historian.Override(nil), b.rec.Overrides...)
	rec.Actions = append([]historian.Action(nil), b.rec.Actions...)
	rec.Alarms = append([]historian.AlarmNote(nil), b.rec.Alarms...)
	return &rec
}

// Restore takes up a batch that was running when the controller stopped
// (crash, kill, power loss or shutdown): the line comes back Held with
// every output off and the batch context intact, and waits for an operator
// to unhold, stop or abort. r must be the recipe version the record names.
func (l *Line) Restore(now time.Time, rec historian.BatchRecord, r *recipes.Recipe) error {
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
	rec.State, rec.End, rec.Context = "held", time.Time{}, nil
	l.now = now
	l.batch = &batchRun{rec: rec, recipe: r, phase: r.Procedure[c.PhaseIdx].Phase, step: "start", stepStart: now,
		phaseStart: c.PhaseStart, tareKg: c.TareKg, receivedKg: c.ReceivedKg, cake0: c.Cake0, water0: c.Water0,
		filtrate0: c.Filtrate0, energy0: c.Energy0, reject0: c.Rejects0, holdup0: c.Holdup0, phaseIdx: c.PhaseIdx, timeoutFrom: now, overrides: c.Overrides}
	l.pu.resetFeed()
	l.seq = max(l.seq, c.Seq)
	l.allOff()
	if err := l.m.Restore(packml.Held); err != nil {
		return err
	}
	l.sync()
	l.Message = fmt.Sprintf("controller restarted during batch %s (phase %s): every output is off; unhold to continue, or stop or abort", rec.ID, l.batch.phase)
	l.emit(historian.EventBatch, "restored", "", l.Message, "")
	return nil
}

// NoteAlarm adds an alarm transition (or an alarm command by a user) to the
// running batch's record.
func (l *Line) NoteAlarm(now time.Time, alarm, state, user string) {
	if l.batch != nil {
		l.batch.rec.Alarms = append(l.batch.rec.Alarms, historian.AlarmNote{Time: now, Alarm: alarm, State: state, User: user})
	}
}

// NoteAction adds an operator command handled outside the line logic (an
// alarm command) to the running batch's record.
func (l *Line) NoteAction(now time.Time, user, command, detail string) {
	if l.batch != nil {
		l.batch.rec.Actions = append(l.batch.rec.Actions, historian.Action{Time: now, User: user, Command: command, Detail: detail})
	}
}

// Batch returns the record of the running batch, or nil.
func (l *Line) Batch() *historian.BatchRecord {
	if l.batch == nil {
		return nil
	}
	return &l.batch.rec
}

// allOff sets every command to its safe value: motors off, door shut, water off.
func (l *Line) allOff() {
	for _, u := range l.order {
		u.want = false
		l.outputs[u.run] = 0
	}
	l.outputs[l.sig.door] = 0
	l.outputs[l.sig.waterCmd] = 0
	l.outputs[l.sig.waterFlowSP] = 0
	if l.pc != nil && l.pc.valveTag != "" {
		l.outputs[l.pc.valveTag] = 0 // cone open
	}
	for _, p := range l.pumps {
		p.want = false
		l.outputs[p.run] = 0
		if p.level != nil {
			l.outputs[p.level.speedTag] = 0
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
	l.il.evaluate(now, in)
	for i, r := range reqs {
		results[i] = l.command(r)
	}
	if l.State != StateHolding {
		l.drain = 0
	}
	l.dilute, l.feedRate, l.washFlow = false, 0, 0 // execute asks again
	if l.State == StateExecute || l.State == StateUnholding {
		if t := l.il.holdingTrip(); t != nil {
			l.hold(t.describe())
		} else if u, why := l.unitFault(); u != nil {
			l.holdFault(u, why)
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
		if bad := l.badInput(); bad != "" {
			l.hold(bad)
			break
		}
		l.execute()
		if l.batch != nil && l.State == StateExecute {
			l.accumulate()
		}
	case StateUnholding:
		if bad := l.badInput(); bad != "" {
			l.hold(bad)
			break
		}
		l.batch.timeoutFrom = l.now
		l.setStep("start")
		l.complete()
	case StateHolding:
		if l.drain > 0 && l.batch != nil && l.badInput() == "" && l.il.holdingTrip() == nil {
			if u, why := l.unitFault(); u == nil || l.index(u) >= l.drain {
				if !l.drainStep() {
					break
				}
			} else {
				l.Message += "; " + why
			}
		}
		l.drain = 0
		l.allOff()
		l.complete()
	case StateCompleting:
		l.finish("complete")
		l.complete()
	case StateStopping:
		if l.batch == nil {
			l.allOff()
			l.complete()
			break
		}
		bad := l.badInput()
		if _, why := l.unitFault(); bad == "" && why != "" {
			bad = why
		}
		if bad != "" {
			// No purge without trustworthy inputs or with a drive
			// fault: everything off now.
			l.allOff()
			l.Message = "stop completed early: " + bad
			l.finish("stopped")
			l.complete()
			break
		}
		l.stopping()
	case StateAborting:
		l.allOff()
		l.finish("aborted")
		l.complete()
	}
	l.writeUnits()
	return l.events
}

// writeUnits turns what the logic wants into outputs, with interlock trips
// applied last: a tripped unit (and everything upstream of it) is off
// whatever the sequence wants. The shredder's jam handling drives its run
// and reverse outputs and may pause the feeder.
func (l *Line) writeUnits() {
	for _, u := range l.order {
		if u.want && l.il.tripFor(u.name) == nil {
			l.outputs[u.run] = 1
		} else {
			l.outputs[u.run] = 0
		}
	}
	for _, t := range l.tanks {
		t.step(l.now, l.in)
		if t.out.StopFeed { // high-high, or the level cannot be seen
			for _, u := range l.order[t.fedBy:] {
				l.outputs[u.run] = 0
			}
		}
	}
	if l.jam != nil {
		want := l.outputs[l.shredder.run] == 1
		run, reverse, feedOK, fault := l.jam.step(l.now, l.in, want)
		l.outputs[l.shredder.run], l.outputs[l.jam.reverseTag] = b2f(run), b2f(reverse)
		if !feedOK {
			l.outputs[l.feeder.run] = 0
		}
		if fault != "" && (l.State == StateExecute || l.State == StateUnholding) {
			l.holdFault(l.shredder, "shredder "+fault)
			l.outputs[l.shredder.run], l.outputs[l.jam.reverseTag], l.outputs[l.feeder.run] = 0, 0, 0
		}
	}
	if l.pc != nil {
		if l.batch != nil {
			l.pc.setParams(l.param)
		}
		run, valve, fault := l.pc.step(l.now, l.in, l.outputs[l.press.run] == 1)
		l.outputs[l.press.run] = b2f(run)
		if l.pc.valveTag != "" {
			l.outputs[l.pc.valveTag] = valve
		}
		if fault != "" && (l.State == StateExecute || l.State == StateUnholding || l.State == StateHolding) {
			l.holdFault(l.press, "press "+fault)
			l.outputs[l.press.run] = 0
		}
	}
	var param func(string) float64
	if l.batch != nil {
		param = l.param
	}
	po := l.pu.step(l.now, l.in, l.outputs[l.pulper.run] == 1, l.dilute, l.feedRate, param)
	l.outputs[l.pulper.run] = b2f(po.mixer)
	switch {
	case l.washFlow > 0:
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 1, l.washFlow
	case l.dilute && po.water:
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 1, po.flow
	default:
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
	}
	if po.stopFeed { // pulper at high-high: no more feed until it falls
		l.outputs[l.feeder.run] = 0
	}
	if po.fault != "" && (l.State == StateExecute || l.State == StateUnholding || l.State == StateHolding) {
		l.holdFault(l.pulper, "pulper "+po.fault)
		l.outputs[l.pulper.run] = 0
	}
	// Pumps run while a batch runs, purges on a stop, or runs empty after
	// a unit fault; never in a hold that switches everything off.
	enabled := l.batch != nil && (l.State == StateExecute || l.State == StateStopping || l.State == StateUnholding ||
		(l.State == StateHolding && l.drain > 0))
	for _, p := range l.pumps {
		was := l.outputs[p.run] == 1
		var run bool
		var fault, why string
		if lv := p.level; lv != nil {
			// A feed pump runs while the unit it feeds runs (commanded and
			// confirmed), holding its suction at its set-point while the
			// batch fills it, drawing it down when the phase drains it.
			f := l.order[lv.feeds]
			feeds := l.outputs[f.run] == 1 && l.on(f.running)
			var speed float64
			run, speed, fault = p.stepLevel(l.now, l.in, enabled && feeds && l.il.tripFor(p.name) == nil, l.draining())
			l.outputs[lv.speedTag] = speed
			why = fmt.Sprintf("%s at %.1f %%", lv.suction, lv.levelPct)
			if !run && lv.low {
				why += ": dry-run protection"
			}
		} else {
			run, fault = p.step(l.now, l.in, enabled && l.il.tripFor(p.name) == nil)
			why = fmt.Sprintf("tank %s at %.1f %%", p.tank.name, p.tank.out.LevelPct)
			if !run && p.tank.out.LowLow {
				why += ": dry-run protection"
			}
		}
		l.outputs[p.run] = b2f(run)
		if run != was && fault == "" {
			l.emit(historian.EventCommand, map[bool]string{true: "start", false: "stop"}[run], p.name, why, "")
		}
		if fault != "" && (l.State == StateExecute || l.State == StateUnholding || l.State == StateHolding) {
			// Nothing may flow towards a pump that cannot run: everything
			// upstream of it stops (for a transfer pump after the press,
			// the whole line; for the press's feed pump, the pulper and
			// what feeds it, while the press runs empty).
			u := l.press
			if p.level != nil {
				u = l.order[p.level.suctionAt]
			}
			l.holdFault(u, "pump "+p.name+" "+fault)
			l.outputs[p.run] = 0
			if p.level != nil {
				l.outputs[p.level.speedTag] = 0
			}
		}
	}
	if l.il.tripFor(l.receptionName) != nil {
		l.outputs[l.sig.door] = 0
	}
	if l.il.tripFor(l.pulper.name) != nil {
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
	for _, t := range l.critical {
		if _, q := l.in.Get(t); !q.Good() {
			if why := commCause(l.deviceOf[t], q); why != "" {
				return fmt.Sprintf("%s: input %s cannot be read", why, t)
			}
			return fmt.Sprintf("input %s is %s", t, q)
		}
	}
	return ""
}

// resetEquipment clears the faults latched in the equipment modules (the
// shredder's jam limit, the press's trips, a mixer or pump that failed to
// start or lost its feedback). A module whose cause is still present
// refuses, and so does the operator's command.
func (l *Line) resetEquipment() error {
	if l.jam != nil {
		if err := l.jam.reset(); err != nil {
			return err
		}
	}
	if l.pc != nil {
		if err := l.pc.reset(); err != nil {
			return err
		}
	}
	if err := l.pu.reset(); err != nil {
		return err
	}
	for _, p := range l.pumps {
		if err := p.reset(); err != nil {
			return err
		}
	}
	return nil
}

// unitFault returns the most downstream unit whose drive reports a fault,
// and why, or nil.
func (l *Line) unitFault() (*unitRun, string) {
	for _, u := range l.order {
		if u.fault != "" && l.on(u.fault) {
			return u, u.name + " drive reports a fault"
		}
	}
	return nil, ""
}

// index is u's place in the start order (0 is the most downstream).
func (l *Line) index(u *unitRun) int { return l.indexNamed(u.name) }

// holdFault drops a faulted unit and everything upstream of it at once and
// holds the line; the units downstream of it keep running to empty
// themselves, one purge time each, upstream first, while the line is
// Holding (PROCESS.md: a fault drops the faulted unit and everything
// upstream; downstream units run empty unless their own interlock trips).
// Then every output goes off and the line is Held.
func (l *Line) holdFault(u *unitRun, reason string) {
	i := l.index(u)
	for _, v := range l.order[i:] {
		v.want = false
		l.outputs[v.run] = 0
	}
	l.outputs[l.sig.door] = 0
	l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
	l.dilute, l.feedRate, l.washFlow = false, 0, 0 // and the pulper's step keeps it shut this scan
	if l.State == StateHolding {
		// A unit running empty after an earlier fault faults too: it and
		// what is upstream of it stop now.
		if i < l.drain {
			l.drain, l.drainFrom = i, l.now
			l.Message += "; " + reason
			l.emit(historian.EventBatch, "held", u.name, reason, "")
		}
		return
	}
	if err := l.apply(packml.Hold); err != nil {
		return
	}
	l.drain, l.drainFrom = i, l.now
	l.Message = reason
	l.emit(historian.EventBatch, "held", u.name, reason, "")
}

// drainStep runs one Holding scan of the run-empty after a unit fault. It
// returns true when every unit downstream of the fault has stopped.
func (l *Line) drainStep() bool {
	purge := seconds(l.param("purge_time"))
	l.outputs[l.sig.door] = 0
	for l.drain > 0 {
		u := l.order[l.drain-1]
		if !u.want {
			l.drain, l.drainFrom = l.drain-1, l.now
			continue
		}
		if l.now.Sub(l.drainFrom) < purge {
			return false
		}
		u.want = false
		l.emit(historian.EventCommand, "stop", u.name, "ran empty after a fault upstream", "")
		l.drain, l.drainFrom = l.drain-1, l.now
	}
	return true
}

func (l *Line) emit(kind, name, unit, msg, user string) {
	e := Event{Time: l.now, Kind: kind, Line: l.cfg.Line, Unit: unit, Name: name, Message: msg, User: user}
	if l.batch != nil {
		e.BatchID = l.batch.rec.ID
		if kind == historian.EventCommand && user != "" {
			l.batch.rec.Actions = append(l.batch.rec.Actions, historian.Action{Time: l.now, User: user, Command: name, Detail: msg})
		}
	}
	l.events = append(l.events, e)
}

func (l *Line) command(req Request) api.CommandResult {
	c := req.Command
	refuse := func(format string, args ...any) api.CommandResult {
		msg := fmt.Sprintf(format, args...)
		l.emit(historian.EventCommand, c.Command+":refused", "", msg, c.User)
		return api.CommandResult{Error: msg}
	}
	switch c.Command {
	case api.CommandStart:
		if l.State != StateIdle {
			return refuse("start refused: the line is %s; a batch starts only from Idle (reset a Stopped or Complete line first)", l.State)
		}
		r := req.Recipe
		if r == nil {
			var ok bool
			if r, ok = l.recipes[c.Recipe]; !ok {
				return refuse("start refused: recipe %q is not known", c.Recipe)
			}
		}
		if len(r.Procedure) == 0 {
			return refuse("start refused: recipe %s has no procedure", r.Name)
		}
		// Starting into a line that would hold at once helps nobody.
		if bad := l.badInput(); bad != "" {
			return refuse("start refused: %s", bad)
		}
		if _, why := l.unitFault(); why != "" {
			return refuse("start refused: %s", why)
		}
		if _, err := l.m.Command(packml.Start); err != nil {
			return refuse("%v", err)
		}
		l.sync()
		l.startBatch(r, c.User)
	case api.CommandUnhold, api.CommandResume:
		if l.State == StateHeld {
			if bad := l.badInput(); bad != "" {
				return refuse("unhold refused: %s", bad)
			}
			if _, why := l.unitFault(); why != "" {
				return refuse("unhold refused: %s", why)
			}
			if t := l.il.holdingTrip(); t != nil {
				return refuse("unhold refused: %s is still active", t.describe())
			}
			// Unholding after a unit fault is the operator's reset of it.
			if err := l.resetEquipment(); err != nil {
				return refuse("unhold refused: %v", err)
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
		l.emit(historian.EventBatch, "held", "", l.Message, c.User)
	case api.CommandStop:
		if err := l.apply(packml.Stop); err != nil {
			return refuse("%v", err)
		}
		l.Message = "stop requested by " + c.User
		l.setStep("stop:upstream")
	case api.CommandAbort:
		if err := l.apply(packml.Abort); err != nil {
			return refuse("%v", err)
		}
		l.allOff()
		l.Message = "aborted by " + c.User
	case api.CommandReset:
		if l.State == StateStopped || l.State == StateComplete {
			// A fault latched in a batch that was then aborted or
			// stopped is reset here, before the next batch.
			if err := l.resetEquipment(); err != nil {
				return refuse("reset refused: %v", err)
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
			return refuse("confirm refused: the line is %s; confirm applies to a running phase", l.State)
		}
		ph := &l.batch.recipe.Procedure[l.batch.phaseIdx]
		if !ph.End.OperatorConfirm {
			return refuse("confirm refused: phase %s does not wait for an operator confirmation", ph.Phase)
		}
		l.batch.confirmed = true
	case api.CommandOverride:
		if msg := l.override(c); msg != "" {
			return refuse("override refused: %s", msg)
		}
	default:
		return refuse("command %q is not known; allowed: start, hold, unhold, stop, abort, reset, clear, confirm, override", c.Command)
	}
	l.emit(historian.EventCommand, c.Command, "", "", c.User)
	return api.CommandResult{OK: true}
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
	b.rec = historian.BatchRecord{ID: id, Line: l.cfg.Line, Recipe: r.Name, RecipeVersion: r.Version, RecipeHash: r.Hash,
		WasteClass: r.WasteClass, State: "running", User: user, Start: l.now}
	if rp := r.PhaseByName("receive"); rp != nil && rp.End.MassReceived != nil {
		b.rec.TargetKg = rp.End.MassReceived.Value
	}
	b.tareKg = l.get(l.sig.hopper)
	b.cake0 = l.get(l.sig.cake)
	b.water0 = l.get(l.sig.waterTotal)
	b.filtrate0 = l.get(l.sig.filtrate)
	b.energy0 = l.energy()
	if l.sig.rejects != "" {
		b.reject0 = l.get(l.sig.rejects)
	}
	b.holdup0 = l.holdup()
	b.rec.KgHoldupStart = b.holdup0
	l.batch = b
	l.pu.resetFeed()
	l.Message = ""
	if l.jam != nil {
		l.jam.setParams(r.Param)
	}
	l.emit(historian.EventBatch, "started", "", r.Name, user)
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
	b.rec.Overrides = append(b.rec.Overrides, historian.Override{Time: l.now, User: c.User, Parameter: d.Name, Unit: d.Unit, Old: old, New: c.Value})
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

func (l *Line) energy() float64 {
	var e float64
	for _, t := range l.sig.energy {
		e += l.get(t)
	}
	return e
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
	b.rec.Phases = append(b.rec.Phases, historian.PhaseRecord{Name: p, Start: l.now})
	l.emit(historian.EventPhase, "phase:"+p, "", "", "")
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
	l.drain = 0
	if err := l.apply(packml.Hold); err != nil {
		return
	}
	l.Message = reason
	l.emit(historian.EventBatch, "held", "", reason, "")
}

// finish closes the batch record (complete, stopped, aborted) with every
// output off. The state model moves separately.
func (l *Line) finish(recState string) {
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
	l.emit(historian.EventBatch, recState, "", "", "")
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
	b.rec.KgCake = l.get(l.sig.cake) - b.cake0
	b.rec.KgWater = l.get(l.sig.waterTotal) - b.water0
	b.rec.KgFiltrate = l.get(l.sig.filtrate) - b.filtrate0
	b.rec.KWh = l.energy() - b.energy0
	if l.sig.rejects != "" {
		b.rec.KgRejects = l.get(l.sig.rejects) - b.reject0
	}
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

// startUnits runs the start sequence for units (downstream first): each must
// confirm running before the next starts. It returns true when all run.
func (l *Line) startUnits(units ...*unitRun) bool {
	for _, u := range units {
		if !u.want {
			if why := l.il.why(u.name); len(why) > 0 {
				if u.since.IsZero() || l.now.Sub(u.since) > l.cfg.StartConfirmTime*10 {
					u.since = l.now // first time this unit waits on a permissive
				}
				if l.now.Sub(u.since) > l.cfg.StartConfirmTime {
					l.hold(fmt.Sprintf("%s cannot start: %s", u.name, why[0].describe()))
					u.since = time.Time{}
				}
				return false
			}
			u.want, u.since = true, l.now
			l.emit(historian.EventCommand, "start", u.name, "start sequence", "")
			return false
		}
		if !l.on(u.running) {
			if l.now.Sub(u.since) > l.cfg.StartConfirmTime {
				l.holdFault(u, fmt.Sprintf("%s failed to start: no running feedback within %s", u.name, l.cfg.StartConfirmTime))
			}
			return false
		}
	}
	return true
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
		l.hold(fmt.Sprintf("phase %s has not ended within its timeout of %gs", ph.Phase, ph.Timeout.Value))
		return
	}
	l.outputs[l.sig.shredSpeedSP] = l.param("shredder_speed")
	l.outputs[l.sig.feedSpeedSP] = l.param("feeder_speed")
	l.outputs[l.sig.pressSpeedSP] = l.param("press_speed")
	if l.sig.pressBPSP != "" {
		l.outputs[l.sig.pressBPSP] = l.param("press_back_pressure")
	}
	purge := seconds(l.param("purge_time"))
	l.updateTotals()
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
			if l.startUnits(l.press, l.pulper, l.shredder, l.feeder) {
				l.setStep("feeding")
			}
		case "feeding":
			if l.endMet() {
				l.feeder.want = false
				l.setStep("purge:shredder")
			}
		case "purge:shredder":
			if l.now.Sub(b.stepStart) >= purge {
				l.shredder.want = false
				l.nextPhase()
			}
		}
	case "pulp":
		l.feeder.want, l.shredder.want, l.press.want = false, false, false
		switch b.step {
		case "start":
			if l.startUnits(l.pulper) {
				l.setStep("mixing")
			}
		case "mixing":
			if !l.doseWater() && l.endMet() {
				l.nextPhase()
			}
		}
	case "dewater":
		l.feeder.want, l.shredder.want = false, false
		switch b.step {
		case "start":
			if l.startUnits(l.press, l.pulper) {
				l.setStep("top-up")
			}
		case "top-up":
			if !l.doseWater() || l.now.Sub(b.stepStart) > 5*time.Minute {
				l.dilute = false
				l.setStep("draining")
			}
		case "draining":
			if l.endMet() {
				l.pulper.want = false
				l.setStep("purge:press")
			}
		case "purge:press":
			if l.now.Sub(b.stepStart) >= purge {
				l.press.want = false
				l.nextPhase()
			}
		}
	case "discharge":
		l.feeder.want, l.shredder.want, l.pulper.want, l.press.want = false, false, false, false
		b.step = "waiting"
		if l.endMet() {
			l.nextPhase()
		}
	case "wash":
		l.feeder.want, l.shredder.want = false, false
		switch b.step {
		case "start":
			if l.startUnits(l.press, l.pulper) {
				l.setStep("washing")
			}
		case "washing":
			l.washFlow = l.param("wash_water_flow")
			if l.endMet() {
				l.washFlow = 0
				l.pulper.want = false
				l.setStep("purge:press")
			}
		case "purge:press":
			if l.now.Sub(b.stepStart) >= purge {
				l.press.want = false
				l.nextPhase()
			}
		}
	default:
		l.nextPhase()
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
	fed := math.Max(0, b.receivedKg-(l.get(l.sig.hopper)-b.tareKg))
	dosed := l.get(l.sig.waterTotal) - b.water0
	rate := l.pu.feedRate(l.now, fed)
	if dosed >= fed*l.param("max_water_ratio")-1 {
		return false
	}
	l.dilute = true
	target := l.param("slurry_ds_target")
	if ds, good, immersed := l.pu.analyser(l.in); good {
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

// stopping runs the orderly stop: feed off, shredder purges, then the
// pulper and the press purge and stop.
func (l *Line) stopping() {
	b := l.batch
	purge := seconds(l.param("purge_time"))
	l.outputs[l.sig.door] = 0
	l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
	l.feeder.want = false
	switch b.step {
	case "stop:upstream":
		if !l.shredder.want {
			l.setStep("stop:press")
			return
		}
		if l.now.Sub(b.stepStart) >= purge {
			l.shredder.want = false
			l.setStep("stop:press")
		}
	case "stop:press":
		l.pulper.want = false
		if !l.press.want || l.now.Sub(b.stepStart) >= purge {
			l.press.want = false
			l.finish("stopped")
			l.complete()
		}
	default:
		l.setStep("stop:upstream")
	}
}

// Why lists what keeps a unit from starting or running now: the plant
// file's interlocks, the unit's own permissives and latched fault (its
// equipment module), and a tank at high-high downstream of it.
func (l *Line) Why(unit string) []string {
	var out []string
	for _, s := range l.il.why(unit) {
		out = append(out, s.describe())
	}
	module := func(faulted bool, reason string, ps []equipment.Permissive) {
		if faulted {
			out = append(out, reason+"; an unhold resets it once the cause is gone")
		}
		for _, p := range ps {
			if !p.Met {
				out = append(out, p.Why)
			}
		}
	}
	switch {
	case l.pc != nil && unit == l.press.name:
		module(l.pc.mod.State() == equipment.Faulted, l.pc.mod.Reason(), l.pc.mod.Permissives())
	case unit == l.pulper.name:
		module(l.pu.mod.State() == equipment.Faulted, l.pu.mod.Reason(), l.pu.mod.Permissives())
	case l.jam != nil && unit == l.shredder.name:
		module(l.jam.mod.State() == equipment.ShredderFaulted, l.jam.mod.Reason(), l.jam.mod.Permissives())
	}
	for _, p := range l.pumps {
		if p.name == unit {
			module(p.mod.State() == equipment.Faulted, p.mod.Reason(), p.mod.Permissives())
		}
	}
	if i := l.indexNamed(unit); i < len(l.order) {
		for _, t := range l.tanks {
			if t.out.StopFeed && t.fedBy <= i {
				out = append(out, fmt.Sprintf("tank %s: %s; it stops %s and everything upstream", t.name, t.mod.Reason(), l.order[t.fedBy].name))
			}
		}
	}
	return out
}

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
			return p.want && l.in != nil && l.on(p.runningTag)
		}
	}
	return true
}

// UnitStates reports each motorised unit's state for the API.
func (l *Line) UnitStates(fn func(name string, cmd bool, state string)) {
	for _, u := range l.order {
		running := l.in != nil && l.on(u.running)
		st := "stopped"
		switch {
		case u.fault != "" && l.in != nil && l.on(u.fault):
			st = "fault"
		case u.want && running:
			st = "running"
		case u.want:
			st = "starting"
		case running:
			st = "stopping"
		}
		fn(u.name, u.want, st)
	}
	for _, p := range l.pumps {
		running := l.in != nil && l.on(p.runningTag)
		st := "stopped"
		switch {
		case p.mod.State() == equipment.Faulted:
			st = "fault"
		case p.want && running:
			st = "running"
		case p.want:
			st = "starting"
		case running:
			st = "stopping"
		}
		fn(p.name, p.want, st)
	}
}

// noteDeviceEvent ties an event of the engine's output set (comm loss,
// reconnect, output corrected) to the running batch.
func (l *Line) noteDeviceEvent(e *Event) {
	if l.batch != nil {
		e.BatchID = l.batch.rec.ID
	}
}
