package line

import (
	"fmt"
	"slices"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/recipes"
)

// Cause kinds (api.Cause.Kind).
const (
	CauseInterlock    = "interlock"
	CauseAlarm        = "alarm"
	CauseCommLoss     = "comm_loss"
	CauseUnitFault    = "unit_fault"
	CauseStartFailure = "start_failure"
	CauseOperator     = "operator"
	CauseOther        = "other"
)

// causeState is the line's first-out: why it left running normally, with
// what tells whether that is still present.
type causeState struct {
	api.Cause
	il   *interlockState // an interlock (also one a comm loss made active)
	tank *tankControl    // a tank at high-high
	tag  string          // an input whose quality is not good
	node int             // a unit's fault or failed start: its node in Line.g; -1 for none
	// msg is the line's Message the cause came with; cleared is the same
	// marked as no longer present (what Message shows once it cleared).
	msg, cleared string
	clearedAt    time.Time
}

// Cause returns why the line is stopped, held or aborted (nil while it runs
// normally, and in Idle), as of the last Step.
func (l *Line) Cause() *api.Cause {
	if l.cause == nil {
		return nil
	}
	c := l.cause.Cause
	return &c
}

// setCause records c as the cause unless one is already kept: the first
// thing that took the line out of running normally is the one shown.
func (l *Line) setCause(c causeState) {
	if l.cause != nil {
		return
	}
	c.Since = l.now
	c.Active = l.causeActive(&c)
	l.cause = &c
}

// operatorCause is the cause of an operator's hold, stop or abort.
func operatorCause(command, user, text string) causeState {
	return causeState{Cause: api.Cause{Kind: CauseOperator, Source: command, Text: text, User: user}, node: -1}
}

// otherCause is a cause that is never "still present" (a phase timeout, a
// controller restart).
func otherCause(source, text string) causeState {
	return causeState{Cause: api.Cause{Kind: CauseOther, Source: source, Text: text}, node: -1}
}

// interlockCause is the cause for an active interlock: a comm loss when
// its input cannot be read because its device does not answer.
func (l *Line) interlockCause(s *interlockState) causeState {
	if why := commCause(s.device, s.quality); why != "" {
		return causeState{Cause: api.Cause{Kind: CauseCommLoss, Source: s.device, Text: why}, il: s, node: -1}
	}
	c := causeState{Cause: api.Cause{Kind: CauseInterlock, Source: s.cfg.Name, Text: s.describe()}, il: s, node: -1}
	if len(s.cfg.Units) == 1 {
		c.Unit = s.cfg.Units[0]
	}
	return c
}

// inputCause is the cause for an input the logic needs that is not good.
func (l *Line) inputCause(tag string) causeState {
	_, q := l.in.Get(tag)
	dev := l.deviceOf[tag]
	if why := commCause(dev, q); why != "" {
		return causeState{Cause: api.Cause{Kind: CauseCommLoss, Source: dev, Text: why}, tag: tag, node: -1}
	}
	return causeState{Cause: api.Cause{Kind: CauseOther, Source: tag, Text: fmt.Sprintf("input %s is %s", tag, q)}, tag: tag, node: -1}
}

// stopCauseOf is the cause for an interlock trip or a tank at high-high.
// A tank's high-high is named by the plant's alarm on its level, if it has
// one (filtrate_level_hh), as the operator knows it from the alarm list.
func (l *Line) stopCauseOf(sc stopCause) causeState {
	switch {
	case sc.il != nil:
		return l.interlockCause(sc.il)
	case sc.tank != nil:
		t := sc.tank
		if _, q := l.in.Get(t.levelTag); !q.Good() {
			c := l.inputCause(t.levelTag)
			c.tank, c.tag = t, ""
			return c
		}
		for i := range l.cfg.Alarms {
			a := &l.cfg.Alarms[i]
			if a.Tag == t.levelTag && a.Kind == alarm.KindHighHigh {
				return causeState{Cause: api.Cause{Kind: CauseAlarm, Source: a.Name, Unit: t.name, Text: fmt.Sprintf("%s (%s)", a.Name, a.Message)}, tank: t, node: -1}
			}
		}
		return causeState{Cause: api.Cause{Kind: CauseInterlock, Source: t.name, Unit: t.name, Text: sc.describe()}, tank: t, node: -1}
	}
	return otherCause("", sc.describe())
}

// unitCause is the cause for a unit's fault or failed start.
func (l *Line) unitCause(kind string, node int, text string) causeState {
	name := l.g.names[node]
	return causeState{Cause: api.Cause{Kind: kind, Source: name, Unit: name, Text: text}, node: node}
}

// causeActive tells whether c is still present: the interlock still
// active, the tank still at high-high, the input (its device) still not
// good, the unit's fault still not resettable. An operator's command or a
// timeout is never present.
func (l *Line) causeActive(c *causeState) bool {
	switch {
	case c.il != nil:
		return c.il.active
	case c.tank != nil:
		return c.tank.out.StopFeed
	case c.tag != "":
		if l.in == nil {
			return false
		}
		_, q := l.in.Get(c.tag)
		return !q.Good()
	case c.node >= 0:
		return l.faultPresent(c.node) != ""
	}
	return false
}

// faultPresent says what still keeps the unit at node from being reset and
// started again (its drive reports a fault, an overload, an input it needs,
// an interlock), or "" when an unhold or reset can clear its fault.
func (l *Line) faultPresent(node int) string {
	if l.in == nil {
		return ""
	}
	for _, u := range l.order {
		if u.node != node {
			continue
		}
		if u.fault != "" && l.on(u.fault) {
			return u.name + " drive reports a fault"
		}
		if why := l.moduleWhy(u.ctl); why != "" {
			return u.name + ": " + why
		}
		if text, _, ok := l.blocker(u); ok {
			return text
		}
		return ""
	}
	for _, p := range l.pumps {
		if p.node == node {
			if why := l.moduleWhy(p.ctl); why != "" {
				return p.name + ": " + why
			}
		}
	}
	return ""
}

// moduleWhy is the first start condition of a unit's module that is not
// met, leaving out its own fault latch and a run-down in progress (which
// pass by themselves or with a reset), or "".
func (l *Line) moduleWhy(c *unitControl) string {
	if c == nil {
		return ""
	}
	for _, p := range c.mod.Permissives() {
		if !p.Met && p.Name != "no_fault" && p.Name != "at_rest" {
			return p.Why
		}
	}
	return ""
}

// blocker is the first interlock (a permissive of u, or a trip or tank that
// stops it) that keeps u from starting now, as words and as a cause.
func (l *Line) blocker(u *unitRun) (string, causeState, bool) {
	if ps := l.il.permissives(u.name); len(ps) > 0 {
		c := l.interlockCause(ps[0])
		return c.Text, c, true
	}
	if l.stopped[u.node] {
		c := l.stopCauseOf(l.stopCause[u.node])
		return c.Text, c, true
	}
	return "", causeState{}, false
}

// refreshCause recomputes the kept cause's Active after a Step, marks the
// line's message once the cause has cleared (and unmarks it should it come
// back), and drops the cause once the line runs again or is reset.
func (l *Line) refreshCause() {
	if l.State == StateExecute || l.State == StateIdle {
		l.cause = nil
		return
	}
	c := l.cause
	if c == nil {
		return
	}
	if c.msg == "" {
		c.msg = l.Message
	}
	was := c.Active
	c.Active = l.causeActive(c)
	switch {
	case c.Active:
		c.clearedAt = time.Time{}
		if c.cleared != "" && l.Message == c.cleared {
			l.Message = c.msg
		}
	case was:
		c.clearedAt = l.now
	case c.clearedAt.IsZero() && (c.Kind == CauseInterlock || c.Kind == CauseAlarm || c.Kind == CauseCommLoss):
		c.clearedAt = l.now // gone before the scan that kept it ended
	}
	if !c.Active && !c.clearedAt.IsZero() && c.msg != "" && l.Message == c.msg {
		prefix := ""
		if l.State == StateHeld || l.State == StateHolding {
			prefix = "held: "
		}
		c.cleared = fmt.Sprintf("%s%s (cleared %s)", prefix, c.msg, c.clearedAt.Format("15:04:05"))
		l.Message = c.cleared
	}
}

// restartBlocker says what would keep the line from restarting now (an
// unhold or a start): the kept cause while it is still present, then any
// unit the phase (or, for a start, the recipe) runs that an interlock or a
// tank keeps from starting. It returns "" when nothing does.
func (l *Line) restartBlocker(r *recipes.Recipe) string {
	if c := l.cause; c != nil && l.causeActive(c) {
		return c.Text
	}
	for _, u := range l.order {
		if !l.restartRuns(u, r) {
			continue
		}
		if text, _, ok := l.blocker(u); ok {
			return text
		}
	}
	return ""
}

// restartRuns reports whether a restart would run u: the current phase
// for an unhold, any phase of r for a start.
func (l *Line) restartRuns(u *unitRun, r *recipes.Recipe) bool {
	if r == nil {
		return l.batch != nil && l.runs(u)
	}
	for _, p := range r.Procedure {
		if def, ok := recipes.PhaseNamed(p.Phase); ok && slices.Contains(def.Runs, u.kind) {
			return true
		}
	}
	return false
}

// confirmWait describes what the running phase waits for an operator to
// confirm, or "" when it does not wait for one now (its other end
// conditions not yet met, or already confirmed).
func (l *Line) confirmWait() string {
	b := l.batch
	if l.State != StateExecute || b == nil || b.confirmed {
		return ""
	}
	if !b.recipe.Procedure[b.phaseIdx].End.OperatorConfirm {
		return ""
	}
	switch b.step {
	case "start", "purge", "settling", "top-up":
		return ""
	}
	b.confirmed = true
	met := l.endMet()
	b.confirmed = false
	if !met {
		return ""
	}
	return "end of phase " + b.phase
}

// Next says what the operator can do now, and the command that does it;
// nil while a batch runs normally or the line is between states.
func (l *Line) Next() *api.NextAction {
	switch l.State {
	case StateIdle:
		return &api.NextAction{Command: api.CommandStart, Text: "ready — start a batch"}
	case StateStopped, StateComplete:
		return &api.NextAction{Command: api.CommandReset, Text: "reset to make the line ready for the next batch"}
	case StateAborted:
		return &api.NextAction{Command: api.CommandClear, Text: "aborted — clear, then reset"}
	case StateHeld:
		if l.in != nil {
			// What an unhold would be refused for (line.command).
			why := l.restartBlocker(nil)
			if t := l.il.holdingTrip(); why == "" && t != nil {
				why = t.describe()
			}
			if why != "" {
				return &api.NextAction{Text: "wait: " + why + " — still present"}
			}
			if why = l.badInput(); why == "" {
				why = l.driveFault()
			}
			if why != "" {
				return &api.NextAction{Text: "wait: " + why}
			}
		}
		phase := "the batch"
		if l.batch != nil {
			phase = l.batch.phase
		}
		return &api.NextAction{Command: api.CommandUnhold, Text: "cause cleared — unhold to restart " + phase}
	case StateExecute:
		if what := l.confirmWait(); what != "" {
			return &api.NextAction{Command: api.CommandConfirm, Text: "waiting for confirmation: " + what}
		}
	}
	return nil
}

// UnitReason says why a unit is in its state when that is not plain
// running or stopped: its latched fault (a jam limit, a trip, a failed
// start), or what its module is doing (clearing a jam). "" otherwise.
func (l *Line) UnitReason(name string) string {
	i, ok := l.g.index[name]
	if !ok {
		return ""
	}
	for _, u := range l.order {
		if u.name != name {
			continue
		}
		if u.ctl != nil && u.ctl.last.Faulted {
			if r := u.ctl.mod.Reason(); r != "" {
				return r
			}
		}
		if l.latched[i] != "" {
			return l.latched[i]
		}
		if u.fault != "" && l.in != nil && l.on(u.fault) {
			return "drive reports a fault"
		}
		if u.ctl != nil && u.want {
			return u.ctl.mod.Reason()
		}
		return ""
	}
	for _, p := range l.pumps {
		if p.name == name {
			if p.ctl.last.Faulted {
				return p.ctl.mod.Reason()
			}
			return l.latched[i]
		}
	}
	return ""
}
