package hmi

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// pageTargets is the training screen's target chooser over the frame.
const pageTargets = "training-targets"

// Timing of the training screen.
const (
	trainingPoll    = 2 * time.Second // the active faults, while the screen is in front
	trainingTimeout = 5 * time.Second // one call to the trainer
)

// training is the training menu (screen 9): fault kinds the simulated plant
// can take, and the faults in force, for practising on a test rig. Nothing
// here reaches a real line: the faults go to the trainer of Options (the
// demo's rig).
type training struct {
	h    *hmi
	root *trainingView

	banner      *tview.TextView
	body        *tview.Flex
	kindsTitle  *tview.TextView
	kinds       *tview.Table
	doc         *tview.TextView
	activeTitle *tview.TextView
	active      *tview.Table
	none        *tview.TextView // without a trainer
	targets     *tview.List     // the target chooser

	// Event goroutine state.
	kindList   []FaultKind
	kindsErr   error
	faults     []Fault
	faultsErr  error
	loaded     bool // the active list was fetched at least once
	onActive   bool // the active list has the keys, not the kinds
	choosing   *FaultKind
	want       string // kind to select once the kinds are known (`:training KIND`)
	layoutWide int    // 0 unknown, 1 narrow, 2 wide
	kindsW     int    // width the kinds list was filled for; 0: fill again

	// gen is the generation of the poller in charge; a poller whose
	// generation is no longer current ends. haveKinds says the kinds are
	// known (read by the poller).
	gen       atomic.Int64
	haveKinds atomic.Bool
}

// trainingView is the screen's primitive: it gives the focus to the list
// that has the keys (or to the target chooser while it is open).
type trainingView struct {
	*tview.Flex
	s *training
}

func (v *trainingView) Focus(delegate func(p tview.Primitive)) {
	s := v.s
	switch {
	case s.h.opts.Trainer == nil:
		delegate(s.none)
	case s.choosing != nil:
		delegate(s.targets)
	case s.onActive:
		delegate(s.active)
	default:
		delegate(s.kinds)
	}
}

func init() { registerScreen(9, func(h *hmi) screen { return newTraining(h) }) }

func newTraining(h *hmi) *training {
	s := &training{h: h}
	s.banner = newText(true)
	s.kindsTitle = newText(false)
	s.activeTitle = newText(false)
	s.doc = newText(true)
	s.doc.SetBorderPadding(0, 0, 1, 1)
	s.none = newText(true)
	s.kinds = newTable()
	s.active = newTable()
	s.kinds.SetSelectionChangedFunc(func(int, int) { s.showDoc() })
	s.targets = tview.NewList().ShowSecondaryText(false).
		SetMainTextStyle(tcell.StyleDefault).
		SetSelectedStyle(tcell.StyleDefault.Reverse(true))
	calm(s.targets.Box, "Inject into the simulated plant: choose a target")
	s.body = tview.NewFlex()
	s.root = &trainingView{Flex: tview.NewFlex().SetDirection(tview.FlexRow), s: s}
	if h.opts.Trainer == nil {
		s.root.AddItem(s.none, 0, 1, true)
		return s
	}
	s.root.AddItem(s.banner, 1, 0, false).AddItem(s.body, 0, 1, true)
	return s
}

func (s *training) id() string            { return "training" }
func (s *training) title() string         { return "Training" }
func (s *training) view() tview.Primitive { return s.root }

func (s *training) keys() []keyHelp {
	if s.h.opts.Trainer == nil {
		return nil
	}
	return []keyHelp{{"Enter", "inject"}, {"Tab", "kinds/active"}, {"C", "clear fault"}, {"X", "clear all"}}
}

// enter starts the poller of the active faults (and of the kinds until
// they are known); arg names a kind to select.
func (s *training) enter(arg string) {
	if s.h.opts.Trainer == nil {
		return
	}
	if arg != "" {
		s.want = arg
		s.selectWanted()
	}
	gen := s.gen.Add(1)
	s.h.spawn(s.h.ctx, func(ctx context.Context) { s.poll(ctx, gen) })
}

// poll fetches the faults in force now and every trainingPoll while the
// screen is in front.
func (s *training) poll(ctx context.Context, gen int64) {
	tr := s.h.opts.Trainer
	for {
		var kinds []FaultKind
		var kerr error
		fetchKinds := !s.haveKinds.Load()
		if fetchKinds {
			rctx, cancel := context.WithTimeout(ctx, trainingTimeout)
			kinds, kerr = tr.Kinds(rctx)
			cancel()
		}
		rctx, cancel := context.WithTimeout(ctx, trainingTimeout)
		faults, ferr := tr.Active(rctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.h.post(func() {
			if s.h.front() != s {
				s.gen.CompareAndSwap(gen, 0) // left: this poller ends
			}
			if fetchKinds {
				s.setKinds(kinds, kerr)
			}
			s.setFaults(faults, ferr)
		})
		select {
		case <-ctx.Done():
			return
		case <-time.After(trainingPoll):
		}
		if s.gen.Load() != gen {
			return
		}
	}
}

// setKinds takes the kinds fetched.
func (s *training) setKinds(kinds []FaultKind, err error) {
	s.kindsErr = err
	if err == nil {
		s.kindList = kinds
		s.kindsW, s.layoutWide = 0, 0 // the wide layout sizes the list to the kinds
		s.haveKinds.Store(true)
		s.selectWanted()
	}
	s.refresh()
}

// setFaults takes the active faults fetched, keeping the selected one
// selected.
func (s *training) setFaults(faults []Fault, err error) {
	s.faultsErr = err
	if err == nil {
		keep := ""
		if f := s.selectedFault(); f != nil {
			keep = f.ID
		}
		s.faults = faults
		s.loaded = true
		s.fillActive()
		for i, f := range faults {
			if f.ID == keep {
				s.active.Select(i+1, 0)
			}
		}
	}
	s.refresh()
}

// selectWanted selects the kind named by `:training KIND` once known.
func (s *training) selectWanted() {
	if s.want == "" || len(s.kindList) == 0 {
		return
	}
	for i, k := range s.kindList {
		if k.Kind == s.want {
			s.kinds.Select(i+1, 0)
			s.want = ""
			return
		}
	}
	s.h.setMessage(paint(colorWarn, alarmMark+"no fault kind "+esc(s.want)))
	s.want = ""
}

func (s *training) onKey(ev *tcell.EventKey) *tcell.EventKey {
	if s.h.opts.Trainer == nil {
		return ev
	}
	if s.choosing != nil {
		switch ev.Key() {
		case tcell.KeyEscape:
			s.closeTargets()
			s.h.setMessage("inject cancelled")
			return nil
		case tcell.KeyEnter:
			k := *s.choosing
			i := s.targets.GetCurrentItem()
			s.closeTargets()
			if i >= 0 && i < len(k.Targets) {
				s.inject(k.Kind, k.Targets[i])
			}
			return nil
		case tcell.KeyUp, tcell.KeyDown, tcell.KeyPgUp, tcell.KeyPgDn, tcell.KeyHome, tcell.KeyEnd:
			return ev // the list moves
		case tcell.KeyCtrlC:
			return ev
		case tcell.KeyRune:
			s.jumpTarget(ev.Rune())
		}
		return nil // nothing else while choosing
	}
	switch ev.Key() {
	case tcell.KeyTab, tcell.KeyBacktab:
		s.onActive = !s.onActive
		s.h.app.SetFocus(s.root)
		s.refresh()
		return nil
	case tcell.KeyEnter:
		if s.onActive {
			s.h.setMessage("Tab goes to the fault kinds; C clears the selected fault")
			return nil
		}
		if k := s.selectedKind(); k != nil {
			s.choose(*k)
		}
		return nil
	case tcell.KeyRune:
		switch ev.Rune() {
		case 'C':
			s.clearSelected()
			return nil
		case 'X':
			s.clearAll()
			return nil
		}
	}
	return ev
}

// selectedKind is the kind selected in the list, or nil.
func (s *training) selectedKind() *FaultKind {
	r, _ := s.kinds.GetSelection()
	if r < 1 || r > len(s.kindList) {
		return nil
	}
	return &s.kindList[r-1]
}

// selectedFault is the fault selected in the active list, or nil.
func (s *training) selectedFault() *Fault {
	r, _ := s.active.GetSelection()
	if r < 1 || r > len(s.faults) {
		return nil
	}
	return &s.faults[r-1]
}

// choose injects a kind that takes no target, or asks for its target.
func (s *training) choose(k FaultKind) {
	if !s.h.mayCommand("inject " + esc(k.Kind)) {
		return
	}
	if len(k.Targets) == 0 {
		s.inject(k.Kind, "")
		return
	}
	s.targets.Clear()
	for _, t := range k.Targets {
		s.targets.AddItem(esc(t), "", 0, nil)
	}
	title := "Inject " + esc(k.Kind) + " into the simulated plant: choose a target"
	s.targets.SetTitle(" " + title + " ")
	height := min(len(k.Targets)+2, max(s.h.rows-6, 6))
	width := tview.TaggedStringWidth(title) + 6
	for _, t := range k.Targets {
		width = max(width, len(t)+6)
	}
	if s.h.cols > 0 {
		width = min(width, s.h.cols)
	}
	s.choosing = &k
	s.h.pages.AddPage(pageTargets, centered(s.targets, width, height), true, true)
	// Just above the frame: the sign-in of the idle lock must come over it.
	s.h.pages.SendToBack(pageTargets).SendToBack(pageMain)
	s.h.app.SetFocus(s.root)
	s.h.keybar.SetText(keys("↑↓", "choose target", "a-z", "jump", "Enter", "inject", "Esc", "cancel"))
}

// jumpTarget moves the chooser to the next target that starts with r.
func (s *training) jumpTarget(r rune) {
	n := s.targets.GetItemCount()
	cur := s.targets.GetCurrentItem()
	for i := 1; i <= n; i++ {
		j := (cur + i) % n
		if t := s.choosing.Targets[j]; strings.HasPrefix(strings.ToLower(t), strings.ToLower(string(r))) {
			s.targets.SetCurrentItem(j)
			return
		}
	}
}

// closeTargets hides the target chooser.
func (s *training) closeTargets() {
	s.choosing = nil
	s.h.pages.HidePage(pageTargets)
	s.h.app.SetFocus(s.root)
	s.h.showKeys()
}

// inject sends a fault to the trainer on a worker.
func (s *training) inject(kind, target string) {
	what := esc(kind)
	if target != "" {
		what += " on " + esc(target)
	}
	if !s.h.mayCommand("inject " + esc(kind)) {
		return
	}
	tr := s.h.opts.Trainer
	if s.h.spawn(s.h.ctx, func(ctx context.Context) {
		s.act(ctx, func(ctx context.Context) string {
			id, err := tr.Inject(ctx, kind, target)
			if err != nil {
				return paint(colorBad, alarmMark+"inject "+what+": "+esc(shortError(err)))
			}
			return "injected " + esc(id) + ": " + what
		})
	}) {
		s.h.setMessage("injecting " + what + "…")
	}
}

// clearSelected clears the fault selected in the active list.
func (s *training) clearSelected() {
	f := s.selectedFault()
	if f == nil {
		s.h.setMessage("no fault to clear")
		return
	}
	if !s.h.mayCommand("clear fault") {
		return
	}
	tr, id, what := s.h.opts.Trainer, f.ID, faultText(*f)
	if s.h.spawn(s.h.ctx, func(ctx context.Context) {
		s.act(ctx, func(ctx context.Context) string {
			if err := tr.Clear(ctx, id); err != nil {
				return paint(colorBad, alarmMark+"clear "+what+": "+esc(shortError(err)))
			}
			return "cleared " + what
		})
	}) {
		s.h.setMessage("clearing " + what + "…")
	}
}

// clearAll clears every fault.
func (s *training) clearAll() {
	if !s.h.mayCommand("clear all faults") {
		return
	}
	tr := s.h.opts.Trainer
	if s.h.spawn(s.h.ctx, func(ctx context.Context) {
		s.act(ctx, func(ctx context.Context) string {
			if err := tr.ClearAll(ctx); err != nil {
				return paint(colorBad, alarmMark+"clear all faults: "+esc(shortError(err)))
			}
			return "cleared every fault: the simulated plant runs normally"
		})
	}) {
		s.h.setMessage("clearing every fault…")
	}
}

// act runs one action of the trainer on a worker, then fetches the
// active faults, and shows both.
func (s *training) act(ctx context.Context, do func(ctx context.Context) string) {
	rctx, cancel := context.WithTimeout(ctx, trainingTimeout)
	msg := do(rctx)
	cancel()
	rctx, cancel = context.WithTimeout(ctx, trainingTimeout)
	faults, err := s.h.opts.Trainer.Active(rctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.h.post(func() {
		s.h.setMessage(msg)
		s.setFaults(faults, err)
	})
}

// faultText is "f3: jam_storm on shredder" as markup.
func faultText(f Fault) string {
	t := esc(f.ID) + ": " + esc(f.Kind)
	if f.Target != "" {
		t += " on " + esc(f.Target)
	}
	return t
}

// trainingBanner says plainly that nothing here touches a real line; the
// short form fits 80 columns.
const (
	trainingBanner      = "TRAINING — faults are injected into the simulated plant (test rig), not a real line"
	trainingBannerShort = "TRAINING — faults go into the simulated plant (test rig), not a real line"
)

// refresh lays the screen out for the terminal and redraws it.
func (s *training) refresh() {
	h := s.h
	if h.opts.Trainer == nil {
		s.none.SetText(" No training plant: the training menu works with\n `pretreat demo` or `pretreat hmi --rig URL`.\n\n" +
			" It injects faults into a simulated plant (a test rig), for practice.\n This HMI was started without one.")
		return
	}
	if s.choosing != nil && h.locked {
		// The idle lock: the chooser was for the user who left.
		s.choosing = nil
		h.pages.HidePage(pageTargets)
	}
	cols, rows := h.cols, h.rows
	if cols == 0 {
		cols, rows = 80, 24
	}
	banner := trainingBanner
	if tview.TaggedStringWidth(banner)+1 > cols {
		banner = trainingBannerShort
	}
	s.banner.SetText("[::b] " + banner + "[::-]")
	body := max(rows-8, 8) // less the frame and the banner
	wide := cols >= 120
	s.layout(wide, body)
	listW := cols
	if wide {
		listW = cols/2 - 2
	}
	if listW != s.kindsW {
		s.fillKindsWidth(listW)
	}
	s.fillActive()

	mark := func(on bool, text string) string {
		if on {
			return "[::b]▸ " + text + "[::-]"
		}
		return "  " + text
	}
	kt := fmt.Sprintf("Fault kinds (%d): Enter injects the selected", len(s.kindList))
	switch {
	case s.kindsErr != nil:
		kt = paint(colorBad, alarmMark+"fault kinds: the test rig does not answer ("+esc(shortError(s.kindsErr))+"); retrying")
	case !s.haveKinds.Load():
		kt = "Fault kinds: asking the test rig…"
	}
	s.kindsTitle.SetText(mark(!s.onActive, kt))
	at := fmt.Sprintf("Active faults (%d): C clears the selected, X all", len(s.faults))
	switch {
	case s.faultsErr == nil && s.loaded && len(s.faults) == 0:
		at = "Active faults (0): none, the simulated plant runs without faults"
	case s.faultsErr != nil:
		at = paint(colorBad, alarmMark+"active faults: the test rig does not answer ("+esc(shortError(s.faultsErr))+"); retrying")
	case !s.loaded:
		at = "Active faults: asking the test rig…"
	}
	s.activeTitle.SetText(mark(s.onActive, at))
	on, off := tcell.StyleDefault.Reverse(true), tcell.StyleDefault.Underline(true)
	if s.onActive {
		on, off = off, on
	}
	s.kinds.SetSelectedStyle(on)
	s.active.SetSelectedStyle(off)
	s.showDoc()
}

// layout arranges the lists: side by side on a wide terminal, one above
// the other on a narrow one.
func (s *training) layout(wide bool, body int) {
	w := 1
	if wide {
		w = 2
	}
	// The active list takes what its faults need, up to a third of the
	// body; the kinds get the rest.
	activeRows := min(max(len(s.faults)+1, 2), max(5, body/3))
	if w == s.layoutWide {
		if !wide {
			s.body.ResizeItem(s.active, activeRows, 0)
		}
		return
	}
	s.layoutWide = w
	s.body.Clear()
	if wide {
		kindRows := min(len(s.kindList)+1, max(body-8, 6))
		left := tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(s.kindsTitle, 1, 0, false).
			AddItem(s.kinds, kindRows, 0, true).
			AddItem(nil, 1, 0, false).
			AddItem(s.doc, 0, 1, false)
		right := tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(s.activeTitle, 1, 0, false).
			AddItem(s.active, 0, 1, false)
		s.body.SetDirection(tview.FlexColumn).
			AddItem(left, 0, 1, true).
			AddItem(nil, 2, 0, false).
			AddItem(right, 0, 1, false)
		return
	}
	s.body.SetDirection(tview.FlexRow).
		AddItem(s.kindsTitle, 1, 0, false).
		AddItem(s.kinds, 0, 1, true).
		AddItem(s.doc, 3, 0, false).
		AddItem(s.activeTitle, 1, 0, false).
		AddItem(s.active, activeRows, 0, false)
}

// cell is a table cell in the terminal's colours.
func cell(text string) *tview.TableCell {
	return tview.NewTableCell(text).SetStyle(tcell.StyleDefault).SetSelectedStyle(tcell.StyleDefault)
}

// header is a table's heading cell.
func header(text string) *tview.TableCell {
	return tview.NewTableCell(text).SetStyle(tcell.StyleDefault.Bold(true)).SetSelectable(false)
}

// fillKindsWidth fills the kinds list, its targets fitted to width.
func (s *training) fillKindsWidth(width int) {
	s.kindsW = width
	r, _ := s.kinds.GetSelection()
	s.kinds.Clear().SetOffset(0, 0)
	s.kinds.SetCell(0, 0, header(" Kind")).SetCell(0, 1, header("Targets"))
	kindW := 2
	for _, k := range s.kindList {
		kindW = max(kindW, len(k.Kind)+1)
	}
	for i, k := range s.kindList {
		s.kinds.SetCell(i+1, 0, cell(" "+esc(k.Kind)))
		s.kinds.SetCell(i+1, 1, cell(esc(targetsText(k.Targets, width-kindW-3))).SetExpansion(1))
	}
	if len(s.kindList) > 0 {
		s.kinds.Select(min(max(r, 1), len(s.kindList)), 0)
	}
}

// targetsText lists targets in width cells, whole names only: "shredder,
// press … +3".
func targetsText(targets []string, width int) string {
	if len(targets) == 0 {
		return "none: acts on the whole line"
	}
	all := strings.Join(targets, ", ")
	if len(all) <= width {
		return all
	}
	out := ""
	for i, t := range targets {
		more := fmt.Sprintf(" … +%d", len(targets)-i)
		next := t
		if out != "" {
			next = out + ", " + t
		}
		if len(next)+len(fmt.Sprintf(" … +%d", len(targets)-i-1)) > width {
			if out == "" {
				return fmt.Sprintf("%d targets", len(targets))
			}
			return out + more
		}
		out = next
	}
	return out
}

// fillActive fills the active faults' list.
func (s *training) fillActive() {
	r, _ := s.active.GetSelection()
	s.active.Clear().SetOffset(0, 0)
	s.active.SetCell(0, 0, header(" ID")).SetCell(0, 1, header("Kind")).SetCell(0, 2, header("Target")).SetCell(0, 3, header("Since (plant time)"))
	if len(s.faults) == 0 {
		return // the title says so
	}
	var now time.Time
	if s.h.last != nil {
		now = s.h.last.Time
	}
	for i, f := range s.faults {
		since := "—"
		if !f.Since.IsZero() {
			since = f.Since.Format("15:04:05")
			if !now.IsZero() {
				since += ", for " + formatElapsed(now.Sub(f.Since))
			}
		}
		target := f.Target
		if target == "" {
			target = "(line)"
		}
		s.active.SetCell(i+1, 0, cell(" "+esc(f.ID)))
		s.active.SetCell(i+1, 1, cell(esc(f.Kind)))
		s.active.SetCell(i+1, 2, cell(esc(target)))
		s.active.SetCell(i+1, 3, cell(since).SetExpansion(1))
	}
	s.active.Select(min(max(r, 1), len(s.faults)), 0)
}

// showDoc shows what the selected kind does.
func (s *training) showDoc() {
	k := s.selectedKind()
	if k == nil {
		s.doc.SetText("")
		return
	}
	text := "[::b]" + esc(k.Kind) + "[::-]: " + esc(k.Text)
	if s.layoutWide == 2 { // room for every target
		text += "\n\nTargets: " + esc(targetsText(k.Targets, 1<<20))
	}
	s.doc.SetText(text)
}
