package controller

import (
	"math"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/recipes"
)

// fakePlant is a crude process for logic tests: motors follow their run
// command after a delay, the door fills the hopper, the feeder empties it
// into the pulper, water adds to the pulper and the press drains it.
type fakePlant struct {
	v        map[string]float64
	bad      map[string]drivers.Quality
	runSince map[string]time.Duration
	noStart  map[string]bool
}

func newFakePlant() *fakePlant {
	return &fakePlant{v: map[string]float64{}, bad: map[string]drivers.Quality{}, runSince: map[string]time.Duration{}, noStart: map[string]bool{}}
}

func (p *fakePlant) Get(tag string) (float64, drivers.Quality) {
	if q, ok := p.bad[tag]; ok {
		return p.v[tag], q
	}
	return p.v[tag], drivers.QualityGood
}

var motors = [][2]string{{"press.run_cmd", "press.running"}, {"pulper.mixer_cmd", "pulper.mixer_running"}, {"shredder.run_cmd", "shredder.running"}, {"feeder.run_cmd", "feeder.running"}}

func (p *fakePlant) step(out map[string]float64, dt time.Duration) {
	for k, v := range out {
		p.v[k] = v
	}
	s := dt.Seconds()
	for _, m := range motors {
		if p.v[m[0]] >= 0.5 && !p.noStart[m[0]] {
			p.runSince[m[0]] += dt
			if p.runSince[m[0]] >= time.Second {
				p.v[m[1]] = 1
			}
		} else {
			p.runSince[m[0]], p.v[m[1]] = 0, 0
		}
	}
	if p.v["reception.door_cmd"] >= 0.5 {
		p.v["hopper.weight"] += 5 * s
	}
	pulperMass := p.v["pulper.level"] * 40
	if p.v["feeder.running"] >= 0.5 && p.v["shredder.running"] >= 0.5 {
		f := math.Min(p.v["hopper.weight"], 1.6*s)
		p.v["hopper.weight"] -= f
		pulperMass += f
	}
	if p.v["pulper.water_cmd"] >= 0.5 {
		w := p.v["pulper.water_flow_sp"] * s
		p.v["pulper.water_total"] += w
		pulperMass += w
	}
	if p.v["press.running"] >= 0.5 {
		d := math.Min(pulperMass, 4*s)
		pulperMass -= d
		p.v["cake_bin.weight"] += d * 0.3
		p.v["filtrate.total"] += d * 0.7
	}
	p.v["pulper.level"] = pulperMass / 40
}

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
	return l
}

// run steps the line against the fake plant with a fake clock.
func run(l *Line, p *fakePlant, now *time.Time, d time.Duration, cmds ...api.Command) []api.CommandResult {
	const dt = 100 * time.Millisecond
	res := make([]api.CommandResult, len(cmds))
	reqs := make([]Request, len(cmds))
	for i, c := range cmds {
		reqs[i] = Request{Command: c}
	}
	l.Step(*now, p, reqs, res)
	for t := time.Duration(0); t < d; t += dt {
		p.step(l.Outputs(), dt)
		*now = now.Add(dt)
		l.Step(*now, p, nil, nil)
	}
	return res
}

func TestBatchRunsToComplete(t *testing.T) {
	l, p := newTestLine(t), newFakePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	res := run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !res[0].OK {
		t.Fatalf("start refused: %s", res[0].Error)
	}
	var order []string
	seen := map[string]bool{}
	for i := 0; i < 20*60*10 && l.State == StateExecute; i++ {
		run(l, p, &now, 100*time.Millisecond)
		for _, m := range motors {
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
	// 28 % -> 10 % DS needs 1.8 kg of water per kg of waste.
	if math.Abs(b.KgWater-1.8*b.KgReceived) > 0.02*b.KgReceived {
		t.Errorf("water %.1f kg for %.1f kg waste, want 1.8 t/t", b.KgWater, b.KgReceived)
	}
	if len(b.Phases) != 3 || b.Phases[2].End.IsZero() {
		t.Errorf("phases %+v", b.Phases)
	}
	for _, m := range motors {
		if l.Outputs()[m[0]] != 0 {
			t.Errorf("%s still commanded after Complete", m[0])
		}
	}
}

func TestStopIsUpstreamFirst(t *testing.T) {
	l, p := newTestLine(t), newFakePlant()
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
	l, p := newTestLine(t), newFakePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	p.bad["shredder.running"] = drivers.QualityBadCommFailure
	run(l, p, &now, time.Second)
	if l.State != StateHeld {
		t.Fatalf("state %s, want Held", l.State)
	}
	delete(p.bad, "shredder.running") // device back
	run(l, p, &now, time.Minute)
	for _, m := range motors {
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
	l, p := newTestLine(t), newFakePlant()
	p.noStart["shredder.run_cmd"] = true
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(l, p, &now, 0, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	run(l, p, &now, 3*time.Minute)
	if l.State != StateHeld || l.Outputs()["feeder.run_cmd"] != 0 {
		t.Fatalf("state %s (%s), feeder %v; want Held with feeder never started", l.State, l.Message, l.Outputs()["feeder.run_cmd"])
	}
}

func TestCommandsRefusedWithReason(t *testing.T) {
	l, p := newTestLine(t), newFakePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, c := range []api.Command{{Command: api.CommandAbort}, {Command: api.CommandResume}, {Command: api.CommandStart, Recipe: "nope"}, {Command: "dance"}} {
		res := run(l, p, &now, 0, c)
		if res[0].OK || res[0].Error == "" {
			t.Errorf("%+v: got %+v, want a refusal with a reason", c, res[0])
		}
	}
}
