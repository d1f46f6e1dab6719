package modbus

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

func TestPlanReads(t *testing.T) {
	hold := func(addr uint16, typ drivers.DataType) drivers.PointConfig {
		return drivers.PointConfig{Tag: fmt.Sprintf("h%d", addr), Table: drivers.TableHolding, Address: addr, Type: typ}
	}
	every := func(table drivers.Table, typ drivers.DataType, from, to, step int) []drivers.PointConfig {
		var ps []drivers.PointConfig
		for a := from; a <= to; a += step {
			ps = append(ps, drivers.PointConfig{Tag: fmt.Sprintf("p%d", a), Table: table, Address: uint16(a), Type: typ})
		}
		return ps
	}
	type blk struct {
		table        drivers.Table
		start, count uint16
		npoints      int
	}
	cases := []struct {
		name   string
		points []drivers.PointConfig
		want   []blk
	}{
		{"contiguous registers", []drivers.PointConfig{hold(2, drivers.TypeUint16), hold(0, drivers.TypeUint16), hold(1, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 3, 3}}},
		{"gap of 8 is bridged", []drivers.PointConfig{hold(0, drivers.TypeUint16), hold(9, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 10, 2}}},
		{"gap of 9 splits", []drivers.PointConfig{hold(0, drivers.TypeUint16), hold(10, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 1, 1}, {drivers.TableHolding, 10, 1, 1}}},
		{"multi-register widths", []drivers.PointConfig{hold(0, drivers.TypeFloat64), hold(4, drivers.TypeUint16), hold(5, drivers.TypeFloat32)},
			[]blk{{drivers.TableHolding, 0, 7, 3}}},
		{"two tags on one register", []drivers.PointConfig{hold(3, drivers.TypeUint16), hold(3, drivers.TypeInt16)},
			[]blk{{drivers.TableHolding, 3, 1, 2}}},
		{"125 registers per request", every(drivers.TableInput, drivers.TypeUint16, 0, 200, 5),
			[]blk{{drivers.TableInput, 0, 121, 25}, {drivers.TableInput, 125, 76, 16}}},
		{"2000 bits per request", every(drivers.TableCoil, drivers.TypeBool, 0, 2500, 4),
			[]blk{{drivers.TableCoil, 0, 1997, 500}, {drivers.TableCoil, 2000, 501, 126}}},
		{"tables apart and in order, write-only skipped", []drivers.PointConfig{
			{Tag: "i", Table: drivers.TableInput, Address: 0, Type: drivers.TypeUint16},
			{Tag: "h", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
			{Tag: "w", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessWrite},
			{Tag: "d", Table: drivers.TableDiscrete, Address: 0},
			{Tag: "c", Table: drivers.TableCoil, Address: 0, Access: drivers.AccessReadWrite},
		}, []blk{{drivers.TableCoil, 0, 1, 1}, {drivers.TableDiscrete, 0, 1, 1}, {drivers.TableHolding, 0, 1, 1}, {drivers.TableInput, 0, 1, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []blk
			for _, b := range planReads(tc.points, 8) {
				got = append(got, blk{b.table, b.start, b.count, len(b.points)})
				for _, i := range b.points {
					p := tc.points[i]
					if p.Table != b.table || int(p.Address) < int(b.start) || int(p.Address)+width(&p) > b.end() {
						t.Errorf("point %s (%s %d) outside block %s %d+%d", p.Tag, p.Table, p.Address, b.table, b.start, b.count)
					}
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan = %+v\nwant   %+v", got, tc.want)
			}
		})
	}
}
