package equipment

import (
	"fmt"
	"math"
	"time"
)

// ShredderConfig describes a shredder: its (reversible) motor and the plant
// figures that do not change with the recipe.
type ShredderConfig struct {
	// Motor is the shredder drive. It must be Reversible: jams are cleared
	// by running backwards.
	Motor MotorConfig
	// FLA is the motor's full-load current in amperes (the plant unit's
	// fla_a). Recipe current limits are percentages of it.
	FLA float64
	// StandstillTime is how long after a stop the shafts count as at rest
	// when there is no speed feedback (default 3 s, PROCESS.md).
	StandstillTime time.Duration
	// StandstillSpeed is the speed at or below which the shafts count as at
	// rest when the motor has speed feedback (default 0.5, in the speed
	// feedback's units).
	StandstillSpeed float64
	// StandstillTimeout faults the shredder when standstill is not reached
	// this long after a stop during a jam cycle (default 30 s): reversing
	// into turning shafts breaks things.
	StandstillTimeout time.Duration
	// FeedResumeFraction is where the feed resumes after a pause, as a
	// fraction of the pause current (default 0.8: "~20 % below").
	FeedResumeFraction float64
}

func (c *ShredderConfig) check() error {
	if err := c.Motor.check(); err != nil {
		return err
	}
	if !c.Motor.Reversible {
		return fmt.Errorf("%w: shredder %s: the motor must be Reversible to clear jams", ErrInvalid, c.Motor.Name)
	}
	if !(c.FLA > 0) || math.IsInf(c.FLA, 0) {
		return fmt.Errorf("%w: shredder %s: FLA must be > 0 A (the unit's fla_a)", ErrInvalid, c.Motor.Name)
	}
	if c.StandstillTime == 0 {
		c.StandstillTime = 3 * time.Second
	}
	if c.StandstillSpeed == 0 {
		c.StandstillSpeed = 0.5
	}
	if c.StandstillTimeout == 0 {
		c.StandstillTimeout = 30 * time.Second
	}
	if c.FeedResumeFraction == 0 {
		c.FeedResumeFraction = 0.8
	}
	switch {
	case c.StandstillTime < 0 || c.StandstillTimeout < c.StandstillTime:
		return fmt.Errorf("%w: shredder %s: need 0 < StandstillTime ≤ StandstillTimeout", ErrInvalid, c.Motor.Name)
	case c.StandstillSpeed < 0:
		return fmt.Errorf("%w: shredder %s: StandstillSpeed must be ≥ 0", ErrInvalid, c.Motor.Name)
	case !(c.FeedResumeFraction > 0 && c.FeedResumeFraction < 1):
		return fmt.Errorf("%w: shredder %s: FeedResumeFraction must be in (0, 1)", ErrInvalid, c.Motor.Name)
	}
	return nil
}

// maxReversalsCap bounds the reversal history (the recipe allows 1–5).
const maxReversalsCap = 16

// ShredderParams are the shredder's recipe parameters (PROCESS.md recipe
// table; names in ShredderParamsFrom).
type ShredderParams struct {
	JamCurrentPct       float64       // current that counts as a jam, % FLA
	JamConfirm          time.Duration // how long it must last
	InrushBlanking      time.Duration // current ignored after each start
	ReverseTime         time.Duration // reverse run to clear a jam
	MaxReversals        int           // reversals allowed inside ReversalWindow
	ReversalWindow      time.Duration // sliding window for MaxReversals
	FeedPauseCurrentPct float64       // current that pauses the feeder, % FLA
}

// DefaultShredderParams returns the catering recipe's values, the recipe
// schema's defaults.
func DefaultShredderParams() ShredderParams {
	return ShredderParams{
		JamCurrentPct: 110, JamConfirm: time.Second, InrushBlanking: 500 * time.Millisecond,
		ReverseTime: 3 * time.Second, MaxReversals: 3, ReversalWindow: time.Minute, FeedPauseCurrentPct: 85,
	}
}

// ShredderParamsFrom reads the parameters by their recipe names (seconds
// and %FLA as in the recipe), e.g. from the running batch's parameter
// lookup.
func ShredderParamsFrom(param func(name string) float64) ShredderParams {
	return ShredderParams{
		JamCurrentPct:       param("jam_current"),
		JamConfirm:          seconds(param("jam_confirm_time")),
		InrushBlanking:      seconds(param("inrush_blanking")),
		ReverseTime:         seconds(param("reverse_time")),
		MaxReversals:        int(math.Round(param("max_reversals"))),
		ReversalWindow:      seconds(param("reversal_window")),
		FeedPauseCurrentPct: param("feed_pause_current"),
	}
}

func (p ShredderParams) check(name string) error {
	switch {
	case !(p.JamCurrentPct > 0) || math.IsInf(p.JamCurrentPct, 0):
		return fmt.Errorf("%w: shredder %s: jam_current must be > 0 %%FLA", ErrInvalid, name)
	case !(p.FeedPauseCurrentPct > 0 && p.FeedPauseCurrentPct < p.JamCurrentPct):
		return fmt.Errorf("%w: shredder %s: feed_pause_current (%g %%FLA) must be > 0 and below jam_current (%g %%FLA)", ErrInvalid, name, p.FeedPauseCurrentPct, p.JamCurrentPct)
	case p.JamConfirm <= 0 || p.InrushBlanking < 0 || p.ReverseTime <= 0:
		return fmt.Errorf("%w: shredder %s: jam_confirm_time and reverse_time must be > 0, inrush_blanking ≥ 0", ErrInvalid, name)
	case p.MaxReversals < 1 || p.MaxReversals > maxReversalsCap:
		return fmt.Errorf("%w: shredder %s: max_reversals %d must be 1–%d", ErrInvalid, name, p.MaxReversals, maxReversalsCap)
	case p.ReversalWindow <= 0:
		return fmt.Errorf("%w: shredder %s: reversal_window must be > 0", ErrInvalid, name)
	}
	return nil
}

// ShredderInputs is what the plant tells the shredder each scan.
type ShredderInputs struct {
	Motor   MotorInputs
	Current Analog // motor current, A
}

// ShredderOutputs is what the shredder commands.
type ShredderOutputs struct {
	Motor MotorOutputs
	// FeedPermit: the feeder may feed now. False during start-up and inrush
	// blanking, a feed pause, a jam cycle, and whenever the shredder is not
	// running.
	FeedPermit bool
	// FeedPaused: the current is above the feed-pause level (or has not yet
	// fallen ~20 % below it).
	FeedPaused bool
	// StopUpstream: the shredder is stopped, stopping or faulted, so the
	// feeder and everything upstream must stop (not just pause). It stays
	// true after a Reset until the shredder runs again.
	StopUpstream bool
	// JamReversals is the number of reversals inside the reversal window.
	JamReversals int
}

// ShredderState is the shredder's state, the jam cycle included.
type ShredderState uint8

// Shredder states. A jam runs JamStopping → Reversing → ReverseStopping →
// Starting → Running.
const (
	ShredderStopped         ShredderState = iota // off; starts only on Start
	ShredderStarting                             // forward run commanded, waiting for feedback
	ShredderRunning                              // running forward
	ShredderJamStopping                          // jam confirmed: stopped, waiting for standstill
	ShredderReversing                            // running in reverse for the reverse time
	ShredderReverseStopping                      // reverse done: stopped, waiting for standstill
	ShredderStopping                             // commanded stop, waiting for standstill
	ShredderFaulted                              // latched until Reset
)

var shredderStateNames = [...]string{
	ShredderStopped: "stopped", ShredderStarting: "starting", ShredderRunning: "running",
	ShredderJamStopping: "jam_stopping", ShredderReversing: "reversing", ShredderReverseStopping: "reverse_stopping",
	ShredderStopping: "stopping", ShredderFaulted: "faulted",
}

// String returns the state's name as the API shows it.
func (s ShredderState) String() string {
	if int(s) < len(shredderStateNames) {
		return shredderStateNames[s]
	}
	return fmt.Sprintf("shredder_state(%d)", uint8(s))
}

// InJamCycle reports whether the shredder is clearing a jam.
func (s ShredderState) InJamCycle() bool {
	return s == ShredderJamStopping || s == ShredderReversing || s == ShredderReverseStopping
}

// Shredder is a twin-shaft shredder with jam handling as PROCESS.md
// describes: inrush blanking after each start (counted from the running
// feedback), feed pause and resume on current with hysteresis, jam
// detection with a confirm time, the stop–wait–reverse–stop–wait–forward
// cycle, and a fault needing Reset when it jams again after MaxReversals
// reversals inside the window. The one motor start it makes by itself is
// the reversal and the forward restart of that cycle, and only while the
// start it was given stands: a Stop, a bad input or a fault ends the cycle.
type Shredder struct {
	cfg   ShredderConfig
	p     ShredderParams
	motor Motor
	state ShredderState
	cause cause // why stopped/faulted at shredder level; the motor's otherwise

	now, stepAt time.Time // stepAt: when the current jam-cycle or stop step began
	// runAt is when the motor last confirmed running forward. Inrush
	// blanking counts from it, not from the command: the inrush follows the
	// motor being energised, which the feedback confirms, and a drive that
	// reports late must not have its inrush taken for a jam.
	runAt time.Time
	in    ShredderInputs

	feedPaused   bool
	overJam      bool
	overJamSince time.Time

	reversals [maxReversalsCap]time.Time // reversal times inside the window, oldest first
	nrev      int
	jams      uint64
	// reversed counts the reversals run to clear jams since start.
	reversed uint64

	perm [8]Permissive
}

// NewShredder checks cfg and p and returns a stopped shredder.
func NewShredder(cfg ShredderConfig, p ShredderParams) (*Shredder, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := p.check(cfg.Motor.Name); err != nil {
		return nil, err
	}
	s := &Shredder{cfg: cfg, p: p}
	if err := s.motor.init(cfg.Motor); err != nil {
		return nil, err
	}
	return s, nil
}

// SetParams applies new recipe parameters; they take effect at once, also
// while running. Invalid parameters are refused and the old ones kept.
func (s *Shredder) SetParams(p ShredderParams) error {
	if err := p.check(s.cfg.Motor.Name); err != nil {
		return err
	}
	s.p = p
	return nil
}

// Params returns the parameters in force.
func (s *Shredder) Params() ShredderParams { return s.p }

// State returns the shredder's state.
func (s *Shredder) State() ShredderState { return s.state }

// MotorState returns the state of the shredder's drive.
func (s *Shredder) MotorState() RunState { return s.motor.State() }

// Jams returns the number of jams confirmed since the controller started,
// for reports.
func (s *Shredder) Jams() uint64 { return s.jams }

// Reversals returns the number of reversals run to clear jams since the
// controller started, for reports.
func (s *Shredder) Reversals() uint64 { return s.reversed }

// JamReversals returns the reversals inside the window as of the last Step.
func (s *Shredder) JamReversals() int { return s.nrev }

// SetSpeed sets the speed reference (rpm), used forward and reverse.
func (s *Shredder) SetSpeed(rpm float64) { s.motor.SetSpeed(rpm) }

// Step runs one scan at plant time now and returns the outputs to write.
func (s *Shredder) Step(now time.Time, in ShredderInputs) ShredderOutputs {
	s.now, s.in = now, in
	s.motor.Step(now, in.Motor)
	s.pruneReversals(now)

	ms := s.motor.State()
	switch {
	case s.state == ShredderFaulted:
	case ms == Faulted:
		s.enter(ShredderFaulted, cause{}) // the motor's reason stands
	case s.state != ShredderStopped:
		if c, bad := s.badInput(); bad {
			// Without current (or feedback) a jam cannot be seen: off, with
			// the reason, and the jam cycle abandoned.
			s.motor.stopWith(c)
			s.enter(ShredderStopped, c)
		} else if ms == Stopped && (s.state == ShredderStarting || s.state == ShredderRunning || s.state == ShredderReversing) {
			s.enter(ShredderStopped, cause{}) // the motor stopped itself; its reason stands
		}
	}

	switch s.state {
	case ShredderStarting:
		if ms == Running {
			s.enter(ShredderRunning, cause{})
			s.runAt = now
		}
	case ShredderRunning:
		s.monitorCurrent(now)
	case ShredderJamStopping:
		if s.standstill(now) {
			if err := s.motor.Start(Reverse); err != nil {
				s.refused(err)
				break
			}
			s.enter(ShredderReversing, cause{code: causeJam})
			s.reversed++
		}
	case ShredderReversing:
		if now.Sub(s.stepAt) >= s.p.ReverseTime {
			s.motor.stopWith(cause{code: causeJam})
			s.enter(ShredderReverseStopping, cause{code: causeJam})
		}
	case ShredderReverseStopping:
		if s.standstill(now) {
			if err := s.motor.Start(Forward); err != nil {
				s.refused(err)
				break
			}
			s.startForward()
		}
	case ShredderStopping:
		if s.standstill(now) {
			s.state = ShredderStopped // keep the stop's cause
		}
	}
	return s.Outputs()
}

func (s *Shredder) enter(st ShredderState, c cause) {
	s.state, s.cause, s.stepAt = st, c, s.now
}

// refused handles an internal motor command the motor would not take: the
// jam cycle cannot go on, so the shredder stops with the motor's words.
func (s *Shredder) refused(err error) {
	c := cause{code: causeRefused, detail: "jam cycle stopped: " + err.Error()}
	s.motor.stopWith(c)
	s.enter(ShredderStopped, c)
}

func (s *Shredder) startForward() {
	s.enter(ShredderStarting, cause{})
	s.overJam, s.feedPaused = false, false
}

// badInput names the first input the shredder needs that is not good.
func (s *Shredder) badInput() (cause, bool) {
	if !s.in.Current.usable() {
		return badInput("current", s.in.Current.Quality), true
	}
	return s.motor.badInput()
}

// standstill reports whether the shafts are at rest after a stop: the motor
// reports stopped and either the speed feedback is about zero or, without
// speed feedback, StandstillTime has passed. Past StandstillTimeout it
// faults instead.
func (s *Shredder) standstill(now time.Time) bool {
	if s.motor.State() == Stopped {
		if s.cfg.Motor.HasSpeed {
			if math.Abs(s.in.Motor.Speed.Value) <= s.cfg.StandstillSpeed {
				return true
			}
		} else if now.Sub(s.stepAt) >= s.cfg.StandstillTime {
			return true
		}
	}
	if now.Sub(s.stepAt) >= s.cfg.StandstillTimeout {
		s.motor.faultWith(cause{code: causeNoStandstill, d: s.cfg.StandstillTimeout})
		s.enter(ShredderFaulted, cause{})
	}
	return false
}

// monitorCurrent runs feed pause and jam detection while running forward.
func (s *Shredder) monitorCurrent(now time.Time) {
	if now.Sub(s.runAt) < s.p.InrushBlanking {
		return
	}
	amps := s.in.Current.Value
	if amps > s.p.JamCurrentPct/100*s.cfg.FLA {
		if !s.overJam {
			s.overJam, s.overJamSince = true, now
		}
		if now.Sub(s.overJamSince) >= s.p.JamConfirm {
			s.jam(now)
			return
		}
	} else {
		s.overJam = false
	}
	pause := s.p.FeedPauseCurrentPct / 100 * s.cfg.FLA
	if amps > pause {
		s.feedPaused = true
	} else if amps < pause*s.cfg.FeedResumeFraction {
		s.feedPaused = false
	}
}

// jam handles a confirmed jam: reverse, or fault when MaxReversals
// reversals inside the window did not keep it clear.
func (s *Shredder) jam(now time.Time) {
	s.jams++
	s.overJam, s.feedPaused = false, false
	if s.nrev >= s.p.MaxReversals {
		s.motor.faultWith(cause{code: causeJamLimit, n: s.nrev, d: s.p.ReversalWindow})
		s.enter(ShredderFaulted, cause{})
		return
	}
	s.reversals[s.nrev] = now
	s.nrev++
	s.motor.stopWith(cause{code: causeJam})
	s.enter(ShredderJamStopping, cause{code: causeJam})
}

// pruneReversals drops reversals older than the window.
func (s *Shredder) pruneReversals(now time.Time) {
	drop := 0
	for drop < s.nrev && now.Sub(s.reversals[drop]) >= s.p.ReversalWindow {
		drop++
	}
	if drop > 0 {
		copy(s.reversals[:], s.reversals[drop:s.nrev])
		s.nrev -= drop
	}
}

// Outputs returns the commands as of the last Step or command.
func (s *Shredder) Outputs() ShredderOutputs {
	o := ShredderOutputs{Motor: s.motor.Outputs(), FeedPaused: s.feedPaused, JamReversals: s.nrev}
	o.FeedPermit = s.state == ShredderRunning && !s.feedPaused && s.now.Sub(s.runAt) >= s.p.InrushBlanking
	o.StopUpstream = s.state == ShredderStopped || s.state == ShredderStopping || s.state == ShredderFaulted
	return o
}

// Start runs the shredder forward. It is refused while faulted, while
// running down, and while a permissive is not met; it is a no-op while
// already running or clearing a jam.
func (s *Shredder) Start() error {
	switch s.state {
	case ShredderFaulted:
		return refuse(s.cfg.Motor.Name, "start", ErrFaulted, "faulted ("+s.Reason()+"); reset first")
	case ShredderStopping:
		return refuse(s.cfg.Motor.Name, "start", ErrNotPermitted, "still running down after a stop")
	case ShredderStopped:
	default:
		return nil
	}
	if p, unmet := firstUnmet(s.appendPermissives(s.perm[:0])); unmet {
		return refuse(s.cfg.Motor.Name, "start", ErrNotPermitted, p.Why)
	}
	if err := s.motor.Start(Forward); err != nil {
		return err
	}
	s.startForward()
	return nil
}

// Stop stops the shredder (also mid jam cycle); it is Stopped at standstill.
func (s *Shredder) Stop() { s.stopWith(cause{code: causeCommand}) }

// StopFor is Stop with the caller's reason (an interlock, a sequence step).
func (s *Shredder) StopFor(why string) { s.stopWith(cause{code: causeExternal, detail: why}) }

func (s *Shredder) stopWith(c cause) {
	if s.state == ShredderStopped || s.state == ShredderFaulted || s.state == ShredderStopping {
		return
	}
	s.motor.stopWith(c)
	s.enter(ShredderStopping, c)
	s.feedPaused, s.overJam = false, false
}

// Reset clears a fault once its cause is gone (refused while the overload
// or drive fault is still on). It also clears the reversal history: the
// operator has inspected and cleared the shredder. The shredder does not
// start; it waits for Start.
func (s *Shredder) Reset() error {
	if s.state != ShredderFaulted {
		return nil
	}
	if err := s.motor.Reset(); err != nil {
		return err
	}
	s.nrev = 0
	s.enter(ShredderStopped, cause{code: causeReset})
	if s.motor.State() == Stopping {
		s.state = ShredderStopping
	}
	return nil
}

func (s *Shredder) appendPermissives(dst []Permissive) []Permissive {
	p := Permissive{Name: "no_fault", Met: s.state != ShredderFaulted}
	if !p.Met {
		p.Why = "faulted (" + s.faultText() + "); reset first"
	}
	dst = append(dst, p)
	q := s.in.Current.Quality
	p = inputPermissive("current_good", "current", q)
	if p.Met && !s.in.Current.usable() {
		p = Permissive{Name: "current_good", Why: "input current is not a number"}
	}
	dst = append(dst, p)
	return appendMotorPermissives(dst, &s.motor)
}

// appendMotorPermissives appends a module's motor's start conditions except
// "no_fault", which the module states itself with its own fault text.
func appendMotorPermissives(dst []Permissive, m *Motor) []Permissive {
	n := len(dst)
	dst = m.appendPermissives(dst)
	out := dst[:n]
	for _, p := range dst[n:] {
		if p.Name != "no_fault" {
			out = append(out, p)
		}
	}
	return out
}

// Permissives returns every start condition with whether it is met, as of
// the last Step.
func (s *Shredder) Permissives() []Permissive { return s.appendPermissives(nil) }

func (s *Shredder) faultText() string {
	if s.cause.code != causeNone {
		return s.cause.String()
	}
	return s.motor.cause.String()
}

// Reason says why the shredder is stopped, faulted, not ready or clearing
// a jam; "" while it runs as commanded.
func (s *Shredder) Reason() string {
	switch s.state {
	case ShredderStarting, ShredderRunning:
		return ""
	case ShredderJamStopping, ShredderReversing, ShredderReverseStopping:
		return fmt.Sprintf("clearing a jam: reversal %d of %d allowed in %g s", s.nrev, s.p.MaxReversals, s.p.ReversalWindow.Seconds())
	case ShredderFaulted:
		return s.faultText()
	}
	c := s.cause
	if c.code == causeNone {
		c = s.motor.cause
	}
	return reasonWithPermissives(Stopped, c, s.Permissives())
}
