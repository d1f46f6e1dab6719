package scenario

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/internal/yamlsrc"
	"github.com/pretreat/pretreat/testrig/physics"
)

// stepKind describes a kind of step. The parser's checks (a step does
// exactly one thing; keys that go with another kind are refused), the
// runner, the names of steps in reports and the list in docs/testrig.md
// (TestDocsStepTable) all come from stepKinds. Adding a kind is adding an
// entry, with its field in Step.
type stepKind struct {
	name string
	// with lists the keys that go with this kind of step only.
	with []stepKey
	// doc says what the step does, for the docs.
	doc string
	// given says whether a step is of this kind.
	given func(s *Step) bool
	// check checks a step of this kind (ids: the faults injected by the
	// steps before it, which an inject step adds to).
	check func(doc *yamlsrc.Doc, path string, s *Step, ids map[string]bool)
	// run runs a step: ok and msg are its verdict; err means the scenario
	// cannot go on.
	run func(x *run, ctx context.Context, s *Step, deadline time.Time) (ok bool, msg string, err error)
	// describe makes up the step's name.
	describe func(s *Step) string
}

// stepKey is a key of a step that goes with one kind of step.
type stepKey struct {
	name  string
	given func(s *Step) bool
}

var stepKinds = []stepKind{
	{
		name: "command",
		with: []stepKey{
			{"recipe", func(s *Step) bool { return s.Recipe != "" }},
			{"version", func(s *Step) bool { return s.Version != 0 }},
			{"alarm", func(s *Step) bool { return s.Alarm != "" }},
			{"parameter", func(s *Step) bool { return s.Parameter != "" }},
			{"value", func(s *Step) bool { return s.Value != nil }},
			{"user", func(s *Step) bool { return s.User != "" }},
			{"refused", func(s *Step) bool { return s.Refused }},
		},
		doc:   "sends an operator command (start, hold, unhold, stop, abort, reset, ack_all, …) through the controller's API; it must be accepted, or with `refused: true` refused",
		given: func(s *Step) bool { return s.Command != "" },
		check: func(doc *yamlsrc.Doc, path string, s *Step, _ map[string]bool) {
			if s.Command == "start" && s.Recipe == "" {
				doc.Addf(path+".recipe", "start needs the recipe to run")
			}
		},
		run:      runCommand,
		describe: describeCommand,
	},
	{
		name:     "inject",
		with:     []stepKey{{"id", func(s *Step) bool { return s.ID != "" }}},
		doc:      "injects a fault into the rig (`{kind: …, target: …, parameters}`, as the rig control API takes it); `id` names it for `clear` (default: the kind)",
		given:    func(s *Step) bool { return s.Inject != nil },
		check:    checkInject,
		run:      runInject,
		describe: describeInject,
	},
	{
		name:  "clear",
		doc:   "clears the fault injected with that id, or every fault with `all`",
		given: func(s *Step) bool { return s.Clear != "" },
		check: func(doc *yamlsrc.Doc, path string, s *Step, ids map[string]bool) {
			if s.Clear != "all" && !ids[s.Clear] {
				doc.Addf(path+".clear", "no fault %q was injected before this step (give inject steps an id, or use the fault's kind; or clear: all)", s.Clear)
			}
		},
		run:      runClear,
		describe: func(s *Step) string { return "clear " + s.Clear },
	},
	{
		name:  "feed",
		doc:   "the trucks tip another waste class from now on (`{class: bakery, kg: 200}`: and 200 kg of it now)",
		given: func(s *Step) bool { return s.Feed != nil },
		check: func(doc *yamlsrc.Doc, path string, s *Step, _ map[string]bool) {
			if _, err := physics.ParseWasteClass(s.Feed.Class); err != nil {
				doc.Addf(path+".feed.class", "%v", err)
			}
			if s.Feed.Kg < 0 {
				doc.Addf(path+".feed.kg", "kg must be ≥ 0")
			}
		},
		run: func(x *run, ctx context.Context, s *Step, _ time.Time) (bool, string, error) {
			if err := x.r.o.Plant.SetClass(ctx, s.Feed.Class, s.Feed.Kg); err != nil {
				return false, "", fmt.Errorf("feed %s: %w", s.Feed.Class, err)
			}
			return true, "", nil
		},
		describe: func(s *Step) string { return "feed " + s.Feed.Class },
	},
	{
		name:  "wait",
		doc:   "lets that much plant time pass",
		given: func(s *Step) bool { return s.Wait != 0 },
		run: func(x *run, _ context.Context, s *Step, deadline time.Time) (bool, string, error) {
			return true, "", x.sleepUntil(x.now().Add(s.Wait), deadline.Add(time.Nanosecond))
		},
		describe: func(s *Step) string { return "wait " + s.Wait.String() },
	},
	{
		name:  "expect",
		doc:   "checks the line and the plant: the conditions below",
		given: func(s *Step) bool { return s.Expect != nil },
		check: func(doc *yamlsrc.Doc, path string, s *Step, _ map[string]bool) {
			checkExpect(doc, path+".expect", s.Expect)
		},
		run: func(x *run, _ context.Context, s *Step, deadline time.Time) (bool, string, error) {
			ok, msg := x.expect(s.Expect, deadline)
			return ok, msg, x.ctx.Err()
		},
		describe: describeExpect,
	},
}

// stepKindNames lists the kinds of step: "command, inject, …".
func stepKindNames() string {
	names := make([]string, len(stepKinds))
	for i, k := range stepKinds {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

// stepKindOf returns the kind of a checked step, or nil when it does
// nothing.
func stepKindOf(s *Step) *stepKind {
	for i := range stepKinds {
		if stepKinds[i].given(s) {
			return &stepKinds[i]
		}
	}
	return nil
}

func checkInject(doc *yamlsrc.Doc, path string, s *Step, ids map[string]bool) {
	if s.Inject.Kind == "" {
		doc.Addf(path+".inject.kind", "inject needs a fault kind")
	} else {
		for _, e := range s.Inject.Problems() {
			doc.Addf(path+".inject."+e.Key, "%v", e)
		}
	}
	id := s.ID
	if id == "" {
		id = string(s.Inject.Kind)
	}
	if id == "all" {
		doc.Addf(path+".id", `"all" is reserved for clear: all`)
	}
	ids[id] = true
}

func runCommand(x *run, ctx context.Context, s *Step, _ time.Time) (bool, string, error) {
	cmd := api.Command{Command: s.Command, Recipe: s.Recipe, Version: s.Version, Alarm: s.Alarm, Parameter: s.Parameter, User: s.User}
	if s.Value != nil {
		cmd.Value = *s.Value
	}
	if cmd.User == "" {
		cmd.User = "scenario"
	}
	res, err := x.r.o.Line.Send(ctx, cmd)
	if err != nil {
		return false, "", fmt.Errorf("command %s: %w", s.Command, err)
	}
	switch {
	case s.Refused && res.OK:
		return false, "accepted; want refused", nil
	case !s.Refused && !res.OK:
		return false, refusedText(cmd.Command, res.Error), nil
	case s.Refused:
		return true, refusedText(cmd.Command, res.Error), nil
	}
	return true, "", nil
}

func runInject(x *run, ctx context.Context, s *Step, _ time.Time) (bool, string, error) {
	f, err := x.r.o.Plant.Inject(ctx, *s.Inject)
	if err != nil {
		return false, "", fmt.Errorf("inject %s: %w", s.Inject.Kind, err)
	}
	id := s.ID
	if id == "" {
		id = string(s.Inject.Kind)
	}
	x.faults[id] = f.ID
	return true, f.Description, nil
}

func runClear(x *run, ctx context.Context, s *Step, _ time.Time) (bool, string, error) {
	if s.Clear == "all" {
		if _, err := x.r.o.Plant.ClearAll(ctx); err != nil {
			return false, "", fmt.Errorf("clear all: %w", err)
		}
		clear(x.faults)
		return true, "", nil
	}
	fid, ok := x.faults[s.Clear]
	if !ok {
		return false, fmt.Sprintf("no active fault %q to clear", s.Clear), nil
	}
	delete(x.faults, s.Clear)
	if _, err := x.r.o.Plant.Clear(ctx, fid); err != nil {
		return false, "", fmt.Errorf("clear %s: %w", s.Clear, err)
	}
	return true, "", nil
}

func describeCommand(s *Step) string {
	d := "command " + s.Command
	if s.Recipe != "" {
		d += " " + s.Recipe
	}
	if s.Alarm != "" {
		d += " " + s.Alarm
	}
	if s.Refused {
		d += " (refused)"
	}
	return d
}

func describeInject(s *Step) string {
	d := "inject " + string(s.Inject.Kind)
	if s.Inject.Target != "" {
		d += " on " + s.Inject.Target
	}
	return d
}

// refusedText words a refused command once: "hold refused: <reason>". The
// controller's scan gives the reason alone; a refusal of its API layer may
// already name the command.
func refusedText(command, reason string) string {
	if strings.HasPrefix(reason, command+" refused: ") {
		return reason
	}
	return command + " refused: " + reason
}
