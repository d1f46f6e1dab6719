package equipment

import "time"

// The shredder and the screw press as Units (unit.go): their modules read
// and write the unit's bound signals by role.

func init() {
	RegisterKind("shredder", newShredderUnit)
	RegisterKind("screw_press", newPressUnit)
}

// shredderUnit is a shredder with jam handling. It needs the current and
// the reverse command bound and the motor's FLA.
type shredderUnit struct{ *Shredder }

func newShredderUnit(c UnitConfig) (Unit, error) {
	if !c.Bound("reverse") || !c.Bound("current") || c.FLA <= 0 {
		return nil, nil
	}
	s, err := NewShredder(ShredderConfig{Motor: MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout, Reversible: true}, FLA: c.FLA}, DefaultShredderParams())
	if err != nil {
		return nil, err
	}
	return shredderUnit{s}, nil
}

func (s shredderUnit) SetParamsFrom(param func(string) float64) {
	_ = s.SetParams(ShredderParamsFrom(param))
}

func (s shredderUnit) StepUnit(now time.Time, io IO) UnitOutputs {
	out := s.Step(now, ShredderInputs{Motor: MotorInputs{Running: digital(io, "running")}, Current: io.Get("current")})
	run := out.Motor.Run
	io.Set("reverse", b2f(run && out.Motor.Direction == Reverse))
	st := s.State()
	return UnitOutputs{Run: run, Active: st != ShredderStopped && st != ShredderFaulted, Faulted: st == ShredderFaulted, HoldFeed: !out.FeedPermit}
}

// PressTripMarginBar is how far above the highest back-pressure set-point
// the plant allows (its back_pressure_sp limit) a press trips on
// over-pressure.
const PressTripMarginBar = 0.5

// pressUnit is a screw press with its back-pressure loop and trips. It
// needs the current and the back-pressure bound and the motor's FLA.
type pressUnit struct{ *Press }

func newPressUnit(c UnitConfig) (Unit, error) {
	if !c.Bound("current") || !c.Bound("back_pressure") || c.FLA <= 0 {
		return nil, nil
	}
	maxBar := 7.0
	if lim, ok := c.Limits["back_pressure_sp"]; ok {
		maxBar = lim[1]
	}
	p, err := NewPress(PressConfig{Motor: MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout}, FLA: c.FLA, MaxPressureBar: maxBar + PressTripMarginBar},
		PressParams{BackPressureBar: 0, MaxCurrentPct: 95})
	if err != nil {
		return nil, err
	}
	return pressUnit{p}, nil
}

func (p pressUnit) SetParamsFrom(param func(string) float64) { _ = p.SetParams(PressParamsFrom(param)) }

func (p pressUnit) StepUnit(now time.Time, io IO) UnitOutputs {
	out := p.Step(now, PressInputs{Motor: MotorInputs{Running: digital(io, "running")}, Current: io.Get("current"), BackPressure: io.Get("back_pressure")})
	st := p.State()
	valve := out.ConeValvePct
	if st == Faulted {
		valve = 0 // cone open
	}
	io.Set("cone_valve", valve)
	return UnitOutputs{Run: out.Motor.Run, Active: st.Active(), Faulted: st == Faulted}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
