package equipment

import (
	"fmt"
	"math"
	"time"
)

// DefaultBackPressurePID is the cone loop used when PressConfig.PID is
// zero: a PI tuned for a cone whose back-pressure follows the valve with a
// gain of about 0.07 bar/% and a lag of about 2 s (est.).
var DefaultBackPressurePID = PIDConfig{Kp: 5, Ki: 2.5, OutMin: 0, OutMax: 100, Action: ReverseActing}

// PressConfig describes a dewatering screw press.
type PressConfig struct {
	Motor MotorConfig
	// FLA is the motor's full-load current in amperes (the unit's fla_a).
	FLA float64
	// InrushBlanking: current ignored for this long after the motor
	// confirms running (default 1 s).
	InrushBlanking time.Duration
	// OverCurrentConfirm: how long the current must stay above the
	// recipe's press_max_current before the press trips (default 3 s).
	OverCurrentConfirm time.Duration
	// MaxPressureBar trips the press when the back-pressure stays above it
	// for OverPressureConfirm (default 1 s). Required: it protects the cone
	// and the screen; the recipe's set-point is at most 7 bar.
	MaxPressureBar      float64
	OverPressureConfirm time.Duration
	// PID drives the cone valve (0 % open … 100 % closed) to the
	// back-pressure set-point. Zero means DefaultBackPressurePID. Its
	// limits must lie within 0–100 %.
	PID PIDConfig
}

func (c *PressConfig) check() error {
	if err := c.Motor.check(); err != nil {
		return err
	}
	if c.InrushBlanking == 0 {
		c.InrushBlanking = time.Second
	}
	if c.OverCurrentConfirm == 0 {
		c.OverCurrentConfirm = 3 * time.Second
	}
	if c.OverPressureConfirm == 0 {
		c.OverPressureConfirm = time.Second
	}
	if c.PID == (PIDConfig{}) {
		c.PID = DefaultBackPressurePID
	}
	switch {
	case !(c.FLA > 0) || math.IsInf(c.FLA, 0):
		return fmt.Errorf("%w: press %s: FLA must be > 0 A (the unit's fla_a)", ErrInvalid, c.Motor.Name)
	case !(c.MaxPressureBar > 0) || math.IsInf(c.MaxPressureBar, 0):
		return fmt.Errorf("%w: press %s: MaxPressureBar must be > 0", ErrInvalid, c.Motor.Name)
	case c.InrushBlanking < 0 || c.OverCurrentConfirm < 0 || c.OverPressureConfirm < 0:
		return fmt.Errorf("%w: press %s: times must be ≥ 0", ErrInvalid, c.Motor.Name)
	case c.PID.OutMin < 0 || c.PID.OutMax > 100:
		return fmt.Errorf("%w: press %s: cone valve limits [%g, %g] must lie within 0–100 %%", ErrInvalid, c.Motor.Name, c.PID.OutMin, c.PID.OutMax)
	}
	return c.PID.check()
}

// PressParams are the press's recipe parameters.
type PressParams struct {
	SpeedRPM        float64 // press_speed
	BackPressureBar float64 // press_back_pressure
	MaxCurrentPct   float64 // press_max_current, % FLA
}

// PressParamsFrom reads the parameters by their recipe names.
func PressParamsFrom(param func(name string) float64) PressParams {
	return PressParams{
		SpeedRPM:        param("press_speed"),
		BackPressureBar: param("press_back_pressure"),
		MaxCurrentPct:   param("press_max_current"),
	}
}

func (p PressParams) check(name string, maxBar float64) error {
	switch {
	case !(p.SpeedRPM >= 0) || math.IsInf(p.SpeedRPM, 0):
		return fmt.Errorf("%w: press %s: press_speed must be ≥ 0 rpm", ErrInvalid, name)
	case !(p.BackPressureBar >= 0 && p.BackPressureBar < maxBar):
		return fmt.Errorf("%w: press %s: press_back_pressure %g bar must be ≥ 0 and below the trip level %g bar", ErrInvalid, name, p.BackPressureBar, maxBar)
	case !(p.MaxCurrentPct > 0) || math.IsInf(p.MaxCurrentPct, 0):
		return fmt.Errorf("%w: press %s: press_max_current must be > 0 %%FLA", ErrInvalid, name)
	}
	return nil
}

// PressInputs is what the plant tells the press each scan.
type PressInputs struct {
	Motor        MotorInputs
	Current      Analog // A
	BackPressure Analog // bar
}

// PressOutputs is what the press commands.
type PressOutputs struct {
	Motor MotorOutputs
	// ConeValvePct closes the cone: 0 % is fully open (no back-pressure,
	// the safe position), 100 % fully closed.
	ConeValvePct float64
	// BackPressureSetpointBar is the set-point in force, for plants whose
	// cone has its own pressure controller and takes a set-point instead.
	BackPressureSetpointBar float64
	// StopUpstream: the press is not running, so what feeds it must stop.
	StopUpstream bool
}

// Press is a dewatering screw press: speed reference, a back-pressure PID
// on the cone valve, and over-current and over-pressure trips that latch
// until Reset.
type Press struct {
	cfg   PressConfig
	p     PressParams
	motor Motor
	pid   PID
	now   time.Time
	in    PressInputs
	valve float64

	overI, overP           bool
	overISince, overPSince time.Time

	perm [10]Permissive
}

// NewPress checks cfg and p and returns a stopped press with the cone open.
func NewPress(cfg PressConfig, p PressParams) (*Press, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := p.check(cfg.Motor.Name, cfg.MaxPressureBar); err != nil {
		return nil, err
	}
	x := &Press{cfg: cfg}
	if err := x.motor.init(cfg.Motor); err != nil {
		return nil, err
	}
	if err := x.pid.init(cfg.PID); err != nil {
		return nil, err
	}
	x.apply(p)
	return x, nil
}

// SetParams applies new recipe parameters at once. Invalid parameters are
// refused and the old ones kept.
func (x *Press) SetParams(p PressParams) error {
	if err := p.check(x.cfg.Motor.Name, x.cfg.MaxPressureBar); err != nil {
		return err
	}
	x.apply(p)
	return nil
}

func (x *Press) apply(p PressParams) {
	x.p = p
	x.motor.SetSpeed(p.SpeedRPM)
}

// Params returns the parameters in force.
func (x *Press) Params() PressParams { return x.p }

// Step runs one scan at plant time now and returns the outputs to write.
func (x *Press) Step(now time.Time, in PressInputs) PressOutputs {
	x.now, x.in = now, in
	x.motor.Step(now, in.Motor)

	// Over-pressure is watched whatever the motor does: material can hold
	// the cone under pressure after a stop.
	if in.BackPressure.usable() && in.BackPressure.Value > x.cfg.MaxPressureBar {
		if !x.overP {
			x.overP, x.overPSince = true, now
		}
		if now.Sub(x.overPSince) >= x.cfg.OverPressureConfirm {
			x.motor.faultWith(cause{code: causeOverPressure, v: in.BackPressure.Value, limit: x.cfg.MaxPressureBar, d: x.cfg.OverPressureConfirm})
		}
	} else {
		x.overP = false
	}

	if x.motor.State().Active() {
		switch {
		case !in.Current.usable():
			x.motor.stopWith(badInput("current", in.Current.Quality))
		case !in.BackPressure.usable():
			x.motor.stopWith(badInput("back_pressure", in.BackPressure.Quality))
		default:
			x.watchCurrent(now)
		}
	}

	if x.motor.State() == Running {
		x.valve = x.pid.Update(now, x.p.BackPressureBar, in.BackPressure.Value)
	} else {
		// Stopped, starting or faulted: cone open, and the loop tracks it so
		// that the next start begins from open without a bump.
		x.valve = 0
		x.pid.Track(0)
		x.overI = false
	}
	return x.Outputs()
}

func (x *Press) watchCurrent(now time.Time) {
	if x.motor.State() != Running || now.Sub(x.motor.Since()) < x.cfg.InrushBlanking {
		x.overI = false
		return
	}
	limit := x.p.MaxCurrentPct / 100 * x.cfg.FLA
	if x.in.Current.Value <= limit {
		x.overI = false
		return
	}
	if !x.overI {
		x.overI, x.overISince = true, now
	}
	if now.Sub(x.overISince) >= x.cfg.OverCurrentConfirm {
		x.motor.faultWith(cause{code: causeOverCurrent, v: x.in.Current.Value, limit: limit, d: x.cfg.OverCurrentConfirm})
	}
}

// Outputs returns the commands as of the last Step or command.
func (x *Press) Outputs() PressOutputs {
	o := PressOutputs{Motor: x.motor.Outputs(), ConeValvePct: x.valve, BackPressureSetpointBar: x.p.BackPressureBar}
	if !x.motor.State().Active() {
		o.ConeValvePct = 0
	}
	o.StopUpstream = !x.motor.State().Active()
	return o
}

// Start starts the press. Refused while faulted, running down, or while a
// permissive is not met.
func (x *Press) Start() error {
	if x.motor.State() == Stopped {
		if u, unmet := firstUnmet(x.appendPermissives(x.perm[:0])); unmet {
			return refuse(x.cfg.Motor.Name, "start", ErrNotPermitted, u.Why)
		}
	}
	return x.motor.Start(Forward)
}

// Stop stops the press; the cone opens.
func (x *Press) Stop() { x.motor.Stop() }

// StopFor stops the press with the caller's reason.
func (x *Press) StopFor(why string) { x.motor.StopFor(why) }

// Reset clears a latched fault. Refused while the over-pressure, the
// overload or the drive fault is still present.
func (x *Press) Reset() error {
	if x.motor.State() != Faulted {
		return nil
	}
	if !x.in.BackPressure.usable() {
		return refuse(x.cfg.Motor.Name, "reset", ErrTripActive, fmt.Sprintf("back-pressure input is %s; cannot confirm the pressure has fallen", x.in.BackPressure.Quality))
	}
	if x.in.BackPressure.Value > x.cfg.MaxPressureBar {
		return refuse(x.cfg.Motor.Name, "reset", ErrTripActive, fmt.Sprintf("back-pressure %.2f bar still above the trip level %.2f bar", x.in.BackPressure.Value, x.cfg.MaxPressureBar))
	}
	if err := x.motor.Reset(); err != nil {
		return err
	}
	x.overP, x.overI = false, false
	return nil
}

// SetValveMode switches the cone loop between auto and manual without a
// bump.
func (x *Press) SetValveMode(m ControlMode) { x.pid.SetMode(m) }

// ValveMode returns the cone loop's mode.
func (x *Press) ValveMode() ControlMode { return x.pid.Mode() }

// SetValveManual sets the cone valve position used in manual (0–100 %).
// The cone is still opened whenever the press is not running.
func (x *Press) SetValveManual(pct float64) { x.pid.SetManual(pct) }

// State returns the press's state.
func (x *Press) State() RunState { return x.motor.State() }

func (x *Press) appendPermissives(dst []Permissive) []Permissive {
	dst = x.motor.appendPermissives(dst)
	for _, in := range [...]struct {
		name, input string
		a           Analog
	}{{"current_good", "current", x.in.Current}, {"back_pressure_good", "back_pressure", x.in.BackPressure}} {
		p := inputPermissive(in.name, in.input, in.a.Quality)
		if p.Met && !in.a.usable() {
			p = Permissive{Name: in.name, Why: "input " + in.input + " is not a number"}
		}
		dst = append(dst, p)
	}
	p := Permissive{Name: "back_pressure_below_trip", Met: !x.in.BackPressure.usable() || x.in.BackPressure.Value <= x.cfg.MaxPressureBar}
	if !p.Met {
		p.Why = fmt.Sprintf("back-pressure %.2f bar above the trip level %.2f bar", x.in.BackPressure.Value, x.cfg.MaxPressureBar)
	}
	return append(dst, p)
}

// Permissives returns every start condition with whether it is met, as of
// the last Step.
func (x *Press) Permissives() []Permissive { return x.appendPermissives(nil) }

// Reason says why the press is stopped, faulted or not ready; "" while it
// runs as commanded.
func (x *Press) Reason() string {
	return reasonWithPermissives(x.motor.State(), x.motor.cause, x.Permissives())
}
