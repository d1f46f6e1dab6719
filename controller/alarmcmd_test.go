package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian"
)

func (m *memRecorder) last(kind, name string) (historian.Event, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.events) - 1; i >= 0; i-- {
		if m.events[i].Kind == kind && m.events[i].Name == name {
			return m.events[i], true
		}
	}
	return historian.Event{}, false
}

func alarmIn(st *api.Status, name string) *api.AlarmStatus {
	for i := range st.Alarms {
		if st.Alarms[i].Name == name {
			return &st.Alarms[i]
		}
	}
	return nil
}

// TestShelveAndOutOfServiceNeedAReason: both are refused without a
// reason, in one clean clause (the reason alone: the HMI and CLI say
// "<command> refused:"); a shelve's time is bounded; the reason and
// the user go to the alarm event and the command event.
func TestShelveAndOutOfServiceNeedAReason(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	for _, c := range []struct {
		cmd  api.Command
		want string
	}{
		{api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 600, User: "ann"}, "a reason is required"},
		{api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 600, User: "ann", Reason: "  "}, "a reason is required"},
		{api.Command{Command: api.CommandOutOfService, Alarm: "h2s_warn", User: "ann"}, "a reason is required"},
		{api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 30, User: "ann", Reason: "sensor wash"}, "the shelving time must be 1 min to 24 h (value in seconds, 60 to 86400); got 30 s"},
		{api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 90000, User: "ann", Reason: "sensor wash"}, "the shelving time must be 1 min to 24 h (value in seconds, 60 to 86400); got 90000 s"},
		{api.Command{Command: api.CommandAck, Alarm: "h2s_warn", User: "ann"}, "h2s_warn: it is normal; there is nothing to acknowledge"},
		{api.Command{Command: api.CommandShelve, Alarm: "nosuch", Value: 600, User: "ann", Reason: "x"}, `nosuch: there is no alarm named "nosuch"`},
	} {
		res := r.command(c.cmd)
		if res.OK || res.Error != c.want {
			t.Errorf("%s %+v: %+v, want error %q", c.cmd.Command, c.cmd, res, c.want)
		}
	}
	if ev, ok := r.rec.last("command", "shelve:refused"); !ok || ev.User != "ann" || ev.Reason != "x" {
		t.Errorf("refused shelve recorded as %+v", ev)
	}

	res := r.command(api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 120, User: "ann", Reason: "analyser being calibrated"})
	if !res.OK {
		t.Fatalf("shelve: %s", res.Error)
	}
	ev, ok := r.rec.last("alarm", "h2s_warn")
	if !ok || ev.User != "ann" || ev.Reason != "analyser being calibrated" || !strings.Contains(ev.Message, "shelved") {
		t.Errorf("alarm event of the shelve: %+v", ev)
	}
	if ev, ok := r.rec.last("command", "shelve"); !ok || ev.Reason != "analyser being calibrated" || ev.User != "ann" {
		t.Errorf("command event of the shelve: %+v", ev)
	}
	res = r.command(api.Command{Command: api.CommandOutOfService, Alarm: "h2s_high", User: "sue", Reason: "sensor replaced"})
	if !res.OK {
		t.Fatalf("out_of_service: %s", res.Error)
	}
	if ev, ok := r.rec.last("alarm", "h2s_high"); !ok || ev.User != "sue" || ev.Reason != "sensor replaced" {
		t.Errorf("alarm event of the out_of_service: %+v", ev)
	}
	// unshelve and in_service need no reason.
	if res := r.command(api.Command{Command: api.CommandInService, Alarm: "h2s_high", User: "sue"}); !res.OK {
		t.Errorf("in_service: %s", res.Error)
	}
}

// TestShelvedAlarmExpiresBack: a shelved alarm is listed as shelved with
// its expiry, and at the expiry it returns by itself to the state the
// process dictates (here normal, so it leaves the list).
func TestShelvedAlarmExpiresBack(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	if res := r.command(api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 60, User: "ann", Reason: "calibration"}); !res.OK {
		t.Fatalf("shelve: %s", res.Error)
	}
	r.e.publish()
	a := alarmIn(r.e.Status(), "h2s_warn")
	if a == nil || a.State != "shelved" || a.ShelvedUntil.IsZero() {
		t.Fatalf("shelved alarm in the status: %+v", a)
	}
	until := a.ShelvedUntil
	if got := r.e.Status().AlarmCounts.Shelved; got != 1 {
		t.Errorf("AlarmCounts.Shelved %d, want 1", got)
	}
	for r.clock.Now().Before(until.Add(200 * time.Millisecond)) {
		r.scan()
	}
	r.e.publish()
	if a := alarmIn(r.e.Status(), "h2s_warn"); a != nil {
		t.Errorf("after the shelf expired the alarm is still listed: %+v", a)
	}
	if got := r.e.Status().AlarmCounts.Shelved; got != 0 {
		t.Errorf("AlarmCounts.Shelved %d after expiry, want 0", got)
	}
	ev, ok := r.rec.last("alarm", "h2s_warn")
	if !ok || !strings.Contains(ev.Message, "shelf_expired") || ev.User != "" {
		t.Errorf("expiry event %+v", ev)
	}
}

// TestShelveReasonInTheBatchRecord: during a batch the shelve is listed
// among the batch's actions with its alarm and reason.
func TestShelveReasonInTheBatchRecord(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	if res := r.command(api.Command{Command: api.CommandShelve, Alarm: "h2s_warn", Value: 600, User: "ann", Reason: "analyser being calibrated"}); !res.OK {
		t.Fatalf("shelve: %s", res.Error)
	}
	acts := r.e.line.BatchForSave().Actions
	if len(acts) == 0 {
		t.Fatal("no action in the batch record")
	}
	if a := acts[len(acts)-1]; a.Command != "shelve" || a.User != "ann" || a.Detail != "h2s_warn: analyser being calibrated" {
		t.Errorf("last action %+v", a)
	}
}
