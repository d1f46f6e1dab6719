package hmi

import (
	"context"
	"fmt"
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
)

// mode says which keys are live: the overview's function keys, the recipe
// picker's, or the abort confirmation's.
type mode int

// Keyboard modes.
const (
	modeOverview mode = iota
	modePickRecipe
	modeConfirmAbort
	modeDelivery
)

// Key bars, one per mode. Keys are shown in reverse video, not colour:
// colour is reserved for abnormal states.
var keyBars = map[mode]string{
	modeOverview: keys("q", "quit", "s", "start", "h", "hold", "u", "unhold", "c", "confirm", "t", "stop") + "\n" +
		keys("a", "abort", "r", "reset", "x", "clear", "k", "ack alarms", "d", "book delivery", "←→↑↓", "scroll units"),
	modePickRecipe:   keys("↑↓", "choose recipe", "Enter", "start batch", "Esc", "cancel"),
	modeConfirmAbort: keys("y", "abort now", "n/Esc", "cancel"),
	modeDelivery:     keys("Tab", "next field", "Enter", "choose / press button", "Esc", "cancel"),
}

// keys renders key/label pairs for the key bar.
func keys(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "[::r]%s[::-] %s  ", pairs[i], pairs[i+1])
	}
	return b.String()
}

// showKeys puts the current mode's key bar on screen.
func (h *hmi) showKeys() { h.keybar.SetText(keyBars[h.mode]) }

// onKey is the application's input capture; it runs on the event goroutine.
// It never does I/O: commands and fetches go to worker goroutines. quit
// begins the shutdown. Keys it does not handle go on to the focused widget
// (the units table scrolls, the recipe list moves).
func (h *hmi) onKey(ctx context.Context, quit context.CancelFunc, ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyCtrlC {
		quit() // the same orderly way as q, instead of tview's own Stop
		return nil
	}
	switch h.mode {
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
			h.command(ctx, api.Command{Command: api.CommandStart, Recipe: r.Name, Version: r.Version})
			return nil
		}
		return ev
	case modeConfirmAbort:
		switch {
		case ev.Key() == tcell.KeyRune && (ev.Rune() == 'y' || ev.Rune() == 'Y'):
			h.closeConfirm()
			h.command(ctx, api.Command{Command: api.CommandAbort})
		case ev.Key() == tcell.KeyEscape, ev.Key() == tcell.KeyRune && (ev.Rune() == 'n' || ev.Rune() == 'N'):
			h.closeConfirm()
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
	}

	if ev.Key() != tcell.KeyRune {
		return ev
	}
	switch ev.Rune() {
	case 's', 'S':
		h.openPicker(ctx)
	case 't', 'T':
		h.command(ctx, api.Command{Command: api.CommandStop})
	case 'a', 'A':
		h.openConfirm()
	case 'r', 'R':
		h.command(ctx, api.Command{Command: api.CommandReset})
	case 'h', 'H':
		h.command(ctx, api.Command{Command: api.CommandHold})
	case 'u', 'U':
		h.command(ctx, api.Command{Command: api.CommandUnhold})
	case 'c', 'C':
		h.command(ctx, api.Command{Command: api.CommandConfirm})
	case 'x', 'X':
		h.command(ctx, api.Command{Command: api.CommandClear})
	case 'k', 'K':
		h.command(ctx, api.Command{Command: api.CommandAckAll})
	case 'd', 'D':
		h.openDelivery(ctx)
	case 'q', 'Q':
		quit()
	default:
		return ev
	}
	return nil
}

// setMode switches the live keys and the key bar.
func (h *hmi) setMode(m mode) {
	h.mode = m
	h.showKeys()
}

// openPicker shows the recipe list and starts fetching it.
func (h *hmi) openPicker(ctx context.Context) {
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

// closePicker hides the recipe list and returns to the overview keys.
func (h *hmi) closePicker() {
	h.recipes = nil
	h.pages.HidePage(pageRecipes)
	h.app.SetFocus(h.units)
	h.setMode(modeOverview)
}

// openConfirm asks whether to abort.
func (h *hmi) openConfirm() {
	what := "the line"
	if h.last != nil && h.last.Batch != nil {
		what = "batch " + esc(h.last.Batch.ID)
	}
	h.confirm.SetText(fmt.Sprintf("Abort %s?\nEverything stops now and the batch is marked aborted.\n\n[::b]y[::-] abort now    [::b]n[::-] or [::b]Esc[::-] cancel", what))
	h.pages.ShowPage(pageAbort)
	h.setMode(modeConfirmAbort)
}

// closeConfirm hides the abort question.
func (h *hmi) closeConfirm() {
	h.pages.HidePage(pageAbort)
	h.app.SetFocus(h.units)
	h.setMode(modeOverview)
}

// command sends cmd from a worker goroutine and says so on the message line.
func (h *hmi) command(ctx context.Context, cmd api.Command) {
	cmd.User = h.user
	if h.spawn(ctx, func(ctx context.Context) { h.send(ctx, cmd) }) {
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
		reason := res.Error
		if reason == "" {
			reason = "no reason given"
		}
		h.setMessage(paint(colorWarn, alarmMark+label+" refused: "+esc(reason)))
	default:
		h.setMessage(label + ": accepted")
	}
}

// commandLabel names a command for the message line.
func commandLabel(cmd api.Command) string {
	if cmd.Recipe != "" {
		return esc(cmd.Command + " " + cmd.Recipe)
	}
	return esc(cmd.Command)
}

// setMessage replaces the message line with markup.
func (h *hmi) setMessage(markup string) { h.message.SetText(" " + markup) }
