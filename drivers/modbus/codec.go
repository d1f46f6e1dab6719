package modbus

import (
	"errors"
	"fmt"
	"math"

	"github.com/pretreat/pretreat/drivers"
)

// Registers hold 16-bit words as they travel on the wire (big-endian bytes
// within a word, which the client library has already undone). Word order
// says how the words of a 32- or 64-bit value follow each other:
//
//	ABCD: most significant word first (the Modbus convention);
//	CDAB: least significant word first. For a 64-bit value this reverses
//	      all four words, as simonvetter/modbus's LOW_WORD_FIRST does.

// errNotFinite rejects NaN and ±Inf written to a register: no device type
// holds them in a meaningful way.
var errNotFinite = errors.New("value is not a finite number")

// decodeRegisters turns the registers of one point into its raw value (before
// scale and offset). regs must hold at least t.Registers() words. A bool on a
// register table is true when the register is not zero.
func decodeRegisters(t drivers.DataType, order drivers.WordOrder, regs []uint16) float64 {
	switch t {
	case drivers.TypeBool:
		if regs[0] != 0 {
			return 1
		}
		return 0
	case drivers.TypeInt16:
		return float64(int16(regs[0]))
	case drivers.TypeUint16:
		return float64(regs[0])
	case drivers.TypeInt32:
		return float64(int32(join32(order, regs)))
	case drivers.TypeUint32:
		return float64(join32(order, regs))
	case drivers.TypeFloat32:
		return float64(math.Float32frombits(join32(order, regs)))
	case drivers.TypeFloat64:
		return math.Float64frombits(join64(order, regs))
	}
	return math.NaN()
}

// encodeRegisters turns a raw value into the registers of a point of type t.
// Integer types are rounded to the nearest integer (halves away from zero)
// and clamped to the type's range; float32 is clamped to ±MaxFloat32. NaN and
// ±Inf are refused.
func encodeRegisters(t drivers.DataType, order drivers.WordOrder, raw float64) ([]uint16, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return nil, errNotFinite
	}
	switch t {
	case drivers.TypeBool:
		if raw != 0 {
			return []uint16{1}, nil
		}
		return []uint16{0}, nil
	case drivers.TypeInt16:
		return []uint16{uint16(int16(roundClamp(raw, math.MinInt16, math.MaxInt16)))}, nil
	case drivers.TypeUint16:
		return []uint16{uint16(roundClamp(raw, 0, math.MaxUint16))}, nil
	case drivers.TypeInt32:
		return split32(order, uint32(int32(roundClamp(raw, math.MinInt32, math.MaxInt32)))), nil
	case drivers.TypeUint32:
		return split32(order, uint32(roundClamp(raw, 0, math.MaxUint32))), nil
	case drivers.TypeFloat32:
		f := math.Max(-math.MaxFloat32, math.Min(math.MaxFloat32, raw))
		return split32(order, math.Float32bits(float32(f))), nil
	case drivers.TypeFloat64:
		return split64(order, math.Float64bits(raw)), nil
	}
	return nil, fmt.Errorf("data type %q has no register encoding", t)
}

// roundClamp rounds v to the nearest integer and limits it to [lo, hi].
func roundClamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, math.Round(v)))
}

func join32(order drivers.WordOrder, regs []uint16) uint32 {
	hi, lo := regs[0], regs[1]
	if order == drivers.WordOrderCDAB {
		hi, lo = lo, hi
	}
	return uint32(hi)<<16 | uint32(lo)
}

func split32(order drivers.WordOrder, v uint32) []uint16 {
	hi, lo := uint16(v>>16), uint16(v)
	if order == drivers.WordOrderCDAB {
		return []uint16{lo, hi}
	}
	return []uint16{hi, lo}
}

func join64(order drivers.WordOrder, regs []uint16) uint64 {
	var v uint64
	for i := range 4 {
		w := regs[i]
		if order == drivers.WordOrderCDAB {
			w = regs[3-i]
		}
		v = v<<16 | uint64(w)
	}
	return v
}

func split64(order drivers.WordOrder, v uint64) []uint16 {
	regs := make([]uint16, 4)
	for i := range 4 {
		w := uint16(v >> (48 - 16*i))
		if order == drivers.WordOrderCDAB {
			regs[3-i] = w
		} else {
			regs[i] = w
		}
	}
	return regs
}
