package hmi

import (
	"context"
	"errors"
	"fmt"
	"github.com/rivo/tview"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{-3, "-3"},
		{3.2, "3.20"},
		{0.125, "0.12"}, // round half to even in the last place is fine
		{31.5, "31.5"},
		{999.94, "999.9"},
		{1234.5, "1234"},
		{-12.25, "-12.2"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			if got := formatNumber(tc.in); got != tc.want {
				t.Errorf("formatNumber(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestShortName(t *testing.T) {
	for _, tc := range []struct{ unit, tag, want string }{
		{"press", "press.speed", "speed"},
		{"press", "press.back_pressure", "back_pressure"},
		{"reception", "hopper.weight", "hopper.weight"}, // another prefix stays whole
		{"press", "pressure.x", "pressure.x"},           // a prefix of the name is not the unit
		{"press", "press.", "press."},
		{"press", "speed", "speed"},
	} {
		t.Run(tc.unit+"/"+tc.tag, func(t *testing.T) {
			if got := shortName(tc.unit, tc.tag); got != tc.want {
				t.Errorf("shortName(%q, %q) = %q, want %q", tc.unit, tc.tag, got, tc.want)
			}
		})
	}
}

func TestQualityMark(t *testing.T) {
	for _, tc := range []struct {
		q    drivers.Quality
		want mark
	}{
		{drivers.QualityGood, markNormal},
		{drivers.QualityUncertainStale, markUncertain},
		{drivers.QualityUncertainLastUsable, markUncertain},
		{drivers.QualityUnknown, markBad},
		{drivers.QualityBadCommFailure, markBad},
		{drivers.QualityBadConfigError, markBad},
		{drivers.QualityBadDeviceException, markBad},
		{drivers.QualityBadOutOfRange, markBad},
		{drivers.Quality(200), markBad}, // unknown to this HMI
	} {
		t.Run(tc.q.String(), func(t *testing.T) {
			if got := qualityMark(tc.q); got != tc.want {
				t.Errorf("qualityMark(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestFormatTag(t *testing.T) {
	good, stale, bad := drivers.QualityGood, drivers.QualityUncertainStale, drivers.QualityBadOutOfRange
	for _, tc := range []struct {
		name      string
		tv        api.TagValue
		oldScreen bool
		want      string
	}{
		{"good", api.TagValue{Tag: "press.speed", Value: 31.5, Unit: "rpm", Quality: good}, false, "speed=31.5 rpm"},
		{"good without unit", api.TagValue{Tag: "press.running", Value: 1, Quality: good}, false, "running=1"},
		{"uncertain", api.TagValue{Tag: "press.speed", Value: 31.5, Unit: "rpm", Quality: stale}, false, "[yellow]speed=31.5? rpm[-]"},
		{"bad", api.TagValue{Tag: "press.speed", Value: 31.5, Unit: "rpm", Quality: bad}, false, "[red]speed=####[-]"},
		{"good on an old screen", api.TagValue{Tag: "press.speed", Value: 31.5, Unit: "rpm", Quality: good}, true, "[yellow]speed=31.5? rpm[-]"},
		{"bad on an old screen", api.TagValue{Tag: "press.speed", Value: 31.5, Quality: bad}, true, "[red]speed=####[-]"},
		{"markup in names is escaped", api.TagValue{Tag: "press.[red]", Value: 2, Unit: "[x]", Quality: good}, false, "[red[]=2 [x[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatTag("press", tc.tv, tc.oldScreen); got != tc.want {
				t.Errorf("formatTag = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatElapsed(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0:00:00"},
		{-time.Second, "0:00:00"},
		{59*time.Second + 999*time.Millisecond, "0:00:59"},
		{12*time.Minute + 33*time.Second, "0:12:33"},
		{26*time.Hour + 5*time.Second, "26:00:05"},
	} {
		t.Run(tc.in.String(), func(t *testing.T) {
			if got := formatElapsed(tc.in); got != tc.want {
				t.Errorf("formatElapsed(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestShortError(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/api/v1/status", Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}
	for _, tc := range []struct {
		name      string
		err       error
		want      string
		transport bool
	}{
		{"refused", refused, "dial tcp 127.0.0.1:1: connect: connection refused", true},
		{"refused by the system", &url.Error{Op: "Get", URL: "x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, "connect: connection refused", true},
		{"deadline", context.DeadlineExceeded, "no answer in time", true},
		{"wrapped deadline", &url.Error{Op: "Get", URL: "x", Err: context.DeadlineExceeded}, "no answer in time", true},
		{"http status", errors.New("GET /api/v1/status: HTTP 503"), "GET /api/v1/status: HTTP 503", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortError(tc.err); got != tc.want {
				t.Errorf("shortError = %q, want %q", got, tc.want)
			}
			if got := isTransportError(tc.err); got != tc.transport {
				t.Errorf("isTransportError = %v, want %v", got, tc.transport)
			}
		})
	}
}

// Values are rounded to their point's precision, booleans are words, and a
// value that rounds to zero never reads "-0" (cake_bin.weight=-0… was a bug).
func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		tv   api.TagValue
		want string
	}{
		{api.TagValue{Value: 103.15978285253942, Precision: 1}, "103.2"},
		{api.TagValue{Value: -0.0004, Precision: 0}, "0"},
		{api.TagValue{Value: -0.04, Precision: 1}, "0.0"},
		{api.TagValue{Value: -1.26, Precision: 1}, "-1.3"},
		{api.TagValue{Value: 0.4213, Precision: 2}, "0.42"},
		{api.TagValue{Value: 1, Bool: true}, "on"},
		{api.TagValue{Value: 0, Bool: true}, "off"},
	} {
		if got := formatValue(tc.tv); got != tc.want {
			t.Errorf("formatValue(%+v) = %q, want %q", tc.tv, got, tc.want)
		}
	}
}

// Each alarm row fits its width and is coloured by whether it waits for an
// acknowledgement.
func TestAlarmRow(t *testing.T) {
	a := api.AlarmStatus{Name: "pulper_level_hh", Priority: "high", State: "unacknowledged", Message: "Pulper level high-high and a very long guidance text that will not fit"}
	got := alarmRow(a, 60)
	if !strings.HasPrefix(got, "["+colorBad.String()+"]") {
		t.Errorf("unacknowledged row not red: %q", got)
	}
	if w := tview.TaggedStringWidth(got); w > 60 {
		t.Errorf("row %d cells wide, want ≤ 60: %q", w, got)
	}
	a.State = "acknowledged"
	if got := alarmRow(a, 60); !strings.HasPrefix(got, "["+colorWarn.String()+"]") {
		t.Errorf("acknowledged row not yellow: %q", got)
	}
}
