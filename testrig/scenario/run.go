package scenario

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig"
)

// Line is the controller under test, seen through its API (*api.Client).
type Line interface {
	Status(ctx context.Context) (*api.Status, error)
	Send(ctx context.Context, cmd api.Command) (*api.CommandResult, error)
}

// Plant is the rig under test, seen through its control API
// (*testrig.ControlClient).
type Plant interface {
	Inject(ctx context.Context, spec testrig.FaultSpec) (testrig.Fault, error)
	Clear(ctx context.Context, id string) (testrig.Fault, error)
	ClearAll(ctx context.Context) ([]testrig.Fault, error)
	Values(ctx context.Context, roles ...string) (map[string]float64, error)
	SetClass(ctx context.Context, class string, kg float64) error
}

// Options configure a Runner.
type Options struct {
	Line  Line
	Plant Plant
	// Clock gives plant time. Nil means the plant time of the
	// controller's last scan (Status.Time), for a controller run
	// elsewhere.
	Clock drivers.Clock
	// Poll is how often, in wall time, the runner reads the status
	// (default 50ms). Expectations are checked at this rate.
	Poll time.Duration
	// Ready bounds, in wall time, the wait for the controller to report
	// every tag good before the scenario starts (default 60s).
	Ready time.Duration
	// Log, if set, receives a line per step as it runs.
	Log func(format string, args ...any)
}

// Result is the outcome of one scenario.
type Result struct {
	Scenario string
	File     string
	// Wall is how long the scenario took in wall time; Plant in plant
	// time.
	Wall, Plant time.Duration
	Steps       []StepResult
	// Err is set when the scenario could not run to its end (setup
	// failure, limit reached, context cancelled); the steps not reached
	// are marked Skipped.
	Err error
}

// StepResult is the outcome of one step.
type StepResult struct {
	Index int
	Name  string
	// Kind is command, inject, clear, feed, wait or expect.
	Kind string
	// At is the plant time since the scenario started when the step
	// ended; Wall the wall time the step took.
	At, Wall time.Duration
	Passed   bool
	Skipped  bool
	// Message says why a step failed or was skipped, with what was seen.
	Message string
}

// Failed counts the failed steps (skipped ones included).
func (r *Result) Failed() int {
	n := 0
	for _, s := range r.Steps {
		if !s.Passed {
			n++
		}
	}
	return n
}

// Runner runs scenarios against a line and a plant.
type Runner struct {
	o Options
}

// NewRunner returns a runner; Line and Plant are required.
func NewRunner(o Options) (*Runner, error) {
	if o.Line == nil || o.Plant == nil {
		return nil, errors.New("scenario: a runner needs a Line and a Plant")
	}
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.Ready <= 0 {
		o.Ready = time.Minute
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return &Runner{o: o}, nil
}

// run is the state of one scenario run.
type run struct {
	r      *Runner
	f      *File
	ctx    context.Context
	start  time.Time // plant time the scenario started
	faults map[string]string

	mu         sync.Mutex
	last       *api.Status
	lastErr    error
	polled     time.Time // plant time of the newest status
	alarmsSeen map[string]bool
	batchID    string
}

// Run runs f and returns its result. It fails the scenario, not the call:
// the error is in Result.Err. Faults it injected are cleared at the end,
// whatever happened.
func (rn *Runner) Run(ctx context.Context, f *File) *Result {
	res := &Result{Scenario: f.Scenario, File: f.name}
	wallStart := time.Now()
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	x := &run{r: rn, f: f, faults: map[string]string{}, alarmsSeen: map[string]bool{}}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	x.ctx = pollCtx
	pollDone := make(chan struct{})
	go x.poll(pollDone)
	defer func() {
		stopPoll()
		<-pollDone
		// Leave the plant as found for whoever runs next on it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for id, fid := range x.faults {
			if _, err := rn.o.Plant.Clear(cctx, fid); err == nil {
				rn.o.Log("cleared fault %s (%s) at the end", id, fid)
			}
		}
	}()

	if err := x.ready(); err != nil {
		res.Err = err
		res.Steps = append(res.Steps, StepResult{Name: "setup: every tag good", Kind: "setup", Message: err.Error()})
		for i := range f.Steps {
			res.Steps = append(res.Steps, StepResult{Index: i + 1, Name: describe(&f.Steps[i]), Kind: kindOf(&f.Steps[i]), Skipped: true, Message: "not run: setup failed"})
		}
		res.Wall = time.Since(wallStart)
		return res
	}
	start := x.now()
	x.mu.Lock()
	x.start = start
	x.mu.Unlock()
	deadline := x.start.Add(limit)
	prevEnd := x.start
	for i := range f.Steps {
		s := &f.Steps[i]
		sr := StepResult{Index: i + 1, Name: describe(s), Kind: kindOf(s)}
		if res.Err != nil {
			sr.Skipped, sr.Message = true, "not run: "+res.Err.Error()
			res.Steps = append(res.Steps, sr)
			continue
		}
		stepWall := time.Now()
		var err error
		switch {
		case s.At > 0:
			err = x.sleepUntil(x.start.Add(s.At), deadline)
		case s.After > 0:
			err = x.sleepUntil(prevEnd.Add(s.After), deadline)
		}
		if err == nil {
			rn.o.Log("%s: step %d: %s", f.Scenario, i+1, sr.Name)
			sr.Passed, sr.Message, err = x.step(s, deadline)
		}
		if err != nil {
			res.Err = err
			sr.Passed, sr.Message = false, err.Error()
		}
		prevEnd = x.now()
		sr.At, sr.Wall = prevEnd.Sub(x.start), time.Since(stepWall)
		if !sr.Passed {
			rn.o.Log("%s: step %d FAILED: %s", f.Scenario, i+1, sr.Message)
		}
		res.Steps = append(res.Steps, sr)
	}
	res.Plant = x.now().Sub(x.start)
	res.Wall = time.Since(wallStart)
	return res
}

// now returns plant time: the clock's, or the controller's last scan's.
func (x *run) now() time.Time {
	if c := x.r.o.Clock; c != nil {
		return c.Now()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.polled
}

// poll reads the controller's status every Poll, keeping the latest and
// the alarms and batch seen, until the run ends.
func (x *run) poll(done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(x.r.o.Poll)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
		st, err := x.r.o.Line.Status(ctx)
		cancel()
		x.mu.Lock()
		x.lastErr = err
		if err == nil {
			x.last = st
			if st.Time.After(x.polled) {
				x.polled = st.Time
			}
			for _, a := range st.Alarms {
				x.alarmsSeen[a.Name] = true
			}
			if st.Batch != nil && x.batchID == "" && !x.start.IsZero() && !st.Batch.Start.Before(x.start.Add(-time.Second)) {
				x.batchID = st.Batch.ID
			}
		}
		x.mu.Unlock()
		select {
		case <-x.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// staleAfter is how long, in wall time, the runner waits for a fresh status
// before it gives up on the controller.
const staleAfter = 15 * time.Second

// status returns the newest status taken at or after plant time after.
func (x *run) status(after time.Time) (*api.Status, error) {
	giveUp := time.Now().Add(staleAfter)
	for {
		x.mu.Lock()
		st, err := x.last, x.lastErr
		x.mu.Unlock()
		if st != nil && !st.Time.Before(after) {
			return st, nil
		}
		if time.Now().After(giveUp) {
			if err == nil {
				err = errors.New("its scan time does not advance")
			}
			return nil, fmt.Errorf("no fresh status from the controller for %v: %w", staleAfter, err)
		}
		if err := x.pause(); err != nil {
			return nil, err
		}
	}
}

func (x *run) pause() error {
	select {
	case <-x.ctx.Done():
		return x.ctx.Err()
	case <-time.After(x.r.o.Poll / 2):
		return nil
	}
}

// ready waits until the controller reports every tag good.
func (x *run) ready() error {
	deadline := time.Now().Add(x.r.o.Ready)
	for {
		x.mu.Lock()
		st, err := x.last, x.lastErr
		x.mu.Unlock()
		var bad []string
		if st != nil {
			for _, tv := range st.Tags {
				if !tv.Quality.Good() {
					bad = append(bad, tv.Tag+" "+tv.Quality.String())
				}
			}
			if len(bad) == 0 && len(st.Tags) > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if st == nil {
				return fmt.Errorf("the controller's API never answered within %v: %v", x.r.o.Ready, err)
			}
			return fmt.Errorf("tags not good within %v: %s", x.r.o.Ready, strings.Join(bad, ", "))
		}
		if err := x.pause(); err != nil {
			return err
		}
	}
}

// errLimit is returned when the scenario's plant-time limit is reached.
var errLimit = errors.New("the scenario's time limit was reached")

// sleepUntil waits until plant time t.
func (x *run) sleepUntil(t, deadline time.Time) error {
	for x.now().Before(t) {
		if x.now().After(deadline) {
			return errLimit
		}
		if err := x.pause(); err != nil {
			return err
		}
	}
	return nil
}

// step runs one step. ok and msg are its verdict; err means the scenario
// cannot go on.
func (x *run) step(s *Step, deadline time.Time) (ok bool, msg string, err error) {
	ctx, cancel := context.WithTimeout(x.ctx, 30*time.Second)
	defer cancel()
	if k := stepKindOf(s); k != nil {
		return k.run(x, ctx, s, deadline)
	}
	return false, "", errors.New("empty step")
}

// expect waits for an expectation and returns its verdict with what was
// last seen.
func (x *run) expect(e *Expect, deadline time.Time) (bool, string) {
	within := e.Within
	if within == 0 {
		within = DefaultWithin
	}
	begin := x.now()
	until := begin.Add(within)
	var holdingSince time.Time
	for {
		st, err := x.status(begin)
		if err != nil {
			return false, err.Error()
		}
		ok, seen, final := x.evaluate(e, st)
		if e.Not {
			ok, final = !ok, false
		}
		now := st.Time
		switch {
		case ok && e.For == 0:
			return true, seen
		case ok && holdingSince.IsZero():
			holdingSince = now
		case ok && now.Sub(holdingSince) >= e.For:
			return true, seen
		case !ok && !holdingSince.IsZero():
			return false, fmt.Sprintf("held for %v, then stopped holding (want %v): %s", now.Sub(holdingSince).Round(time.Millisecond), e.For, seen)
		case !ok && final:
			return false, seen
		case !ok && now.After(until):
			return false, fmt.Sprintf("not within %v: %s", within, seen)
		}
		if now.After(deadline) {
			return false, fmt.Sprintf("scenario limit reached: %s", seen)
		}
		if err := x.pause(); err != nil {
			return false, err.Error()
		}
		begin = x.polledTime()
	}
}

func (x *run) polledTime() time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.last == nil {
		return time.Time{}
	}
	return x.last.Time.Add(time.Nanosecond)
}

// evaluate checks every condition of e against st (and the plant). It
// returns whether all hold, what was seen, and whether the outcome can no
// longer change (a batch that ended otherwise than expected).
func (x *run) evaluate(e *Expect, st *api.Status) (ok bool, seen string, final bool) {
	ok = true
	var notes []string
	note := func(cond bool, format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if !cond {
			ok = false
			s = "✗ " + s
		}
		notes = append(notes, s)
	}
	if e.State != "" {
		want := strings.Split(e.State, "|")
		for i := range want {
			want[i] = strings.TrimSpace(want[i])
		}
		note(slices.Contains(want, st.State), "state %s (want %s)", st.State, e.State)
	}
	if e.Message != "" {
		note(strings.Contains(strings.ToLower(st.Message), strings.ToLower(e.Message)), "message %q (want it to contain %q)", st.Message, e.Message)
	} else if st.Message != "" && (e.State != "" || e.Batch != "") {
		notes = append(notes, fmt.Sprintf("message %q", st.Message))
	}
	if e.Phase != "" {
		phase := "(no batch)"
		if st.Batch != nil {
			phase = st.Batch.Phase
			if st.Batch.Step != "" {
				phase += "/" + st.Batch.Step
			}
		}
		note(st.Batch != nil && st.Batch.Phase == e.Phase, "phase %s (want %s; line %s %q)", phase, e.Phase, st.State, st.Message)
	}
	if e.Batch != "" {
		got, done := x.batchOutcome(st)
		note(got == e.Batch, "batch %s (want %s)", got, e.Batch)
		// While an expectation waits no other step runs, so no operator
		// unholds: a held batch stays held, like an ended one stays ended.
		final = (done || got == "held") && got != e.Batch
	}
	if e.Alarm != "" {
		var a *api.AlarmStatus
		for i := range st.Alarms {
			if st.Alarms[i].Name == e.Alarm {
				a = &st.Alarms[i]
			}
		}
		x.mu.Lock()
		seenBefore := x.alarmsSeen[e.Alarm]
		x.mu.Unlock()
		switch {
		case e.Active:
			note(a != nil && a.Active, "alarm %s %s (want active)", e.Alarm, alarmText(a, seenBefore))
		default:
			note(a != nil || seenBefore, "alarm %s %s (want raised)", e.Alarm, alarmText(a, seenBefore))
		}
	}
	if e.Unit != "" {
		state := "(no such unit)"
		for _, u := range st.Units {
			if u.Name == e.Unit {
				state = u.State
			}
		}
		note(state == e.UnitState, "unit %s %s (want %s)", e.Unit, state, e.UnitState)
	}
	if e.Tag != "" {
		var tv *api.TagValue
		for i := range st.Tags {
			if st.Tags[i].Tag == e.Tag {
				tv = &st.Tags[i]
			}
		}
		if tv == nil {
			note(false, "tag %s is not in the controller's status (not in its plant file?)", e.Tag)
		} else {
			qok := tv.Quality.Good()
			if e.Quality != "" {
				qok = qualityMatches(tv.Quality, e.Quality)
			}
			desc := fmt.Sprintf("tag %s = %g (%s)", e.Tag, tv.Value, tv.Quality)
			if e.Quality == "" && !qok {
				note(false, "%s: not good", desc)
			} else {
				note(qok && compare(e, tv.Value), "%s (want %s)", desc, wantText(e))
			}
		}
	}
	if e.Rig != "" {
		ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
		vals, err := x.r.o.Plant.Values(ctx, e.Rig)
		cancel()
		if err != nil {
			note(false, "rig %s: %v", e.Rig, err)
		} else {
			note(compare(e, vals[e.Rig]), "rig %s = %g (want %s)", e.Rig, vals[e.Rig], wantText(e))
		}
	}
	if e.Balance != nil {
		ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
		res, in, err := balance(ctx, x.r.o.Plant)
		cancel()
		if err != nil {
			note(false, "balance: %v", err)
		} else {
			pct := 100 * math.Abs(res) / math.Max(in, 1)
			note(pct <= *e.Balance, "mass balance off by %.4g kg of %.6g kg in (%.3g %%; want within %g %%)", res, in, pct, *e.Balance)
		}
	}
	return ok, strings.Join(notes, "; "), final
}

// batchOutcome says what became of the scenario's batch: running, held,
// completed, aborted, stopped, or none; done is true once it has ended.
func (x *run) batchOutcome(st *api.Status) (string, bool) {
	x.mu.Lock()
	id := x.batchID
	x.mu.Unlock()
	if st.Batch != nil && (id == "" || st.Batch.ID == id) {
		if st.State == "Held" || st.State == "Holding" {
			return "held", false
		}
		return "running", false
	}
	if lb := st.LastBatch; lb != nil && (id == "" && !lb.Start.Before(x.start) || lb.ID == id) {
		switch lb.Phase {
		case "complete":
			return "completed", true
		case "aborted":
			return "aborted", true
		case "stopped":
			return "stopped", true
		}
		return lb.Phase, true
	}
	return "none", false
}

func alarmText(a *api.AlarmStatus, seenBefore bool) string {
	switch {
	case a != nil:
		return fmt.Sprintf("is %s (active %v)", a.State, a.Active)
	case seenBefore:
		return "was raised and has cleared"
	}
	return "never raised"
}

func qualityMatches(q drivers.Quality, want string) bool {
	name := q.String()
	switch want {
	case "good":
		return q.Good()
	case "bad":
		return strings.HasPrefix(name, "bad") || q == drivers.QualityUnknown
	case "uncertain":
		return strings.HasPrefix(name, "uncertain")
	}
	return name == want
}

func compare(e *Expect, v float64) bool {
	switch {
	case e.Above != nil && !(v > *e.Above),
		e.Below != nil && !(v < *e.Below),
		e.AtLeast != nil && !(v >= *e.AtLeast),
		e.AtMost != nil && !(v <= *e.AtMost),
		e.Equals != nil && math.Abs(v-*e.Equals) > 1e-9*math.Max(1, math.Abs(*e.Equals)):
		return false
	}
	return true
}

func wantText(e *Expect) string {
	var w []string
	add := func(p *float64, op string) {
		if p != nil {
			w = append(w, fmt.Sprintf("%s %g", op, *p))
		}
	}
	add(e.Above, ">")
	add(e.Below, "<")
	add(e.AtLeast, "≥")
	add(e.AtMost, "≤")
	add(e.Equals, "=")
	if e.Quality != "" {
		w = append(w, "quality "+e.Quality)
	}
	return strings.Join(w, ", ")
}

// balanceRoles are the rig's whole-line balance variables (any layout):
// what came in, what the units hold, what has left the line.
var balanceRoles = []string{"line.mass_in", "line.mass_held", "line.mass_out"}

// balance returns the rig's total-mass residual (in − held − out) and
// what came in.
func balance(ctx context.Context, p Plant) (residual, in float64, err error) {
	vals, err := p.Values(ctx, balanceRoles...)
	if err != nil {
		return 0, 0, err
	}
	in = vals["line.mass_in"]
	return in - vals["line.mass_held"] - vals["line.mass_out"], in, nil
}

func kindOf(s *Step) string {
	if k := stepKindOf(s); k != nil {
		return k.name
	}
	return ""
}

// describe makes up a step's name from what it does, unless it has one.
func describe(s *Step) string {
	if s.Name != "" {
		return s.Name
	}
	if k := stepKindOf(s); k != nil {
		return k.describe(s)
	}
	return "(empty step)"
}

// describeExpect makes up an expect step's name from its conditions.
func describeExpect(s *Step) string {
	e := s.Expect
	var c []string
	if e.State != "" {
		c = append(c, "state "+e.State)
	}
	if e.Message != "" {
		c = append(c, fmt.Sprintf("message ~ %q", e.Message))
	}
	if e.Phase != "" {
		c = append(c, "phase "+e.Phase)
	}
	if e.Batch != "" {
		c = append(c, "batch "+e.Batch)
	}
	if e.Alarm != "" {
		a := "alarm " + e.Alarm + " raised"
		if e.Active {
			a = "alarm " + e.Alarm + " active"
		}
		c = append(c, a)
	}
	if e.Unit != "" {
		c = append(c, "unit "+e.Unit+" "+e.UnitState)
	}
	if e.Tag != "" {
		c = append(c, "tag "+e.Tag+" "+wantText(e))
	}
	if e.Rig != "" {
		c = append(c, "rig "+e.Rig+" "+wantText(e))
	}
	if e.Balance != nil {
		c = append(c, fmt.Sprintf("mass balance within %g %%", *e.Balance))
	}
	d := strings.Join(c, " and ")
	if e.Not {
		d = "not (" + d + ")"
	}
	within := e.Within
	if within == 0 {
		within = DefaultWithin
	}
	d = "within " + within.String() + ": " + d
	if e.For > 0 {
		d += " for " + e.For.String()
	}
	return d
}
