package plant

import (
	"fmt"
	"slices"
	"strings"
)

// The line is a graph of units: each unit names the units that feed it
// (fed_by; a pump is fed by the tank it draws from, suction), reception is
// where waste enters, and material leaves the line at its discharges (a
// screw press's cake, a pump's slurry or filtrate). The graph is checked
// when the file is loaded: names known, no unit feeding itself, no cycle,
// every unit reachable from a reception, and at least one discharge.

// feeders returns the names of the units that feed u: its fed_by, and for
// a pump its suction tank.
func (u *Unit) feeders() []string {
	if u.Kind == KindPump && u.Suction != "" {
		return append([]string{u.Suction}, u.FedBy...)
	}
	return u.FedBy
}

// FlowOrder returns the units from upstream to downstream (reception
// first): every unit comes after every unit that feeds it, ties kept in
// file order. It is only meaningful for a file that checked.
func (f *File) FlowOrder() []*Unit {
	idx := map[string]int{}
	for i := range f.Units {
		idx[f.Units[i].Name] = i
	}
	done := make([]bool, len(f.Units))
	var out []*Unit
	for len(out) < len(f.Units) {
		progress := false
		for i := range f.Units {
			if done[i] {
				continue
			}
			ready := true
			for _, up := range f.Units[i].feeders() {
				if j, ok := idx[up]; ok && !done[j] {
					ready = false
				}
			}
			if ready {
				done[i], progress = true, true
				out = append(out, &f.Units[i])
			}
		}
		if !progress { // a cycle: the check refuses such a file
			for i := range f.Units {
				if !done[i] {
					out = append(out, &f.Units[i])
				}
			}
			break
		}
	}
	return out
}

// chain is the flow this version of the controller sequences, upstream
// first: until sequencing is derived from the graph, the units of these
// kinds must be wired in this order.
var chain = []string{KindReception, KindFeeder, KindShredder, KindPulper, KindScrewPress}

// checkGraph checks the units' fed_by graph.
func (f *File) checkGraph(add func(path, format string, args ...any)) {
	idx := map[string]int{}
	for i := range f.Units {
		if f.Units[i].Name != "" {
			idx[f.Units[i].Name] = i
		}
	}
	bad := false
	for i := range f.Units {
		u := &f.Units[i]
		up := fmt.Sprintf("$.units[%d]", i)
		switch {
		case u.Kind == KindReception && len(u.FedBy) > 0:
			add(up+".fed_by", "a reception is where waste enters the line; it is fed by no unit (remove fed_by)")
			bad = true
		case u.Kind == KindPump && len(u.FedBy) > 0:
			add(up+".fed_by", "a pump is fed by the tank it draws from: name it under suction, not fed_by")
			bad = true
		case u.Kind != KindReception && u.Kind != KindPump && len(u.FedBy) == 0 && u.Kind != "":
			add(up, "unit %s needs fed_by: the unit(s) that feed it (allowed: %s)", u.Name, strings.Join(otherNames(f, u.Name), ", "))
			bad = true
		}
		seen := map[string]bool{}
		for j, name := range u.FedBy {
			p := fmt.Sprintf("%s.fed_by[%d]", up, j)
			switch _, ok := idx[name]; {
			case name == u.Name:
				add(p, "unit %s cannot feed itself", u.Name)
				bad = true
			case !ok:
				add(p, "fed_by %q is not a unit of this plant; allowed: %s", name, strings.Join(otherNames(f, u.Name), ", "))
				bad = true
			case seen[name]:
				add(p, "%q is named twice", name)
			}
			seen[name] = true
		}
	}
	if bad {
		return // the reachability and cycle checks would only repeat it
	}
	// Cycles: a depth-first walk upstream that comes back to a unit on
	// its own path.
	if cyc := findCycle(f, idx); cyc != nil {
		add(fmt.Sprintf("$.units[%d].fed_by", idx[cyc[0]]), "units %s form a cycle: material cannot flow back upstream", strings.Join(cyc, " → "))
		return
	}
	// Reachability from reception, downstream along the edges (with fed_by
	// on every unit and no cycle this holds; it is checked all the same).
	feeds := map[string][]string{}
	for i := range f.Units {
		for _, up := range f.Units[i].feeders() {
			feeds[up] = append(feeds[up], f.Units[i].Name)
		}
	}
	reach := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if reach[n] {
			return
		}
		reach[n] = true
		for _, d := range feeds[n] {
			walk(d)
		}
	}
	for i := range f.Units {
		if f.Units[i].Kind == KindReception {
			walk(f.Units[i].Name)
		}
	}
	discharge := false
	for i := range f.Units {
		u := &f.Units[i]
		if !reach[u.Name] && u.Name != "" {
			add(fmt.Sprintf("$.units[%d]", i), "unit %s is not reachable from a reception: nothing upstream of it is fed from where waste enters", u.Name)
		}
		if reach[u.Name] && len(feeds[u.Name]) == 0 && (u.Kind == KindScrewPress || u.Kind == KindPump) {
			discharge = true
		}
	}
	if !discharge {
		add("$.units", "the line has no discharge: no screw_press or pump at the end of a path from reception")
	}
	// The chain this version sequences.
	for k := 1; k < len(chain); k++ {
		d, u := f.Unit(chain[k]), f.Unit(chain[k-1])
		if d == nil || u == nil {
			continue // the kind check reports it
		}
		if !slices.Equal(d.FedBy, []string{u.Name}) && !f.feedPumpBetween(d, u) {
			alt := ""
			if d.Kind == KindScrewPress {
				alt = ", or by one pump on level control drawing from it"
			}
			add(fmt.Sprintf("$.units[%d].fed_by", idx[d.Name]), "this version sequences %s; the %s must be fed by the %s (%s) alone%s",
				strings.Join(chain, " → "), chain[k], chain[k-1], u.Name, alt)
		}
	}
}

// feedPumpBetween reports whether d is fed by one pump on level control
// alone, drawing from u (a press fed from the pulper by a feed pump).
func (f *File) feedPumpBetween(d, u *Unit) bool {
	if len(d.FedBy) != 1 {
		return false
	}
	for i := range f.Units {
		p := &f.Units[i]
		if p.Name == d.FedBy[0] {
			return p.Kind == KindPump && p.LevelSP != 0 && p.Suction == u.Name
		}
	}
	return false
}

// findCycle returns the units of one cycle of the fed_by graph, in flow
// order and starting and ending with the same unit, or nil.
func findCycle(f *File, idx map[string]int) []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(f.Units))
	var path []string
	var cycle []string
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onPath
		path = append(path, f.Units[i].Name)
		for _, up := range f.Units[i].feeders() {
			j, ok := idx[up]
			if !ok {
				continue
			}
			switch state[j] {
			case onPath:
				k := slices.Index(path, up)
				cycle = append(append([]string{}, path[k:]...), up)
				slices.Reverse(cycle) // path runs upstream; flow runs down
				return true
			case unseen:
				if visit(j) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return false
	}
	for i := range f.Units {
		if state[i] == unseen && visit(i) {
			return cycle
		}
	}
	return nil
}

func otherNames(f *File, except string) []string {
	var out []string
	for i := range f.Units {
		if n := f.Units[i].Name; n != except && n != "" {
			out = append(out, n)
		}
	}
	return out
}
