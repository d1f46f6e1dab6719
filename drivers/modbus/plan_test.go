package modbus

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

func fixedLimits(gap int) func(uint8) planLimits {
	return func(uint8) planLimits { return planLimits{Gap: gap, MaxRegs: maxRegisters, MaxBits: maxBits} }
}

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
	bit := func(b uint8) *uint8 { return &b }
	type blk struct {
		table        drivers.Table
		start, count uint16
		npoints      int
	}
	cases := []struct {
		name    string
		gap     int
		maxRegs int
		points  []drivers.PointConfig
		want    []blk
	}{
		{"contiguous registers", 0, 0, []drivers.PointConfig{hold(2, drivers.TypeUint16), hold(0, drivers.TypeUint16), hold(1, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 3, 3}}},
		{"gap 0 splits at one unmapped register", 0, 0, []drivers.PointConfig{hold(0, drivers.TypeUint16), hold(2, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 1, 1}, {drivers.TableHolding, 2, 1, 1}}},
		{"gap of 8 is bridged", 8, 0, []drivers.PointConfig{hold(0, drivers.TypeUint16), hold(9, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 10, 2}}},
		{"gap of 9 splits", 8, 0, []drivers.PointConfig{hold(0, drivers.TypeUint16), hold(10, drivers.TypeUint16)},
			[]blk{{drivers.TableHolding, 0, 1, 1}, {drivers.TableHolding, 10, 1, 1}}},
		{"multi-register widths", 0, 0, []drivers.PointConfig{hold(0, drivers.TypeFloat64), hold(4, drivers.TypeUint16), hold(5, drivers.TypeFloat32), hold(7, drivers.TypeInt64)},
			[]blk{{drivers.TableHolding, 0, 11, 4}}},
		{"two tags on one register", 0, 0, []drivers.PointConfig{hold(3, drivers.TypeUint16), hold(3, drivers.TypeInt16)},
			[]blk{{drivers.TableHolding, 3, 1, 2}}},
		{"bits of one register share it", 0, 0, []drivers.PointConfig{
			{Tag: "b0", Table: drivers.TableInput, Address: 7, Type: drivers.TypeBool, Bit: bit(0)},
			{Tag: "b9", Table: drivers.TableInput, Address: 7, Type: drivers.TypeBool, Bit: bit(9)},
			{Tag: "w", Table: drivers.TableInput, Address: 8, Type: drivers.TypeUint16},
		}, []blk{{drivers.TableInput, 7, 2, 3}}},
		{"string spans its registers", 0, 0, []drivers.PointConfig{
			{Tag: "s", Table: drivers.TableHolding, Address: 100, Type: drivers.TypeString, Length: 9},
			hold(105, drivers.TypeUint16),
		}, []blk{{drivers.TableHolding, 100, 6, 2}}},
		{"125 registers per request", 4, 0, every(drivers.TableInput, drivers.TypeUint16, 0, 200, 5),
			[]blk{{drivers.TableInput, 0, 121, 25}, {drivers.TableInput, 125, 76, 16}}},
		{"device maximum of 10 registers", 4, 10, every(drivers.TableInput, drivers.TypeUint16, 0, 20, 5),
			[]blk{{drivers.TableInput, 0, 6, 2}, {drivers.TableInput, 10, 6, 2}, {drivers.TableInput, 20, 1, 1}}},
		{"2000 bits per request", 3, 0, every(drivers.TableCoil, drivers.TypeBool, 0, 2500, 4),
			[]blk{{drivers.TableCoil, 0, 1997, 500}, {drivers.TableCoil, 2000, 501, 126}}},
		{"tables apart and in order, write-only skipped", 0, 0, []drivers.PointConfig{
			{Tag: "i", Table: drivers.TableInput, Address: 0, Type: drivers.TypeUint16},
			{Tag: "h", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
			{Tag: "w", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessWrite},
			{Tag: "d", Table: drivers.TableDiscrete, Address: 0},
			{Tag: "c", Table: drivers.TableCoil, Address: 0, Access: drivers.AccessReadWrite},
		}, []blk{{drivers.TableCoil, 0, 1, 1}, {drivers.TableDiscrete, 0, 1, 1}, {drivers.TableHolding, 0, 1, 1}, {drivers.TableInput, 0, 1, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := drivers.DeviceConfig{ReadGap: tc.gap, MaxReadRegisters: tc.maxRegs, Points: tc.points}
			var got []blk
			for _, b := range devicePlan(&cfg) {
				got = append(got, blk{b.table, b.start, b.count, len(b.points)})
				for _, i := range b.points {
					p := tc.points[i]
					if p.Table != b.table || int(p.Address) < int(b.start) || int(p.Address)+p.Registers() > b.end() {
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

// minimalBlocks is an independent reference for the planner: the fewest
// requests that cover points (one unit and table, sorted by start) found by
// dynamic programming over every split into consecutive groups.
func minimalBlocks(pts []planPoint, lim planLimits) int {
	limit := lim.MaxRegs
	if len(pts) > 0 && isBitTable(pts[0].Table) {
		limit = lim.MaxBits
	}
	n := len(pts)
	best := make([]int, n+1) // best[i]: fewest blocks for pts[:i]
	for i := 1; i <= n; i++ {
		best[i] = 1 << 30
	}
	for j := 0; j < n; j++ {
		// Grow the group pts[j:i] while it is one valid request; once a
		// gap or the span breaks it, every longer group breaks too.
		cur := pts[j].Start + pts[j].Width
		for i := j + 1; i <= n; i++ {
			if i > j+1 {
				p := pts[i-1]
				if p.Start-cur > lim.Gap {
					break
				}
				cur = max(cur, p.Start+p.Width)
			}
			if cur-pts[j].Start > limit {
				break
			}
			best[i] = min(best[i], best[j]+1)
		}
	}
	return best[n]
}

// referenceCount sums minimalBlocks over every unit and table.
func referenceCount(points []planPoint, lim planLimits) int {
	groups := map[[2]int][]planPoint{}
	for _, p := range points {
		k := [2]int{int(p.Unit), tableRank(p.Table)}
		groups[k] = append(groups[k], p)
	}
	total := 0
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b planPoint) int { return cmp.Compare(a.Start, b.Start) })
		total += minimalBlocks(g, lim)
	}
	return total
}

// checkPlan verifies a plan's invariants: every point in exactly one block,
// inside it, of its unit and table; blocks within the limit, starting and
// ending on a point, and bridging no more than the gap.
func checkPlan(t *testing.T, points []planPoint, blocks []readBlock, lim planLimits) {
	t.Helper()
	seen := make([]int, len(points))
	byIndex := map[int]planPoint{}
	for _, p := range points {
		byIndex[p.Index] = p
	}
	for _, b := range blocks {
		limit := lim.MaxRegs
		if isBitTable(b.table) {
			limit = lim.MaxBits
		}
		if int(b.count) > limit || b.count == 0 {
			t.Fatalf("block %s %d+%d exceeds the limit %d", b.table, b.start, b.count, limit)
		}
		lo, hi := 1<<30, 0
		var members []planPoint
		for _, i := range b.points {
			p := byIndex[i]
			seen[i]++
			if p.Unit != b.unit || p.Table != b.table || p.Start < int(b.start) || p.Start+p.Width > b.end() {
				t.Fatalf("point %+v outside block %+v", p, b)
			}
			lo, hi = min(lo, p.Start), max(hi, p.Start+p.Width)
			members = append(members, p)
		}
		if lo != int(b.start) || hi != b.end() {
			t.Fatalf("block %d+%d reads beyond its points [%d, %d)", b.start, b.count, lo, hi)
		}
		slices.SortFunc(members, func(a, b planPoint) int { return cmp.Compare(a.Start, b.Start) })
		cur := members[0].Start + members[0].Width
		for _, p := range members[1:] {
			if p.Start-cur > lim.Gap {
				t.Fatalf("block %d+%d bridges a gap of %d > %d", b.start, b.count, p.Start-cur, lim.Gap)
			}
			cur = max(cur, p.Start+p.Width)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("point %d is in %d blocks, want 1", i, n)
		}
	}
}

// scatteredMap is a 500-point map over unit ids 1 to 5: per unit, 40 holding
// registers of mixed widths, 30 input registers, 20 coils and 10 discrete
// inputs, at addresses with random unmapped runs of 0 to 12 between them.
func scatteredMap() []planPoint {
	rng := rand.New(rand.NewPCG(3, 500))
	widths := []int{1, 1, 1, 2, 2, 4}
	var pts []planPoint
	for unit := uint8(1); unit <= 5; unit++ {
		for _, spec := range []struct {
			table drivers.Table
			n     int
		}{{drivers.TableHolding, 40}, {drivers.TableInput, 30}, {drivers.TableCoil, 20}, {drivers.TableDiscrete, 10}} {
			addr := rng.IntN(50)
			for range spec.n {
				w := 1
				if !isBitTable(spec.table) {
					w = widths[rng.IntN(len(widths))]
				}
				pts = append(pts, planPoint{Unit: unit, Table: spec.table, Start: addr, Width: w, Index: len(pts)})
				addr += w + rng.IntN(13)
			}
		}
	}
	return pts
}

// TestPlannerScatteredMap plans the 500-point map for each gap setting and
// checks that the plan is valid and as small as the reference says. The
// counts are logged (go test -v -run TestPlannerScatteredMap).
func TestPlannerScatteredMap(t *testing.T) {
	pts := scatteredMap()
	if len(pts) != 500 {
		t.Fatalf("map has %d points, want 500", len(pts))
	}
	want := map[int]int{} // filled from the reference, logged for the record
	for _, gap := range []int{0, 1, 2, 4, 8, 16, 32, 124} {
		for _, maxRegs := range []int{125, 16} {
			lim := planLimits{Gap: gap, MaxRegs: maxRegs, MaxBits: maxBits}
			blocks := planReads(pts, func(uint8) planLimits { return lim })
			checkPlan(t, pts, blocks, lim)
			ref := referenceCount(pts, lim)
			if len(blocks) != ref {
				t.Errorf("gap %d, max %d registers: %d requests, the minimum is %d", gap, maxRegs, len(blocks), ref)
			}
			for i := 1; i < len(blocks); i++ {
				if blocks[i].unit < blocks[i-1].unit {
					t.Errorf("blocks not grouped by unit id: unit %d after %d", blocks[i].unit, blocks[i-1].unit)
				}
			}
			if maxRegs == 125 {
				want[gap] = len(blocks)
			}
			t.Logf("gap %3d, max %3d registers: %3d requests for 500 points on 5 unit ids", gap, maxRegs, len(blocks))
		}
	}
	// More gap never costs requests.
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {2, 4}, {4, 8}, {8, 16}, {16, 32}, {32, 124}} {
		if want[pair[1]] > want[pair[0]] {
			t.Errorf("gap %d needs %d requests, more than gap %d (%d)", pair[1], want[pair[1]], pair[0], want[pair[0]])
		}
	}
	// With every gap bridged, a unit needs one request per table unless a
	// table spans more than one request's limit.
	if want[124] < 20 {
		t.Errorf("gap 124: %d requests for 5 units × 4 tables, want at least 20", want[124])
	}
}

// FuzzPlanner plans random point maps and checks the plan's invariants and
// its minimality against the reference.
func FuzzPlanner(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(0), uint8(125))
	f.Add([]byte{200, 100, 17, 3, 3, 3, 250, 251, 1, 0, 0, 0}, uint8(8), uint8(10))
	f.Add([]byte{1, 2, 4, 8, 16, 32, 64, 128, 255}, uint8(124), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, gap, maxRegs uint8) {
		lim := planLimits{Gap: int(gap % 125), MaxRegs: int(maxRegs%maxRegisters) + 1, MaxBits: int(maxRegs)%maxBits + 1}
		var pts []planPoint
		addr := 0
		// Three bytes per point: unit/table selector, address step, width.
		for i := 0; i+2 < len(data) && len(pts) < 300; i += 3 {
			table := tableOrder[data[i]%4]
			w := 1
			if !isBitTable(table) {
				w = []int{1, 2, 4, 1}[data[i+2]%4]
				if w > lim.MaxRegs {
					w = lim.MaxRegs
				}
			}
			addr = (addr + int(data[i+1])) % 60000
			pts = append(pts, planPoint{Unit: data[i] / 4 % 3, Table: table, Start: addr, Width: w, Index: len(pts)})
		}
		blocks := planReads(pts, func(uint8) planLimits { return lim })
		checkPlan(t, pts, blocks, lim)
		if ref := referenceCount(pts, lim); len(blocks) != ref {
			t.Fatalf("%d requests, the minimum is %d (limits %+v)", len(blocks), ref, lim)
		}
	})
}
