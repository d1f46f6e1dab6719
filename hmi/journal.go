package hmi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

func init() {
	registerScreen(7, func(h *hmi) screen { return newJournal(h) })
}

// journalTimeout bounds one journal request; journalLimit is how many
// entries (the newest) one request asks for.
const (
	journalTimeout = 10 * time.Second
	journalLimit   = 1000
)

// journalWindows are the time windows w cycles through.
var journalWindows = []time.Duration{time.Hour, 8 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// journalFilter is what the journal shows: the terms the controller
// filters on, the time window, and free text filtered here.
type journalFilter struct {
	alarm, priority, unit, event string
	window                       time.Duration
	text                         []string // every word must match
}

// parseJournalFilter reads "alarm=NAME priority=P unit=U event=E since=1h"
// terms and free text; since takes Go durations and days ("7d").
func parseJournalFilter(s string) (journalFilter, error) {
	f := journalFilter{window: 24 * time.Hour}
	for _, w := range strings.Fields(s) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			f.text = append(f.text, strings.ToLower(w))
			continue
		}
		switch strings.ToLower(k) {
		case "alarm":
			f.alarm = v
		case "priority":
			f.priority = strings.ToLower(v)
		case "unit":
			f.unit = v
		case "event":
			f.event = strings.ToLower(v)
		case "since":
			d, err := parseWindow(v)
			if err != nil {
				return f, err
			}
			f.window = d
		default:
			f.text = append(f.text, strings.ToLower(w))
		}
	}
	return f, nil
}

// parseWindow reads "90m", "8h" or "7d".
func parseWindow(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("since=%s: not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("since=%s: say 30m, 8h or 7d", s)
	}
	return d, nil
}

// journalWindowText prints a window as the operator typed it: 1h, 7d.
func journalWindowText(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// String is the filter as terms the `/` input takes again.
func (f journalFilter) String() string {
	var terms []string
	for _, t := range [][2]string{{"alarm", f.alarm}, {"priority", f.priority}, {"unit", f.unit}, {"event", f.event}} {
		if t[1] != "" {
			terms = append(terms, t[0]+"="+t[1])
		}
	}
	if f.window != 24*time.Hour {
		terms = append(terms, "since="+journalWindowText(f.window))
	}
	return strings.Join(append(terms, f.text...), " ")
}

// matches says whether an entry holds every free-text word.
func (f journalFilter) matches(e api.JournalEntry) bool {
	if len(f.text) == 0 {
		return true
	}
	all := strings.ToLower(strings.Join([]string{e.Alarm, e.Priority, e.Unit, e.Tag, e.Event, e.State, e.User, e.Reason, e.Message}, " "))
	for _, w := range f.text {
		if !strings.Contains(all, w) {
			return false
		}
	}
	return true
}

// journal is the alarm journal: every transition of the alarms in a time
// window, newest first, fetched from the controller.
type journal struct {
	h      *hmi
	text   *fastText
	pg     rowPager
	input  lineInput
	filter journalFilter

	gen     int // increases with every fetch; older answers are dropped
	loading bool
	err     error
	entries []api.JournalEntry // as fetched, newest first
	rows    []api.JournalEntry // after the free-text filter
	from    time.Time          // the start of the window fetched
}

func newJournal(h *hmi) *journal {
	return &journal{h: h, text: newFastText(), filter: journalFilter{window: 24 * time.Hour}}
}

func (j *journal) id() string            { return "journal" }
func (j *journal) view() tview.Primitive { return j.text }

func (j *journal) title() string {
	if f := j.filter.String(); f != "" {
		return "Alarm journal “" + esc(f) + "”"
	}
	return "Alarm journal"
}

func (j *journal) keys() []keyHelp {
	if j.input.open {
		return []keyHelp{{"Enter", "apply filter"}, {"Esc", "clear filter"}}
	}
	return []keyHelp{{"/", "filter"}, {"w", "window " + journalWindowText(j.filter.window)}, {"R", "refresh"}, {"↑↓ PgUp PgDn", "scroll"}}
}

// enter takes the filter of `:journal FILTER` (or "alarm=NAME" from the
// summary) and fetches.
func (j *journal) enter(arg string) {
	j.input = lineInput{}
	j.pg = rowPager{}
	j.setFilter(arg)
}

// setFilter parses and applies a filter, and fetches.
func (j *journal) setFilter(s string) {
	f, err := parseJournalFilter(s)
	if err != nil {
		j.h.setMessage(paint(colorWarn, alarmMark+"journal filter: "+esc(err.Error())))
		return
	}
	j.filter = f
	j.fetch()
}

// fetch asks the controller for the journal of the window; the answer
// replaces the entries when it is still the newest request.
func (j *journal) fetch() {
	h := j.h
	to := time.Now()
	if h.last != nil && !h.last.Time.IsZero() {
		to = h.last.Time
	}
	j.from = to.Add(-j.filter.window)
	q := api.JournalQuery{From: j.from, Alarm: j.filter.alarm, Priority: j.filter.priority,
		Unit: j.filter.unit, Event: j.filter.event, Limit: journalLimit}
	j.gen++
	gen := j.gen
	j.loading, j.err = true, nil
	if h.ctx == nil {
		return // not running (only before run starts)
	}
	h.spawn(h.ctx, func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, journalTimeout)
		es, err := h.client.AlarmJournal(rctx, q)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() {
			if gen != j.gen {
				return
			}
			j.loading, j.err = false, err
			if err == nil {
				slices.SortStableFunc(es, func(a, b api.JournalEntry) int { return b.Time.Compare(a.Time) })
				j.entries = es
			}
			if h.front() == j {
				j.refresh()
			}
		})
	})
}

func (j *journal) onKey(ev *tcell.EventKey) *tcell.EventKey {
	h := j.h
	if j.input.open {
		switch j.input.key(ev) {
		case inputApply:
			j.pg = rowPager{}
			j.setFilter(j.input.text)
			h.renderFrame()
			h.showKeys()
		case inputCancel:
			j.pg = rowPager{}
			j.setFilter("")
			h.renderFrame()
			h.showKeys()
		}
		j.refresh()
		return nil
	}
	if j.pg.key(ev) {
		j.refresh()
		return nil
	}
	if ev.Key() != tcell.KeyRune {
		return ev
	}
	switch ev.Rune() {
	case '/':
		j.input = lineInput{open: true, text: j.filter.String()}
		h.showKeys()
	case 'w':
		i := slices.Index(journalWindows, j.filter.window)
		j.filter.window = journalWindows[(i+1)%len(journalWindows)]
		j.fetch()
		h.renderFrame()
		h.showKeys()
	case 'R':
		j.fetch()
	default:
		return ev
	}
	j.refresh()
	return nil
}

func (j *journal) refresh() {
	h := j.h
	width := h.bodyWidth()
	j.rows = j.rows[:0]
	for _, e := range j.entries {
		if j.filter.matches(e) {
			j.rows = append(j.rows, e)
		}
	}
	head := fmt.Sprintf(" [::b]Alarm journal[::-] last %s from %s", journalWindowText(j.filter.window), formatPlantTime(j.from))
	switch {
	case j.loading:
		head += "  loading…"
	case j.err == nil:
		head += fmt.Sprintf("  %d entries, newest first", len(j.rows))
		if len(j.entries) >= journalLimit {
			head += " (the newest " + strconv.Itoa(journalLimit) + " only)"
		}
	}
	lines := []string{head}
	if f := j.filter.String(); f != "" && !j.input.open {
		lines = append(lines, " filter: "+esc(f)+"   / changes it, / Esc clears it")
	}
	if j.input.open {
		lines = append(lines, " [::b]Filter:[::-] "+esc(j.input.text)+"[::r] [::-]  alarm= priority= unit= event= since=1h or text; Enter applies, Esc clears")
	}
	j.pg.set(len(j.rows), h.bodyRows()-len(lines)-1)
	switch {
	case j.err != nil:
		lines = append(lines, "", " "+paint(colorWarn, alarmMark+"cannot read the alarm journal: "+esc(shortError(j.err))+"; R tries again"))
		j.text.SetText(strings.Join(lines, "\n"))
		return
	case j.loading && len(j.entries) == 0:
		lines = append(lines, "", " loading…")
		j.text.SetText(strings.Join(lines, "\n"))
		return
	case len(j.rows) == 0:
		lines = append(lines, "", " No alarm events in this window match.")
		j.text.SetText(strings.Join(lines, "\n"))
		return
	}
	all := make([]map[string]string, len(j.rows))
	for i, e := range j.rows {
		all[i] = j.cells(e, width)
	}
	fit := func(key, title string, limit int) tableCol { return fitCol(all, key, title, limit) }
	cols := tableCols{fit("time", "time", 19), fit("alarm", "alarm", 24), fit("prio", "prio", 8), fit("event", "event", 14)}
	if width >= 120 {
		cols = append(cols, fit("state", "state", 12), fit("value", "value", 1000), fit("user", "user", 12), fit("reason", "reason", 30))
		cols[5].right = true
	} else {
		cols[1].width = min(cols[1].width, 18)
		cols = append(cols, fit("value", "value", 1000), fit("user", "user", 10))
		cols[4].right = true
	}
	cols = append(cols, tableCol{key: "message", title: "message", width: max(width-2-cols.width(), 10)})
	lines = append(lines, "[::b]"+esc(cols.header())+"[::-]")
	for i := j.pg.off; i < min(j.pg.off+j.pg.page, len(j.rows)); i++ {
		lines = append(lines, rowMarkup(tcell.ColorDefault, "  ", cols.row(all[i]), width, i == j.pg.sel))
	}
	j.text.SetText(strings.Join(lines, "\n"))
}

// cells are the columns of one journal entry.
func (j *journal) cells(e api.JournalEntry, width int) map[string]string {
	h := j.h
	c := map[string]string{
		"time": e.Time.Format("01-02 15:04:05"), "alarm": e.Alarm, "prio": priorityShort(e.Priority),
		"event": strings.ReplaceAll(e.Event, "_", " "), "state": alarmStateText(api.AlarmStatus{State: e.State}),
		"value": tagValueText(h.last, e.Tag, api.TagValue{Value: e.Value, Quality: drivers.QualityGood}, false),
		"user":  e.User, "reason": e.Reason, "message": e.Message,
	}
	if width >= 120 {
		c["time"] = e.Time.Format("2006-01-02 15:04:05")
		c["prio"] = e.Priority
	} else if e.Reason != "" {
		c["message"] = e.Reason + " — " + e.Message
	}
	if e.Event == "out_of_service" && width < 120 {
		c["event"] = "o/s"
	}
	return c
}
