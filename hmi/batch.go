package hmi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian/records"
)

func init() { registerScreen(5, func(h *hmi) screen { return newBatchScreen(h) }) }

// Batch record fetches.
const (
	recordTimeout = 10 * time.Second
)

// batchRecordEvery is how often, in wall time, the batch screen fetches
// the running batch's record again while it is in front.
var batchRecordEvery = 5 * time.Second

// offTarget is how far a phase's mean may be from its setpoint, as a
// fraction of the setpoint, before the batch screens mark it.
const offTarget = 0.05

// batchScreen is the running batch: where it stands, its progress, the
// phases so far with setpoint against actual, the mass balance, the energy
// and the deliveries feeding it.
type batchScreen struct {
	h    *hmi
	text *tview.TextView

	rep      *repeater // fetches the record again while in front
	gen      int
	rec      *records.Batch // the running batch's record, nil until fetched
	err      string
	asking   string // the batch id of the fetch in flight
	askedFor string // the batch id last asked for
}

func newBatchScreen(h *hmi) *batchScreen {
	t := newText(false)
	t.SetScrollable(true)
	return &batchScreen{h: h, text: t}
}

func (b *batchScreen) id() string            { return "batch" }
func (b *batchScreen) title() string         { return "Batch" }
func (b *batchScreen) view() tview.Primitive { return b.text }

func (b *batchScreen) keys() []keyHelp {
	return []keyHelp{{"↑↓", "scroll"}, {"Enter", "full record"}}
}

func (b *batchScreen) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyEnter {
		if id := b.batchID(); id != "" {
			b.h.open("record", id, true)
		}
		return nil
	}
	return ev
}

// batchID is the running batch's id, or the last batch's.
func (b *batchScreen) batchID() string {
	st := b.h.last
	switch {
	case st == nil:
		return ""
	case st.Batch != nil:
		return st.Batch.ID
	case st.LastBatch != nil:
		return st.LastBatch.ID
	}
	return ""
}

func (b *batchScreen) enter(string) {
	b.text.ScrollToBeginning()
	b.fetch()
	b.rep.stop()
	b.rep = b.h.repeatWhileFront(b, batchRecordEvery, b.fetch)
}

// fetch asks for the running batch's record.
func (b *batchScreen) fetch() {
	h := b.h
	id := b.batchID()
	if id == "" || h.ctx == nil || b.asking != "" {
		return
	}
	b.gen++
	gen := b.gen
	b.askedFor = id
	if h.spawn(h.ctx, func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		rec, err := h.client.Batch(rctx, id)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() {
			b.asking = ""
			if gen != b.gen {
				return
			}
			if err != nil {
				b.err = "cannot fetch the batch record: " + trendError(err)
			} else {
				b.err, b.rec = "", rec
			}
			if h.front() == b {
				b.refresh()
			}
		})
	}) {
		b.asking = id
	}
}

func (b *batchScreen) refresh() {
	h := b.h
	st := h.last
	if st == nil {
		b.text.SetText(" waiting for the controller…")
		return
	}
	width := max(h.cols, 40) - 1
	rows := max(h.rows-7, 10)
	if h.rows == 0 {
		rows = 17
	}
	if !b.rep.live() && h.ctx != nil {
		b.rep = h.repeatWhileFront(b, batchRecordEvery, b.fetch) // back in front
	}
	bs := st.Batch
	if bs == nil {
		var lines []string
		lines = append(lines, " [::b]No batch running.[::-] Press s to start one.", "")
		if lb := st.LastBatch; lb != nil {
			lines = append(lines, " Last batch:")
			lines = append(lines, batchHead(lb, st.Time, width)...)
			lines = append(lines, massLines(massOf(lb), width)...)
			lines = append(lines, " Enter shows its record.")
		}
		b.text.SetText(strings.Join(lines, "\n"))
		return
	}
	if bs.ID != b.askedFor {
		b.fetch() // a new batch: once, then every batchRecordEvery
	}
	rec := b.rec
	if rec != nil && rec.ID != bs.ID {
		rec = nil // the record of the batch before
	}
	head := batchHead(bs, st.Time, width)
	head = append(head, progressLine(bs, width))
	if b.err != "" {
		head = append(head, packItems(" ", []string{paint(colorWarn, alarmMark+esc(b.err))}, width)...)
	}
	var right []string
	right = append(right, massLines(massOf(bs), rightWidth(width))...)
	right = append(right, energyLines(bs.KWh, rec, rightWidth(width))...)
	if rec != nil {
		right = append(right, jamLine(rec))
		right = append(right, deliveryLines(rec.Deliveries, rightWidth(width))...)
	}
	lines := head
	if rec == nil {
		if b.err == "" {
			lines = append(lines, " phases: loading…")
		}
		lines = append(lines, right...)
	} else {
		pw := width
		if width >= 140 {
			pw = width/2 - 1
		}
		// The phases in full when they fit, else the past ones in one
		// line each and the phase now in full.
		phases := phaseLines(rec, st.Time, pw, h.tagInfo, -1)
		room := rows - len(head)
		if width < 140 {
			room -= len(right)
		}
		if len(phases) > room {
			phases = phaseLines(rec, st.Time, pw, h.tagInfo, len(rec.Phases)-1)
		}
		lines = append(lines, sideBySide(phases, right, width)...)
	}
	b.text.SetText(strings.Join(lines, "\n"))
}

// rightWidth is the width of the right column of a wide screen.
func rightWidth(width int) int {
	if width >= 140 {
		return width - width/2 - 1
	}
	return width
}

// sideBySide puts right beside left on a wide screen, below it otherwise.
func sideBySide(left, right []string, width int) []string {
	if width < 140 {
		return append(append([]string(nil), left...), right...)
	}
	colW := width/2 - 1
	var out []string
	for i := range max(len(left), len(right)) {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = append(out, strings.TrimRight(padMarkup(l, colW)+"  "+r, " "))
	}
	return out
}

// batchHead is the batch's id, recipe, phase and times.
func batchHead(bs *api.BatchStatus, now time.Time, width int) []string {
	end := now
	if !bs.End.IsZero() {
		end = bs.End
	}
	items := []string{
		"[::b]Batch " + esc(bs.ID) + "[::-]",
		recipeText(bs),
		"phase " + phaseText(bs),
	}
	if !bs.PhaseStart.IsZero() && bs.End.IsZero() {
		items[2] += " for " + formatElapsed(now.Sub(bs.PhaseStart))
	}
	items = append(items, "started "+bs.Start.Format("15:04:05"), "elapsed "+formatElapsed(end.Sub(bs.Start)))
	return packItems(" ", items, width)
}

// progressLine is a bar of the kg received against the target.
func progressLine(bs *api.BatchStatus, width int) string {
	pct := 0.0
	if bs.TargetKg > 0 {
		pct = math.Min(100, 100*bs.KgReceived/bs.TargetKg)
	}
	barW := min(40, max(width-50, 10))
	filled := int(math.Round(pct / 100 * float64(barW)))
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barW-filled)
	return fmt.Sprintf(" Received %s %3.0f %%  %s of %s", bar, pct, formatKg(bs.KgReceived), formatKg(bs.TargetKg))
}

// mass is a batch's mass balance.
type mass struct {
	received, water, holdStart, cake, filtrate, rejects, holdEnd, closure float64
	ended                                                                 bool
}

func massOf(bs *api.BatchStatus) mass {
	return mass{bs.KgReceived, bs.KgWater, bs.KgHoldupStart, bs.KgCake, bs.KgFiltrate, bs.KgRejects, bs.KgHoldupEnd, bs.ClosurePct, !bs.End.IsZero()}
}

func massOfRecord(r *records.Batch) mass {
	return mass{r.KgReceived, r.KgWater, r.KgHoldupStart, r.KgCake, r.KgFiltrate, r.KgRejects, r.KgHoldupEnd, r.ClosurePct, r.State.Ended()}
}

// closureText is the closure in %, marked when a finished batch's balance
// is more than 5 % out.
func closureText(m mass) string {
	s := fmt.Sprintf("closure %.1f %%", m.closure)
	if m.closure == 0 && !m.ended {
		return "closure —"
	}
	if m.ended && math.Abs(m.closure-100) > 5 {
		return paint(colorWarn, alarmMark+s)
	}
	return s
}

// massLines are the mass balance: what went in, what came out, and the
// closure.
func massLines(m mass, width int) []string {
	in := packItems(" Mass in:  ", []string{
		"received " + formatKg(m.received), "water " + formatKg(m.water), "hold-up at start " + formatKg(m.holdStart),
	}, width)
	out := packItems(" Mass out: ", []string{
		"cake " + formatKg(m.cake), "filtrate " + formatKg(m.filtrate), "rejects " + formatKg(m.rejects),
		"hold-up " + formatKg(m.holdEnd), closureText(m),
	}, width)
	return append(in, out...)
}

// energyLines are the batch's energy, by unit when the record says.
func energyLines(kwh float64, rec *records.Batch, width int) []string {
	items := []string{fmt.Sprintf("Energy %.1f kWh", kwh)}
	if rec != nil {
		units := make([]string, 0, len(rec.KWhByUnit))
		for u := range rec.KWhByUnit {
			units = append(units, u)
		}
		slices.Sort(units)
		for _, u := range units {
			items = append(items, fmt.Sprintf("%s %.1f", esc(u), rec.KWhByUnit[u]))
		}
	}
	return packItems(" ", items, width)
}

// jamLine counts the jams: past and cleared, so not coloured.
func jamLine(rec *records.Batch) string {
	return fmt.Sprintf(" Jams %d, reversals %d", rec.Jams, rec.Reversals)
}

// deliveryLines list the loads a batch took.
func deliveryLines(ds []records.DeliveryShare, width int) []string {
	if len(ds) == 0 {
		return []string{" Deliveries: none recorded yet"}
	}
	total := 0.0
	for _, d := range ds {
		total += d.Kg
	}
	var items []string
	for _, d := range ds {
		item := fmt.Sprintf("%s %s %s %s", esc(d.Ticket), esc(d.Supplier), esc(d.WasteClass), formatKg(d.Kg))
		if total > 0 && len(ds) > 1 {
			item += fmt.Sprintf(" (%.0f %%)", 100*d.Kg/total)
		}
		items = append(items, item)
	}
	return packItems(" Deliveries: ", items, width)
}

// tagInfo is the precision and unit of a tag as the status reports it.
func (h *hmi) tagInfo(tag string) (prec int, unit string, ok bool) {
	st := h.last
	if st == nil {
		return 0, "", false
	}
	for _, u := range st.Units {
		for _, tv := range u.Values {
			if tv.Tag == tag {
				return tv.Precision, tv.Unit, true
			}
		}
	}
	for _, tv := range st.Tags {
		if tv.Tag == tag {
			return tv.Precision, tv.Unit, true
		}
	}
	return 0, "", false
}

// sigValue prints a signal's value with its tag's precision.
func sigValue(v float64, prec int, known bool) string {
	if !known {
		return formatNumber(v)
	}
	return formatValue(api.TagValue{Value: v, Precision: prec})
}

// isOffTarget says whether a signal's mean missed its setpoint. A signal
// that stayed at zero through the phase belongs to a unit the phase did not
// run (the shredder while waste is tipped): it is not off target.
func isOffTarget(s records.SignalStats, prec int) bool {
	if !s.HasSP || s.Samples == 0 || notRunning(s) {
		return false
	}
	tol := math.Max(math.Abs(s.Setpoint)*offTarget, math.Pow(10, -float64(prec)))
	return math.Abs(s.Mean-s.Setpoint) > tol
}

// phaseLines are the phases of a record: name, start, duration, and per
// signal the setpoint against the mean (min–max), off-target in the warning
// colour. Phases before expandFrom (unless it is negative) take one line
// each, counting their signals off target.
func phaseLines(rec *records.Batch, now time.Time, width int, info func(string) (int, string, bool), expandFrom int) []string {
	lines := []string{" [::b]Phase       Start     Duration  setpoint → mean (min–max)[::-]"}
	if len(rec.Phases) == 0 {
		return append(lines, " (no phase recorded yet)")
	}
	tagW := 12
	for _, p := range rec.Phases {
		for _, s := range p.Signals {
			tagW = max(tagW, len([]rune(s.Tag)))
		}
	}
	tagW = min(tagW, max(width/3, 12))
	for i, p := range rec.Phases {
		end, running := p.End, p.End.IsZero()
		if running {
			end = now
			if rec.State.Ended() {
				end = rec.End
			}
		}
		line := fmt.Sprintf(" %-11s %s  %s", esc(p.Name), p.Start.Format("15:04:05"), formatElapsed(end.Sub(p.Start)))
		if running && !rec.State.Ended() {
			line += "  now"
		}
		off := 0
		var sig []string
		for _, s := range p.Signals {
			prec, unit, known := info(s.Tag)
			sp := "—"
			if s.HasSP {
				sp = sigValue(s.Setpoint, prec, known)
			}
			act := "no good samples"
			if s.Samples > 0 {
				act = fmt.Sprintf("%s (%s–%s)", sigValue(s.Mean, prec, known), sigValue(s.Min, prec, known), sigValue(s.Max, prec, known))
			}
			if unit != "" {
				act += " " + esc(unit)
			}
			if s.HasSP && s.Samples > 0 && notRunning(s) {
				act += "  not running in this phase"
			}
			tag := s.Tag
			if len([]rune(tag)) > tagW {
				tag = cut(tag, tagW)
			}
			text := fmt.Sprintf("   %-*s %s → %s", tagW, esc(tag), padLeftMarkup(sp, 8), act)
			if isOffTarget(s, prec) {
				off++
				text = paint(colorWarn, alarmMark+strings.TrimPrefix(text, "  ")+"  off target")
			}
			sig = append(sig, text)
		}
		if expandFrom >= 0 && i < expandFrom {
			switch {
			case off > 0:
				line += "  " + paint(colorWarn, fmt.Sprintf("%s%d of %d off target", alarmMark, off, len(p.Signals)))
			case len(p.Signals) > 0:
				line += fmt.Sprintf("  %d on target", len(p.Signals))
			}
			lines = append(lines, line)
			continue
		}
		lines = append(lines, line)
		lines = append(lines, sig...)
	}
	return lines
}

// notRunning says whether a signal read zero throughout.
func notRunning(s records.SignalStats) bool { return s.Min == 0 && s.Max == 0 }
