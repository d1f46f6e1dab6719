package line

import (
	"fmt"
	"math"
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
	node     int // its place in the line's graph
	out      equipment.TankOutputs
}

// pumpControl runs one transfer pump (plant kind pump) on level control of
// the tank it draws from: it starts at the tank's high level, stops at its
// low level, and never runs at low-low (dry-run protection, in the pump's
// module). It is enabled only while a batch runs (Execute, or running empty
// in Holding or Stopping): after a hold, a restart or a communication loss
// it waits for the operator like every other motor.
//
// A pump with level_sp in the plant file is a feed pump on level control
// instead (level != nil): a PI loop sets its speed to hold its suction at
// level_sp while the unit it feeds runs, or to draw the suction down when
// the phase drains it; it stops below min_level (its dry-run protection).
type pumpControl struct {
	name                      string
	node                      int // its place in the line's graph
	mod                       *equipment.Pump
	run, runningTag, faultTag string
	tank                      *tankControl
	want, wasActive           bool
	dryRunStops               int // times the pump stopped at low-low
	level                     *levelLoop
}

// levelLoop is a feed pump's level control.
type levelLoop struct {
	suction            string // the unit drawn from
	levelTag, speedTag string
	// feeds and suctionAt are the places in Line.order of the unit it
	// feeds (which must run for it to run) and of the unit it draws from
	// (which a pump fault stops, with everything upstream).
	feeds, suctionAt   int
	sp, min            float64
	pid                *equipment.PID
	levelPct, speedPct float64 // this scan's level and speed
	low                bool    // below min_level (with hysteresis): dry-run protection
	last               time.Time
}

// feedPumpRampPctPerS is how fast a feed pump's speed may rise, % per s.
const feedPumpRampPctPerS = 1.0

// feedPumpPI is the level loop of a feed pump: % speed per % level above
// the set-point. It is averaging level control: the pulper is a surge
// buffer, and the press (whose back-pressure loop sees every change of
// feed) is best fed smoothly, so the loop is slow on purpose and lets the
// level move within its band. The pulper is an integrating process (a 4 t
// pulper rises 0.002 %/s per % of an 8 kg/s pump's speed); Kp 4 gives a
// closed loop of about two minutes, Ki = Kp/200 s a damped one.
var feedPumpPI = equipment.PIDConfig{Kp: 4, Ki: 0.02, OutMin: 0, OutMax: 100, Action: equipment.DirectActing}

func newTanksAndPumps(cfg *plant.File, g *flowGraph, order []*unitRun) ([]*tankControl, []*pumpControl, error) {
	var tanks []*tankControl
	byName := map[string]*tankControl{}
	for _, u := range cfg.UnitsOf(plant.KindTank) {
		m, err := equipment.NewTank(equipment.TankConfig{Name: u.Name, LowLowPct: u.Levels[plant.LevelLowLow], LowPct: u.Levels[plant.LevelLow],
			HighPct: u.Levels[plant.LevelHigh], HighHighPct: u.Levels[plant.LevelHighHigh]})
		if err != nil {
			return nil, nil, fmt.Errorf("tank %s: %w", u.Name, err)
		}
		t := &tankControl{name: u.Name, mod: m, levelTag: u.Signals["level"], node: g.index[u.Name]}
		tanks = append(tanks, t)
		byName[u.Name] = t
	}
	var pumps []*pumpControl
	for _, u := range cfg.UnitsOf(plant.KindPump) {
		if u.LevelSP != 0 {
			p, err := newFeedPump(cfg, u, order)
			if err != nil {
				return nil, nil, err
			}
			p.node = g.index[u.Name]
			pumps = append(pumps, p)
			continue
		}
		t := byName[u.Suction]
		if t == nil {
			return nil, nil, fmt.Errorf("pump %s: suction %q is not a tank", u.Name, u.Suction)
		}
		m, err := equipment.NewPump(equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime})
		if err != nil {
			return nil, nil, fmt.Errorf("pump %s: %w", u.Name, err)
		}
		pumps = append(pumps, &pumpControl{name: u.Name, node: g.index[u.Name], mod: m, run: u.Signals["run"], runningTag: u.Signals["running"], faultTag: u.Signals["fault"], tank: t})
	}
	return tanks, pumps, nil
}

// newFeedPump builds a pump on level control (plant keys level_sp and
// min_level).
func newFeedPump(cfg *plant.File, u *plant.Unit, order []*unitRun) (*pumpControl, error) {
	var su *plant.Unit
	for i := range cfg.Units {
		if cfg.Units[i].Name == u.Suction {
			su = &cfg.Units[i]
		}
	}
	if su == nil || su.Signals["level"] == "" {
		return nil, fmt.Errorf("pump %s: suction %q has no level signal", u.Name, u.Suction)
	}
	feeds, suctionAt := -1, -1
	for i, o := range order {
		if o.name == u.Suction {
			suctionAt = i
		}
		for j := range cfg.Units {
			if cfg.Units[j].Name == o.name && slices.Contains(cfg.Units[j].FedBy, u.Name) {
				feeds = i
			}
		}
	}
	if feeds < 0 || suctionAt < 0 {
		return nil, fmt.Errorf("pump %s: on level control it must draw from and feed motorised units of the line (suction %q)", u.Name, u.Suction)
	}
	m, err := equipment.NewPump(equipment.MotorConfig{Name: u.Name, StartTimeout: cfg.StartConfirmTime})
	if err != nil {
		return nil, fmt.Errorf("pump %s: %w", u.Name, err)
	}
	pid, err := equipment.NewPID(feedPumpPI)
	if err != nil {
		return nil, fmt.Errorf("pump %s: %w", u.Name, err)
	}
	min := u.MinLevel
	if min == 0 {
		min = 1.5
	}
	return &pumpControl{name: u.Name, mod: m, run: u.Signals["run"], runningTag: u.Signals["running"], faultTag: u.Signals["fault"],
		level: &levelLoop{suction: su.Name, levelTag: su.Signals["level"], speedTag: u.Signals["speed_sp"], feeds: feeds, suctionAt: suctionAt, sp: u.LevelSP, min: min, pid: pid}}, nil
}

// stepLevel runs a feed pump for one scan: enabled while the unit it feeds
// runs a batch; drain draws the suction down instead of holding it at the
// set-point. It returns the run command, the speed set-point and a fault.
func (p *pumpControl) stepLevel(now time.Time, in Inputs, enabled, drain bool) (run bool, speed float64, fault string) {
	lv := p.level
	v, q := in.Get(lv.levelTag)
	lv.levelPct = v
	switch {
	case !q.Good() || v < lv.min:
		lv.low = true
	case v > lv.min+1:
		lv.low = false
	}
	// The pump starts when the level reaches its set-point (or at once
	// when the phase drains the suction), not to idle at zero speed on a
	// filling pulper; once running it runs until disabled or dry.
	p.want = enabled && !lv.low && (p.mod.State().Active() || drain || (q.Good() && v >= lv.sp))
	run, fault = p.runModule(now, in, equipment.Digital{On: lv.low, Quality: q})
	if fault != "" {
		return false, 0, fault
	}
	sp := lv.sp
	if drain {
		sp = 0
	}
	switch {
	case !run:
		// Stopped: the loop starts afresh on the level it finds (a
		// bumpless start from zero speed would wind the integrator up by
		// the whole standing error).
		lv.pid.Restart()
		lv.speedPct = 0
	case q.Good():
		// The speed rises at most feedPumpRampPctPerS: a step of feed
		// (the start of a drain) would upset the press's back-pressure
		// loop and its current.
		want := lv.pid.Update(now, sp, v)
		if dt := now.Sub(lv.last).Seconds(); !lv.last.IsZero() && dt > 0 {
			want = math.Min(want, lv.speedPct+feedPumpRampPctPerS*math.Min(dt, 1))
		}
		lv.speedPct = want
	}
	lv.last = now
	return run, lv.speedPct, ""
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
	return p.runModule(now, in, to.LowLowSignal()) // a start is refused at low-low: it waits for the tank to fill
}

// runModule starts or stops the pump's module as p.want says, steps it
// with the running feedback and the suction's low-low signal, counts
// dry-run stops, and returns the run command and a fault description when
// the pump faulted (failed to start, running feedback lost, drive fault).
func (p *pumpControl) runModule(now time.Time, in Inputs, lowLow equipment.Digital) (run bool, fault string) {
	st := p.mod.State()
	switch {
	case p.want && st == equipment.Stopped:
		_ = p.mod.Start()
	case !p.want && st.Active():
		p.mod.Stop()
	}
	var pin equipment.PumpInputs
	v, q := in.Get(p.runningTag)
	pin.Motor.Running = equipment.Digital{On: v >= 0.5, Quality: q}
	pin.SuctionLowLow = lowLow
	out := p.mod.Step(now, pin)
	active := p.mod.State().Active()
	if p.wasActive && !active && lowLow.On {
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
