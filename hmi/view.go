package hmi

import (
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

// Page names in the root Pages: the frame, and the dialogs over it.
const (
	pageMain    = "main"
	pageRecipes = "recipes"
	pageAbort   = "abort"
	pageHelp    = "help"
	pageLogin   = "login"
	pagePrompt  = "prompt"
)

// widgets are the screen's primitives, built once by newHMI. They may be
// changed only on the event goroutine.
type widgets struct {
	pages    *tview.Pages
	delivery deliveryForm // the weighbridge booking form
	main     *tview.Flex
	header   *fastText    // line, state, phase, plant time; cause; next; alarms
	crumb    *fastText    // where the operator is: Overview › Alarms
	body     *tview.Pages // one page per screen
	message  *fastText    // answers to commands, errors of the HMI itself
	cmdline  *tview.InputField
	keybar   *fastText
	picker   *tview.List     // recipe picker for s
	confirm  *tview.TextView // abort confirmation for a
	help     *tview.TextView
	login    *tview.Form
	prompt   *tview.Form
}

// uiState is what the screen remembers between updates. It belongs to the
// event goroutine.
type uiState struct {
	last *api.Status // last status received, nil before the first
	link link

	mode      mode
	recipes   []api.RecipeInfo // entries of the open picker, in list order
	pickerGen int              // increases each time the picker opens

	screens map[string]screen
	order   []screen   // in number order: the overview first
	numbers []int      // the number of each screen in order
	stack   []navEntry // the breadcrumb; the last is in front

	session *api.Session // nil until signed in
	locked  bool         // the idle lock (or no sign-in yet) hides commands
	lastKey time.Time    // wall time of the last key, for the idle lock
	cols    int          // terminal size at the last draw
	rows    int
	spark   sparks // the overview's recent key values
}

// navEntry is one step of the breadcrumb.
type navEntry struct {
	s   screen
	arg string
}

// link is the state of the connection to the controller as the feed last
// saw it.
type link struct {
	tried        bool      // at least one status request has completed
	err          error     // error of the last request, nil when it succeeded
	failingSince time.Time // HMI wall time of the first failure in a row
	now          time.Time // HMI wall time of the last result
	via          string    // "stream" or "polling"
}

// screen is one display of the HMI's body. Its methods run on the event
// goroutine.
type screen interface {
	// id is the screen's name in `:` commands.
	id() string
	// title names it in the breadcrumb; it may include the argument.
	title() string
	view() tview.Primitive
	// enter brings the screen to the front with the `:` command's argument
	// (a unit, a batch, tags); it may start fetches with h.spawn.
	enter(arg string)
	// refresh redraws the screen from the state; it is called after every
	// status while the screen is in front, and after enter.
	refresh()
	// keys are the screen's own keys, for the key bar and the help.
	keys() []keyHelp
	// onKey sees a key before the global keys; it returns nil when it used
	// the key.
	onKey(ev *tcell.EventKey) *tcell.EventKey
}

// keyHelp is one key and what it does.
type keyHelp struct{ key, label string }

// newHMI builds the application and its widgets; it makes no I/O.
func newHMI(client *api.Client, opts Options) *hmi {
	h := &hmi{client: client, opts: opts, refresh: opts.Refresh, app: tview.NewApplication()}
	h.lastKey = time.Now()
	h.locked = true

	h.header = newFastText()
	h.crumb = newFastText()
	h.message = newFastText()
	h.keybar = newFastText()
	h.body = tview.NewPages()
	h.cmdline = tview.NewInputField().SetLabel(":").SetFieldStyle(tcell.StyleDefault).SetLabelStyle(tcell.StyleDefault)
	h.cmdline.SetBackgroundColor(tcell.ColorDefault)

	h.main = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(h.header, 4, 0, false).
		AddItem(h.crumb, 1, 0, false).
		AddItem(h.body, 0, 1, true).
		AddItem(h.message, 1, 0, false).
		AddItem(h.keybar, 1, 0, false)

	h.picker = tview.NewList().ShowSecondaryText(false).
		SetMainTextStyle(tcell.StyleDefault).
		SetSelectedStyle(tcell.StyleDefault.Reverse(true))
	calm(h.picker.Box, "Start batch: choose a recipe")
	h.confirm = newText(true)
	calm(h.confirm.Box, "Abort")
	h.delivery.form = h.newDeliveryForm()
	h.help = newText(true)
	calm(h.help.Box, "Help: every key (Esc closes, ↑↓ scroll)")
	h.help.SetWrap(false)
	h.login = tview.NewForm().SetItemPadding(0)
	calm(h.login.Box, "Sign in")
	h.prompt = tview.NewForm().SetItemPadding(0)
	calm(h.prompt.Box, "")

	h.pages = tview.NewPages().
		AddPage(pageMain, h.main, true, true).
		AddPage(pageRecipes, centered(h.picker, 70, 14), true, false).
		AddPage(pageAbort, centered(h.confirm, 56, 7), true, false).
		AddPage(pageDelivery, centered(h.delivery.form, 64, 23), true, false).
		AddPage(pageHelp, centered(h.help, 78, 40), true, false).
		AddPage(pageLogin, centered(h.login, 50, 11), true, false).
		AddPage(pagePrompt, centered(h.prompt, 66, 9), true, false)
	h.app.SetRoot(h.pages, true)
	h.app.SetBeforeDrawFunc(func(s tcell.Screen) bool {
		w, ht := s.Size()
		if w != h.cols || ht != h.rows {
			h.cols, h.rows = w, ht
			h.render()
		}
		return false
	})

	h.screens = map[string]screen{}
	for _, s := range h.newScreens() {
		h.screens[s.id()] = s
		h.order = append(h.order, s)
		h.body.AddPage(s.id(), s.view(), true, false)
	}
	h.stack = []navEntry{{s: h.order[0]}}
	h.body.SwitchToPage(h.order[0].id())
	h.order[0].enter("")
	h.app.SetFocus(h.order[0].view())

	h.render()
	h.showKeys()
	return h
}

// front is the screen in front.
func (h *hmi) front() screen { return h.stack[len(h.stack)-1].s }

// open brings screen id to the front with arg. From the overview, it
// stacks; a screen opened by number replaces everything above the
// overview, so that the breadcrumb stays short. push false replaces the
// front screen.
func (h *hmi) open(id, arg string, push bool) bool {
	s, ok := h.screens[id]
	if !ok {
		return false
	}
	if s == h.order[0] {
		h.stack = h.stack[:1]
	} else if push {
		if h.front() == s {
			h.stack = h.stack[:len(h.stack)-1]
		}
		h.stack = append(h.stack, navEntry{s: s, arg: arg})
	} else {
		h.stack = append(h.stack[:1], navEntry{s: s, arg: arg})
	}
	h.body.SwitchToPage(id)
	h.app.SetFocus(s.view())
	s.enter(arg)
	s.refresh()
	h.renderFrame()
	h.showKeys()
	return true
}

// back returns to the previous screen of the breadcrumb.
func (h *hmi) back() {
	if len(h.stack) <= 1 {
		return
	}
	h.stack = h.stack[:len(h.stack)-1]
	e := h.stack[len(h.stack)-1]
	h.body.SwitchToPage(e.s.id())
	h.app.SetFocus(e.s.view())
	e.s.refresh()
	h.renderFrame()
	h.showKeys()
}

// newText returns a text view in the terminal's default colours that
// understands colour tags.
func newText(wrap bool) *tview.TextView {
	t := tview.NewTextView().SetDynamicColors(true).SetWrap(wrap).SetWordWrap(wrap)
	t.SetTextStyle(tcell.StyleDefault)
	t.SetBackgroundColor(tcell.ColorDefault)
	return t
}

// calm gives a box the default colours and, with a title, a border.
func calm(b *tview.Box, title string) {
	b.SetBackgroundColor(tcell.ColorDefault)
	if title != "" {
		b.SetBorder(true).SetTitle(" " + title + " ").SetTitleAlign(tview.AlignLeft)
		b.SetBorderStyle(tcell.StyleDefault).SetTitleColor(tcell.ColorDefault)
	}
}

// newTable returns a selectable-rows table in the default colours, the
// selected row in reverse video.
func newTable() *tview.Table {
	t := tview.NewTable().SetFixed(1, 0).SetSelectable(true, false)
	t.SetBackgroundColor(tcell.ColorDefault)
	t.SetSelectedStyle(tcell.StyleDefault.Reverse(true))
	return t
}

// centered places p in the middle of the screen at the given size (never
// larger than the screen); the rest stays transparent so the frame remains
// visible around it.
func centered(p tview.Primitive, width, height int) tview.Primitive {
	return tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 0, 1, false).
			AddItem(p, height, 0, true).
			AddItem(nil, 0, 1, false), width, 0, true).
		AddItem(nil, 0, 1, false)
}

// applyStatus takes the result of one status request. On error the last
// good status stays on screen, marked stale.
func (h *hmi) applyStatus(st *api.Status, err error, now time.Time, via string) {
	h.link.tried = true
	h.link.now = now
	h.link.via = via
	if err != nil {
		if h.link.err == nil {
			h.link.failingSince = now
		}
		h.link.err = err
	} else {
		h.link.err = nil
		h.last = st
		h.noteStatus(st)
	}
	h.render()
}

// stale reports whether the values on screen are older than the last poll.
func (h *hmi) stale() bool { return h.link.err != nil }

// render redraws the frame and the screen in front.
func (h *hmi) render() {
	h.renderFrame()
	h.front().refresh()
}

// renderFrame redraws what every screen shares: the header and the
// breadcrumb.
func (h *hmi) renderFrame() {
	h.header.SetText(h.headerText())
	var parts []string
	for _, e := range h.stack {
		parts = append(parts, e.s.title())
	}
	crumb := " " + strings.Join(parts, " › ")
	if h.stale() && h.last != nil {
		crumb += "   " + paint(colorWarn, uncertainMark+" last known values, not current")
	}
	h.crumb.SetText("[::b]" + crumb + "[::-]")
}

// headerText is the four header lines every screen shows: line, state,
// phase and plant time, who is signed in; the first-out cause; the next
// action; the alarm counts and the link to the controller.
func (h *hmi) headerText() string {
	var b strings.Builder
	st := h.last
	if st == nil {
		fmt.Fprintf(&b, " [::b]—[::-]   waiting for the controller\n\n\n %s", h.linkText())
		return b.String()
	}
	// Line 1: what must always show first, then what fits.
	state := esc(st.State)
	if c, abnormal := lineStateColor(st.State); abnormal {
		state = paint(c, alarmMark+state)
	}
	line1 := fmt.Sprintf(" [::b]%s[::-]  %s", esc(st.Line), state)
	if bs := st.Batch; bs != nil {
		line1 += "  " + phaseText(bs)
		if !bs.PhaseStart.IsZero() && bs.End.IsZero() {
			line1 += " " + formatElapsed(st.Time.Sub(bs.PhaseStart))
		}
	}
	line1 += "  plant " + formatPlantClock(st.Time, h.cols)
	width := h.cols
	if width == 0 {
		width = 200
	}
	if s := h.session; s != nil {
		who := fmt.Sprintf("  %s·%s", esc(s.User), esc(s.Role))
		if tview.TaggedStringWidth(line1+who) <= width {
			line1 += who
		}
	}
	if bs := st.Batch; bs != nil {
		id := "  batch " + esc(bs.ID)
		if tview.TaggedStringWidth(line1+id) <= width {
			line1 += id
		}
	}
	b.WriteString(line1 + "\n")
	// Line 2: why the line stopped.
	b.WriteString(" " + causeText(st) + "\n")
	// Line 3: what next.
	b.WriteString(" " + nextText(st) + "\n")
	// Line 4: alarms and link.
	line4 := " " + alarmCountsText(st.AlarmCounts)
	if link := h.linkText(); h.link.err != nil || tview.TaggedStringWidth(line4+"  "+link) <= width {
		line4 += "  " + link
	}
	b.WriteString(line4)
	return b.String()
}

// causeText is the header's first-out line.
func causeText(st *api.Status) string {
	c := st.Cause
	if c == nil {
		if st.FirstOut != "" {
			return "Interlock first-out: " + esc(st.FirstOut) + " (latched until a reset)"
		}
		if st.Message != "" {
			return esc(st.Message)
		}
		return "Running normally: no stop cause"
	}
	text := "First-out: " + esc(c.Text)
	if c.Active {
		return paint(colorBad, alarmMark+text+" — still present")
	}
	if c.Kind == "operator" {
		return text
	}
	return paint(colorWarn, text+" — cleared")
}

// nextKey is the key of each command a next action names.
var nextKey = map[string]string{
	api.CommandUnhold: "u", api.CommandResume: "u", api.CommandConfirm: "c", api.CommandClear: "x",
	api.CommandReset: "r", api.CommandStart: "s", api.CommandStop: "t", api.CommandAckAll: "k",
}

// nextText is the header's next-action line.
func nextText(st *api.Status) string {
	n := st.Next
	if n == nil {
		return "Next: nothing to do"
	}
	text := "Next: " + esc(n.Text)
	if k := nextKey[n.Command]; k != "" {
		text += " — press [::r]" + k + "[::-]"
	}
	return text
}

// alarmCountsText is the alarm summary of the header: the counts that
// are not zero, the unacknowledged ones in the bad colour, and the alarm
// rate against ISA-18.2's 10 per 10 minutes.
func alarmCountsText(c api.AlarmCounts) string {
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{c.Critical, "crit"}, {c.High, "high"}, {c.Medium, "med"}, {c.Low, "low"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	s := "Alarms none"
	if len(parts) > 0 {
		s = "Alarms " + strings.Join(parts, " ")
	}
	if c.Unacknowledged > 0 {
		s = paint(colorBad, alarmMark+s+fmt.Sprintf(", %d unack", c.Unacknowledged))
	}
	if c.Shelved > 0 {
		s += fmt.Sprintf(", %d shelved", c.Shelved)
	}
	if c.OutOfService > 0 {
		s += fmt.Sprintf(", %d o/s", c.OutOfService)
	}
	rate := fmt.Sprintf("%d/10min", c.Per10Min)
	if c.Flood {
		rate = paint(colorBad, alarmMark+"FLOOD "+rate)
	}
	return s + "  " + rate
}

// formatPlantClock prints plant time: the date too when the terminal is
// wide enough.
func formatPlantClock(t time.Time, cols int) string {
	if t.IsZero() {
		return "—"
	}
	if cols >= 100 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("15:04:05")
}

// linkText describes the connection to the controller.
func (h *hmi) linkText() string {
	where := "controller"
	if h.cols >= 120 || h.cols == 0 {
		where += " " + esc(h.client.Base)
	}
	switch {
	case !h.link.tried:
		return where + ": connecting"
	case h.link.err == nil && h.cols > 0 && h.cols < 100:
		return "link " + h.link.via
	case h.link.err == nil:
		return where + ": " + h.link.via
	}
	what := "unreachable"
	if !isTransportError(h.link.err) {
		what = "answers with an error"
	}
	since := h.link.now.Sub(h.link.failingSince).Truncate(time.Second)
	return paint(colorBad, fmt.Sprintf("%s%s: %s for %s (%s), retrying", alarmMark, where, what, since, esc(shortError(h.link.err))))
}

// recipeText is "name vN (class)" as markup.
func recipeText(bs *api.BatchStatus) string {
	s := fmt.Sprintf("%s v%d", esc(bs.Recipe), bs.RecipeVersion)
	if bs.WasteClass != "" {
		s += " (" + esc(bs.WasteClass) + ")"
	}
	return s
}

// phaseText is "phase / step" as markup, coloured when abnormal.
func phaseText(bs *api.BatchStatus) string {
	phase := esc(bs.Phase)
	if bs.Step != "" {
		phase += "/" + esc(bs.Step)
	}
	if c, abnormal := phaseColor(bs.Phase); abnormal {
		phase = paint(c, alarmMark+phase)
	}
	return phase
}

// setMessage replaces the message line with markup.
func (h *hmi) setMessage(markup string) { h.message.SetText(" " + markup) }
