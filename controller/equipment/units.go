package equipment

import (
	"math"
	"time"
)

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
// needs the current and the back-pressure bound and the motor's FLA. With
// the cake analyser (cake_ds) bound it also holds the cake's dry solids at
// the recipe's cake_ds_target: a slow outer loop trims the back-pressure
// set-point around the recipe's press_back_pressure (more pressure, drier
// cake), within the plant's back_pressure_sp limits less a margin below
// the over-pressure alarm.
type pressUnit struct {
	*Press
	cakeDS   bool
	base     PressParams
	targetDS float64
	lo, hi   float64 // set-point range, bar
	trim     *PID    // bar added to the recipe's set-point
	last     time.Time
}

// Cake DS trim (est.): on the rig's press the cake gains about 2.8 % DS
// per bar at 3 bar; an integral-only trim of 0.2 bar per % per minute (no
// proportional kick on a noisy reading) settles in a few
// minutes without upsetting the fast back-pressure loop under it. The
// analyser sees cake only once the press has run a while: the trim waits
// cakeTrimDelay after each start, and ignores a reading more than
// cakeTrimBandPct from the target. cakeTrimHeadroomBar keeps the set-point
// below the plant's limit, clear of the over-pressure alarm.
var cakeTrimPI = PIDConfig{Kp: 0, Ki: 0.2 / 60, OutMin: -7, OutMax: 7, Action: ReverseActing, MaxStep: 5 * time.Second}

const (
	cakeTrimBandPct     = 8.0
	cakeTrimDelay       = 60 * time.Second
	cakeTrimHeadroomBar = 0.5
)

func newPressUnit(c UnitConfig) (Unit, error) {
	if !c.Bound("current") || !c.Bound("back_pressure") || c.FLA <= 0 {
		return nil, nil
	}
	lo, maxBar := 0.5, 7.0
	if lim, ok := c.Limits["back_pressure_sp"]; ok {
		lo, maxBar = lim[0], lim[1]
	}
	p, err := NewPress(PressConfig{Motor: MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout}, FLA: c.FLA, MaxPressureBar: maxBar + PressTripMarginBar},
		PressParams{BackPressureBar: 0, MaxCurrentPct: 95})
	if err != nil {
		return nil, err
	}
	u := &pressUnit{Press: p, cakeDS: c.Bound("cake_ds"), lo: lo, hi: math.Max(lo, maxBar-cakeTrimHeadroomBar)}
	if u.cakeDS {
		if u.trim, err = NewPID(cakeTrimPI); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (p *pressUnit) SetParamsFrom(param func(string) float64) {
	p.base, p.targetDS = PressParamsFrom(param), param("cake_ds_target")
	p.applyTrim()
}

// applyTrim puts the recipe's values, with the set-point trimmed, in force.
func (p *pressUnit) applyTrim() {
	q := p.base
	if p.trim != nil && q.BackPressureBar > 0 {
		// The integrator never winds past the set-point range.
		p.trim.SetLimits(p.lo-q.BackPressureBar, p.hi-q.BackPressureBar)
		q.BackPressureBar = math.Min(p.hi, math.Max(p.lo, q.BackPressureBar+p.trim.Output()))
	}
	_ = p.SetParams(q)
}

// SetpointBar is the back-pressure set-point in force (trim included).
func (p *pressUnit) SetpointBar() float64 { return p.Params().BackPressureBar }

func (p *pressUnit) StepUnit(now time.Time, io IO) UnitOutputs {
	if p.trim != nil {
		ds := io.Get("cake_ds")
		// A reading far from the target is no cake (an analyser with
		// nothing under it holds its last value or reads the bare
		// chute): the trim holds.
		plausible := ds.usable() && math.Abs(ds.Value-p.targetDS) <= cakeTrimBandPct
		if p.State() == Running && now.Sub(p.motor.Since()) >= cakeTrimDelay && plausible && p.targetDS > 0 {
			p.trim.Update(now, p.targetDS, ds.Value)
		} else {
			p.trim.Track(p.trim.Output()) // hold: the next start goes on from the trim it had
		}
		p.applyTrim()
	}
	out := p.Step(now, PressInputs{Motor: MotorInputs{Running: digital(io, "running")}, Current: io.Get("current"), BackPressure: io.Get("back_pressure")})
	st := p.State()
	valve := out.ConeValvePct
	if st == Faulted {
		valve = 0 // cone open
	}
	io.Set("cone_valve", valve)
	io.Set("back_pressure_sp", out.BackPressureSetpointBar)
	return UnitOutputs{Run: out.Motor.Run, Active: st.Active(), Faulted: st == Faulted}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
