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
)

// sparkWindow is how much plant time the overview's sparklines show.
const sparkWindow = 10 * time.Minute

// overview is level 1 (ISA-101): the whole line on one screen — the units
// in flow order with their state, the batch and its progress, the key
// process values with their last ten minutes, and the most urgent alarms.
type overview struct {
	h    *hmi
	text *fastText
}

func newOverview(h *hmi) *overview {
	o := &overview{h: h, text: newFastText()}
	return o
}

func (o *overview) id() string            { return "overview" }
func (o *overview) title() string         { return "Overview" }
func (o *overview) view() tview.Primitive { return o.text }
func (o *overview) enter(string)          {}

func (o *overview) keys() []keyHelp {
	return []keyHelp{{"k", "ack all"}, {"2", "units"}, {"3", "alarms"}, {"4", "trends"}, {"5", "batch"}, {":", "command"}}
}

func (o *overview) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyRune && ev.Rune() == 'k' {
		o.h.command(api.Command{Command: api.CommandAckAll})
		return nil
	}
	return ev
}

// refresh lays the overview out for the terminal's size.
func (o *overview) refresh() {
	h := o.h
	st := h.last
	if st == nil {
		o.text.SetText(" waiting for the controller…")
		return
	}
	width := max(h.cols, 40)
	// Rows of the body: the terminal less the frame (header 4, crumb 1,
	// message 1, key bar 1).
	rows := max(h.rows-7, 8)
	if h.rows == 0 {
		rows = 17
	}
	var lines []string
	lines = append(lines, diagramLines(st, width-1)...)
	lines = append(lines, batchLines(st, width-1)...)
	lines = append(lines, "")

	// What is left goes to the values and the alarms; on a wide terminal
	// they sit side by side.
	left := rows - len(lines)
	alarmRows := min(max(2, left/3), len(st.Alarms)+1)
	if len(st.Alarms) == 0 {
		alarmRows = 1
	}
	if width >= 140 {
		colW := width/2 - 1
		vals := h.valueLines(st, colW, left)
		alarms := alarmLines(st, colW, max(left/2, min(len(st.Alarms)+1, left-8)))
		alarms = append(alarms, "")
		alarms = append(alarms, deviceLines(st, colW)...)
		if room := left - len(alarms) - 2; room >= 4 {
			alarms = append(alarms, "")
			alarms = append(alarms, unitLines(st, colW, room)...)
		}
		for i := 0; i < max(len(vals), len(alarms)) && i < left; i++ {
			l, r := "", ""
			if i < len(vals) {
				l = vals[i]
			}
			if i < len(alarms) {
				r = alarms[i]
			}
			lines = append(lines, padMarkup(l, colW)+"  "+r)
		}
	} else {
		valRows := max(left-alarmRows-1, 2)
		lines = append(lines, h.valueLines(st, width-1, valRows)...)
		lines = append(lines, "")
		lines = append(lines, alarmLines(st, width-1, alarmRows)...)
	}
	o.text.SetText(strings.Join(lines, "\n"))
}

// padMarkup pads markup with spaces to width visible cells.
func padMarkup(s string, width int) string {
	w := tview.TaggedStringWidth(s)
	if w >= width {
		return s
	}
	return s + strings.Repeat(" ", width-w)
}

// flowOrder returns the units in flow order: the graph's topological order
// (sources first), then units not in the graph in status order.
func flowOrder(st *api.Status) []api.UnitStatus {
	in := map[string]int{}
	next := map[string][]string{}
	for _, e := range st.Flow {
		in[e.To]++
		if _, ok := in[e.From]; !ok {
			in[e.From] += 0
		}
		next[e.From] = append(next[e.From], e.To)
	}
	byName := map[string]api.UnitStatus{}
	for _, u := range st.Units {
		byName[u.Name] = u
	}
	var order []string
	var queue []string
	for _, u := range st.Units { // stable: status order among equals
		if n, ok := in[u.Name]; ok && n == 0 {
			queue = append(queue, u.Name)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		order = append(order, n)
		for _, m := range next[n] {
			in[m]--
			if in[m] == 0 {
				queue = append(queue, m)
			}
		}
	}
	var out []api.UnitStatus
	for _, n := range order {
		if u, ok := byName[n]; ok {
			out = append(out, u)
		}
	}
	for _, u := range st.Units {
		if !seen[u.Name] {
			out = append(out, u)
		}
	}
	return out
}

// unitBadge is a unit in the line diagram: its name and state, a fault in
// the bad colour, running marked ▶ and stopped ■.
func unitBadge(u api.UnitStatus) string {
	switch strings.ToLower(u.State) {
	case "running":
		return esc(u.Name) + " ▶"
	case "fault":
		return paint(colorBad, alarmMark+esc(u.Name)+" FAULT")
	case "starting", "stopping":
		return esc(u.Name) + " " + esc(u.State) + "…"
	case "stopped", "-", "":
		return esc(u.Name) + " ■"
	}
	return esc(u.Name) + " " + esc(u.State)
}

// diagramLines draws the units in flow order, wrapped to width.
func diagramLines(st *api.Status, width int) []string {
	units := flowOrder(st)
	var lines []string
	cur := " "
	for i, u := range units {
		b := unitBadge(u)
		sep := ""
		if i < len(units)-1 {
			sep = " → "
		}
		if tview.TaggedStringWidth(cur)+tview.TaggedStringWidth(b+sep) > width && cur != " " {
			lines = append(lines, cur)
			cur = "   "
		}
		cur += b + sep
	}
	lines = append(lines, cur)
	return lines
}

// batchLines describe the batch: id, recipe, phase and progress.
func batchLines(st *api.Status, width int) []string {
	bs := st.Batch
	if bs == nil {
		lines := []string{" No batch running."}
		if lb := st.LastBatch; lb != nil {
			last := fmt.Sprintf("Last: %s %s %s, %s of %s", esc(lb.ID), recipeText(lb), phaseText(lb), formatKg(lb.KgReceived), formatKg(lb.TargetKg))
			if tview.TaggedStringWidth(lines[0]+" "+last) <= width {
				lines[0] += " " + last
			} else {
				lines = append(lines, "   "+last)
			}
		}
		return lines
	}
	pct := 0.0
	if bs.TargetKg > 0 {
		pct = math.Min(100, 100*bs.KgReceived/bs.TargetKg)
	}
	barW := 20
	if width < 100 {
		barW = 10
	}
	filled := int(math.Round(pct / 100 * float64(barW)))
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barW-filled)
	head := fmt.Sprintf(" Batch %s %s  %s", esc(bs.ID), recipeText(bs), phaseText(bs))
	progress := fmt.Sprintf("%s %3.0f %%  %s of %s", bar, pct, formatKg(bs.KgReceived), formatKg(bs.TargetKg))
	end := st.Time
	if !bs.End.IsZero() {
		end = bs.End
	}
	rest := fmt.Sprintf("elapsed %s, cake %s, water %s, rejects %s", formatElapsed(end.Sub(bs.Start)),
		formatKg(bs.KgCake), formatKg(bs.KgWater), formatKg(bs.KgRejects))
	switch {
	case tview.TaggedStringWidth(head+"  "+progress) <= width:
		return []string{head + "  " + progress, "   " + rest}
	case tview.TaggedStringWidth("   "+progress+"  "+rest) <= width:
		return []string{head, "   " + progress + "  " + rest}
	}
	return []string{head, "   " + progress, "   " + rest}
}

// kpvPatterns pick the key process values for the overview, in order of
// importance: the short tag names that contain them.
var kpvPatterns = []string{"ds", "level", "current", "back_pressure", "pressure", "torque", "weight", "flow", "rate", "h2s", "ph"}

// kpvTags are the tags the overview trends: for each unit in flow order,
// its values whose names match kpvPatterns, most important first overall.
func kpvTags(st *api.Status) []api.TagValue {
	type cand struct {
		tv   api.TagValue
		rank int
		pos  int
	}
	var cs []cand
	seen := map[string]bool{}
	pos := 0
	for _, u := range flowOrder(st) {
		for _, tv := range u.Values {
			if seen[tv.Tag] || tv.Bool {
				continue
			}
			short := strings.ToLower(shortName(u.Name, tv.Tag))
			for r, p := range kpvPatterns {
				if strings.Contains(short, p) && !strings.Contains(short, "setpoint") && !strings.HasSuffix(short, "_sp") {
					seen[tv.Tag] = true
					cs = append(cs, cand{tv, r, pos})
					pos++
					break
				}
			}
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return a.pos - b.pos
	})
	out := make([]api.TagValue, len(cs))
	for i, c := range cs {
		out[i] = c.tv
	}
	return out
}

// valueLines are the key values with their sparklines, at most rows lines.
func (h *hmi) valueLines(st *api.Status, width, rows int) []string {
	if rows <= 0 {
		return nil
	}
	tags := kpvTags(st)
	if rows-1 > len(tags) {
		// Room for more: every other value, in flow order.
		seen := map[string]bool{}
		for _, tv := range tags {
			seen[tv.Tag] = true
		}
		for _, u := range flowOrder(st) {
			for _, tv := range u.Values {
				if !seen[tv.Tag] && !tv.Bool {
					seen[tv.Tag] = true
					tags = append(tags, tv)
				}
			}
		}
	}
	lines := []string{""}
	nameW := 12
	for _, tv := range tags {
		nameW = max(nameW, len(tv.Tag))
	}
	nameW = min(nameW, 28)
	sparkW := max(width-nameW-18, 8)
	for _, tv := range tags {
		if len(lines) >= rows {
			break
		}
		name := tv.Tag
		if len(name) > nameW {
			name = name[:nameW-1] + "…"
		}
		val := formatValueMarkup(tv, h.stale())
		spark := h.spark.line(tv.Tag, st.Time, sparkW, tv.Precision)
		lines = append(lines, fmt.Sprintf(" %-*s %s  %s", nameW, esc(name), padLeftMarkup(val, 10), spark))
	}
	lines[0] = fmt.Sprintf(" [::b]%-*s %10s  last 10 min[::-]", nameW, "Key values", "now")
	if len(lines) == 1 {
		lines = append(lines, " (no key values reported)")
	}
	return lines
}

// padLeftMarkup right-aligns markup in width cells.
func padLeftMarkup(s string, width int) string {
	w := tview.TaggedStringWidth(s)
	if w >= width {
		return s
	}
	return strings.Repeat(" ", width-w) + s
}

// alarmLines are the most urgent alarms, at most rows lines.
func alarmLines(st *api.Status, width, rows int) []string {
	active := sortedAlarms(st.Alarms)
	if len(active) == 0 {
		return []string{" No alarms need attention."}
	}
	lines := []string{fmt.Sprintf(" [::b]Alarms (%d)[::-] newest urgent first; 3 lists them all", len(active))}
	for i, a := range active {
		if len(lines) >= rows {
			break
		}
		if len(lines) == rows-1 && i < len(active)-1 {
			lines = append(lines, fmt.Sprintf(" … %d more: press 3", len(active)-i))
			break
		}
		lines = append(lines, " "+alarmRow(a, width-1))
	}
	return lines
}

// alarmRow is one alarm in one line of width cells: priority, state, name
// and message, coloured by whether it waits for an acknowledgement.
func alarmRow(a api.AlarmStatus, width int) string {
	state := strings.ReplaceAll(a.State, "_", " ")
	switch a.State {
	case "unacknowledged":
		state = "UNACK"
	case "returned_unacknowledged":
		state = "RTN UNACK"
	case "acknowledged":
		state = "ack"
	}
	text := fmt.Sprintf("%-8s %-9s %s %s", a.Priority, state, a.Name, a.Message)
	if a.Chattering {
		text += " (chattering)"
	}
	text = cut(text, width-2)
	c := colorWarn
	if a.State == "unacknowledged" || a.State == "returned_unacknowledged" {
		c = colorBad
	}
	return paint(c, alarmMark+esc(text))
}

// cut shortens s to width runes, ending with … when it had to.
func cut(s string, width int) string {
	r := []rune(s)
	if len(r) <= width || width < 2 {
		return s
	}
	return string(r[:width-1]) + "…"
}

// noteStatus remembers the key values of each status for the sparklines
// and, the first time, asks the historian for the last ten minutes.
func (h *hmi) noteStatus(st *api.Status) {
	tags := kpvTags(st)
	for _, tv := range tags {
		if tv.Quality.Good() {
			h.spark.add(tv.Tag, st.Time, tv.Value)
		}
	}
	if !h.spark.backfilled && len(tags) > 0 {
		h.spark.backfilled = true
		names := make([]string, len(tags))
		for i, tv := range tags {
			names[i] = tv.Tag
		}
		to := st.Time
		h.spawn(h.ctx, func(ctx context.Context) {
			var pens []api.Pen
			for i := 0; i < len(names); i += 8 { // the API takes 8 tags at a time
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				tr, err := h.client.Trend(rctx, names[i:min(i+8, len(names))], to.Add(-sparkWindow), to, 240)
				cancel()
				if err != nil {
					return // the sparklines fill as statuses come
				}
				pens = append(pens, tr.Pens...)
			}
			h.post(func() {
				for _, p := range pens {
					for _, pt := range p.Points {
						h.spark.backfill(p.Tag, pt.Time, pt.Mean)
					}
				}
			})
		})
	}
}

// deviceLines say how each device answers, and the scan's figures.
func deviceLines(st *api.Status, width int) []string {
	lines := []string{" [::b]Devices[::-]"}
	for _, d := range st.Devices {
		text := fmt.Sprintf("%-16s %-10s ", d.Name, d.Protocol)
		switch {
		case !d.Connected || d.Sync == "lost":
			why := "NOT ANSWERING"
			if d.LastError != "" {
				why += ": " + d.LastError
			}
			lines = append(lines, " "+paint(colorBad, esc(cut(alarmMark+text+why, width-1))))
		case d.Sync == "resyncing":
			lines = append(lines, " "+paint(colorWarn, esc(cut(alarmMark+text+"resyncing: outputs written again", width-1))))
		default:
			lines = append(lines, "   "+esc(cut(text+"ok", width-3)))
		}
	}
	s := st.Scan
	lines = append(lines, "", fmt.Sprintf(" [::b]Scan[::-] every %s ms, exec p99 %s µs, lateness p99 %s ms, overruns %d",
		formatNumber(s.PeriodMs), formatNumber(s.ExecP99Us), formatNumber(s.LatenessP99Ms), s.Overruns))
	return lines
}

// priorityRank orders alarm priorities, most urgent first.
var priorityRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

// waitsForAck says whether an alarm waits for an acknowledgement.
func waitsForAck(a api.AlarmStatus) bool {
	return a.State == "unacknowledged" || a.State == "returned_unacknowledged"
}

// sortedAlarms are the alarms that need attention (not shelved, not out of
// service): unacknowledged first, then by priority, then newest first.
func sortedAlarms(all []api.AlarmStatus) []api.AlarmStatus {
	var out []api.AlarmStatus
	for _, a := range all {
		if a.State != "shelved" && a.State != "out_of_service" {
			out = append(out, a)
		}
	}
	sortAlarms(out) // the alarm summary's order
	return out
}

// unitLines list the units in flow order with their state and, for a unit
// that cannot run, the first reason why not: the wide overview's room for
// level-2 hints (2 and Enter open the faceplate).
func unitLines(st *api.Status, width, rows int) []string {
	lines := []string{" [::b]Units[::-] (2 lists them, Enter opens one)"}
	for _, u := range flowOrder(st) {
		if len(lines) >= rows {
			break
		}
		state := u.State
		if state == "-" || state == "" {
			state = "—"
		}
		text := fmt.Sprintf("%-16s %-9s", u.Name, state)
		if u.Command {
			text += " run"
		} else {
			text += "    "
		}
		switch {
		case strings.EqualFold(u.State, "fault"):
			why := u.Reason
			if why == "" && len(u.Why) > 0 {
				why = u.Why[0]
			}
			lines = append(lines, " "+paint(colorBad, esc(cut(alarmMark+text+" "+why, width-1))))
		case len(u.Why) > 0:
			lines = append(lines, " "+paint(colorWarn, esc(cut(alarmMark+text+" why not: "+u.Why[0], width-1))))
		default:
			lines = append(lines, "   "+esc(text))
		}
	}
	return lines
}
