package hmi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/historian/records"
)

func init() {
	registerScreen(6, func(h *hmi) screen { return newHistory(h) })
	registerScreen(11, func(h *hmi) screen { return newRecordScreen(h) })
}

// historyWindows are the spans of plant time w cycles through.
var historyWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}

// history lists the batches of the last days, newest first; Enter opens
// one's record.
type history struct {
	h      *hmi
	flex   *tview.Flex
	head   *tview.TextView
	table  *tview.Table
	input  *tview.InputField
	typing bool // the filter field has the keys

	window  time.Duration
	filter  string
	gen     int
	loading bool
	err     string
	all     []records.Batch // newest first
	shown   []records.Batch // after the filter, in table order
	lastEnd string          // the last batch the status named when fetched
	selID   string          // the selected batch, kept across refetches
}

func newHistory(h *hmi) *history {
	hs := &history{h: h, head: newText(false), table: newTable(), window: historyWindows[1]}
	hs.input = tview.NewInputField().SetLabel(" filter /").SetFieldStyle(tcell.StyleDefault.Underline(true)).SetLabelStyle(tcell.StyleDefault)
	hs.input.SetBackgroundColor(tcell.ColorDefault)
	hs.table.SetSelectionChangedFunc(func(row, _ int) {
		if i := row - 1; i >= 0 && i < len(hs.shown) {
			hs.selID = hs.shown[i].ID
		}
	})
	hs.input.SetChangedFunc(func(text string) {
		hs.filter = text
		hs.refresh()
	})
	hs.flex = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(hs.head, 1, 0, false).
		AddItem(hs.table, 0, 1, true)
	return hs
}

func (s *history) id() string            { return "history" }
func (s *history) title() string         { return "History" }
func (s *history) view() tview.Primitive { return s.flex }

func (s *history) keys() []keyHelp {
	if s.typing {
		return []keyHelp{{"Enter", "keep filter"}, {"Esc", "clear filter"}}
	}
	return []keyHelp{{"↑↓", "select"}, {"Enter", "record"}, {"/", "filter"}, {"w", "24 h/7 d/30 d"}}
}

func (s *history) enter(arg string) {
	if arg != "" {
		s.filter = arg
		s.input.SetText(arg)
	}
	s.fetch()
}

// fetch asks for the batches that started in the window up to the latest
// plant time.
func (s *history) fetch() {
	h := s.h
	if h.last == nil || h.ctx == nil {
		return
	}
	to := h.last.Time
	from := to.Add(-s.window)
	if lb := h.last.LastBatch; lb != nil {
		s.lastEnd = lb.ID
	}
	s.gen++
	gen := s.gen
	if h.spawn(h.ctx, func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		bs, err := h.client.Batches(rctx, from, to.Add(time.Second))
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() {
			if gen != s.gen {
				return
			}
			s.loading = false
			if err != nil {
				s.err = "cannot fetch the batches: " + trendError(err)
			} else {
				s.err = ""
				slices.Reverse(bs)
				s.all = bs
			}
			if h.front() == s {
				s.refresh()
			}
		})
	}) {
		s.loading = true
	}
}

func (s *history) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if s.typing {
		switch ev.Key() {
		case tcell.KeyEscape:
			s.input.SetText("")
			s.closeInput()
		case tcell.KeyEnter:
			s.closeInput()
		default:
			s.input.InputHandler()(ev, func(p tview.Primitive) {})
		}
		return nil
	}
	switch ev.Key() {
	case tcell.KeyEnter:
		row, _ := s.table.GetSelection()
		if i := row - 1; i >= 0 && i < len(s.shown) {
			s.h.open("record", s.shown[i].ID, true)
		}
		return nil
	case tcell.KeyRune:
	default:
		return ev
	}
	switch ev.Rune() {
	case '/':
		s.typing = true
		s.flex.AddItem(s.input, 1, 0, false)
		s.h.app.SetFocus(s.input)
		s.h.showKeys()
	case 'w':
		i := slices.Index(historyWindows, s.window)
		s.window = historyWindows[(i+1)%len(historyWindows)]
		s.fetch()
		s.refresh()
	default:
		return ev
	}
	return nil
}

// closeInput gives the keys back to the table.
func (s *history) closeInput() {
	s.typing = false
	s.flex.RemoveItem(s.input)
	s.h.app.SetFocus(s.flex)
	s.h.showKeys()
}

// matches says whether a batch contains the filter text.
func (s *history) matches(b records.Batch) bool {
	if s.filter == "" {
		return true
	}
	f := strings.ToLower(s.filter)
	for _, v := range []string{b.ID, b.Recipe, b.WasteClass, string(b.State), b.User} {
		if strings.Contains(strings.ToLower(v), f) {
			return true
		}
	}
	return false
}

// historyCol is one column of the table: its title, whether it is right
// aligned, and its text for a batch.
type historyCol struct {
	title string
	right bool
	text  func(b records.Batch, now time.Time) string
}

// historyCols in the table's order, each with its rank of importance: as
// the terminal narrows, the table drops the columns of the highest ranks.
var historyCols = []struct {
	historyCol
	rank int
}{
	{historyCol{" Batch", false, func(b records.Batch, _ time.Time) string { return " " + b.ID }}, 0},
	{historyCol{"Recipe", false, func(b records.Batch, _ time.Time) string { return b.Recipe }}, 6},
	{historyCol{"Ver", true, func(b records.Batch, _ time.Time) string { return fmt.Sprintf("v%d", b.RecipeVersion) }}, 10},
	{historyCol{"Class", false, func(b records.Batch, _ time.Time) string { return b.WasteClass }}, 9},
	{historyCol{"Start", false, func(b records.Batch, _ time.Time) string { return b.Start.Format("01-02 15:04") }}, 1},
	{historyCol{"Duration", true, func(b records.Batch, now time.Time) string {
		end := b.End
		if end.IsZero() {
			end = now
		}
		return formatElapsed(end.Sub(b.Start))
	}}, 7},
	{historyCol{"State", false, func(b records.Batch, _ time.Time) string { return string(b.State) }}, 2},
	{historyCol{"In kg", true, func(b records.Batch, _ time.Time) string { return fmt.Sprintf("%.1f", b.KgReceived) }}, 3},
	{historyCol{"Cake kg", true, func(b records.Batch, _ time.Time) string { return fmt.Sprintf("%.1f", b.KgCake) }}, 8},
	{historyCol{"Closure", true, func(b records.Batch, _ time.Time) string {
		if b.ClosurePct == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f %%", b.ClosurePct)
	}}, 4},
	{historyCol{"Jams", true, func(b records.Batch, _ time.Time) string { return fmt.Sprint(b.Jams) }}, 5},
}

func (s *history) refresh() {
	h := s.h
	if h.last == nil {
		s.head.SetText(" waiting for the controller…")
		return
	}
	if lb := h.last.LastBatch; lb != nil && lb.ID != s.lastEnd && !s.loading {
		s.fetch() // a batch has ended since
	}
	width := max(h.cols, 40) - 1
	now := h.last.Time
	s.shown = s.shown[:0]
	for _, b := range s.all {
		if s.matches(b) {
			s.shown = append(s.shown, b)
		}
	}
	head := fmt.Sprintf(" [::b]Batches of the last %s[::-] (plant time), newest first: %d", windowText(s.window), len(s.shown))
	if s.filter != "" {
		head += fmt.Sprintf(" of %d matching %q", len(s.all), s.filter)
	}
	if s.loading {
		head += "  loading…"
	}
	if s.err != "" {
		head = " " + paint(colorWarn, alarmMark+esc(s.err))
	}
	s.head.SetText(head)

	// Column widths; the least important columns go when they do not fit.
	texts := make([][]string, len(historyCols))
	widths := make([]int, len(historyCols))
	for c, col := range historyCols {
		widths[c] = len([]rune(col.title))
		for _, b := range s.shown {
			t := col.text(b, now)
			if col.title == "State" && b.State == records.BatchAborted {
				t = alarmMark + t
			}
			texts[c] = append(texts[c], t)
			widths[c] = max(widths[c], len([]rune(t)))
		}
	}
	use := make([]bool, len(historyCols))
	total := 0
	for rank := range historyCols {
		for c, col := range historyCols {
			if col.rank == rank && total+widths[c]+1 <= width {
				use[c] = true
				total += widths[c] + 1
			}
		}
	}
	s.table.Clear()
	x := 0
	for c, col := range historyCols {
		if !use[c] {
			continue
		}
		cell := tview.NewTableCell("[::b]" + col.title + "[::-]").SetSelectable(false).SetTextColor(tcell.ColorDefault)
		if col.right {
			cell.SetAlign(tview.AlignRight)
		}
		s.table.SetCell(0, x, cell)
		for i, b := range s.shown {
			cell := tview.NewTableCell(esc(texts[c][i])).SetTextColor(tcell.ColorDefault)
			if col.right {
				cell.SetAlign(tview.AlignRight)
			}
			switch {
			case col.title == "State" && b.State == records.BatchAborted:
				cell.SetTextColor(colorBad)
			case col.title == "State" && (b.State == records.BatchHeld || b.State == records.BatchInterrupted):
				cell.SetTextColor(colorWarn)
			}
			s.table.SetCell(i+1, x, cell)
		}
		x++
	}
	s.table.SetSeparator(' ')
	if len(s.shown) == 0 {
		msg := " no batch in this range"
		switch {
		case s.loading:
			msg = " loading…"
		case s.filter != "":
			msg = " no batch matches the filter"
		}
		s.table.SetCell(1, 0, tview.NewTableCell(msg).SetSelectable(false).SetTextColor(tcell.ColorDefault))
		s.table.SetSelectable(false, false)
		return
	}
	sel := 0
	for i, b := range s.shown {
		if b.ID == s.selID {
			sel = i
		}
	}
	s.table.SetSelectable(true, false)
	s.table.Select(sel+1, 0)
}

// recordScreen is a batch's whole record.
type recordScreen struct {
	h    *hmi
	text *tview.TextView

	batch   string
	gen     int
	loading bool
	err     string
	rec     *records.Batch
}

func newRecordScreen(h *hmi) *recordScreen {
	t := newText(true)
	t.SetScrollable(true)
	return &recordScreen{h: h, text: t}
}

func (r *recordScreen) id() string            { return "record" }
func (r *recordScreen) view() tview.Primitive { return r.text }

func (r *recordScreen) title() string {
	if r.batch == "" {
		return "Record"
	}
	return "Record " + r.batch
}

func (r *recordScreen) keys() []keyHelp {
	return []keyHelp{{"↑↓ PgUp PgDn", "scroll"}}
}

func (r *recordScreen) onKey(ev *tcell.EventKey) *tcell.EventKey { return ev }

func (r *recordScreen) enter(arg string) {
	r.batch = strings.TrimSpace(arg)
	r.rec, r.err = nil, ""
	r.text.ScrollToBeginning()
	if r.batch == "" {
		return
	}
	h := r.h
	r.gen++
	gen, id := r.gen, r.batch
	if h.ctx == nil {
		return
	}
	if h.spawn(h.ctx, func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		rec, err := h.client.Batch(rctx, id)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() {
			if gen != r.gen {
				return
			}
			r.loading = false
			if err != nil {
				r.err = "cannot fetch the record of " + id + ": " + trendError(err)
			} else {
				r.rec = rec
			}
			if h.front() == r {
				r.refresh()
			}
		})
	}) {
		r.loading = true
	}
}

func (r *recordScreen) refresh() {
	h := r.h
	width := max(h.cols, 40) - 1
	switch {
	case r.batch == "":
		r.text.SetText(" Which batch? Type :record ID, or choose one in the history (6).")
		return
	case r.err != "":
		r.text.SetText(strings.Join(packItems(" ", []string{paint(colorWarn, alarmMark+esc(r.err))}, width), "\n"))
		return
	case r.rec == nil:
		r.text.SetText(" loading the record of " + esc(r.batch) + "…")
		return
	}
	now := time.Now()
	if h.last != nil {
		now = h.last.Time
	}
	r.text.SetText(strings.Join(recordLines(r.rec, now, width, h.tagInfo), "\n"))
}

// recordLines are the whole record of a batch.
func recordLines(rec *records.Batch, now time.Time, width int, info func(string) (int, string, bool)) []string {
	state := string(rec.State)
	switch rec.State {
	case records.BatchAborted:
		state = paint(colorBad, alarmMark+state)
	case records.BatchHeld, records.BatchInterrupted:
		state = paint(colorWarn, alarmMark+state)
	}
	end := rec.End
	endText := "ended " + rec.End.Format("2006-01-02 15:04:05")
	if end.IsZero() {
		end, endText = now, "not ended"
	}
	recipe := fmt.Sprintf("%s v%d", esc(rec.Recipe), rec.RecipeVersion)
	if rec.RecipeHash != "" {
		recipe += " (" + esc(cut(rec.RecipeHash, 10)) + ")"
	}
	facts := []string{
		"[::b]Batch " + esc(rec.ID) + "[::-]", state, "line " + esc(rec.Line), "recipe " + recipe, "class " + esc(rec.WasteClass),
		"started " + rec.Start.Format("2006-01-02 15:04:05"), endText, "duration " + formatElapsed(end.Sub(rec.Start)),
	}
	if rec.User != "" {
		facts = append(facts, "by "+esc(rec.User))
	}
	facts = append(facts, "target "+formatKg(rec.TargetKg))
	if rec.CakeDS != 0 || rec.CakeDSTarget != 0 {
		facts = append(facts, dsText("cake DS", rec.CakeDS, rec.CakeDSTarget))
	}
	if rec.SlurryDS != 0 || rec.SlurryDSTarget != 0 {
		facts = append(facts, dsText("slurry DS", rec.SlurryDS, rec.SlurryDSTarget))
	}
	lines := packItems(" ", facts, width)
	lines = append(lines, "")
	pw := width
	if width >= 140 {
		pw = width/2 - 1
	}
	var right []string
	rw := rightWidth(width)
	right = append(right, massLines(massOfRecord(rec), rw)...)
	right = append(right, energyLines(rec.KWh, rec, rw)...)
	if len(rec.Metered) > 0 {
		right = append(right, packItems(" Metered: ", []string{esc(strings.Join(rec.Metered, ", "))}, rw)...)
	}
	right = append(right, jamLine(rec))
	right = append(right, deliveryLines(rec.Deliveries, rw)...)
	phases := phaseLines(rec, now, pw, info, -1)
	if width < 140 {
		phases = append(phases, "")
	}
	lines = append(lines, sideBySide(phases, right, width)...)

	// What happened, in time order.
	type ev struct {
		t    time.Time
		text string
	}
	var evs []ev
	for _, o := range rec.Overrides {
		evs = append(evs, ev{o.Time, fmt.Sprintf("override %s %s: %s → %s by %s", esc(o.Unit), esc(o.Parameter), formatNumber(o.Old), formatNumber(o.New), esc(o.User))})
	}
	for _, a := range rec.Actions {
		t := "command " + esc(a.Command)
		if a.Detail != "" {
			t += " " + esc(a.Detail)
		}
		if a.User != "" {
			t += " by " + esc(a.User)
		}
		evs = append(evs, ev{a.Time, t})
	}
	for _, a := range rec.Alarms {
		t := "alarm " + esc(a.Alarm) + " " + esc(strings.ReplaceAll(a.State, "_", " "))
		if a.User != "" {
			t += " by " + esc(a.User)
		}
		evs = append(evs, ev{a.Time, t})
	}
	for _, n := range rec.Notes {
		t := "note "
		if n.Unit != "" {
			t += esc(n.Unit) + ": "
		}
		evs = append(evs, ev{n.Time, t + esc(n.Text)})
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.t.Compare(b.t) })
	lines = append(lines, "", fmt.Sprintf(" [::b]Events (%d)[::-]", len(evs)))
	if len(evs) == 0 {
		lines = append(lines, " none recorded")
	}
	for _, e := range evs {
		lines = append(lines, packItems(" "+e.t.Format("15:04:05")+" ", []string{e.text}, width)...)
	}
	return lines
}

// dsText is a dry solids reading against its target.
func dsText(what string, v, target float64) string {
	s := fmt.Sprintf("%s %.1f %%", what, v)
	if target != 0 {
		s += fmt.Sprintf(" (target %.1f %%)", target)
	}
	return s
}
