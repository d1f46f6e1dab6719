package equipment

import (
	"fmt"
	"math"
	"time"
)

// PIDAction says which way the output moves when the measurement is off
// set-point.
type PIDAction uint8

// PID actions, in ISA terms.
const (
	// ReverseActing raises the output when the measurement is below
	// set-point (error = set-point − measurement): a cone valve that builds
	// back-pressure, a heater. The zero value.
	ReverseActing PIDAction = iota
	// DirectActing raises the output when the measurement is above
	// set-point (error = measurement − set-point): dilution water for a
	// slurry that is too dry, cooling.
	DirectActing
)

// String returns "reverse" or "direct".
func (a PIDAction) String() string {
	switch a {
	case ReverseActing:
		return "reverse"
	case DirectActing:
		return "direct"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// PIDConfig configures a PID controller in parallel form:
//
//	out = Kp·e + Ki·∫e dt − Kd·d(measurement)/dt (sign per Action)
//
// The derivative acts on the measurement, not the error, so a set-point
// change does not kick the output.
type PIDConfig struct {
	Kp float64 // output units per measurement unit
	Ki float64 // output units per (measurement unit · s); 0 = no integral
	Kd float64 // output units per (measurement unit / s); 0 = no derivative
	// DerivativeFilter is the time constant of a first-order filter on the
	// derivative term; 0 leaves it unfiltered. Measurements are noisy, so a
	// loop with Kd should set it (typically Kd/Kp/10).
	DerivativeFilter time.Duration
	OutMin, OutMax   float64 // output limits; the integrator never winds past them
	Action           PIDAction
	// MaxStep is the longest time integrated in one Update (default 1 s): a
	// scan that stalled must not dump its whole gap into the integrator.
	MaxStep time.Duration
}

func (c *PIDConfig) check() error {
	for _, v := range []float64{c.Kp, c.Ki, c.Kd, c.OutMin, c.OutMax} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: PID: gains and limits must be finite numbers", ErrInvalid)
		}
	}
	if c.Kp < 0 || c.Ki < 0 || c.Kd < 0 {
		return fmt.Errorf("%w: PID: gains must be ≥ 0 (the Action sets the sign); got Kp=%g Ki=%g Kd=%g", ErrInvalid, c.Kp, c.Ki, c.Kd)
	}
	if c.Kp == 0 && c.Ki == 0 && c.Kd == 0 {
		return fmt.Errorf("%w: PID: at least one of Kp, Ki, Kd must be > 0", ErrInvalid)
	}
	if c.OutMin >= c.OutMax {
		return fmt.Errorf("%w: PID: OutMin (%g) must be below OutMax (%g)", ErrInvalid, c.OutMin, c.OutMax)
	}
	if c.Action > DirectActing {
		return fmt.Errorf("%w: PID: unknown action %d", ErrInvalid, c.Action)
	}
	if c.DerivativeFilter < 0 || c.MaxStep < 0 {
		return fmt.Errorf("%w: PID: DerivativeFilter and MaxStep must be ≥ 0", ErrInvalid)
	}
	if c.MaxStep == 0 {
		c.MaxStep = time.Second
	}
	return nil
}

// PID is a PID (or PI, with Kd = 0) controller stepped with plant time.
//
// Anti-windup is by conditional integration: while the output is at a limit
// the integrator does not integrate further in that direction, and it is
// never integrated past the output limits, so the loop leaves saturation as
// soon as the error changes sign. Mode changes and Track are bumpless: the
// first automatic output after them equals the last output.
type PID struct {
	cfg      PIDConfig
	mode     ControlMode
	manual   float64 // operator output in ModeManual
	i        float64 // integral term, in output units
	d        float64 // filtered derivative term, in output units
	out      float64
	prevPV   float64
	last     time.Time
	primed   bool // prevPV and last hold a previous update
	bumpless bool // the next automatic update starts from out
}

// NewPID checks cfg and returns a controller in ModeAuto whose output starts
// at OutMin clamped to include 0 (so a valve starts shut, a trim at zero).
func NewPID(cfg PIDConfig) (*PID, error) {
	p := &PID{}
	if err := p.init(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PID) init(cfg PIDConfig) error {
	if err := cfg.check(); err != nil {
		return err
	}
	*p = PID{cfg: cfg}
	p.out = clamp(0, cfg.OutMin, cfg.OutMax)
	p.bumpless = true
	return nil
}

// Config returns the controller's configuration (limits as last set).
func (p *PID) Config() PIDConfig { return p.cfg }

// Update runs the controller at plant time now and returns the output. A
// NaN or infinite set-point or measurement leaves the output as it was: the
// caller is responsible for quality, this only keeps garbage out of the
// integrator.
func (p *PID) Update(now time.Time, setpoint, measurement float64) float64 {
	if math.IsNaN(setpoint) || math.IsInf(setpoint, 0) || math.IsNaN(measurement) || math.IsInf(measurement, 0) {
		return p.out
	}
	var dt float64
	if p.primed {
		dt = math.Min(math.Max(now.Sub(p.last).Seconds(), 0), p.cfg.MaxStep.Seconds())
	}
	sign := 1.0
	if p.cfg.Action == DirectActing {
		sign = -1
	}
	e := sign * (setpoint - measurement)
	switch {
	case !p.primed:
		p.d = 0
	case dt > 0 && p.cfg.Kd != 0:
		raw := -sign * p.cfg.Kd * (measurement - p.prevPV) / dt
		if tf := p.cfg.DerivativeFilter.Seconds(); tf > 0 {
			p.d += (raw - p.d) * dt / (tf + dt)
		} else {
			p.d = raw
		}
	}
	p.prevPV, p.last, p.primed = measurement, now, true
	prop := p.cfg.Kp * e

	switch {
	case p.mode == ModeManual:
		p.out = clamp(p.manual, p.cfg.OutMin, p.cfg.OutMax)
		p.bumpless = true
		return p.out
	case p.bumpless:
		// Start from the last output: the integrator takes up whatever the
		// proportional and derivative terms would add.
		p.i = p.out - prop - p.d
		p.bumpless = false
	case dt > 0 && p.cfg.Ki != 0:
		u := prop + p.i + p.d
		if (u >= p.cfg.OutMax && e > 0) || (u <= p.cfg.OutMin && e < 0) {
			break // saturated in the direction the error pushes: hold
		}
		ni := p.i + p.cfg.Ki*e*dt
		if ni > p.cfg.OutMax && ni > p.i {
			ni = math.Max(p.i, p.cfg.OutMax)
		}
		if ni < p.cfg.OutMin && ni < p.i {
			ni = math.Min(p.i, p.cfg.OutMin)
		}
		p.i = ni
	}
	p.out = clamp(prop+p.i+p.d, p.cfg.OutMin, p.cfg.OutMax)
	return p.out
}

// Output returns the last output.
func (p *PID) Output() float64 { return p.out }

// Integral returns the integral term, in output units (for tests and trends).
func (p *PID) Integral() float64 { return p.i }

// Mode returns the controller's mode.
func (p *PID) Mode() ControlMode { return p.mode }

// SetMode changes the mode without a bump: going to manual, the manual
// output starts at the current output; going to auto, control starts from it.
func (p *PID) SetMode(m ControlMode) {
	if m == p.mode {
		return
	}
	if m == ModeManual {
		p.manual = p.out
	}
	p.mode = m
	p.bumpless = true
}

// SetManual sets the output used in ModeManual (clamped to the limits).
// NaN is ignored.
func (p *PID) SetManual(out float64) {
	if !math.IsNaN(out) {
		p.manual = clamp(out, p.cfg.OutMin, p.cfg.OutMax)
	}
}

// Track makes the controller follow an output it does not own (the unit is
// stopped, or an override holds the actuator). The next automatic update
// starts from out without a bump, and does not integrate the time spent
// tracking.
func (p *PID) Track(out float64) {
	if math.IsNaN(out) {
		return
	}
	p.out = clamp(out, p.cfg.OutMin, p.cfg.OutMax)
	p.d, p.primed, p.bumpless = 0, false, true
}

// Restart forgets the integral and the last measurement: the next update
// acts on the whole error at once (proportional term, no bumpless start).
// For a trim whose measurement has just become trustworthy again, where
// the standing error is real and must be acted on, unlike Track.
func (p *PID) Restart() {
	p.i, p.d, p.primed, p.bumpless = 0, 0, false, false
	p.out = clamp(0, p.cfg.OutMin, p.cfg.OutMax)
}

// SetLimits changes the output limits, for loops whose room moves (a trim
// on top of a feed-forward). lo must be below hi; otherwise the call is
// ignored.
func (p *PID) SetLimits(lo, hi float64) {
	if !(lo < hi) {
		return
	}
	p.cfg.OutMin, p.cfg.OutMax = lo, hi
	p.out = clamp(p.out, lo, hi)
}
