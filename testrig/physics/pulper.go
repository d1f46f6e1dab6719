package physics

// The pulper: a mixing tank that takes what the units upstream deliver and
// dilution water, and holds it until a press or pump draws it (a store).
// What rises above its weir spills to the first tank downstream (the
// filtrate sump), or leaves the line if there is none. The DS analyser
// reads its dry over total mass.

func init() {
	registerKind(KindPulper, kindDef{
		build:       func(b unitBase) unitModel { return &pulper{unitBase: b, mixer: contactor{startDelayS: startDelayS}} },
		legacyNames: []string{"pulper"},
	})
}

type pulper struct {
	unitBase
	mixer       contactor
	waterCmd    bool
	waterSP     float64 // kg/s
	waterStuck  float64 // kg/s; > 0: the valve is stuck open at this flow
	waterKgPerS float64
	waterTotal  float64 // kg
	slurry      compartment
	overflow    float64  // kg spilled over the weir
	sump        receiver // where the overflow goes; nil: it leaves the line
	outLost     massDry
}

func (p *pulper) link() error {
	if t := downstreamOf(p, KindTank); t != nil {
		p.sump = t.(receiver)
	}
	return nil
}

func (p *pulper) contents() *compartment { return &p.slurry }
func (p *pulper) levelPct() float64      { return p.slurry.mass / pulperFullKg * 100 }

func (p *pulper) receive(m, d float64) {
	p.slurry.mass += m
	p.slurry.dry += d
}

func (p *pulper) mass() (held, in, out massDry) {
	return massDry{p.slurry.mass, p.slurry.dry}, massDry{p.waterTotal, 0}, p.outLost
}

func (p *pulper) drives(h float64) { p.mixer.update(h, p.l.estopOK) }

// flow: dilution water. A valve stuck open passes its flow whatever it is
// told and whatever the e-stop says: it is a fault of the valve.
func (p *pulper) flow(h float64) {
	waterTarget := 0.0
	switch {
	case p.waterStuck > 0:
		waterTarget = p.waterStuck
	case p.waterCmd && p.l.estopOK:
		waterTarget = p.waterSP
	}
	p.waterKgPerS = relax(p.waterKgPerS, waterTarget, p.l.k.water)
	w := p.waterKgPerS * h
	p.waterTotal += w
	p.slurry.mass += w
}

// settle: the weir, after the presses have drawn.
func (p *pulper) settle(float64) {
	if p.slurry.mass > pulperOverflowKg {
		m, d := take(&p.slurry.mass, &p.slurry.dry, p.slurry.mass-pulperOverflowKg)
		p.overflow += m
		if p.sump != nil {
			p.sump.receive(m, d)
		} else {
			p.outLost.m += m
			p.outLost.d += d
		}
	}
}

// ds is the DS analyser reading: dry over total mass in %, 0 when empty.
func (p *pulper) ds() float64 {
	if p.slurry.mass <= 0 {
		return 0
	}
	return p.slurry.dry / p.slurry.mass * 100
}

func (p *pulper) vars() []variable {
	return []variable{
		param("mixer_cmd", func() float64 { return b2f(p.mixer.runCmd) }, func(v float64) { p.mixer.runCmd = v != 0 }),
		param("water_cmd", func() float64 { return b2f(p.waterCmd) }, func(v float64) { p.waterCmd = v != 0 }),
		param("water_flow_sp", func() float64 { return p.waterSP }, func(v float64) { p.waterSP = clamp(v, 0, 20) }),
		meas("mixer_running", func() float64 { return b2f(p.mixer.running) }),
		meas("mixer_fault", func() float64 { return b2f(p.mixer.tripped) }),
		meas("water_flow", func() float64 { return p.waterKgPerS }),
		meas("water_total", func() float64 { return p.waterTotal }),
		meas("ds", p.ds),
		meas("ph", func() float64 { return p.l.pH }),
		meas("level", p.levelPct),
		intern("mass", func() float64 { return p.slurry.mass }),
		intern("dry_mass", func() float64 { return p.slurry.dry }),
		intern("overflow", func() float64 { return p.overflow }),
	}
}
