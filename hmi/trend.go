package hmi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

func init() { registerScreen(4, func(h *hmi) screen { return newTrend(h) }) }

// Trend screen settings.
const (
	maxPens      = 4
	trendTimeout = 10 * time.Second
	axisLabelW   = 8 // cells of a y axis label
)

// trendFollowEvery is how often, in wall time, a following trend fetches
// its window again while it is in front.
var trendFollowEvery = 5 * time.Second

// trendWindows are the windows w cycles through.
var trendWindows = []time.Duration{10 * time.Minute, time.Hour, 8 * time.Hour, 24 * time.Hour}

// Each pen's marks: the mean of a bucket and the span from its minimum to
// its maximum. They differ in shape, not colour, so that pens can be told
// apart on any terminal.
var (
	penMean = []rune{'●', '○', '◆', '◇'}
	penSpan = []rune{'┃', '·', '╎', '┆'}
)

// trendReq is one trend request: what was asked, so that the answer can
// be drawn on the same axis.
type trendReq struct {
	tags     []string
	from, to time.Time
	points   int
}

func (r trendReq) same(o trendReq) bool {
	return slices.Equal(r.tags, o.tags) && r.to.Sub(r.from) == o.to.Sub(o.from) && r.points == o.points
}

// trend is the trend display: up to four pens over a window of plant time,
// each bucket drawn as its min..max span and its mean, with a cursor whose
// readout gives every pen's values at that time.
type trend struct {
	h    *hmi
	text *fastText

	pens   []string
	window time.Duration
	// fixedFrom and fixedTo are a custom range (e); zero when the window
	// ends at the latest plant time.
	fixedFrom, fixedTo time.Time
	follow             bool
	followRep          *repeater // the live refetch while following

	gen       int // increases with every request
	loading   bool
	wantFetch bool // a fetch waits for the first status
	err       string
	data      *api.Trend
	dataReq   trendReq // the request data answers
	asked     trendReq // the last request made
	cursor    int      // plot column; -1: the newest column with data
}

func newTrend(h *hmi) *trend {
	t := &trend{h: h, text: newFastText(), window: trendWindows[0], follow: true, cursor: -1}
	return t
}

func (t *trend) id() string            { return "trend" }
func (t *trend) view() tview.Primitive { return t.text }

func (t *trend) title() string {
	if len(t.pens) == 0 {
		return "Trends"
	}
	return "Trend " + strings.Join(t.pens, ", ")
}

func (t *trend) keys() []keyHelp {
	return []keyHelp{{"←→", "cursor"}, {"w", "window"}, {"e", "range"}, {"n/-", "add/remove pen"}, {"f", "follow"}}
}

// enter takes "TAG[,TAG…] [10m|1h|8h|24h]"; without tags, the pens last
// shown, or the first three of the overview's key values.
func (t *trend) enter(arg string) {
	var tags []string
	for _, f := range strings.Fields(arg) {
		if d, err := time.ParseDuration(f); err == nil && d > 0 {
			t.window = d
			continue
		}
		for _, tag := range strings.Split(f, ",") {
			if tag = strings.TrimSpace(tag); tag != "" && len(tags) < maxPens {
				tags = append(tags, tag)
			}
		}
	}
	if len(tags) > 0 {
		t.pens = tags
	}
	t.fixedFrom, t.fixedTo = time.Time{}, time.Time{}
	t.cursor = -1
	if len(t.pens) == 0 && t.h.last != nil {
		t.pens = defaultPens(t.h.last)
	}
	t.fetch()
	t.startFollow()
}

// defaultPens are the first three key values of the overview.
func defaultPens(st *api.Status) []string {
	var out []string
	for _, tv := range kpvTags(st) {
		if len(out) == 3 {
			break
		}
		out = append(out, tv.Tag)
	}
	return out
}

// startFollow (re)starts the live refetch when following.
func (t *trend) startFollow() {
	t.followRep.stop()
	t.followRep = nil
	if t.follow && t.fixedTo.IsZero() {
		t.followRep = t.h.repeatWhileFront(t, trendFollowEvery, func() {
			if !t.loading {
				t.fetch()
			}
		})
	}
}

// repeater calls a function every period while its screen is in front.
// Its fields belong to the event goroutine.
type repeater struct {
	cancel  context.CancelFunc
	stopped bool
}

// live says whether the repeater still runs.
func (r *repeater) live() bool { return r != nil && !r.stopped }

// stop ends it.
func (r *repeater) stop() {
	if r != nil {
		r.cancel()
		r.stopped = true
	}
}

// repeatWhileFront calls fn on the event goroutine every period of wall
// time while s is in front; it stops by itself once s has left the front
// (the screen starts it again when it comes back), or with stop.
func (h *hmi) repeatWhileFront(s screen, every time.Duration, fn func()) *repeater {
	if h.ctx == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(h.ctx)
	r := &repeater{cancel: cancel}
	ok := h.spawn(ctx, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			h.post(func() {
				if ctx.Err() != nil {
					return
				}
				if h.front() != s {
					r.stop()
					return
				}
				fn()
			})
		}
	})
	if !ok {
		r.stop()
	}
	return r
}

// plotWidth is the number of plot columns (and of buckets asked for) at
// the terminal's width: one y axis, and a second when there are two pens
// or more.
func (t *trend) plotWidth() int {
	cols := t.h.cols
	if cols == 0 {
		cols = 80
	}
	w := cols - 2 - axisLabelW - 1
	if len(t.pens) >= 2 {
		w -= axisLabelW + 1
	}
	return max(w, 10)
}

// request is what to fetch now.
func (t *trend) request() trendReq {
	r := trendReq{tags: append([]string(nil), t.pens...), points: t.plotWidth()}
	if !t.fixedTo.IsZero() {
		r.from, r.to = t.fixedFrom, t.fixedTo
		return r
	}
	r.to = t.h.last.Time
	r.from = r.to.Add(-t.window)
	return r
}

// fetch asks for the trend of the pens; onFail, when set, takes a failed
// answer instead of the screen (to undo an added pen).
func (t *trend) fetch() { t.fetchThen(nil) }

func (t *trend) fetchThen(onFail func(err error) bool) {
	h := t.h
	if h.last == nil {
		t.wantFetch = true
		return
	}
	t.wantFetch = false
	t.gen++
	if len(t.pens) == 0 {
		t.loading, t.data, t.err = false, nil, ""
		return
	}
	req := t.request()
	t.asked = req
	gen := t.gen
	if h.ctx == nil {
		return
	}
	if h.spawn(h.ctx, func(ctx context.Context) {
		rctx, cancel := context.WithTimeout(ctx, trendTimeout)
		tr, err := h.client.Trend(rctx, req.tags, req.from, req.to, req.points)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() { t.apply(gen, req, tr, err, onFail) })
	}) {
		t.loading = true
	}
}

// apply takes the answer to request gen, unless a newer one was made.
func (t *trend) apply(gen int, req trendReq, tr *api.Trend, err error, onFail func(error) bool) {
	if gen != t.gen {
		return
	}
	t.loading = false
	if err != nil {
		if onFail != nil && onFail(err) {
			t.err = ""
		} else {
			t.err = "cannot fetch the trend: " + trendError(err)
			if !req.same(t.dataReq) {
				t.data = nil
			}
		}
	} else {
		t.err = ""
		t.data, t.dataReq = tr, req
	}
	if t.h.front() == t {
		t.refresh()
	}
}

// trendError is the server's message for a refusal (an unknown tag), or
// the transport's complaint.
func trendError(err error) string {
	if ae, ok := errors.AsType[*api.APIError](err); ok && ae.Message != "" {
		return ae.Message
	}
	return shortError(err)
}

func (t *trend) onKey(ev *tcell.EventKey) *tcell.EventKey {
	switch ev.Key() {
	case tcell.KeyLeft:
		t.moveCursor(-1)
		return nil
	case tcell.KeyRight:
		t.moveCursor(1)
		return nil
	case tcell.KeyHome:
		t.cursor = 0
		t.refresh()
		return nil
	case tcell.KeyEnd:
		t.cursor = -1
		t.refresh()
		return nil
	case tcell.KeyRune:
	default:
		return ev
	}
	switch ev.Rune() {
	case 'w':
		t.nextWindow()
	case 'e':
		t.askRange()
	case 'n':
		t.askPen()
	case '-':
		if len(t.pens) == 0 {
			t.h.setMessage("no pen to remove")
			return nil
		}
		t.pens = t.pens[:len(t.pens)-1]
		t.fetch()
		t.refresh()
		t.h.renderFrame()
	case 'f':
		t.follow = !t.follow
		if t.follow && !t.fixedTo.IsZero() {
			t.fixedFrom, t.fixedTo = time.Time{}, time.Time{}
			t.fetch()
		}
		t.startFollow()
		t.refresh()
	default:
		return ev
	}
	return nil
}

// moveCursor moves the cursor by d columns.
func (t *trend) moveCursor(d int) {
	w := t.plotWidth()
	if t.data != nil {
		w = t.dataReq.points
	}
	c := t.cursor
	if c < 0 {
		c = t.newestColumn()
	}
	t.cursor = min(max(c+d, 0), w-1)
	t.refresh()
}

// newestColumn is the last column with data, or the last column.
func (t *trend) newestColumn() int {
	if t.data == nil {
		return t.plotWidth() - 1
	}
	cols := bucketColumns(t.data, t.dataReq)
	for i := len(cols) - 1; i >= 0; i-- {
		for _, c := range cols[i] {
			if c.ok {
				return i
			}
		}
	}
	return t.dataReq.points - 1
}

// nextWindow goes to the next live window.
func (t *trend) nextWindow() {
	next := trendWindows[0]
	for i, w := range trendWindows {
		if w == t.window && t.fixedTo.IsZero() {
			next = trendWindows[(i+1)%len(trendWindows)]
		}
	}
	t.window = next
	t.fixedFrom, t.fixedTo = time.Time{}, time.Time{}
	t.cursor = -1
	t.fetch()
	t.startFollow()
	t.refresh()
}

// askPen asks for a tag to add as a pen; a tag the server does not know is
// not added, and its answer is shown.
func (t *trend) askPen() {
	if len(t.pens) >= maxPens {
		t.h.setMessage(paint(colorWarn, alarmMark+fmt.Sprintf("at most %d pens: - removes the last", maxPens)))
		return
	}
	t.h.ask("Add a pen", []promptField{{label: "Tag", width: 40}}, func(v map[string]string) {
		tag := v["Tag"]
		if tag == "" {
			return
		}
		prev := append([]string(nil), t.pens...)
		t.pens = append(t.pens, tag)
		t.fetchThen(func(err error) bool {
			ae, ok := errors.AsType[*api.APIError](err)
			if !ok || ae.Status != 404 {
				return false
			}
			t.pens = prev
			t.h.setMessage(paint(colorWarn, alarmMark+"pen "+esc(tag)+" not added: "+esc(trendError(err))))
			t.h.renderFrame()
			return true
		})
		t.refresh()
		t.h.renderFrame()
	})
}

// askRange asks for a custom range of plant time.
func (t *trend) askRange() {
	if t.h.last == nil {
		t.h.setMessage("waiting for the controller's plant time")
		return
	}
	t.h.ask("Trend range (plant time: 15:04, 2006-01-02 15:04 or -2h)", []promptField{
		{label: "From", value: "-" + shortDuration(t.window), width: 20},
		{label: "To", value: "now", width: 20},
	}, func(v map[string]string) {
		now := t.h.last.Time
		to, err := parsePlantTime(v["To"], now, now)
		if err != nil {
			t.h.setMessage(paint(colorWarn, alarmMark+"To: "+esc(err.Error())))
			return
		}
		from, err := parsePlantTime(v["From"], to, now)
		if err != nil {
			t.h.setMessage(paint(colorWarn, alarmMark+"From: "+esc(err.Error())))
			return
		}
		if !from.Before(to) {
			t.h.setMessage(paint(colorWarn, alarmMark+"From must be before To"))
			return
		}
		t.fixedFrom, t.fixedTo = from, to
		t.follow = false
		t.cursor = -1
		t.startFollow()
		t.fetch()
		t.refresh()
	})
}

// parsePlantTime reads "15:04" (the last such time not after now),
// "2006-01-02 15:04", "-2h" (before rel) or "now".
func parsePlantTime(s string, rel, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	loc := now.Location()
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a span like -2h or -30m", s)
		}
		return rel.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		return t, nil
	}
	if c, err := time.ParseInLocation("15:04", s, loc); err == nil {
		y, m, d := now.Date()
		t := time.Date(y, m, d, c.Hour(), c.Minute(), 0, 0, loc)
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a plant time (15:04, 2006-01-02 15:04 or -2h)", s)
}

// shortDuration prints 10m, 1h, 8h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
	}
	return s
}

// windowText names a span of time for people: "10 min", "24 h", "7 d".
func windowText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d > 24*time.Hour:
		return fmt.Sprintf("%d d", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}

// refresh draws the trend for the terminal's size.
func (t *trend) refresh() {
	h := t.h
	if h.last == nil {
		t.text.SetText(" waiting for the controller…")
		return
	}
	if len(t.pens) == 0 && t.data == nil && !t.loading {
		t.pens = defaultPens(h.last)
		if len(t.pens) > 0 {
			t.wantFetch = true
		}
	}
	if t.wantFetch {
		t.fetch()
	}
	if t.follow && t.fixedTo.IsZero() && !t.followRep.live() {
		t.startFollow() // back in front
	}
	// A resize asks again, with one bucket per column (once per size, even
	// when that request fails).
	if t.data != nil && !t.loading && t.asked.points != t.plotWidth() {
		t.fetch()
	}
	width := max(h.cols, 40)
	rows := max(h.rows-7, 10)
	if h.rows == 0 {
		rows = 17
	}
	t.text.SetText(strings.Join(t.lines(width, rows), "\n"))
}

// lines lays the trend out in width×rows cells.
func (t *trend) lines(width, rows int) []string {
	var lines []string
	// The title: what range, live or fixed, and how the fetch went.
	var title string
	if t.fixedTo.IsZero() {
		title = fmt.Sprintf(" [::b]Trend[::-] last %s to %s", windowText(t.window), t.h.last.Time.Format("15:04:05"))
		if t.follow {
			title += fmt.Sprintf("  follow: live, every %s", shortDuration(trendFollowEvery))
		} else {
			title += "  follow: off (f)"
		}
	} else {
		title = fmt.Sprintf(" [::b]Trend[::-] %s – %s  fixed range (f: live)", t.fixedFrom.Format("01-02 15:04"), t.fixedTo.Format("01-02 15:04"))
	}
	if t.loading && (t.data == nil || !t.dataReq.same(t.request())) {
		title += "  loading…" // not for a follow's refetch of the same view
	}
	lines = append(lines, title)
	if t.err != "" {
		lines = append(lines, packItems(" ", []string{paint(colorWarn, alarmMark+esc(t.err))}, width-1)...)
	}
	if len(t.pens) == 0 {
		return append(lines, " No pens: press n to add a tag, or type :trend TAG.")
	}
	tr, req := t.data, t.dataReq
	if tr == nil {
		msg := " loading…"
		if !t.loading {
			msg = " no trend"
		}
		return append(lines, msg)
	}
	chart := buildChart(tr, req)
	if !chart.any {
		lines = append(lines, chart.legend(width-1)...)
		return append(lines, "", " no good samples in this range")
	}
	cursor := t.cursor
	if cursor < 0 || cursor >= req.points {
		cursor = t.newestColumn()
	}
	legend := chart.legend(width - 1)
	readout := chart.readout(cursor, width-1)
	height := rows - len(lines) - len(legend) - len(readout) - 2
	height = max(height, 3)
	lines = append(lines, legend...)
	lines = append(lines, chart.plot(height, cursor)...)
	return append(lines, readout...)
}

// bucket is what one plot column holds of one pen.
type bucket struct {
	ok             bool
	min, mean, max float64
	count          int
}

// bucketColumns spreads the trend's points over the request's columns:
// one per column when the server answered as asked; points that share a
// column are merged.
func bucketColumns(tr *api.Trend, req trendReq) [][]bucket {
	cols := make([][]bucket, req.points)
	for i := range cols {
		cols[i] = make([]bucket, len(tr.Pens))
	}
	span := req.to.Sub(req.from)
	if span <= 0 || req.points <= 0 {
		return cols
	}
	for p, pen := range tr.Pens {
		for _, pt := range pen.Points {
			off := pt.Time.Sub(req.from)
			if off < 0 {
				continue
			}
			i := int(float64(off)/float64(span)*float64(req.points) + 1e-9) // a bucket's start on a column's edge stays in it
			if i >= req.points {
				continue
			}
			b := &cols[i][p]
			n := max(pt.Count, 1)
			if !b.ok {
				*b = bucket{ok: true, min: pt.Min, mean: pt.Mean, max: pt.Max, count: n}
				continue
			}
			b.mean = (b.mean*float64(b.count) + pt.Mean*float64(n)) / float64(b.count+n)
			b.count += n
			b.min, b.max = math.Min(b.min, pt.Min), math.Max(b.max, pt.Max)
		}
	}
	return cols
}

// chart is a trend ready to draw: its columns and each pen's scale.
type chart struct {
	tr    *api.Trend
	req   trendReq
	cols  [][]bucket
	scale []int     // pen → index in scales
	lo    []float64 // per scale: the data's range
	hi    []float64
	prec  []int
	unit  []string
	any   bool
}

// buildChart groups the pens by unit (pens of one unit share a scale) and
// finds each scale's range.
func buildChart(tr *api.Trend, req trendReq) *chart {
	c := &chart{tr: tr, req: req, cols: bucketColumns(tr, req)}
	byUnit := map[string]int{}
	for _, p := range tr.Pens {
		s, ok := byUnit[p.Unit]
		if !ok {
			s = len(c.lo)
			byUnit[p.Unit] = s
			c.lo = append(c.lo, math.Inf(1))
			c.hi = append(c.hi, math.Inf(-1))
			c.prec = append(c.prec, p.Precision)
			c.unit = append(c.unit, p.Unit)
		}
		c.prec[s] = max(c.prec[s], p.Precision)
		c.scale = append(c.scale, s)
	}
	for _, col := range c.cols {
		for p, b := range col {
			if !b.ok {
				continue
			}
			c.any = true
			s := c.scale[p]
			c.lo[s] = math.Min(c.lo[s], b.min)
			c.hi[s] = math.Max(c.hi[s], b.max)
		}
	}
	return c
}

// fmtPen prints v with pen p's precision.
func (c *chart) fmtPen(p int, v float64) string {
	return formatValue(api.TagValue{Value: v, Precision: c.tr.Pens[p].Precision})
}

// legend names every pen with its marks, and its scale's range.
func (c *chart) legend(width int) []string {
	var items []string
	for p, pen := range c.tr.Pens {
		s := c.scale[p]
		item := fmt.Sprintf("%c%c %s", penMean[p%maxPens], penSpan[p%maxPens], esc(pen.Tag))
		if pen.Unit != "" {
			item += " (" + esc(pen.Unit) + ")"
		}
		if lo, hi, ok := c.penRange(p); ok {
			item += " " + c.fmtPen(p, lo) + "–" + c.fmtPen(p, hi)
		}
		if len(c.lo) > 1 {
			if p == 0 || s == c.scale[0] {
				item += " left axis"
			} else if s == c.scale[c.rightPen()] {
				item += " right axis"
			} else {
				item += " own scale"
			}
		}
		if len(pen.Points) == 0 {
			item += " no data"
		}
		items = append(items, item)
	}
	return packItems(" ", items, width)
}

// penRange is the lowest minimum and highest maximum of pen p.
func (c *chart) penRange(p int) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, col := range c.cols {
		if b := col[p]; b.ok {
			lo, hi, ok = math.Min(lo, b.min), math.Max(hi, b.max), true
		}
	}
	return lo, hi, ok
}

// rightPen is the pen whose scale the right axis shows: the first with a
// scale other than pen 1's, else pen 1.
func (c *chart) rightPen() int {
	for p := range c.tr.Pens {
		if c.scale[p] != c.scale[0] {
			return p
		}
	}
	return 0
}

// readout gives the cursor's time and each pen's min/mean/max there.
func (c *chart) readout(cursor, width int) []string {
	span := c.req.to.Sub(c.req.from)
	at := c.req.from.Add(span / time.Duration(c.req.points) * time.Duration(cursor))
	layout := "15:04:05"
	if span > 24*time.Hour {
		layout = "01-02 15:04"
	}
	items := []string{fmt.Sprintf("[::r]▲[::-] %s min / mean / max:", at.Format(layout))}
	for p, pen := range c.tr.Pens {
		b := c.cols[cursor][p]
		item := fmt.Sprintf("%c %s ", penMean[p%maxPens], esc(pen.Tag))
		if !b.ok {
			item += "no data"
		} else {
			item += c.fmtPen(p, b.min) + " / " + c.fmtPen(p, b.mean) + " / " + c.fmtPen(p, b.max)
			if pen.Unit != "" {
				item += " " + esc(pen.Unit)
			}
		}
		items = append(items, item)
	}
	return packItems(" ", items, width)
}

// niceRange widens lo..hi to round numbers, in steps no finer than the
// precision allows, with about ticks steps.
func niceRange(lo, hi float64, prec, ticks int) (nlo, nhi, step float64) {
	unit := math.Pow(10, -float64(prec))
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi-lo < unit {
		d := math.Max(math.Abs(hi)*0.05, unit)
		lo, hi = lo-d, hi+d
	}
	raw := (hi - lo) / float64(max(ticks, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	step = math.Max(step, unit)
	nlo = math.Floor(lo/step+1e-9) * step
	nhi = math.Ceil(hi/step-1e-9) * step
	if nhi <= nlo {
		nhi = nlo + step
	}
	return nlo, nhi, step
}

// axis is one y axis: its range and labels by plot row.
type axis struct {
	lo, hi float64
	labels map[int]string
}

func (c *chart) axis(s, height int) axis {
	lo, hi, step := niceRange(c.lo[s], c.hi[s], c.prec[s], max(2, height/3))
	a := axis{lo: lo, hi: hi, labels: map[int]string{}}
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > hi+step/2 {
			break
		}
		r := a.row(v, height)
		if _, taken := a.labels[r]; !taken {
			a.labels[r] = formatValue(api.TagValue{Value: v, Precision: c.prec[s]})
		}
	}
	return a
}

// row is the plot row of v: 0 at the top.
func (a axis) row(v float64, height int) int {
	r := int(math.Round((a.hi - v) / (a.hi - a.lo) * float64(height-1)))
	return min(max(r, 0), height-1)
}

// plot draws the plot area with its axes, height rows high, the cursor
// column in reverse video, then the time axis and its labels.
func (c *chart) plot(height, cursor int) []string {
	w := c.req.points
	axes := make([]axis, len(c.lo))
	for s := range c.lo {
		axes[s] = c.axis(s, height)
	}
	grid := make([][]rune, height)
	for r := range grid {
		grid[r] = []rune(strings.Repeat(" ", w))
	}
	// Spans first, then means over them; pen 1 last so that it is on top.
	for p := len(c.tr.Pens) - 1; p >= 0; p-- {
		a := axes[c.scale[p]]
		for x, col := range c.cols {
			b := col[p]
			if !b.ok {
				continue
			}
			for r := a.row(b.max, height); r <= a.row(b.min, height); r++ {
				grid[r][x] = penSpan[p%maxPens]
			}
		}
	}
	for p := len(c.tr.Pens) - 1; p >= 0; p-- {
		a := axes[c.scale[p]]
		for x, col := range c.cols {
			if b := col[p]; b.ok {
				grid[a.row(b.mean, height)][x] = penMean[p%maxPens]
			}
		}
	}
	two := len(c.tr.Pens) >= 2
	left, right := axes[c.scale[0]], axes[c.scale[c.rightPen()]]
	var lines []string
	for r := range height {
		var b strings.Builder
		b.WriteString(" ")
		if l, ok := left.labels[r]; ok {
			fmt.Fprintf(&b, "%*s┤", axisLabelW, l)
		} else {
			fmt.Fprintf(&b, "%*s│", axisLabelW, "")
		}
		row := grid[r]
		b.WriteString(string(row[:cursor]))
		b.WriteString("[::r]" + string(row[cursor]) + "[::-]")
		b.WriteString(string(row[cursor+1:]))
		if two {
			if l, ok := right.labels[r]; ok {
				b.WriteString("├" + l)
			} else {
				b.WriteString("│")
			}
		}
		lines = append(lines, b.String())
	}
	// The time axis.
	span := c.req.to.Sub(c.req.from)
	colDur := span / time.Duration(w)
	every := tickInterval(colDur, span)
	axisRow := []rune(strings.Repeat("─", w))
	labels := []rune(strings.Repeat(" ", w+axisLabelW+2))
	layout := "15:04"
	for tk := c.req.from.Truncate(every); !tk.After(c.req.to); tk = tk.Add(every) {
		if tk.Before(c.req.from) {
			continue
		}
		x := int(tk.Sub(c.req.from) / colDur)
		if x >= w {
			break
		}
		axisRow[x] = '┴'
		text := []rune(tk.Format(layout))
		if tk.Hour() == 0 && tk.Minute() == 0 && every >= time.Hour {
			text = []rune(tk.Format("01-02"))
		}
		start := x + axisLabelW + 2 - len(text)/2
		if start < 0 || start+len(text) > len(labels) {
			continue
		}
		free := true
		for i := max(start-1, 0); i < min(start+len(text)+1, len(labels)); i++ {
			if labels[i] != ' ' {
				free = false
			}
		}
		if free {
			copy(labels[start:], text)
		}
	}
	axisRow[cursor] = '▲'
	end := ""
	if two {
		end = "┘"
	}
	lines = append(lines, " "+strings.Repeat(" ", axisLabelW)+"└"+string(axisRow)+end)
	lines = append(lines, strings.TrimRight(string(labels), " "))
	return lines
}

// tickInterval is a round interval of time that leaves about twelve cells
// between the time axis's labels.
func tickInterval(colDur, span time.Duration) time.Duration {
	for _, d := range []time.Duration{
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if d >= 12*colDur {
			return d
		}
	}
	return max(span/4, time.Minute)
}

// packItems puts markup items on lines of at most width cells, separated by
// three spaces; an item that does not fit goes to the next line, indented,
// so that no value is ever cut.
func packItems(prefix string, items []string, width int) []string {
	var lines []string
	cur := prefix
	indent := strings.Repeat(" ", tview.TaggedStringWidth(prefix))
	if strings.TrimSpace(prefix) == "" {
		indent += "  "
	}
	empty := true
	for _, it := range items {
		sep := "   "
		if empty {
			sep = ""
		}
		if !empty && tview.TaggedStringWidth(cur+sep+it) > width {
			lines = append(lines, cur)
			cur, sep = indent, ""
		}
		cur += sep + it
		empty = false
	}
	if !empty {
		lines = append(lines, cur)
	}
	return lines
}
