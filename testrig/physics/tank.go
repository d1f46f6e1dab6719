package physics

// The tank: a store (the filtrate tank under the presses) that takes what
// the units upstream deliver and a pulper's overflow; pumps draw from it.
// Full, it spills to the drain (what spills leaves the line).

func init() {
	registerKind(KindTank, kindDef{
		build:       func(b unitBase) unitModel { return &tank{unitBase: b} },
		legacyNames: []string{"filtrate_tank"},
	})
}

type tank struct {
	unitBase
	in      compartment // kg received since New (filtrate and overflow)
	inSeen  compartment // in at the end of the last substep's settle
	content compartment // kg in the tank
	spilled compartment // kg spilled to the drain
}

func (t *tank) contents() *compartment { return &t.content }
func (t *tank) levelPct() float64      { return t.content.mass / filtrateTankKg * 100 }

// receive counts what arrives; the tank's content takes it in its settle
// phase, as the difference of the running totals.
func (t *tank) receive(m, d float64) {
	t.in.mass += m
	t.in.dry += d
}

func (t *tank) mass() (held, in, out massDry) {
	pending := massDry{t.in.mass - t.inSeen.mass, t.in.dry - t.inSeen.dry}
	return massDry{t.content.mass, t.content.dry}.add(pending), massDry{}, massDry{t.spilled.mass, t.spilled.dry}
}

func (t *tank) settle(float64) {
	t.content.mass += t.in.mass - t.inSeen.mass
	t.content.dry += t.in.dry - t.inSeen.dry
	t.inSeen = t.in
}

// spill: a full tank spills to the drain, after its pumps have drawn.
func (t *tank) spill(float64) {
	if t.content.mass > filtrateTankKg {
		excess := t.content.mass - filtrateTankKg
		dry := t.content.dry * excess / t.content.mass
		t.spilled.mass += excess
		t.spilled.dry += dry
		t.content.dry -= dry
		t.content.mass = filtrateTankKg
	}
}

func (t *tank) vars() []variable {
	return []variable{
		meas("level", t.levelPct).as("filtrate.level"),
		meas("in_total", func() float64 { return t.in.mass }).as("filtrate.total"),
		intern("in_dry_mass", func() float64 { return t.in.dry }).as("filtrate.dry_mass"),
		intern("mass", func() float64 { return t.content.mass }).as("filtrate.tank_mass"),
		intern("dry_mass", func() float64 { return t.content.dry }).as("-"),
		intern("spilled", func() float64 { return t.spilled.mass }).as("filtrate.spilled"),
	}
}
