package modbus

import (
	"cmp"
	"slices"

	"github.com/pretreat/pretreat/drivers"
)

// Protocol limits of one read request.
const (
	maxRegisters = 125  // FC3/FC4
	maxBits      = 2000 // FC1/FC2
)

// tableOrder fixes the order in which a unit's blocks are polled.
var tableOrder = []drivers.Table{drivers.TableCoil, drivers.TableDiscrete, drivers.TableHolding, drivers.TableInput}

func tableRank(t drivers.Table) int { return slices.Index(tableOrder, t) }

// isBitTable reports whether the table holds single bits.
func isBitTable(t drivers.Table) bool { return t == drivers.TableCoil || t == drivers.TableDiscrete }

// planPoint is one readable point as the planner sees it.
type planPoint struct {
	Unit  uint8
	Table drivers.Table
	Start int // first register or bit
	Width int // registers or bits spanned, ≥ 1
	Index int // caller's reference, copied into the block
}

// planLimits are the per-unit planning settings.
type planLimits struct {
	Gap     int // largest run of unmapped addresses read across
	MaxRegs int // largest register read, ≤ maxRegisters
	MaxBits int // largest bit read, ≤ maxBits
}

// readBlock is one read request per poll: count registers or bits of table
// on unit from start, covering the listed points.
type readBlock struct {
	unit   uint8
	table  drivers.Table
	start  uint16
	count  uint16
	points []int // planPoint.Index of every point covered
}

// end returns the address one past the block.
func (b *readBlock) end() int { return int(b.start) + int(b.count) }

// planReads groups points into as few read requests as possible: points of
// one unit id and table, sorted by address, are merged while the unmapped
// run between them is at most the unit's gap and the block stays within the
// unit's request limit. Extending the current block as far as it goes is
// optimal for this one-dimensional partition (any plan can be changed, block
// by block from the left, into the greedy one without adding a block). A
// point is never split across requests. Blocks come out grouped by unit id
// (ascending), then table, then address, so a shared connection talks to
// one unit at a time. Points must have passed validation (Width ≤ limit).
func planReads(points []planPoint, limits func(unit uint8) planLimits) []readBlock {
	sorted := slices.Clone(points)
	slices.SortStableFunc(sorted, func(a, b planPoint) int {
		return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(tableRank(a.Table), tableRank(b.Table)), cmp.Compare(a.Start, b.Start))
	})
	var blocks []readBlock
	var cur *readBlock
	for _, p := range sorted {
		lim := limits(p.Unit)
		limit := lim.MaxRegs
		if isBitTable(p.Table) {
			limit = lim.MaxBits
		}
		end := p.Start + p.Width
		if cur != nil && cur.unit == p.Unit && cur.table == p.Table &&
			p.Start-cur.end() <= lim.Gap && max(end, cur.end())-int(cur.start) <= limit {
			if end > cur.end() {
				cur.count = uint16(end - int(cur.start))
			}
			cur.points = append(cur.points, p.Index)
			continue
		}
		blocks = append(blocks, readBlock{unit: p.Unit, table: p.Table, start: uint16(p.Start), count: uint16(p.Width), points: []int{p.Index}})
		cur = &blocks[len(blocks)-1]
	}
	return blocks
}

// devicePlan plans the reads of one device's readable points with its own
// gap and request limits.
func devicePlan(cfg *drivers.DeviceConfig) []readBlock {
	var pts []planPoint
	for i := range cfg.Points {
		p := &cfg.Points[i]
		if !p.Access.Readable() {
			continue
		}
		pts = append(pts, planPoint{Unit: cfg.UnitID, Table: p.Table, Start: int(p.Address), Width: p.Registers(), Index: i})
	}
	lim := planLimits{Gap: cfg.ReadGap, MaxRegs: maxRead(cfg, false), MaxBits: maxRead(cfg, true)}
	return planReads(pts, func(uint8) planLimits { return lim })
}
