package physics

import "math"

// The reception: trucks tip into a hopper on load cells while the door is
// open; an H2S monitor watches the hall. A store: feeders and belt
// conveyors draw from it.

func init() {
	registerKind(KindReception, kindDef{
		build:       func(b unitBase) unitModel { return &reception{unitBase: b, h2sBase: 0.8} },
		legacyNames: []string{"reception"},
		noiseOrder:  1,
	})
}

type reception struct {
	unitBase
	doorCmd     bool
	wasteIn     compartment // kg tipped since New
	hopper      compartment // kg
	hopperAgeS  float64     // mass-weighted storage age of the hopper's contents
	hopperNoise float64     // kg, current load-cell error
	h2sNoise    float64     // ppm, current deviation from the base level
	h2sBase     float64     // ppm
}

func (r *reception) contents() *compartment { return &r.hopper }
func (r *reception) levelPct() float64      { return 0 }

func (r *reception) mass() (held, in, out massDry) {
	return massDry{r.hopper.mass, r.hopper.dry}, massDry{r.wasteIn.mass, r.wasteIn.dry}, massDry{}
}

// flow: trucks tip while the door is open.
func (r *reception) flow(h float64) {
	if r.doorCmd {
		r.tip(doorFlowKgPerS * h)
	}
	if r.hopper.mass > 0 {
		r.hopperAgeS += h
	} else {
		r.hopperAgeS = 0
	}
}

// tip adds m kg of the current class to the hopper; the hopper's storage
// age is the mass-weighted mean of what it holds.
func (r *reception) tip(m float64) {
	if m <= 0 {
		return
	}
	d := m * r.l.props.DSPercent / 100
	r.hopperAgeS *= r.hopper.mass / (r.hopper.mass + m)
	r.wasteIn.mass += m
	r.wasteIn.dry += d
	r.hopper.mass += m
	r.hopper.dry += d
}

func (r *reception) noise() {
	r.h2sNoise = ou(r.l.rng, r.h2sNoise, 0, r.l.k.h2s, r.l.k.h2sNoise)
	r.hopperNoise = r.l.rng.NormFloat64() * loadCellNoiseKg
}

// h2s is the reception gas reading: a low base level, a little more while
// the door is open, and gas from the waste stored in the hopper that rises
// with its storage age and as the pH falls, plus noise.
func (r *reception) h2s() float64 {
	stored := 0.2 * r.hopper.mass / 1000 * (1 + r.hopperAgeS/h2sAgeS) * (1 + (pHMax - r.l.pH))
	v := r.h2sBase + stored + r.h2sNoise
	if r.doorCmd {
		v += 0.4
	}
	return math.Max(0, v)
}

func (r *reception) vars() []variable {
	return []variable{
		param("door_cmd", func() float64 { return b2f(r.doorCmd) }, func(v float64) { r.doorCmd = v != 0 }),
		meas("h2s", r.h2s),
		meas("weight", func() float64 { return r.hopper.mass + r.hopperNoise }).as("hopper.weight"),
		intern("mass", func() float64 { return r.hopper.mass }).as("hopper.mass"),
		intern("dry_mass", func() float64 { return r.hopper.dry }).as("hopper.dry_mass"),
		intern("age", func() float64 { return r.hopperAgeS }).as("hopper.age"),
		intern("waste_in", func() float64 { return r.wasteIn.mass }).as("waste_in.total"),
		intern("waste_in_dry", func() float64 { return r.wasteIn.dry }).as("waste_in.dry_mass"),
	}
}
