package equipment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Analog is one measured value as the scan saw it: engineering units after
// scale and offset, with the quality the driver gave it.
type Analog struct {
	Value   float64
	Quality drivers.Quality
}

// GoodAnalog returns a value of good quality, for tests and for values the
// controller computes itself.
func GoodAnalog(v float64) Analog { return Analog{Value: v, Quality: drivers.QualityGood} }

// usable reports whether the value may be used: good quality and a finite
// number (a NaN from a broken conversion must never reach a comparison).
func (a Analog) usable() bool {
	return a.Quality.Good() && !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0)
}

// Digital is one binary input with its quality. For trip inputs On means
// "tripped"; fail-safe (normally closed) wiring is inverted in the plant
// file's point mapping, not here.
type Digital struct {
	On      bool
	Quality drivers.Quality
}

// GoodDigital returns a binary value of good quality.
func GoodDigital(on bool) Digital { return Digital{On: on, Quality: drivers.QualityGood} }

// Direction is the direction a motor turns.
type Direction uint8

// Directions. Forward is the zero value: the normal working direction.
const (
	Forward Direction = iota
	Reverse
)

// String returns "forward" or "reverse".
func (d Direction) String() string {
	switch d {
	case Forward:
		return "forward"
	case Reverse:
		return "reverse"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// RunState is the state of a motor and of the modules built on one motor
// (press, pump, pulper mixer).
type RunState uint8

// Run states. Only Starting and Running command the motor on.
const (
	Stopped  RunState = iota // off; starts only on a Start command
	Starting                 // run commanded, waiting for running feedback
	Running                  // run commanded and confirmed by feedback
	Stopping                 // run removed, waiting for the feedback to drop
	Faulted                  // off and latched until Reset
)

var runStateNames = [...]string{Stopped: "stopped", Starting: "starting", Running: "running", Stopping: "stopping", Faulted: "faulted"}

// String returns the state's name as the API shows it.
func (s RunState) String() string {
	if int(s) < len(runStateNames) {
		return runStateNames[s]
	}
	return fmt.Sprintf("run_state(%d)", uint8(s))
}

// Active reports whether the state commands the motor on.
func (s RunState) Active() bool { return s == Starting || s == Running }

// ControlMode is a control loop's mode.
type ControlMode uint8

// Control modes. Auto is the zero value: a loop controls unless an operator
// takes it to manual.
const (
	ModeAuto   ControlMode = iota // the loop computes the output
	ModeManual                    // the operator sets the output; the loop tracks it
)

// String returns "auto" or "manual".
func (m ControlMode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeManual:
		return "manual"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Sentinel errors a *Refusal wraps, so callers decide with errors.Is.
var (
	// ErrFaulted: the module holds a latched fault; Reset it first.
	ErrFaulted = errors.New("faulted")
	// ErrNotPermitted: a permissive is not met; the command may succeed
	// later without operator action on the module itself.
	ErrNotPermitted = errors.New("not permitted")
	// ErrTripActive: Reset refused because the trip condition is still
	// present (or cannot be seen because its input is bad).
	ErrTripActive = errors.New("trip still active")
	// ErrInvalid: a configuration or parameter set is out of range.
	ErrInvalid = errors.New("invalid")
)

// Refusal is the error a command returns when the module will not obey it.
// Its message is meant for the operator: it names the unit, the command and
// the reason.
type Refusal struct {
	Unit    string // the module's name
	Command string // "start", "reset", …
	Reason  string // why, in words
	Kind    error  // ErrFaulted, ErrNotPermitted or ErrTripActive
}

// Error renders "unit: command refused: reason".
func (r *Refusal) Error() string {
	return r.Unit + ": " + r.Command + " refused: " + r.Reason
}

// Unwrap returns the refusal's kind for errors.Is.
func (r *Refusal) Unwrap() error { return r.Kind }

func refuse(unit, command string, kind error, reason string) error {
	return &Refusal{Unit: unit, Command: command, Reason: reason, Kind: kind}
}

// Permissive is one condition a module needs before it may start. The API
// answers "why can this unit not start" with the unmet ones.
type Permissive struct {
	Name string // stable identifier, e.g. "overload_healthy"
	Met  bool
	Why  string // when not met: why, in words; empty when met
}

// String renders the permissive for people.
func (p Permissive) String() string {
	if p.Met {
		return p.Name + ": met"
	}
	return p.Name + ": " + p.Why
}

// firstUnmet returns the first permissive not met.
func firstUnmet(ps []Permissive) (Permissive, bool) {
	for _, p := range ps {
		if !p.Met {
			return p, true
		}
	}
	return Permissive{}, false
}

// unmetText joins the unmet permissives' reasons, leaving out one that
// repeats skip (the reason the module already gives).
func unmetText(ps []Permissive, skip string) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Met || p.Why == skip {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Why)
	}
	return b.String()
}

// inputPermissive builds the permissive "input is good" without allocating
// when it is met, which is the steady state.
func inputPermissive(name, input string, q drivers.Quality) Permissive {
	if q.Good() {
		return Permissive{Name: name, Met: true}
	}
	return Permissive{Name: name, Why: fmt.Sprintf("input %s is %s", input, q)}
}

// causeCode names why a module is where it is. Causes are values with
// static text and a few numbers, formatted only when someone asks, so that
// recording one in Step never allocates.
type causeCode uint8

const (
	causeNone          causeCode = iota
	causePowerUp                 // never started since the controller started
	causeCommand                 // an operator or the sequence stopped it
	causeExternal                // stopped by the caller with its own reason (detail)
	causeReset                   // a fault was reset; waits for a start
	causeBadInput                // input (input) has quality (q)
	causeOverload                // overload relay tripped
	causeDriveFault              // the drive reports a fault
	causeFailedToStart           // no running feedback within (d)
	causeFeedbackLost            // running feedback dropped while running
	causeFailedToStop            // running feedback still on (d) after stop
	causeJam                     // stopped to clear a jam
	causeJamLimit                // (n) reversals in the window (d) and jammed again
	causeNoStandstill            // no standstill within (d)
	causeRefused                 // an internal command was refused (detail)
	causeOverCurrent             // current (v) above (limit) for (d)
	causeOverPressure            // pressure (v) above (limit) for (d)
	causeDryRun                  // suction tank at low-low
	causeLowLevel                // level (v) below the minimum (limit)
	causeHighHigh                // level (v) at or above high-high (limit)
	causeDilutionOff             // dilution not enabled
	causeMixerStopped            // dilution waits for the mixer
)

type cause struct {
	code     causeCode
	input    string // static input name for causeBadInput
	q        drivers.Quality
	n        int
	d        time.Duration
	v, limit float64
	detail   string
}

func badInput(input string, q drivers.Quality) cause {
	return cause{code: causeBadInput, input: input, q: q}
}

// String renders the cause for people.
func (c cause) String() string {
	switch c.code {
	case causeNone:
		return ""
	case causePowerUp:
		return "not started since the controller started"
	case causeCommand:
		return "stopped by command"
	case causeExternal, causeRefused:
		return c.detail
	case causeReset:
		return "fault reset; waiting for a start command"
	case causeBadInput:
		return fmt.Sprintf("input %s is %s", c.input, c.q)
	case causeOverload:
		return "overload relay tripped"
	case causeDriveFault:
		return "drive reports a fault"
	case causeFailedToStart:
		return fmt.Sprintf("failed to start: no running feedback within %s", c.d)
	case causeFeedbackLost:
		return "running feedback lost while running"
	case causeFailedToStop:
		return fmt.Sprintf("failed to stop: running feedback still on %s after the stop command", c.d)
	case causeJam:
		return "stopped to clear a jam"
	case causeJamLimit:
		return fmt.Sprintf("jam: %d reversals in %g s", c.n, c.d.Seconds())
	case causeNoStandstill:
		return fmt.Sprintf("no standstill within %s of the stop", c.d)
	case causeOverCurrent:
		return fmt.Sprintf("over-current: %.1f A above the limit of %.1f A for %s", c.v, c.limit, c.d)
	case causeOverPressure:
		return fmt.Sprintf("over-pressure: %.2f bar above the limit of %.2f bar for %s", c.v, c.limit, c.d)
	case causeDryRun:
		return "dry-run protection: suction tank at low-low level"
	case causeLowLevel:
		return fmt.Sprintf("level %.1f %% is below the minimum of %.1f %%", c.v, c.limit)
	case causeHighHigh:
		return fmt.Sprintf("level %.1f %% is at or above high-high (%.1f %%)", c.v, c.limit)
	case causeDilutionOff:
		return "dilution is off"
	case causeMixerStopped:
		return "the mixer is not running"
	}
	return fmt.Sprintf("cause(%d)", uint8(c.code))
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
