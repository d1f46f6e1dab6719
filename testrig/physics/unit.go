package physics

import (
	"fmt"
	"slices"
	"strings"
)

// UnitSpec is one unit of a line's layout: what it is and what feeds it,
// as a plant file's units list says (controller/plant's Unit: name, kind,
// fed_by, suction).
type UnitSpec struct {
	// Name is unique in the layout; roles of the unit are "<Name>.<var>".
	Name string
	// Kind is one of Kinds(): reception, feeder, belt_conveyor, shredder,
	// depackager, pulper, pump, screw_press, tank.
	Kind string
	// FedBy names the units that feed this one. A reception is fed by none;
	// a pump names its suction instead.
	FedBy []string
	// Suction names the store (pulper or tank) a pump draws from.
	Suction string
}

// DefaultLayout is the sample plant's line, one unit of each kind:
// reception → feeder → shredder → pulper → press_feed (pump) → press →
// filtrate_tank → filtrate_pump. New builds it; its units keep the role
// names the sample plant file maps ("hopper.weight", "cake_bin.weight",
// "filtrate.level", …).
func DefaultLayout() []UnitSpec {
	return []UnitSpec{
		{Name: "reception", Kind: KindReception},
		{Name: "feeder", Kind: KindFeeder, FedBy: []string{"reception"}},
		{Name: "shredder", Kind: KindShredder, FedBy: []string{"feeder"}},
		{Name: "pulper", Kind: KindPulper, FedBy: []string{"shredder"}},
		{Name: "press_feed", Kind: KindPump, Suction: "pulper"},
		{Name: "press", Kind: KindScrewPress, FedBy: []string{"press_feed"}},
		{Name: "filtrate_tank", Kind: KindTank, FedBy: []string{"press"}},
		{Name: "filtrate_pump", Kind: KindPump, Suction: "filtrate_tank"},
	}
}

// unitModel is the model of one unit. Every kind implements it; the phases
// of a substep are optional interfaces (driver, flower, settler, spiller,
// meterer, noiser) that the line calls, in topological order (upstream
// first), for the units that have them:
//
//  1. drives: motors, starters and lags advance (run feedback, speed
//     ramps, back-pressure);
//  2. flow: material moves: a transport draws from the store upstream at
//     its rate, a unit with a hold-up discharges it, and what either sends
//     on is received by the units downstream;
//  3. settle: overflows and tanks: a pulper's weir, a tank's inflow and
//     the transfer pumps that empty it;
//  4. spill: a full tank spills;
//  5. meters: motor currents, energy, overload relays;
//  6. noise: analysers and load cells draw their noise.
type unitModel interface {
	base() *unitBase
	// vars are the unit's variables; the line names them "<unit>.<name>"
	// (or by their legacy name on the sample plant's units).
	vars() []variable
	// mass returns what the unit holds now (total and dry kg), what has
	// entered the line through it (tipped waste, dilution water) and what
	// has left the line through it (cake, rejects, filtrate pumped on or
	// spilled), all since the line was built.
	mass() (held, in, out massDry)
}

// massDry is a mass of material and the dry solids in it, in kg.
type massDry struct{ m, d float64 }

func (a massDry) add(b massDry) massDry { return massDry{a.m + b.m, a.d + b.d} }

type (
	driver  interface{ drives(h float64) }
	flower  interface{ flow(h float64) }
	settler interface{ settle(h float64) }
	spiller interface{ spill(h float64) }
	meterer interface{ meters(h float64) }
	noiser  interface{ noise() }
	// receiver is a unit that takes what the unit upstream pushes into it
	// (a hold-up, a pulper, a tank).
	receiver interface{ receive(m, d float64) }
	// store is a unit that transports draw from (a hopper, a pulper, a
	// tank): it pushes nothing itself.
	store interface {
		contents() *compartment
		levelPct() float64
	}
	// linker is a unit that resolves its neighbours after the layout is
	// built (and may refuse them).
	linker interface{ link() error }
)

// compartment is a mass of material and its dry solids.
type compartment struct{ mass, dry float64 }

// unitBase is what every unit has: its place in the layout.
type unitBase struct {
	l      *Line
	name   string
	kind   string
	legacy bool        // the sample plant's unit: the old role names apply
	up     []unitModel // fed by (a pump: its suction)
	down   []unitModel // the units it feeds
	order  int         // position in the topological order
}

func (b *unitBase) base() *unitBase { return b }

// deliver sends m kg (d dry) on to the units downstream: all of it to a
// single one, in equal shares to several (the last takes the rounding).
// With none downstream it returns the amount, which leaves the line.
func (b *unitBase) deliver(m, d float64) (outM, outD float64) {
	switch n := len(b.down); n {
	case 0:
		return m, d
	case 1:
		b.down[0].(receiver).receive(m, d)
	default:
		sm, sd := m/float64(n), d/float64(n)
		for i, u := range b.down {
			if i == n-1 {
				sm, sd = m-sm*float64(n-1), d-sd*float64(n-1)
			}
			u.(receiver).receive(sm, sd)
		}
	}
	return 0, 0
}

// variable is one named model variable of a unit. set is nil for
// read-only variables; internal marks balance and diagnostic variables
// that no instrument on a real line measures. legacy is the full role
// name on the sample plant's unit ("" keeps "<unit>.<name>", "-" drops the
// variable there).
type variable struct {
	name     string
	legacy   string
	get      func() float64
	set      func(v float64)
	internal bool
}

// meas is a measurement, intern an internal variable, param a command or
// setpoint.
func meas(name string, get func() float64) variable { return variable{name: name, get: get} }
func intern(name string, get func() float64) variable {
	return variable{name: name, get: get, internal: true}
}
func param(name string, get func() float64, set func(float64)) variable {
	return variable{name: name, get: get, set: set}
}
func (v variable) as(legacy string) variable { v.legacy = legacy; return v }

// Unit kinds.
const (
	KindReception    = "reception"
	KindFeeder       = "feeder"
	KindBeltConveyor = "belt_conveyor"
	KindShredder     = "shredder"
	KindDepackager   = "depackager"
	KindPulper       = "pulper"
	KindPump         = "pump"
	KindScrewPress   = "screw_press"
	KindTank         = "tank"
)

// kindDef registers one kind of unit: how to build it, the names of the
// sample plant's units of this kind (whose roles keep their old names) and
// where its noise is drawn (lower first), so that the default layout draws
// its random numbers in the order it always did.
type kindDef struct {
	build       func(b unitBase) unitModel
	legacyNames []string
	noiseOrder  int
}

// kinds is the table kind → model. Each kind's file registers itself in
// its init function: adding a kind is adding a file.
var kinds = map[string]kindDef{}

func registerKind(kind string, k kindDef) {
	if _, dup := kinds[kind]; dup {
		panic("physics: kind " + kind + " registered twice")
	}
	kinds[kind] = k
}

// Kinds returns the unit kinds the model knows, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// buildUnits checks a layout and builds its units, linked and in
// topological order (upstream first; ties in layout order).
func (l *Line) buildUnits(layout []UnitSpec) error {
	if len(layout) == 0 {
		return fmt.Errorf("the layout has no units")
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	idx := map[string]int{}
	for i, s := range layout {
		switch _, known := kinds[s.Kind]; {
		case s.Name == "":
			bad("units[%d]: no name", i)
		case strings.ContainsAny(s.Name, ". \t"):
			bad("unit %q: a name may not contain dots or spaces", s.Name)
		case !known:
			bad("unit %q: kind %q is not known; allowed: %s", s.Name, s.Kind, strings.Join(Kinds(), ", "))
		}
		if _, dup := idx[s.Name]; dup && s.Name != "" {
			bad("unit %q: named twice", s.Name)
		}
		idx[s.Name] = i
	}
	feeders := func(s UnitSpec) []string {
		if s.Kind == KindPump {
			if s.Suction == "" {
				return nil
			}
			return []string{s.Suction}
		}
		return s.FedBy
	}
	for _, s := range layout {
		if s.Kind == KindPump && len(s.FedBy) > 0 {
			bad("unit %q: a pump is fed by the store it draws from: name it as Suction, not FedBy", s.Name)
		}
		if s.Kind != KindPump && s.Suction != "" {
			bad("unit %q: only a pump has a suction; name what feeds a %s in FedBy", s.Name, s.Kind)
		}
		seen := map[string]bool{}
		for _, f := range feeders(s) {
			switch _, ok := idx[f]; {
			case !ok:
				bad("unit %q: fed by %q, which is not in the layout", s.Name, f)
			case f == s.Name:
				bad("unit %q: feeds itself", s.Name)
			case seen[f]:
				bad("unit %q: fed by %q twice", s.Name, f)
			}
			seen[f] = true
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("layout: %s", strings.Join(errs, "; "))
	}

	// Topological order: repeatedly take, in layout order, the units whose
	// feeders are all placed.
	done := make([]bool, len(layout))
	var order []int
	for len(order) < len(layout) {
		progress := false
		for i, s := range layout {
			if done[i] {
				continue
			}
			ready := true
			for _, f := range feeders(s) {
				if !done[idx[f]] {
					ready = false
				}
			}
			if ready {
				done[i], progress = true, true
				order = append(order, i)
			}
		}
		if !progress {
			var cyc []string
			for i, s := range layout {
				if !done[i] {
					cyc = append(cyc, s.Name)
				}
			}
			return fmt.Errorf("layout: the units %s feed each other in a cycle; material must flow one way, from reception to discharge", strings.Join(cyc, ", "))
		}
	}

	l.byName = map[string]unitModel{}
	for n, i := range order {
		s := layout[i]
		k := kinds[s.Kind]
		b := unitBase{l: l, name: s.Name, kind: s.Kind, order: n, legacy: slices.Contains(k.legacyNames, s.Name)}
		u := k.build(b)
		l.units = append(l.units, u)
		l.byName[s.Name] = u
	}
	for _, i := range order {
		s := layout[i]
		u := l.byName[s.Name]
		for _, f := range feeders(s) {
			up := l.byName[f]
			u.base().up = append(u.base().up, up)
			up.base().down = append(up.base().down, u)
		}
	}
	for _, u := range l.units {
		b := u.base()
		_, isStore := u.(store)
		for _, up := range b.up {
			_, upStore := up.(store)
			_, recv := u.(receiver)
			switch {
			case upStore && !drawsFromStore(u):
				bad("unit %q (%s) is fed by %q, a %s that pushes nothing: put a feeder, belt conveyor or pump between them", b.name, b.kind, up.base().name, up.base().kind)
			case !upStore && !recv && !(b.kind == KindScrewPress && up.base().kind == KindPump):
				bad("unit %q (%s) cannot take what %q (%s) delivers", b.name, b.kind, up.base().name, up.base().kind)
			}
		}
		if isStore && b.kind != KindReception && len(b.up) == 0 {
			bad("unit %q (%s) is fed by no unit", b.name, b.kind)
		}
		if lk, ok := u.(linker); ok {
			if err := lk.link(); err != nil {
				bad("unit %q (%s): %v", b.name, b.kind, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("layout: %s", strings.Join(errs, "; "))
	}

	// Phases, in topological order; noise in each kind's noise order.
	for _, u := range l.units {
		if p, ok := u.(driver); ok {
			l.drivers = append(l.drivers, p)
		}
		if p, ok := u.(flower); ok {
			l.flowers = append(l.flowers, p)
		}
		if p, ok := u.(settler); ok {
			l.settlers = append(l.settlers, p)
		}
		if p, ok := u.(spiller); ok {
			l.spillers = append(l.spillers, p)
		}
		if p, ok := u.(meterer); ok {
			l.meterers = append(l.meterers, p)
		}
	}
	byNoise := slices.Clone(l.units)
	slices.SortStableFunc(byNoise, func(a, b unitModel) int {
		return kinds[a.base().kind].noiseOrder - kinds[b.base().kind].noiseOrder
	})
	for _, u := range byNoise {
		if p, ok := u.(noiser); ok {
			l.noisers = append(l.noisers, p)
		}
	}
	return l.buildRoles()
}

// drawsFromStore reports whether a unit of u's kind draws from a store
// upstream (a transport) rather than taking what is pushed into it.
func drawsFromStore(u unitModel) bool {
	switch u.base().kind {
	case KindFeeder, KindBeltConveyor, KindPump, KindScrewPress:
		return true
	}
	return false
}

// unitsOf returns the line's units of kind, upstream first.
func (l *Line) unitsOf(kind string) []unitModel {
	var out []unitModel
	for _, u := range l.units {
		if u.base().kind == kind {
			out = append(out, u)
		}
	}
	return out
}

// downstreamOf returns the first unit of kind reachable downstream of u
// (breadth first), or nil.
func downstreamOf(u unitModel, kind string) unitModel {
	seen := map[unitModel]bool{u: true}
	queue := slices.Clone(u.base().down)
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v] {
			continue
		}
		seen[v] = true
		if v.base().kind == kind {
			return v
		}
		queue = append(queue, v.base().down...)
	}
	return nil
}

// Units returns the layout the line was built with, in topological order
// (upstream first).
func (l *Line) Units() []UnitSpec {
	out := make([]UnitSpec, 0, len(l.units))
	for _, u := range l.units {
		b := u.base()
		s := UnitSpec{Name: b.name, Kind: b.kind}
		for _, up := range b.up {
			if b.kind == KindPump {
				s.Suction = up.base().name
			} else {
				s.FedBy = append(s.FedBy, up.base().name)
			}
		}
		out = append(out, s)
	}
	return out
}

// MassBalance is the line's balance since it was built, in kg: what came
// in (waste tipped, dilution water), what the units hold and what left
// the line (cake, rejects, filtrate pumped on or spilled, overflow or
// filtrate with nowhere to go), each as total and dry mass.
type MassBalance struct {
	In, InDry     float64
	Held, HeldDry float64
	Out, OutDry   float64
}

// Balance sums the units' balances. In − Held − Out is zero up to
// rounding, for any layout.
func (l *Line) Balance() MassBalance {
	var mb MassBalance
	for _, u := range l.units {
		held, in, out := u.mass()
		mb.In += in.m
		mb.InDry += in.d
		mb.Held += held.m
		mb.HeldDry += held.d
		mb.Out += out.m
		mb.OutDry += out.d
	}
	return mb
}
