package line

import (
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line/linetest"
	"github.com/pretreat/pretreat/drivers"
)

// stepUntil steps the line 100 ms at a time until cond holds (at most d)
// and reports whether it did.
func stepUntil(l *Line, p process, now *time.Time, d time.Duration, cond func() bool) bool {
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		if cond() {
			return true
		}
		run(l, p, now, 100*time.Millisecond)
	}
	return cond()
}

func next(l *Line) api.NextAction {
	if n := l.Next(); n != nil {
		return *n
	}
	return api.NextAction{Text: "<nil>"}
}

// The filtrate tank reaches high-high while the press starts: the press is
// held off by the tank, so the line holds naming filtrate_level_hh (not
// "press failed to start: no running feedback"); unhold is refused with
// that reason while the level stays high, and accepted once it has fallen.
// A start is refused the same way.
func TestFiltrateHighHighNamedAsTheCause(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	p.PumpKgS = 0 // the transfer pump moves nothing: the level stays where the test puts it
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !stepUntil(l, p, &now, 5*time.Minute, func() bool { return l.Outputs()["press.run_cmd"] == 1 }) {
		t.Fatalf("press never commanded: %s %s", l.State, l.Message)
	}
	p.Tank = 0.95 * linetest.TankKg
	if !stepUntil(l, p, &now, time.Minute, func() bool { return l.State == StateHeld }) {
		t.Fatalf("state %s (%s), want Held", l.State, l.Message)
	}
	if strings.Contains(l.Message, "failed to start") || !strings.Contains(l.Message, "filtrate_level_hh") {
		t.Errorf("hold message %q, want it to name filtrate_level_hh, not a failed start", l.Message)
	}
	c := l.Cause()
	if c == nil || c.Kind != CauseAlarm || c.Source != "filtrate_level_hh" || c.Unit != "filtrate_tank" || !c.Active ||
		c.Text != "filtrate_level_hh (Filtrate tank level high-high: press stopped until it falls)" {
		t.Fatalf("cause %+v, want the active alarm filtrate_level_hh", c)
	}
	if n := next(l); n.Command != "" || n.Text != "wait: filtrate_level_hh (Filtrate tank level high-high: press stopped until it falls) — still present" {
		t.Errorf("next %+v, want a wait naming filtrate_level_hh", n)
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if res[0].OK || res[0].Error != "filtrate_level_hh (Filtrate tank level high-high: press stopped until it falls) is still active" {
		t.Fatalf("unhold at high-high: %+v, want refused with the real reason", res[0])
	}
	res = run(l, p, &now, 0, api.Command{Command: api.CommandResume, User: "op"})
	if res[0].OK || !strings.Contains(res[0].Error, "filtrate_level_hh") {
		t.Fatalf("resume at high-high: %+v, want refused with the real reason", res[0])
	}
	if l.State != StateHeld {
		t.Fatalf("state %s after the refused unhold, want Held", l.State)
	}
	p.Tank = 0.5 * linetest.TankKg
	run(l, p, &now, 5*time.Second)
	if c := l.Cause(); c == nil || c.Active || c.Source != "filtrate_level_hh" {
		t.Fatalf("cause %+v once the level fell, want filtrate_level_hh kept, no longer active", c)
	}
	if n := next(l); n.Command != api.CommandUnhold || n.Text != "cause cleared — unhold to restart shred" {
		t.Errorf("next %+v, want unhold", n)
	}
	if !strings.Contains(l.Message, "(cleared 08:") {
		t.Errorf("message %q, want it marked cleared", l.Message)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Fatalf("%s on after the level fell, without an operator", m[0])
		}
	}
	res = run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if !res[0].OK {
		t.Fatalf("unhold once the level fell: %s", res[0].Error)
	}
	if l.Cause() != nil || l.Next() != nil {
		t.Errorf("cause %+v next %+v running again, want none", l.Cause(), l.Next())
	}
	// A start while the tank is at high-high is refused with the reason.
	run(l, p, &now, 0, api.Command{Command: api.CommandAbort, User: "op"})
	run(l, p, &now, time.Second, api.Command{Command: api.CommandClear, User: "op"})
	run(l, p, &now, time.Second, api.Command{Command: api.CommandReset, User: "op"})
	if l.State != StateIdle {
		t.Fatalf("state %s, want Idle", l.State)
	}
	p.Tank = 0.95 * linetest.TankKg
	run(l, p, &now, 3*time.Second)
	res = run(l, p, &now, time.Second, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if res[0].OK || res[0].Error != "filtrate_level_hh (Filtrate tank level high-high: press stopped until it falls) is still active" {
		t.Fatalf("start at high-high: %+v, want refused naming filtrate_level_hh", res[0])
	}
}

// A start that fails for a trip of the unit names the trip.
func TestFailedStartNamesTheTrip(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !stepUntil(l, p, &now, 5*time.Minute, func() bool { return l.Outputs()["shredder.run_cmd"] == 1 }) {
		t.Fatalf("shredder never commanded: %s %s", l.State, l.Message)
	}
	p.Bad["shredder.fault"] = 0 // good
	p.V["shredder.fault"] = 1   // the drive trips as it starts
	if !stepUntil(l, p, &now, 3*time.Minute, func() bool { return l.State == StateHeld }) {
		t.Fatalf("state %s (%s), want Held", l.State, l.Message)
	}
	if strings.Contains(l.Message, "no running feedback") {
		t.Errorf("hold message %q, want the drive fault named", l.Message)
	}
	if c := l.Cause(); c == nil || c.Unit != "shredder" || !c.Active {
		t.Fatalf("cause %+v, want the shredder, active", c)
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if res[0].OK || !strings.Contains(res[0].Error, "shredder") || strings.Contains(res[0].Error, "refused") {
		t.Fatalf("unhold with the drive faulted: %+v, want refused naming the shredder, once", res[0])
	}
}

// The operator's hold, stop and abort are kept as the cause (never
// active); Next says what to do in each state.
func TestOperatorCauseAndNextAction(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	if n := next(l); n.Command != api.CommandStart || n.Text != "ready — start a batch" {
		t.Errorf("Idle: next %+v", n)
	}
	if l.Cause() != nil {
		t.Errorf("Idle: cause %+v, want none", l.Cause())
	}
	run(l, p, &now, 2*time.Minute, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if l.State != StateExecute || l.Next() != nil || l.Cause() != nil {
		t.Fatalf("running: %s next %+v cause %+v, want Execute with neither", l.State, l.Next(), l.Cause())
	}
	run(l, p, &now, time.Second, api.Command{Command: api.CommandHold, User: "anna"})
	c := l.Cause()
	if l.State != StateHeld || c == nil || c.Kind != CauseOperator || c.User != "anna" || c.Active || c.Text != "held by anna" || !c.Since.Before(now) {
		t.Fatalf("held: %s cause %+v, want anna's hold", l.State, c)
	}
	phase := l.batch.phase
	if n := next(l); n.Command != api.CommandUnhold || n.Text != "cause cleared — unhold to restart "+phase {
		t.Errorf("held: next %+v", n)
	}
	if l.Message != "held by anna" {
		t.Errorf("message %q: an operator's hold is never marked cleared", l.Message)
	}
	run(l, p, &now, time.Second, api.Command{Command: api.CommandStop, User: "ben"})
	if c := l.Cause(); c == nil || c.User != "anna" {
		t.Errorf("after a stop in Held: cause %+v, want the first-out (anna's hold) kept", c)
	}
	stepUntil(l, p, &now, 10*time.Minute, func() bool { return l.State == StateStopped })
	if n := next(l); l.State != StateStopped || n.Command != api.CommandReset {
		t.Errorf("%s: next %+v, want reset", l.State, n)
	}
	run(l, p, &now, time.Second, api.Command{Command: api.CommandReset, User: "op"})
	if l.State != StateIdle || l.Cause() != nil {
		t.Errorf("after reset: %s cause %+v, want Idle without a cause", l.State, l.Cause())
	}
	run(l, p, &now, time.Second, api.Command{Command: api.CommandAbort, User: "op"})
	if n := next(l); l.State != StateAborted || n.Command != api.CommandClear {
		t.Errorf("%s: next %+v, want clear", l.State, n)
	}
	if c := l.Cause(); c == nil || c.Kind != CauseOperator || c.Source != api.CommandAbort {
		t.Errorf("aborted: cause %+v", c)
	}
}

// A phase that waits for the operator says so in Next.
func TestNextAskForConfirmation(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	l.recipes["full"] = testRecipe(t, fullProcedure)
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "full", User: "op"})
	if !stepUntil(l, p, &now, time.Hour, func() bool { return l.batch != nil && l.batch.phase == "discharge" }) {
		t.Fatal("did not reach discharge")
	}
	run(l, p, &now, time.Second)
	if n := next(l); n.Command != api.CommandConfirm || n.Text != "waiting for confirmation: end of phase discharge" {
		t.Fatalf("discharge: next %+v, want confirm", n)
	}
	run(l, p, &now, time.Second, api.Command{Command: api.CommandConfirm, User: "op"})
	if n := l.Next(); n != nil {
		t.Errorf("after confirm: next %+v, want none", n)
	}
}

// A shredder tripped by its jam logic shows as a fault with the reason
// until it is reset, and is the cause of the hold.
func TestJamTripShowsAsFaultWithReason(t *testing.T) {
	l, p := newJamLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	jammed := false
	runJam(l, p, &now, 2*time.Minute, &jammed, func() bool { return false })
	jammed = true
	for i := 0; i < 3000 && l.State != StateHeld; i++ {
		runJam(l, p, &now, 100*time.Millisecond, &jammed, func() bool { return false })
	}
	if l.State != StateHeld {
		t.Fatalf("state %s (%s), want Held", l.State, l.Message)
	}
	state := ""
	l.UnitStates(func(name string, _ bool, s string) {
		if name == "shredder" {
			state = s
		}
	})
	if reason := l.UnitReason("shredder"); state != "fault" || reason != "jam: 3 reversals in 60 s" {
		t.Errorf("shredder %s (%q), want fault with the jam limit as reason", state, reason)
	}
	c := l.Cause()
	if c == nil || c.Kind != CauseUnitFault || c.Unit != "shredder" || !strings.Contains(c.Text, "jam: 3 reversals in 60 s") {
		t.Fatalf("cause %+v, want the shredder's jam", c)
	}
	if c.Active {
		t.Errorf("cause active: a jam latch is reset by the unhold, nothing else keeps it")
	}
	if n := next(l); n.Command != api.CommandUnhold {
		t.Errorf("next %+v, want unhold", n)
	}
	jammed = false
	run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	runJam(l, p, &now, time.Second, &jammed, func() bool { return true })
	l.UnitStates(func(name string, _ bool, s string) {
		if name == "shredder" && s == "fault" {
			t.Errorf("shredder still fault after unhold")
		}
	})
}

// A refusal's error is the reason once, without "<command> refused:".
func TestRefusalIsTheReasonOnce(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		c    api.Command
		want string
	}{
		{api.Command{Command: api.CommandStart, Recipe: "nope", User: "op"}, `recipe "nope" is not known`},
		{api.Command{Command: api.CommandHold, User: "op"}, "the line is Idle; "},
		{api.Command{Command: api.CommandConfirm, User: "op"}, "the line is Idle; confirm applies to a running phase"},
		{api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 10, User: "op"}, "the line is Idle; overrides apply to a running or held batch"},
	} {
		res := run(l, p, &now, 0, tc.c)
		if res[0].OK || !strings.HasPrefix(res[0].Error, tc.want) || strings.Contains(res[0].Error, "refused") {
			t.Errorf("%s: %q, want the reason alone starting %q", tc.c.Command, res[0].Error, tc.want)
		}
	}
}

// An interlock that holds the line is its cause while pressed, and the
// hold message is marked cleared once it is released.
func TestInterlockCause(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 3*time.Minute, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	p.V["line.estop_ok"] = 0
	run(l, p, &now, time.Second)
	c := l.Cause()
	if l.State != StateHeld || c == nil || c.Kind != CauseInterlock || c.Source != "estop" || c.Unit != "press" || !c.Active {
		t.Fatalf("%s: cause %+v, want the estop interlock, active", l.State, c)
	}
	held := l.Message
	if n := next(l); n.Command != "" || !strings.HasPrefix(n.Text, "wait: interlock estop") {
		t.Errorf("next %+v, want a wait for the estop", n)
	}
	p.V["line.estop_ok"] = 1
	run(l, p, &now, time.Second)
	if c := l.Cause(); c == nil || c.Active || c.Source != "estop" {
		t.Errorf("cause %+v after the release, want estop kept, not active", c)
	}
	if want := "held: " + held + " (cleared 08:03:01)"; l.Message != want {
		t.Errorf("message %q, want %q", l.Message, want)
	}
	p.V["line.estop_ok"] = 0 // pressed again: the message is current again
	run(l, p, &now, time.Second)
	if l.Message != held || !l.Cause().Active {
		t.Errorf("pressed again: message %q, cause %+v; want %q, active", l.Message, l.Cause(), held)
	}
}

// Held by the operator while an input goes bad: Next waits for it rather
// than offering an unhold that would be refused.
func TestNextWaitsForABadInputInAnOperatorHold(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 2*time.Minute, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, time.Second, api.Command{Command: api.CommandHold, User: "op"})
	p.Bad["hopper.weight"] = drivers.QualityBadCommFailure
	run(l, p, &now, time.Second)
	if n := next(l); n.Command != "" || n.Text != "wait: line_io not answering: input hopper.weight cannot be read" {
		t.Errorf("next %+v, want a wait for line_io", n)
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if res[0].OK || res[0].Error != "line_io not answering: input hopper.weight cannot be read" {
		t.Errorf("unhold: %+v", res[0])
	}
	delete(p.Bad, "hopper.weight")
	run(l, p, &now, time.Second)
	if n := next(l); n.Command != api.CommandUnhold {
		t.Errorf("next %+v once line_io is back, want unhold", n)
	}
}
