package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
)

// Trend and journal limits.
const (
	defaultTrendSpan   = 10 * time.Minute
	defaultTrendPoints = 300
	maxTrendPoints     = 2000
	maxTrendTags       = 8
	defaultJournal     = 500
	maxJournal         = 5000
	defaultUnitEvents  = 20
	maxUnitEvents      = 500
)

// lastEventer is implemented by records that can read the latest events
// without a whole range (StoreRecords).
type lastEventer interface {
	LastEvents(n int) ([]records.Event, error)
}

// intParam reads a positive integer query parameter: def when absent.
func intParam(r *http.Request, key string, def, maxv int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxv {
		return 0, fmt.Errorf("%s=%q is not allowed; allowed: 1 to %d", key, v, maxv)
	}
	return n, nil
}

// tagInfo is what a pen shows of a tag: its engineering unit and decimals;
// ok is false for a tag the controller does not know.
func (s *Server) tagInfo(tag string, st *api.Status) (unit string, prec int, ok bool) {
	if s.plant != nil {
		if _, p := s.plant.Point(tag); p != nil {
			return p.Unit, pointPrecision(p), true
		}
		return "", 0, false
	}
	if st != nil {
		for _, tv := range st.Tags {
			if tv.Tag == tag {
				return tv.Unit, tv.Precision, true
			}
		}
	}
	return "", 0, false
}

// pointPrecision is how many decimals a point's values are shown with: 0
// for an on/off or integer point, else from its plausible range (≥ 1000:
// 0, ≥ 10: 1, else 2), else from its scale (0.1: 1, 0.01: 2), else 2.
func pointPrecision(p *drivers.PointConfig) int {
	switch p.Type {
	case drivers.TypeBool:
		return 0
	}
	if span := p.Max - p.Min; span > 0 {
		switch {
		case span >= 1000:
			return 0
		case span >= 10:
			return 1
		}
		return 2
	}
	if sc := math.Abs(p.Scale); sc > 0 && sc < 1 {
		return min(int(math.Ceil(-math.Log10(sc)-1e-9)), 4)
	}
	return 2
}

// trend serves GET /api/v1/trend?tag=a,b&from=&to=&points=: each tag's
// good samples in at most points buckets over [from, to). Defaults: to is
// the plant time of the latest status, from ten minutes before, 300
// points.
func (s *Server) trend(w http.ResponseWriter, r *http.Request) {
	if s.records == nil {
		errJSON(w, http.StatusServiceUnavailable, "this controller serves no records")
		return
	}
	q := r.URL.Query()
	var tags []string
	for _, t := range strings.Split(q.Get("tag"), ",") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	switch {
	case len(tags) == 0:
		errJSON(w, http.StatusBadRequest, "tag is required: tag=a,b (at most %d tags)", maxTrendTags)
		return
	case len(tags) > maxTrendTags:
		errJSON(w, http.StatusBadRequest, "%d tags are too many; allowed: at most %d", len(tags), maxTrendTags)
		return
	}
	points, err := intParam(r, "points", defaultTrendPoints, maxTrendPoints)
	if err != nil {
		errJSON(w, http.StatusBadRequest, "%v", err)
		return
	}
	st := s.engine.Status()
	to := time.Now()
	if st != nil && !st.Time.IsZero() {
		to = st.Time
	}
	from := time.Time{}
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				errJSON(w, http.StatusBadRequest, "%s=%q is not a time; allowed: RFC 3339, e.g. 2026-11-27T08:00:00Z", p.key, v)
				return
			}
			*p.dst = t
		}
	}
	if from.IsZero() {
		from = to.Add(-defaultTrendSpan)
	}
	if !from.Before(to) || from.Year() < 1970 || to.Year() >= 2262 {
		errJSON(w, http.StatusBadRequest, "from (%s) must be before to (%s), both within 1970–2261", from.Format(time.RFC3339), to.Format(time.RFC3339))
		return
	}
	out := api.Trend{From: from.UTC(), To: to.UTC(), Pens: make([]api.Pen, 0, len(tags))}
	span := to.Sub(from)
	step := span / time.Duration(points)
	if step*time.Duration(points) < span {
		step++
	}
	out.StepMs = float64(step) / float64(time.Millisecond)
	for _, tag := range tags {
		unit, prec, ok := s.tagInfo(tag, st)
		if !ok {
			errJSON(w, http.StatusNotFound, "tag %q is not a tag of this plant", tag)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		pts, err := s.records.Trend(ctx, historian.TrendQuery{Tag: tag, From: from, To: to, Points: points})
		cancel()
		if err != nil {
			errJSON(w, http.StatusInternalServerError, "trend of %s: %v", tag, err)
			return
		}
		pen := api.Pen{Tag: tag, Unit: unit, Precision: prec, Points: make([]api.TrendPoint, len(pts))}
		for i, p := range pts {
			pen.Points[i] = api.TrendPoint{Time: p.Time.UTC(), Count: p.Count, Mean: p.Mean, Min: p.Min, Max: p.Max}
		}
		out.Pens = append(out.Pens, pen)
	}
	writeJSON(w, http.StatusOK, out)
}

// Journal events, from the alarm transitions' reasons.
var journalEvent = map[string]string{
	string(alarm.ReasonConditionActive):    "raised",
	string(alarm.ReasonConditionCleared):   "returned",
	string(alarm.ReasonAcknowledged):       "acknowledged",
	string(alarm.ReasonShelved):            "shelved",
	string(alarm.ReasonUnshelved):          "unshelved",
	string(alarm.ReasonShelfExpired):       "unshelved",
	string(alarm.ReasonRemovedFromService): "out_of_service",
	string(alarm.ReasonReturnedToService):  "in_service",
	string(alarm.ReasonUnitStopped):        "suppressed",
	string(alarm.ReasonUnitRunning):        "unsuppressed",
	string(alarm.ReasonChattering):         "chattering",
	string(alarm.ReasonChatteringCleared):  "chattering_cleared",
}

// journalEvents are the event= values the journal filters on.
var journalEvents = []string{"raised", "returned", "acknowledged", "shelved", "unshelved", "out_of_service", "in_service", "suppressed", "unsuppressed", "chattering", "chattering_cleared"}

var priorities = []string{"critical", "high", "medium", "low"}

// An alarm event's message (alarm.Transition.Event): "<text>: <from> →
// <to>[ until <time>] (<reason>)[, input <quality>]", or for a chattering
// flag "<text>: <reason> (<state>)[, input <quality>]".
var (
	transitionMsg = regexp.MustCompile(`^(?s)(.*): ([a-z_]+) → ([a-z_]+)(?: until .+?)? \(([a-z_]+)\)(?:, input .*)?$`)
	flagMsg       = regexp.MustCompile(`^(?s)(.*): ([a-z_]+) \(([a-z_]+)\)(?:, input .*)?$`)
)

// journalEntry makes an alarm event a journal entry, with the priority,
// tag and text of the alarm's definition when the plant file has it.
func (s *Server) journalEntry(e records.Event) api.JournalEntry {
	je := api.JournalEntry{Time: e.Time, Alarm: e.Name, Unit: e.Unit, User: e.User, Reason: e.Reason, Value: e.Values["value"], Event: "other", Message: e.Message}
	if m := transitionMsg.FindStringSubmatch(e.Message); m != nil {
		je.Message, je.State = m[1], m[3]
		if ev, ok := journalEvent[m[4]]; ok {
			je.Event = ev
		}
	} else if m := flagMsg.FindStringSubmatch(e.Message); m != nil {
		je.Message, je.State = m[1], m[3]
		if ev, ok := journalEvent[m[2]]; ok {
			je.Event = ev
		}
	}
	if s.plant != nil {
		for i := range s.plant.Alarms {
			if d := &s.plant.Alarms[i]; d.Name == e.Name {
				je.Priority, je.Tag = string(d.Priority), d.Tag
				if je.Unit == "" {
					je.Unit = d.Unit
				}
				if d.Message != "" {
					je.Message = d.Message
				}
				break
			}
		}
	}
	return je
}

// journal serves GET /api/v1/alarms/journal?from=&to=&alarm=&priority=&unit=&event=&limit=:
// the alarm transitions in [from, to) that match every filter given,
// oldest first, the newest limit of them (default 500).
func (s *Server) journal(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", defaultJournal, maxJournal)
	if err != nil {
		errJSON(w, http.StatusBadRequest, "%v", err)
		return
	}
	if p := q.Get("priority"); p != "" && !slices.Contains(priorities, p) {
		errJSON(w, http.StatusBadRequest, "priority=%q is not known; allowed: %s", p, strings.Join(priorities, ", "))
		return
	}
	if ev := q.Get("event"); ev != "" && !slices.Contains(journalEvents, ev) {
		errJSON(w, http.StatusBadRequest, "event=%q is not known; allowed: %s", ev, strings.Join(journalEvents, ", "))
		return
	}
	evs, err := s.records.Events(from, to)
	if err != nil {
		errJSON(w, http.StatusInternalServerError, "%v", err)
		return
	}
	out := []api.JournalEntry{}
	for _, e := range evs {
		if e.Kind != records.EventAlarm {
			continue
		}
		je := s.journalEntry(e)
		if f := q.Get("alarm"); f != "" && je.Alarm != f {
			continue
		}
		if f := q.Get("priority"); f != "" && je.Priority != f {
			continue
		}
		if f := q.Get("unit"); f != "" && je.Unit != f {
			continue
		}
		if f := q.Get("event"); f != "" && je.Event != f {
			continue
		}
		out = append(out, je)
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	writeJSON(w, http.StatusOK, out)
}

// knownUnit says whether name is a unit of the plant.
func (s *Server) knownUnit(name string) bool {
	if s.plant != nil {
		return slices.ContainsFunc(s.plant.Units, func(u plant.Unit) bool { return u.Name == name })
	}
	if st := s.engine.Status(); st != nil {
		return slices.ContainsFunc(st.Units, func(u api.UnitStatus) bool { return u.Name == name })
	}
	return false
}

// unitEvents serves GET /api/v1/units/{name}/events?limit=: the newest
// limit events (default 20) of the unit, oldest first.
func (s *Server) unitEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.knownUnit(name) {
		errJSON(w, http.StatusNotFound, "unit %s is not defined", name)
		return
	}
	limit, err := intParam(r, "limit", defaultUnitEvents, maxUnitEvents)
	if err != nil {
		errJSON(w, http.StatusBadRequest, "%v", err)
		return
	}
	if s.records == nil {
		errJSON(w, http.StatusServiceUnavailable, "this controller serves no records")
		return
	}
	var mine []records.Event // newest first
	if le, ok := s.records.(lastEventer); ok {
		for n := 256; ; n *= 4 {
			evs, err := le.LastEvents(n)
			if err != nil {
				errJSON(w, http.StatusInternalServerError, "%v", err)
				return
			}
			mine = mine[:0]
			for _, e := range evs {
				if e.Unit == name && len(mine) < limit {
					mine = append(mine, e)
				}
			}
			if len(mine) >= limit || len(evs) < n {
				break
			}
		}
	} else {
		evs, err := s.records.Events(time.Unix(0, 0), farFuture)
		if err != nil {
			errJSON(w, http.StatusInternalServerError, "%v", err)
			return
		}
		for i := len(evs) - 1; i >= 0 && len(mine) < limit; i-- {
			if evs[i].Unit == name {
				mine = append(mine, evs[i])
			}
		}
	}
	out := make([]api.JournalEventRef, 0, len(mine))
	for i := len(mine) - 1; i >= 0; i-- {
		e := mine[i]
		out = append(out, api.JournalEventRef{Time: e.Time, Kind: e.Kind, Name: e.Name, User: e.User, Message: e.Message})
	}
	writeJSON(w, http.StatusOK, out)
}
