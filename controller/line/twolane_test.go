package line

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/recipes"
)

// twoLanePlant is a crude process for the two-lane plant file: motors
// follow their run command after a second; each lane (feeder and shredder
// running, and the depackager) takes waste from the hopper; the depackager
// sends 10 % to its reject bin; each press feed pump with its press running
// draws the pulper into its press.
type twoLanePlant struct {
	v       map[string]float64
	fault   map[string]bool // drive fault bits forced on
	since   map[string]time.Duration
	pulper  float64
	laneKgS float64
	slip    float64 // fraction of its speed the conveyor's belt loses
	stuck   map[string]float64
}

func newTwoLanePlant() *twoLanePlant {
	return &twoLanePlant{v: map[string]float64{"line.estop_ok": 1, "pulper.ds": 10, "conveyor.pull_cord_ok": 1}, fault: map[string]bool{}, since: map[string]time.Duration{}, laneKgS: 0.8}
}

func (p *twoLanePlant) Get(tag string) (float64, drivers.Quality) {
	return p.v[tag], drivers.QualityGood
}

var twoLaneMotors = []string{"feeder_a", "feeder_b", "shredder_a", "shredder_b", "conveyor", "depackager", "press_feed_a", "press_feed_b", "press_a", "press_b"}

func (p *twoLanePlant) Step(out map[string]float64, dt time.Duration) {
	for k, v := range out {
		p.v[k] = v
	}
	s := dt.Seconds()
	motor := func(cmd, running string) {
		if p.v[cmd] >= 0.5 && !p.fault[running] {
			p.since[cmd] += dt
			if p.since[cmd] >= time.Second {
				p.v[running] = 1
			}
		} else {
			p.since[cmd], p.v[running] = 0, 0
		}
	}
	for _, m := range twoLaneMotors {
		motor(m+".run_cmd", m+".running")
		p.v[m+".fault"] = b2f(p.fault[m+".running"])
	}
	motor("pulper.mixer_cmd", "pulper.mixer_running")
	motor("filtrate.pump_cmd", "filtrate.pump_running")
	if p.v["reception.door_cmd"] >= 0.5 {
		p.v["hopper.weight"] += 5 * s
	}
	on := func(u string) bool { return p.v[u+".running"] >= 0.5 }
	for _, lane := range []string{"a", "b"} {
		if on("feeder_"+lane) && on("shredder_"+lane) && on("conveyor") && on("depackager") {
			f := math.Min(p.v["hopper.weight"], p.laneKgS*s)
			p.v["hopper.weight"] -= f
			p.v["depackager.rejects_weight"] += 0.1 * f
			p.pulper += 0.9 * f
		}
	}
	if p.v["pulper.water_cmd"] >= 0.5 {
		w := p.v["pulper.water_flow_sp"] * s
		p.v["pulper.water_total"] += w
		p.pulper += w
	}
	for _, press := range []string{"a", "b"} {
		if on("press_feed_"+press) && on("press_"+press) {
			d := math.Min(p.pulper, 4*p.v["press_feed_"+press+".speed_sp"]/100*s)
			p.pulper -= d
			p.v["press_"+press+".cake_weight"] += 0.3 * d
			p.v["press_"+press+".filtrate_total"] += 0.7 * d
		}
		p.v["press_"+press+".back_pressure"] = 0.075 * p.v["press_"+press+".cone_valve"] * 0.85
		p.v["press_"+press+".current"] = 20 * p.v["press_"+press+".running"]
	}
	p.v["pulper.level"] = p.pulper / 40
	p.v["conveyor.belt_speed"] = 100 * p.v["conveyor.running"] * (1 - p.slip)
	for tag, v := range p.stuck {
		p.v[tag] = v
	}
}

func newTwoLaneLine(t *testing.T) *Line {
	t.Helper()
	cfg, err := plant.Parse("two-lane.yaml", plant.Shipped()["two-lane"])
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
	res := make([]api.CommandResult, 1)
	p := newTwoLanePlant()
	l.Step(time.Date(2026, 11, 27, 7, 59, 0, 0, time.UTC), p, []Request{{Command: api.Command{Command: api.CommandReset, User: "op"}}}, res)
	l.Step(time.Date(2026, 11, 27, 7, 59, 1, 0, time.UTC), p, nil, nil)
	if !res[0].OK || l.State != StateIdle {
		t.Fatalf("reset: %+v, state %s", res[0], l.State)
	}
	return l
}

// startAndFeed starts a catering batch and runs it until the lanes have fed
// about 100 kg.
func startAndFeed(t *testing.T, l *Line, p *twoLanePlant, now *time.Time) {
	t.Helper()
	runEach(l, p, now, 0, nil, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	for i := 0; i < 60*60*10 && !(l.batch != nil && l.batch.step == "feeding" && p.v["hopper.weight"] < 300); i++ {
		runEach(l, p, now, 100*time.Millisecond, nil)
	}
	if l.batch == nil || l.batch.step != "feeding" {
		t.Fatalf("not feeding: %s %s", l.State, l.Message)
	}
}

// TestTwoLaneStartsDownstreamFirstAndCompletes: on the two-lane plant the
// sequence is derived from the graph: each unit starts only once every unit
// it feeds runs (both presses before the pulper, the pulper before the
// depackager, the depackager before either shredder, each shredder before
// its feeder), both lanes feed, and the batch completes.
func TestTwoLaneStartsDownstreamFirstAndCompletes(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	started := map[string]time.Time{}
	stopped := map[string]time.Time{}
	each := func() {
		for _, u := range l.order {
			if u.want && started[u.name].IsZero() {
				started[u.name] = now
			}
			if !u.want && !started[u.name].IsZero() && stopped[u.name].IsZero() {
				stopped[u.name] = now
			}
		}
	}
	res := runEach(l, p, &now, 0, nil, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	if !res[0].OK {
		t.Fatal(res[0].Error)
	}
	runEach(l, p, &now, 3*time.Hour, each)
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete", l.State, l.Message)
	}
	before := func(a, b string) {
		t.Helper()
		if started[a].IsZero() || started[b].IsZero() || !started[a].Before(started[b]) {
			t.Errorf("%s started %v, %s %v: want %s first", a, started[a], b, started[b], a)
		}
	}
	for _, pr := range []string{"press_a", "press_b"} {
		before(pr, "pulper")
	}
	before("pulper", "depackager")
	before("depackager", "conveyor")
	for _, lane := range []string{"a", "b"} {
		before("conveyor", "shredder_"+lane)
		before("shredder_"+lane, "feeder_"+lane)
	}
	// The feed stops upstream first: feeders at once, shredders one purge
	// (60 s) later, the conveyor one more, then the depackager.
	if d := stopped["shredder_a"].Sub(stopped["feeder_a"]); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("shredder_a stopped %s after feeder_a, want one purge time (60 s)", d)
	}
	if d := stopped["conveyor"].Sub(stopped["shredder_b"]); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("conveyor stopped %s after shredder_b, want one purge time (60 s)", d)
	}
	if d := stopped["depackager"].Sub(stopped["conveyor"]); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("depackager stopped %s after the conveyor, want one purge time (60 s)", d)
	}
	rec := l.LastBatch()
	if rec.KgRejects < 0.09*rec.KgReceived || rec.KgCake <= 0 {
		t.Errorf("batch record: %.1f kg in, %.1f cake, %.1f rejects", rec.KgReceived, rec.KgCake, rec.KgRejects)
	}
	t.Logf("two lanes: %.1f kg in, %.1f kg cake, %.1f kg filtrate, %.1f kg rejects, closure %.2f %%", rec.KgReceived, rec.KgCake, rec.KgFiltrate, rec.KgRejects, rec.ClosurePct)
}

// TestTwoLaneShredderFaultDropsItsLaneOnly: a drive fault on one shredder
// of two stops that shredder and its feeder at once; the other lane, the
// depackager, the pulper and both presses keep running, the line stays in
// Execute and the batch completes on one lane. An unhold-free batch ends
// Complete with the lane's fault still shown until a reset.
func TestTwoLaneShredderFaultDropsItsLaneOnly(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	startAndFeed(t, l, p, &now)
	p.fault["shredder_a.running"] = true
	runEach(l, p, &now, 200*time.Millisecond, nil)
	out := l.Outputs()
	if out["shredder_a.run_cmd"] != 0 || out["feeder_a.run_cmd"] != 0 {
		t.Fatalf("faulted lane still commanded: shredder_a %v feeder_a %v", out["shredder_a.run_cmd"], out["feeder_a.run_cmd"])
	}
	for _, u := range []string{"feeder_b", "shredder_b", "depackager", "pulper.mixer", "press_a", "press_b"} {
		tag := u + ".run_cmd"
		if u == "pulper.mixer" {
			tag = "pulper.mixer_cmd"
		}
		if out[tag] != 1 {
			t.Errorf("%s = %v after the other lane's fault, want 1", tag, out[tag])
		}
	}
	if l.State != StateExecute {
		t.Fatalf("state %s (%s), want Execute: one lane's fault must not hold the line", l.State, l.Message)
	}
	if !strings.Contains(l.Message, "shredder_a dropped") {
		t.Errorf("message %q, want it to name the dropped unit", l.Message)
	}
	states := map[string]string{}
	l.UnitStates(func(name string, _ bool, st string) { states[name] = st })
	if states["shredder_a"] != "fault" || states["shredder_b"] != "running" {
		t.Errorf("unit states %v", states)
	}
	if why := strings.Join(l.Why("feeder_a"), "; "); !strings.Contains(why, "shredder_a") {
		t.Errorf("why feeder_a: %q, want the shredder's fault", why)
	}
	runEach(l, p, &now, 3*time.Hour, nil)
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete on one lane", l.State, l.Message)
	}
	if out := l.Outputs(); out["shredder_a.run_cmd"] != 0 || out["feeder_a.run_cmd"] != 0 {
		t.Fatal("the dropped lane restarted by itself in a later phase")
	}
	rec := l.LastBatch()
	if rec.KgReceived < 390 || rec.KgCake <= 0 {
		t.Errorf("batch on one lane: %.1f kg in, %.1f kg cake", rec.KgReceived, rec.KgCake)
	}
	if len(rec.Notes) != 1 || rec.Notes[0].Unit != "shredder_a" || !strings.Contains(rec.Notes[0].Text, "dropped") {
		t.Errorf("batch notes %+v, want one saying shredder_a was dropped", rec.Notes)
	}
}

// TestTwoLaneDepackagerFaultHolds: the depackager is where both lanes
// meet: its fault stops both lanes (nothing they make could go anywhere)
// and holds the line, while the pulper and both presses run empty.
func TestTwoLaneDepackagerFaultHolds(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	startAndFeed(t, l, p, &now)
	p.fault["depackager.running"] = true
	runEach(l, p, &now, 200*time.Millisecond, nil)
	out := l.Outputs()
	for _, tag := range []string{"feeder_a.run_cmd", "feeder_b.run_cmd", "shredder_a.run_cmd", "shredder_b.run_cmd", "depackager.run_cmd"} {
		if out[tag] != 0 {
			t.Errorf("%s = %v after the depackager's fault, want 0", tag, out[tag])
		}
	}
	if l.State != StateHolding || out["pulper.mixer_cmd"] != 1 || out["press_a.run_cmd"] != 1 || out["press_b.run_cmd"] != 1 {
		t.Fatalf("state %s, mixer %v, presses %v %v: want Holding with pulper and presses running empty", l.State, out["pulper.mixer_cmd"], out["press_a.run_cmd"], out["press_b.run_cmd"])
	}
	runEach(l, p, &now, 3*time.Minute, nil)
	if l.State != StateHeld {
		t.Fatalf("state %s after the run-empty, want Held", l.State)
	}
	for tag, v := range l.Outputs() {
		if strings.HasSuffix(tag, ".run_cmd") && v != 0 {
			t.Errorf("%s = %v while Held", tag, v)
		}
	}
}

// TestTwoLanePressFaultKeepsTheOtherPress: a press of two trips; it and
// its feed pump stop, the pulper keeps feeding the other press, and the
// line goes on.
func TestTwoLanePressFaultKeepsTheOtherPress(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	startAndFeed(t, l, p, &now)
	p.fault["press_a.running"] = true
	runEach(l, p, &now, 200*time.Millisecond, nil)
	out := l.Outputs()
	if out["press_a.run_cmd"] != 0 || out["press_feed_a.run_cmd"] != 0 {
		t.Errorf("press_a %v, its feed pump %v: want both off", out["press_a.run_cmd"], out["press_feed_a.run_cmd"])
	}
	if l.State != StateExecute || out["press_b.run_cmd"] != 1 || out["pulper.mixer_cmd"] != 1 || out["shredder_a.run_cmd"] != 1 {
		t.Fatalf("state %s (%s): press_b %v, mixer %v, shredder_a %v; want the line going on", l.State, l.Message, out["press_b.run_cmd"], out["pulper.mixer_cmd"], out["shredder_a.run_cmd"])
	}
	runEach(l, p, &now, 3*time.Hour, nil)
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete on one press", l.State, l.Message)
	}
}

// TestTwoLaneBeltSlipHolds: the conveyor's belt slips (its speed falls to
// 40 %); after the 3 s confirm the conveyor faults, both lanes stop (all
// they make goes over it), the line holds and names the slip, and the
// depackager, pulper and presses run empty.
func TestTwoLaneBeltSlipHolds(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	startAndFeed(t, l, p, &now)
	p.slip = 0.6
	runEach(l, p, &now, 2500*time.Millisecond, nil)
	if l.State != StateExecute {
		t.Fatalf("held %s after 2.5 s of slip (%s), want the 3 s confirm", l.State, l.Message)
	}
	runEach(l, p, &now, time.Second, nil)
	out := l.Outputs()
	if l.State != StateHolding || !strings.Contains(l.Message, "belt slip") {
		t.Fatalf("state %s (%s), want Holding on the belt slip", l.State, l.Message)
	}
	for _, tag := range []string{"conveyor.run_cmd", "shredder_a.run_cmd", "shredder_b.run_cmd", "feeder_a.run_cmd", "feeder_b.run_cmd"} {
		if out[tag] != 0 {
			t.Errorf("%s = %v after the slip, want 0", tag, out[tag])
		}
	}
	if out["depackager.run_cmd"] != 1 || out["press_a.run_cmd"] != 1 {
		t.Errorf("depackager %v, press_a %v: want them running empty", out["depackager.run_cmd"], out["press_a.run_cmd"])
	}
	// Repaired: unhold resets the conveyor and the batch goes on.
	p.slip = 0
	runEach(l, p, &now, 5*time.Minute, nil)
	res := runEach(l, p, &now, 0, nil, api.Command{Command: api.CommandUnhold, User: "op"})
	if !res[0].OK {
		t.Fatalf("unhold: %s", res[0].Error)
	}
	runEach(l, p, &now, 3*time.Hour, nil)
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete after the repair", l.State, l.Message)
	}
}

// TestTwoLanePressOverPressureKeepsTheOtherPress: press_a's back-pressure
// reads 7.8 bar (a stuck transmitter): press_a trips and drops with its
// feed pump, the batch completes on press_b.
func TestTwoLanePressOverPressureKeepsTheOtherPress(t *testing.T) {
	l, p := newTwoLaneLine(t), newTwoLanePlant()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	startAndFeed(t, l, p, &now)
	p.stuck = map[string]float64{"press_a.back_pressure": 7.8}
	runEach(l, p, &now, 5*time.Second, nil)
	if out := l.Outputs(); out["press_a.run_cmd"] != 0 || out["press_b.run_cmd"] != 1 || l.State != StateExecute {
		t.Fatalf("state %s (%s), press_a %v press_b %v", l.State, l.Message, out["press_a.run_cmd"], out["press_b.run_cmd"])
	}
	p.stuck = nil
	var last string
	runEach(l, p, &now, 2*time.Hour, func() {
		if l.batch != nil {
			if s := l.batch.phase + "/" + l.batch.step; s != last {
				t.Logf("%s: %s (%s)", now.Format("15:04:05"), s, l.State)
				last = s
			}
		}
	})
	if l.State != StateComplete {
		t.Fatalf("state %s (%s), want Complete on one press", l.State, l.Message)
	}
}
