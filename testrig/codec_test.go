package testrig

import (
	"math"
	"slices"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

func TestRegisterCodec(t *testing.T) {
	tests := []struct {
		name  string
		point drivers.PointConfig
		eng   float64  // value encoded
		words []uint16 // wire words
		back  float64  // value decoded from words (eng after rounding/clamping)
	}{
		{"uint16", drivers.PointConfig{Type: drivers.TypeUint16}, 1234, []uint16{1234}, 1234},
		{"uint16 scaled rounds", drivers.PointConfig{Type: drivers.TypeUint16, Scale: 0.1}, 12.36, []uint16{124}, 12.4},
		{"uint16 clamps below", drivers.PointConfig{Type: drivers.TypeUint16}, -5, []uint16{0}, 0},
		{"uint16 clamps above", drivers.PointConfig{Type: drivers.TypeUint16}, 1e6, []uint16{65535}, 65535},
		{"int16 negative", drivers.PointConfig{Type: drivers.TypeInt16}, -1, []uint16{0xFFFF}, -1},
		{"int16 clamps", drivers.PointConfig{Type: drivers.TypeInt16}, 40000, []uint16{0x7FFF}, 32767},
		{"int16 offset", drivers.PointConfig{Type: drivers.TypeInt16, Scale: 0.01, Offset: -40}, 20, []uint16{6000}, 20},
		{"uint16 NaN", drivers.PointConfig{Type: drivers.TypeUint16}, math.NaN(), []uint16{0}, 0},
		{"bool register", drivers.PointConfig{Type: drivers.TypeBool}, 1, []uint16{1}, 1},
		{"bool register ignores scale", drivers.PointConfig{Type: drivers.TypeBool, Scale: 10}, 0.5, []uint16{1}, 1},
		{"int32 ABCD", drivers.PointConfig{Type: drivers.TypeInt32}, -2, []uint16{0xFFFF, 0xFFFE}, -2},
		{"int32 CDAB", drivers.PointConfig{Type: drivers.TypeInt32, Order: drivers.WordOrderCDAB}, -2, []uint16{0xFFFE, 0xFFFF}, -2},
		{"uint32 ABCD", drivers.PointConfig{Type: drivers.TypeUint32}, 0x12345678, []uint16{0x1234, 0x5678}, 0x12345678},
		{"uint32 CDAB", drivers.PointConfig{Type: drivers.TypeUint32, Order: drivers.WordOrderCDAB}, 0x12345678, []uint16{0x5678, 0x1234}, 0x12345678},
		{"float32 ABCD", drivers.PointConfig{Type: drivers.TypeFloat32, Order: drivers.WordOrderABCD}, 1, []uint16{0x3F80, 0x0000}, 1},
		{"float32 default order", drivers.PointConfig{Type: drivers.TypeFloat32}, -2.5, []uint16{0xC020, 0x0000}, -2.5},
		{"float32 CDAB", drivers.PointConfig{Type: drivers.TypeFloat32, Order: drivers.WordOrderCDAB}, 1, []uint16{0x0000, 0x3F80}, 1},
		{"float32 rounds", drivers.PointConfig{Type: drivers.TypeFloat32}, 0.1, []uint16{0x3DCC, 0xCCCD}, float64(float32(0.1))},
		{"float64 ABCD", drivers.PointConfig{Type: drivers.TypeFloat64}, 1, []uint16{0x3FF0, 0, 0, 0}, 1},
		{"float64 CDAB", drivers.PointConfig{Type: drivers.TypeFloat64, Order: drivers.WordOrderCDAB}, 1, []uint16{0, 0, 0, 0x3FF0}, 1},
		{"float64 words", drivers.PointConfig{Type: drivers.TypeFloat64}, math.Float64frombits(0x0102030405060708), []uint16{0x0102, 0x0304, 0x0506, 0x0708}, math.Float64frombits(0x0102030405060708)},
		{"float64 BADC", drivers.PointConfig{Type: drivers.TypeFloat64, Order: drivers.WordOrderBADC}, math.Float64frombits(0x0102030405060708), []uint16{0x0201, 0x0403, 0x0605, 0x0807}, math.Float64frombits(0x0102030405060708)},
		{"float64 DCBA", drivers.PointConfig{Type: drivers.TypeFloat64, Order: drivers.WordOrderDCBA}, math.Float64frombits(0x0102030405060708), []uint16{0x0807, 0x0605, 0x0403, 0x0201}, math.Float64frombits(0x0102030405060708)},
		{"uint32 BADC", drivers.PointConfig{Type: drivers.TypeUint32, Order: drivers.WordOrderBADC}, 0x12345678, []uint16{0x3412, 0x7856}, 0x12345678},
		{"uint32 DCBA", drivers.PointConfig{Type: drivers.TypeUint32, Order: drivers.WordOrderDCBA}, 0x12345678, []uint16{0x7856, 0x3412}, 0x12345678},
		{"int16 BADC", drivers.PointConfig{Type: drivers.TypeInt16, Order: drivers.WordOrderBADC}, -2, []uint16{0xFEFF}, -2},
		{"int64 ABCD", drivers.PointConfig{Type: drivers.TypeInt64}, -2, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}, -2},
		{"int64 CDAB", drivers.PointConfig{Type: drivers.TypeInt64, Order: drivers.WordOrderCDAB}, 0x0001000200030004, []uint16{4, 3, 2, 1}, 0x0001000200030004},
		{"uint64 clamps", drivers.PointConfig{Type: drivers.TypeUint64}, 1e30, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, math.MaxUint64},
		{"uint64 DCBA", drivers.PointConfig{Type: drivers.TypeUint64, Order: drivers.WordOrderDCBA}, 0x0102030405060000, []uint16{0x0000, 0x0605, 0x0403, 0x0201}, 0x0102030405060000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.point
			got := make([]uint16, p.Type.Registers())
			encodeRegisters(&p, p.Type, tc.eng, got)
			if !slices.Equal(got, tc.words) {
				t.Errorf("encode %v: got %04X, want %04X", tc.eng, got, tc.words)
			}
			if back := decodeRegisters(&p, p.Type, tc.words); math.Abs(back-tc.back) > 1e-9*math.Max(1, math.Abs(tc.back)) {
				t.Errorf("decode %04X: got %v, want %v", tc.words, back, tc.back)
			}
			if raw := engToRaw(&p, p.Type, tc.eng); math.Abs(p.ToEng(raw)-tc.back) > 1e-9*math.Max(1, math.Abs(tc.back)) && p.Type != drivers.TypeBool {
				t.Errorf("engToRaw(%v) = %v, eng %v; want eng %v", tc.eng, raw, p.ToEng(raw), tc.back)
			}
		})
	}
}

func TestTextAndBits(t *testing.T) {
	p := drivers.PointConfig{Type: drivers.TypeString, Length: 5}
	words := make([]uint16, 3)
	encodeText(&p, "fw 7", words)
	if want := []uint16{0x6677, 0x2037, 0x0000}; !slices.Equal(words, want) {
		t.Errorf("ABCD text = %04X, want %04X", words, want)
	}
	p.Order = drivers.WordOrderBADC
	encodeText(&p, "fw 7 and more", words)
	if want := []uint16{0x7766, 0x3720, 0x0020}; !slices.Equal(words, want) {
		t.Errorf("BADC text cut to 5 bytes = %04X, want %04X", words, want)
	}
	bit := uint8(9)
	if m := bitMask(&drivers.PointConfig{Bit: &bit}); m != 0x0200 {
		t.Errorf("bit 9 mask = %04X, want 0200", m)
	}
	if m := bitMask(&drivers.PointConfig{Bit: &bit, Order: drivers.WordOrderBADC}); m != 0x0002 {
		t.Errorf("bit 9 BADC mask = %04X, want 0002", m)
	}
}

// FuzzRegisterCodec checks that every value survives encode then decode for
// the lossless types and that decode never panics on any words.
func FuzzRegisterCodec(f *testing.F) {
	f.Add(1.0, uint16(0x3F80), uint16(0), uint16(0), uint16(0))
	f.Add(-2.5e9, uint16(0xFFFF), uint16(0xFFFE), uint16(1), uint16(2))
	f.Add(math.Inf(1), uint16(0x7FF0), uint16(0), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, v float64, w0, w1, w2, w3 uint16) {
		words := []uint16{w0, w1, w2, w3}
		for _, typ := range []drivers.DataType{drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32,
			drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64} {
			for _, order := range []drivers.WordOrder{drivers.WordOrderABCD, drivers.WordOrderCDAB, drivers.WordOrderBADC, drivers.WordOrderDCBA} {
				p := drivers.PointConfig{Type: typ, Order: order}
				n := typ.Registers()
				_ = decodeRegisters(&p, typ, words[:n])
				if typ != drivers.TypeFloat64 {
					continue
				}
				buf := make([]uint16, n)
				encodeRegisters(&p, typ, v, buf)
				back := decodeRegisters(&p, typ, buf)
				if math.Float64bits(back) != math.Float64bits(v) && !(math.IsNaN(v) && math.IsNaN(back)) {
					t.Fatalf("float64 %s: %v -> %04X -> %v", order, v, buf, back)
				}
			}
		}
	})
}
