package hmi

import (
	"strings"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/mattn/go-runewidth"
	"github.com/rivo/tview"
)

// fastText shows lines of markup that never wrap or scroll: the header,
// the breadcrumb, the message line, the key bar and the overview, which are
// redrawn with every status. tview's TextView works out grapheme, word and
// line breaks for every character at every draw; this view parses a line
// once, when it changes, and then only copies its cells to the screen. It
// understands the markup this package writes: colour tags ("[red]",
// "[-]"), attribute tags ("[::b]", "[::r]", "[::-]") and text escaped with
// tview.Escape.
type fastText struct {
	*tview.Box
	text  string
	lines []fastLine
	cache map[string][]fastCell // parsed lines of the last two texts
	prev  map[string][]fastCell
}

type fastLine struct {
	cells []fastCell
}

// fastCell is one rune on the screen; width 0 marks a combining rune drawn
// with the cell before.
type fastCell struct {
	r     rune
	width int
	style tcell.Style
}

func newFastText() *fastText {
	t := &fastText{Box: tview.NewBox(), cache: map[string][]fastCell{}, prev: map[string][]fastCell{}}
	t.SetBackgroundColor(tcell.ColorDefault)
	return t
}

// SetText replaces the text; lines seen in the last two texts are not
// parsed again.
func (t *fastText) SetText(text string) *fastText {
	if text == t.text {
		return t
	}
	t.text = text
	t.prev, t.cache = t.cache, make(map[string][]fastCell, len(t.cache))
	raw := strings.Split(text, "\n")
	t.lines = t.lines[:0]
	for _, l := range raw {
		cells, ok := t.prev[l]
		if !ok {
			cells = parseMarkup(l)
		}
		t.cache[l] = cells
		t.lines = append(t.lines, fastLine{cells: cells})
	}
	return t
}

// GetText returns the markup last set.
func (t *fastText) GetText() string { return t.text }

// Draw copies the parsed cells into the box, clearing the rest of it.
func (t *fastText) Draw(screen tcell.Screen) {
	t.Box.DrawForSubclass(screen, t)
	x0, y0, w, h := t.GetInnerRect()
	blank := tcell.StyleDefault
	for row := 0; row < h; row++ {
		x := 0
		if row < len(t.lines) {
			for _, c := range t.lines[row].cells {
				if c.width == 0 {
					continue
				}
				if x+c.width > w {
					break
				}
				screen.SetContent(x0+x, y0+row, c.r, nil, c.style)
				x += c.width
			}
		}
		for ; x < w; x++ {
			screen.SetContent(x0+x, y0+row, ' ', nil, blank)
		}
	}
}

// parseMarkup turns one line of markup into cells.
func parseMarkup(line string) []fastCell {
	cells := make([]fastCell, 0, len(line))
	style := tcell.StyleDefault
	for i := 0; i < len(line); {
		if line[i] == '[' {
			end := strings.IndexByte(line[i+1:], ']')
			if end >= 0 {
				inner := line[i+1 : i+1+end]
				switch {
				case strings.HasSuffix(inner, "["):
					// Escaped text (tview.Escape): "[red[]" prints "[red]".
					for _, r := range "[" + inner[:len(inner)-1] + "]" {
						cells = append(cells, fastCell{r: r, width: 1, style: style})
					}
					i += end + 2
					continue
				case isTagText(inner) && inner != "":
					style = applyTag(style, inner)
					i += end + 2
					continue
				}
			}
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		cells = append(cells, fastCell{r: r, width: runewidth.RuneWidth(r), style: style})
		i += size
	}
	return cells
}

// isTagText says whether s may be the inside of a style tag.
func isTagText(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == ':' || b == '-' || b == '#' || b == '_' || b == ',') {
			return false
		}
	}
	return true
}

// applyTag changes style by a tag "fg:bg:attrs" (any part may be empty;
// "-" resets that part).
func applyTag(style tcell.Style, tag string) tcell.Style {
	parts := strings.SplitN(tag, ":", 3)
	if fg := parts[0]; fg != "" {
		if fg == "-" {
			style = style.Foreground(tcell.ColorDefault)
		} else {
			style = style.Foreground(tcell.GetColor(fg))
		}
	}
	if len(parts) > 1 && parts[1] != "" {
		if parts[1] == "-" {
			style = style.Background(tcell.ColorDefault)
		} else {
			style = style.Background(tcell.GetColor(parts[1]))
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		if parts[2] == "-" {
			style = style.Attributes(tcell.AttrNone)
		} else {
			for _, a := range parts[2] {
				switch a {
				case 'b':
					style = style.Bold(true)
				case 'r':
					style = style.Reverse(true)
				case 'u':
					style = style.Underline(true)
				case 'd':
					style = style.Dim(true)
				case 'i':
					style = style.Italic(true)
				}
			}
		}
	}
	return style
}
