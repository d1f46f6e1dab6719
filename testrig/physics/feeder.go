package physics

// The feeder: a screw or belt feeder on a starter that meters waste from
// the store upstream (the reception hopper) into the unit it feeds at
// feederMaxKgPerS·speed_sp/100. The guard circuit of a shredder it feeds
// stops it with the shredder.

func init() {
	registerKind(KindFeeder, kindDef{
		// The feeder's starter has no start delay: it confirms running in
		// the substep it is commanded (as it always has in this model).
		build:       func(b unitBase) unitModel { return &feeder{unitBase: b} },
		legacyNames: []string{"feeder"},
	})
}

type feeder struct {
	unitBase
	motor   contactor
	sp      float64 // %
	kgPerS  float64
	src     *compartment
	guards  []*shredder // the shredders it feeds: their guard circuits
	outLost massDry     // fed with nothing downstream: left the line
}

func (f *feeder) link() error {
	if len(f.up) != 1 {
		return errOneFeeder
	}
	f.src = f.up[0].(store).contents()
	for _, d := range f.down {
		if s, ok := d.(*shredder); ok {
			f.guards = append(f.guards, s)
		}
	}
	return nil
}

func (f *feeder) mass() (held, in, out massDry) { return massDry{}, massDry{}, f.outLost }

func (f *feeder) permissive() bool {
	ok := f.l.estopOK
	for _, s := range f.guards {
		ok = ok && s.guardClosed
	}
	return ok
}

func (f *feeder) drives(h float64) { f.motor.update(h, f.permissive()) }

func (f *feeder) flow(h float64) {
	f.kgPerS = 0
	if f.motor.running {
		m, d := take(&f.src.mass, &f.src.dry, feederMaxKgPerS*f.sp/100*h)
		om, od := f.deliver(m, d)
		f.outLost.m += om
		f.outLost.d += od
		f.kgPerS = m / h
	}
}

func (f *feeder) vars() []variable {
	return []variable{
		param("run_cmd", func() float64 { return b2f(f.motor.runCmd) }, func(v float64) { f.motor.runCmd = v != 0 }),
		param("speed_sp", func() float64 { return f.sp }, func(v float64) { f.sp = clamp(v, 0, 100) }),
		meas("running", func() float64 { return b2f(f.motor.running) }),
		meas("fault", func() float64 { return b2f(f.motor.tripped) }),
		intern("flow", func() float64 { return f.kgPerS }),
	}
}
