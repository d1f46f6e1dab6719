package testrig

import (
	"math"

	"github.com/pretreat/pretreat/drivers"
)

// Register codec: how one point's engineering value becomes 16-bit words on
// the wire and back. Words are big-endian (Modbus convention). For 32- and
// 64-bit types, word order ABCD puts the most significant word first; CDAB
// puts the least significant word first, so a float64 is sent with its four
// words reversed. That matches simonvetter/modbus's LOW_WORD_FIRST and
// mbpoll's default for 32-bit values.
//
// eng -> raw is (eng-Offset)/Scale. Integer types round to the nearest
// integer and clamp to the type's range (NaN becomes 0); float32 rounds to
// the nearest float32. A bool, in a register as in a coil, is 1 when the
// engineering value is non-zero, ignoring scale and offset.

// encodeRegisters writes the wire words of eng for point p (typ resolved,
// order as configured) into dst, which must have typ.Registers() elements.
func encodeRegisters(p *drivers.PointConfig, typ drivers.DataType, eng float64, dst []uint16) {
	if typ == drivers.TypeBool {
		dst[0] = 0
		if eng != 0 {
			dst[0] = 1
		}
		return
	}
	raw := p.ToRaw(eng)
	var bits uint64
	switch typ {
	case drivers.TypeInt16:
		bits = uint64(uint16(int16(roundClamp(raw, math.MinInt16, math.MaxInt16))))
	case drivers.TypeUint16:
		bits = uint64(uint16(roundClamp(raw, 0, math.MaxUint16)))
	case drivers.TypeInt32:
		bits = uint64(uint32(int32(roundClamp(raw, math.MinInt32, math.MaxInt32))))
	case drivers.TypeUint32:
		bits = uint64(uint32(roundClamp(raw, 0, math.MaxUint32)))
	case drivers.TypeFloat32:
		bits = uint64(math.Float32bits(float32(raw)))
	case drivers.TypeFloat64:
		bits = math.Float64bits(raw)
	}
	n := len(dst)
	for i := range n {
		// Word i counted from the most significant one.
		w := uint16(bits >> (16 * (n - 1 - i)))
		if p.Order == drivers.WordOrderCDAB {
			dst[n-1-i] = w
		} else {
			dst[i] = w
		}
	}
}

// decodeRegisters is the inverse of encodeRegisters: it returns the
// engineering value of the words of point p.
func decodeRegisters(p *drivers.PointConfig, typ drivers.DataType, words []uint16) float64 {
	if typ == drivers.TypeBool {
		if words[0] != 0 {
			return 1
		}
		return 0
	}
	n := len(words)
	var bits uint64
	for i := range n {
		w := words[i]
		if p.Order == drivers.WordOrderCDAB {
			w = words[n-1-i]
		}
		bits = bits<<16 | uint64(w)
	}
	var raw float64
	switch typ {
	case drivers.TypeInt16:
		raw = float64(int16(bits))
	case drivers.TypeUint16:
		raw = float64(uint16(bits))
	case drivers.TypeInt32:
		raw = float64(int32(bits))
	case drivers.TypeUint32:
		raw = float64(uint32(bits))
	case drivers.TypeFloat32:
		raw = float64(math.Float32frombits(uint32(bits)))
	case drivers.TypeFloat64:
		raw = math.Float64frombits(bits)
	}
	return p.ToEng(raw)
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
	case drivers.TypeFloat32:
		return float64(float32(raw))
	}
	return raw
}
