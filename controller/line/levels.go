package line

import (
	"fmt"
	"slices"
	"time"

	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
)

// tankControl watches one tank's level (plant kind tank). At high-high, or
// while its level cannot be seen, it stops the units that fill it (and
// what only feeds them), until the level has fallen back past high-high by
// the hysteresis.
type tankControl struct {
	name     string
	mod      *equipment.Tank
	levelTag string
	node     int // its place in the line's graph
	out      equipment.TankOutputs
}

// step reads the tank's level for this scan.
func (t *tankControl) step(now time.Time, in Inputs) {
	v, q := in.Get(t.levelTag)
	t.out = t.mod.Step(now, equipment.TankInputs{Level: equipment.Analog{Value: v, Quality: q}})
}

// pumpRun is one pump (plant kind pump) of the line: its module
// (equipment's pump Unit: a transfer pump on its tank's levels, or a feed
// pump on level control of its suction) through the one adapter. The line
// enables it only while a batch runs (Execute, or running empty in Holding
// or Stopping) and, for a feed pump, while the unit it feeds runs: after a
// hold, a restart or a communication loss it waits for the operator like
// every other motor.
type pumpRun struct {
	name                string
	node                int
	run, running        string
	suction, suctionLvl string // the unit drawn from and its level tag
	feeds               int    // place in Line.order of the unit a feed pump feeds, or -1
	ctl                 *unitControl
}

// dryRuns is how many times the pump has stopped on its dry-run
// protection (its module counts them).
func (p *pumpRun) dryRuns() int {
	if d, ok := p.ctl.mod.(interface{ DryRuns() int }); ok {
		return d.DryRuns()
	}
	return 0
}

func newTanksAndPumps(cfg *plant.File, g *flowGraph, order []*unitRun, outputs map[string]float64) ([]*tankControl, []*pumpRun, error) {
	var tanks []*tankControl
	for _, u := range cfg.UnitsOf(plant.KindTank) {
		m, err := equipment.NewTank(equipment.TankConfig{Name: u.Name, LowLowPct: u.Levels[plant.LevelLowLow], LowPct: u.Levels[plant.LevelLow],
			HighPct: u.Levels[plant.LevelHigh], HighHighPct: u.Levels[plant.LevelHighHigh]})
		if err != nil {
			return nil, nil, fmt.Errorf("tank %s: %w", u.Name, err)
		}
		tanks = append(tanks, &tankControl{name: u.Name, mod: m, levelTag: u.Signals["level"], node: g.index[u.Name]})
	}
	var pumps []*pumpRun
	for _, u := range cfg.UnitsOf(plant.KindPump) {
		var su *plant.Unit
		for i := range cfg.Units {
			if cfg.Units[i].Name == u.Suction {
				su = &cfg.Units[i]
			}
		}
		if su == nil || su.Signals["level"] == "" {
			return nil, nil, fmt.Errorf("pump %s: suction %q has no level signal", u.Name, u.Suction)
		}
		p := &pumpRun{name: u.Name, node: g.index[u.Name], run: u.Signals["run"], running: u.Signals["running"],
			suction: su.Name, suctionLvl: su.Signals["level"], feeds: -1}
		if u.LevelSP != 0 {
			for i, o := range order {
				for j := range cfg.Units {
					if cfg.Units[j].Name == o.name && slices.Contains(cfg.Units[j].FedBy, u.Name) {
						p.feeds = i
					}
				}
			}
			if p.feeds < 0 {
				return nil, nil, fmt.Errorf("pump %s: on level control it must feed a unit of the line's sequence", u.Name)
			}
		}
		ctl, err := newUnitControl(cfg, u, outputs, map[string]string{"suction_level": su.Signals["level"]}, su.Levels)
		if err != nil {
			return nil, nil, err
		}
		p.ctl = ctl
		pumps = append(pumps, p)
	}
	return tanks, pumps, nil
}

// Feed-rate estimate: the waste fed (hopper weight fallen since the end of
// receiving) is sampled at most once a second; the rate is taken over the
// oldest sample at most feedWindow old.
const (
	feedSampleEvery = time.Second
	feedWindow      = 15 * time.Second
)

// fedSample is the waste fed so far at one instant.
type fedSample struct {
	t  time.Time
	kg float64
}

// feedRate estimates the rate at which waste is fed from the running total
// fed, without allocating: a ring of recent totals.
type feedRate struct {
	fed        [16]fedSample
	head, nFed int
}

// reset forgets the history (a new batch, a restart).
func (f *feedRate) reset() { f.head, f.nFed = 0, 0 }

// update records the waste fed so far and returns the feed rate in kg/s
// over the last feedWindow (0 until two samples a few seconds apart exist).
func (f *feedRate) update(now time.Time, fedKg float64) float64 {
	n := len(f.fed)
	if f.nFed == 0 || now.Sub(f.fed[(f.head+n-1)%n].t) >= feedSampleEvery {
		f.fed[f.head] = fedSample{now, fedKg}
		f.head = (f.head + 1) % n
		f.nFed = min(f.nFed+1, n)
	}
	for i := f.nFed; i > 0; i-- { // oldest first
		s := f.fed[(f.head+n-i)%n]
		if dt := now.Sub(s.t); dt <= feedWindow && dt >= 2*feedSampleEvery {
			return max(0, (fedKg-s.kg)/dt.Seconds())
		}
	}
	return 0
}
