package line

import (
	"slices"

	"github.com/pretreat/pretreat/controller/plant"
)

// flowGraph is the plant file's line as the sequence sees it: every unit a
// node, an edge from each unit to the units it feeds (fed_by, and a pump's
// suction). The line's logic is derived from it, never from unit names or
// a fixed chain: start order, stop order, what a fault or a trip stops and
// what keeps running.
//
// What a stop means on a graph with parallel branches: a unit stops when it
// is stopped itself, or when every unit it feeds has stopped (nothing it
// makes could go anywhere). On a chain that is "the unit and everything
// upstream of it"; where a unit feeds two branches (a hopper two feeders, a
// pulper two press feed pumps) it keeps running while one of them does.
type flowGraph struct {
	names []string
	kinds []string
	index map[string]int
	succ  [][]int // the units each unit feeds
	pred  [][]int // the units that feed each unit
	// down lists every node downstream first: each after every unit it
	// feeds (the plant's flow order reversed).
	down []int
}

func newFlowGraph(cfg *plant.File) *flowGraph {
	g := &flowGraph{index: map[string]int{}}
	for _, u := range cfg.FlowOrder() {
		g.index[u.Name] = len(g.names)
		g.names = append(g.names, u.Name)
		g.kinds = append(g.kinds, u.Kind)
	}
	n := len(g.names)
	g.succ, g.pred = make([][]int, n), make([][]int, n)
	for i, name := range g.names {
		for _, up := range cfg.Feeders(name) {
			if j, ok := g.index[up]; ok {
				g.succ[j] = append(g.succ[j], i)
				g.pred[i] = append(g.pred[i], j)
			}
		}
	}
	for i := n - 1; i >= 0; i-- {
		g.down = append(g.down, i)
	}
	return g
}

// propagate extends a set of stopped nodes to every node all of whose
// successors are stopped, in place; cause[i], when cause is not nil, is
// set for each node so stopped to the cause of its first stopped successor
// (a node stopped itself keeps its own). It does not allocate.
func propagate[T comparable](g *flowGraph, stopped []bool, cause []T) {
	for _, i := range g.down {
		if stopped[i] || len(g.succ[i]) == 0 {
			continue
		}
		all := true
		for _, s := range g.succ[i] {
			if !stopped[s] {
				all = false
				break
			}
		}
		if all {
			stopped[i] = true
			if cause != nil {
				cause[i] = cause[g.succ[i][0]]
			}
		}
	}
}

// seqNeighbours returns, for each node, the sequenced units (plant.
// IsSequenced kinds) next to it in the direction step gives (succ or
// pred), looking through the units the sequence does not start (tanks,
// pumps, reception): the press fed by a pump from the pulper is the
// pulper's sequenced successor.
func (g *flowGraph) seqNeighbours(step [][]int) [][]int {
	out := make([][]int, len(g.names))
	for i := range g.names {
		seen := map[int]bool{}
		var walk func(j int)
		walk = func(j int) {
			for _, k := range step[j] {
				if seen[k] {
					continue
				}
				seen[k] = true
				if plant.IsSequenced(g.kinds[k]) {
					out[i] = append(out[i], k)
				} else {
					walk(k)
				}
			}
		}
		walk(i)
		slices.Sort(out[i])
	}
	return out
}

// upstreamOf returns every node upstream of i (its feeders, theirs, …).
func (g *flowGraph) upstreamOf(i int) []int {
	var out []int
	seen := map[int]bool{i: true}
	queue := []int{i}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		for _, p := range g.pred[j] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out
}
