package scenario

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/internal/yamlsrc"
	"github.com/pretreat/pretreat/testrig"
)

func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) < 11 {
		t.Fatalf("shipped scenarios: %v, %v", files, err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings, each with its file:line:column
	}{
		{"unknown keys everywhere", `
scenario: x
rig: {class: catering, sed: 1}
steps:
  - expect: {state: Idle, withn: 5s}
  - comand: reset
`, []string{`x.yaml:3:24: $.rig.sed: unknown key "sed"`, `x.yaml:5:27: $.steps[0].expect.withn: unknown key "withn"`, `x.yaml:6:5: $.steps[1].comand: unknown key`}},
		{"two actions in a step", `
scenario: x
steps:
  - command: reset
    wait: 5s
`, []string{"$.steps[0]: a step does exactly one of command, inject, clear, feed, wait, expect; this one does 2 (command, wait)"}},
		{"bad values", `
scenario: x
rig: {class: garden, jams: sometimes}
speed: 0.5
steps:
  - expect: {state: Running}
  - expect: {batch: finished}
  - expect: {tag: pulper.level}
  - expect: {above: 3}
  - command: start
  - feed: {class: compost}
`, []string{`$.rig.class: waste class "garden" is not known`, `$.rig.jams: jam mode "sometimes"`, "$.speed: speed 0.5",
			`$.steps[0].expect.state: state "Running" is not a PackML state`, `$.steps[1].expect.batch: batch "finished"`,
			"$.steps[2].expect: say what pulper.level should be", "$.steps[3].expect: above, below", "$.steps[4].recipe: start needs the recipe",
			`$.steps[5].feed.class: waste class "compost"`}},
		{"a duration without a unit", `
scenario: x
steps:
  - wait: 5
`, []string{`x.yaml:4:11: $.steps[0].wait: "5" has no unit`}},
		{"clear before inject", `
scenario: x
steps:
  - clear: io
  - inject: {kind: stop_answering, target: line_io}
    id: io
  - clear: stop_answering
`, []string{`$.steps[0].clear: no fault "io" was injected before this step`, `$.steps[2].clear: no fault "stop_answering"`}},
		{"a fault checked against the rig's table of kinds", `
scenario: x
steps:
  - inject: {kind: jam, per_tonne: 30}
  - inject: {kind: earthquake}
    id: quake
  - inject: {kind: slow, target: line_io, delay: 1h}
  - inject: {kind: estop, target: press}
  - wait: 5s
    id: w
    recipe: r
`, []string{`x.yaml:4:36: $.steps[0].inject.per_tonne: fault jam: parameter "per_tonne" does not apply; allowed: reversals`,
			`x.yaml:5:20: $.steps[1].inject.kind: fault earthquake: kind "earthquake" is not known; allowed: stop_answering, disconnect,`,
			`$.steps[2].inject.delay: fault slow: delay 1h0m0s must be in (0, 10m]`,
			`$.steps[3].inject.target: fault estop: target "press": estop takes no target`,
			`$.steps[4].recipe: recipe goes with command, not with wait`, `$.steps[4].id: id goes with inject, not with wait`}},
		{"no name, no steps", `rig: {seed: 3}`, []string{"$.scenario: a scenario needs a name", "$.steps: a scenario needs at least one step"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.src))
			var es yamlsrc.Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v, want yamlsrc.Errors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors do not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// fakeClock is plant time moved by the fake line.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *fakeClock) Speed() float64 { return 1 }

// fakeLine is a controller whose status is a function of plant time and
// the commands it accepted; every Status call moves plant time on a second.
type fakeLine struct {
	clock  *fakeClock
	mu     sync.Mutex
	cmds   []string
	status func(now time.Time, cmds []string) *api.Status
	refuse map[string]string
}

func (f *fakeLine) Status(context.Context) (*api.Status, error) {
	f.clock.mu.Lock()
	f.clock.now = f.clock.now.Add(time.Second)
	now := f.clock.now
	f.clock.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status(now, f.cmds)
	st.Time = now
	return st, nil
}

func (f *fakeLine) Send(_ context.Context, c api.Command) (*api.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if why, ok := f.refuse[c.Command]; ok {
		return &api.CommandResult{Error: why}, nil
	}
	f.cmds = append(f.cmds, c.Command)
	return &api.CommandResult{OK: true}, nil
}

type fakePlant struct {
	mu      sync.Mutex
	values  map[string]float64
	faults  map[string]testrig.FaultSpec
	n       int
	classes []string
}

func (p *fakePlant) Inject(_ context.Context, s testrig.FaultSpec) (testrig.Fault, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	id := "f" + string(rune('0'+p.n))
	p.faults[id] = s
	return testrig.Fault{ID: id, Spec: s, Description: string(s.Kind)}, nil
}

func (p *fakePlant) Clear(_ context.Context, id string) (testrig.Fault, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.faults[id]; !ok {
		return testrig.Fault{}, testrig.ErrFaultNotFound
	}
	delete(p.faults, id)
	return testrig.Fault{ID: id}, nil
}

func (p *fakePlant) ClearAll(context.Context) ([]testrig.Fault, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.faults)
	return nil, nil
}

func (p *fakePlant) Values(_ context.Context, roles ...string) (map[string]float64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]float64{}
	for _, r := range roles {
		out[r] = p.values[r]
	}
	return out, nil
}

func (p *fakePlant) SetClass(_ context.Context, class string, _ float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.classes = append(p.classes, class)
	return nil
}

// fakeBatchLine is Idle after reset, runs a batch 60 s after start whose
// level tag rises, and then completes — or is held at 30 s when holdAt30.
func fakeBatchLine(holdAt30 bool) func(now time.Time, cmds []string) *api.Status {
	var started time.Time
	return func(now time.Time, cmds []string) *api.Status {
		st := &api.Status{State: "Stopped", Tags: []api.TagValue{{Tag: "pulper.level", Quality: drivers.QualityGood}}}
		for _, c := range cmds {
			switch c {
			case "reset":
				st.State = "Idle"
			case "start":
				if started.IsZero() {
					started = now
				}
				st.State = "Execute"
			}
		}
		if st.State == "Execute" {
			el := now.Sub(started)
			st.Tags[0].Value = el.Seconds()
			b := &api.BatchStatus{ID: "b1", Phase: "shred", Start: started}
			switch {
			case holdAt30 && el >= 30*time.Second:
				st.State, st.Message, st.Batch = "Held", "input x is bad", b
				st.Alarms = []api.AlarmStatus{{Name: "x_bad", Active: true, State: "unacknowledged"}}
			case el >= 60*time.Second:
				st.State = "Complete"
				st.LastBatch = &api.BatchStatus{ID: "b1", Phase: "complete", Start: started}
			default:
				st.Batch = b
			}
		}
		return st
	}
}

func runFake(t *testing.T, src string, line *fakeLine, plant *fakePlant) *Result {
	t.Helper()
	f, err := Parse("fake.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rn, err := NewRunner(Options{Line: line, Plant: plant, Clock: line.clock, Poll: time.Millisecond, Ready: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rn.Run(ctx, f)
}

func newFakes(holdAt30 bool) (*fakeLine, *fakePlant) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &fakeLine{clock: clock, status: fakeBatchLine(holdAt30), refuse: map[string]string{}},
		&fakePlant{values: map[string]float64{"waste_in.total": 400, "pulper.water_total": 100, "cake.total": 150, "filtrate.total": 340, "rejects.total": 9.9}, faults: map[string]testrig.FaultSpec{}}
}

func verdicts(r *Result) string {
	var b strings.Builder
	for _, s := range r.Steps {
		switch {
		case s.Skipped:
			b.WriteByte('s')
		case s.Passed:
			b.WriteByte('.')
		default:
			b.WriteByte('F')
		}
	}
	return b.String()
}

func TestRunnerVerdicts(t *testing.T) {
	const scen = `
scenario: fake
steps:
  - command: reset
  - expect: {state: Idle, within: 5s}
  - expect: {state: Execute, within: 5s}                # F: not started yet
  - command: start
    recipe: r
  - expect: {batch: running, phase: shred}
  - expect: {tag: pulper.level, above: 20, within: 40s}
  - expect: {tag: pulper.level, below: 1000, for: 5s}
  - expect: {state: Held, not: true, for: 5s}
  - inject: {kind: estop}
  - expect: {rig: cake.total, equals: 150}
  - expect: {rig: cake.total, above: 150}               # F
  - clear: estop
  - feed: {class: bakery}
  - wait: 10s
  - expect: {batch: completed, within: 1m}
  - expect: {balance: 0.5}                              # off by 0.1 kg of 500
  - expect: {alarm: x_bad}                              # F: never raised
  - command: hold                                       # refused
  - command: hold
    refused: true
`
	line, plant := newFakes(false)
	line.refuse["hold"] = "hold refused: the line is Complete"
	res := runFake(t, scen, line, plant)
	if got, want := verdicts(res), "..F.......F.....FF."; got != want {
		for _, s := range res.Steps {
			t.Logf("%d %s %v %s", s.Index, s.Name, s.Passed, s.Message)
		}
		t.Errorf("verdicts %s, want %s", got, want)
	}
	if len(plant.faults) != 0 || len(plant.classes) != 1 || plant.classes[0] != "bakery" {
		t.Errorf("plant after the run: faults %v, classes %v", plant.faults, plant.classes)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	var parsed junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &parsed); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, junit.String())
	}
	if s := parsed.Suites[0]; s.Failures != 4 || s.Errors != 0 || s.Tests != 15 {
		t.Errorf("JUnit suite: %d tests, %d failures, %d errors; want 15 (11 expectations, 4 commands), 4, 0\n%s", s.Tests, s.Failures, s.Errors, junit.String())
	}
	var text bytes.Buffer
	if err := WriteReport(&text, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "FAIL  03 within 5s: state Execute") || !strings.Contains(text.String(), "FAILED (4)") {
		t.Errorf("report:\n%s", text.String())
	}
}

func TestRunnerBatchFailsFastWhenHeld(t *testing.T) {
	const scen = `
scenario: held
steps:
  - command: reset
  - command: start
    recipe: r
  - expect: {batch: completed, within: 1h}
  - expect: {alarm: x_bad, active: true}
  - expect: {state: Held, message: bad, for: 10s}
`
	line, plant := newFakes(true)
	res := runFake(t, scen, line, plant)
	if got := verdicts(res); got != "..F.." {
		t.Errorf("verdicts %s, want ..F..", got)
	}
	if s := res.Steps[2]; s.At > 2*time.Minute || !strings.Contains(s.Message, "batch held (want completed)") || !strings.Contains(s.Message, `message "input x is bad"`) {
		t.Errorf("batch expectation failed after %v with %q; want at once, saying held and why", s.At, s.Message)
	}
}

func TestRunnerLimit(t *testing.T) {
	const scen = `
scenario: limit
limit: 30s
steps:
  - command: reset
  - wait: 1m
  - expect: {state: Idle}
`
	line, plant := newFakes(false)
	res := runFake(t, scen, line, plant)
	if got := verdicts(res); got != ".Fs" || res.Err == nil {
		t.Errorf("verdicts %s, err %v; want .Fs and the limit error", got, res.Err)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), "<skipped") || !strings.Contains(junit.String(), "<error") {
		t.Errorf("JUnit for a scenario cut short:\n%s", junit.String())
	}
}
