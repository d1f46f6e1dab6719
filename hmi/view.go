package hmi

import (
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

// Panel titles.
const (
	titleBatch   = "Batch"
	titleDevices = "Devices and scan"
)

// Page names in the root Pages.
const (
	pageMain    = "main"
	pageRecipes = "recipes"
	pageAbort   = "abort"
)

// widgets are the screen's primitives, built once by newHMI. They may be
// changed only on the event goroutine.
type widgets struct {
	pages    *tview.Pages
	delivery deliveryForm // the weighbridge booking form
	main     *tview.Flex
	header   *tview.TextView // line, state, plant time; controller link below
	units    *tview.Table
	batch    *tview.TextView
	alarms   *tview.TextView // alarms that need attention
	devices  *tview.TextView // devices and scan figures
	message  *tview.TextView // answers to commands, errors of the HMI itself
	keybar   *tview.TextView
	picker   *tview.List     // recipe picker for s
	confirm  *tview.TextView // abort confirmation for a
}

// uiState is what the screen remembers between updates. It belongs to the
// event goroutine.
type uiState struct {
	last *api.Status // last status received, nil before the first
	link link

	mode      mode
	recipes   []api.RecipeInfo // entries of the open picker, in list order
	pickerGen int              // increases each time the picker opens
}

// link is the state of the connection to the controller as the poller last
// saw it.
type link struct {
	tried        bool      // at least one status request has completed
	err          error     // error of the last request, nil when it succeeded
	failingSince time.Time // HMI wall time of the first failure in a row
	now          time.Time // HMI wall time of the last result
}

// newHMI builds the application and its widgets; it makes no I/O.
func newHMI(client *api.Client, user string, refresh time.Duration) *hmi {
	h := &hmi{client: client, user: user, refresh: refresh, app: tview.NewApplication()}

	h.header = newText(false)
	h.message = newText(false)
	h.keybar = newText(false)

	h.units = tview.NewTable().SetFixed(1, 1).SetSelectable(false, false)
	calm(h.units.Box, "Units   "+badValue+" bad value   "+uncertainMark+" uncertain")

	h.batch = newText(true)
	calm(h.batch.Box, titleBatch)
	h.devices = newText(true)
	calm(h.devices.Box, titleDevices)
	h.alarms = newText(false)
	calm(h.alarms.Box, titleAlarms)

	panels := tview.NewFlex().
		AddItem(h.batch, 0, 1, false).
		AddItem(h.devices, 0, 1, false)
	h.main = tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(h.header, 2, 0, false).
		AddItem(h.units, 4, 0, true).
		AddItem(h.alarms, 5, 0, false).
		AddItem(panels, 0, 1, false).
		AddItem(h.message, 1, 0, false).
		AddItem(h.keybar, 2, 0, false) // two lines: every key fits at 80 columns

	h.picker = tview.NewList().ShowSecondaryText(false).
		SetMainTextStyle(tcell.StyleDefault).
		SetSelectedStyle(tcell.StyleDefault.Reverse(true))
	calm(h.picker.Box, "Start batch: choose a recipe")
	h.confirm = newText(true)
	h.delivery.form = h.newDeliveryForm()
	calm(h.confirm.Box, "Abort")

	h.pages = tview.NewPages().
		AddPage(pageMain, h.main, true, true).
		AddPage(pageRecipes, centered(h.picker, 70, 14), true, false).
		AddPage(pageAbort, centered(h.confirm, 56, 7), true, false).
		AddPage(pageDelivery, centered(h.delivery.form, 64, 23), true, false)
	h.app.SetRoot(h.pages, true).SetFocus(h.units)

	h.render()
	h.showKeys()
	return h
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

// centered places p in the middle of the screen at the given size; the
// rest stays transparent so the overview remains visible around it.
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
func (h *hmi) applyStatus(st *api.Status, err error, now time.Time) {
	h.link.tried = true
	h.link.now = now
	if err != nil {
		if h.link.err == nil {
			h.link.failingSince = now
		}
		h.link.err = err
	} else {
		h.link.err = nil
		h.last = st
	}
	h.render()
}

// stale reports whether the values on screen are older than the last poll.
func (h *hmi) stale() bool { return h.link.err != nil }

// render redraws every panel from the remembered state.
func (h *hmi) render() {
	h.header.SetText(h.headerText())
	h.renderUnits()
	h.batch.SetText(h.batchText())
	h.devices.SetText(h.devicesText())
	h.alarms.SetText(h.alarmsText())
	// Panels without per-value marks say as a whole that they are old.
	batchTitle, devicesTitle := titleBatch, titleDevices
	if h.stale() && h.last != nil {
		const old = "   " + uncertainMark + " last known, not current"
		batchTitle += paint(colorWarn, old)
		devicesTitle += paint(colorWarn, old)
	}
	h.batch.SetTitle(" " + batchTitle + " ")
	h.devices.SetTitle(" " + devicesTitle + " ")
}

const titleAlarms = "Alarms"

// alarmsText lists the alarms that need attention, most urgent first: one
// line each. Unacknowledged alarms are red, the others yellow: both are
// abnormal, and nothing else on the screen uses those colours otherwise.
func (h *hmi) alarmsText() string {
	st := h.last
	if st == nil {
		return ""
	}
	if len(st.Alarms) == 0 {
		return " no alarms"
	}
	var b strings.Builder
	for i, a := range st.Alarms {
		if i == 3 && len(st.Alarms) > 4 {
			fmt.Fprintf(&b, " … and %d more", len(st.Alarms)-3)
			break
		}
		state := strings.ReplaceAll(a.State, "_", " ")
		line := fmt.Sprintf("%-8s %-22s %s: %s", a.Priority, state, a.Name, a.Message)
		if a.Chattering {
			line += " (chattering)"
		}
		c := colorWarn
		if a.State == "unacknowledged" || a.State == "returned_unacknowledged" {
			c = colorBad
		}
		b.WriteString(" " + paint(c, alarmMark+esc(line)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// headerText is the two-line header: line, state (and why) and plant time;
// below, the connection to the controller.
func (h *hmi) headerText() string {
	var b strings.Builder
	line, state, message, plant := "—", "—", "", "—"
	if st := h.last; st != nil {
		line, state, message, plant = st.Line, st.State, st.Message, formatPlantTime(st.Time)
	}
	fmt.Fprintf(&b, " [::b]%s[::-]   ", esc(line))
	stateText := esc(state)
	if message != "" {
		stateText += ": " + esc(message)
	}
	if c, abnormal := lineStateColor(state); abnormal {
		stateText = paint(c, alarmMark+stateText)
	}
	b.WriteString(stateText)
	fmt.Fprintf(&b, "   plant time %s\n ", plant)
	b.WriteString(h.linkText())
	return b.String()
}

// linkText describes the connection to the controller.
func (h *hmi) linkText() string {
	where := "controller " + esc(h.client.Base)
	switch {
	case !h.link.tried:
		return where + ": connecting"
	case h.link.err == nil:
		return where + ": connected"
	}
	what := "unreachable"
	if !isTransportError(h.link.err) {
		what = "answers with an error"
	}
	since := h.link.now.Sub(h.link.failingSince).Truncate(time.Second)
	return paint(colorBad, fmt.Sprintf("%s%s: %s for %s (%s), retrying", alarmMark, where, what, since, esc(shortError(h.link.err))))
}

// renderUnits fills the units table: one row per unit with its values. The
// unit name stays in view when the table scrolls sideways.
func (h *hmi) renderUnits() {
	t := h.units
	t.Clear()
	for col, title := range []string{"Unit", "Kind", "State", "Cmd", "Values"} {
		t.SetCell(0, col, tview.NewTableCell(title).SetStyle(tcell.StyleDefault.Bold(true)))
	}
	rows := 1
	if h.last == nil {
		t.SetCell(1, 0, cell("waiting for the controller…"))
		rows = 2
	} else {
		stale := h.stale()
		for i, u := range h.last.Units {
			r := i + 1
			state := esc(u.State)
			if u.Reason != "" {
				state += ": " + esc(u.Reason)
			}
			if c, abnormal := unitStateColor(u.State); abnormal {
				state = paint(c, alarmMark+state)
			}
			command := "-"
			if u.Command {
				command = "run"
			}
			t.SetCell(r, 0, cell(esc(u.Name)))
			t.SetCell(r, 1, cell(esc(u.Kind)))
			t.SetCell(r, 2, cell(state))
			t.SetCell(r, 3, cell(command))
			// One column per value, so that on a narrow terminal the
			// table scrolls sideways value by value.
			for j, v := range u.Values {
				t.SetCell(r, 4+j, cell(formatTag(u.Name, v, stale)+" "))
			}
		}
		rows += len(h.last.Units)
	}
	h.main.ResizeItem(h.units, rows+2, 0) // +2 for the border
}

// cell is a table cell in the default colours holding markup.
func cell(markup string) *tview.TableCell {
	return tview.NewTableCell(markup).SetStyle(tcell.StyleDefault)
}

// batchText describes the running batch in full and the last finished one
// in two lines, so that both fit an 80×24 terminal.
func (h *hmi) batchText() string {
	st := h.last
	if st == nil {
		return ""
	}
	var b strings.Builder
	if bs := st.Batch; bs != nil {
		writeBatch(&b, bs, st.Time)
	} else {
		b.WriteString("No batch running.\n")
	}
	b.WriteString("\n")
	if lb := st.LastBatch; lb != nil {
		writeLastBatch(&b, lb)
	} else {
		b.WriteString("[::b]Last batch[::-] none since the controller started\n")
	}
	return b.String()
}

// writeBatch writes the lines describing a running batch; now is the plant
// time of the status, up to which its elapsed times run.
func writeBatch(b *strings.Builder, bs *api.BatchStatus, now time.Time) {
	end := now
	if !bs.End.IsZero() {
		end = bs.End
	}
	fmt.Fprintf(b, "Batch     %s\n", esc(bs.ID))
	fmt.Fprintf(b, "Recipe    %s\n", recipeText(bs))
	fmt.Fprintf(b, "Phase     %s\n", phaseText(bs))
	fmt.Fprintf(b, "Elapsed   %s", formatElapsed(end.Sub(bs.Start)))
	if !bs.PhaseStart.IsZero() && bs.End.IsZero() {
		fmt.Fprintf(b, " (phase %s)", formatElapsed(end.Sub(bs.PhaseStart)))
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "Received  %s of %s\n", formatKg(bs.KgReceived), formatKg(bs.TargetKg))
	fmt.Fprintf(b, "Cake      %s   water %s   rejects %s\n", formatKg(bs.KgCake), formatKg(bs.KgWater), formatKg(bs.KgRejects))
}

// writeLastBatch writes the summary of a finished batch.
func writeLastBatch(b *strings.Builder, bs *api.BatchStatus) {
	fmt.Fprintf(b, "[::b]Last batch[::-] %s  %s  %s", esc(bs.ID), recipeText(bs), phaseText(bs))
	if !bs.End.IsZero() {
		fmt.Fprintf(b, "  %s", formatElapsed(bs.End.Sub(bs.Start)))
	}
	fmt.Fprintf(b, "\n  received %s of %s, cake %s, water %s, rejects %s\n",
		formatKg(bs.KgReceived), formatKg(bs.TargetKg), formatKg(bs.KgCake), formatKg(bs.KgWater), formatKg(bs.KgRejects))
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
		phase += " / " + esc(bs.Step)
	}
	if c, abnormal := phaseColor(bs.Phase); abnormal {
		phase = paint(c, alarmMark+phase)
	}
	return phase
}

// devicesText lists the devices with their connection and the scan figures.
func (h *hmi) devicesText() string {
	st := h.last
	if st == nil {
		return ""
	}
	var b strings.Builder
	if len(st.Devices) == 0 {
		b.WriteString("no devices configured\n")
	}
	for _, d := range st.Devices {
		line := fmt.Sprintf("%s  %s %s  ", esc(d.Name), esc(d.Protocol), esc(d.Address))
		if d.Connected {
			b.WriteString(line + "connected")
		} else {
			b.WriteString(paint(colorBad, alarmMark+line+"NOT CONNECTED"))
		}
		b.WriteString("\n")
		if d.LastError != "" {
			text := "  last error: " + esc(d.LastError)
			if !d.Connected {
				text = paint(colorBad, text)
			}
			b.WriteString(text + "\n")
		}
	}
	s := st.Scan
	fmt.Fprintf(&b, "\n[::b]Scan[::-]  period %s ms   scans %d\n", formatNumber(s.PeriodMs), s.Count)
	fmt.Fprintf(&b, "last exec %s µs (max %s µs)   max lateness %s ms   overruns %d\n",
		formatNumber(s.LastExecUs), formatNumber(s.MaxExecUs), formatNumber(s.MaxLatenessMs), s.Overruns)
	return b.String()
}
