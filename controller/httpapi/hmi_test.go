package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
)

func samplePlant(t *testing.T) *plant.File {
	t.Helper()
	f, err := plant.Parse("sample.yaml", plant.Sample())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// memRecords serves events from memory and trends from a store, and
// keeps the trend queries.
type memRecords struct {
	Records
	events []records.Event
	mu     sync.Mutex
	trends []historian.TrendQuery
}

func (m *memRecords) Events(from, to time.Time) ([]records.Event, error) {
	var out []records.Event
	for _, e := range m.events {
		if !e.Time.Before(from) && e.Time.Before(to) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memRecords) Trend(ctx context.Context, q historian.TrendQuery) ([]historian.TrendPoint, error) {
	m.mu.Lock()
	m.trends = append(m.trends, q)
	m.mu.Unlock()
	return []historian.TrendPoint{{Time: q.From, Count: 2, Mean: 1.5, Min: 1, Max: 2}}, nil
}

// Trends are read from the embedded store: each tag a pen with the
// point's unit and precision, buckets of good samples.
func TestTrendOverARealStore(t *testing.T) {
	hist, err := historian.Open(historian.Options{Dir: t.TempDir(), Line: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	hist.Start(t.Context())
	defer hist.Close()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var ss []drivers.Sample
	for i := range 600 { // 10 min, one a second
		tm := t0.Add(time.Duration(i) * time.Second)
		ss = append(ss, drivers.Sample{Tag: "shredder.current", Value: float64(i % 60), Quality: drivers.QualityGood, Time: tm},
			drivers.Sample{Tag: "press.back_pressure", Value: 5, Quality: drivers.QualityGood, Time: tm})
	}
	ss = append(ss, drivers.Sample{Tag: "press.back_pressure", Value: 99, Quality: drivers.QualityBadCommFailure, Time: t0.Add(90*time.Second + 500*time.Millisecond)})
	hist.Samples(ss)

	pc := newPubController()
	s := New(pc, nil)
	s.SetRecords(StoreRecords{Store: hist.Store()})
	s.SetPlant(samplePlant(t))
	serve(t, s)
	c := api.NewClient(s.URL())
	var tr *api.Trend
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		tr, err = c.Trend(t.Context(), []string{"shredder.current", "press.back_pressure"}, t0, t0.Add(10*time.Minute), 10)
		if err == nil && len(tr.Pens) == 2 && len(tr.Pens[0].Points) == 10 && len(tr.Pens[1].Points) == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trend: %+v %v", tr, err)
		}
	}
	if tr.StepMs != 60000 || !tr.From.Equal(t0) {
		t.Errorf("step %g ms from %v", tr.StepMs, tr.From)
	}
	cur, bp := tr.Pens[0], tr.Pens[1]
	if cur.Tag != "shredder.current" || cur.Unit != "A" || cur.Precision != 1 || bp.Unit != "bar" || bp.Precision != 2 {
		t.Errorf("pens: %s %s %d, %s %s %d", cur.Tag, cur.Unit, cur.Precision, bp.Tag, bp.Unit, bp.Precision)
	}
	if p := cur.Points[0]; p.Count != 60 || p.Min != 0 || p.Max != 59 || p.Mean != 29.5 {
		t.Errorf("first bucket %+v", p)
	}
	if p := bp.Points[1]; p.Max != 5 || p.Count != 60 {
		t.Errorf("a bad sample counted: %+v", p)
	}
}

// Trend defaults and refusals.
func TestTrendDefaultsAndRefusals(t *testing.T) {
	pc := newPubController()
	mr := &memRecords{}
	s := New(pc, nil)
	s.SetRecords(mr)
	s.SetPlant(samplePlant(t))
	serve(t, s)
	c := api.NewClient(s.URL())
	tr, err := c.Trend(t.Context(), []string{"reception.h2s"}, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := pc.Status().Time
	q := mr.trends[0]
	if !q.To.Equal(now) || !q.From.Equal(now.Add(-10*time.Minute)) || q.Points != 300 || tr.StepMs != 2000 || len(tr.Pens[0].Points) != 1 {
		t.Errorf("defaults: query %+v, trend %+v (plant time %v)", q, tr, now)
	}
	get := func(query string) (int, string) {
		resp, err := http.Get(s.URL() + "/api/v1/trend?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Error string }
		_ = jsonDecode(resp, &e)
		return resp.StatusCode, e.Error
	}
	for _, c := range []struct {
		query string
		code  int
		want  string
	}{
		{"tag=nope.tag", 404, `tag "nope.tag" is not a tag of this plant`},
		{"tag=shredder.current,nope", 404, `"nope"`},
		{"", 400, "tag is required"},
		{"tag=a,b,c,d,e,f,g,h,i", 400, "9 tags are too many; allowed: at most 8"},
		{"tag=shredder.current&from=yesterday", 400, `from="yesterday" is not a time`},
		{"tag=shredder.current&to=2026-11-27T08:00:00Z&from=2026-11-27T09:00:00Z", 400, "must be before"},
		{"tag=shredder.current&points=2001", 400, "points=\"2001\" is not allowed; allowed: 1 to 2000"},
		{"tag=shredder.current&points=0", 400, "allowed: 1 to 2000"},
	} {
		code, msg := get(c.query)
		if code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d %q", c.query, code, msg, c.code, c.want)
		}
	}
}

func TestTrendPointPrecision(t *testing.T) {
	for _, c := range []struct {
		p    drivers.PointConfig
		want int
	}{
		{drivers.PointConfig{Min: 0, Max: 30000}, 0},
		{drivers.PointConfig{Min: 0, Max: 100, Scale: 0.01}, 1},
		{drivers.PointConfig{Min: 0, Max: 5}, 2},
		{drivers.PointConfig{Scale: 0.1}, 1},
		{drivers.PointConfig{Scale: 0.001}, 3},
		{drivers.PointConfig{Type: drivers.TypeBool}, 0},
		{drivers.PointConfig{}, 2},
	} {
		if got := pointPrecision(&c.p); got != c.want {
			t.Errorf("%+v: %d, want %d", c.p, got, c.want)
		}
	}
}

// alarmEvent is an alarm transition as the engine records it.
func alarmEvent(tm time.Time, name string, from, to alarm.State, r alarm.Reason, user, reason string) records.Event {
	tr := alarm.Transition{Time: tm, Alarm: name, Message: "def text", From: from, To: to, Reason: r, User: user, Value: 12.5, Quality: drivers.QualityGood}
	if to == alarm.Shelved {
		tr.ShelvedUntil = tm.Add(time.Hour)
	}
	e := tr.Event("line-1")
	e.Reason = reason
	return e
}

// The alarm journal maps the stored alarm transitions to entries with the
// definition's priority, tag and text, filters them and keeps the newest.
func TestJournalFromStoredAlarmEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	mr := &memRecords{events: []records.Event{
		alarmEvent(at(1), "shredder_overcurrent", alarm.Normal, alarm.Unacknowledged, alarm.ReasonConditionActive, "", ""),
		{Time: at(2), Kind: records.EventCommand, Name: "ack", User: "olga", Message: "shredder_overcurrent"},
		alarmEvent(at(2), "shredder_overcurrent", alarm.Unacknowledged, alarm.Acknowledged, alarm.ReasonAcknowledged, "olga", ""),
		alarmEvent(at(3), "shredder_overcurrent", alarm.Acknowledged, alarm.Normal, alarm.ReasonConditionCleared, "", ""),
		alarmEvent(at(4), "h2s_warn", alarm.Normal, alarm.Unacknowledged, alarm.ReasonConditionActive, "", ""),
		alarmEvent(at(5), "h2s_warn", alarm.Unacknowledged, alarm.Shelved, alarm.ReasonShelved, "sam", "sensor being calibrated"),
		alarmEvent(at(6), "h2s_warn", alarm.Shelved, alarm.Unacknowledged, alarm.ReasonShelfExpired, "", ""),
		alarmEvent(at(7), "ds_analyser_bad", alarm.Normal, alarm.OutOfService, alarm.ReasonRemovedFromService, "sam", "analyser sent for repair"),
		alarmEvent(at(8), "ds_analyser_bad", alarm.OutOfService, alarm.Normal, alarm.ReasonReturnedToService, "sam", ""),
		alarmEvent(at(9), "h2s_warn", alarm.Unacknowledged, alarm.Unacknowledged, alarm.ReasonChattering, "", ""),
	}}
	pc := newPubController()
	s := New(pc, nil)
	s.SetRecords(mr)
	s.SetPlant(samplePlant(t))
	serve(t, s)
	c := api.NewClient(s.URL())
	all, err := c.AlarmJournal(t.Context(), api.JournalQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", e.Alarm, e.Event, e.State, e.Priority, e.User, e.Reason))
	}
	want := []string{
		"shredder_overcurrent raised unacknowledged medium  ",
		"shredder_overcurrent acknowledged acknowledged medium olga ",
		"shredder_overcurrent returned normal medium  ",
		"h2s_warn raised unacknowledged medium  ",
		"h2s_warn shelved shelved medium sam sensor being calibrated",
		"h2s_warn unshelved unacknowledged medium  ",
		"ds_analyser_bad out_of_service out_of_service low sam analyser sent for repair",
		"ds_analyser_bad in_service normal low sam ",
		"h2s_warn chattering unacknowledged medium  ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := all[0]; e.Tag != "shredder.current" || e.Unit != "shredder" || e.Value != 12.5 || e.Message != "Shredder current above 110 % FLA" || !e.Time.Equal(at(1)) {
		t.Errorf("first entry %+v", e)
	}
	for _, c2 := range []struct {
		q    api.JournalQuery
		want int
	}{
		{api.JournalQuery{Alarm: "h2s_warn"}, 4},
		{api.JournalQuery{Priority: "low"}, 2},
		{api.JournalQuery{Unit: "shredder"}, 3},
		{api.JournalQuery{Event: "raised"}, 2},
		{api.JournalQuery{From: at(3), To: at(6)}, 3},
		{api.JournalQuery{Limit: 2}, 2},
	} {
		es, err := c.AlarmJournal(t.Context(), c2.q)
		if err != nil || len(es) != c2.want {
			t.Errorf("%+v: %d entries %v, want %d", c2.q, len(es), err, c2.want)
		}
		if c2.q.Limit == 2 && len(es) == 2 && (es[1].Event != "chattering" || es[0].Event != "in_service") {
			t.Errorf("limit keeps the newest, oldest first: %+v", es)
		}
	}
	for _, q := range []string{"priority=urgent", "event=exploded", "limit=5001", "from=x"} {
		resp, err := http.Get(s.URL() + "/api/v1/alarms/journal?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

// Unit events are the newest events of the unit, oldest first.
func TestUnitEventsNewestOfTheUnit(t *testing.T) {
	hist, err := historian.Open(historian.Options{Dir: t.TempDir(), Line: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	hist.Start(t.Context())
	defer hist.Close()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for i := range 30 {
		unit := "shredder"
		if i%3 == 0 {
			unit = "press"
		}
		hist.Event(records.Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: records.EventDevice, Unit: unit, Name: fmt.Sprintf("e%d", i), User: "u"})
	}
	pc := newPubController()
	s := New(pc, nil)
	s.SetRecords(StoreRecords{Store: hist.Store()})
	s.SetPlant(samplePlant(t))
	serve(t, s)
	c := api.NewClient(s.URL())
	var evs []api.JournalEventRef
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		evs, err = c.UnitEvents(t.Context(), "press", 5)
		if err == nil && len(evs) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unit events: %+v %v", evs, err)
		}
	}
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "e15 e18 e21 e24 e27" || evs[0].Kind != records.EventDevice || evs[0].User != "u" {
		t.Errorf("press events: %+v", evs)
	}
	if evs, err := c.UnitEvents(t.Context(), "shredder", 0); err == nil || len(evs) != 0 {
		// limit=0 is not allowed
		t.Errorf("limit 0: %v %v", evs, err)
	}
	resp, err := http.Get(s.URL() + "/api/v1/units/shredder/events")
	if err != nil {
		t.Fatal(err)
	}
	var def []api.JournalEventRef
	jsonDecode(resp, &def)
	resp.Body.Close()
	if len(def) != 20 || def[19].Name != "e29" {
		t.Errorf("default: %d events, last %+v", len(def), def)
	}
	if _, err := c.UnitEvents(t.Context(), "nope", 5); apiStatus(err) != http.StatusNotFound {
		t.Errorf("unknown unit: %v", err)
	}
	if _, err := c.UnitEvents(t.Context(), "a/b", 5); apiStatus(err) != http.StatusNotFound {
		t.Errorf("unit name with a slash: %v", err)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
