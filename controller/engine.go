package controller

import (
	"context"

	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/recipes"
)

// Recorder receives what the scan produces. Every method must return at
// once (the historian queues); the scan never waits on it.
type Recorder interface {
	Samples(s []drivers.Sample)
	Event(e historian.Event)
	SaveBatch(r records.Batch)
	SetBatch(id string)
	// SaveState saves a line state span: when it opens, and again when it
	// closes (same Line and Start).
	SaveState(s records.StateSpan)
	// SaveDelivery saves a delivery, replacing the one with its ticket.
	SaveDelivery(d records.Delivery)
}

// Engine runs the scan: snapshot the tag table, step the Line, write changed
// outputs to the devices, record, publish status.
type Engine struct {
	cfg     *plant.File
	clock   drivers.Clock
	pacer   Pacer
	table   *TagTable
	line    *line.Line
	alarms  *alarm.Set
	rec     Recorder
	log     *slog.Logger
	recipes RecipeSource
	limits  recipes.Limits

	devices []drivers.Device
	outs    *outputSet // every commanded point, compared with its read-back
	results chan drivers.WriteResult

	cmds chan cmdRequest

	// State spans and deliveries (capture.go), scan-goroutine state but
	// for delivs, the channel AddDelivery hands deliveries in on.
	span    spanState
	delivs  chan deliveryReq
	tickets map[string]bool     // every ticket known (stored or received)
	fifo    []*records.Delivery // not yet fully processed, oldest first
	// allocID is the batch last given deliveries, allocKg how much.
	allocID string
	allocKg float64

	// scan-goroutine state
	snap        []drivers.Sample
	lastTime    []time.Time
	changed     []drivers.Sample
	pending     []line.Request
	lineReqs    []line.Request
	lineIdx     []int
	lineRes     []api.CommandResult
	unitRunning func(string) bool
	replies     []chan api.CommandResult
	results2    []api.CommandResult
	stats       api.ScanStats
	batchID     string

	lastSave time.Time
	execHist durationHistogram // scan execution times
	// Per tag (snapshot index): engineering unit; tags in name order; each
	// plant unit's tags in display order. Built once by indexTags.
	tagUnit  []string
	tagOrder []int
	unitTags [][]int
	// extra is what the status adds for the HMI (status_extra.go).
	extra statusExtra
	// lastPublish is when the status was last built (wall time).
	lastPublish time.Time
	// histStats reports the historian's health; histLast caches it for a
	// second so that the scan does not box it every period.
	histStats func() any
	histLast  any
	histAt    time.Time
	lateHist  durationHistogram // how late each scan woke

	status atomic.Pointer[api.Status]
	pub    publisher  // wakes status readers (stream.go)
	mu     sync.Mutex // guards nothing on the scan path; serialises Run
}

// publishEvery bounds how often (wall time) the scan rebuilds the status.
const publishEvery = 100 * time.Millisecond

// batchSaveEvery is how often (wall time) the running batch's record and
// restart context are saved besides every batch and phase event.
const batchSaveEvery = time.Second

type cmdRequest struct {
	req   line.Request
	reply chan api.CommandResult
}

// RecipeSource is where start commands find their recipe. Its methods do
// I/O and are called from API goroutines, never from the scan.
type RecipeSource interface {
	// Resolve returns recipe name at version (0: the latest approved) if it
	// may start a batch, or an error saying why not (unknown, draft only).
	Resolve(name string, version int) (*recipes.Recipe, error)
	// List describes the recipes and versions a start could name.
	List() ([]api.RecipeInfo, error)
}

// StaticRecipes is a RecipeSource over recipes given in memory, all taken
// as approved (tests, and the shipped recipes before a store exists).
type StaticRecipes []*recipes.Recipe

// Resolve finds the recipe by name (any version given must match).
func (s StaticRecipes) Resolve(name string, version int) (*recipes.Recipe, error) {
	for _, r := range s {
		if r.Name == name && (version == 0 || version == r.Version) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("recipe %s is not known", name)
}

// List describes the recipes.
func (s StaticRecipes) List() ([]api.RecipeInfo, error) {
	out := make([]api.RecipeInfo, 0, len(s))
	for _, r := range s {
		out = append(out, api.RecipeInfo{Name: r.Name, Version: r.Version, WasteClass: r.WasteClass, Description: r.Description, State: "approved", Hash: r.Hash})
	}
	return out, nil
}

// EngineOptions wire an Engine.
type EngineOptions struct {
	Plant    *plant.File
	Clock    drivers.Clock // nil: wall clock
	Table    *TagTable
	Devices  []drivers.Device
	Results  chan drivers.WriteResult // the channel the devices report write outcomes on; may be nil
	Recorder Recorder
	Recipes  RecipeSource
	Logger   *slog.Logger
	// HistorianStats, if set, reports the historian's health for the status.
	HistorianStats func() any
	// Resume is the record of a batch that was running when the controller
	// last stopped, if any: the line comes back Held with it.
	Resume *records.Batch
	// LastBatchSeq is the highest batch sequence number the data directory
	// has used; the next batch gets a higher one, so that batch IDs never
	// repeat across restarts.
	LastBatchSeq int
	// Pacer paces the scan (nil: a wall-clock timer at the plant file's
	// scan period). Tests drive scans one by one with their own.
	Pacer Pacer
	// Deliveries are the stored deliveries; those not yet fully processed
	// are allocated to the next batches, oldest first.
	Deliveries []records.Delivery
}

// Pacer decides when the next scan runs. Wait blocks until the scan due at
// due should run, or ctx is done; it returns when it woke (for the scan's
// lateness) and false when ctx is done.
type Pacer interface {
	Wait(ctx context.Context, due time.Time) (woke time.Time, ok bool)
}

// timerPacer is the default Pacer: a Go timer on the wall clock.
type timerPacer struct{ t *time.Timer }

func (p *timerPacer) Wait(ctx context.Context, due time.Time) (time.Time, bool) {
	d := time.Until(due)
	if p.t == nil {
		p.t = time.NewTimer(d)
	} else {
		p.t.Reset(d)
	}
	select {
	case <-ctx.Done():
		p.t.Stop()
		return time.Time{}, false
	case <-p.t.C:
		return time.Now(), true
	}
}

// NewEngine builds the scan engine. It makes no I/O.
func NewEngine(o EngineOptions) (*Engine, error) {
	if o.Clock == nil {
		o.Clock = drivers.WallClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Recipes == nil {
		o.Recipes = StaticRecipes(nil)
	}
	ln, err := line.NewLine(o.Plant, nil)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: o.Plant, clock: o.Clock, pacer: o.Pacer, table: o.Table, line: ln, rec: o.Recorder, log: o.Logger,
		recipes: o.Recipes, limits: line.Limits(o.Plant), devices: o.Devices, results: o.Results,
		cmds: make(chan cmdRequest, 16)}
	if e.outs, err = newOutputSet(o.Plant, o.Table, o.Devices, ln.Outputs(), ln.SafeOutputs()); err != nil {
		return nil, err
	}
	e.histStats = o.HistorianStats
	if e.alarms, err = alarm.NewSet(o.Plant.Alarms, o.Plant.AlarmSettings); err != nil {
		return nil, err
	}
	e.unitRunning = e.line.UnitRunning
	e.line.ContinueNumbering(o.LastBatchSeq)
	if o.Resume != nil {
		e.restore(*o.Resume)
	}
	var resumed *records.Batch
	if b := e.line.Batch(); b != nil {
		resumed = b
	}
	e.initDeliveries(o.Deliveries, resumed)
	e.indexTags()
	e.snap = make([]drivers.Sample, o.Table.Len())
	e.lastTime = make([]time.Time, o.Table.Len())
	e.stats.PeriodMs = float64(o.Plant.ScanPeriod) / float64(time.Millisecond)
	e.publish()
	return e, nil
}

// audit records a command refused before it reached the scan (who could
// not be identified or was not allowed). Commands that reach the scan are
// recorded there, accepted or refused: together they are the audit trail,
// kept as command events in the append-only event store.
// Audit records a command the API refused (who, what, why) in the audit
// trail.
func (e *Engine) Audit(c api.Command, user, role, msg string) {
	if e.rec == nil {
		return
	}
	if role != "" {
		msg += " (role " + role + ")"
	}
	e.rec.Event(records.Event{Time: e.clock.Now(), Kind: records.EventCommand, Line: e.cfg.Line, Name: c.Command + ":refused", Message: msg, User: user})
}

// restore takes up an interrupted batch; if it cannot be, the record is
// closed as aborted with the reason and the line stays Stopped.
func (e *Engine) restore(rec records.Batch) {
	now := e.clock.Now()
	r, err := e.recipes.Resolve(rec.Recipe, rec.RecipeVersion)
	var events []line.Event
	if err == nil {
		events, err = e.line.Restore(now, rec, r)
	}
	if err != nil {
		e.log.Error("interrupted batch cannot be taken up", "batch", rec.ID, "err", err)
		e.line.Message = fmt.Sprintf("batch %s was interrupted and could not be taken up: %v", rec.ID, err)
		rec.State, rec.End, rec.Context = records.BatchAborted, now, nil
		if e.rec != nil {
			e.rec.Event(records.Event{Time: now, Kind: records.EventBatch, Line: e.cfg.Line, BatchID: rec.ID, Name: "aborted", Message: e.line.Message})
			e.rec.SaveBatch(rec)
		}
		return
	}
	if e.rec != nil {
		for _, ev := range events {
			e.rec.Event(ev)
		}
		e.rec.SaveBatch(*e.line.BatchForSave())
	}
}

// Submit hands a command to the scan and waits for its verdict (at most a
// few scan periods). A start command's recipe is resolved and checked here,
// outside the scan: only an approved version that passes validation against
// this plant's limits may start a batch.
func (e *Engine) Submit(ctx context.Context, c api.Command) api.CommandResult {
	r := line.Request{Command: c}
	if c.Command == api.CommandStart {
		rec, err := e.recipes.Resolve(c.Recipe, c.Version)
		if err == nil {
			if verr := rec.Validate(e.limits); verr != nil {
				err = fmt.Errorf("%s version %d does not pass validation against this plant:\n%w", rec.Name, rec.Version, verr)
			}
		}
		if err != nil {
			msg := err.Error() // the reason alone: "start refused: " is the reader's
			if e.rec != nil {
				e.rec.Event(records.Event{Time: e.clock.Now(), Kind: records.EventCommand, Line: e.cfg.Line, Name: "start:refused", Message: msg, User: c.User})
			}
			return api.CommandResult{Error: msg}
		}
		r.Recipe = rec
	}
	req := cmdRequest{req: r, reply: make(chan api.CommandResult, 1)}
	select {
	case e.cmds <- req:
	case <-ctx.Done():
		return api.CommandResult{Error: "command not delivered: " + ctx.Err().Error()}
	}
	select {
	case r := <-req.reply:
		return r
	case <-ctx.Done():
		return api.CommandResult{Error: "no verdict from the scan: " + ctx.Err().Error()}
	}
}

// Status returns the status published after the latest scan.
func (e *Engine) Status() *api.Status { return e.status.Load() }

// Recipes lists the recipes and versions the engine knows.
func (e *Engine) Recipes() ([]api.RecipeInfo, error) { return e.recipes.List() }

// Run scans at the plant file's period until ctx is done, then drives every
// output to its safe value once more and saves the batch record.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	period := e.cfg.ScanPeriod
	pacer := e.pacer
	if pacer == nil {
		pacer = &timerPacer{}
	}
	next := time.Now().Add(period)
	if !e.span.open {
		e.openSpan(e.clock.Now(), nil, nil)
	}
	for {
		woke, ok := pacer.Wait(ctx, next)
		if !ok {
			e.shutdown()
			return nil
		}
		late := woke.Sub(next)
		e.scan()
		exec := time.Since(woke)
		e.account(exec, late, period)
		next = next.Add(period)
		if !time.Now().Before(next) {
			e.stats.Overruns++
			next = time.Now().Add(period)
		}
	}
}

func (e *Engine) account(exec, late, period time.Duration) {
	s := &e.stats
	s.Count++
	s.LastExecUs = float64(exec) / float64(time.Microsecond)
	s.MaxExecUs = math.Max(s.MaxExecUs, s.LastExecUs)
	e.execHist.add(exec)
	if s.Count > 5 { // ignore start-up
		s.MaxLatenessMs = math.Max(s.MaxLatenessMs, float64(late)/float64(time.Millisecond))
		e.lateHist.add(late)
	}
	s.ExecP50Us = float64(e.execHist.quantile(0.5)) / float64(time.Microsecond)
	s.ExecP99Us = float64(e.execHist.quantile(0.99)) / float64(time.Microsecond)
	s.LatenessP50Ms = float64(e.lateHist.quantile(0.5)) / float64(time.Millisecond)
	s.LatenessP99Ms = float64(e.lateHist.quantile(0.99)) / float64(time.Millisecond)
}

func (e *Engine) scan() {
	now := e.clock.Now()
	// Write outcomes first: a device acknowledges a write before it polls
	// the values that follow it, so the snapshot is never older than the
	// acknowledgements the output set compares it with.
	e.drainResults()
	e.table.Snapshot(e.snap)
	// A device that is away, or has just come back and has not had its
	// outputs written again, must not drive the logic.
	e.outs.observe(now, e.snap)
	// Commands arrived since the last scan.
	e.pending, e.replies = e.pending[:0], e.replies[:0]
	for len(e.pending) < cap(e.cmds) {
		select {
		case r := <-e.cmds:
			e.pending = append(e.pending, r.req)
			e.replies = append(e.replies, r.reply)
			continue
		default:
		}
		break
	}
	if cap(e.results2) < len(e.pending) {
		e.results2 = make([]api.CommandResult, len(e.pending))
	}
	res := e.results2[:len(e.pending)]
	// Alarm commands are the engine's; the rest go to the line logic.
	e.lineReqs, e.lineIdx = e.lineReqs[:0], e.lineIdx[:0]
	for i, r := range e.pending {
		if isAlarmCommand(r.Command.Command) {
			res[i] = e.alarmCommand(now, r.Command)
			continue
		}
		e.lineReqs = append(e.lineReqs, r)
		e.lineIdx = append(e.lineIdx, i)
	}
	if cap(e.lineRes) < len(e.lineReqs) {
		e.lineRes = make([]api.CommandResult, len(e.lineReqs))
	}
	lres := e.lineRes[:len(e.lineReqs)]
	e.takeDeliveries()
	in := snapshotInputs{e}
	events := e.line.Step(now, in, e.lineReqs, lres)
	for j, i := range e.lineIdx {
		res[i] = lres[j]
	}
	for i, ch := range e.replies {
		ch <- res[i]
	}
	if trs := e.alarms.Step(now, in, e.unitRunning); len(trs) > 0 {
		for i := range trs {
			e.line.NoteAlarm(trs[i].Time, trs[i].Alarm, trs[i].To.String(), trs[i].User)
			if e.rec != nil {
				e.rec.Event(trs[i].Event(e.cfg.Line))
			}
		}
	}
	e.outs.step(now, time.Now(), e.line.Outputs(), e.snap)
	if len(e.outs.events) > 0 {
		for i := range e.outs.events {
			e.line.NoteDeviceEvent(&e.outs.events[i])
		}
		events = append(events, e.outs.events...)
		e.outs.events = e.outs.events[:0]
	}
	e.allocate(events)
	if e.rec != nil {
		e.trackState(now, events)
	}
	e.record(events)
	// The status is for people and scripts: building it allocates, so it
	// is rebuilt at most every publishEvery, and at once after a command or
	// an event so that an answer is never older than what caused it.
	if len(e.pending) > 0 || len(events) > 0 || time.Since(e.lastPublish) >= publishEvery {
		e.publish()
		e.lastPublish = time.Now()
	}
}

func isAlarmCommand(c string) bool {
	switch c {
	case api.CommandAck, api.CommandAckAll, api.CommandShelve, api.CommandUnshelve, api.CommandOutOfService, api.CommandInService:
		return true
	}
	return false
}

// alarmCommand runs an operator's alarm command on the scan goroutine (the
// alarm set is not safe for concurrent use) and records it.
func (e *Engine) alarmCommand(now time.Time, c api.Command) api.CommandResult {
	var trs []alarm.Transition
	err := checkAlarmCommand(c)
	var tr alarm.Transition
	switch {
	case err != nil:
	case c.Command == api.CommandAck:
		tr, err = e.alarms.Ack(c.Alarm, c.User, now)
		trs = []alarm.Transition{tr}
	case c.Command == api.CommandAckAll:
		trs, err = e.alarms.AckAll(c.User, now)
	case c.Command == api.CommandShelve:
		tr, err = e.alarms.Shelve(c.Alarm, c.User, now.Add(time.Duration(c.Value*float64(time.Second))), now)
		trs = []alarm.Transition{tr}
	case c.Command == api.CommandUnshelve:
		tr, err = e.alarms.Unshelve(c.Alarm, c.User, now)
		trs = []alarm.Transition{tr}
	case c.Command == api.CommandOutOfService:
		tr, err = e.alarms.RemoveFromService(c.Alarm, c.User, now)
		trs = []alarm.Transition{tr}
	case c.Command == api.CommandInService:
		tr, err = e.alarms.ReturnToService(c.Alarm, c.User, now)
		trs = []alarm.Transition{tr}
	}
	if err != nil {
		msg := alarmRefusal(err)
		if e.rec != nil {
			e.rec.Event(records.Event{Time: now, Kind: records.EventCommand, Line: e.cfg.Line, Name: c.Command + ":refused", Message: msg, User: c.User, Reason: c.Reason})
		}
		return api.CommandResult{Error: msg}
	}
	e.line.NoteAction(now, c.User, c.Command, actionDetail(c))
	for i := range trs {
		e.line.NoteAlarm(trs[i].Time, trs[i].Alarm, trs[i].To.String(), trs[i].User)
	}
	if e.rec != nil {
		e.rec.Event(records.Event{Time: now, Kind: records.EventCommand, Line: e.cfg.Line, Name: c.Command, Message: c.Alarm, User: c.User, Reason: c.Reason})
		for i := range trs {
			ev := trs[i].Event(e.cfg.Line)
			ev.Reason = c.Reason
			e.rec.Event(ev)
		}
	}
	return api.CommandResult{OK: true}
}

type snapshotInputs struct{ e *Engine }

func (s snapshotInputs) Get(tag string) (float64, drivers.Quality) {
	i, ok := s.e.table.Index(tag)
	if !ok {
		if len(tag) > 0 && tag[0] == '@' { // a comm_loss alarm's device
			v, q, _ := s.e.outs.commState(tag[1:])
			return v, q
		}
		return 0, drivers.QualityBadConfigError
	}
	sm := &s.e.snap[i]
	return sm.Value, sm.Quality
}

// drainResults takes the devices' write outcomes into the output set: an
// acknowledged write counts for the output's state on that connection, a
// failed one is written again after a pause.
func (e *Engine) drainResults() {
	if e.results == nil {
		return
	}
	wall := time.Now()
	for {
		select {
		case r := <-e.results:
			if r.Err != nil {
				e.log.Warn("write failed", "tag", r.Tag, "value", r.Value, "err", r.Err)
			}
			e.outs.result(wall, r)
		default:
			return
		}
	}
}

func (e *Engine) record(events []line.Event) {
	if e.rec == nil {
		return
	}
	e.changed = e.changed[:0]
	for i := range e.snap {
		if !e.snap[i].Time.Equal(e.lastTime[i]) {
			e.lastTime[i] = e.snap[i].Time
			e.changed = append(e.changed, e.snap[i])
		}
	}
	if len(e.changed) > 0 {
		e.rec.Samples(e.changed)
	}
	id := ""
	if b := e.line.Batch(); b != nil {
		id = b.ID
	}
	for _, ev := range events {
		e.rec.Event(ev)
		if ev.Kind == records.EventBatch || ev.Kind == records.EventPhase {
			switch {
			case e.line.Batch() != nil:
				e.rec.SaveBatch(*e.line.BatchForSave())
				e.lastSave = time.Now()
			case e.line.LastBatch() != nil:
				e.rec.SaveBatch(*e.line.LastBatch())
			}
		}
	}
	// Save the running batch's record and restart context now and then, so
	// that a crash loses at most this much of its progress.
	if e.line.Batch() != nil && time.Since(e.lastSave) >= batchSaveEvery {
		e.rec.SaveBatch(*e.line.BatchForSave())
		e.lastSave = time.Now()
	}
	if id != e.batchID {
		e.batchID = id
		e.rec.SetBatch(id)
	}
}

func (e *Engine) shutdown() {
	// A batch cut short by a controller shutdown is recorded as interrupted,
	// with its totals so far; it is never resumed by itself.
	if b := e.line.BatchForSave(); b != nil && e.rec != nil {
		rec := *b
		rec.State = records.BatchInterrupted
		e.rec.Event(records.Event{Time: rec.End, Kind: records.EventBatch, Line: e.cfg.Line, BatchID: rec.ID, Name: "interrupted", Message: "controller shut down"})
		e.rec.SaveBatch(rec)
	}
	e.closeSpan(e.clock.Now())
	// Leave every output in its safe state on the way out.
	e.line.AllOff()
	for _, o := range e.outs.points {
		if o.kind == outLogic {
			_ = o.writable.Write(o.tag, e.line.Outputs()[o.tag])
		}
	}
}

func (e *Engine) publish() {
	st := &api.Status{Line: e.cfg.Line, Time: e.clock.Now(), State: e.line.State.String(), Message: e.line.Message, Scan: e.stats}
	if e.snap == nil {
		e.storeStatus(st)
		return
	}
	units := map[string]*api.UnitStatus{}
	for k, u := range e.cfg.Units {
		us := api.UnitStatus{Name: u.Name, Kind: u.Kind, State: "-"}
		for _, i := range e.unitTags[k] {
			us.Values = append(us.Values, e.tagValue(i))
		}
		st.Units = append(st.Units, us)
	}
	for i := range st.Units {
		units[st.Units[i].Name] = &st.Units[i]
	}
	e.line.UnitStates(func(name string, cmd bool, state string) {
		if u := units[name]; u != nil {
			u.Command, u.State = cmd, state
		}
	})
	st.Tags = make([]api.TagValue, 0, len(e.snap))
	for _, i := range e.tagOrder {
		st.Tags = append(st.Tags, e.tagValue(i))
	}
	for _, d := range e.devices {
		ds := api.DeviceStatus{Name: d.Name()}
		for _, dc := range e.cfg.Devices {
			if dc.Name == d.Name() {
				ds.Protocol = string(dc.Protocol)
				ds.Address = dc.Address + dc.Endpoint
			}
		}
		if h, ok := d.(drivers.HealthReporter); ok {
			hh := h.Health()
			ds.Connected, ds.LastError = hh.Connected, hh.LastError
		}
		ds.Sync, ds.SyncSince, ds.CommLosses, ds.WatchdogResets, ds.CommandsHeld = e.outs.deviceState(ds.Name)
		for _, dc := range e.cfg.Devices {
			if dc.Name == d.Name() && dc.Watchdog != nil {
				ds.Watchdog = dc.Watchdog.String()
			}
		}
		st.Devices = append(st.Devices, ds)
	}
	if b := e.line.Batch(); b != nil {
		pr := e.line.Progress()
		st.Batch = batchStatus(b, pr.Phase, pr.Step, pr.PhaseStart)
	}
	if b := e.line.LastBatch(); b != nil {
		st.LastBatch = batchStatus(b, string(b.State), "", time.Time{})
	}
	for i := range st.Units {
		st.Units[i].Why = e.line.Why(st.Units[i].Name)
		st.Units[i].Reason = e.line.UnitReason(st.Units[i].Name)
	}
	st.Cause, st.Next = e.line.Cause(), e.line.Next()
	st.Interlocks, st.FirstOut = e.line.Interlocks()
	if e.histStats != nil {
		if time.Since(e.histAt) >= time.Second {
			e.histLast, e.histAt = e.histStats(), time.Now()
		}
		st.Historian = e.histLast
	}
	st.Alarms = []api.AlarmStatus{}
	if e.alarms != nil {
		for _, a := range e.alarms.Active() {
			st.Alarms = append(st.Alarms, api.AlarmStatus{Name: a.Name, Tag: a.Tag, Priority: string(a.Priority), Unit: a.Unit,
				Message: a.Message, State: a.State.String(), Since: a.Since, User: a.User, Value: a.Value, Quality: a.Quality,
				Active: a.Active, ShelvedUntil: a.ShelvedUntil, Chattering: a.Chattering})
		}
	}
	st.Outputs = e.outs.status(e.snap)
	e.publishExtra(st)
	e.storeStatus(st)
}

func (e *Engine) tagValue(i int) api.TagValue {
	s := e.snap[i]
	return api.TagValue{Tag: s.Tag, Value: s.Value, Quality: s.Quality, Time: s.Time, Unit: e.tagUnit[i], Precision: e.extra.prec[i], Bool: e.extra.isBool[i]}
}

// indexTags works out once what publish needs per tag: its engineering
// unit, the alphabetical order of the tags, and each unit's tags in display
// order (command and feedback first), so that no scan searches the plant
// file or sorts.
func (e *Engine) indexTags() {
	n := e.table.Len()
	e.tagUnit = make([]string, n)
	e.tagOrder = make([]int, n)
	names := e.table.Tags()
	for i, tag := range names {
		if _, p := e.cfg.Point(tag); p != nil {
			e.tagUnit[i] = p.Unit
		}
		e.tagOrder[i] = i
	}
	sort.Slice(e.tagOrder, func(a, b int) bool { return names[e.tagOrder[a]] < names[e.tagOrder[b]] })
	e.unitTags = make([][]int, len(e.cfg.Units))
	for k, u := range e.cfg.Units {
		for _, role := range sortedRoles(u.Signals) {
			if i, ok := e.table.Index(u.Signals[role]); ok {
				e.unitTags[k] = append(e.unitTags[k], i)
			}
		}
	}
	e.indexExtra(names)
}

func batchStatus(b *records.Batch, phase, step string, phaseStart time.Time) *api.BatchStatus {
	return &api.BatchStatus{ID: b.ID, Recipe: b.Recipe, RecipeVersion: b.RecipeVersion, WasteClass: b.WasteClass,
		Phase: phase, Step: step, Start: b.Start, PhaseStart: phaseStart, End: b.End, TargetKg: b.TargetKg,
		KgReceived: b.KgReceived, KgCake: b.KgCake, KgWater: b.KgWater, KgRejects: b.KgRejects,
		KgFiltrate: b.KgFiltrate, KWh: b.KWh, KgHoldupStart: b.KgHoldupStart, KgHoldupEnd: b.KgHoldupEnd, ClosurePct: b.ClosurePct}
}

func sortedRoles(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		// command and feedback first, then the rest alphabetically
		pi, pj := rolePriority(ks[i]), rolePriority(ks[j])
		if pi != pj {
			return pi < pj
		}
		return strings.Compare(ks[i], ks[j]) < 0
	})
	return ks
}

func rolePriority(r string) int {
	switch r {
	case "run", "door":
		return 0
	case "running", "weight":
		return 1
	}
	return 2
}
