package modbus

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

const (
	abcd = drivers.WordOrderABCD
	cdab = drivers.WordOrderCDAB
	badc = drivers.WordOrderBADC
	dcba = drivers.WordOrderDCBA
)

var allOrders = []drivers.WordOrder{abcd, cdab, badc, dcba}

// codecCase is one case of testdata/codec.json, written by
// testdata/codec_cases.py with Python's struct module, independently of the
// Go codec.
type codecCase struct {
	Name   string            `json:"name"`
	Type   drivers.DataType  `json:"type"`
	Order  drivers.WordOrder `json:"order"`
	Bit    *uint8            `json:"bit"`
	Length int               `json:"length"`
	Value  float64           `json:"value"`
	Text   string            `json:"text"`
	Regs   []string          `json:"regs"`
	OneWay bool              `json:"one_way"` // decode only (a cleared bit among set ones)
}

func loadCodecCases(t testing.TB) []codecCase {
	t.Helper()
	b, err := os.ReadFile("testdata/codec.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []codecCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func (c *codecCase) point() drivers.PointConfig {
	return drivers.PointConfig{Tag: "p", Table: drivers.TableHolding, Type: c.Type, Order: c.Order, Bit: c.Bit, Length: c.Length}
}

func (c *codecCase) regs(t testing.TB) []uint16 {
	out := make([]uint16, len(c.Regs))
	for i, s := range c.Regs {
		v, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			t.Fatalf("%s: register %q: %v", c.Name, s, err)
		}
		out[i] = uint16(v)
	}
	return out
}

// Every case is decoded (registers → value) and encoded (value → registers).
func TestCodecBothWays(t *testing.T) {
	for _, tc := range loadCodecCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			p := tc.point()
			regs := tc.regs(t)
			if n := p.Registers(); n != len(regs) {
				t.Fatalf("case spans %d registers, the point %d", len(regs), n)
			}
			if tc.Type == drivers.TypeString {
				if got := decodeText(&p, regs); got != tc.Text {
					t.Errorf("decode %04x = %q, want %q", regs, got, tc.Text)
				}
				got, err := encodeText(&p, tc.Text)
				if err != nil || !slices.Equal(got, regs) {
					t.Errorf("encode %q = %04x, %v; want %04x", tc.Text, got, err, regs)
				}
				return
			}
			if got := decodeRegisters(&p, regs); got != tc.Value {
				t.Errorf("decode %04x = %v, want %v", regs, got, tc.Value)
			}
			if tc.OneWay {
				return
			}
			got, err := encodeRegisters(&p, tc.Value, 0)
			if err != nil {
				t.Fatalf("encode %v: %v", tc.Value, err)
			}
			if !slices.Equal(got, regs) {
				t.Errorf("encode %v = %04x, want %04x", tc.Value, got, regs)
			}
		})
	}
}

// testdata/codec.json covers every data type with every byte/word order.
func TestCodecCasesCoverEveryTypeAndOrder(t *testing.T) {
	seen := map[[2]string]bool{}
	for _, tc := range loadCodecCases(t) {
		seen[[2]string{string(tc.Type), string(tc.Order)}] = true
	}
	for _, typ := range []drivers.DataType{drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32,
		drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64, drivers.TypeString} {
		for _, order := range allOrders {
			if typ == drivers.TypeString && order.SwapsWords() {
				continue // not allowed for strings
			}
			if !seen[[2]string{string(typ), string(order)}] {
				t.Errorf("no codec case for %s %s", typ, order)
			}
		}
	}
}

// Writes round to the nearest integer and clamp to the type; encoding is one
// way here because the value read back differs from the value asked for.
func TestEncodeRoundsAndClamps(t *testing.T) {
	bit := func(b uint8) *uint8 { return &b }
	cases := []struct {
		name  string
		typ   drivers.DataType
		order drivers.WordOrder
		bit   *uint8
		old   uint16
		raw   float64
		regs  []uint16
	}{
		{"uint16 rounds half up", drivers.TypeUint16, abcd, nil, 0, 12.5, []uint16{13}},
		{"uint16 rounds down", drivers.TypeUint16, abcd, nil, 0, 455.99999, []uint16{456}},
		{"uint16 clamps high", drivers.TypeUint16, abcd, nil, 0, 70000, []uint16{0xFFFF}},
		{"uint16 clamps negative", drivers.TypeUint16, abcd, nil, 0, -5, []uint16{0}},
		{"int16 rounds half away from zero", drivers.TypeInt16, abcd, nil, 0, -2.5, []uint16{0xFFFD}},
		{"int16 clamps low", drivers.TypeInt16, abcd, nil, 0, -40000, []uint16{0x8000}},
		{"int16 clamps high BADC", drivers.TypeInt16, badc, nil, 0, 40000, []uint16{0xFF7F}},
		{"int32 clamps high CDAB", drivers.TypeInt32, cdab, nil, 0, 1e12, []uint16{0xFFFF, 0x7FFF}},
		{"uint32 clamps negative", drivers.TypeUint32, abcd, nil, 0, -1, []uint16{0, 0}},
		{"int64 clamps high", drivers.TypeInt64, abcd, nil, 0, 1e30, []uint16{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{"uint64 clamps high DCBA", drivers.TypeUint64, dcba, nil, 0, 1e30, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{"uint64 clamps negative", drivers.TypeUint64, abcd, nil, 0, -3, []uint16{0, 0, 0, 0}},
		{"float32 clamps to max", drivers.TypeFloat32, abcd, nil, 0, 1e39, []uint16{0x7F7F, 0xFFFF}},
		{"bool on register nonzero", drivers.TypeBool, abcd, nil, 0, 0.2, []uint16{1}},
		{"bit set keeps the other bits", drivers.TypeBool, abcd, bit(4), 0x8001, 1, []uint16{0x8011}},
		{"bit clear keeps the other bits", drivers.TypeBool, abcd, bit(15), 0x8001, 0, []uint16{0x0001}},
		{"bit set BADC keeps the other bits", drivers.TypeBool, badc, bit(8), 0x0100, 1, []uint16{0x0101}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := drivers.PointConfig{Type: tc.typ, Order: tc.order, Bit: tc.bit}
			got, err := encodeRegisters(&p, tc.raw, tc.old)
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
		for _, typ := range []drivers.DataType{drivers.TypeUint16, drivers.TypeFloat32, drivers.TypeFloat64, drivers.TypeInt64} {
			p := drivers.PointConfig{Type: typ, Order: abcd}
			if _, err := encodeRegisters(&p, v, 0); !errors.Is(err, errNotFinite) {
				t.Errorf("encode %v as %s: err = %v, want errNotFinite", v, typ, err)
			}
		}
	}
}

func TestEncodeTextTooLong(t *testing.T) {
	p := drivers.PointConfig{Type: drivers.TypeString, Length: 3, Order: abcd}
	if _, err := encodeText(&p, "ABCD"); err == nil {
		t.Error("encoding 4 bytes into a 3-byte string succeeded, want an error")
	}
	if got := decodeText(&p, []uint16{0x4142, 0x4344}); got != "ABC" {
		t.Errorf("a 3-byte string reads %q from 4 bytes, want ABC", got)
	}
	if got := decodeText(&drivers.PointConfig{Type: drivers.TypeString, Length: 4, Order: abcd}, []uint16{0x4120, 0x2020}); got != "A" {
		t.Errorf("space padding: got %q, want A", got)
	}
}

// FuzzDecodeResponse feeds arbitrary register data, as a read response
// carries it, through every type, order and offset: decoding must not
// panic, and every value a device can send must encode back to the same
// registers (the codec loses nothing). NaN payloads are skipped: they have
// many bit patterns for one value. Integers beyond 2^53 are skipped too:
// float64 cannot carry them exactly (from 2^53 on, neighbours round to
// one value), by design of drivers.Sample.
func FuzzDecodeResponse(f *testing.F) {
	for _, tc := range loadCodecCases(f) {
		b := make([]byte, 0, 2*len(tc.Regs))
		for _, r := range tc.regs(f) {
			b = append(b, byte(r>>8), byte(r))
		}
		f.Add(b, uint8(0))
	}
	f.Add([]byte{0x7F, 0xF8, 0, 1, 0xFF, 0xFF, 0, 0, 0x41}, uint8(3))
	types := []drivers.DataType{drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32,
		drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64, drivers.TypeString}
	f.Fuzz(func(t *testing.T, payload []byte, sel uint8) {
		if len(payload) > 2*maxRegisters {
			payload = payload[:2*maxRegisters] // one read response carries at most 125 registers
		}
		regs := make([]uint16, len(payload)/2)
		for i := range regs {
			regs[i] = uint16(payload[2*i])<<8 | uint16(payload[2*i+1])
		}
		bit := sel % 16
		for _, typ := range types {
			for _, order := range allOrders {
				p := drivers.PointConfig{Type: typ, Order: order, Length: int(sel%20) + 1}
				if typ == drivers.TypeBool && sel&0x80 != 0 {
					p.Bit = &bit
				}
				if typ == drivers.TypeString && order.SwapsWords() {
					continue
				}
				n := p.Registers()
				for off := 0; off+n <= len(regs); off++ {
					w := regs[off : off+n]
					if typ == drivers.TypeString {
						text := decodeText(&p, w)
						if len(text) > p.Length {
							t.Fatalf("string of length %d decoded to %d bytes", p.Length, len(text))
						}
						continue
					}
					v := decodeRegisters(&p, w)
					if math.IsNaN(v) || math.IsInf(v, 0) || typ == drivers.TypeBool || math.Abs(v) >= 1<<53 {
						continue
					}
					got, err := encodeRegisters(&p, v, 0)
					if err != nil {
						t.Fatalf("encode %v: %v", v, err)
					}
					if !slices.Equal(got, w) {
						t.Fatalf("%s %s: %04x -> %v -> %04x", typ, order, w, v, got)
					}
				}
			}
		}
	})
}
