package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/controller/plant"
)

func (r *engineRig) alarm(name string) (api.AlarmStatus, bool) {
	r.e.publish()
	for _, a := range r.e.Status().Alarms {
		if a.Name == name {
			return a, true
		}
	}
	return api.AlarmStatus{}, false
}

func (r *engineRig) unit(name string) api.UnitStatus {
	r.e.publish()
	for _, u := range r.e.Status().Units {
		if u.Name == name {
			return u
		}
	}
	r.t.Fatalf("no unit %s in the status", name)
	return api.UnitStatus{}
}

// A comm loss holds the line with the device named as the cause; once the
// device is back and synced the status no longer reads as if the loss were
// current: the message is marked cleared, the cause is kept but not
// active, and the next action is unhold. The comm_loss alarm goes
// unacknowledged on the loss and returns on the reconnect.
func TestCommLossCauseClearsOnReconnect(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	r.devs["line_io"].gen.Store(0)
	r.run(time.Second)
	r.e.publish()
	st := r.e.Status()
	if st.State != "Held" || st.Message != "line_io not answering: interlock estop cannot be evaluated" {
		t.Fatalf("state %s (%s), want Held naming line_io", st.State, st.Message)
	}
	c := st.Cause
	if c == nil || c.Kind != line.CauseCommLoss || c.Source != "line_io" || c.Text != "line_io not answering" || !c.Active {
		t.Fatalf("cause %+v, want line_io's comm loss, active", c)
	}
	if st.Next == nil || st.Next.Command != "" || st.Next.Text != "wait: line_io not answering — still present" {
		t.Errorf("next %+v, want a wait", st.Next)
	}
	if a, ok := r.alarm("line_io_comm_loss"); !ok || a.State != "unacknowledged" {
		t.Errorf("line_io_comm_loss %+v (listed %v), want unacknowledged", a, ok)
	}
	res := r.command(api.Command{Command: api.CommandUnhold, User: "op"})
	if res.OK || !strings.Contains(res.Error, "line_io") || strings.Contains(res.Error, "refused") {
		t.Errorf("unhold during the loss: %+v, want refused naming line_io, once", res)
	}

	r.gen++
	r.devs["line_io"].gen.Store(r.gen)
	r.run(3 * time.Second)
	if d := r.device("line_io"); d.Sync != "synced" {
		t.Fatalf("line_io %s, want synced", d.Sync)
	}
	r.e.publish()
	st = r.e.Status()
	if st.State != "Held" {
		t.Fatalf("state %s after the reconnect, want Held (no restart by itself)", st.State)
	}
	if c := st.Cause; c == nil || c.Active || c.Source != "line_io" {
		t.Errorf("cause %+v, want line_io kept, no longer active", c)
	}
	if !strings.HasPrefix(st.Message, "held: line_io not answering") || !strings.Contains(st.Message, "(cleared 08:") {
		t.Errorf("message %q, want it marked cleared", st.Message)
	}
	if st.Next == nil || st.Next.Command != api.CommandUnhold || st.Next.Text != "cause cleared — unhold to restart shred" {
		t.Errorf("next %+v, want unhold", st.Next)
	}
	if a, ok := r.alarm("line_io_comm_loss"); !ok || a.State != "returned_unacknowledged" {
		t.Errorf("line_io_comm_loss %+v (listed %v), want returned_unacknowledged", a, ok)
	}
	if res := r.command(api.Command{Command: api.CommandUnhold, User: "op"}); !res.OK {
		t.Fatalf("unhold after the reconnect: %s", res.Error)
	}
	r.e.publish()
	if st := r.e.Status(); st.Cause != nil || st.Next != nil || st.Message != "" {
		t.Errorf("running again: cause %+v next %+v message %q, want none", st.Cause, st.Next, st.Message)
	}
}

// A plant file without comm_loss alarms still alarms on a comm loss: the
// default one of the device.
func TestDefaultCommLossAlarm(t *testing.T) {
	var src []string
	for _, ln := range strings.Split(string(plant.Sample()), "\n") {
		if !strings.Contains(ln, "kind: comm_loss") {
			src = append(src, ln)
		}
	}
	cfg, err := plant.Parse("sample.yaml", []byte(strings.Join(src, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	r := newEngineRig(t, func(f *plant.File) { *f = *cfg })
	r.run(2 * time.Second)
	if a, ok := r.alarm("press_vfd_comm_loss"); ok {
		t.Fatalf("press_vfd_comm_loss %+v before any loss", a)
	}
	r.devs["press_vfd"].gen.Store(0)
	r.run(2 * time.Second)
	a, ok := r.alarm("press_vfd_comm_loss")
	if !ok || a.State != "unacknowledged" || a.Priority != "high" || a.Message != "press_vfd not answering" {
		t.Fatalf("press_vfd_comm_loss %+v (listed %v), want unacknowledged, high", a, ok)
	}
	r.gen++
	r.devs["press_vfd"].gen.Store(r.gen)
	r.run(3 * time.Second)
	if a, ok := r.alarm("press_vfd_comm_loss"); !ok || a.State != "returned_unacknowledged" {
		t.Fatalf("press_vfd_comm_loss %+v (listed %v) after the reconnect, want returned_unacknowledged", a, ok)
	}
	if res := r.command(api.Command{Command: api.CommandAck, Alarm: "press_vfd_comm_loss", User: "op"}); !res.OK {
		t.Fatalf("ack: %s", res.Error)
	}
	if a, ok := r.alarm("press_vfd_comm_loss"); ok {
		t.Errorf("press_vfd_comm_loss %+v after the ack, want gone", a)
	}
}

// A shredder that trips on its jam limit shows as fault with the reason;
// its overcurrent alarm, raised by the jam and not yet acknowledged, stays
// listed (returned unacknowledged) when the shredder stops, until acked.
func TestJamTripFaultAndOvercurrentAlarmKept(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	r.run(10 * time.Second)
	r.plant.V["shredder.current"] = 60 // jammed: 146 % FLA whatever it does
	for i := 0; i < 3000 && r.e.line.State != line.StateHolding && r.e.line.State != line.StateHeld; i++ {
		r.scan()
		if r.plant.V["shredder.running"] == 0 {
			r.plant.V["shredder.current"] = 0
		} else {
			r.plant.V["shredder.current"] = 60
		}
	}
	if s := r.e.line.State; s != line.StateHolding && s != line.StateHeld {
		t.Fatalf("state %s (%s), want held by the jam", s, r.e.line.Message)
	}
	r.run(time.Second)
	u := r.unit("shredder")
	if u.State != "fault" || u.Reason != "jam: 3 reversals in 60 s" {
		t.Errorf("shredder %s (%q), want fault with the jam limit as reason", u.State, u.Reason)
	}
	if c := r.e.Status().Cause; c == nil || c.Kind != line.CauseUnitFault || c.Unit != "shredder" {
		t.Errorf("cause %+v, want the shredder's fault", c)
	}
	a, ok := r.alarm("shredder_overcurrent")
	if !ok || a.State != "returned_unacknowledged" {
		t.Fatalf("shredder_overcurrent %+v (listed %v) with the shredder stopped, want returned_unacknowledged", a, ok)
	}
	r.run(5 * time.Minute)
	if a, ok := r.alarm("shredder_overcurrent"); !ok || a.State != "returned_unacknowledged" {
		t.Fatalf("shredder_overcurrent %+v (listed %v) minutes later, want still returned_unacknowledged", a, ok)
	}
	if res := r.command(api.Command{Command: api.CommandAck, Alarm: "shredder_overcurrent", User: "op"}); !res.OK {
		t.Fatalf("ack: %s", res.Error)
	}
	r.run(time.Second)
	if a, ok := r.alarm("shredder_overcurrent"); ok {
		t.Errorf("shredder_overcurrent %+v after the ack with the shredder stopped, want gone (suppressed)", a)
	}
}

// Refusals of the engine's own commands read once: the reason, without
// "<command> refused:".
func TestEngineRefusalsReadOnce(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	res := r.command(api.Command{Command: api.CommandAck, Alarm: "h2s_high", User: "op"})
	if res.OK || res.Error != "h2s_high: it is normal; there is nothing to acknowledge" {
		t.Errorf("ack of a normal alarm: %+v", res)
	}
	res = r.e.Submit(t.Context(), api.Command{Command: api.CommandStart, Recipe: "nope", User: "op"})
	if res.OK || res.Error != "recipe nope is not known" {
		t.Errorf("start of an unknown recipe: %+v", res)
	}
	res = r.command(api.Command{Command: api.CommandUnhold, User: "op"})
	if res.OK || strings.Contains(res.Error, "refused") || !strings.HasPrefix(res.Error, "the line is Stopped") {
		t.Errorf("unhold in Stopped: %+v", res)
	}
}
