package equipment

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Unit is what every equipment module with a motor offers the line,
// whatever its kind: the line starts and stops it, steps it once per scan
// on the unit's bound signals, resets it, and asks it why it is not running.
// Each kind's file adapts its module to this interface and registers a
// constructor (RegisterKind), so that adding a kind is one file here.
type Unit interface {
	// Start asks the unit to run; a refusal says why (*Refusal).
	Start() error
	// Stop removes the run command.
	Stop()
	// Reset clears a latched fault; refused while its cause is present.
	Reset() error
	// Reason says why the unit is stopped, faulted or not ready.
	Reason() string
	// Permissives lists the conditions a start needs, met or not.
	Permissives() []Permissive
	// StepUnit runs one scan at plant time now on the unit's signals and
	// returns what it commands; outputs other than the run command (a
	// reverse command, a valve position) it sets through io.
	StepUnit(now time.Time, io IO) UnitOutputs
}

// Parameterised is a Unit that takes the running batch's recipe values
// (a shredder's jam limits, a press's back-pressure set-point).
type Parameterised interface {
	SetParamsFrom(param func(name string) float64)
}

// UnitOutputs is what a Unit commands for one scan.
type UnitOutputs struct {
	// Run is the motor's run command.
	Run bool
	// Active: the unit is started (starting or running).
	Active bool
	// Faulted: the unit has latched a fault; Reason says which.
	Faulted bool
	// HoldFeed: what feeds the unit must not feed now (a shredder's
	// inrush, feed pause or jam cycle).
	HoldFeed bool
}

// IO gives a unit its bound signals by role ("running", "current",
// "reverse", …). A role the plant does not bind reads as bad quality
// (QualityBadConfigError) and takes no writes.
type IO interface {
	Get(signal string) Analog
	Set(signal string, v float64)
}

// UnitConfig is what the plant file says of one unit.
type UnitConfig struct {
	Name string
	// FLA is the motor's full-load current, A (0: not given).
	FLA float64
	// StartTimeout is how long a start may wait for running feedback.
	StartTimeout time.Duration
	// Signals are the roles the plant binds to tags.
	Signals []string
	// Limits are the unit's set-point limits, [min, max] by signal.
	Limits map[string][2]float64
	// Levels are level thresholds in % (low_low, low, high, high_high): a
	// pulper's own; a transfer pump's, those of the tank it draws from.
	Levels map[string]float64
	// LevelSP and MinLevel make a pump a feed pump on level control (%).
	LevelSP, MinLevel float64
}

// Bound reports whether the plant binds the signal role.
func (c UnitConfig) Bound(signal string) bool { return slices.Contains(c.Signals, signal) }

// KindConstructor builds a kind's module for a unit. It returns nil and no
// error when the plant binds too little for the module (a shredder without
// current or reverse): the line then runs the unit as a plain motor.
type KindConstructor func(UnitConfig) (Unit, error)

var kindConstructors = map[string]KindConstructor{}

// RegisterKind makes a kind's constructor known; each kind's file calls it
// from init. It panics on a kind registered twice (a programming error).
func RegisterKind(kind string, c KindConstructor) {
	if _, dup := kindConstructors[kind]; dup {
		panic("equipment: kind " + kind + " registered twice")
	}
	kindConstructors[kind] = c
}

// NewUnit builds the module of a unit of kind, or returns nil when the kind
// has no module or the plant binds too little for it.
func NewUnit(kind string, cfg UnitConfig) (Unit, error) {
	c, ok := kindConstructors[kind]
	if !ok {
		return nil, nil
	}
	u, err := c(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, cfg.Name, err)
	}
	return u, nil
}

// Kinds lists the kinds with a module, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kindConstructors))
	for k := range kindConstructors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// digital reads a binary role (on at 0.5 and above).
func digital(io IO, signal string) Digital {
	a := io.Get(signal)
	return Digital{On: a.Value >= 0.5, Quality: a.Quality}
}

// notBound is the value of a role the plant does not bind.
var notBound = Analog{Quality: drivers.QualityBadConfigError}
