package hmi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

func init() {
	registerScreen(3, func(h *hmi) screen { return newAlarmSummary(h) })
	registerScreen(8, func(h *hmi) screen { return newShelvedList(h) })
}

// Limits of the shelving time an operator may ask for, in minutes.
const (
	shelveDefaultMin = 10
	shelveMaxMin     = 24 * 60
)

// alarmSummary is the ISA-18.2 alarm summary (level 2): every alarm that
// needs attention, one per row, waiting ones first, so that an operator can
// acknowledge, shelve, or go to the tag's trend and the alarm's journal.
type alarmSummary struct {
	h      *hmi
	text   *fastText
	pg     rowPager
	input  lineInput
	filter string

	rows    []api.AlarmStatus // the sorted, filtered rows on screen
	total   int               // alarms in the summary before the filter
	selName string            // the selected alarm, kept across updates
}

func newAlarmSummary(h *hmi) *alarmSummary {
	return &alarmSummary{h: h, text: newFastText()}
}

func (s *alarmSummary) id() string            { return "alarms" }
func (s *alarmSummary) view() tview.Primitive { return s.text }

func (s *alarmSummary) title() string {
	if s.filter != "" {
		return "Alarms “" + esc(s.filter) + "”"
	}
	return "Alarms"
}

// enter takes the `:alarms FILTER` argument; the number key clears the
// filter.
func (s *alarmSummary) enter(arg string) {
	s.filter = strings.TrimSpace(arg)
	s.input = lineInput{}
	s.selName = ""
	s.pg = rowPager{}
}

func (s *alarmSummary) keys() []keyHelp {
	if s.input.open {
		return []keyHelp{{"Enter", "apply filter"}, {"Esc", "clear filter"}}
	}
	if s.h.cols >= 120 {
		return []keyHelp{{"k/Enter", "ack"}, {"p", "ack page"}, {"K", "ack all"}, {"v", "shelve"},
			{"o", "out of service"}, {"/", "filter"}, {"g", "trend"}, {"j", "journal"}, {"↑↓ PgUp PgDn", "scroll"}}
	}
	return []keyHelp{{"k/p/K", "ack/page/all"}, {"v/o", "shelve/o-s"}, {"/", "filter"}, {"g/j", "trend/log"}}
}

func (s *alarmSummary) onKey(ev *tcell.EventKey) *tcell.EventKey {
	h := s.h
	if s.input.open {
		switch s.input.key(ev) {
		case inputApply:
			s.filter = strings.TrimSpace(s.input.text)
			s.pg.sel, s.pg.off = 0, 0
			s.selName = ""
			h.renderFrame()
			h.showKeys()
		case inputCancel:
			s.filter = ""
			h.renderFrame()
			h.showKeys()
		}
		s.refresh()
		return nil
	}
	if s.pg.key(ev) {
		s.selName = ""
		if a, ok := s.selected(); ok {
			s.selName = a.Name
		}
		s.refresh()
		return nil
	}
	switch {
	case ev.Key() == tcell.KeyEnter:
		s.ack()
		return nil
	case ev.Key() != tcell.KeyRune:
		return ev
	}
	switch ev.Rune() {
	case 'k':
		s.ack()
	case 'p':
		s.ackPage()
	case 'K':
		h.command(api.Command{Command: api.CommandAckAll})
	case 'v':
		if a, ok := s.need("shelve"); ok {
			h.askShelve(a.Name)
		}
	case 'o':
		if a, ok := s.need("out of service"); ok {
			h.askOutOfService(a.Name)
		}
	case '/':
		s.input = lineInput{open: true, text: s.filter}
		h.showKeys()
		s.refresh()
	case 'g':
		if a, ok := s.need("trend"); ok {
			h.openTrendOf(a)
		}
	case 'j':
		if a, ok := s.need("journal"); ok {
			h.open("journal", "alarm="+a.Name, true)
		}
	default:
		return ev
	}
	return nil
}

// selected is the alarm under the selection bar.
func (s *alarmSummary) selected() (api.AlarmStatus, bool) {
	if s.pg.sel < 0 || s.pg.sel >= len(s.rows) {
		return api.AlarmStatus{}, false
	}
	return s.rows[s.pg.sel], true
}

// need is the selected alarm, or a message that there is none.
func (s *alarmSummary) need(what string) (api.AlarmStatus, bool) {
	a, ok := s.selected()
	if !ok {
		s.h.setMessage(what + ": no alarm selected")
	}
	return a, ok
}

// ack acknowledges the selected alarm.
func (s *alarmSummary) ack() {
	a, ok := s.need("ack")
	if !ok {
		return
	}
	if !waitsForAck(a) {
		s.h.setMessage(esc(a.Name) + " is already acknowledged")
		return
	}
	s.h.command(api.Command{Command: api.CommandAck, Alarm: a.Name})
}

// ackPage acknowledges the unacknowledged alarms on the page in view, one
// command each, so that alarms out of sight are not acknowledged unseen.
func (s *alarmSummary) ackPage() {
	var names []string
	for i := s.pg.off; i < min(s.pg.off+s.pg.page, len(s.rows)); i++ {
		if waitsForAck(s.rows[i]) {
			names = append(names, s.rows[i].Name)
		}
	}
	if len(names) == 0 {
		s.h.setMessage("no unacknowledged alarm on this page")
		return
	}
	if !s.h.mayCommand("ack") {
		return
	}
	for _, n := range names {
		s.h.command(api.Command{Command: api.CommandAck, Alarm: n})
	}
	if len(names) > 1 {
		s.h.setMessage(fmt.Sprintf("sending %d acks…", len(names)))
	}
}

// suppressed says whether an alarm is shelved or out of service: listed on
// the shelved screen, not in the summary.
func suppressed(a api.AlarmStatus) bool {
	return a.State == "shelved" || a.State == "out_of_service"
}

// priorityIndex orders priorities: critical 0 to low 3, in any case;
// unknown ones 4, after low.
func priorityIndex(p string) int {
	if r, ok := priorityRank[strings.ToLower(p)]; ok {
		return r
	}
	return 4
}

// priorityShort is a priority in four letters, for narrow terminals.
func priorityShort(p string) string {
	switch strings.ToLower(p) {
	case "critical":
		return "crit"
	case "medium":
		return "med"
	}
	return p
}

// alarmStateText is the state column: UNACK, RTN UNACK, ack.
func alarmStateText(a api.AlarmStatus) string {
	switch a.State {
	case "unacknowledged":
		return "UNACK"
	case "returned_unacknowledged":
		return "RTN UNACK"
	case "acknowledged":
		return "ack"
	case "out_of_service":
		return "o/s"
	}
	return strings.ReplaceAll(a.State, "_", " ")
}

// sortAlarms orders the summary: unacknowledged first, then by priority,
// then newest first; the name breaks ties so the order is stable.
func sortAlarms(as []api.AlarmStatus) {
	slices.SortStableFunc(as, func(a, b api.AlarmStatus) int {
		if wa, wb := waitsForAck(a), waitsForAck(b); wa != wb {
			if wa {
				return -1
			}
			return 1
		}
		if d := priorityIndex(a.Priority) - priorityIndex(b.Priority); d != 0 {
			return d
		}
		if c := b.Since.Compare(a.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// alarmMatches says whether an alarm matches a filter: a case-insensitive
// substring of its name, message, unit, tag, priority or state.
func alarmMatches(a api.AlarmStatus, filter string) bool {
	if filter == "" {
		return true
	}
	f := strings.ToLower(filter)
	for _, field := range []string{a.Name, a.Message, a.Unit, a.Tag, a.Priority, a.State, alarmStateText(a)} {
		if strings.Contains(strings.ToLower(field), f) {
			return true
		}
	}
	return false
}

// statusTag looks a tag up in the status: the line's tags, then the units'.
func statusTag(st *api.Status, tag string) (api.TagValue, bool) {
	if st == nil || tag == "" {
		return api.TagValue{}, false
	}
	for _, tv := range st.Tags {
		if tv.Tag == tag {
			return tv, true
		}
	}
	for _, u := range st.Units {
		for _, tv := range u.Values {
			if tv.Tag == tag {
				return tv, true
			}
		}
	}
	return api.TagValue{}, false
}

// tagValueText prints a value of tag as plain text, with the tag's unit and
// precision when the status knows the tag: "####" when bad, a "?" after it
// when uncertain or stale.
func tagValueText(st *api.Status, tag string, tv api.TagValue, stale bool) string {
	known, ok := statusTag(st, tag)
	var num string
	if ok {
		tv.Unit, tv.Precision, tv.Bool = known.Unit, known.Precision, known.Bool
		num = formatValue(tv)
	} else {
		num = formatNumber(tv.Value)
	}
	m := qualityMark(tv.Quality)
	if stale && m == markNormal {
		m = markUncertain
	}
	switch m {
	case markBad:
		return badValue
	case markUncertain:
		num += uncertainMark
	}
	if tv.Unit != "" && !tv.Bool {
		num += " " + tv.Unit
	}
	return num
}

// alarmValueText is an alarm's value with its tag's unit.
func (h *hmi) alarmValueText(a api.AlarmStatus) string {
	return tagValueText(h.last, a.Tag, api.TagValue{Value: a.Value, Quality: a.Quality}, h.stale())
}

// bodyRows is the number of rows of the body (between the breadcrumb and
// the message line).
func (h *hmi) bodyRows() int {
	if h.rows == 0 {
		return 17
	}
	return max(h.rows-7, 6)
}

// bodyWidth is the width a screen's lines may use.
func (h *hmi) bodyWidth() int {
	if h.cols == 0 {
		return 79
	}
	return max(h.cols-1, 40)
}

// refresh rebuilds the rows from the last status and lays them out.
func (s *alarmSummary) refresh() {
	h := s.h
	st := h.last
	if st == nil {
		s.text.SetText(" waiting for the controller…")
		return
	}
	var all []api.AlarmStatus
	for _, a := range st.Alarms {
		if !suppressed(a) {
			all = append(all, a)
		}
	}
	sortAlarms(all)
	s.total = len(all)
	s.rows = s.rows[:0]
	for _, a := range all {
		if alarmMatches(a, s.filter) {
			s.rows = append(s.rows, a)
		}
	}
	// The selection stays on its alarm while the order changes.
	if s.selName != "" {
		if i := slices.IndexFunc(s.rows, func(a api.AlarmStatus) bool { return a.Name == s.selName }); i >= 0 {
			s.pg.sel = i
		}
	}

	width := h.bodyWidth()
	var lines []string
	lines = append(lines, " "+alarmCountsLine(all, st.AlarmCounts, width-1))
	if s.input.open {
		lines = append(lines, " [::b]Filter:[::-] "+esc(s.input.text)+"[::r] [::-]  Enter applies, Esc clears")
	} else if s.filter != "" {
		lines = append(lines, fmt.Sprintf(" Filter “%s”: %d of %d shown   / changes it, / Esc clears it", esc(s.filter), len(s.rows), s.total))
	}
	// The bottom rows tell the selected alarm in full: its guidance does
	// not fit its row on a narrow terminal.
	detailRows := 2
	if width >= 120 {
		detailRows = 1
	}
	page := h.bodyRows() - len(lines) - 1 - detailRows
	s.pg.set(len(s.rows), page)
	if a, ok := s.selected(); ok {
		s.selName = a.Name
	}

	if len(s.rows) == 0 {
		if s.total == 0 {
			lines = append(lines, "", " No alarms need attention.")
		} else {
			lines = append(lines, "", " No alarm matches the filter.")
		}
		s.text.SetText(strings.Join(lines, "\n"))
		return
	}
	cols := s.columns(width)
	lines = append(lines, "[::b]"+esc(cols.header())+"[::-]")
	for i := s.pg.off; i < min(s.pg.off+s.pg.page, len(s.rows)); i++ {
		a := s.rows[i]
		c := colorWarn
		mark := "  "
		if waitsForAck(a) {
			c, mark = colorBad, alarmMark
		}
		lines = append(lines, rowMarkup(c, mark, cols.row(s.cells(a, width)), width, i == s.pg.sel))
	}
	for len(lines) < h.bodyRows()-detailRows {
		lines = append(lines, "")
	}
	if a, ok := s.selected(); ok {
		for i, l := range wrapWords(s.detail(a), width-2, detailRows) {
			if i == 0 {
				l = "[::b]▸[::-] " + esc(l)
			} else {
				l = "  " + esc(l)
			}
			lines = append(lines, l)
		}
	}
	s.text.SetText(strings.Join(lines, "\n"))
}

// detail says everything about one alarm in words, for the bottom rows.
func (s *alarmSummary) detail(a api.AlarmStatus) string {
	h := s.h
	text := a.Name + ": " + a.Message
	if a.Chattering {
		text += " (chattering)"
	}
	if a.Tag != "" {
		text += " · " + a.Tag + " = " + h.alarmValueText(a)
	}
	if a.Unit != "" {
		text += " · unit " + a.Unit
	}
	if !a.Since.IsZero() && h.last != nil {
		text += " · for " + formatElapsed(h.last.Time.Sub(a.Since))
	}
	if a.State == "acknowledged" && a.User != "" {
		text += " · acknowledged by " + a.User
	}
	return text
}

// wrapWords breaks text into at most n lines of width runes at spaces; the
// last line ends with … when text is longer.
func wrapWords(text string, width, n int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) > width {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > n {
		lines[n-1] = strings.Join(lines[n-1:], " ")
		lines = lines[:n]
	}
	for i := range lines {
		lines[i] = cut(lines[i], width) // a word longer than the line, or the rest
	}
	return lines
}

// alarmCountsLine counts the summary's alarms by priority and state, and
// the suppressed ones of the status's counts, in width cells.
func alarmCountsLine(as []api.AlarmStatus, c api.AlarmCounts, width int) string {
	var prio [5]int
	unack, rtn, acked := 0, 0, 0
	for _, a := range as {
		prio[priorityIndex(a.Priority)]++
		switch a.State {
		case "unacknowledged":
			unack++
		case "returned_unacknowledged":
			rtn++
		default:
			acked++
		}
	}
	if len(as) == 0 {
		line := "No alarms"
		if c.Shelved+c.OutOfService > 0 {
			line += fmt.Sprintf("; %d shelved, %d out of service (8 lists them)", c.Shelved, c.OutOfService)
		}
		return line
	}
	names := []string{"crit", "high", "med", "low"}
	if width >= 120 {
		names = []string{"critical", "high", "medium", "low"}
	}
	parts := []string{fmt.Sprintf("[::b]%d alarms:[::-]", len(as))}
	for i, n := range names {
		parts = append(parts, fmt.Sprintf("%d %s", prio[i], n))
	}
	if prio[4] > 0 {
		parts = append(parts, fmt.Sprintf("%d other", prio[4]))
	}
	waiting := fmt.Sprintf("%d unack", unack+rtn)
	if width >= 120 {
		waiting = fmt.Sprintf("%d UNACK, %d RTN UNACK", unack, rtn)
	} else if rtn > 0 {
		waiting += fmt.Sprintf(" (%d rtn)", rtn)
	}
	if unack+rtn > 0 {
		waiting = paint(colorBad, alarmMark+waiting)
	}
	line := strings.Join(parts, " ") + " · " + waiting + fmt.Sprintf(", %d ack", acked)
	if c.Shelved+c.OutOfService > 0 {
		more := fmt.Sprintf(" · %d shelved, %d o/s", c.Shelved, c.OutOfService)
		if tview.TaggedStringWidth(line+more) <= width {
			line += more
		}
	}
	return line
}

// cells are the columns of one alarm; columns chooses which are shown.
func (s *alarmSummary) cells(a api.AlarmStatus, width int) map[string]string {
	h := s.h
	prio, onset := priorityShort(a.Priority), "—"
	if width >= 120 {
		prio = a.Priority
	}
	if !a.Since.IsZero() {
		onset = a.Since.Format("15:04:05")
		if width >= 120 {
			onset = a.Since.Format("2006-01-02 15:04:05")
		}
	}
	msg := a.Message
	if a.Chattering {
		msg += " (chattering)"
	}
	user := ""
	if a.State == "acknowledged" {
		user = a.User
	}
	return map[string]string{
		"prio": prio, "state": alarmStateText(a), "onset": onset, "value": h.alarmValueText(a),
		"name": a.Name, "unit": a.Unit, "tag": a.Tag, "user": user, "message": msg,
	}
}

// columns fits the summary's columns to width: values never cut, names
// and messages shortened with … when they must.
func (s *alarmSummary) columns(width int) tableCols {
	all := make([]map[string]string, len(s.rows))
	for i, a := range s.rows {
		all[i] = s.cells(a, width)
	}
	fit := func(key, title string, limit int) tableCol { return fitCol(all, key, title, limit) }
	cols := tableCols{
		fit("prio", "prio", 8), fit("state", "state", 9), fit("onset", "onset", 19),
		fit("value", "value", 1000), // never cut
	}
	cols[3].right = true
	if width >= 120 {
		cols = append(cols, fit("name", "alarm", 28), fit("unit", "unit", 14), fit("tag", "tag", 28), fit("user", "ack by", 12))
	} else {
		cols = append(cols, fit("name", "alarm", 20))
	}
	cols = append(cols, tableCol{key: "message", title: "message / guidance", width: max(width-2-cols.width(), 10)})
	return cols
}

// openTrendOf opens the trend of an alarm's tag.
func (h *hmi) openTrendOf(a api.AlarmStatus) {
	if a.Tag == "" {
		h.setMessage("trend: " + esc(a.Name) + " names no tag")
		return
	}
	if !h.open("trend", a.Tag, true) {
		h.setMessage(paint(colorWarn, alarmMark+"no trend screen in this HMI"))
	}
}

// askShelve asks for how long and why to shelve an alarm, then sends the
// shelve command.
func (h *hmi) askShelve(name string) {
	if !h.mayCommand("shelve " + esc(name)) {
		return
	}
	fields := []promptField{
		{label: "Minutes", value: strconv.Itoa(shelveDefaultMin), width: 6, accept: tview.InputFieldInteger},
		{label: "Reason", width: 44},
	}
	title := "Shelve " + name + " (1-1440 min)"
	calm(h.prompt.Box, title) // the prompt's border carries the title
	h.ask(title, fields, func(v map[string]string) {
		what := "shelve " + esc(name)
		mins, err := strconv.Atoi(v["Minutes"])
		if v["Minutes"] == "" {
			mins, err = shelveDefaultMin, nil
		}
		switch {
		case err != nil || mins < 1 || mins > shelveMaxMin:
			h.setMessage(paint(colorWarn, alarmMark+what+": minutes must be 1 to 1440; not shelved"))
		case v["Reason"] == "":
			h.setMessage(paint(colorWarn, alarmMark+what+": a reason is required; not shelved"))
		default:
			h.command(api.Command{Command: api.CommandShelve, Alarm: name, Value: float64(mins * 60), Reason: v["Reason"]})
		}
	})
}

// askOutOfService asks why an alarm is taken out of service, then sends
// the command; the controller allows it to supervisors only.
func (h *hmi) askOutOfService(name string) {
	if !h.mayCommand("out of service " + esc(name)) {
		return
	}
	title := "Out of service: " + name + " (supervisor)"
	calm(h.prompt.Box, title)
	h.ask(title, []promptField{{label: "Reason", width: 44}}, func(v map[string]string) {
		if v["Reason"] == "" {
			h.setMessage(paint(colorWarn, alarmMark+"out of service "+esc(name)+": a reason is required; nothing sent"))
			return
		}
		h.command(api.Command{Command: api.CommandOutOfService, Alarm: name, Reason: v["Reason"]})
	})
}

// shelvedList is the list of shelved and out-of-service alarms: what is
// hidden from the summary, by whom, and until when.
type shelvedList struct {
	h       *hmi
	text    *fastText
	pg      rowPager
	rows    []api.AlarmStatus
	selName string
}

func newShelvedList(h *hmi) *shelvedList { return &shelvedList{h: h, text: newFastText()} }

func (s *shelvedList) id() string            { return "shelved" }
func (s *shelvedList) title() string         { return "Shelved alarms" }
func (s *shelvedList) view() tview.Primitive { return s.text }
func (s *shelvedList) enter(string)          { s.pg, s.selName = rowPager{}, "" }

func (s *shelvedList) keys() []keyHelp {
	return []keyHelp{{"V", "unshelve"}, {"O", "return to service"}, {"j", "journal"}, {"↑↓", "select"}}
}

func (s *shelvedList) onKey(ev *tcell.EventKey) *tcell.EventKey {
	h := s.h
	if s.pg.key(ev) {
		s.selName = ""
		if s.pg.sel < len(s.rows) {
			s.selName = s.rows[s.pg.sel].Name
		}
		s.refresh()
		return nil
	}
	if ev.Key() != tcell.KeyRune {
		return ev
	}
	r := ev.Rune()
	if r != 'V' && r != 'O' && r != 'j' {
		return ev
	}
	if s.pg.sel >= len(s.rows) {
		h.setMessage("no alarm selected")
		return nil
	}
	a := s.rows[s.pg.sel]
	switch {
	case r == 'j':
		h.open("journal", "alarm="+a.Name, true)
	case r == 'V' && a.State == "shelved":
		h.command(api.Command{Command: api.CommandUnshelve, Alarm: a.Name})
	case r == 'O' && a.State == "out_of_service":
		h.command(api.Command{Command: api.CommandInService, Alarm: a.Name})
	case r == 'V':
		h.setMessage(esc(a.Name) + " is out of service, not shelved: O returns it to service")
	default:
		h.setMessage(esc(a.Name) + " is shelved, not out of service: V unshelves it")
	}
	return nil
}

func (s *shelvedList) refresh() {
	h := s.h
	st := h.last
	if st == nil {
		s.text.SetText(" waiting for the controller…")
		return
	}
	s.rows = s.rows[:0]
	nShelved, nOOS := 0, 0
	for _, a := range st.Alarms {
		switch a.State {
		case "shelved":
			nShelved++
		case "out_of_service":
			nOOS++
		default:
			continue
		}
		s.rows = append(s.rows, a)
	}
	// Shelved first, the soonest to return first; then out of service.
	slices.SortStableFunc(s.rows, func(a, b api.AlarmStatus) int {
		if a.State != b.State {
			return strings.Compare(b.State, a.State) // shelved before out_of_service
		}
		if c := a.ShelvedUntil.Compare(b.ShelvedUntil); c != 0 {
			return c
		}
		if d := priorityIndex(a.Priority) - priorityIndex(b.Priority); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	if s.selName != "" {
		if i := slices.IndexFunc(s.rows, func(a api.AlarmStatus) bool { return a.Name == s.selName }); i >= 0 {
			s.pg.sel = i
		}
	}
	width := h.bodyWidth()
	lines := []string{fmt.Sprintf(" [::b]%d shelved, %d out of service[::-]   they do not annunciate; shelving ends by itself, out of service does not", nShelved, nOOS)}
	if width < 120 {
		lines[0] = fmt.Sprintf(" [::b]%d shelved, %d out of service[::-] (not annunciated)", nShelved, nOOS)
	}
	s.pg.set(len(s.rows), h.bodyRows()-2)
	if len(s.rows) == 0 {
		lines = append(lines, "", " No alarm is shelved or out of service.")
		s.text.SetText(strings.Join(lines, "\n"))
		return
	}
	s.selName = s.rows[s.pg.sel].Name
	all := make([]map[string]string, len(s.rows))
	for i, a := range s.rows {
		all[i] = s.cells(a, width)
	}
	fit := func(key, title string, limit int) tableCol { return fitCol(all, key, title, limit) }
	cols := tableCols{fit("state", "state", 14), fit("prio", "prio", 8), fit("until", "until", 19), fit("left", "left", 10)}
	cols[3].right = true
	if width >= 120 {
		cols = append(cols, fit("name", "alarm", 28), fit("unit", "unit", 14), fit("value", "value", 1000), fit("user", "by", 12))
		cols[6].right = true
	} else {
		cols = append(cols, fit("name", "alarm", 20), fit("user", "by", 10))
	}
	cols = append(cols, tableCol{key: "message", title: "message", width: max(width-2-cols.width(), 10)})
	lines = append(lines, "[::b]"+esc(cols.header())+"[::-]")
	for i := s.pg.off; i < min(s.pg.off+s.pg.page, len(s.rows)); i++ {
		lines = append(lines, rowMarkup(tcell.ColorDefault, "  ", cols.row(all[i]), width, i == s.pg.sel))
	}
	s.text.SetText(strings.Join(lines, "\n"))
}

// cells are the columns of one shelved or out-of-service alarm.
func (s *shelvedList) cells(a api.AlarmStatus, width int) map[string]string {
	st := s.h.last
	c := map[string]string{"state": "shelved", "prio": priorityShort(a.Priority), "until": "—", "left": "—",
		"name": a.Name, "unit": a.Unit, "value": s.h.alarmValueText(a), "user": a.User, "message": a.Message}
	if width >= 120 {
		c["prio"] = a.Priority
	}
	if a.State == "out_of_service" {
		c["state"] = "out of service"
		if width < 120 {
			c["state"] = "o/s"
		}
		c["until"] = "until returned"
		if width < 120 {
			c["until"] = "—"
		}
	} else if !a.ShelvedUntil.IsZero() {
		c["until"] = a.ShelvedUntil.Format("15:04:05")
		if width >= 120 {
			c["until"] = a.ShelvedUntil.Format("2006-01-02 15:04:05")
		}
		c["left"] = formatElapsed(a.ShelvedUntil.Sub(st.Time))
	}
	return c
}

// rowPager keeps a selected row and the first row in view over n rows of
// which page fit on the screen.
type rowPager struct{ sel, off, n, page int }

// set sets the number of rows and the page size, keeping the selection in
// range and in view.
func (p *rowPager) set(n, page int) {
	p.n, p.page = n, max(page, 1)
	p.clamp()
}

func (p *rowPager) clamp() {
	p.sel = max(min(p.sel, p.n-1), 0)
	if p.sel < p.off {
		p.off = p.sel
	}
	if p.sel >= p.off+p.page {
		p.off = p.sel - p.page + 1
	}
	p.off = max(min(p.off, p.n-p.page), 0)
}

// key moves the selection for ↑↓ PgUp PgDn Home End; it reports whether it
// used the key.
func (p *rowPager) key(ev *tcell.EventKey) bool {
	switch ev.Key() {
	case tcell.KeyUp:
		p.sel--
	case tcell.KeyDown:
		p.sel++
	case tcell.KeyPgUp:
		p.sel -= p.page
		p.off -= p.page
	case tcell.KeyPgDn:
		p.sel += p.page
		p.off += p.page
	case tcell.KeyHome:
		p.sel, p.off = 0, 0
	case tcell.KeyEnd:
		p.sel = p.n - 1
	default:
		return false
	}
	p.off = max(p.off, 0)
	p.clamp()
	return true
}

// lineInput is a one-line text input drawn by its screen: it takes every
// key while open, so that letters do not reach the global keys.
type lineInput struct {
	open bool
	text string
}

// What a key did to a lineInput.
const (
	inputEditing = iota
	inputApply
	inputCancel
)

// key edits the text: Enter applies and Esc cancels, both closing it.
func (in *lineInput) key(ev *tcell.EventKey) int {
	switch ev.Key() {
	case tcell.KeyEnter:
		in.open = false
		return inputApply
	case tcell.KeyEscape:
		in.open, in.text = false, ""
		return inputCancel
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		if r := []rune(in.text); len(r) > 0 {
			in.text = string(r[:len(r)-1])
		}
	case tcell.KeyCtrlU:
		in.text = ""
	case tcell.KeyRune:
		if utf8.RuneCountInString(in.text) < 60 {
			in.text += string(ev.Rune())
		}
	}
	return inputEditing
}

// tableCol is one column of a text table.
type tableCol struct {
	key, title string
	width      int
	right      bool // right-aligned (numbers)
}

// tableCols are a text table's columns, separated by a space.
type tableCols []tableCol

// width is the cells the columns take with their separators.
func (cs tableCols) width() int {
	w := 0
	for _, c := range cs {
		w += c.width + 1
	}
	return w
}

// header is the columns' titles as plain text.
func (cs tableCols) header() string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.key] = c.title
	}
	return "  " + cs.row(m)
}

// row lays out one row's cells as plain text: text cut with … to its
// column, the last column left ragged.
func (cs tableCols) row(cells map[string]string) string {
	var b strings.Builder
	for i, c := range cs {
		v := cut(cells[c.key], c.width)
		pad := strings.Repeat(" ", max(c.width-utf8.RuneCountInString(v), 0))
		if c.right {
			b.WriteString(pad + v)
		} else if i < len(cs)-1 {
			b.WriteString(v + pad)
		} else {
			b.WriteString(v)
		}
		if i < len(cs)-1 {
			b.WriteString(" ")
		}
	}
	return b.String()
}

// rowMarkup is one table row as markup: the marker, the text in colour c
// (the default for normal rows), the selected row in reverse video across
// the width.
func rowMarkup(c tcell.Color, mark, text string, width int, selected bool) string {
	line := mark + text
	if n := utf8.RuneCountInString(line); n < width {
		line += strings.Repeat(" ", width-n)
	}
	attr := ""
	if selected {
		attr = "::r"
	}
	if c == tcell.ColorDefault {
		if !selected {
			return esc(line)
		}
		return "[" + attr + "]" + esc(line) + "[::-]"
	}
	return "[" + c.String() + attr + "]" + esc(line) + "[-::-]"
}

// fitCol is a column as wide as its widest cell in rows (or its title),
// but no wider than limit unless the title is.
func fitCol(rows []map[string]string, key, title string, limit int) tableCol {
	w := utf8.RuneCountInString(title)
	for _, c := range rows {
		w = max(w, utf8.RuneCountInString(c[key]))
	}
	return tableCol{key: key, title: title, width: min(w, max(limit, utf8.RuneCountInString(title)))}
}
