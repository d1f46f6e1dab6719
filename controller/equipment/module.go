package equipment

import (
	"strconv"
	"time"
)

// ModuleState is a unit module's state beyond run/stop, for the operator's
// faceplate: the shredder's jam logic, the unit's control loop, and a few
// other values by name. The caller keeps one and passes it to
// ReportModule scan after scan: reporting does not allocate, but for the
// Detail texts that carry a number.
type ModuleState struct {
	// JamState is the shredder's jam logic: normal (no jam being
	// handled), jam_stopping (jam confirmed, waiting for standstill),
	// reversing, reverse_stopping (waiting for standstill before the
	// forward restart) or jammed (faulted: it jammed again after
	// MaxReversals reversals inside the window; needs a reset). Empty for
	// other kinds. Reversals are those inside the current window of
	// Window; MaxReversals the number allowed before the trip.
	JamState     string
	Reversals    int
	MaxReversals int
	Window       time.Duration
	// Loop is true for a unit with a control loop: LoopOutputPct is its
	// output in % of its range, LoopSetpoint and LoopProcess the
	// set-point and measurement in the measurement's units.
	Loop          bool
	LoopOutputPct float64
	LoopSetpoint  float64
	LoopProcess   float64
	// Detail holds NDetail other values as name and text.
	Detail  [6]ModuleDetail
	NDetail int
}

// ModuleDetail is one named value of a module, as text.
type ModuleDetail struct{ Name, Text string }

// Reset empties m for the next report.
func (m *ModuleState) Reset() { *m = ModuleState{} }

// add appends a detail; beyond the array's room it is dropped.
func (m *ModuleState) add(name, text string) {
	if m.NDetail < len(m.Detail) {
		m.Detail[m.NDetail] = ModuleDetail{name, text}
		m.NDetail++
	}
}

// ModuleReporter is a Unit that reports its module state (the shredder,
// the press, the pulper, a feed pump). ReportModule fills m, which the
// caller has Reset, as of the last Step.
type ModuleReporter interface {
	ReportModule(m *ModuleState)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// JamState names the shredder's jam logic state (see ModuleState).
func (s *Shredder) JamState() string {
	switch s.state {
	case ShredderJamStopping, ShredderReversing, ShredderReverseStopping:
		return s.state.String()
	case ShredderFaulted:
		if s.motor.cause.code == causeJamLimit {
			return "jammed"
		}
	}
	return "normal"
}

// ReportModule reports the jam logic: its state, the reversals in the
// window, the limit and the window; and whether the feed is paused on
// current.
func (s shredderUnit) ReportModule(m *ModuleState) {
	m.JamState = s.JamState()
	m.Reversals, m.MaxReversals, m.Window = s.nrev, s.p.MaxReversals, s.p.ReversalWindow
	m.add("state", s.state.String())
	m.add("feed_paused", yesNo(s.feedPaused))
}

// ReportModule reports the back-pressure loop (output: the cone valve's
// closing, %; set-point and measurement in bar) and the trips being
// timed: over-current against the recipe's limit, over-pressure against
// the trip level.
func (p *pressUnit) ReportModule(m *ModuleState) {
	x := p.Press
	m.Loop = true
	m.LoopOutputPct = x.Outputs().ConeValvePct
	m.LoopSetpoint = x.p.BackPressureBar
	m.LoopProcess = x.in.BackPressure.Value
	m.add("valve_mode", x.pid.Mode().String())
	m.add("over_current", timing(x.overI))
	m.add("over_pressure", timing(x.overP))
	m.add("current_limit_a", strconv.FormatFloat(x.p.MaxCurrentPct/100*x.cfg.FLA, 'f', 1, 64))
	if p.trim != nil {
		m.add("cake_ds_trim_bar", strconv.FormatFloat(p.trim.Output(), 'f', 2, 64))
	}
}

// timing says whether a trip's condition is present and being confirmed.
func timing(on bool) string {
	if on {
		return "confirming"
	}
	return "clear"
}

// ReportModule reports the dilution: the water flow set-point as % of the
// most the valve may pass (feed-forward and DS trim together), the
// slurry DS target and the analyser's DS; the dilution mode and why it
// does not dose, and the level state.
func (u *pulperUnit) ReportModule(m *ModuleState) {
	m.Loop = true
	if u.cfg.MaxWaterFlow > 0 {
		m.LoopOutputPct = u.out.WaterFlowSP / u.cfg.MaxWaterFlow * 100
	}
	m.LoopSetpoint = u.p.DSTargetPct
	m.LoopProcess = u.in.DS.Value
	m.add("dilution", u.mode.String())
	if u.Dosing() {
		m.add("dosing", "yes")
	} else {
		m.add("dosing", u.DilutionReason())
	}
	m.add("level", u.LevelState().String())
}

// ReportModule reports a feed pump's level loop (output: speed %,
// set-point and measurement: its suction's level %) and its dry-run
// stops; a transfer pump (no loop) reports the stops alone.
func (u *pumpUnit) ReportModule(m *ModuleState) {
	if u.pid != nil {
		m.Loop = true
		m.LoopOutputPct = u.speedPct
		m.LoopSetpoint = u.levelSP
		m.LoopProcess = u.level
	}
	m.add("dry_run_stops", strconv.Itoa(u.dryRunStops))
}
