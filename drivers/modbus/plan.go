package modbus

import (
	"cmp"
	"slices"

	"github.com/pretreat/pretreat/drivers"
)

// Read planning limits. The largest gap of unused registers or bits read
// across is the device's read_gap (default 0): many devices answer a read
// that touches an unmapped address with an exception, so bridging gaps is
// opt-in per device.
const (
	maxRegisters = 125  // FC3/FC4 limit per request
	maxBits      = 2000 // FC1/FC2 limit per request
)

// tableOrder fixes the order in which blocks are polled.
var tableOrder = []drivers.Table{drivers.TableCoil, drivers.TableDiscrete, drivers.TableHolding, drivers.TableInput}

// readBlock is one read request per poll: count registers or bits of table
// from start, covering the listed points (indices into the device's points).
type readBlock struct {
	table  drivers.Table
	start  uint16
	count  uint16
	points []int
}

// end returns the address one past the block.
func (b *readBlock) end() int { return int(b.start) + int(b.count) }

// isBitTable reports whether the table holds single bits.
func isBitTable(t drivers.Table) bool { return t == drivers.TableCoil || t == drivers.TableDiscrete }

// width is how many registers (or bits) the point spans.
func width(p *drivers.PointConfig) int {
	if isBitTable(p.Table) {
		return 1
	}
	return p.Type.Registers()
}

// planReads groups the readable points into contiguous blocks per table,
// merging points separated by at most maxGap unused addresses while the block
// stays within the per-request limit. Points must have passed validation.
func planReads(points []drivers.PointConfig, maxGap int) []readBlock {
	var blocks []readBlock
	for _, table := range tableOrder {
		var idx []int
		for i := range points {
			if points[i].Table == table && points[i].Access.Readable() {
				idx = append(idx, i)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(points[a].Address, points[b].Address) })
		limit := maxRegisters
		if isBitTable(table) {
			limit = maxBits
		}
		var cur *readBlock
		for _, i := range idx {
			p := &points[i]
			start, end := int(p.Address), int(p.Address)+width(p)
			if cur != nil && start-cur.end() <= maxGap && max(end, cur.end())-int(cur.start) <= limit {
				if end > cur.end() {
					cur.count = uint16(end - int(cur.start))
				}
				cur.points = append(cur.points, i)
				continue
			}
			blocks = append(blocks, readBlock{table: table, start: p.Address, count: uint16(end - start), points: []int{i}})
			cur = &blocks[len(blocks)-1]
		}
	}
	return blocks
}
