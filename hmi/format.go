package hmi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

// The only two colours on the screen, each with one meaning everywhere
// (ISA-101). Normal information uses the terminal's default colours.
const (
	// colorBad marks what has failed or cannot be trusted: bad quality, unit
	// fault, lost connection to a device or the controller, aborted batch,
	// a command whose outcome is unknown.
	colorBad = tcell.ColorRed
	// colorWarn marks what is degraded or waits for a person: uncertain or
	// stale values, a held line, a refused command.
	colorWarn = tcell.ColorYellow
)

// Text markers that accompany the colours, so the meaning survives a
// monochrome terminal.
const (
	badValue      = "####" // replaces a value of bad quality
	uncertainMark = "?"    // follows a value of uncertain quality
	alarmMark     = "! "   // starts a line or item describing an abnormal state
)

// paint wraps already escaped text in a tview colour tag for c.
func paint(c tcell.Color, text string) string {
	return "[" + c.String() + "]" + text + "[-]"
}

// esc makes text from the controller safe to print as tview markup.
func esc(s string) string { return tview.Escape(s) }

// mark classifies a value for display.
type mark int

// Display classes of a value.
const (
	markNormal    mark = iota // good, shown as is
	markUncertain             // usable with care: value, "?" marker, colorWarn
	markBad                   // not usable: "####", colorBad
)

// qualityMark maps a quality to its display class. Qualities this HMI does
// not know are shown as bad, as the control logic treats them.
func qualityMark(q drivers.Quality) mark {
	switch q {
	case drivers.QualityGood:
		return markNormal
	case drivers.QualityUncertainStale, drivers.QualityUncertainLastUsable:
		return markUncertain
	default:
		return markBad
	}
}

// shortName is the tag name without its unit's prefix: "press.speed" shown
// under unit "press" is "speed". Tags of other prefixes keep their full name
// so that they cannot be mistaken for the unit's own.
func shortName(unit, tag string) string {
	if s, ok := strings.CutPrefix(tag, unit+"."); ok && s != "" {
		return s
	}
	return tag
}

// formatNumber prints a process value with a precision that fits its size:
// integral values (counts, booleans) without decimals, otherwise two
// decimals below 10, one below 1000, none above.
func formatNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a < 10:
		return fmt.Sprintf("%.2f", v)
	case a < 1000:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// formatTag renders one value of a unit as markup: "speed=31.5 rpm".
// Bad values read "speed=####" in colorBad; uncertain ones "speed=31.5? rpm"
// in colorWarn. stale upgrades good values to uncertain; it is set while the
// controller cannot be reached and the screen shows old data.
func formatTag(unit string, tv api.TagValue, stale bool) string {
	m := qualityMark(tv.Quality)
	if stale && m == markNormal {
		m = markUncertain
	}
	name := esc(shortName(unit, tv.Tag))
	suffix := ""
	if tv.Unit != "" {
		suffix = " " + esc(tv.Unit)
	}
	switch m {
	case markBad:
		return paint(colorBad, name+"="+badValue)
	case markUncertain:
		return paint(colorWarn, name+"="+formatNumber(tv.Value)+uncertainMark+suffix)
	default:
		return name + "=" + formatNumber(tv.Value) + suffix
	}
}

// formatKg prints a mass in kilograms with one decimal.
func formatKg(kg float64) string { return fmt.Sprintf("%.1f kg", kg) }

// formatElapsed prints a span of plant time as h:mm:ss; negative spans (a
// start in the future of the scan that reported it) print as 0:00:00.
func formatElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// formatPlantTime prints the plant time of a scan.
func formatPlantTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04:05")
}

// lineStateColor says whether a line state (PackML names from the API) is
// abnormal: Held waits for a person, Aborted has failed.
func lineStateColor(state string) (tcell.Color, bool) {
	switch strings.ToLower(state) {
	case "held", "holding":
		return colorWarn, true
	case "aborted", "aborting":
		return colorBad, true
	}
	return tcell.ColorDefault, false
}

// unitStateColor says whether a unit state is abnormal.
func unitStateColor(state string) (tcell.Color, bool) {
	if strings.EqualFold(state, "fault") {
		return colorBad, true
	}
	return tcell.ColorDefault, false
}

// phaseColor says whether a batch phase is abnormal.
func phaseColor(phase string) (tcell.Color, bool) {
	if strings.EqualFold(phase, "aborted") {
		return colorBad, true
	}
	return tcell.ColorDefault, false
}

// shortError reduces a client error to what an operator can act on: the
// transport's complaint without the method and URL around it.
func shortError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		return oe.Err.Error() // "connect: connection refused"; the address is shown elsewhere
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if ue.Timeout() {
			return "no answer in time"
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// isTransportError reports whether err means the controller could not be
// reached at all (as opposed to answering with an HTTP error or bad JSON).
func isTransportError(err error) bool {
	_, ok := errors.AsType[*url.Error](err)
	return ok || errors.Is(err, context.DeadlineExceeded)
}

// formatValue prints a tag's value with its point's precision; on/off
// points read as words.
func formatValue(tv api.TagValue) string {
	if tv.Bool {
		if tv.Value != 0 {
			return "on"
		}
		return "off"
	}
	if math.IsNaN(tv.Value) || math.IsInf(tv.Value, 0) {
		return fmt.Sprint(tv.Value)
	}
	p := min(max(tv.Precision, 0), 6)
	s := strconv.FormatFloat(tv.Value, 'f', p, 64)
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:] // no "-0.0" for a value that rounds to zero
	}
	return s
}

// formatValueMarkup is a value with its unit as markup, marked by quality
// like formatTag: "####" when bad, "?" and colorWarn when uncertain or
// stale.
func formatValueMarkup(tv api.TagValue, stale bool) string {
	m := qualityMark(tv.Quality)
	if stale && m == markNormal {
		m = markUncertain
	}
	suffix := ""
	if tv.Unit != "" && !tv.Bool {
		suffix = " " + esc(tv.Unit)
	}
	switch m {
	case markBad:
		return paint(colorBad, badValue)
	case markUncertain:
		return paint(colorWarn, formatValue(tv)+uncertainMark+suffix)
	}
	return formatValue(tv) + suffix
}
