package hmi

import (
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// fastText draws the package's markup as tview's TextView does: the same
// runes in the same colours and attributes, escaped text printed as typed.
func TestFastTextMatchesTextView(t *testing.T) {
	lines := []string{
		" [::b]line-1[::-]  " + paint(colorWarn, alarmMark+"Held") + "  shred/feed 0:02:33",
		" " + paint(colorBad, alarmMark+esc("[1 block] value [red] stays text")) + " after",
		keys("k", "ack all", "?", "help"),
		" ▶ █░ → ■ – µs ° " + esc("[x]") + " [not a tag here] [[ ]",
	}
	for _, l := range lines {
		want := drawWith(t, func() tview.Primitive {
			tv := tview.NewTextView().SetDynamicColors(true).SetWrap(false)
			tv.SetTextStyle(tcell.StyleDefault)
			tv.SetBackgroundColor(tcell.ColorDefault)
			tv.SetText(l)
			return tv
		}())
		got := drawWith(t, newFastText().SetText(l))
		if len(got) != len(want) {
			t.Fatalf("%q: %d cells, want %d", l, len(got), len(want))
		}
		for i := range want {
			wr, gr := ' ', ' '
			if len(want[i].Runes) > 0 {
				wr = want[i].Runes[0]
			}
			if len(got[i].Runes) > 0 {
				gr = got[i].Runes[0]
			}
			wfg, _, wattr := want[i].Style.Decompose()
			gfg, _, gattr := got[i].Style.Decompose()
			if wr != gr || wfg != gfg || wattr != gattr {
				t.Errorf("%q cell %d: got %q fg %v attr %v, want %q fg %v attr %v", l, i, gr, gfg, gattr, wr, wfg, wattr)
				break
			}
		}
	}
}

// drawWith draws p on a 100×1 simulation screen and returns its cells.
func drawWith(t *testing.T, p tview.Primitive) []tcell.SimCell {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	defer s.Fini()
	s.SetSize(100, 1)
	p.SetRect(0, 0, 100, 1)
	p.Draw(s)
	s.Show()
	cells, _, _ := s.GetContents()
	return cells
}
