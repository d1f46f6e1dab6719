package hmi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

func init() { registerScreen(10, func(h *hmi) screen { return newFaceplate(h) }) }

// Recent events of the faceplate: how many, how often they are fetched
// again while the faceplate is in front, and how long one fetch may take.
const (
	unitEventsLimit   = 20
	unitEventsTimeout = 5 * time.Second
	// valueAgeShown: a value older than this (plant time) shows its age.
	valueAgeShown = 5 * time.Second
)

// unitEventsPeriod is how often the faceplate in front fetches its unit's
// events again (a variable for the tests).
var unitEventsPeriod = 5 * time.Second

// faceplate is one unit in detail (ISA-101 level 2): its state and what
// keeps it from running, every value with its quality and age, its
// setpoints (a supervisor may override them), its control module, the keys
// that act on it and its recent events.
type faceplate struct {
	h    *hmi
	text *fastText
	name string // the unit shown

	spSel int // selected setpoint
	top   int // first line shown when the faceplate is taller than the body
	// follow: the last move selected a setpoint, which must stay visible;
	// atEnd: End showed the last page, which stays shown as lines come.
	follow, atEnd bool

	// Recent events: gen increases with every enter, so that answers for
	// another unit (or an older enter) are dropped; polling is the gen of
	// the fetch chain alive, 0 when none runs.
	gen       int
	polling   int
	events    []api.JournalEventRef
	eventsErr error
	eventsGot bool
}

func newFaceplate(h *hmi) *faceplate { return &faceplate{h: h, text: newFastText()} }

func (f *faceplate) id() string            { return "unit" }
func (f *faceplate) view() tview.Primitive { return f.text }

func (f *faceplate) title() string {
	if f.name == "" {
		return "Unit"
	}
	return "Unit " + esc(f.name)
}

func (f *faceplate) keys() []keyHelp {
	return []keyHelp{{"↑↓", "setpoint"}, {"o", "override"}, {"g", "trend"}, {"[ ]", "prev/next"}}
}

func (f *faceplate) enter(arg string) {
	arg = strings.TrimSpace(arg)
	if arg != f.name {
		f.spSel, f.top, f.atEnd, f.follow = 0, 0, false, false
	}
	f.name = arg
	// The units list selects the unit last shown, for the way back.
	if us, ok := f.h.screens["units"].(*unitsScreen); ok && arg != "" {
		if _, known := f.unit(); known {
			us.sel = arg
		}
	}
	f.gen++
	f.events, f.eventsErr, f.eventsGot = nil, nil, false
	f.polling = 0
	f.startEvents()
}

// unit returns the unit shown, if the status has it.
func (f *faceplate) unit() (api.UnitStatus, bool) {
	if f.h.last == nil {
		return api.UnitStatus{}, false
	}
	for _, u := range f.h.last.Units {
		if u.Name == f.name {
			return u, true
		}
	}
	return api.UnitStatus{}, false
}

// startEvents starts the chain that fetches the unit's recent events now
// and every unitEventsPeriod while the faceplate is in front.
func (f *faceplate) startEvents() {
	if _, known := f.unit(); !known || f.polling == f.gen {
		return // refresh starts it once the status has the unit
	}
	f.polling = f.gen
	f.fetchEvents(f.gen, 0)
}

// fetchEvents fetches the events after a pause, on a worker; the answer
// is applied on the event goroutine, which decides whether to go on.
func (f *faceplate) fetchEvents(gen int, after time.Duration) {
	h, name := f.h, f.name
	ok := h.spawn(h.ctx, func(ctx context.Context) {
		if after > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(after):
			}
		}
		rctx, cancel := context.WithTimeout(ctx, unitEventsTimeout)
		evs, err := h.client.UnitEvents(rctx, name, unitEventsLimit)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.post(func() { f.gotEvents(gen, evs, err) })
	})
	if !ok && f.polling == gen {
		f.polling = 0
	}
}

// gotEvents applies one answer and fetches again later while the
// faceplate of the same unit is in front.
func (f *faceplate) gotEvents(gen int, evs []api.JournalEventRef, err error) {
	if gen != f.gen {
		return // for another unit or an older enter; its chain ends here
	}
	if err != nil {
		f.eventsErr = err // the last events stay, marked
	} else {
		f.events, f.eventsErr = evs, nil
		slices.SortStableFunc(f.events, func(a, b api.JournalEventRef) int { return b.Time.Compare(a.Time) })
	}
	f.eventsGot = true
	if f.h.front() != screen(f) {
		f.polling = 0 // refresh starts it again when the faceplate comes back
		return
	}
	f.refresh()
	f.fetchEvents(gen, unitEventsPeriod)
}

func (f *faceplate) onKey(ev *tcell.EventKey) *tcell.EventKey {
	h := f.h
	u, found := f.unit()
	if ev.Key() != tcell.KeyEnd && ev.Key() != tcell.KeyRune {
		f.atEnd = false // top is where the last page began: scroll from there
	}
	switch ev.Key() {
	case tcell.KeyUp:
		if found && f.spSel > 0 && f.spSel < len(u.Setpoints) {
			f.spSel--
			f.follow = true
		} else {
			f.top--
			f.follow = false
		}
	case tcell.KeyDown:
		if found && f.spSel+1 < len(u.Setpoints) {
			f.spSel++
			f.follow = true
		} else {
			f.top++
			f.follow = false
		}
	case tcell.KeyPgUp:
		_, rows := h.bodySize()
		f.top -= rows - 2
		f.follow = false
	case tcell.KeyPgDn:
		_, rows := h.bodySize()
		f.top += rows - 2
		f.follow = false
	case tcell.KeyHome:
		f.top = 0
		f.follow = false
	case tcell.KeyEnd:
		f.atEnd = true
		f.follow = false
	case tcell.KeyRune:
		switch ev.Rune() {
		case '[':
			f.step(-1)
			return nil
		case ']':
			f.step(1)
			return nil
		case 'o':
			f.override()
			return nil
		case 'g':
			f.trend()
			return nil
		}
		return ev
	default:
		return ev
	}
	f.refresh()
	return nil
}

// step opens the faceplate of the previous (-1) or next (+1) unit in flow
// order, going round at the ends.
func (f *faceplate) step(dir int) {
	h := f.h
	if h.last == nil || len(h.last.Units) == 0 {
		h.setMessage("no units known yet")
		return
	}
	us := flowOrder(h.last)
	i := slices.IndexFunc(us, func(u api.UnitStatus) bool { return u.Name == f.name })
	switch {
	case i < 0 && dir > 0:
		i = 0
	case i < 0:
		i = len(us) - 1
	default:
		i = (i + dir + len(us)) % len(us)
	}
	h.open("unit", us[i].Name, true) // replaces this faceplate in the breadcrumb
}

// override asks a new value for the selected setpoint and sends it.
func (f *faceplate) override() {
	h := f.h
	u, found := f.unit()
	if !found || len(u.Setpoints) == 0 {
		h.setMessage(paint(colorWarn, alarmMark+"override: this unit has no setpoints"))
		return
	}
	sp := u.Setpoints[min(f.spSel, len(u.Setpoints)-1)]
	if !sp.Overridable {
		h.setMessage(paint(colorWarn, alarmMark+"override: "+esc(sp.Name)+" is fixed by the recipe (not overridable)"))
		return
	}
	if !h.mayCommand("override") {
		return
	}
	param := sp.Parameter
	if param == "" {
		param = sp.Name
	}
	limits := limitsText(sp)
	label := esc(sp.Name) + " (" + esc(limits) + ")"
	h.ask("Override "+esc(u.Name)+" "+esc(sp.Name), []promptField{
		{label: label, value: formatSetpoint(sp.Value), width: 16},
		{label: "Reason", width: 40},
	}, func(values map[string]string) {
		text := values[label]
		v, err := strconv.ParseFloat(strings.ReplaceAll(text, ",", "."), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			h.setMessage(paint(colorWarn, alarmMark+"override "+esc(sp.Name)+": "+esc(strconv.Quote(text))+" is not a number; nothing sent"))
			return
		}
		if hasLimits(sp) && (v < sp.Min || v > sp.Max) {
			h.setMessage(paint(colorWarn, fmt.Sprintf("%soverride %s: %s is outside the limits %s; nothing sent",
				alarmMark, esc(sp.Name), formatSetpoint(v), limits)))
			return
		}
		h.command(api.Command{Command: api.CommandOverride, Parameter: param, Value: v, Reason: values["Reason"]})
	})
}

// trendPatterns choose a unit's main values for its trend, most telling
// first.
var trendPatterns = []string{"current", "level", "ds", "pressure"}

// trendTags are up to four of the unit's analogue values: those matching
// trendPatterns first, then the others in the unit's order.
func trendTags(u api.UnitStatus) []string {
	var tags []string
	add := func(tag string) {
		if len(tags) < 4 && !slices.Contains(tags, tag) {
			tags = append(tags, tag)
		}
	}
	for _, p := range trendPatterns {
		for _, tv := range u.Values {
			if !tv.Bool && strings.Contains(strings.ToLower(shortName(u.Name, tv.Tag)), p) {
				add(tv.Tag)
			}
		}
	}
	for _, tv := range u.Values {
		if !tv.Bool {
			add(tv.Tag)
		}
	}
	return tags
}

// trend opens the trend of the unit's main values.
func (f *faceplate) trend() {
	h := f.h
	u, found := f.unit()
	if !found {
		h.setMessage(paint(colorWarn, alarmMark+"trend: no unit "+esc(f.name)))
		return
	}
	tags := trendTags(u)
	if len(tags) == 0 {
		h.setMessage("trend: " + esc(u.Name) + " has no analogue values")
		return
	}
	if !h.open("trend", strings.Join(tags, ","), true) {
		h.setMessage(paint(colorWarn, alarmMark+"this HMI has no trend screen"))
	}
}

func (f *faceplate) refresh() {
	h := f.h
	if h.front() == screen(f) {
		f.startEvents()
	}
	width, rows := h.bodySize()
	width--
	var lines []string
	selLine := -1
	switch u, found := f.unit(); {
	case h.last == nil:
		lines = []string{" waiting for the controller…"}
	case !found:
		lines = f.unknownLines(width)
	case width >= 139:
		colW := (width - 2) / 2
		left, sel := f.leftSections(u, colW)
		right := f.rightSections(u, colW)
		for i := 0; i < max(len(left), len(right)); i++ {
			l, r := "", ""
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = right[i]
			}
			lines = append(lines, padMarkup(l, colW)+"  "+r)
		}
		selLine = sel
	default:
		left, sel := f.leftSections(u, width)
		lines = append(left, f.rightSections(u, width)...)
		selLine = sel
	}

	// Scroll: keep the selected setpoint visible after a move, and never
	// past the end.
	if f.follow && selLine >= 0 {
		if selLine < f.top+1 {
			f.top = selLine - 1
		}
		if selLine > f.top+rows-2 {
			f.top = selLine - rows + 2
		}
	}
	if f.atEnd {
		f.top = len(lines) - rows
	}
	f.top = min(f.top, len(lines)-rows)
	f.top = max(f.top, 0)
	shown := lines[f.top:]
	if len(shown) > rows {
		more := len(shown) - rows + 1
		shown = append(shown[:rows-1:rows-1], fmt.Sprintf(" ↓ %d more lines: PgDn", more))
	}
	if f.top > 0 && len(shown) > 0 {
		shown[0] = fmt.Sprintf(" ↑ %d lines above: PgUp", f.top+1)
	}
	f.text.SetText(strings.Join(shown, "\n"))
}

// unknownLines say that no unit has the faceplate's name and list those
// that do.
func (f *faceplate) unknownLines(width int) []string {
	var names []string
	for _, u := range flowOrder(f.h.last) {
		names = append(names, u.Name)
	}
	what := "No unit named " + strconv.Quote(f.name) + "."
	if f.name == "" {
		what = "Which unit? :unit NAME opens its faceplate."
	}
	lines := []string{" " + paint(colorWarn, alarmMark+esc(what))}
	if len(names) == 0 {
		return append(lines, " The controller reports no units.")
	}
	for _, l := range wrapText("Units: "+strings.Join(names, ", "), width-2) {
		lines = append(lines, " "+esc(l))
	}
	return append(lines, " ] opens the first, [ the last; 2 lists them all.")
}

// heading is a section's title line.
func heading(s string) string { return " [::b]" + s + "[::-]" }

// leftSections are the state and what blocks the unit, its values and its
// setpoints; sel is the line of the selected setpoint (-1: none).
func (f *faceplate) leftSections(u api.UnitStatus, width int) (lines []string, sel int) {
	lines = append(lines, f.stateLines(u, width)...)
	lines = append(lines, "")
	lines = append(lines, f.valueLines(u, width)...)
	lines = append(lines, "")
	sp, s := f.setpointLines(u, width)
	if s >= 0 {
		s += len(lines)
	}
	return append(lines, sp...), s
}

// rightSections are the control module, the keys and the recent events.
func (f *faceplate) rightSections(u api.UnitStatus, width int) []string {
	var lines []string
	if m := f.moduleLines(u, width); len(m) > 0 {
		lines = append(append(lines, m...), "")
	}
	lines = append(lines, keyLines(width)...)
	lines = append(lines, "")
	return append(lines, f.eventLines(width)...)
}

// stateLines: the unit's state, run command and reason, then what keeps
// it from starting or running and the interlocks that concern it.
func (f *faceplate) stateLines(u api.UnitStatus, width int) []string {
	kind := ""
	if u.Kind != "" {
		kind = " (" + esc(u.Kind) + ")"
	}
	l := fmt.Sprintf(" [::b]%s[::-]%s  state %s  command %s", esc(u.Name), kind, unitStateText(u), commandText(u))
	lines := []string{l}
	if r := strings.TrimSpace(u.Reason); r != "" {
		abnormal := strings.EqualFold(u.State, "fault")
		for i, w := range wrapText("reason: "+r, width-4) {
			switch {
			case abnormal && i == 0:
				lines = append(lines, "   "+paint(colorBad, alarmMark+esc(w)))
			case abnormal:
				lines = append(lines, "     "+paint(colorBad, esc(w)))
			default:
				lines = append(lines, "   "+esc(w))
			}
		}
	}
	lines = append(lines, heading("Why not: permissives and trips"))
	for _, w := range u.Why {
		lines = append(lines, markedLines(colorBad, w, width)...)
	}
	st := f.h.last
	for _, il := range st.Interlocks {
		if !slices.Contains(il.Units, u.Name) {
			continue
		}
		text := interlockText(st, il, f.h.stale())
		if il.Active {
			lines = append(lines, markedLines(colorBad, text, width)...)
		} else {
			lines = append(lines, indentLines(text, width)...)
		}
	}
	// Interlocks on this unit's values that act on other units: the
	// operator sees here what this unit's state does to the line.
	for _, il := range st.Interlocks {
		if slices.Contains(il.Units, u.Name) || !slices.ContainsFunc(u.Values, func(tv api.TagValue) bool { return tv.Tag == il.Tag }) {
			continue
		}
		text := interlockText(st, il, f.h.stale())
		if len(il.Units) > 0 {
			text += " (acts on " + strings.Join(il.Units, ", ") + ")"
		}
		if il.Active {
			lines = append(lines, markedLines(colorBad, text, width)...)
		} else {
			lines = append(lines, indentLines(text, width)...)
		}
	}
	if len(u.Why) == 0 && !anyActive(st, u.Name) {
		lines = append(lines, "   nothing keeps this unit from running")
	}
	return lines
}

// markedLines wraps an abnormal item (plain text) in colour c, "! " on its
// first line, the next ones indented under the text.
func markedLines(c tcell.Color, text string, width int) []string {
	var lines []string
	for i, w := range wrapText(text, width-6) {
		if i == 0 {
			lines = append(lines, "   "+paint(c, alarmMark+esc(w)))
		} else {
			lines = append(lines, "     "+paint(c, esc(w)))
		}
	}
	return lines
}

// indentLines wraps a normal item (plain text), the next lines indented
// under the first.
func indentLines(text string, width int) []string {
	var lines []string
	for i, w := range wrapText(text, width-6) {
		if i == 0 {
			lines = append(lines, "   "+esc(w))
		} else {
			lines = append(lines, "     "+esc(w))
		}
	}
	return lines
}

// anyActive says whether an interlock on the unit is active.
func anyActive(st *api.Status, unit string) bool {
	for _, il := range st.Interlocks {
		if il.Active && slices.Contains(il.Units, unit) {
			return true
		}
	}
	return false
}

// interlockText is one interlock as plain text: "interlock pulper_level_hh
// (pulper.level 97.2 %): ACTIVE — trip, holds the line".
func interlockText(st *api.Status, il api.InterlockStatus, stale bool) string {
	tv, ok := findTag(st, il.Tag)
	if !ok {
		tv = api.TagValue{Tag: il.Tag, Value: il.Value, Quality: il.Quality, Precision: 1}
	}
	val := formatValue(tv)
	switch m := qualityMark(tv.Quality); {
	case m == markBad:
		val = badValue
	case m == markUncertain || stale:
		val += uncertainMark
	}
	if tv.Unit != "" && !tv.Bool && val != badValue {
		val += " " + tv.Unit
	}
	s := "interlock " + il.Name
	if il.Tag != "" {
		s += " (" + il.Tag + " " + val + ")"
	}
	effect := il.Effect
	if effect == "" {
		effect = "trip"
	}
	if il.Active {
		s += ": ACTIVE — " + effect
		if il.HoldLine {
			s += ", holds the line"
		}
		if !il.Since.IsZero() {
			s += ", since " + il.Since.Format("15:04:05")
		}
	} else {
		s += ": ok"
	}
	if il.Message != "" && il.Active {
		s += " — " + il.Message
	}
	return s
}

// findTag looks a tag up among the units' values and the status's tags.
func findTag(st *api.Status, tag string) (api.TagValue, bool) {
	for _, u := range st.Units {
		for _, tv := range u.Values {
			if tv.Tag == tag {
				return tv, true
			}
		}
	}
	for _, tv := range st.Tags {
		if tv.Tag == tag {
			return tv, true
		}
	}
	return api.TagValue{}, false
}

// qualityWord says how far a value can be trusted, in words, marked when
// it is not good: "good", "? uncertain: stale", "! bad: comm failure".
func qualityWord(q drivers.Quality) string {
	name := q.String()
	kind, detail, _ := strings.Cut(name, ":")
	detail = strings.ReplaceAll(detail, "_", " ")
	switch qualityMark(q) {
	case markNormal:
		return "good"
	case markUncertain:
		return paint(colorWarn, uncertainMark+" uncertain: "+esc(detail))
	}
	if detail == "" {
		detail = kind // "unknown": never received
	}
	return paint(colorBad, alarmMark+"bad: "+esc(detail))
}

// formatAge prints how old a sample is: "12 s", "4 min", "2 h".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// valueLines list every value of the unit: tag, value with its unit,
// quality and, when older than valueAgeShown, its age.
func (f *faceplate) valueLines(u api.UnitStatus, width int) []string {
	lines := []string{heading(fmt.Sprintf("Values (%d)", len(u.Values)))}
	if len(u.Values) == 0 {
		return append(lines, "   none reported")
	}
	stale := f.h.stale()
	now := f.h.last.Time
	tagW, valW := 0, 0
	for _, tv := range u.Values {
		tagW = max(tagW, len([]rune(tv.Tag)))
		valW = max(valW, tview.TaggedStringWidth(formatValueMarkup(tv, stale)))
	}
	tagW = min(tagW, max(width/3, 16))
	for _, tv := range u.Values {
		val := padLeftMarkup(formatValueMarkup(tv, stale), valW)
		rest := "  " + qualityWord(tv.Quality)
		if !tv.Time.IsZero() && !now.IsZero() {
			if age := now.Sub(tv.Time); age > valueAgeShown {
				rest += "  " + formatAge(age) + " old"
			}
		}
		if len([]rune(tv.Tag)) > tagW {
			// A long name on its own line: the value is never cut.
			lines = append(lines, "   "+esc(tv.Tag))
			lines = append(lines, "   "+strings.Repeat(" ", tagW)+" "+val+rest)
			continue
		}
		lines = append(lines, fmt.Sprintf("   %s %s%s", padMarkup(esc(tv.Tag), tagW), val, rest))
	}
	return lines
}

// hasLimits says whether a setpoint has a range to check.
func hasLimits(sp api.SetpointStatus) bool { return sp.Max > sp.Min }

// formatSetpoint prints a setpoint as entered: every decimal it has, no
// more.
func formatSetpoint(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// limitsText is "800–1500 kg/h", or "no limits".
func limitsText(sp api.SetpointStatus) string {
	if !hasLimits(sp) {
		return "no limits"
	}
	s := formatSetpoint(sp.Min) + "–" + formatSetpoint(sp.Max)
	if sp.Unit != "" {
		s += " " + sp.Unit
	}
	return s
}

// setpointLines list the setpoints, the selected one marked ▶; sel is its
// line.
func (f *faceplate) setpointLines(u api.UnitStatus, width int) (lines []string, sel int) {
	sel = -1
	lines = []string{heading("Setpoints") + "  (o overrides the ▶ one)"}
	if len(u.Setpoints) == 0 {
		return []string{heading("Setpoints"), "   none for this unit"}, -1
	}
	f.spSel = min(max(f.spSel, 0), len(u.Setpoints)-1)
	nameW, valW := 0, 0
	for _, sp := range u.Setpoints {
		nameW = max(nameW, len([]rune(sp.Name)))
		v := formatSetpoint(sp.Value)
		if sp.Unit != "" {
			v += " " + sp.Unit
		}
		valW = max(valW, len([]rune(v)))
	}
	nameW = min(nameW, max(width/3, 16))
	for i, sp := range u.Setpoints {
		v := formatSetpoint(sp.Value)
		if sp.Unit != "" {
			v += " " + sp.Unit
		}
		mark := "   "
		if i == f.spSel {
			mark = " ▶ "
			sel = len(lines)
		}
		over := ""
		if sp.Overridable {
			over = "  overridable"
		}
		lim := "limits " + limitsText(sp)
		name := sp.Name
		if len([]rune(name)) > nameW {
			lines = append(lines, mark+esc(name))
			mark, name = "   ", ""
		}
		line := fmt.Sprintf("%s%-*s %*s  ", mark, nameW, esc(name), valW, esc(v))
		if len([]rune(line))+len([]rune(lim))+len(over) > width {
			lines = append(lines, line+esc(lim))
			if over != "" {
				lines = append(lines, strings.Repeat(" ", 3+nameW+1+valW)+over)
			}
		} else {
			lines = append(lines, line+esc(lim)+over)
		}
		if i == f.spSel {
			lines[sel] = "[::r]" + lines[sel] + "[::-]"
		}
	}
	return lines, sel
}

// moduleLines describe the unit's control module: jam logic, loop and
// other details; nil when it has none.
func (f *faceplate) moduleLines(u api.UnitStatus, width int) []string {
	m := u.Module
	if m == nil {
		return nil
	}
	lines := []string{heading("Module")}
	if m.JamState != "" {
		state := esc(m.JamState)
		switch strings.ToLower(m.JamState) {
		case "jammed":
			state = paint(colorBad, alarmMark+strings.ToUpper(state))
		case "reversing", "retrying":
			state = paint(colorWarn, alarmMark+state)
		}
		l := "   jam " + state
		if m.MaxReversals > 0 || m.Reversals > 0 {
			rev := fmt.Sprintf("reversals %d", m.Reversals)
			if m.MaxReversals > 0 {
				rev += fmt.Sprintf(" of %d", m.MaxReversals)
			}
			if m.WindowS > 0 {
				rev += " in " + formatNumber(m.WindowS) + " s"
			}
			l += "   " + rev
		}
		lines = append(lines, l)
	}
	if m.PIDOutput != nil || m.PIDSetpoint != nil || m.PIDProcess != nil {
		var parts []string
		if m.PIDProcess != nil {
			parts = append(parts, "process "+formatNumber(*m.PIDProcess))
		}
		if m.PIDSetpoint != nil {
			parts = append(parts, "setpoint "+formatNumber(*m.PIDSetpoint))
		}
		if m.PIDOutput != nil {
			parts = append(parts, fmt.Sprintf("output %.1f %%", *m.PIDOutput))
		}
		lines = append(lines, "   loop  "+strings.Join(parts, "  "))
	}
	keys := make([]string, 0, len(m.Detail))
	for k := range m.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for i, w := range wrapText(k+": "+m.Detail[k], width-6) {
			if i == 0 {
				lines = append(lines, "   "+esc(w))
			} else {
				lines = append(lines, "     "+esc(w))
			}
		}
	}
	if len(lines) == 1 {
		return nil
	}
	return lines
}

// keyLines say which keys act here: on the unit, and on the whole line
// (the line's commands are not the unit's own).
func keyLines(width int) []string {
	lines := []string{heading("Commands")}
	own := "this unit: o override the ▶ setpoint, g trend, [ ] previous/next unit"
	line := "whole line: h hold, u unhold, t stop, a abort, r reset, x clear, c confirm"
	for _, s := range []string{own, line} {
		for i, w := range wrapText(s, width-4) {
			if i == 0 {
				lines = append(lines, "   "+esc(w))
			} else {
				lines = append(lines, "     "+esc(w))
			}
		}
	}
	return lines
}

// eventLines list the unit's recent events, newest first.
func (f *faceplate) eventLines(width int) []string {
	lines := []string{heading("Recent events") + " (newest first)"}
	if f.eventsErr != nil {
		lines = append(lines, "   "+paint(colorWarn, alarmMark+"cannot fetch the events: "+esc(shortError(f.eventsErr))))
	}
	if !f.eventsGot {
		return append(lines, "   loading…")
	}
	if len(f.events) == 0 && f.eventsErr == nil {
		return append(lines, "   none recorded")
	}
	day := ""
	if f.h.last != nil {
		day = f.h.last.Time.Format("2006-01-02")
	}
	for _, e := range f.events {
		ts := e.Time.Format("15:04:05")
		if e.Time.Format("2006-01-02") != day {
			ts = e.Time.Format("01-02 15:04")
		}
		head := fmt.Sprintf("%-8s %-8s %s", ts, e.Kind, e.Name)
		text := head
		if e.Message != "" {
			text += "  " + e.Message
		}
		if e.User != "" {
			text += "  (" + e.User + ")"
		}
		for i, w := range wrapText(text, width-6) {
			if i == 0 {
				lines = append(lines, "   "+esc(w))
			} else {
				lines = append(lines, "            "+esc(w))
			}
		}
	}
	return lines
}
