package line

import (
	"fmt"
	"github.com/pretreat/pretreat/controller/line/linetest"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/packml"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/recipes"
)

func newTestLine(t *testing.T) *Line {
	t.Helper()
	cfg, err := plant.Parse("sample.yaml", plant.Sample())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := recipes.Shipped(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLine(cfg, rs)
	if err != nil {
		t.Fatal(err)
	}
	if l.State != StateStopped {
		t.Fatalf("a new line is %s, want Stopped", l.State)
	}
	// Reset to Idle, as an operator does after power-up.
	res := make([]api.CommandResult, 1)
	l.Step(time.Date(2026, 11, 27, 7, 59, 0, 0, time.UTC), linetest.NewSamplePlant(), []Request{{Command: api.Command{Command: api.CommandReset, User: "op"}}}, res)
	l.Step(time.Date(2026, 11, 27, 7, 59, 1, 0, time.UTC), linetest.NewSamplePlant(), nil, nil)
	if !res[0].OK || l.State != StateIdle {
		t.Fatalf("reset: %+v, state %s", res[0], l.State)
	}
	return l
}

// process is a fake plant the line's tests step: it gives the scan its
// inputs and follows the line's outputs.
type process interface {
	Inputs
	Step(out map[string]float64, dt time.Duration)
}

// run steps the line against the fake plant with a fake clock.
func run(l *Line, p process, now *time.Time, d time.Duration, cmds ...api.Command) []api.CommandResult {
	return runEach(l, p, now, d, nil, cmds...)
}

// runEach is run calling each (when not nil) after every scan.
func runEach(l *Line, p process, now *time.Time, d time.Duration, each func(), cmds ...api.Command) []api.CommandResult {
	const dt = 100 * time.Millisecond
	res := make([]api.CommandResult, len(cmds))
	reqs := make([]Request, len(cmds))
	for i, c := range cmds {
		reqs[i] = Request{Command: c}
	}
	l.Step(*now, p, reqs, res)
	for t := time.Duration(0); t < d; t += dt {
		p.Step(l.Outputs(), dt)
		*now = now.Add(dt)
		l.Step(*now, p, nil, nil)
		if each != nil {
			each()
		}
	}
	return res
}

func TestBatchRunsToComplete(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	res := run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !res[0].OK {
		t.Fatalf("start refused: %s", res[0].Error)
	}
	var order []string
	seen := map[string]bool{}
	for i := 0; i < 20*60*10 && (l.State == StateExecute || l.State == StateCompleting); i++ {
		run(l, p, &now, 100*time.Millisecond)
		for _, m := range linetest.Motors {
			if l.Outputs()[m[0]] == 1 && !seen[m[0]] {
				seen[m[0]] = true
				order = append(order, m[0])
			}
		}
	}
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete", l.State, l.Message)
	}
	want := []string{"press.run_cmd", "pulper.mixer_cmd", "shredder.run_cmd", "feeder.run_cmd"}
	if len(order) != len(want) {
		t.Fatalf("start order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("start order %v, want %v (downstream first)", order, want)
		}
	}
	b := l.LastBatch()
	if b == nil || b.State != "complete" {
		t.Fatalf("last batch %+v", b)
	}
	if b.KgReceived < 400 || b.KgReceived > 402 {
		t.Errorf("kg received %.1f, want 400..402", b.KgReceived)
	}
	// 28 % -> 10 % DS needs 1.8 kg of water per kg of waste; the
	// analyser's trim, now that the pulper holds slurry, moves it a little.
	if math.Abs(b.KgWater-1.8*b.KgReceived) > 0.03*b.KgReceived {
		t.Errorf("water %.1f kg for %.1f kg waste, want 1.8 t/t", b.KgWater, b.KgReceived)
	}
	if len(b.Phases) != 3 || b.Phases[2].End.IsZero() {
		t.Errorf("phases %+v", b.Phases)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s still commanded after Complete", m[0])
		}
	}
}

func TestStopIsUpstreamFirst(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute) // received, shredding
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("feeder not running after 3 min: state %s step %s", l.State, l.batch.step)
	}
	run(l, p, &now, 0, api.Command{Command: api.CommandStop, User: "op"})
	run(l, p, &now, time.Second)
	if l.Outputs()["feeder.run_cmd"] != 0 || l.Outputs()["shredder.run_cmd"] != 1 || l.Outputs()["press.run_cmd"] != 1 {
		t.Fatalf("after stop: feeder %v shredder %v press %v; want feeder off, others purging", l.Outputs()["feeder.run_cmd"], l.Outputs()["shredder.run_cmd"], l.Outputs()["press.run_cmd"])
	}
	run(l, p, &now, 61*time.Second)
	if l.Outputs()["shredder.run_cmd"] != 0 || l.Outputs()["press.run_cmd"] != 1 {
		t.Fatalf("after shredder purge: shredder %v press %v", l.Outputs()["shredder.run_cmd"], l.Outputs()["press.run_cmd"])
	}
	run(l, p, &now, 61*time.Second)
	if l.State != StateStopped || l.Outputs()["press.run_cmd"] != 0 {
		t.Fatalf("state %s press %v, want Stopped with press off", l.State, l.Outputs()["press.run_cmd"])
	}
}

func TestBadInputHoldsAndNeverRestartsByItself(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	p.Bad["shredder.running"] = drivers.QualityBadCommFailure
	run(l, p, &now, time.Second)
	if l.State != StateHeld {
		t.Fatalf("state %s, want Held", l.State)
	}
	delete(p.Bad, "shredder.running") // device back
	run(l, p, &now, time.Minute)
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Fatalf("%s commanded on after reconnection without an operator", m[0])
		}
	}
	if l.Batch() == nil {
		t.Fatal("batch context lost on hold")
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandResume, User: "op"})
	if !res[0].OK {
		t.Fatalf("resume refused: %s", res[0].Error)
	}
	run(l, p, &now, 10*time.Second)
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("feeder not restarted after resume (step %s)", l.batch.step)
	}
}

func TestFailedToStartHolds(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	p.NoStart["shredder.run_cmd"] = true
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	// Receiving takes 80 s, the shredder fails 10 s after its start, then
	// the pulper and the press run empty for 60 s each.
	run(l, p, &now, 5*time.Minute)
	if l.State != StateHeld || l.Outputs()["feeder.run_cmd"] != 0 || !strings.Contains(l.Message, "failed to start") {
		t.Fatalf("state %s (%s), feeder %v; want Held with feeder never started", l.State, l.Message, l.Outputs()["feeder.run_cmd"])
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s on in Held", m[0])
		}
	}
}

// A start while an input the logic needs is bad is refused with the input
// named; once it is good the start is accepted.
func TestStartRefusedWithABadInput(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	p.Bad["pulper.level"] = drivers.QualityBadCommFailure
	res := run(l, p, &now, time.Second, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if res[0].OK || !strings.Contains(res[0].Error, "analyser not answering: input pulper.level cannot be read") || l.State != StateIdle {
		t.Fatalf("start with the level bad: %+v, state %s; want refused naming the input, Idle", res[0], l.State)
	}
	delete(p.Bad, "pulper.level")
	res = run(l, p, &now, time.Second, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !res[0].OK || l.State != StateExecute {
		t.Fatalf("start with every input good: %+v, state %s", res[0], l.State)
	}
}

func TestCommandsRefusedWithReason(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, c := range []api.Command{{Command: api.CommandClear}, {Command: api.CommandResume}, {Command: api.CommandConfirm}, {Command: api.CommandOverride, Parameter: "press_speed", Value: 10}, {Command: api.CommandStart, Recipe: "nope"}, {Command: "dance"}} {
		res := run(l, p, &now, 0, c)
		if res[0].OK || res[0].Error == "" {
			t.Errorf("%+v: got %+v, want a refusal with a reason", c, res[0])
		}
	}
}

// testRecipe builds a recipe from YAML for logic tests.
func testRecipe(t *testing.T, src string) *recipes.Recipe {
	t.Helper()
	r, err := recipes.Parse("test.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const fullProcedure = `recipe: full
waste_class: catering
parameters:
  ds_in: {value: 28, unit: "%"}
  slurry_ds_target: {value: 10, unit: "%"}
  press_speed: {value: 15, unit: rpm}
  press_back_pressure: {value: 3, unit: bar}
  purge_time: {value: 30, unit: s}
procedure:
  - phase: receive
    end: {mass_received: {value: 100, unit: kg}}
  - phase: shred
    setpoints: {shredder_speed: {value: 25, unit: rpm}, feeder_speed: {value: 60, unit: "%"}}
    end: {hopper_below: {value: 2, unit: kg}}
  - phase: pulp
    end: {time_elapsed: {value: 120, unit: s}}
  - phase: dewater
    end: {level_below: {value: 2, unit: "%"}}
  - phase: discharge
    end: {operator_confirm: true}
  - phase: wash
    setpoints: {wash_water_flow: {value: 4, unit: kg/s}}
    end: {time_elapsed: {value: 60, unit: s}}
`

func TestEveryPhaseKindRunsAndWaitsForConfirmation(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	l.recipes["full"] = testRecipe(t, fullProcedure)
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "full", User: "op"})
	sawShredSP := false
	for i := 0; i < 60*60*10 && l.batch != nil && l.batch.phase != "discharge"; i++ {
		run(l, p, &now, 100*time.Millisecond)
		if l.batch != nil && l.batch.phase == "shred" && l.Outputs()["shredder.speed_sp"] == 25 && l.Outputs()["feeder.speed_sp"] == 60 {
			sawShredSP = true
		}
		if l.State != StateExecute {
			t.Fatalf("state %s (%s) in phase %s", l.State, l.Message, l.batch.phase)
		}
	}
	if !sawShredSP {
		t.Error("shred phase setpoints never written")
	}
	if l.batch == nil || l.batch.phase != "discharge" {
		t.Fatalf("did not reach discharge")
	}
	run(l, p, &now, 10*time.Minute)
	if l.batch.phase != "discharge" {
		t.Fatalf("discharge ended without the operator's confirmation (phase %s)", l.batch.phase)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s runs during discharge", m[0])
		}
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandConfirm, User: "op"})
	if !res[0].OK {
		t.Fatalf("confirm refused: %s", res[0].Error)
	}
	run(l, p, &now, 20*time.Second)
	if l.batch.phase != "wash" || l.Outputs()["pulper.water_flow_sp"] != 4 {
		t.Fatalf("phase %s, water sp %v; want wash at 4 kg/s", l.batch.phase, l.Outputs()["pulper.water_flow_sp"])
	}
	run(l, p, &now, 3*time.Minute)
	if l.State != StateComplete {
		t.Fatalf("state %s after wash, want Complete", l.State)
	}
	b := l.LastBatch()
	var names []string
	for _, ph := range b.Phases {
		names = append(names, ph.Name)
	}
	if got := fmt.Sprint(names); got != "[receive shred pulp dewater discharge wash]" {
		t.Errorf("phases recorded %s", got)
	}
	if pulp := b.Phases[2]; pulp.End.Sub(pulp.Start) < 120*time.Second {
		t.Errorf("pulp lasted %s, want at least its 120 s", pulp.End.Sub(pulp.Start))
	}
}

func TestPhaseTimeoutHolds(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	l.recipes["slow"] = testRecipe(t, strings.Replace(fullProcedure, "end: {mass_received: {value: 100, unit: kg}}", "end: {mass_received: {value: 100, unit: kg}}\n    timeout: {value: 10, unit: s}", 1))
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "slow", User: "op"})
	run(l, p, &now, 15*time.Second) // 5 kg/s: only 75 kg in 15 s
	if l.State != StateHeld || !strings.Contains(l.Message, "timeout") || l.Outputs()["reception.door_cmd"] != 0 {
		t.Fatalf("state %s (%s), door %v; want Held on timeout with the door shut", l.State, l.Message, l.Outputs()["reception.door_cmd"])
	}
}

func TestOverrideIsBoundedAndRecorded(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 2*time.Minute)
	cases := []struct {
		c  api.Command
		ok bool
		in string
	}{
		{api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 12, User: "sam"}, true, ""},
		{api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 45, User: "sam"}, false, "outside the plant's limit screw_press.speed_sp; allowed: 5 to 40 rpm"},
		{api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 60, User: "sam"}, false, "out of range; allowed: 5 to 50 rpm"},
		{api.Command{Command: api.CommandOverride, Parameter: "ds_in", Value: 30, User: "sam"}, false, `"ds_in" cannot be overridden`},
	}
	for _, c := range cases {
		res := run(l, p, &now, 0, c.c)
		if res[0].OK != c.ok || !strings.Contains(res[0].Error, c.in) {
			t.Errorf("%+v: got %+v, want ok=%v containing %q", c.c, res[0], c.ok, c.in)
		}
	}
	run(l, p, &now, time.Second)
	if l.Outputs()["press.speed_sp"] != 12 {
		t.Errorf("press speed sp %v after override, want 12", l.Outputs()["press.speed_sp"])
	}
	ov := l.Batch().Overrides
	if len(ov) != 1 || ov[0].User != "sam" || ov[0].Old != 15 || ov[0].New != 12 || ov[0].Parameter != "press_speed" {
		t.Fatalf("overrides recorded %+v, want one by sam 15 -> 12", ov)
	}
}

func TestEstopInterlockHoldsAndWaitsForOperator(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("not feeding before the e-stop: %s %s", l.State, l.Message)
	}
	p.V["line.estop_ok"] = 0
	run(l, p, &now, time.Second)
	if l.State != StateHeld || !strings.Contains(l.Message, "interlock estop") {
		t.Fatalf("state %s (%s), want Held by interlock estop", l.State, l.Message)
	}
	if l.il.firstOut != "estop" {
		t.Errorf("first-out %q, want estop", l.il.firstOut)
	}
	if res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"}); res[0].OK || !strings.Contains(res[0].Error, "interlock estop") {
		t.Fatalf("unhold while the e-stop is pressed: %+v, want refused naming the interlock", res[0])
	}
	p.V["line.estop_ok"] = 1 // released
	run(l, p, &now, time.Minute)
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Fatalf("%s on after the e-stop was released, without an operator", m[0])
		}
	}
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if !res[0].OK {
		t.Fatalf("unhold: %s", res[0].Error)
	}
	run(l, p, &now, 10*time.Second)
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("feeder not running after unhold (%s, step %s)", l.State, l.batch.step)
	}
}

func TestHHLevelStopsFeedOnly(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	p.Bad["pulper.level"] = drivers.QualityGood // keep quality good while forcing a value
	p.V["pulper.level"] = 95
	res := make([]api.CommandResult, 0)
	l.Step(now, p, nil, res)
	if l.Outputs()["feeder.run_cmd"] != 0 || l.Outputs()["reception.door_cmd"] != 0 {
		t.Fatalf("feeder %v door %v at HH, want both off", l.Outputs()["feeder.run_cmd"], l.Outputs()["reception.door_cmd"])
	}
	if l.Outputs()["shredder.run_cmd"] != 1 || l.Outputs()["press.run_cmd"] != 1 || l.State != StateExecute {
		t.Fatalf("shredder %v press %v state %s: downstream must keep running, the batch go on", l.Outputs()["shredder.run_cmd"], l.Outputs()["press.run_cmd"], l.State)
	}
	why := l.Why("feeder")
	if len(why) != 1 || !strings.Contains(why[0], "interlock pulper_level_hh") {
		t.Fatalf("why feeder: %q", why)
	}
	p.V["pulper.level"] = 40
	l.Step(now.Add(100*time.Millisecond), p, nil, res)
	if l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatal("feed did not resume after the level fell (within the running batch)")
	}
}

// newJamLine is the sample line, whose shredder's reverse command is bound:
// jam handling is on.
func newJamLine(t *testing.T) *Line {
	t.Helper()
	cfg, err := plant.Parse("sample.yaml", plant.Sample()) // binds the shredder's reverse signal
	if err != nil {
		t.Fatal(err)
	}
	rs, err := recipes.Shipped(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLine(cfg, rs)
	if err != nil {
		t.Fatal(err)
	}
	if l.unit("shredder").ctl == nil {
		t.Fatal("jam handling not active with the reverse signal bound")
	}
	res := make([]api.CommandResult, 1)
	l.Step(time.Date(2026, 11, 27, 7, 59, 0, 0, time.UTC), linetest.NewSamplePlant(), []Request{{Command: api.Command{Command: api.CommandReset, User: "op"}}}, res)
	l.Step(time.Date(2026, 11, 27, 7, 59, 1, 0, time.UTC), linetest.NewSamplePlant(), nil, nil)
	return l
}

// runJam steps the line against the fake plant with a shredder that jams:
// while jammed and running forward it draws 60 A (146 % FLA); each reverse
// run clears the jam when clears says so.
func runJam(l *Line, p *linetest.SamplePlant, now *time.Time, d time.Duration, jammed *bool, clears func() bool) (maxReversals int) {
	const dt = 100 * time.Millisecond
	reversing := false
	for t := time.Duration(0); t < d; t += dt {
		out := l.Outputs()
		p.Step(out, dt)
		rev := out["shredder.reverse_cmd"] == 1 && p.V["shredder.running"] == 1
		if rev && !reversing && *jammed && clears() {
			*jammed = false
		}
		reversing = rev
		switch {
		case p.V["shredder.running"] != 1:
			p.V["shredder.current"] = 0
		case *jammed && !rev:
			p.V["shredder.current"] = 60
		default:
			p.V["shredder.current"] = 28
		}
		*now = now.Add(dt)
		l.Step(*now, p, nil, nil)
		if c := l.unit("shredder").ctl; c != nil {
			maxReversals = max(maxReversals, c.mod.(interface{ JamReversals() int }).JamReversals())
		}
	}
	return maxReversals
}

func TestSingleJamClearedByReversal(t *testing.T) {
	l, p := newJamLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	jammed := false
	runJam(l, p, &now, 2*time.Minute, &jammed, func() bool { return true })
	if l.batch == nil || l.batch.step != "feeding" {
		t.Fatalf("not feeding: %s %s", l.State, l.Message)
	}
	jammed = true
	revs := runJam(l, p, &now, 20*time.Second, &jammed, func() bool { return true })
	if jammed || revs != 1 {
		t.Fatalf("jam cleared %v after %d reversals, want cleared by 1", !jammed, revs)
	}
	runJam(l, p, &now, 5*time.Second, &jammed, func() bool { return true })
	if l.State != StateExecute || l.Outputs()["shredder.run_cmd"] != 1 || l.Outputs()["shredder.reverse_cmd"] != 0 || l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("after the jam: state %s shredder %v reverse %v feeder %v; want feeding forward again",
			l.State, l.Outputs()["shredder.run_cmd"], l.Outputs()["shredder.reverse_cmd"], l.Outputs()["feeder.run_cmd"])
	}
}

func TestJamStormFaultsAndHolds(t *testing.T) {
	l, p := newJamLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	jammed := false
	runJam(l, p, &now, 2*time.Minute, &jammed, func() bool { return false })
	jammed = true
	var faultAt time.Time
	for i := 0; i < 600 && faultAt.IsZero(); i++ {
		runJam(l, p, &now, 100*time.Millisecond, &jammed, func() bool { return false })
		if l.State == StateHolding {
			faultAt = now
		}
	}
	if faultAt.IsZero() || !strings.Contains(l.Message, "shredder faulted: jam") {
		t.Fatalf("state %s (%s), want Holding by a shredder jam fault", l.State, l.Message)
	}
	// The shredder and the feeder upstream of it stop at once; the pulper
	// and the press downstream run empty, one purge time (60 s) each,
	// upstream first.
	out := l.Outputs()
	if out["shredder.run_cmd"] != 0 || out["feeder.run_cmd"] != 0 || out["shredder.reverse_cmd"] != 0 || out["pulper.water_cmd"] != 0 {
		t.Fatalf("after the fault: shredder %v feeder %v reverse %v water %v; want all off", out["shredder.run_cmd"], out["feeder.run_cmd"], out["shredder.reverse_cmd"], out["pulper.water_cmd"])
	}
	if out["press.run_cmd"] != 1 || out["pulper.mixer_cmd"] != 1 {
		t.Fatalf("after the fault: press %v mixer %v; want both running empty", out["press.run_cmd"], out["pulper.mixer_cmd"])
	}
	runJam(l, p, &now, 59*time.Second, &jammed, func() bool { return false })
	if l.State != StateHolding || l.Outputs()["pulper.mixer_cmd"] != 1 {
		t.Fatalf("59 s after the fault: %s, mixer %v; want Holding with the mixer purging", l.State, l.Outputs()["pulper.mixer_cmd"])
	}
	runJam(l, p, &now, 2*time.Second, &jammed, func() bool { return false })
	if l.Outputs()["pulper.mixer_cmd"] != 0 || l.Outputs()["press.run_cmd"] != 1 {
		t.Fatalf("61 s after the fault: mixer %v press %v; want the mixer stopped, the press purging", l.Outputs()["pulper.mixer_cmd"], l.Outputs()["press.run_cmd"])
	}
	runJam(l, p, &now, 60*time.Second, &jammed, func() bool { return false })
	if l.State != StateHeld {
		t.Fatalf("121 s after the fault: %s (%s), want Held", l.State, l.Message)
	}
	for _, m := range linetest.Motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s on in Held after the jam fault", m[0])
		}
	}
	// The operator clears the shredder and unholds: the fault is reset.
	jammed = false
	res := run(l, p, &now, 0, api.Command{Command: api.CommandUnhold, User: "op"})
	if !res[0].OK {
		t.Fatalf("unhold: %s", res[0].Error)
	}
	runJam(l, p, &now, 15*time.Second, &jammed, func() bool { return true })
	if l.State != StateExecute || l.Outputs()["feeder.run_cmd"] != 1 {
		t.Fatalf("after unhold: %s (%s), feeder %v", l.State, l.Message, l.Outputs()["feeder.run_cmd"])
	}
}

// TestRandomCommandsAcrossAllStates sends 120,000 random commands to the
// line while the fake plant runs and its inputs randomly go bad, the e-stop
// is pressed and released: every state transition must be one of the
// model's, and every refused command must say why.
func TestRandomCommandsAcrossAllStates(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	seen := map[LineState]bool{}
	illegal := 0
	l.trace = func(from, to LineState) {
		if !packml.Legal(from, to) {
			illegal++
			t.Errorf("illegal transition %s -> %s", from, to)
		}
		seen[to] = true
	}
	rng := rand.New(rand.NewPCG(7, 11))
	kinds := []string{api.CommandStart, api.CommandHold, api.CommandUnhold, api.CommandStop, api.CommandAbort,
		api.CommandReset, api.CommandClear, api.CommandConfirm, api.CommandOverride, "bogus"}
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	refused, accepted := 0, 0
	for i := 0; i < 120000; i++ {
		c := api.Command{Command: kinds[rng.IntN(len(kinds))], Recipe: "catering", User: "op", Parameter: "press_speed", Value: float64(rng.IntN(60))}
		switch rng.IntN(50) {
		case 0:
			p.Bad["hopper.weight"] = drivers.QualityBadCommFailure
		case 1:
			delete(p.Bad, "hopper.weight")
		case 2:
			p.V["line.estop_ok"] = 0
		case 3, 4:
			p.V["line.estop_ok"] = 1
		}
		res := make([]api.CommandResult, 1)
		l.Step(now, p, []Request{{Command: c}}, res)
		if res[0].OK {
			accepted++
		} else {
			refused++
			if res[0].Error == "" {
				t.Fatalf("command %s refused in %s without a reason", c.Command, l.State)
			}
		}
		quiet := rng.IntN(20)
		if rng.IntN(400) == 0 {
			quiet = 2400 // now and then 20 minutes undisturbed: batches complete
		}
		for j := 0; j < quiet; j++ { // let the plant and the line move on
			p.Step(l.Outputs(), 500*time.Millisecond)
			now = now.Add(500 * time.Millisecond)
			l.Step(now, p, nil, nil)
		}
	}
	if illegal > 0 {
		t.Fatalf("%d illegal transitions", illegal)
	}
	for _, s := range packml.States() {
		if !seen[s] {
			t.Errorf("state %s never reached", s)
		}
	}
	t.Logf("120000 commands: %d accepted, %d refused with reasons; %d states reached", accepted, refused, len(seen))
}

// A jam fault whose batch is aborted is reset with the line (clear, reset):
// the next batch starts the shredder without an unhold.
func TestResetClearsALatchedFault(t *testing.T) {
	l, p := newJamLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	jammed := false
	runJam(l, p, &now, 2*time.Minute, &jammed, func() bool { return false })
	jammed = true
	runJam(l, p, &now, 3*time.Minute, &jammed, func() bool { return false })
	if l.State != StateHeld || !strings.Contains(l.Message, "jam") {
		t.Fatalf("state %s (%s), want Held by the jam limit", l.State, l.Message)
	}
	jammed = false
	for _, c := range []string{api.CommandAbort, api.CommandClear, api.CommandReset} {
		res := run(l, p, &now, 2*time.Second, api.Command{Command: c, User: "op"})
		if !res[0].OK {
			t.Fatalf("%s: %s", c, res[0].Error)
		}
	}
	if l.State != StateIdle {
		t.Fatalf("state %s after abort, clear, reset; want Idle", l.State)
	}
	p.V["hopper.weight"] = 0
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	runJam(l, p, &now, 3*time.Minute, &jammed, func() bool { return true })
	if l.State != StateExecute || l.Outputs()["feeder.run_cmd"] != 1 || l.Outputs()["shredder.run_cmd"] != 1 {
		t.Fatalf("next batch: %s (%s), shredder %v feeder %v; want feeding", l.State, l.Message, l.Outputs()["shredder.run_cmd"], l.Outputs()["feeder.run_cmd"])
	}
}

// A recipe that expects a depackager (packaged-bakery) on the sample line,
// which has none, runs, and its batch record says the packaging was not
// separated.
func TestRecipeExpectingADepackagerIsNoted(t *testing.T) {
	l, p := newTestLine(t), linetest.NewSamplePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	res := run(l, p, &now, time.Second, api.Command{Command: api.CommandStart, Recipe: "packaged-bakery", User: "op"})
	if !res[0].OK {
		t.Fatal(res[0].Error)
	}
	b := l.Batch()
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0].Text, "expects a depackager") {
		t.Fatalf("notes %+v, want the missing depackager noted", b.Notes)
	}
}
