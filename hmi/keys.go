package hmi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

// mode says which keys are live: the screens' and the global keys, or
// those of a dialog over them.
type mode int

// Keyboard modes.
const (
	modeOverview mode = iota // screens and global keys
	modePickRecipe
	modeConfirmAbort
	modeDelivery
	modeHelp
	modeCommand // typing a `:` command
	modeLogin
	modePrompt
)

// Key bars of the dialogs. Keys are shown in reverse video, not colour:
// colour is reserved for abnormal states.
var dialogKeyBars = map[mode]string{
	modePickRecipe:   keys("↑↓", "choose recipe", "Enter", "start batch", "Esc", "cancel"),
	modeConfirmAbort: keys("y", "abort now", "n/Esc", "cancel"),
	modeDelivery:     keys("Tab", "next field", "Enter", "choose / press button", "Esc", "cancel"),
	modeHelp:         keys("↑↓", "scroll", "Esc/?", "close"),
	modeCommand:      keys("Enter", "run", "Tab", "complete", "Esc", "cancel") + " :help lists the commands",
	modeLogin:        keys("Tab", "next field", "Enter", "sign in", "Ctrl-C", "quit"),
	modePrompt:       keys("Tab", "next field", "Enter", "OK", "Esc", "cancel"),
}

// globalKeys are the keys that work on every screen (unless the screen
// uses the key itself), in the order the help lists them.
var globalKeys = []keyHelp{
	{"1 / F1", "overview"}, {"2 / F2", "units (Enter: a unit's faceplate)"}, {"3 / F3", "alarm summary"},
	{"4 / F4", "trends"}, {"5 / F5", "running batch"}, {"6 / F6", "batch history (Enter: a record)"},
	{"7 / F7", "alarm journal"}, {"8 / F8", "shelved and out-of-service alarms"}, {"9 / F9", "training (demo)"},
	{"Esc", "back"}, {"?", "help"}, {":", "command"},
	{"s", "start batch"}, {"h", "hold"}, {"u", "unhold"}, {"c", "confirm"}, {"t", "stop"},
	{"a", "abort"}, {"r", "reset"}, {"x", "clear"}, {"d", "book delivery"},
	{"L", "lock / change user"}, {"q", "quit"},
}

// keys renders key/label pairs for the key bar.
func keys(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "[::r]%s[::-] %s  ", pairs[i], pairs[i+1])
	}
	return b.String()
}

// showKeys puts the current mode's key bar on screen: a dialog's keys, or
// the front screen's keys and the way to the rest.
func (h *hmi) showKeys() {
	if bar, ok := dialogKeyBars[h.mode]; ok {
		h.keybar.SetText(bar)
		return
	}
	var pairs []string
	for _, k := range h.front().keys() {
		pairs = append(pairs, k.key, k.label)
	}
	pairs = append(pairs, "?", "help")
	if len(h.stack) > 1 {
		pairs = append(pairs, "Esc", "back")
	}
	if h.viewOnly() {
		pairs = append(pairs, "", "view only")
	}
	h.keybar.SetText(keys(pairs...))
}

// viewOnly says whether the signed-in user may send no command.
func (h *hmi) viewOnly() bool { return h.session != nil && h.session.Role == "viewer" }

// onKey is the application's input capture; it runs on the event goroutine.
// It never does I/O: commands and fetches go to worker goroutines. quit
// begins the shutdown. Keys it does not handle go on to the focused widget
// (tables scroll, lists move, forms take text).
func (h *hmi) onKey(ctx context.Context, quit context.CancelFunc, ev *tcell.EventKey) *tcell.EventKey {
	h.lastKey = time.Now()
	if ev.Key() == tcell.KeyCtrlC {
		quit() // the same orderly way as q, instead of tview's own Stop
		return nil
	}
	switch h.mode {
	case modeLogin:
		return ev // the form handles Enter through its button
	case modePickRecipe:
		switch ev.Key() {
		case tcell.KeyEscape:
			h.closePicker()
			h.setMessage("start cancelled")
			return nil
		case tcell.KeyEnter:
			i := h.picker.GetCurrentItem()
			if i < 0 || i >= len(h.recipes) {
				return nil // still loading, or nothing to choose
			}
			r := h.recipes[i]
			h.closePicker()
			h.command(api.Command{Command: api.CommandStart, Recipe: r.Name, Version: r.Version})
			return nil
		}
		return ev
	case modeConfirmAbort:
		switch {
		case ev.Key() == tcell.KeyRune && (ev.Rune() == 'y' || ev.Rune() == 'Y'):
			h.closeDialog(pageAbort)
			h.command(api.Command{Command: api.CommandAbort})
		case ev.Key() == tcell.KeyEscape, ev.Key() == tcell.KeyRune && (ev.Rune() == 'n' || ev.Rune() == 'N'):
			h.closeDialog(pageAbort)
			h.setMessage("abort cancelled")
		}
		return nil // nothing else may slip through while asking
	case modeDelivery:
		if ev.Key() == tcell.KeyEscape {
			h.closeDelivery()
			h.setMessage("delivery not booked")
			return nil
		}
		return ev // typing goes to the form
	case modePrompt:
		if ev.Key() == tcell.KeyEscape {
			h.closeDialog(pagePrompt)
			h.setMessage("cancelled")
			return nil
		}
		return ev
	case modeHelp:
		if ev.Key() == tcell.KeyEscape || ev.Key() == tcell.KeyRune && (ev.Rune() == '?' || ev.Rune() == 'q') {
			h.closeDialog(pageHelp)
			return nil
		}
		return ev
	case modeCommand:
		switch ev.Key() {
		case tcell.KeyEscape:
			h.closeCommandLine()
			return nil
		case tcell.KeyEnter:
			text := h.cmdline.GetText()
			h.closeCommandLine()
			h.runCommandLine(ctx, quit, text)
			return nil
		case tcell.KeyTab:
			h.completeCommandLine()
			return nil
		}
		return ev
	}

	// The screen in front first: it may use keys for itself.
	if ev = h.front().onKey(ev); ev == nil {
		return nil
	}
	switch ev.Key() {
	case tcell.KeyEscape:
		h.back()
		return nil
	case tcell.KeyF1, tcell.KeyF2, tcell.KeyF3, tcell.KeyF4, tcell.KeyF5, tcell.KeyF6, tcell.KeyF7, tcell.KeyF8, tcell.KeyF9:
		h.openNumber(int(ev.Key() - tcell.KeyF1))
		return nil
	case tcell.KeyRune:
	default:
		return ev
	}
	r := ev.Rune()
	if r >= '1' && r <= '9' {
		h.openNumber(int(r - '1'))
		return nil
	}
	switch r {
	case '?':
		h.openHelp()
	case ':':
		h.openCommandLine()
	case 's':
		h.openPicker(ctx)
	case 't':
		h.command(api.Command{Command: api.CommandStop})
	case 'a':
		h.openConfirm()
	case 'r':
		h.command(api.Command{Command: api.CommandReset})
	case 'h':
		h.command(api.Command{Command: api.CommandHold})
	case 'u':
		h.command(api.Command{Command: api.CommandUnhold})
	case 'c':
		h.command(api.Command{Command: api.CommandConfirm})
	case 'x':
		h.command(api.Command{Command: api.CommandClear})
	case 'd':
		h.openDelivery(ctx)
	case 'L':
		h.lock("signed out: sign in")
	case 'q':
		quit()
	default:
		return ev
	}
	return nil
}

// openNumber opens the screen of number key i+1 (0 is the overview).
func (h *hmi) openNumber(i int) {
	for k, n := range h.numbers {
		if n == i+1 {
			h.open(h.order[k].id(), "", false)
			return
		}
	}
	h.setMessage(fmt.Sprintf("no screen on key %d", i+1))
}

// setMode switches the live keys and the key bar.
func (h *hmi) setMode(m mode) {
	h.mode = m
	h.showKeys()
}

// closeDialog hides a dialog page and gives the keys back to the screen.
func (h *hmi) closeDialog(page string) {
	h.pages.HidePage(page)
	h.app.SetFocus(h.front().view())
	h.setMode(modeOverview)
}

// openHelp lists every key and command.
func (h *hmi) openHelp() {
	var b strings.Builder
	b.WriteString("[::b]Everywhere[::-]\n")
	for _, k := range globalKeys {
		fmt.Fprintf(&b, "  %-8s %s\n", k.key, k.label)
	}
	for _, s := range h.order {
		ks := s.keys()
		if len(ks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n[::b]%s[::-] (:%s)\n", esc(s.title()), s.id())
		for _, k := range ks {
			fmt.Fprintf(&b, "  %-8s %s\n", esc(k.key), esc(k.label))
		}
	}
	b.WriteString("\n[::b]Commands[::-] (type : then the command, Tab completes)\n")
	for _, c := range commandLines {
		fmt.Fprintf(&b, "  :%-22s %s\n", esc(c.usage), esc(c.help))
	}
	b.WriteString("\n[::b]Colours[::-]\n  red with ! : failed, lost or untrustworthy (#### is a bad value)\n  yellow     : degraded or waiting for a person (? is an uncertain value)\n  everything normal is in the terminal's own colours\n")
	h.help.SetText(b.String()).ScrollToBeginning()
	h.pages.RemovePage(pageHelp)
	h.pages.AddPage(pageHelp, centered(h.help, min(80, max(h.cols-2, 40)), min(44, max(h.rows-2, 10))), true, true)
	h.app.SetFocus(h.help)
	h.setMode(modeHelp)
}

// commandLine is one `:` command.
type commandLine struct {
	name, usage, help string
	run               func(h *hmi, ctx context.Context, arg string)
}

// commandLines are the `:` commands, also listed by the help.
var commandLines = []commandLine{
	{"overview", "overview", "the line at a glance", func(h *hmi, _ context.Context, _ string) { h.open("overview", "", false) }},
	{"unit", "unit NAME", "a unit's faceplate", func(h *hmi, _ context.Context, a string) { h.openOr("unit", a) }},
	{"units", "units", "every unit", func(h *hmi, _ context.Context, _ string) { h.openOr("units", "") }},
	{"alarms", "alarms [FILTER]", "the alarm summary, filtered", func(h *hmi, _ context.Context, a string) { h.openOr("alarms", a) }},
	{"shelved", "shelved", "shelved and out-of-service alarms", func(h *hmi, _ context.Context, a string) { h.openOr("shelved", a) }},
	{"journal", "journal [FILTER]", "the alarm journal", func(h *hmi, _ context.Context, a string) { h.openOr("journal", a) }},
	{"trend", "trend TAG[,TAG…] [10m|1h|8h|24h]", "trend of tags", func(h *hmi, _ context.Context, a string) { h.openOr("trend", a) }},
	{"batch", "batch", "the running batch", func(h *hmi, _ context.Context, a string) { h.openOr("batch", a) }},
	{"history", "history", "past batches", func(h *hmi, _ context.Context, a string) { h.openOr("history", a) }},
	{"record", "record BATCH", "a past batch's record", func(h *hmi, _ context.Context, a string) { h.openOr("record", a) }},
	{"training", "training", "inject and clear faults (demo)", func(h *hmi, _ context.Context, a string) { h.openOr("training", a) }},
	{"delivery", "delivery", "book a delivery", func(h *hmi, ctx context.Context, _ string) { h.openDelivery(ctx) }},
	{"login", "login", "sign in as another user (shift handover)", func(h *hmi, _ context.Context, _ string) { h.lock("sign in") }},
	{"help", "help", "every key and command", nil}, // set in init: the help lists commandLines
	{"quit", "quit", "leave the HMI (the line runs on)", nil},
}

func init() {
	for i := range commandLines {
		if commandLines[i].name == "help" {
			commandLines[i].run = func(h *hmi, _ context.Context, _ string) { h.openHelp() }
		}
	}
}

// openOr opens a screen or says that this HMI has none of that name.
func (h *hmi) openOr(id, arg string) {
	if !h.open(id, arg, true) {
		h.setMessage(paint(colorWarn, alarmMark+"no screen "+esc(id)))
	}
}

// openCommandLine shows the `:` prompt in place of the message line.
func (h *hmi) openCommandLine() {
	h.cmdline.SetText("")
	h.main.RemoveItem(h.message)
	h.main.RemoveItem(h.keybar)
	h.main.AddItem(h.cmdline, 1, 0, true).AddItem(h.keybar, 1, 0, false)
	h.app.SetFocus(h.cmdline)
	h.setMode(modeCommand)
}

// closeCommandLine puts the message line back.
func (h *hmi) closeCommandLine() {
	h.main.RemoveItem(h.cmdline)
	h.main.RemoveItem(h.keybar)
	h.main.AddItem(h.message, 1, 0, false).AddItem(h.keybar, 1, 0, false)
	h.app.SetFocus(h.front().view())
	h.setMode(modeOverview)
}

// completeCommandLine completes the command name typed so far.
func (h *hmi) completeCommandLine() {
	text := h.cmdline.GetText()
	if strings.Contains(text, " ") {
		return
	}
	var match []string
	for _, c := range commandLines {
		if strings.HasPrefix(c.name, text) {
			match = append(match, c.name)
		}
	}
	sort.Strings(match)
	switch len(match) {
	case 0:
		h.setMessage("no command starts with " + esc(text))
	case 1:
		h.cmdline.SetText(match[0] + " ")
	default:
		h.setMessage("commands: " + esc(strings.Join(match, " ")))
	}
}

// runCommandLine runs one `:` command; a unique prefix names a command.
func (h *hmi) runCommandLine(ctx context.Context, quit context.CancelFunc, text string) {
	name, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
	arg = strings.TrimSpace(arg)
	if name == "" {
		return
	}
	if name == "q" || name == "quit" {
		quit()
		return
	}
	var found []commandLine
	for _, c := range commandLines {
		if c.name == name {
			found = []commandLine{c}
			break
		}
		if strings.HasPrefix(c.name, name) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0:
		h.setMessage(paint(colorWarn, alarmMark+"unknown command :"+esc(name)+" (:help lists them)"))
	case len(found) > 1:
		var names []string
		for _, c := range found {
			names = append(names, c.name)
		}
		h.setMessage(paint(colorWarn, alarmMark+":"+esc(name)+" could be "+esc(strings.Join(names, ", "))))
	case found[0].run == nil:
		quit()
	default:
		found[0].run(h, ctx, arg)
	}
}

// openPicker shows the recipe list and starts fetching it.
func (h *hmi) openPicker(ctx context.Context) {
	if !h.mayCommand("start") {
		return
	}
	h.pickerGen++
	h.recipes = nil
	h.picker.Clear().AddItem("loading recipes…", "", 0, nil)
	h.pages.ShowPage(pageRecipes)
	h.app.SetFocus(h.picker)
	h.setMode(modePickRecipe)
	gen := h.pickerGen
	h.spawn(ctx, func(ctx context.Context) { h.fetchRecipes(ctx, gen) })
}

// fillPicker shows the fetched recipes, if the picker that asked for them is
// still open.
func (h *hmi) fillPicker(gen int, recipes []api.RecipeInfo, err error) {
	if h.mode != modePickRecipe || gen != h.pickerGen {
		return
	}
	if err != nil {
		h.closePicker()
		h.setMessage(paint(colorBad, alarmMark+"cannot list recipes: "+esc(shortError(err))))
		return
	}
	h.picker.Clear()
	// Only approved versions can start a batch; drafts are not offered.
	approved := recipes[:0:0]
	for _, r := range recipes {
		if r.State == "" || r.State == "approved" {
			approved = append(approved, r)
		}
	}
	recipes = approved
	h.recipes = recipes
	if len(recipes) == 0 {
		h.picker.AddItem("no recipes on the controller", "", 0, nil)
		return
	}
	for _, r := range recipes {
		text := fmt.Sprintf("%s v%d", esc(r.Name), r.Version)
		if r.WasteClass != "" {
			text += "  " + esc(r.WasteClass)
		}
		if r.Description != "" {
			text += "  " + esc(r.Description)
		}
		h.picker.AddItem(text, "", 0, nil)
	}
}

// closePicker hides the recipe list and returns to the screen's keys.
func (h *hmi) closePicker() {
	h.recipes = nil
	h.closeDialog(pageRecipes)
}

// openConfirm asks whether to abort.
func (h *hmi) openConfirm() {
	if !h.mayCommand("abort") {
		return
	}
	what := "the line"
	if h.last != nil && h.last.Batch != nil {
		what = "batch " + esc(h.last.Batch.ID)
	}
	h.confirm.SetText(fmt.Sprintf("Abort %s?\nEverything stops now and the batch is marked aborted.\n\n[::b]y[::-] abort now    [::b]n[::-] or [::b]Esc[::-] cancel", what))
	h.pages.ShowPage(pageAbort)
	h.app.SetFocus(h.confirm)
	h.setMode(modeConfirmAbort)
}

// mayCommand says whether commands can be sent now; if not, it says why on
// the message line.
func (h *hmi) mayCommand(what string) bool {
	switch {
	case h.session == nil || h.locked:
		h.setMessage(paint(colorWarn, alarmMark+what+": sign in first"))
		return false
	case h.viewOnly():
		h.setMessage(paint(colorWarn, alarmMark+what+": "+esc(h.session.User)+" may only view (role viewer)"))
		return false
	}
	return true
}

// command sends cmd from a worker goroutine and says so on the message
// line. The user is the one signed in: the controller takes it from the
// session.
func (h *hmi) command(cmd api.Command) {
	if !h.mayCommand(commandLabel(cmd)) {
		return
	}
	if h.spawn(h.ctx, func(ctx context.Context) { h.send(ctx, cmd) }) {
		h.setMessage("sending " + commandLabel(cmd) + "…")
	}
}

// showResult reports the controller's answer to cmd.
func (h *hmi) showResult(cmd api.Command, res *api.CommandResult, err error) {
	label := commandLabel(cmd)
	switch {
	case err != nil:
		what := "no answer from the controller"
		if !isTransportError(err) {
			what = "unreadable answer from the controller"
		}
		h.setMessage(paint(colorBad, alarmMark+label+": "+what+" ("+esc(shortError(err))+"); outcome unknown"))
	case !res.OK:
		h.setMessage(paint(colorWarn, alarmMark+label+" refused: "+esc(refusalReason(cmd.Command, res.Error))))
	default:
		h.setMessage(label + ": accepted")
	}
}

// refusalReason strips what the controller may have put before its reason
// ("refused:", "start refused:"), so that the message line says it once.
func refusalReason(command, reason string) string {
	reason = strings.TrimSpace(reason)
	for {
		r := strings.TrimPrefix(reason, command+" refused:")
		r = strings.TrimPrefix(r, "refused:")
		r = strings.TrimSpace(r)
		if r == reason {
			break
		}
		reason = r
	}
	if reason == "" {
		return "no reason given"
	}
	return reason
}

// commandLabel names a command for the message line.
func commandLabel(cmd api.Command) string {
	switch {
	case cmd.Recipe != "":
		return esc(cmd.Command + " " + cmd.Recipe)
	case cmd.Alarm != "":
		return esc(strings.ReplaceAll(cmd.Command, "_", " ") + " " + cmd.Alarm)
	case cmd.Parameter != "":
		return esc(fmt.Sprintf("%s %s=%g", cmd.Command, cmd.Parameter, cmd.Value))
	}
	return esc(strings.ReplaceAll(cmd.Command, "_", " "))
}

// promptField is one field of a prompt dialog.
type promptField struct {
	label, value string
	width        int
	accept       func(text string, last rune) bool // nil: any text
}

// ask shows a small form; ok gets the field values by label.
func (h *hmi) ask(title string, fields []promptField, ok func(values map[string]string)) {
	f := h.prompt
	f.Clear(true)
	calm(f.Box, title)
	for _, fl := range fields {
		f.AddInputField(fl.label, fl.value, fl.width, fl.accept, nil)
	}
	f.AddButton("OK", func() {
		values := map[string]string{}
		for _, fl := range fields {
			if in, ok := f.GetFormItemByLabel(fl.label).(*tview.InputField); ok {
				values[fl.label] = strings.TrimSpace(in.GetText())
			}
		}
		h.closeDialog(pagePrompt)
		ok(values)
	})
	f.AddButton("Cancel", func() {
		h.closeDialog(pagePrompt)
		h.setMessage("cancelled")
	})
	f.SetFocus(0)
	h.pages.ShowPage(pagePrompt)
	h.app.SetFocus(f)
	h.setMode(modePrompt)
}
