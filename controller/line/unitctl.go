package line

import (
	"maps"
	"slices"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
)

// unitControl is the one adapter between an equipment module
// (equipment.Unit, whatever its kind) and the line: the sequence says
// whether the unit should run; the module decides its run command and its
// other outputs (a shredder's reverse, a press's cone valve), whether what
// feeds it may feed, and when it has faulted.
type unitControl struct {
	mod       equipment.Unit
	io        tagIO
	wasActive bool
	last      equipment.UnitOutputs
	// outputs are the tags of the outputs the module writes besides the
	// run command (its writable signals the line does not write itself);
	// their safe value is 0 (reverse off, cone open).
	outputs []string
}

// lineRoles are the signals the line writes itself, not the module.
var lineRoles = map[string]bool{"run": true, "speed_sp": true, "water": true, "water_flow_sp": true, "door": true, "suction_level": true}

// tagIO binds a unit's signal roles to the scan's inputs and outputs, and
// carries the values only the line knows (a pulper's dilution request and
// feed rate, a pump's drain request) as roles of their own.
type tagIO struct {
	signals map[string]string // role → tag
	values  map[string]float64
	in      Inputs
	out     map[string]float64
}

// set gives the module a value of the line's under a role of its own.
func (t *tagIO) set(role string, v float64) { t.values[role] = v }

func (t *tagIO) Get(signal string) equipment.Analog {
	if v, ok := t.values[signal]; ok {
		return equipment.Analog{Value: v, Quality: drivers.QualityGood}
	}
	tag, ok := t.signals[signal]
	if !ok || t.in == nil {
		return equipment.Analog{Quality: drivers.QualityBadConfigError}
	}
	v, q := t.in.Get(tag)
	return equipment.Analog{Value: v, Quality: q}
}

func (t *tagIO) Set(signal string, v float64) {
	if tag, ok := t.signals[signal]; ok {
		t.out[tag] = v
	}
}

// newUnitControl builds a unit's module (equipment.NewUnit), or returns
// nil when its kind has none or the plant binds too little for it: the line
// then runs it as a plain motor.
//
// extra binds roles beyond the unit's own signals (a pump's suction_level);
// levels are the thresholds it works to (a pulper's own, a pump's suction's).
func newUnitControl(cfg *plant.File, u *plant.Unit, outputs map[string]float64, extra map[string]string, levels map[string]float64) (*unitControl, error) {
	signals := maps.Clone(u.Signals)
	maps.Copy(signals, extra)
	uc := equipment.UnitConfig{Name: u.Name, FLA: u.FLAA, StartTimeout: cfg.StartConfirmTime, Limits: u.Limits,
		Levels: levels, LevelSP: u.LevelSP, MinLevel: u.MinLevel}
	for role := range signals {
		uc.Signals = append(uc.Signals, role)
	}
	mod, err := equipment.NewUnit(u.Kind, uc)
	if err != nil || mod == nil {
		return nil, err
	}
	c := &unitControl{mod: mod, io: tagIO{signals: signals, values: map[string]float64{}, out: outputs}}
	for _, role := range slices.Sorted(maps.Keys(u.Signals)) {
		if _, p := cfg.Point(u.Signals[role]); p != nil && p.Access.Writable() && !lineRoles[role] {
			c.outputs = append(c.outputs, u.Signals[role])
		}
	}
	return c, nil
}

// setParams loads the batch's values in force; the line calls it every
// scan so that an operator's override takes effect at once.
func (c *unitControl) setParams(param func(string) float64) {
	if p, ok := c.mod.(equipment.Parameterised); ok {
		p.SetParamsFrom(param)
	}
}

// step runs the module for one scan. want is whether the sequence (after
// interlocks) wants the unit running. It returns the run command, whether
// what feeds it may feed, and a fault description when the unit faulted
// or stopped itself while wanted.
func (c *unitControl) step(now time.Time, in Inputs, want bool) (run, feedOK bool, fault string) {
	if want && !c.wasActive {
		_ = c.mod.Start() // a refusal shows as not running; the sequence times out
	}
	if !want && c.wasActive {
		c.mod.Stop()
	}
	c.io.in = in
	out := c.mod.StepUnit(now, &c.io)
	c.last = out
	defer func() { c.wasActive = out.Active }()
	// A fault is the line's to act on (it drops the unit and what only
	// feeds it): it holds no feed of its own.
	switch {
	case out.Faulted:
		return false, true, "faulted: " + c.mod.Reason()
	case want && c.wasActive && !out.Active:
		return false, true, "stopped: " + c.mod.Reason()
	}
	return out.Run, !out.HoldFeed || !want, ""
}

// reset clears a latched fault (the operator's unhold or reset).
func (c *unitControl) reset() error { return c.mod.Reset() }
