package modbus

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

const (
	abcd = drivers.WordOrderABCD
	cdab = drivers.WordOrderCDAB
)

// codecCases are encoded and decoded both ways: value -> registers and
// registers -> value. Register values are written out by hand from the IEEE
// 754 and two's complement encodings.
var codecCases = []struct {
	name  string
	typ   drivers.DataType
	order drivers.WordOrder
	value float64
	regs  []uint16
}{
	{"bool true ABCD", drivers.TypeBool, abcd, 1, []uint16{1}},
	{"bool false CDAB", drivers.TypeBool, cdab, 0, []uint16{0}},
	{"bool true CDAB", drivers.TypeBool, cdab, 1, []uint16{1}},
	{"int16 positive ABCD", drivers.TypeInt16, abcd, 1234, []uint16{0x04D2}},
	{"int16 negative ABCD", drivers.TypeInt16, abcd, -2, []uint16{0xFFFE}},
	{"int16 min CDAB", drivers.TypeInt16, cdab, -32768, []uint16{0x8000}},
	{"uint16 max ABCD", drivers.TypeUint16, abcd, 65535, []uint16{0xFFFF}},
	{"uint16 CDAB", drivers.TypeUint16, cdab, 456, []uint16{0x01C8}},
	{"int32 negative ABCD", drivers.TypeInt32, abcd, -123456, []uint16{0xFFFE, 0x1DC0}},
	{"int32 negative CDAB", drivers.TypeInt32, cdab, -123456, []uint16{0x1DC0, 0xFFFE}},
	{"int32 max ABCD", drivers.TypeInt32, abcd, math.MaxInt32, []uint16{0x7FFF, 0xFFFF}},
	{"uint32 ABCD", drivers.TypeUint32, abcd, 4000000000, []uint16{0xEE6B, 0x2800}},
	{"uint32 CDAB", drivers.TypeUint32, cdab, 4000000000, []uint16{0x2800, 0xEE6B}},
	{"uint32 small CDAB", drivers.TypeUint32, cdab, 70000, []uint16{0x1170, 0x0001}},
	{"float32 ABCD", drivers.TypeFloat32, abcd, 1.5, []uint16{0x3FC0, 0x0000}},
	{"float32 negative ABCD", drivers.TypeFloat32, abcd, -12.25, []uint16{0xC144, 0x0000}},
	{"float32 CDAB", drivers.TypeFloat32, cdab, -12.25, []uint16{0x0000, 0xC144}},
	{"float32 fraction CDAB", drivers.TypeFloat32, cdab, 1500.5, []uint16{0x9000, 0x44BB}},
	{"float64 ABCD", drivers.TypeFloat64, abcd, 0.1, []uint16{0x3FB9, 0x9999, 0x9999, 0x999A}},
	{"float64 CDAB", drivers.TypeFloat64, cdab, 0.1, []uint16{0x999A, 0x9999, 0x9999, 0x3FB9}},
	{"float64 negative ABCD", drivers.TypeFloat64, abcd, -2.5, []uint16{0xC004, 0x0000, 0x0000, 0x0000}},
	{"float64 negative CDAB", drivers.TypeFloat64, cdab, -2.5, []uint16{0x0000, 0x0000, 0x0000, 0xC004}},
}

func TestCodecBothWays(t *testing.T) {
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			if n := tc.typ.Registers(); n != len(tc.regs) {
				t.Fatalf("case spans %d registers, type %s spans %d", len(tc.regs), tc.typ, n)
			}
			if got := decodeRegisters(tc.typ, tc.order, tc.regs); got != tc.value {
				t.Errorf("decode %04x = %v, want %v", tc.regs, got, tc.value)
			}
			got, err := encodeRegisters(tc.typ, tc.order, tc.value)
			if err != nil {
				t.Fatalf("encode %v: %v", tc.value, err)
			}
			if !slices.Equal(got, tc.regs) {
				t.Errorf("encode %v = %04x, want %04x", tc.value, got, tc.regs)
			}
		})
	}
}

// Every type and word order is covered by codecCases.
func TestCodecCasesCoverEveryTypeAndOrder(t *testing.T) {
	seen := map[[2]string]bool{}
	for _, tc := range codecCases {
		seen[[2]string{string(tc.typ), string(tc.order)}] = true
	}
	for _, typ := range []drivers.DataType{drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16,
		drivers.TypeInt32, drivers.TypeUint32, drivers.TypeFloat32, drivers.TypeFloat64} {
		for _, order := range []drivers.WordOrder{abcd, cdab} {
			if !seen[[2]string{string(typ), string(order)}] {
				t.Errorf("no codec case for %s %s", typ, order)
			}
		}
	}
}

// Writes round to the nearest integer and clamp to the type; encoding is one
// way here because the value read back differs from the value asked for.
func TestEncodeRoundsAndClamps(t *testing.T) {
	cases := []struct {
		name  string
		typ   drivers.DataType
		order drivers.WordOrder
		raw   float64
		regs  []uint16
	}{
		{"uint16 rounds half up", drivers.TypeUint16, abcd, 12.5, []uint16{13}},
		{"uint16 rounds down", drivers.TypeUint16, abcd, 455.99999, []uint16{456}},
		{"uint16 clamps high", drivers.TypeUint16, abcd, 70000, []uint16{0xFFFF}},
		{"uint16 clamps negative", drivers.TypeUint16, abcd, -5, []uint16{0}},
		{"int16 rounds half away from zero", drivers.TypeInt16, abcd, -2.5, []uint16{0xFFFD}},
		{"int16 clamps low", drivers.TypeInt16, abcd, -40000, []uint16{0x8000}},
		{"int16 clamps high", drivers.TypeInt16, abcd, 40000, []uint16{0x7FFF}},
		{"int32 clamps high CDAB", drivers.TypeInt32, cdab, 1e12, []uint16{0xFFFF, 0x7FFF}},
		{"uint32 clamps negative", drivers.TypeUint32, abcd, -1, []uint16{0, 0}},
		{"float32 clamps to max", drivers.TypeFloat32, abcd, 1e39, []uint16{0x7F7F, 0xFFFF}},
		{"bool on register nonzero", drivers.TypeBool, abcd, 0.2, []uint16{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeRegisters(tc.typ, tc.order, tc.raw)
			if err != nil {
				t.Fatalf("encode %v: %v", tc.raw, err)
			}
			if !slices.Equal(got, tc.regs) {
				t.Errorf("encode %v = %04x, want %04x", tc.raw, got, tc.regs)
			}
		})
	}
}

func TestEncodeRefusesNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, typ := range []drivers.DataType{drivers.TypeUint16, drivers.TypeFloat32, drivers.TypeFloat64} {
			if _, err := encodeRegisters(typ, abcd, v); !errors.Is(err, errNotFinite) {
				t.Errorf("encode %v as %s: err = %v, want errNotFinite", v, typ, err)
			}
		}
	}
}

func TestDecodeRegisterBoolIsNonZero(t *testing.T) {
	if got := decodeRegisters(drivers.TypeBool, abcd, []uint16{0x0100}); got != 1 {
		t.Errorf("bool of 0x0100 = %v, want 1", got)
	}
}

// FuzzCodecRoundTrip decodes arbitrary registers, encodes the value again and
// checks that the same registers come back (the codec loses nothing for
// values a device can send). NaN payloads are skipped: they have many bit
// patterns for one value.
func FuzzCodecRoundTrip(f *testing.F) {
	for _, tc := range codecCases {
		regs := make([]uint16, 4)
		copy(regs, tc.regs)
		f.Add(string(tc.typ), tc.order == cdab, regs[0], regs[1], regs[2], regs[3])
	}
	f.Fuzz(func(t *testing.T, typ string, swapped bool, r0, r1, r2, r3 uint16) {
		dt := drivers.DataType(typ)
		switch dt {
		case drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeFloat32, drivers.TypeFloat64:
		default:
			return
		}
		order := abcd
		if swapped {
			order = cdab
		}
		regs := []uint16{r0, r1, r2, r3}[:dt.Registers()]
		v := decodeRegisters(dt, order, regs)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		got, err := encodeRegisters(dt, order, v)
		if err != nil {
			t.Fatalf("encode %v: %v", v, err)
		}
		if !slices.Equal(got, regs) {
			t.Fatalf("%s %s: %04x -> %v -> %04x", dt, order, regs, v, got)
		}
	})
}
