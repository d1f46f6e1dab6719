package hmi

import (
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

func init() { registerScreen(2, func(h *hmi) screen { return newUnitsScreen(h) }) }

// unitsScreen is the list of every unit in flow order (ISA-101 level 2):
// one row per unit with its state, its run command, what blocks it and as
// many of its values as fit. Enter opens the selected unit's faceplate.
type unitsScreen struct {
	h    *hmi
	text *fastText
	sel  string // the selected unit's name, kept across updates
	idx  int    // its row, to stay near it when the unit disappears
	top  int    // first unit row shown when the list is taller than the body
}

func newUnitsScreen(h *hmi) *unitsScreen {
	return &unitsScreen{h: h, text: newFastText()}
}

func (u *unitsScreen) id() string            { return "units" }
func (u *unitsScreen) title() string         { return "Units" }
func (u *unitsScreen) view() tview.Primitive { return u.text }

func (u *unitsScreen) enter(arg string) {
	if arg != "" {
		u.sel = arg
	}
}

func (u *unitsScreen) keys() []keyHelp {
	return []keyHelp{{"↑↓", "select"}, {"Enter", "faceplate"}}
}

// units are the units in flow order, nil before the first status.
func (u *unitsScreen) units() []api.UnitStatus {
	if u.h.last == nil {
		return nil
	}
	return flowOrder(u.h.last)
}

// selected returns the index of the selected unit in us, choosing the row
// nearest to the last one when the selected unit has gone.
func (u *unitsScreen) selected(us []api.UnitStatus) int {
	if len(us) == 0 {
		return -1
	}
	for i, x := range us {
		if x.Name == u.sel {
			u.idx = i
			return i
		}
	}
	u.idx = min(max(u.idx, 0), len(us)-1)
	u.sel = us[u.idx].Name
	return u.idx
}

func (u *unitsScreen) onKey(ev *tcell.EventKey) *tcell.EventKey {
	us := u.units()
	i := u.selected(us)
	move := 0
	switch ev.Key() {
	case tcell.KeyUp:
		move = -1
	case tcell.KeyDown:
		move = 1
	case tcell.KeyPgUp:
		move = -10
	case tcell.KeyPgDn:
		move = 10
	case tcell.KeyHome:
		move = -len(us)
	case tcell.KeyEnd:
		move = len(us)
	case tcell.KeyEnter:
		if i < 0 {
			u.h.setMessage("no unit to open")
			return nil
		}
		u.h.open("unit", us[i].Name, true)
		return nil
	default:
		return ev
	}
	if i >= 0 {
		u.idx = min(max(i+move, 0), len(us)-1)
		u.sel = us[u.idx].Name
		u.refresh()
	}
	return nil
}

// bodySize is the width and the number of rows of the screens' body: the
// terminal less the frame (header 4, breadcrumb 1, message 1, key bar 1).
func (h *hmi) bodySize() (width, rows int) {
	width, rows = h.cols, h.rows-7
	if h.cols <= 0 {
		width = 80
	}
	if h.rows <= 0 {
		rows = 17
	}
	return max(width, 40), max(rows, 5)
}

// unitStateText is a unit's state as the lists show it: a fault in the
// bad colour with its marker, other states as words.
func unitStateText(u api.UnitStatus) string {
	if c, abnormal := unitStateColor(u.State); abnormal {
		return paint(c, alarmMark+strings.ToUpper(esc(u.State)))
	}
	if u.State == "" {
		return "—"
	}
	return esc(u.State)
}

// whyMarker is "! 2 blocks" when something keeps the unit from starting or
// running, empty otherwise.
func whyMarker(u api.UnitStatus) string {
	switch n := len(u.Why); n {
	case 0:
		return ""
	case 1:
		return paint(colorWarn, alarmMark+"1 block")
	default:
		return paint(colorWarn, alarmMark+fmt.Sprintf("%d blocks", n))
	}
}

// commandText is the run command as a word.
func commandText(u api.UnitStatus) string {
	if u.Command {
		return "run"
	}
	return "–"
}

func (u *unitsScreen) refresh() {
	h := u.h
	if h.last == nil {
		u.text.SetText(" waiting for the controller…")
		return
	}
	us := u.units()
	if len(us) == 0 {
		u.text.SetText(" The controller reports no units.")
		return
	}
	sel := u.selected(us)
	width, rows := h.bodySize()
	width-- // no text in the last column

	// Column widths from the contents.
	nameW, kindW, stateW := len("Unit"), len("Kind"), len("State")
	for _, x := range us {
		nameW = max(nameW, tview.TaggedStringWidth(esc(x.Name)))
		kindW = max(kindW, tview.TaggedStringWidth(esc(x.Kind)))
		stateW = max(stateW, tview.TaggedStringWidth(unitStateText(x)))
	}
	nameW, kindW = min(nameW, 24), min(kindW, 16)
	// A fault's reason stays on the row when the terminal is wide enough,
	// else it goes on a line of its own below.
	reasonW := 0
	for _, x := range us {
		if r := faultReason(x); r != "" {
			reasonW = max(reasonW, tview.TaggedStringWidth(unitStateText(x))+1+len([]rune(r)))
		}
	}
	showKind := width >= 70
	fixed := 2 + nameW + 1 + 4 + 1 + 10 + 1 // marker, name, cmd, why
	if showKind {
		fixed += kindW + 1
	}
	inline := reasonW > 0 && fixed+reasonW+1+24 <= width
	if inline {
		stateW = max(stateW, reasonW)
	}
	fixed += stateW + 1
	valW := width - fixed

	head := fmt.Sprintf("  %-*s ", nameW, "Unit")
	if showKind {
		head += fmt.Sprintf("%-*s ", kindW, "Kind")
	}
	head += fmt.Sprintf("%-*s %-4s %-10s Values", stateW, "State", "Cmd", "Why not")

	type row struct {
		lines []string
	}
	var out []row
	for i, x := range us {
		line := "  "
		if i == sel {
			line = "▶ "
		}
		line += padMarkup(esc(cut(x.Name, nameW)), nameW) + " "
		if showKind {
			line += padMarkup(esc(cut(x.Kind, kindW)), kindW) + " "
		}
		state := unitStateText(x)
		reason := faultReason(x)
		if inline && reason != "" {
			state = paint(colorBad, alarmMark+strings.ToUpper(esc(x.State))+" "+esc(reason))
		}
		line += padMarkup(state, stateW) + " "
		line += padMarkup(commandText(x), 4) + " "
		line += padMarkup(whyMarker(x), 10) + " "
		line += fitValues(x, valW, h.stale())
		if i == sel {
			line = "[::r]" + padMarkup(line, width) + "[::-]"
		}
		r := row{lines: []string{line}}
		if reason != "" && !inline {
			for _, l := range wrapText(reason, width-6) {
				r.lines = append(r.lines, "    "+paint(colorBad, alarmMark+esc(l)))
			}
		}
		out = append(out, r)
	}

	// Scroll so that the selected unit's rows are all visible, between
	// the markers of the units above and below.
	page := func(top int) (lines []string, selShown bool) {
		lines = []string{"[::b]" + head + "[::-]"}
		if top > 0 {
			lines = append(lines, fmt.Sprintf("  ↑ %d units above: ↑ or PgUp", top))
		}
		for i := top; i < len(out); i++ {
			if len(lines)+len(out[i].lines) > rows || i < len(out)-1 && len(lines)+len(out[i].lines) == rows {
				lines = append(lines, fmt.Sprintf("  ↓ %d units below: ↓ or PgDn", len(out)-i))
				return lines, selShown
			}
			lines = append(lines, out[i].lines...)
			if i == sel {
				selShown = true
			}
		}
		return lines, selShown
	}
	u.top = min(max(u.top, 0), sel)
	lines, ok := page(u.top)
	for !ok && u.top < sel {
		u.top++
		lines, ok = page(u.top)
	}
	u.text.SetText(strings.Join(lines, "\n"))
}

// faultReason is a faulted unit's reason, empty for other states.
func faultReason(u api.UnitStatus) string {
	if strings.EqualFold(u.State, "fault") {
		return strings.TrimSpace(u.Reason)
	}
	return ""
}

// fitValues lists a unit's values, "name=value unit", as many whole ones
// as fit in width cells, in the unit's order; one too long for the room
// left is skipped for shorter ones after it, and "+N" says how many are
// not shown.
func fitValues(u api.UnitStatus, width int, stale bool) string {
	items := make([]string, len(u.Values))
	total := 0
	for i, tv := range u.Values {
		items[i] = esc(shortName(u.Name, tv.Tag)) + "=" + formatValueMarkup(tv, stale)
		if i > 0 {
			total += 2
		}
		total += tview.TaggedStringWidth(items[i])
	}
	if total <= width {
		return strings.Join(items, "  ")
	}
	room := width - len("  +99")
	var shown []string
	used := 0
	for _, it := range items {
		w := tview.TaggedStringWidth(it)
		if len(shown) > 0 {
			w += 2
		}
		if used+w <= room {
			shown = append(shown, it)
			used += w
		}
	}
	more := fmt.Sprintf("+%d", len(items)-len(shown))
	if len(shown) == 0 {
		return more
	}
	return strings.Join(shown, "  ") + "  " + more
}

// wrapText breaks plain text at spaces into lines of at most width runes,
// keeping the spacing inside a line; a word longer than width gets a line
// of its own, whole, so that no value is ever cut.
func wrapText(s string, width int) []string {
	width = max(width, 10)
	var lines []string
	cur, curW := "", 0
	for len(s) > 0 {
		// One token: the spaces before a word, and the word.
		i := len(s) - len(strings.TrimLeft(s, " "))
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			j = len(s) - i
		}
		space, word := s[:i], s[i:i+j]
		s = s[i+j:]
		if word == "" {
			break
		}
		ww := len([]rune(word))
		switch {
		case curW == 0:
			cur, curW = word, ww
		case curW+len(space)+ww <= width:
			cur += space + word
			curW += len(space) + ww
		default:
			// A unit ("%", "°C)") goes to the next line with its number.
			if k := strings.LastIndexByte(cur, ' '); k > 0 && isUnitWord(word) && endsWithDigit(cur) {
				num := cur[k+1:]
				lines = append(lines, strings.TrimRight(cur[:k], " "))
				cur = num + space + word
				curW = len([]rune(cur))
				continue
			}
			lines = append(lines, cur)
			cur, curW = word, ww
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// isUnitWord says whether a word looks like a unit that belongs to the
// number before it: short, and not itself starting with a letter or
// digit of a sentence ("%", "°C", "A)", "kg/h,").
func isUnitWord(w string) bool {
	r := []rune(strings.TrimRight(w, ".,;:)"))
	if len(r) == 0 || len(r) > 5 {
		return len(r) == 0
	}
	switch {
	case r[0] >= '0' && r[0] <= '9':
		return false
	case len(r) <= 3:
		return true
	}
	return strings.Contains(string(r), "/")
}

// endsWithDigit says whether text ends with a digit (after a value's
// quality mark).
func endsWithDigit(s string) bool {
	s = strings.TrimRight(s, uncertainMark)
	return s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9'
}
