package alarm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

var allStates = []State{Normal, Unacknowledged, Acknowledged, ReturnedUnacknowledged, Shelved, SuppressedByDesign, OutOfService}

// TestAckInEachState acknowledges alarm "a" in every state: two states
// accept (with the table's target), five refuse with a reason that names
// the state's cause.
func TestAckInEachState(t *testing.T) {
	cases := []struct {
		state  State
		want   State  // after an accepted ack
		reason string // of a refusal; "" when accepted
	}{
		{Normal, 0, "it is normal; there is nothing to acknowledge"},
		{Unacknowledged, Acknowledged, ""},
		{Acknowledged, 0, "it was already acknowledged by ann at 2026-03-01T06:00:01Z"},
		{ReturnedUnacknowledged, Normal, ""},
		{Shelved, 0, "it is shelved until 2026-03-01T07:00:00Z; unshelve it to acknowledge it"},
		{SuppressedByDesign, 0, "it is suppressed by design while unit u is stopped; there is nothing to acknowledge"},
		{OutOfService, 0, "it is out of service; return it to service first"},
	}
	for _, c := range cases {
		t.Run(c.state.String(), func(t *testing.T) {
			r := newRig(t, Settings{}, def())
			r.into(c.state)
			tr, err := r.set.Ack("a", "ann", r.now)
			if c.reason != "" {
				var ref *Refusal
				if !errors.As(err, &ref) || !errors.Is(err, ErrNotAllowed) {
					t.Fatalf("Ack in %s: err = %v, want a Refusal wrapping ErrNotAllowed", c.state, err)
				}
				if ref.Reason != c.reason || ref.State != c.state || ref.Op != OpAck || ref.Alarm != "a" {
					t.Errorf("refusal = %+v, want reason %q in state %s", ref, c.reason, c.state)
				}
				if got := r.state("a"); got != c.state {
					t.Errorf("a refused ack moved the alarm to %s", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ack in %s: %v", c.state, err)
			}
			r.check(tr)
			if tr.From != c.state || tr.To != c.want || tr.User != "ann" || r.state("a") != c.want {
				t.Errorf("Ack in %s: %s, alarm now %s; want ->%s", c.state, format(tr), r.state("a"), c.want)
			}
		})
	}
}

// TestRefusals checks every other refusal: the sentinel and the reason.
func TestRefusals(t *testing.T) {
	type call func(s *Set, now time.Time) error
	shelveFor := func(d time.Duration) call {
		return func(s *Set, now time.Time) error { _, err := s.Shelve("a", "ann", now.Add(d), now); return err }
	}
	unshelve := func(s *Set, now time.Time) error { _, err := s.Unshelve("a", "ann", now); return err }
	remove := func(s *Set, now time.Time) error { _, err := s.RemoveFromService("a", "eng", now); return err }
	restore := func(s *Set, now time.Time) error { _, err := s.ReturnToService("a", "eng", now); return err }
	cases := []struct {
		name   string
		state  State
		call   call
		err    error
		reason string
	}{
		{"shelve shelved", Shelved, shelveFor(time.Hour), ErrNotAllowed, "it is already shelved by ann until 2026-03-01T07:00:00Z; unshelve it first"},
		{"shelve suppressed", SuppressedByDesign, shelveFor(time.Hour), ErrNotAllowed, "it is suppressed by design while unit u is stopped and does not annunciate; there is nothing to shelve"},
		{"shelve out of service", OutOfService, shelveFor(time.Hour), ErrNotAllowed, "it is out of service; return it to service before shelving it"},
		{"shelve into the past", Unacknowledged, shelveFor(-time.Second), ErrInvalid, "the shelf expiry 2026-03-01T06:00:00Z is not after now (2026-03-01T06:00:01Z)"},
		{"shelve until now", Normal, shelveFor(0), ErrInvalid, "the shelf expiry 2026-03-01T06:00:00Z is not after now (2026-03-01T06:00:00Z)"},
		{"shelve beyond the maximum", Normal, shelveFor(8*time.Hour + time.Second), ErrInvalid, "shelving for 8h0m1s exceeds the maximum of 8h0m0s"},
		{"unshelve normal", Normal, unshelve, ErrNotAllowed, "it is not shelved (it is normal)"},
		{"unshelve out of service", OutOfService, unshelve, ErrNotAllowed, "it is not shelved (it is out_of_service)"},
		{"remove out of service", OutOfService, remove, ErrNotAllowed, "it is already out of service (removed by eng at 2026-03-01T06:00:00Z)"},
		{"return normal to service", Normal, restore, ErrNotAllowed, "it is in service (it is normal)"},
		{"return shelved to service", Shelved, restore, ErrNotAllowed, "it is in service (it is shelved)"},
		{"ack without a user", Unacknowledged, func(s *Set, now time.Time) error { _, err := s.Ack("a", "", now); return err },
			ErrInvalid, "the operation needs the name of the user who asks for it"},
		{"shelve unknown", Normal, func(s *Set, now time.Time) error { _, err := s.Shelve("b", "ann", now.Add(time.Hour), now); return err },
			ErrUnknownAlarm, `there is no alarm named "b"`},
		{"ack all without a user", Unacknowledged, func(s *Set, now time.Time) error { _, err := s.AckAll("", now); return err },
			ErrInvalid, "the operation needs the name of the user who asks for it"},
		{"ack all with nothing waiting", Acknowledged, func(s *Set, now time.Time) error { _, err := s.AckAll("ann", now); return err },
			ErrNotAllowed, "no alarm is waiting for acknowledgement"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, Settings{}, def())
			r.into(c.state)
			before := r.set.Journal()
			err := c.call(r.set, r.now)
			var ref *Refusal
			if !errors.As(err, &ref) || !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want a Refusal wrapping %v", err, c.err)
			}
			if ref.Reason != c.reason {
				t.Errorf("reason = %q\nwant     %q", ref.Reason, c.reason)
			}
			if !strings.HasSuffix(err.Error(), "refused: "+c.reason) {
				t.Errorf("Error() = %q", err.Error())
			}
			if r.state("a") != c.state || len(r.set.Journal()) != len(before) {
				t.Errorf("a refusal changed the alarm (%s) or the journal", r.state("a"))
			}
		})
	}
}

// TestUnknownAlarmIsRefusedByEveryCall checks the lookup of every call.
func TestUnknownAlarmIsRefusedByEveryCall(t *testing.T) {
	r := newRig(t, Settings{}, def())
	now := r.now
	_, e1 := r.set.Ack("nope", "ann", now)
	_, e2 := r.set.Shelve("nope", "ann", now.Add(time.Hour), now)
	_, e3 := r.set.Unshelve("nope", "ann", now)
	_, e4 := r.set.RemoveFromService("nope", "ann", now)
	_, e5 := r.set.ReturnToService("nope", "ann", now)
	for i, err := range []error{e1, e2, e3, e4, e5} {
		if !errors.Is(err, ErrUnknownAlarm) {
			t.Errorf("call %d: err = %v, want ErrUnknownAlarm", i+1, err)
		}
	}
	if _, ok := r.set.Status("nope"); ok {
		t.Error("Status of an unknown alarm reported ok")
	}
}

// TestAckAll acknowledges every waiting alarm, leaves the others alone and
// refuses when none waits.
func TestAckAll(t *testing.T) {
	defs := []Definition{
		def(func(d *Definition) { d.Name, d.Tag = "unack", "t1" }),
		def(func(d *Definition) { d.Name, d.Tag = "rtn", "t2" }),
		def(func(d *Definition) { d.Name, d.Tag = "acked", "t3" }),
		def(func(d *Definition) { d.Name, d.Tag = "quiet", "t4" }),
	}
	r := newRig(t, Settings{}, defs...)
	r.in["t1"], r.in["t2"], r.in["t3"] = sample{11, drivers.QualityGood}, sample{11, drivers.QualityGood}, sample{11, drivers.QualityGood}
	r.at(0)
	r.ack("acked")
	r.in["t2"] = sample{0, drivers.QualityGood}
	r.at(s)
	ts, err := r.set.AckAll("bob", r.now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		r.check(tr)
		got = append(got, tr.Alarm+" "+format(tr))
	}
	want := []string{"unack 1s unacknowledged->acknowledged acknowledged by bob", "rtn 1s returned_unacknowledged->normal acknowledged by bob"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("AckAll = %q, want %q", got, want)
	}
	if _, err := r.set.AckAll("bob", r.now); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("second AckAll: err = %v, want ErrNotAllowed", err)
	}
}

// TestActiveListAndCounts checks the HMI's list: which states it shows, its
// order (priority, then newest first, then name) and the fields it carries.
func TestActiveListAndCounts(t *testing.T) {
	mk := func(name, tag string, p Priority, unit string) Definition {
		return def(func(d *Definition) { d.Name, d.Tag, d.Priority, d.Unit = name, tag, p, unit })
	}
	defs := []Definition{
		mk("low1", "t1", PriorityLow, ""),
		mk("crit_old", "t2", PriorityCritical, ""),
		mk("crit_new", "t3", PriorityCritical, ""),
		mk("med_b", "t4", PriorityMedium, ""),
		mk("med_a", "t5", PriorityMedium, ""),
		mk("normal", "t6", PriorityCritical, ""),
		mk("suppressed", "t7", PriorityCritical, "stopped_unit"),
		mk("shelved", "t8", PriorityHigh, ""),
		mk("oos", "t9", PriorityHigh, ""),
	}
	r := newRig(t, Settings{}, defs...)
	r.running["stopped_unit"] = false
	hi := sample{11, drivers.QualityGood}
	r.in["t2"] = hi
	r.at(0)
	for _, tag := range []string{"t1", "t3", "t4", "t5", "t7"} {
		r.in[tag] = hi
	}
	r.at(s)
	r.ack("med_a")
	r.op(r.set.Shelve("shelved", "ann", r.now.Add(time.Hour), r.now))
	r.remove("oos")
	r.in["t1"] = sample{0, drivers.QualityGood}
	r.at(2 * s)

	var got []string
	for _, st := range r.set.Active() {
		got = append(got, st.Name+":"+st.State.String())
	}
	want := []string{
		"crit_new:unacknowledged",
		"crit_old:unacknowledged",
		"oos:out_of_service",
		"shelved:shelved",
		"med_a:acknowledged",
		"med_b:unacknowledged",
		"low1:returned_unacknowledged",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Active() =\n%q\nwant\n%q", got, want)
	}
	st, _ := r.set.Status("shelved")
	if !st.ShelvedUntil.Equal(t0.Add(time.Hour+s)) || st.User != "ann" || !st.Since.Equal(t0.Add(s)) {
		t.Errorf("shelved status = %+v", st)
	}
	st, _ = r.set.Status("crit_old")
	if !st.Active || !st.ActiveSince.Equal(t0) || st.Activations != 1 || st.RecentActivations != 1 || st.Value != 11 || st.Quality != drivers.QualityGood || st.Kind != KindHigh || st.Tag != "t2" || st.Message != "x high" {
		t.Errorf("crit_old status = %+v", st)
	}
	c := r.set.Counts()
	if c != (Counts{Unacknowledged: 3, Acknowledged: 1, ReturnedUnacknowledged: 1, Shelved: 1, SuppressedByDesign: 1, OutOfService: 1}) {
		t.Errorf("Counts() = %+v", c)
	}
	all := r.set.All()
	if len(all) != len(defs) || all[5].Name != "normal" || all[5].State != Normal || all[6].State != SuppressedByDesign {
		t.Errorf("All() = %+v", all)
	}
}

// TestChatteringCountsAndStatus checks the flag in Status and Counts and the
// recent count falling out of the window.
func TestChatteringCountsAndStatus(t *testing.T) {
	r := newRig(t, Settings{ChatterCount: 2, ChatterWindow: 10 * s, ChatterQuiet: 30 * s}, def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }))
	for i := range 4 {
		r.val(float64(1 - i%2))
		r.at(time.Duration(i) * s)
	}
	st, _ := r.set.Status("a")
	if !st.Chattering || st.Activations != 2 || st.RecentActivations != 2 || r.set.Counts().Chattering != 1 {
		t.Errorf("status = %+v, counts %+v", st, r.set.Counts())
	}
	r.at(15 * s)
	if st, _ = r.set.Status("a"); !st.Chattering || st.RecentActivations != 0 {
		t.Errorf("after the window: %+v", st)
	}
	r.at(32 * s)
	if st, _ = r.set.Status("a"); st.Chattering {
		t.Errorf("after the quiet time: %+v", st)
	}
}

// TestJournalIsBounded keeps the last JournalSize transitions, oldest first,
// with sequence numbers that count every transition ever made.
func TestJournalIsBounded(t *testing.T) {
	r := newRig(t, Settings{JournalSize: 4}, def(func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }))
	for i := range 10 {
		r.val(float64(1 - i%2))
		r.at(time.Duration(i) * time.Minute)
	}
	j := r.set.Journal()
	if len(j) != 4 {
		t.Fatalf("journal holds %d, want 4", len(j))
	}
	for i, tr := range j {
		if tr.Seq != uint64(7+i) {
			t.Errorf("journal[%d].Seq = %d, want %d", i, tr.Seq, 7+i)
		}
	}
	if got := format(j[3]); got != "9m0s unacknowledged->returned_unacknowledged condition_cleared" {
		t.Errorf("newest = %q", got)
	}
}

// TestTransitionEvent checks the historian event made from a transition.
func TestTransitionEvent(t *testing.T) {
	r := newRig(t, Settings{}, def(func(d *Definition) { d.Message = "Pulper level high" }))
	r.val(11.5)
	tr := r.at(0)[0]
	e := tr.Event("line-1")
	if e.Kind != "alarm" || e.Name != "a" || e.Line != "line-1" || e.Unit != "u" || e.User != "" || !e.Time.Equal(t0) || e.Values["value"] != 11.5 ||
		e.Message != "Pulper level high: normal → unacknowledged (condition_active)" {
		t.Errorf("event = %+v", e)
	}
	sh, _ := r.set.Shelve("a", "ann", t0.Add(time.Hour), t0)
	if e := sh.Event("l"); e.User != "ann" || e.Message != "Pulper level high: unacknowledged → shelved until 2026-03-01T07:00:00Z (shelved)" {
		t.Errorf("shelve event = %+v", e)
	}
	ch := Transition{Message: "m", From: Acknowledged, To: Acknowledged, Reason: ReasonChattering, Quality: drivers.QualityBadCommFailure}
	if e := ch.Event("l"); e.Message != "m: chattering (acknowledged), input bad:comm_failure" {
		t.Errorf("chatter event = %q", e.Message)
	}
}

// TestStateText checks the names of the states both ways.
func TestStateText(t *testing.T) {
	for _, st := range allStates {
		b, _ := st.MarshalText()
		var back State
		if err := back.UnmarshalText(b); err != nil || back != st {
			t.Errorf("%s: round trip gave %s, %v", st, back, err)
		}
	}
	var st State
	if err := st.UnmarshalText([]byte("alarmed")); err == nil {
		t.Error("unknown state name accepted")
	}
	if got := State(42).String(); got != "state(42)" {
		t.Errorf("State(42) = %q", got)
	}
}

// TestLegal checks the table lookup on the edges.
func TestLegal(t *testing.T) {
	cases := []struct {
		from   State
		reason Reason
		to     State
		want   bool
	}{
		{Normal, ReasonConditionActive, Unacknowledged, true},
		{Normal, ReasonAcknowledged, Normal, false},
		{Acknowledged, ReasonConditionActive, Unacknowledged, false},
		{Shelved, ReasonChattering, Shelved, true},
		{Shelved, ReasonChatteringCleared, Normal, false},
		{numStates, ReasonUnitRunning, Normal, false},
		{OutOfService, ReasonReturnedToService, numStates, false},
	}
	for _, c := range cases {
		if got := Legal(c.from, c.reason, c.to); got != c.want {
			t.Errorf("Legal(%s, %s, %s) = %v, want %v", c.from, c.reason, c.to, got, c.want)
		}
	}
	if len(Rules()) != 27 {
		t.Errorf("Rules() has %d rules, want 27", len(Rules()))
	}
}
