package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pretreat/pretreat/drivers"
)

// Registers hold 16-bit words as they travel on the wire (the client
// library has already turned each word's two bytes into a uint16, high byte
// first). A point's order (drivers.WordOrder) says how the bytes of its
// big-endian value ABCD… are spread over those words:
//
//	ABCD: words high first, bytes high first (the Modbus convention)
//	CDAB: words low first ("word swap"); for 64 bits all four reversed,
//	      as simonvetter/modbus's LOW_WORD_FIRST does
//	BADC: words high first, the two bytes of every word swapped
//	DCBA: both, i.e. the value little-endian
//
// The codec first puts the bytes back in big-endian order, then reads the
// type from them, so every type gets every order the same way.

// errNotFinite rejects NaN and ±Inf written to a register: no device type
// holds them in a meaningful way.
var errNotFinite = errors.New("value is not a finite number")

// toBigEndian returns the value bytes of regs in big-endian order.
func toBigEndian(order drivers.WordOrder, regs []uint16, dst []byte) []byte {
	n := len(regs)
	dst = dst[:0]
	for i := range n {
		w := regs[i]
		if order.SwapsWords() {
			w = regs[n-1-i]
		}
		if order.SwapsBytes() {
			w = w<<8 | w>>8
		}
		dst = binary.BigEndian.AppendUint16(dst, w)
	}
	return dst
}

// fromBigEndian spreads big-endian value bytes (even length) over registers.
func fromBigEndian(order drivers.WordOrder, b []byte) []uint16 {
	n := len(b) / 2
	regs := make([]uint16, n)
	for i := range n {
		w := binary.BigEndian.Uint16(b[2*i:])
		if order.SwapsBytes() {
			w = w<<8 | w>>8
		}
		if order.SwapsWords() {
			regs[n-1-i] = w
		} else {
			regs[i] = w
		}
	}
	return regs
}

// decodeRegisters turns the registers of one numeric or bool point into its
// raw value (before scale and offset). regs must hold p.Registers() words. A
// bool on a register is bit p.Bit of the (byte-ordered) register, or true
// when the register is not zero.
func decodeRegisters(p *drivers.PointConfig, regs []uint16) float64 {
	var buf [8]byte
	b := toBigEndian(p.Order, regs, buf[:0])
	switch p.Type {
	case drivers.TypeBool:
		w := binary.BigEndian.Uint16(b)
		if p.Bit != nil {
			return float64(w >> *p.Bit & 1)
		}
		if w != 0 {
			return 1
		}
		return 0
	case drivers.TypeInt16:
		return float64(int16(binary.BigEndian.Uint16(b)))
	case drivers.TypeUint16:
		return float64(binary.BigEndian.Uint16(b))
	case drivers.TypeInt32:
		return float64(int32(binary.BigEndian.Uint32(b)))
	case drivers.TypeUint32:
		return float64(binary.BigEndian.Uint32(b))
	case drivers.TypeInt64:
		return float64(int64(binary.BigEndian.Uint64(b)))
	case drivers.TypeUint64:
		return float64(binary.BigEndian.Uint64(b))
	case drivers.TypeFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
	case drivers.TypeFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	}
	return math.NaN()
}

// decodeText turns the registers of a string point into its text: the first
// p.Length bytes, cut at the first NUL, trailing spaces removed (devices pad
// with either).
func decodeText(p *drivers.PointConfig, regs []uint16) string {
	b := toBigEndian(p.Order, regs, make([]byte, 0, 2*len(regs)))
	if len(b) > p.Length {
		b = b[:p.Length]
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " ")
}

// encodeText turns text into the registers of a string point, padded with
// NUL bytes. Text longer than the point is refused.
func encodeText(p *drivers.PointConfig, text string) ([]uint16, error) {
	if len(text) > p.Length {
		return nil, fmt.Errorf("text of %d bytes does not fit a string of length %d", len(text), p.Length)
	}
	b := make([]byte, 2*p.Registers())
	copy(b, text)
	return fromBigEndian(p.Order, b), nil
}

// encodeRegisters turns a raw value into the registers of a numeric or bool
// point. Integer types are rounded to the nearest integer (halves away from
// zero) and clamped to the type's range; float32 is clamped to ±MaxFloat32.
// NaN and ±Inf are refused. For a bit point, the result is register old
// with the bit set or cleared.
func encodeRegisters(p *drivers.PointConfig, raw float64, old uint16) ([]uint16, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return nil, errNotFinite
	}
	var b []byte
	switch p.Type {
	case drivers.TypeBool:
		var w uint16
		if p.Bit != nil {
			w = toBigEndian16(p.Order, old) &^ (1 << *p.Bit)
			if raw != 0 {
				w |= 1 << *p.Bit
			}
		} else if raw != 0 {
			w = 1
		}
		b = binary.BigEndian.AppendUint16(nil, w)
	case drivers.TypeInt16:
		b = binary.BigEndian.AppendUint16(nil, uint16(int16(roundClamp(raw, math.MinInt16, math.MaxInt16))))
	case drivers.TypeUint16:
		b = binary.BigEndian.AppendUint16(nil, uint16(roundClamp(raw, 0, math.MaxUint16)))
	case drivers.TypeInt32:
		b = binary.BigEndian.AppendUint32(nil, uint32(int32(roundClamp(raw, math.MinInt32, math.MaxInt32))))
	case drivers.TypeUint32:
		b = binary.BigEndian.AppendUint32(nil, uint32(roundClamp(raw, 0, math.MaxUint32)))
	case drivers.TypeInt64:
		b = binary.BigEndian.AppendUint64(nil, uint64(clampInt64(raw)))
	case drivers.TypeUint64:
		b = binary.BigEndian.AppendUint64(nil, clampUint64(raw))
	case drivers.TypeFloat32:
		f := math.Max(-math.MaxFloat32, math.Min(math.MaxFloat32, raw))
		b = binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f)))
	case drivers.TypeFloat64:
		b = binary.BigEndian.AppendUint64(nil, math.Float64bits(raw))
	default:
		return nil, fmt.Errorf("data type %q has no numeric register encoding", p.Type)
	}
	return fromBigEndian(p.Order, b), nil
}

// toBigEndian16 is toBigEndian for one register.
func toBigEndian16(order drivers.WordOrder, w uint16) uint16 {
	if order.SwapsBytes() {
		return w<<8 | w>>8
	}
	return w
}

// roundClamp rounds v to the nearest integer and limits it to [lo, hi].
func roundClamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, math.Round(v)))
}

// clampInt64 rounds v and limits it to the int64 range. float64 cannot hold
// MaxInt64, so the bounds are compared as powers of two.
func clampInt64(v float64) int64 {
	switch r := math.Round(v); {
	case r >= 0x1p63:
		return math.MaxInt64
	case r < -0x1p63:
		return math.MinInt64
	default:
		return int64(r)
	}
}

// clampUint64 rounds v and limits it to the uint64 range.
func clampUint64(v float64) uint64 {
	switch r := math.Round(v); {
	case r >= 0x1p64:
		return math.MaxUint64
	case r <= 0:
		return 0
	default:
		return uint64(r)
	}
}
