package equipment

import (
	"fmt"
	"math"
	"time"
)

// MotorConfig describes one motor and its starter or VFD.
type MotorConfig struct {
	Name string // unit name, used in refusals
	// StartTimeout is how long a started motor may take to report running
	// before it faults as failed to start (PROCESS.md: units confirm within
	// 2–5 s; the sample plant allows 10 s). Required.
	StartTimeout time.Duration
	// StopTimeout is how long the running feedback may stay on after the
	// run command is removed before the motor faults as failed to stop (a
	// welded contactor, a drive in local). 0 disables the check.
	StopTimeout time.Duration
	// Reversible motors accept Start(Reverse).
	Reversible bool
	// HasOverload, HasDriveFault and HasSpeed say which of the optional
	// inputs are wired; an input that is not wired is ignored, one that is
	// wired must be good for the motor to run.
	HasOverload, HasDriveFault, HasSpeed bool
	// MinSpeed and MaxSpeed bound the speed reference (engineering units,
	// e.g. rpm). Both 0: a fixed-speed motor, reference always 0.
	MinSpeed, MaxSpeed float64
}

func (c *MotorConfig) check() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: motor: Name is required", ErrInvalid)
	case c.StartTimeout <= 0:
		return fmt.Errorf("%w: motor %s: StartTimeout must be > 0", ErrInvalid, c.Name)
	case c.StopTimeout < 0:
		return fmt.Errorf("%w: motor %s: StopTimeout must be ≥ 0", ErrInvalid, c.Name)
	case math.IsNaN(c.MinSpeed) || math.IsNaN(c.MaxSpeed) || c.MinSpeed < 0 || c.MaxSpeed < c.MinSpeed:
		return fmt.Errorf("%w: motor %s: speed range [%g, %g] must satisfy 0 ≤ MinSpeed ≤ MaxSpeed", ErrInvalid, c.Name, c.MinSpeed, c.MaxSpeed)
	}
	return nil
}

// MotorInputs is what the plant tells the motor module each scan.
type MotorInputs struct {
	Running    Digital // running feedback (contactor auxiliary or drive status)
	Overload   Digital // On: overload relay tripped (if HasOverload)
	DriveFault Digital // On: the VFD reports a fault (if HasDriveFault)
	Speed      Analog  // actual speed, same units as the reference (if HasSpeed)
}

// MotorOutputs is what the motor module commands.
type MotorOutputs struct {
	Run       bool      // run command to the starter or drive
	Direction Direction // valid while Run
	SpeedRef  float64   // speed reference; 0 while not running
}

// Motor is a motor with a starter or VFD: start, stop, forward/reverse,
// speed reference, running feedback with failed-to-start and failed-to-stop
// timeouts, and overload and drive-fault trips that latch until Reset.
type Motor struct {
	cfg      MotorConfig
	state    RunState
	cause    cause
	dir      Direction
	speedRef float64
	since    time.Time // when state was entered (plant time)
	now      time.Time
	in       MotorInputs
	perm     [6]Permissive // scratch for Start, so the success path does not allocate
}

// NewMotor checks cfg and returns a stopped motor.
func NewMotor(cfg MotorConfig) (*Motor, error) {
	m := &Motor{}
	if err := m.init(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Motor) init(cfg MotorConfig) error {
	if err := cfg.check(); err != nil {
		return err
	}
	*m = Motor{cfg: cfg, cause: cause{code: causePowerUp}}
	return nil
}

// Name returns the motor's unit name.
func (m *Motor) Name() string { return m.cfg.Name }

// State returns the motor's state.
func (m *Motor) State() RunState { return m.state }

// Direction returns the direction last started in.
func (m *Motor) Direction() Direction { return m.dir }

// Since returns the plant time the current state was entered.
func (m *Motor) Since() time.Time { return m.since }

func (m *Motor) enter(s RunState, c cause) {
	m.state, m.cause, m.since = s, c, m.now
}

// Step runs one scan at plant time now with the plant's inputs and returns
// the outputs to write.
func (m *Motor) Step(now time.Time, in MotorInputs) MotorOutputs {
	m.now, m.in = now, in
	if m.state != Faulted {
		if c, tripped := m.tripped(); tripped {
			m.enter(Faulted, c)
		}
	}
	if m.state != Faulted && m.state != Stopped {
		// Feedback we cannot read means a start cannot be confirmed and a
		// stop cannot be seen: drop the command, say why, never restart.
		if c, bad := m.badInput(); bad {
			m.enter(Stopped, c)
		}
	}
	switch m.state {
	case Starting:
		if in.Running.On {
			m.enter(Running, cause{})
		} else if now.Sub(m.since) >= m.cfg.StartTimeout {
			m.enter(Faulted, cause{code: causeFailedToStart, d: m.cfg.StartTimeout})
		}
	case Running:
		if !in.Running.On {
			m.enter(Faulted, cause{code: causeFeedbackLost})
		}
	case Stopping:
		if !in.Running.On {
			m.enter(Stopped, m.cause)
		} else if m.cfg.StopTimeout > 0 && now.Sub(m.since) >= m.cfg.StopTimeout {
			m.enter(Faulted, cause{code: causeFailedToStop, d: m.cfg.StopTimeout})
		}
	case Stopped:
		// Turning without our command (coasting after inputs came back, a
		// drive in local): watch it run down, keeping the reason it stopped.
		if in.Running.Quality.Good() && in.Running.On {
			m.state, m.since = Stopping, now
		}
	}
	return m.Outputs()
}

// Outputs returns the commands as of the last Step or command.
func (m *Motor) Outputs() MotorOutputs {
	if !m.state.Active() {
		return MotorOutputs{Direction: m.dir}
	}
	return MotorOutputs{Run: true, Direction: m.dir, SpeedRef: m.speedRef}
}

// tripped reports a trip input that is good and on. A trip input whose
// quality is bad is not a trip (it cannot be seen) but a bad input.
func (m *Motor) tripped() (cause, bool) {
	if m.cfg.HasOverload && m.in.Overload.Quality.Good() && m.in.Overload.On {
		return cause{code: causeOverload}, true
	}
	if m.cfg.HasDriveFault && m.in.DriveFault.Quality.Good() && m.in.DriveFault.On {
		return cause{code: causeDriveFault}, true
	}
	return cause{}, false
}

// badInput names the first wired input whose quality is not good.
func (m *Motor) badInput() (cause, bool) {
	switch {
	case !m.in.Running.Quality.Good():
		return badInput("running", m.in.Running.Quality), true
	case m.cfg.HasOverload && !m.in.Overload.Quality.Good():
		return badInput("overload", m.in.Overload.Quality), true
	case m.cfg.HasDriveFault && !m.in.DriveFault.Quality.Good():
		return badInput("drive_fault", m.in.DriveFault.Quality), true
	case m.cfg.HasSpeed && !m.in.Speed.usable():
		return badInput("speed", m.in.Speed.Quality), true
	}
	return cause{}, false
}

// Start commands the motor on in dir. It is refused while faulted, while
// still running down, in the other direction while running, and while a
// permissive is not met. Starting an already started motor in the same
// direction is a no-op.
func (m *Motor) Start(dir Direction) error {
	switch m.state {
	case Faulted:
		return refuse(m.cfg.Name, "start", ErrFaulted, "faulted ("+m.cause.String()+"); reset first")
	case Starting, Running:
		if dir == m.dir {
			return nil
		}
		return refuse(m.cfg.Name, "start", ErrNotPermitted, "running "+m.dir.String()+"; stop and wait for standstill before changing direction")
	case Stopping:
		return refuse(m.cfg.Name, "start", ErrNotPermitted, "still running down after a stop")
	}
	if dir != Forward && !(dir == Reverse && m.cfg.Reversible) {
		return refuse(m.cfg.Name, "start", ErrNotPermitted, "cannot run "+dir.String())
	}
	if p, unmet := firstUnmet(m.appendPermissives(m.perm[:0])); unmet {
		return refuse(m.cfg.Name, "start", ErrNotPermitted, p.Why)
	}
	m.dir = dir
	m.enter(Starting, cause{})
	return nil
}

// Stop removes the run command; the motor is Stopped once the running
// feedback drops.
func (m *Motor) Stop() { m.stopWith(cause{code: causeCommand}) }

// StopFor is Stop with the caller's reason (an interlock, a sequence step),
// which Reason then reports. why should be a constant or prebuilt string:
// the scan must not allocate to stop a motor.
func (m *Motor) StopFor(why string) { m.stopWith(cause{code: causeExternal, detail: why}) }

func (m *Motor) stopWith(c cause) {
	if m.state.Active() {
		m.enter(Stopping, c)
	}
}

// faultWith latches a fault for the owning module's own trip (jam limit,
// press over-current): the motor is off and needs Reset.
func (m *Motor) faultWith(c cause) {
	if m.state != Faulted {
		m.enter(Faulted, c)
	}
}

// Reset clears a latched fault. It is refused while a trip input is still
// on or cannot be read. The motor does not start: it is Stopped (or
// Stopping while the feedback is still on) until the next Start.
func (m *Motor) Reset() error {
	if m.state != Faulted {
		return nil
	}
	if why := m.tripActive(); why != "" {
		return refuse(m.cfg.Name, "reset", ErrTripActive, why)
	}
	m.clearFault()
	return nil
}

// tripActive says why a reset cannot be accepted now, or "".
func (m *Motor) tripActive() string {
	if m.cfg.HasOverload {
		if !m.in.Overload.Quality.Good() {
			return fmt.Sprintf("overload input is %s; cannot confirm the relay has reset", m.in.Overload.Quality)
		}
		if m.in.Overload.On {
			return "overload relay still tripped"
		}
	}
	if m.cfg.HasDriveFault {
		if !m.in.DriveFault.Quality.Good() {
			return fmt.Sprintf("drive fault input is %s; cannot confirm the drive fault has cleared", m.in.DriveFault.Quality)
		}
		if m.in.DriveFault.On {
			return "drive still reports a fault"
		}
	}
	return ""
}

func (m *Motor) clearFault() {
	if m.in.Running.Quality.Good() && m.in.Running.On {
		m.enter(Stopping, cause{code: causeReset})
		return
	}
	m.enter(Stopped, cause{code: causeReset})
}

// SetSpeed sets the speed reference, clamped to [MinSpeed, MaxSpeed]; NaN is
// ignored. It applies at once if running (a VFD ramps on its own).
func (m *Motor) SetSpeed(ref float64) {
	if math.IsNaN(ref) || m.cfg.MaxSpeed == 0 {
		return
	}
	m.speedRef = clamp(ref, m.cfg.MinSpeed, m.cfg.MaxSpeed)
}

// SpeedRef returns the speed reference set (whether or not running).
func (m *Motor) SpeedRef() float64 { return m.speedRef }

// appendPermissives appends the motor's start conditions to dst. Met
// conditions carry no text, so the steady state does not allocate.
func (m *Motor) appendPermissives(dst []Permissive) []Permissive {
	p := Permissive{Name: "no_fault", Met: m.state != Faulted}
	if !p.Met {
		p.Why = "faulted (" + m.cause.String() + "); reset first"
	}
	dst = append(dst, p)
	p = Permissive{Name: "at_rest", Met: m.state != Stopping}
	if !p.Met {
		p.Why = "still running down after a stop"
	}
	dst = append(dst, p)
	dst = append(dst, inputPermissive("running_feedback_good", "running", m.in.Running.Quality))
	if m.cfg.HasOverload {
		p = inputPermissive("overload_healthy", "overload", m.in.Overload.Quality)
		if p.Met && m.in.Overload.On {
			p = Permissive{Name: "overload_healthy", Why: "overload relay tripped"}
		}
		dst = append(dst, p)
	}
	if m.cfg.HasDriveFault {
		p = inputPermissive("drive_healthy", "drive_fault", m.in.DriveFault.Quality)
		if p.Met && m.in.DriveFault.On {
			p = Permissive{Name: "drive_healthy", Why: "drive reports a fault"}
		}
		dst = append(dst, p)
	}
	if m.cfg.HasSpeed {
		q := m.in.Speed.Quality
		p = inputPermissive("speed_feedback_good", "speed", q)
		if p.Met && !m.in.Speed.usable() {
			p = Permissive{Name: "speed_feedback_good", Why: "input speed is not a number"}
		}
		dst = append(dst, p)
	}
	return dst
}

// Permissives returns every start condition with whether it is met, as of
// the last Step. Before the first Step every input counts as never
// received, so nothing may start.
func (m *Motor) Permissives() []Permissive { return m.appendPermissives(nil) }

// Reason says why the motor is stopped, stopping or faulted, and for a
// stopped motor what keeps it from starting; "" while it runs as commanded.
func (m *Motor) Reason() string { return reasonWithPermissives(m.state, m.cause, m.Permissives()) }

func reasonWithPermissives(s RunState, c cause, ps []Permissive) string {
	switch s {
	case Starting, Running:
		return ""
	case Stopped:
		r := c.String()
		if nr := unmetText(ps, r); nr != "" {
			if r != "" {
				r += "; "
			}
			r += "not ready: " + nr
		}
		return r
	}
	return c.String()
}
