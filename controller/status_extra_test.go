package controller

import (
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
)

func ptr[T any](v T) *T { return &v }

// TestPointPrecisionAndBool checks the rule on the sample plant's kinds
// of point and on the corner cases.
func TestPointPrecisionAndBool(t *testing.T) {
	cases := []struct {
		name    string
		p       *drivers.PointConfig
		digital bool
		bool    bool
		prec    int
	}{
		{"current 0-400 A scale 0.1: 103.2 A", &drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.1, Unit: "A", Min: 0, Max: 400}, false, false, 1},
		{"DS 0-100 %: 18.4 %", &drivers.PointConfig{Type: drivers.TypeFloat64, Unit: "%", Min: 0, Max: 100}, false, false, 1},
		{"back-pressure scale 0.01 bar: 0.42 bar", &drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.01, Unit: "bar"}, false, false, 2},
		{"weight -50-20000 kg", &drivers.PointConfig{Type: drivers.TypeFloat32, Unit: "kg", Min: -50, Max: 20000}, false, false, 0},
		{"speed 0-70 rpm, scale 0.1 caps it at 1", &drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.1, Unit: "rpm", Min: 0, Max: 70}, false, false, 1},
		{"flow 0-20 kg/s scale 0.01", &drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.01, Unit: "kg/s", Min: 0, Max: 20}, false, false, 2},
		{"small span", &drivers.PointConfig{Type: drivers.TypeFloat32, Unit: "mm", Min: 0, Max: 0.5}, false, false, 3},
		{"float kWh, no range", &drivers.PointConfig{Type: drivers.TypeFloat32, Unit: "kWh"}, false, false, 0},
		{"float pH, no range", &drivers.PointConfig{Type: drivers.TypeFloat64, Unit: "pH"}, false, false, 2},
		{"explicit precision wins", &drivers.PointConfig{Type: drivers.TypeFloat64, Unit: "%", Min: 0, Max: 100, Precision: ptr(3)}, false, false, 3},
		{"coil", &drivers.PointConfig{Table: drivers.TableCoil, Type: drivers.TypeBool}, false, true, 0},
		{"discrete input", &drivers.PointConfig{Table: drivers.TableDiscrete}, false, true, 0},
		{"register bit", &drivers.PointConfig{Table: drivers.TableHolding, Type: drivers.TypeUint16, Bit: ptr(uint8(3))}, false, true, 0},
		{"OPC UA boolean", &drivers.PointConfig{Node: "ns=2;s=X", Type: drivers.TypeBool}, false, true, 0},
		{"unit on/off", &drivers.PointConfig{Type: drivers.TypeFloat64, Unit: "on/off"}, false, true, 0},
		{"uint16 range 0-1", &drivers.PointConfig{Type: drivers.TypeUint16, Min: 0, Max: 1}, false, true, 0},
		{"uint16 run command", &drivers.PointConfig{Type: drivers.TypeUint16}, true, true, 0},
		{"uint16 heartbeat", &drivers.PointConfig{Type: drivers.TypeUint16}, false, false, 0},
		{"scaled uint16 on a digital role is no bool", &drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.1, Unit: "s"}, true, false, 1},
		{"unknown tag", nil, false, false, 2},
	}
	for _, c := range cases {
		b := pointIsBool(c.p, c.digital)
		p := pointPrecision(c.p, b)
		if b != c.bool || p != c.prec {
			t.Errorf("%s: bool %v precision %d, want %v %d", c.name, b, p, c.bool, c.prec)
		}
	}
}

// TestTagsCarryPrecisionAndBool: the published tags, in the list and under
// their units, carry what indexTags worked out.
func TestTagsCarryPrecisionAndBool(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	r.e.publish()
	st := r.e.Status()
	want := map[string][2]int{ // precision, bool
		"shredder.current": {1, 0}, "pulper.ds": {1, 0}, "press.back_pressure": {2, 0}, "hopper.weight": {0, 0},
		"shredder.running": {0, 1}, "feeder.run_cmd": {0, 1}, "line.estop_ok": {0, 1}, "press.heartbeat": {0, 0},
	}
	seen := 0
	for _, tv := range st.Tags {
		if w, ok := want[tv.Tag]; ok {
			seen++
			if tv.Precision != w[0] || tv.Bool != (w[1] == 1) {
				t.Errorf("%s: precision %d bool %v, want %d %v", tv.Tag, tv.Precision, tv.Bool, w[0], w[1] == 1)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of %d tags found", seen, len(want))
	}
	for _, u := range st.Units {
		for _, tv := range u.Values {
			if tv.Tag == "shredder.current" && tv.Precision != 1 {
				t.Errorf("shredder.current under its unit: precision %d", tv.Precision)
			}
		}
	}
}

// TestSeqCountsPublishes: every publish numbers its status one on.
func TestSeqCountsPublishes(t *testing.T) {
	r := newEngineRig(t)
	r.e.publish()
	a := r.e.Status().Seq
	r.e.publish()
	r.e.publish()
	if b := r.e.Status().Seq; a == 0 || b != a+2 {
		t.Errorf("seq %d then %d after two more publishes", a, b)
	}
}

// TestFlowInFlowOrder: the sample line's flow is its chain from the
// reception; the two-lane line's edges all lead downstream of the ones
// before them, every feeder once.
func TestFlowInFlowOrder(t *testing.T) {
	r := newEngineRig(t)
	want := []api.FlowEdge{{From: "reception", To: "feeder"}, {From: "feeder", To: "shredder"}, {From: "shredder", To: "pulper"}, {From: "pulper", To: "press_feed"}, {From: "press_feed", To: "press"}, {From: "press", To: "filtrate_tank"}, {From: "filtrate_tank", To: "filtrate_pump"}}
	got := r.e.Status().Flow
	if len(got) != len(want) {
		t.Fatalf("flow %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("edge %d %v, want %v", i, got[i], want[i])
		}
	}

	cfg, err := plant.Parse("two-lane.yaml", plant.Shipped()["two-lane"])
	if err != nil {
		t.Fatal(err)
	}
	edges := flowEdges(cfg)
	pos := map[string]int{}
	for i, u := range cfg.FlowOrder() {
		pos[u.Name] = i
	}
	n := 0
	for _, u := range cfg.Units {
		n += len(cfg.Feeders(u.Name))
	}
	if len(edges) != n || n == 0 {
		t.Errorf("%d edges for %d feeders", len(edges), n)
	}
	if len(edges) > 0 && pos[edges[0].From] != 0 {
		t.Errorf("first edge %v does not start at the head of the flow", edges[0])
	}
	for i, e := range edges {
		if pos[e.From] >= pos[e.To] {
			t.Errorf("edge %v goes upstream", e)
		}
		if i > 0 && pos[edges[i-1].From] > pos[e.From] {
			t.Errorf("edge %v after %v: not in flow order", e, edges[i-1])
		}
	}
}

func unitIn(st *api.Status, name string) *api.UnitStatus {
	for i := range st.Units {
		if st.Units[i].Name == name {
			return &st.Units[i]
		}
	}
	return nil
}

// TestModulesAndSetpoints: with a batch running the shredder shows its jam
// logic, the press and the pulper their loops, and the units the recipe
// values in force with their limits; an override shows at once; with no
// batch there are no set-points.
func TestModulesAndSetpoints(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	r.e.publish()
	for _, u := range r.e.Status().Units {
		if len(u.Setpoints) != 0 {
			t.Errorf("%s has set-points with no batch: %+v", u.Name, u.Setpoints)
		}
	}
	r.feeding()
	r.run(10 * time.Second)
	if res := r.command(api.Command{Command: api.CommandOverride, Parameter: "press_back_pressure", Value: 2.5, User: "sup"}); !res.OK {
		t.Fatalf("override: %s", res.Error)
	}
	r.run(time.Second)
	r.e.publish()
	st := r.e.Status()

	sh := unitIn(st, "shredder")
	if m := sh.Module; m == nil || m.JamState != "normal" || m.MaxReversals != 3 || m.WindowS != 60 || m.PIDOutput != nil {
		t.Errorf("shredder module %+v", m)
	}
	pr := unitIn(st, "press")
	if m := pr.Module; m == nil || m.PIDOutput == nil || m.PIDSetpoint == nil || *m.PIDSetpoint != 2.5 || m.PIDProcess == nil || m.Detail["valve_mode"] != "auto" {
		t.Errorf("press module %+v", m)
	}
	if m := unitIn(st, "pulper").Module; m == nil || m.PIDSetpoint == nil || *m.PIDSetpoint != 10 {
		t.Errorf("pulper module %+v", m)
	}
	if m := unitIn(st, "filtrate_tank").Module; m != nil {
		t.Errorf("the tank has a module %+v", m)
	}
	var bp, mc *api.SetpointStatus
	for i := range pr.Setpoints {
		switch pr.Setpoints[i].Name {
		case "press_back_pressure":
			bp = &pr.Setpoints[i]
		case "press_max_current":
			mc = &pr.Setpoints[i]
		}
	}
	if bp == nil || bp.Value != 2.5 || bp.Unit != "bar" || bp.Min != 0.5 || bp.Max != 7 || !bp.Overridable || bp.Parameter != "press_back_pressure" {
		t.Errorf("press_back_pressure %+v", bp)
	}
	if mc == nil || mc.Overridable || mc.Parameter != "" || mc.Min != 70 || mc.Max != 110 {
		t.Errorf("press_max_current %+v", mc)
	}
	// The plant's limit narrows the definition's range: shredder speed_sp
	// is 10–40 in the plant file.
	for _, s := range sh.Setpoints {
		if s.Name == "shredder_speed" && (s.Min != 10 || s.Max != 40 || !s.Overridable) {
			t.Errorf("shredder_speed %+v", s)
		}
	}
	if len(unitIn(st, "feeder").Setpoints) != 1 {
		t.Errorf("feeder set-points %+v", unitIn(st, "feeder").Setpoints)
	}
}

// TestAlarmCountsAndRate: counts by priority of the alarms needing
// attention, unacknowledged, shelved and out of service (kept out of the
// priority counts but listed with their state), and the rate over 10
// minutes with the flood flag.
func TestAlarmCountsAndRate(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	r.plant.V["reception.h2s"] = 12 // h2s_high (high) and h2s_warn (medium)
	r.run(6 * time.Second)
	r.e.publish()
	c := r.e.Status().AlarmCounts
	if c.High != 1 || c.Medium != 1 || c.Unacknowledged != 2 || c.Per10Min != 2 || c.Flood {
		t.Fatalf("after two alarms: %+v", c)
	}
	if res := r.command(api.Command{Command: api.CommandAck, Alarm: "h2s_warn", User: "ann"}); !res.OK {
		t.Fatal(res.Error)
	}
	if res := r.command(api.Command{Command: api.CommandShelve, Alarm: "h2s_high", Value: 3600, User: "ann", Reason: "ventilation running"}); !res.OK {
		t.Fatal(res.Error)
	}
	if res := r.command(api.Command{Command: api.CommandOutOfService, Alarm: "h2s_warn", User: "sue", Reason: "sensor fouled"}); !res.OK {
		t.Fatal(res.Error)
	}
	r.e.publish()
	st := r.e.Status()
	c = st.AlarmCounts
	if c.High != 0 || c.Medium != 0 || c.Unacknowledged != 0 || c.Shelved != 1 || c.OutOfService != 1 || c.Per10Min != 2 {
		t.Errorf("shelved and out of service: %+v", c)
	}
	if a := alarmIn(st, "h2s_high"); a == nil || a.State != "shelved" {
		t.Errorf("h2s_high listed as %+v", a)
	}
	if a := alarmIn(st, "h2s_warn"); a == nil || a.State != "out_of_service" {
		t.Errorf("h2s_warn listed as %+v", a)
	}
	if res := r.command(api.Command{Command: api.CommandUnshelve, Alarm: "h2s_high", User: "ann"}); !res.OK {
		t.Fatal(res.Error)
	}
	if res := r.command(api.Command{Command: api.CommandInService, Alarm: "h2s_warn", User: "sue"}); !res.OK {
		t.Fatal(res.Error)
	}
	// Unshelved on an active condition: annunciated again.
	r.e.publish()
	if c := r.e.Status().AlarmCounts; c.High != 1 || c.Per10Min != 3 {
		t.Errorf("after unshelve: %+v", c)
	}
	// A flood: the H2S comes and goes; each time both alarms come back.
	for i := 0; i < 4; i++ {
		r.plant.V["reception.h2s"] = 0
		r.run(2 * time.Second)
		r.plant.V["reception.h2s"] = 12
		r.run(6 * time.Second)
	}
	r.e.publish()
	if c := r.e.Status().AlarmCounts; c.Per10Min <= 10 || !c.Flood {
		t.Errorf("after four more rounds: %+v, want a flood", c)
	}
	r.plant.V["reception.h2s"] = 0
	r.run(11 * time.Minute)
	r.e.publish()
	if c := r.e.Status().AlarmCounts; c.Per10Min != 0 || c.Flood {
		t.Errorf("11 quiet minutes later: %+v", c)
	}
}
