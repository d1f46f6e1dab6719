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
	// The pulper is where the feed ends and dewatering begins: every unit
	// of the feed (feeders, shredders, depackagers, conveyors) must lead
	// to it, and every press must be fed from it. The batch's phases run
	// the two halves separately.
	pul := f.Unit(KindPulper)
	if pul == nil {
		return // the kind check reports it
	}
	below := map[string]bool{}
	var down func(string)
	down = func(n string) {
		for _, d := range feeds[n] {
			if !below[d] {
				below[d] = true
				down(d)
			}
		}
	}
	down(pul.Name)
	above := map[string]bool{}
	for _, n := range f.Upstream(pul.Name) {
		above[n] = true
	}
	for i := range f.Units {
		u := &f.Units[i]
		switch {
		case u.Kind == KindScrewPress && !below[u.Name]:
			add(fmt.Sprintf("$.units[%d].fed_by", i), "screw_press %s is not fed from the pulper %s: every press dewaters the pulper's slurry (directly, or through pumps or tanks fed from it)", u.Name, pul.Name)
		case (u.Kind == KindFeeder || u.Kind == KindShredder || u.Kind == KindDepackager || u.Kind == KindBeltConveyor) && !above[u.Name]:
			add(fmt.Sprintf("$.units[%d]", i), "%s %s does not lead to the pulper %s: every unit of the feed must deliver, through the units downstream of it, into the pulper", u.Kind, u.Name, pul.Name)
		}
	}
}

// Upstream returns the names of every unit upstream of the named one (its
// feeders, their feeders, and so on), each once, nearest first. It is only
// meaningful for a file that checked.
func (f *File) Upstream(name string) []string {
	byName := map[string]*Unit{}
	for i := range f.Units {
		byName[f.Units[i].Name] = &f.Units[i]
	}
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		u := byName[queue[0]]
		queue = queue[1:]
		if u == nil {
			continue
		}
		for _, up := range u.feeders() {
			if !seen[up] {
				seen[up] = true
				out = append(out, up)
				queue = append(queue, up)
			}
		}
	}
	return out
}

// Feeders returns the names of the units that feed the named one directly:
// its fed_by, and for a pump its suction.
func (f *File) Feeders(name string) []string {
	for i := range f.Units {
		if f.Units[i].Name == name {
			return f.Units[i].feeders()
		}
	}
	return nil
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
