package physics

import (
	"fmt"
	"slices"
	"strings"
)

// BackPressureControl says what sets the press's cone back-pressure. It is
// a property of the plant (which equipment the plant file maps), not a
// command: package testrig chooses it when it builds a rig.
type BackPressureControl int

// Back-pressure control modes. Values other than these act as
// BackPressureFromSetpoint.
const (
	// BackPressureFromSetpoint (the default): the cone has its own
	// pneumatic pressure regulator. press.back_pressure follows
	// press.back_pressure_sp through the 2 s pneumatic lag whatever the
	// screw does; press.cone_valve is ignored.
	BackPressureFromSetpoint BackPressureControl = iota
	// BackPressureFromValve: the controller positions the cone valve
	// (press.cone_valve, 0 % fully open: no back-pressure … 100 % fully
	// closed) and closes the pressure loop itself. press.back_pressure
	// relaxes through the same lag towards a pressure that grows with the
	// valve and with how full the screw runs (coneBarPerPct,
	// coneEmptyFactor, coneMaxBar); press.back_pressure_sp is ignored.
	BackPressureFromValve
)

// String returns the mode's name in the rig's status: "setpoint" or
// "cone_valve".
func (c BackPressureControl) String() string {
	if c == BackPressureFromValve {
		return "cone_valve"
	}
	return "setpoint"
}

// FiltratePumpControl says what starts and stops the filtrate tank's
// transfer pump. Like BackPressureControl it describes the plant, and
// package testrig chooses it when it builds a rig.
type FiltratePumpControl int

// Filtrate pump control modes. Values other than these act as
// FiltratePumpFloats.
const (
	// FiltratePumpFloats (the default): the pump runs on its own float
	// switches, on at 70 % level and off at 20 %; filtrate.pump_cmd is
	// ignored.
	FiltratePumpFloats FiltratePumpControl = iota
	// FiltratePumpCommanded: the pump is on a starter under the
	// controller's command (filtrate.pump_cmd). Like the mixer and the
	// feeder it confirms running 1 s after the command, the e-stop stops
	// it, and after an e-stop or a failure (SetFiltratePumpFailed) it
	// starts again only once the command has dropped and come back. It
	// pumps whatever the level: run on an empty tank it runs dry
	// (filtrate.pump_dry_run_s counts the seconds).
	FiltratePumpCommanded
)

// String returns the mode's name in the rig's status: "floats" or
// "commanded".
func (c FiltratePumpControl) String() string {
	if c == FiltratePumpCommanded {
		return "commanded"
	}
	return "floats"
}

// PressFeedControl says how slurry gets from the pulper to the press. Like
// BackPressureControl it describes the plant, and package testrig chooses
// it when it builds a rig.
type PressFeedControl int

// Press feed modes. Values other than these act as PressFeedDirect.
const (
	// PressFeedDirect (the default): the press draws slurry straight from
	// the pulper at its full capacity for its speed and back-pressure
	// whenever the screw turns, so the pulper holds next to nothing while
	// the press runs. The press_feed.* commands are stored and read back
	// but change nothing; press_feed.running, press_feed.flow and
	// press_feed.dry_run_s stay 0.
	PressFeedDirect PressFeedControl = iota
	// PressFeedPump: a VFD-driven progressive-cavity pump feeds the press
	// under the controller's command (press_feed.run_cmd,
	// press_feed.speed_sp in %). It confirms running 1 s after the
	// command, the e-stop stops it, and after an e-stop it starts again
	// only once the command has dropped and come back. Running, it
	// delivers pressFeedMaxKgPerS·speed/100; the press takes at most its
	// capacity of that and the rest recirculates to the pulper, and with
	// the screw stopped everything recirculates. press_feed.flow is what
	// reaches the press. Run on a pulper below 1 % level it runs dry
	// (press_feed.dry_run_s counts the seconds).
	PressFeedPump
)

// String returns the mode's name in the rig's status: "direct" or "pump".
func (c PressFeedControl) String() string {
	if c == PressFeedPump {
		return "pump"
	}
	return "direct"
}

// Roles whose mapping on a writable point tells package testrig to run the
// model in BackPressureFromValve, FiltratePumpCommanded and PressFeedPump.
const (
	RoleConeValve       = "press.cone_valve"
	RoleFiltratePumpCmd = "filtrate.pump_cmd"
	RolePressFeedRunCmd = "press_feed.run_cmd"
)

// SetBackPressureControl sets what drives every press's cone back-pressure
// from now on (see BackPressureControl). The back-pressure moves from
// where it is towards the new mode's target through the pneumatic lag.
func (l *Line) SetBackPressureControl(c BackPressureControl) {
	for _, u := range l.unitsOf(KindScrewPress) {
		u.(*press).backPressureBy = c
	}
}

// SetBackPressureControlOf sets the cone control of the press named unit.
func (l *Line) SetBackPressureControlOf(unit string, c BackPressureControl) error {
	u, ok := l.unit(unit, KindScrewPress)
	if !ok {
		return fmt.Errorf("unit %q is not a screw press; allowed: %s", unit, l.namesOf(KindScrewPress))
	}
	u.(*press).backPressureBy = c
	return nil
}

// BackPressureControl returns what drives the first press's cone
// back-pressure (BackPressureFromSetpoint on a line without a press).
func (l *Line) BackPressureControl() BackPressureControl {
	if u := l.first(KindScrewPress); u != nil {
		return u.(*press).backPressureBy
	}
	return BackPressureFromSetpoint
}

// transferPumps and feedPumps return the pumps that feed no press and
// those that do.
func (l *Line) pumps(feeding bool) []*pump {
	var out []*pump
	for _, u := range l.unitsOf(KindPump) {
		if p := u.(*pump); (p.press != nil) == feeding {
			out = append(out, p)
		}
	}
	return out
}

// SetFiltratePumpControl sets what starts and stops every transfer pump
// (a pump that feeds no press) from now on (see FiltratePumpControl). A
// pump that switches to commanded control stops at once and starts after
// the start delay if it is commanded; one that switches to its floats
// follows them at the next substep.
func (l *Line) SetFiltratePumpControl(c FiltratePumpControl) {
	for _, p := range l.pumps(false) {
		p.setPumpControl(c)
	}
}

// SetFiltratePumpControlOf sets the control of the transfer pump named unit.
func (l *Line) SetFiltratePumpControlOf(unit string, c FiltratePumpControl) error {
	u, ok := l.unit(unit, KindPump)
	if !ok || u.(*pump).press != nil {
		return fmt.Errorf("unit %q is not a transfer pump (a pump that feeds no press)", unit)
	}
	u.(*pump).setPumpControl(c)
	return nil
}

// FiltratePumpControl returns what starts and stops the first transfer
// pump.
func (l *Line) FiltratePumpControl() FiltratePumpControl {
	if ps := l.pumps(false); len(ps) > 0 {
		return ps[0].pumpBy
	}
	return FiltratePumpFloats
}

// SetPressFeedControl sets how every press with a feed pump is fed from
// now on (see PressFeedControl). The feed pumps stop at once either way;
// under PressFeedPump they start after the start delay if commanded.
func (l *Line) SetPressFeedControl(c PressFeedControl) {
	for _, p := range l.pumps(true) {
		p.setFeedControl(c)
	}
}

// SetPressFeedControlOf sets the mode of the feed pump named unit.
func (l *Line) SetPressFeedControlOf(unit string, c PressFeedControl) error {
	u, ok := l.unit(unit, KindPump)
	if !ok || u.(*pump).press == nil {
		return fmt.Errorf("unit %q is not a pump feeding a screw press", unit)
	}
	u.(*pump).setFeedControl(c)
	return nil
}

// PressFeedControl returns how the first press with a feed pump is fed
// (PressFeedDirect when no press has one).
func (l *Line) PressFeedControl() PressFeedControl {
	if ps := l.pumps(true); len(ps) > 0 {
		return ps[0].feedBy
	}
	return PressFeedDirect
}

// namesOf lists the names of the line's units of kinds, comma-separated.
func (l *Line) namesOf(kinds ...string) string {
	var names []string
	for _, u := range l.units {
		if slices.Contains(kinds, u.base().kind) {
			names = append(names, u.base().name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// BackPressureControlOf returns the cone control of the press named unit.
func (l *Line) BackPressureControlOf(unit string) (BackPressureControl, error) {
	u, ok := l.unit(unit, KindScrewPress)
	if !ok {
		return 0, fmt.Errorf("unit %q is not a screw press; allowed: %s", unit, l.namesOf(KindScrewPress))
	}
	return u.(*press).backPressureBy, nil
}

// PressFeedControlOf returns the mode of the feed pump named unit.
func (l *Line) PressFeedControlOf(unit string) (PressFeedControl, error) {
	u, ok := l.unit(unit, KindPump)
	if !ok || u.(*pump).press == nil {
		return 0, fmt.Errorf("unit %q is not a pump feeding a screw press", unit)
	}
	return u.(*pump).feedBy, nil
}
