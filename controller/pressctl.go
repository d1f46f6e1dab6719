package controller

import (
	"fmt"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
)

// pressTripMarginBar is how far above the highest back-pressure set-point
// the plant allows (its back_pressure_sp limit) the press trips on
// over-pressure.
const pressTripMarginBar = 0.5

// pressControl connects the screw press's equipment module to the line:
// the sequence says whether the press should run; the module runs the
// motor, closes the back-pressure loop on the cone valve (when the plant
// binds cone_valve; otherwise the drive takes the set-point and runs its
// own loop) and trips on over-current (the recipe's press_max_current) and
// over-pressure (pressTripMarginBar above the plant's set-point limit).
type pressControl struct {
	mod                        *equipment.Press
	runningTag, currentTag     string
	backPressureTag, valveTag  string
	wasActive                  bool
	maxPressureBar, flaAmperes float64
}

// newPressControl returns nil when the plant does not bind the press's
// current and back-pressure: without them neither trip can be seen, and the
// line runs the press as a plain motor with a back-pressure set-point.
func newPressControl(cfg *plant.File, u *plant.Unit) (*pressControl, error) {
	if u.Signals["current"] == "" || u.Signals["back_pressure"] == "" || u.FLAA <= 0 {
		return nil, nil
	}
	maxBar := 7.0
	if lim, ok := u.Limits["back_pressure_sp"]; ok {
		maxBar = lim[1]
	}
	maxBar += pressTripMarginBar
	mc := equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime}
	mod, err := equipment.NewPress(equipment.PressConfig{Motor: mc, FLA: u.FLAA, MaxPressureBar: maxBar},
		equipment.PressParams{BackPressureBar: 0, MaxCurrentPct: 95})
	if err != nil {
		return nil, fmt.Errorf("press %s: %w", u.Name, err)
	}
	return &pressControl{mod: mod, runningTag: u.Signals["running"], currentTag: u.Signals["current"],
		backPressureTag: u.Signals["back_pressure"], valveTag: u.Signals["cone_valve"], maxPressureBar: maxBar, flaAmperes: u.FLAA}, nil
}

// setParams loads the batch's values in force (set-point, current limit);
// the line calls it every scan so that an operator's override takes effect
// at once. Values the module refuses leave the last good ones in force.
func (p *pressControl) setParams(param func(string) float64) {
	_ = p.mod.SetParams(equipment.PressParamsFrom(param))
}

// reset clears a latched press fault (the operator's unhold).
func (p *pressControl) reset() error { return p.mod.Reset() }

// step runs the module for one scan. want is whether the sequence (after
// interlocks) wants the press running. It returns the run command, the
// cone valve position (0 % open while the press does not run) and a fault
// description when the press tripped or stopped itself while wanted.
func (p *pressControl) step(now time.Time, in Inputs, want bool) (run bool, valvePct float64, fault string) {
	st := p.mod.State()
	switch {
	case want && st == equipment.Stopped:
		_ = p.mod.Start() // a refusal shows as not running; the sequence times out
	case !want && st.Active():
		p.mod.Stop()
	}
	var pin equipment.PressInputs
	if in != nil {
		v, q := in.Get(p.runningTag)
		pin.Motor.Running = equipment.Digital{On: v >= 0.5, Quality: q}
		c, cq := in.Get(p.currentTag)
		pin.Current = equipment.Analog{Value: c, Quality: cq}
		b, bq := in.Get(p.backPressureTag)
		pin.BackPressure = equipment.Analog{Value: b, Quality: bq}
	}
	out := p.mod.Step(now, pin)
	active := p.mod.State().Active()
	defer func() { p.wasActive = active }()
	switch {
	case p.mod.State() == equipment.Faulted:
		return false, 0, "faulted: " + p.mod.Reason()
	case want && p.wasActive && !active:
		return false, 0, "stopped: " + p.mod.Reason()
	}
	return out.Motor.Run, out.ConeValvePct, ""
}
