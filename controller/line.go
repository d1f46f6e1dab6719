package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/recipes"
)

// LineState is the state of the whole line.
type LineState string

// Line states. Only Execute and Stopping ever command a motor on.
const (
	StateIdle     LineState = "Idle"     // no batch; every motor off
	StateExecute  LineState = "Execute"  // a batch runs its phases
	StateHeld     LineState = "Held"     // a fault or bad input stopped the line; batch kept, waiting for the operator
	StateStopping LineState = "Stopping" // orderly stop, upstream first with purge times
	StateStopped  LineState = "Stopped"  // orderly stop finished; batch ended as stopped
	StateComplete LineState = "Complete" // batch finished
	StateAborted  LineState = "Aborted"  // batch aborted; everything off
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

	State   LineState
	Message string

	// start order: downstream first.
	press, pulper, shredder, feeder *unitRun
	order                           []*unitRun

	sig struct {
		door, hopper, level, waterCmd, waterFlowSP, waterTotal, cake, filtrate string
		shredSpeedSP, feedSpeedSP, pressSpeedSP, pressBPSP                     string
		energy                                                                 []string
	}

	batch     *batchRun
	lastBatch *historian.BatchRecord
	seq       int

	outputs map[string]float64
	events  []Event
	now     time.Time
	in      Inputs
}

// batchRun is the context of the running batch.
type batchRun struct {
	rec        historian.BatchRecord
	recipe     *recipes.Recipe
	phase      string
	step       string
	stepStart  time.Time
	phaseStart time.Time

	tareKg, receivedKg                float64
	cake0, water0, filtrate0, energy0 float64
	waterTargetKg                     float64
}

// NewLine builds the logic for a checked plant file and the recipes that may
// run on it.
func NewLine(cfg *plant.File, rs []*recipes.Recipe) (*Line, error) {
	l := &Line{cfg: cfg, recipes: map[string]*recipes.Recipe{}, State: StateIdle, outputs: map[string]float64{}}
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
	l.sig.door, l.sig.hopper = rec.Signals["door"], rec.Signals["weight"]
	l.sig.level, l.sig.waterCmd, l.sig.waterFlowSP, l.sig.waterTotal = pul.Signals["level"], pul.Signals["water"], pul.Signals["water_flow_sp"], pul.Signals["water_total"]
	l.sig.cake, l.sig.filtrate = pr.Signals["cake_weight"], pr.Signals["filtrate_total"]
	l.sig.shredSpeedSP = cfg.Unit(plant.KindShredder).Signals["speed_sp"]
	l.sig.feedSpeedSP = cfg.Unit(plant.KindFeeder).Signals["speed_sp"]
	l.sig.pressSpeedSP, l.sig.pressBPSP = pr.Signals["speed_sp"], pr.Signals["back_pressure_sp"]
	for _, k := range []string{plant.KindScrewPress, plant.KindShredder} {
		if t := cfg.Unit(k).Signals["energy"]; t != "" {
			l.sig.energy = append(l.sig.energy, t)
		}
	}
	l.allOff()
	return l, nil
}

// Outputs returns the value every commanded tag should have after the last
// Step. The map is owned by the Line; callers must not keep it.
func (l *Line) Outputs() map[string]float64 { return l.outputs }

// LastBatch returns the record of the last finished batch, or nil.
func (l *Line) LastBatch() *historian.BatchRecord { return l.lastBatch }

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
}

// Step runs one scan of logic at plant time now and returns the events it
// produced (valid until the next Step).
func (l *Line) Step(now time.Time, in Inputs, cmds []api.Command, results []api.CommandResult) []Event {
	l.now, l.in = now, in
	l.events = l.events[:0]
	for i, c := range cmds {
		results[i] = l.command(c)
	}
	switch l.State {
	case StateExecute:
		if bad := l.badInput(); bad != "" {
			l.hold(bad)
			break
		}
		l.execute()
	case StateStopping:
		if bad := l.badInput(); bad != "" {
			l.hold(bad)
			break
		}
		l.stopping()
	}
	l.writeUnits()
	return l.events
}

func (l *Line) writeUnits() {
	for _, u := range l.order {
		if u.want {
			l.outputs[u.run] = 1
		} else {
			l.outputs[u.run] = 0
		}
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
	check := []string{l.sig.hopper, l.sig.level, l.sig.waterTotal, l.sig.cake}
	for _, u := range l.order {
		check = append(check, u.running)
		if u.fault != "" {
			check = append(check, u.fault)
		}
	}
	for _, t := range check {
		if _, q := l.in.Get(t); !q.Good() {
			return fmt.Sprintf("input %s is %s", t, q)
		}
	}
	for _, u := range l.order {
		if u.fault != "" && l.on(u.fault) {
			return u.name + " drive reports a fault"
		}
	}
	return ""
}

func (l *Line) emit(kind, name, unit, msg, user string) {
	e := Event{Time: l.now, Kind: kind, Line: l.cfg.Line, Unit: unit, Name: name, Message: msg, User: user}
	if l.batch != nil {
		e.BatchID = l.batch.rec.ID
	}
	l.events = append(l.events, e)
}

func (l *Line) command(c api.Command) api.CommandResult {
	refuse := func(format string, args ...any) api.CommandResult {
		msg := fmt.Sprintf(format, args...)
		l.emit(historian.EventCommand, c.Command+":refused", "", msg, c.User)
		return api.CommandResult{Error: msg}
	}
	switch c.Command {
	case api.CommandStart:
		if l.State != StateIdle {
			return refuse("start refused: the line is %s; a batch starts only from Idle", l.State)
		}
		r, ok := l.recipes[c.Recipe]
		if !ok {
			return refuse("start refused: recipe %q is not known", c.Recipe)
		}
		l.startBatch(r, c.User)
	case api.CommandStop:
		switch l.State {
		case StateExecute:
			l.State, l.Message = StateStopping, "stop requested by "+c.User
			l.setStep("stop:upstream")
		case StateHeld:
			l.finish(StateStopped, "stopped")
		default:
			return refuse("stop refused: the line is %s; stop applies to Execute or Held", l.State)
		}
	case api.CommandAbort:
		switch l.State {
		case StateExecute, StateHeld, StateStopping:
			l.allOff()
			l.finish(StateAborted, "aborted")
		default:
			return refuse("abort refused: the line is %s; no batch to abort", l.State)
		}
	case api.CommandReset:
		switch l.State {
		case StateComplete, StateStopped, StateAborted:
			l.State, l.Message = StateIdle, ""
		default:
			return refuse("reset refused: the line is %s; reset applies to Complete, Stopped or Aborted", l.State)
		}
	case api.CommandResume:
		if l.State != StateHeld {
			return refuse("resume refused: the line is %s; resume applies to Held", l.State)
		}
		if bad := l.badInput(); bad != "" {
			return refuse("resume refused: %s", bad)
		}
		l.State, l.Message = StateExecute, ""
		l.setStep("start")
	default:
		return refuse("command %q is not known; allowed: start, stop, abort, reset, resume", c.Command)
	}
	l.emit(historian.EventCommand, c.Command, "", "", c.User)
	return api.CommandResult{OK: true}
}

func (l *Line) startBatch(r *recipes.Recipe, user string) {
	l.seq++
	id := fmt.Sprintf("%s-%s-%d", l.cfg.Line, l.now.UTC().Format("20060102T150405"), l.seq)
	b := &batchRun{recipe: r}
	b.rec = historian.BatchRecord{ID: id, Line: l.cfg.Line, Recipe: r.Name, RecipeVersion: r.Version, RecipeHash: r.Hash,
		WasteClass: r.WasteClass, State: "running", User: user, Start: l.now, TargetKg: r.Value("batch_mass")}
	b.tareKg = l.get(l.sig.hopper)
	b.cake0 = l.get(l.sig.cake)
	b.water0 = l.get(l.sig.waterTotal)
	b.filtrate0 = l.get(l.sig.filtrate)
	b.energy0 = l.energy()
	l.batch = b
	l.State, l.Message = StateExecute, ""
	l.emit(historian.EventBatch, "started", "", r.Name, user)
	l.setPhase(r.Procedure[0])
}

func (l *Line) energy() float64 {
	var e float64
	for _, t := range l.sig.energy {
		e += l.get(t)
	}
	return e
}

func (l *Line) setPhase(p string) {
	b := l.batch
	if n := len(b.rec.Phases); n > 0 && b.rec.Phases[n-1].End.IsZero() {
		b.rec.Phases[n-1].End = l.now
	}
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
	for i, p := range b.recipe.Procedure {
		if p == b.phase && i+1 < len(b.recipe.Procedure) {
			l.setPhase(b.recipe.Procedure[i+1])
			return
		}
	}
	l.finish(StateComplete, "complete")
}

// hold drops every unit to its safe state and keeps the batch for the operator.
func (l *Line) hold(reason string) {
	l.allOff()
	l.State, l.Message = StateHeld, reason
	l.emit(historian.EventBatch, "held", "", reason, "")
}

func (l *Line) finish(state LineState, recState string) {
	l.allOff()
	b := l.batch
	l.State = state
	if b == nil {
		return
	}
	l.updateTotals()
	if n := len(b.rec.Phases); n > 0 && b.rec.Phases[n-1].End.IsZero() {
		b.rec.Phases[n-1].End = l.now
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
}

// startUnits runs the start sequence for units (downstream first): each must
// confirm running before the next starts. It returns true when all run.
func (l *Line) startUnits(units ...*unitRun) bool {
	for _, u := range units {
		if !u.want {
			u.want, u.since = true, l.now
			l.emit(historian.EventCommand, "start", u.name, "start sequence", "")
			return false
		}
		if !l.on(u.running) {
			if l.now.Sub(u.since) > l.cfg.StartConfirmTime {
				l.hold(fmt.Sprintf("%s failed to start: no running feedback within %s", u.name, l.cfg.StartConfirmTime))
			}
			return false
		}
	}
	return true
}

func (l *Line) execute() {
	b := l.batch
	r := b.recipe
	l.outputs[l.sig.shredSpeedSP] = r.Value("shredder_speed")
	l.outputs[l.sig.feedSpeedSP] = r.Value("feeder_speed")
	l.outputs[l.sig.pressSpeedSP] = r.Value("press_speed")
	l.outputs[l.sig.pressBPSP] = r.Value("press_back_pressure")
	purge := time.Duration(r.Value("purge_time") * float64(time.Second))
	l.updateTotals()
	switch b.phase {
	case "receive":
		hopperNet := l.get(l.sig.hopper) - b.tareKg
		if hopperNet < r.Value("batch_mass") {
			l.outputs[l.sig.door] = 1
			b.step = "tipping"
			return
		}
		l.outputs[l.sig.door] = 0
		b.receivedKg = hopperNet
		l.nextPhase()
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
			if l.get(l.sig.hopper)-b.tareKg <= math.Max(2, 0.005*b.receivedKg) {
				l.feeder.want = false
				l.setStep("purge:shredder")
			}
		case "purge:shredder":
			if l.now.Sub(b.stepStart) >= purge {
				l.shredder.want = false
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
				l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
				l.setStep("draining")
			}
		case "draining":
			if l.get(l.sig.level) <= r.Value("pulper_empty_level") {
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

// doseWater adds dilution water in proportion to the waste fed so far, so
// that a hold and restart never doses twice: the target is computed from
// totals, not from time. It returns true while more water is needed.
func (l *Line) doseWater() bool {
	b := l.batch
	r := b.recipe
	fed := math.Max(0, b.receivedKg-(l.get(l.sig.hopper)-b.tareKg))
	ratio := r.Value("ds_in")/r.Value("slurry_ds_target") - 1
	ratio = math.Max(0, math.Min(ratio, r.Value("max_water_ratio")))
	b.waterTargetKg = fed * ratio
	dosed := l.get(l.sig.waterTotal) - b.water0
	missing := b.waterTargetKg - dosed
	if missing <= 1 || !l.on(l.pulper.running) {
		l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 0, 0
		return missing > 1
	}
	flow := math.Min(missing*0.5, 20)
	if pul := l.cfg.Unit(plant.KindPulper); pul != nil {
		if lim, ok := pul.Limits["water_flow_sp"]; ok {
			flow = math.Min(flow, lim[1])
		}
	}
	l.outputs[l.sig.waterCmd], l.outputs[l.sig.waterFlowSP] = 1, flow
	return true
}

// stopping runs the orderly stop: feed off, shredder purges, then the
// pulper and the press purge and stop.
func (l *Line) stopping() {
	b := l.batch
	purge := time.Duration(b.recipe.Value("purge_time") * float64(time.Second))
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
			l.finish(StateStopped, "stopped")
		}
	default:
		l.setStep("stop:upstream")
	}
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
}
