package controller

import (
	"fmt"
	"slices"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
)

// tankControl watches one tank's level (plant kind tank). At high-high, or
// while its level cannot be seen, it stops the unit that fills it and
// everything upstream of that unit, until the level has fallen back past
// high-high by the hysteresis.
type tankControl struct {
	name     string
	mod      *equipment.Tank
	levelTag string
	fedBy    int // index in Line.order of the unit that fills the tank
	out      equipment.TankOutputs
}

// pumpControl runs one transfer pump (plant kind pump) on level control of
// the tank it draws from: it starts at the tank's high level, stops at its
// low level, and never runs at low-low (dry-run protection, in the pump's
// module). It is enabled only while a batch runs (Execute, or running empty
// in Holding or Stopping): after a hold, a restart or a communication loss
// it waits for the operator like every other motor.
type pumpControl struct {
	name                      string
	mod                       *equipment.Pump
	run, runningTag, faultTag string
	tank                      *tankControl
	want, wasActive           bool
	dryRunStops               int // times the pump stopped at low-low
}

func newTanksAndPumps(cfg *plant.File, order []*unitRun) ([]*tankControl, []*pumpControl, error) {
	var tanks []*tankControl
	byName := map[string]*tankControl{}
	for _, u := range cfg.UnitsOf(plant.KindTank) {
		m, err := equipment.NewTank(equipment.TankConfig{Name: u.Name, LowLowPct: u.Levels[plant.LevelLowLow], LowPct: u.Levels[plant.LevelLow],
			HighPct: u.Levels[plant.LevelHigh], HighHighPct: u.Levels[plant.LevelHighHigh]})
		if err != nil {
			return nil, nil, fmt.Errorf("tank %s: %w", u.Name, err)
		}
		t := &tankControl{name: u.Name, mod: m, levelTag: u.Signals["level"], fedBy: -1}
		// Several units may fill the tank: its high-high stops the most
		// downstream of them and everything upstream of that.
		for i := len(order) - 1; i >= 0; i-- {
			if slices.Contains(u.FedBy, order[i].name) {
				t.fedBy = i
			}
		}
		if t.fedBy < 0 {
			return nil, nil, fmt.Errorf("tank %s: fed_by %q is not a motorised unit of the line", u.Name, u.FedBy)
		}
		tanks = append(tanks, t)
		byName[u.Name] = t
	}
	var pumps []*pumpControl
	for _, u := range cfg.UnitsOf(plant.KindPump) {
		t := byName[u.Suction]
		if t == nil {
			return nil, nil, fmt.Errorf("pump %s: suction %q is not a tank", u.Name, u.Suction)
		}
		m, err := equipment.NewPump(equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime})
		if err != nil {
			return nil, nil, fmt.Errorf("pump %s: %w", u.Name, err)
		}
		pumps = append(pumps, &pumpControl{name: u.Name, mod: m, run: u.Signals["run"], runningTag: u.Signals["running"], faultTag: u.Signals["fault"], tank: t})
	}
	return tanks, pumps, nil
}

// step reads the tank's level for this scan.
func (t *tankControl) step(now time.Time, in Inputs) {
	v, q := in.Get(t.levelTag)
	t.out = t.mod.Step(now, equipment.TankInputs{Level: equipment.Analog{Value: v, Quality: q}})
}

// step runs the pump for one scan. enabled says whether the line is
// running a batch. It returns the run command and a fault description when
// the pump faulted (failed to start, running feedback lost, drive fault).
func (p *pumpControl) step(now time.Time, in Inputs, enabled bool) (run bool, fault string) {
	to := p.tank.out
	switch {
	case !enabled:
		p.want = false
	case to.High:
		p.want = true
	case !to.Low:
		// between low and high: keep what it does
	default:
		p.want = false
	}
	st := p.mod.State()
	switch {
	case p.want && st == equipment.Stopped:
		_ = p.mod.Start() // refused at low-low: waits for the tank to fill
	case !p.want && st.Active():
		p.mod.Stop()
	}
	var pin equipment.PumpInputs
	v, q := in.Get(p.runningTag)
	pin.Motor.Running = equipment.Digital{On: v >= 0.5, Quality: q}
	pin.SuctionLowLow = to.LowLowSignal()
	out := p.mod.Step(now, pin)
	active := p.mod.State().Active()
	if p.wasActive && !active && to.LowLow {
		p.dryRunStops++
	}
	p.wasActive = active
	if p.faultTag != "" {
		if f, fq := in.Get(p.faultTag); fq.Good() && f >= 0.5 {
			return false, "drive reports a fault"
		}
	}
	if p.mod.State() == equipment.Faulted {
		return false, "faulted: " + p.mod.Reason()
	}
	return out.Run, ""
}

// reset clears a latched pump fault (the operator's unhold).
func (p *pumpControl) reset() error { return p.mod.Reset() }
