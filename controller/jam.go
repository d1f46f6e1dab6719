package controller

import (
	"fmt"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
)

// jamControl connects the shredder's equipment module to the line: the
// sequence says whether the shredder should run; the module decides the
// run and reverse outputs (jam cycle) and whether the feeder may feed.
type jamControl struct {
	mod                              *equipment.Shredder
	runningTag, currentTag, speedTag string
	reverseTag                       string
	hasSpeed                         bool
}

// newJamControl returns nil when the plant does not bind the shredder's
// reverse and current signals: without them no jam can be cleared, and the
// line runs the shredder as a plain motor.
func newJamControl(cfg *plant.File, u *plant.Unit) (*jamControl, error) {
	if u.Signals["reverse"] == "" || u.Signals["current"] == "" || u.FLAA <= 0 {
		return nil, nil
	}
	mc := equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime, Reversible: true}
	mod, err := equipment.NewShredder(equipment.ShredderConfig{Motor: mc, FLA: u.FLAA}, equipment.DefaultShredderParams())
	if err != nil {
		return nil, fmt.Errorf("shredder %s: %w", u.Name, err)
	}
	return &jamControl{mod: mod, runningTag: u.Signals["running"], currentTag: u.Signals["current"], reverseTag: u.Signals["reverse"]}, nil
}

// setParams loads a batch's recipe values (jam current, confirm time,
// reversal limit…).
func (j *jamControl) setParams(param func(string) float64) {
	_ = j.mod.SetParams(equipment.ShredderParamsFrom(param))
}

// reset clears a latched shredder fault (the operator's unhold).
func (j *jamControl) reset() error { return j.mod.Reset() }

// step runs the module for one scan. want is whether the sequence (after
// interlocks) wants the shredder running. It returns the outputs, whether
// the feeder may feed, and a fault description when the shredder faulted.
func (j *jamControl) step(now time.Time, in Inputs, want bool) (run, reverse, feedOK bool, fault string) {
	st := j.mod.State()
	switch {
	case want && st == equipment.ShredderStopped:
		_ = j.mod.Start() // a refusal shows as not running; the sequence times out
	case !want && st != equipment.ShredderStopped && st != equipment.ShredderFaulted:
		j.mod.Stop()
	}
	var rin equipment.ShredderInputs
	if in != nil {
		v, q := in.Get(j.runningTag)
		rin.Motor.Running = equipment.Digital{On: v >= 0.5, Quality: q}
		c, cq := in.Get(j.currentTag)
		rin.Current = equipment.Analog{Value: c, Quality: cq}
	}
	out := j.mod.Step(now, rin)
	run = out.Motor.Run
	reverse = run && out.Motor.Direction == equipment.Reverse
	if j.mod.State() == equipment.ShredderFaulted {
		return false, false, false, "faulted: " + j.mod.Reason()
	}
	return run, reverse, out.FeedPermit || !want, ""
}
