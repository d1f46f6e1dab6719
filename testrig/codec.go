package testrig

import (
	"math"

	"github.com/pretreat/pretreat/drivers"
)

// Register codec: how one point's engineering value becomes 16-bit words on
// the wire and back. It is written apart from the driver's codec on
// purpose, so that the two check each other over the wire.
//
// The value's bytes in big-endian order are ABCD… (A most significant). The
// point's order places them: ABCD as they are (the Modbus convention), CDAB
// with the words reversed (a float64's four words all reversed, as
// simonvetter/modbus's LOW_WORD_FIRST and mbpoll's default for 32-bit values
// do), BADC with the two bytes of every word swapped, DCBA both.
//
// eng -> raw is (eng-Offset)/Scale. Integer types round to the nearest
// integer and clamp to the type's range (NaN becomes 0); float32 rounds to
// the nearest float32. A bool, in a register as in a coil, is 1 when the
// engineering value is non-zero, ignoring scale and offset.

// valueBits returns the value of eng for a point of type typ as an integer
// of typ's width (the bit pattern for floats).
func valueBits(p *drivers.PointConfig, typ drivers.DataType, eng float64) uint64 {
	if typ == drivers.TypeBool {
		if eng != 0 {
			return 1
		}
		return 0
	}
	raw := p.ToRaw(eng)
	switch typ {
	case drivers.TypeInt16:
		return uint64(uint16(int16(roundClamp(raw, math.MinInt16, math.MaxInt16))))
	case drivers.TypeUint16:
		return uint64(uint16(roundClamp(raw, 0, math.MaxUint16)))
	case drivers.TypeInt32:
		return uint64(uint32(int32(roundClamp(raw, math.MinInt32, math.MaxInt32))))
	case drivers.TypeUint32:
		return uint64(uint32(roundClamp(raw, 0, math.MaxUint32)))
	case drivers.TypeInt64:
		r := roundClamp(raw, math.MinInt64, math.MaxInt64)
		if r >= 0x1p63 {
			return math.MaxInt64
		}
		return uint64(int64(r))
	case drivers.TypeUint64:
		r := roundClamp(raw, 0, math.MaxUint64)
		if r >= 0x1p64 {
			return math.MaxUint64
		}
		return uint64(r)
	case drivers.TypeFloat32:
		return uint64(math.Float32bits(float32(raw)))
	case drivers.TypeFloat64:
		return math.Float64bits(raw)
	}
	return 0
}

// placeWord returns word i (counted from the most significant) of an n-word
// value at its position on the wire and with its bytes as the order says.
func placeWord(order drivers.WordOrder, n, i int, w uint16) (pos int, out uint16) {
	if order == drivers.WordOrderBADC || order == drivers.WordOrderDCBA {
		w = w<<8 | w>>8
	}
	if order == drivers.WordOrderCDAB || order == drivers.WordOrderDCBA {
		return n - 1 - i, w
	}
	return i, w
}

// encodeRegisters writes the wire words of eng for point p (typ resolved,
// order as configured) into dst, which must have typ.Registers() elements.
func encodeRegisters(p *drivers.PointConfig, typ drivers.DataType, eng float64, dst []uint16) {
	bits := valueBits(p, typ, eng)
	n := len(dst)
	for i := range n {
		pos, w := placeWord(p.Order, n, i, uint16(bits>>(16*(n-1-i))))
		dst[pos] = w
	}
}

// decodeRegisters is the inverse of encodeRegisters: it returns the
// engineering value of the words of point p.
func decodeRegisters(p *drivers.PointConfig, typ drivers.DataType, words []uint16) float64 {
	n := len(words)
	var bits uint64
	for i := range n {
		// placeWord is its own inverse for the word at its wire position.
		pos, _ := placeWord(p.Order, n, i, 0)
		_, w := placeWord(p.Order, n, i, words[pos])
		bits = bits<<16 | uint64(w)
	}
	var raw float64
	switch typ {
	case drivers.TypeBool:
		if bits != 0 {
			return 1
		}
		return 0
	case drivers.TypeInt16:
		raw = float64(int16(bits))
	case drivers.TypeUint16:
		raw = float64(uint16(bits))
	case drivers.TypeInt32:
		raw = float64(int32(bits))
	case drivers.TypeUint32:
		raw = float64(uint32(bits))
	case drivers.TypeInt64:
		raw = float64(int64(bits))
	case drivers.TypeUint64:
		raw = float64(bits)
	case drivers.TypeFloat32:
		raw = float64(math.Float32frombits(uint32(bits)))
	case drivers.TypeFloat64:
		raw = math.Float64frombits(bits)
	}
	return p.ToEng(raw)
}

// encodeText writes text into dst, two bytes per register, first byte high
// (ABCD) or low (BADC), padded with NUL bytes and cut to p.Length.
func encodeText(p *drivers.PointConfig, text string, dst []uint16) {
	b := make([]byte, 2*len(dst))
	copy(b[:min(len(b), p.Length)], text)
	for i := range dst {
		hi, lo := b[2*i], b[2*i+1]
		if p.Order == drivers.WordOrderBADC {
			hi, lo = lo, hi
		}
		dst[i] = uint16(hi)<<8 | uint16(lo)
	}
}

// bitMask is the mask of bit point p in its register as it travels on the
// wire: bit numbers count in the register's value, whose bytes BADC and
// DCBA swap.
func bitMask(p *drivers.PointConfig) uint16 {
	m := uint16(1) << *p.Bit
	if p.Order == drivers.WordOrderBADC || p.Order == drivers.WordOrderDCBA {
		m = m<<8 | m>>8
	}
	return m
}

// roundClamp rounds v to the nearest integer and clamps it to [lo, hi];
// NaN becomes 0.
func roundClamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(hi, math.Max(lo, math.Round(v)))
}

// engToRaw converts an engineering value to the raw value a point of type
// typ carries (rounded and clamped for integers); the OPC UA front uses it to
// build variants.
func engToRaw(p *drivers.PointConfig, typ drivers.DataType, eng float64) float64 {
	if typ == drivers.TypeBool {
		if eng != 0 {
			return 1
		}
		return 0
	}
	raw := p.ToRaw(eng)
	switch typ {
	case drivers.TypeInt16:
		return roundClamp(raw, math.MinInt16, math.MaxInt16)
	case drivers.TypeUint16:
		return roundClamp(raw, 0, math.MaxUint16)
	case drivers.TypeInt32:
		return roundClamp(raw, math.MinInt32, math.MaxInt32)
	case drivers.TypeUint32:
		return roundClamp(raw, 0, math.MaxUint32)
	case drivers.TypeInt64:
		return roundClamp(raw, math.MinInt64, math.MaxInt64)
	case drivers.TypeUint64:
		return roundClamp(raw, 0, math.MaxUint64)
	case drivers.TypeFloat32:
		return float64(float32(raw))
	}
	return raw
}
