package opcua

import (
	"errors"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// Each case converts both ways: float64 -> variant of the node's type, and
// variant -> float64.
func TestVariantConversionBothWays(t *testing.T) {
	cases := []struct {
		typ  ua.TypeID
		raw  float64
		want any
	}{
		{ua.TypeIDBoolean, 1, true},
		{ua.TypeIDBoolean, 0, false},
		{ua.TypeIDSByte, -128, int8(-128)},
		{ua.TypeIDByte, 255, uint8(255)},
		{ua.TypeIDInt16, -2, int16(-2)},
		{ua.TypeIDUint16, 456, uint16(456)},
		{ua.TypeIDInt32, -70000, int32(-70000)},
		{ua.TypeIDUint32, 4000000000, uint32(4000000000)},
		{ua.TypeIDInt64, -1 << 40, int64(-1 << 40)},
		{ua.TypeIDUint64, 1 << 50, uint64(1 << 50)},
		{ua.TypeIDFloat, 7.25, float32(7.25)},
		{ua.TypeIDDouble, 0.1, 0.1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v %v", tc.typ, tc.raw), func(t *testing.T) {
			v, err := toVariant(tc.typ, tc.raw)
			if err != nil {
				t.Fatalf("toVariant: %v", err)
			}
			if v.Type() != tc.typ || v.Value() != tc.want {
				t.Errorf("toVariant = %v %#v, want %v %#v", v.Type(), v.Value(), tc.typ, tc.want)
			}
			got, ok := toFloat(ua.MustVariant(tc.want))
			if !ok || got != tc.raw {
				t.Errorf("toFloat(%#v) = %v, %v; want %v", tc.want, got, ok, tc.raw)
			}
		})
	}
}

func TestToVariantRoundsAndClamps(t *testing.T) {
	cases := []struct {
		typ  ua.TypeID
		raw  float64
		want any
	}{
		{ua.TypeIDInt32, 455.5, int32(456)},
		{ua.TypeIDInt16, -2.5, int16(-3)},
		{ua.TypeIDUint16, -1, uint16(0)},
		{ua.TypeIDByte, 300, uint8(255)},
		{ua.TypeIDInt64, 1e30, int64(math.MaxInt64)},
		{ua.TypeIDInt64, -1e30, int64(math.MinInt64)},
		{ua.TypeIDUint64, 1e30, uint64(math.MaxUint64)},
		{ua.TypeIDFloat, 1e39, float32(math.MaxFloat32)},
		{ua.TypeIDBoolean, 0.3, true},
	}
	for _, tc := range cases {
		v, err := toVariant(tc.typ, tc.raw)
		if err != nil || v.Value() != tc.want {
			t.Errorf("toVariant(%v, %v) = %v, %v; want %#v", tc.typ, tc.raw, v, err, tc.want)
		}
	}
	if _, err := toVariant(ua.TypeIDDouble, math.NaN()); !errors.Is(err, errNotFinite) {
		t.Errorf("NaN: err = %v, want errNotFinite", err)
	}
	if _, err := toVariant(ua.TypeIDString, 1); err == nil {
		t.Error("a String node took a number")
	}
}

func TestToFloatRefusesNonNumbers(t *testing.T) {
	for _, v := range []*ua.Variant{nil, ua.MustVariant("7"), ua.MustVariant([]float64{1, 2})} {
		if _, ok := toFloat(v); ok {
			t.Errorf("toFloat(%v) accepted a non-number", v)
		}
	}
}

func TestTypeFromConfig(t *testing.T) {
	cases := map[drivers.DataType]ua.TypeID{
		"": ua.TypeIDDouble, drivers.TypeFloat64: ua.TypeIDDouble, drivers.TypeFloat32: ua.TypeIDFloat,
		drivers.TypeBool: ua.TypeIDBoolean, drivers.TypeInt16: ua.TypeIDInt16, drivers.TypeUint16: ua.TypeIDUint16,
		drivers.TypeInt32: ua.TypeIDInt32, drivers.TypeUint32: ua.TypeIDUint32,
	}
	for dt, want := range cases {
		if got := typeFromConfig(dt); got != want {
			t.Errorf("typeFromConfig(%q) = %v, want %v", dt, got, want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	cases := []struct {
		sc      ua.StatusCode
		good    bool
		quality drivers.Quality
	}{
		{ua.StatusOK, true, 0},
		{ua.StatusGood | 0x400, true, 0}, // info bits only
		{ua.StatusUncertain, false, drivers.QualityBadDeviceException},
		{ua.StatusBadNodeIDUnknown, false, drivers.QualityBadConfigError},
		{ua.StatusBadNotReadable, false, drivers.QualityBadConfigError},
		{ua.StatusBadDeviceFailure, false, drivers.QualityBadDeviceException},
	}
	for _, tc := range cases {
		if got := isGood(tc.sc); got != tc.good {
			t.Errorf("isGood(%v) = %v, want %v", tc.sc, got, tc.good)
		}
		if !tc.good {
			if got := statusQuality(tc.sc); got != tc.quality {
				t.Errorf("statusQuality(%v) = %s, want %s", tc.sc, got, tc.quality)
			}
		}
	}
}

func TestIsCommError(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", ua.StatusBadTimeout), true},
		{ua.StatusBadSessionIDInvalid, true},
		{fmt.Errorf("write: %w", ua.StatusBadTypeMismatch), false},
		{ua.StatusBadUserAccessDenied, false},
		{fmt.Errorf("x: %w", drivers.ErrWriteMismatch), false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := isCommError(tc.err); got != tc.want {
			t.Errorf("isCommError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
