package equipment

import (
	"math"
	"time"
)

// The pulper and the pumps as Units (unit.go). Besides the unit's own
// signals, the line hands them what only it knows through IO roles of its
// own: a pulper's "dilute" (1 while the batch wants dilution water),
// "feed_rate" (kg/s of waste being fed) and "wash_flow" (kg/s of wash-down
// water, 0 for none); a pump's "suction_level" (the level of the tank or
// pulper it draws from) and "drain" (1 while the phase draws its suction
// down).

func init() {
	RegisterKind("pulper", newPulperUnit)
	RegisterKind("pump", newPumpUnit)
}

// LineDilutionPI is the DS trim on the line: kg/s of water per % DS above
// target. Adding w kg/s to a pulper of M kg at DS % lowers it by DS·w/M
// %/s (0.01 %/s per kg/s at 10 % and 1,000 kg), so Kp = 2 gives a time
// constant near 50 s and Ti = 100 s removes a lasting error in the recipe's
// expected DS within a few minutes (est.). MaxStep covers a scan of up to
// 5 s of plant time (a simulated plant run at 20× scans every 2 s).
var LineDilutionPI = PIDConfig{Kp: 2, Ki: 0.02, Action: DirectActing, MaxStep: 5 * time.Second}

// DefaultPulperLevels are a pulper's level thresholds (% of span) when the
// plant file gives none.
var DefaultPulperLevels = map[string]float64{"low_low": 5, "low": 10, "high": 85, "high_high": 90}

// pulperUnit is the pulper: its mixer, its level (high-high shuts the water
// and holds the feed) and the dilution water, a feed-forward on the feed
// rate trimmed on the DS analyser once the level is above low-low.
type pulperUnit struct {
	*Pulper
	wasWater bool
}

func newPulperUnit(c UnitConfig) (Unit, error) {
	lv := c.Levels
	if len(lv) == 0 {
		lv = DefaultPulperLevels
	}
	maxFlow := 20.0
	if lim, ok := c.Limits["water_flow_sp"]; ok {
		maxFlow = lim[1]
	}
	p, err := NewPulper(PulperConfig{
		Mixer: MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout},
		Tank: TankConfig{Name: c.Name, LowLowPct: lv["low_low"], LowPct: lv["low"],
			HighPct: lv["high"], HighHighPct: lv["high_high"]},
		MaxWaterFlow: maxFlow,
		DilutionPI:   LineDilutionPI,
		// Below low-low the analyser reads the first, undiluted waste (or
		// nothing): the trim waits for the slurry.
		TrimMinLevelPct: lv["low_low"],
	}, PulperParams{DSTargetPct: 10, DSInPct: 28, MaxWaterRatio: 8})
	if err != nil {
		return nil, err
	}
	return &pulperUnit{Pulper: p}, nil
}

func (u *pulperUnit) SetParamsFrom(param func(string) float64) {
	_ = u.SetParams(PulperParamsFrom(param))
}

func (u *pulperUnit) StepUnit(now time.Time, io IO) UnitOutputs {
	dilute := io.Get("dilute").Value >= 0.5
	if dilute {
		u.SetDilution(DilutionAuto)
	} else {
		u.SetDilution(DilutionOff)
	}
	feed := io.Get("feed_rate")
	o := u.Step(now, PulperInputs{Mixer: MotorInputs{Running: digital(io, "running")}, Level: io.Get("level"), DS: io.Get("ds"), FeedRate: feed})
	st := u.State()
	water, flow := false, 0.0
	switch wash := io.Get("wash_flow").Value; {
	case st == Faulted:
	case wash > 0:
		water, flow = true, wash
	case dilute && o.WaterValve:
		water, flow = true, o.WaterFlowSP
	}
	io.Set("water", b2f(water))
	io.Set("water_flow_sp", flow)
	return UnitOutputs{Run: o.Mixer.Run, Active: st.Active(), Faulted: st == Faulted, HoldFeed: o.StopFeed}
}

// Feed pump level control (est.): a feed pump holds its suction (the
// pulper) at its level set-point with a slow PI loop on its speed:
// averaging level control, slow on purpose, because the pulper is a surge
// buffer and the press is best fed smoothly. The pulper is an integrating
// process (a 4 t pulper rises 0.002 %/s per % of an 8 kg/s pump's speed);
// Kp 4 gives a closed loop of about two minutes, Ki = Kp/200 s a damped
// one. The speed rises at most FeedPumpRampPctPerS: a step of feed (the
// start of a drain) would upset the press's back-pressure loop.
var feedPumpPI = PIDConfig{Kp: 4, Ki: 0.02, OutMin: 0, OutMax: 100, Action: DirectActing}

// FeedPumpRampPctPerS is how fast a feed pump's speed may rise, % per s.
const FeedPumpRampPctPerS = 1.0

// pumpUnit is a pump as the line runs it. Start and Stop enable and
// disable it; the pump itself decides, on the level of what it draws from,
// when its motor runs:
//   - a transfer pump (no LevelSP) runs on its suction tank's levels: on at
//     high, off at low, never at low-low (its dry-run protection);
//   - a feed pump (LevelSP > 0, speed_sp bound) holds its suction at
//     LevelSP with a PI loop on its speed, draws it down at full loop speed
//     while "drain" is 1, starts when the level reaches LevelSP (at once
//     when draining) and stops below MinLevel (its dry-run protection),
//     ready again 1 % above it.
//
// A drive fault (its fault signal) latches a fault.
type pumpUnit struct {
	*Pump
	tank     *Tank // the suction's thresholds (transfer pump)
	levelSP  float64
	minLevel float64
	pid      *PID
	enabled  bool
	run      bool // the level logic wants the motor on
	low      bool // feed pump below MinLevel (with hysteresis)
	speedPct float64
	last     time.Time
	driveBad bool
	// dryRunStops counts the times the pump stopped at its suction's
	// low-low (or below MinLevel).
	dryRunStops int
	wasActive   bool
	level       float64 // the suction's level as of the last step, %
}

func newPumpUnit(c UnitConfig) (Unit, error) {
	p, err := NewPump(MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout})
	if err != nil {
		return nil, err
	}
	u := &pumpUnit{Pump: p, levelSP: c.LevelSP, minLevel: c.MinLevel}
	if c.LevelSP > 0 {
		if u.minLevel == 0 {
			u.minLevel = 1.5
		}
		if u.pid, err = NewPID(feedPumpPI); err != nil {
			return nil, err
		}
		return u, nil
	}
	lv := c.Levels
	if u.tank, err = NewTank(TankConfig{Name: c.Name, LowLowPct: lv["low_low"], LowPct: lv["low"], HighPct: lv["high"], HighHighPct: lv["high_high"]}); err != nil {
		return nil, err
	}
	return u, nil
}

// Start enables the pump: it runs when its level logic says so.
func (u *pumpUnit) Start() error { u.enabled = true; return nil }

// Stop disables the pump and stops its motor.
func (u *pumpUnit) Stop() { u.enabled = false }

// Reset clears a latched fault; refused while the drive reports one.
func (u *pumpUnit) Reset() error {
	if u.driveBad {
		return refuse(u.motor.cfg.Name, "reset", ErrTripActive, "the drive still reports a fault")
	}
	return u.Pump.Reset()
}

// SpeedPct is a feed pump's speed set-point as of the last step.
func (u *pumpUnit) SpeedPct() float64 { return u.speedPct }

// DryRuns is how many times the pump stopped on its dry-run protection.
func (u *pumpUnit) DryRuns() int { return u.dryRunStops }

func (u *pumpUnit) StepUnit(now time.Time, io IO) UnitOutputs {
	lv := io.Get("suction_level")
	u.level = lv.Value
	var lowLow Digital
	if u.tank != nil {
		to := u.tank.Step(now, TankInputs{Level: lv})
		switch {
		case !u.enabled:
			u.run = false
		case to.High:
			u.run = true
		case !to.Low:
			// between low and high: keep what it does
		default:
			u.run = false
		}
		lowLow = to.LowLowSignal() // a start is refused at low-low: it waits for the tank to fill
	} else {
		switch {
		case !lv.usable() || lv.Value < u.minLevel:
			u.low = true
		case lv.Value > u.minLevel+1:
			u.low = false
		}
		drain := io.Get("drain").Value >= 0.5
		// It starts when the level reaches its set-point (or at once when
		// the phase drains the suction), not to idle at zero speed on a
		// filling pulper; once running it runs until disabled or dry.
		u.run = u.enabled && !u.low && (u.State().Active() || drain || (lv.usable() && lv.Value >= u.levelSP))
		lowLow = Digital{On: u.low, Quality: lv.Quality}
	}
	st := u.State()
	switch {
	case u.run && st == Stopped:
		_ = u.Pump.Start()
	case !u.run && st.Active():
		u.Pump.Stop()
	}
	out := u.Step(now, PumpInputs{Motor: MotorInputs{Running: digital(io, "running")}, SuctionLowLow: lowLow})
	active := u.State().Active()
	if u.wasActive && !active && lowLow.On {
		u.dryRunStops++
	}
	u.wasActive = active
	if f := io.Get("fault"); f.Quality.Good() && f.Value >= 0.5 {
		u.driveBad = true
		u.motor.faultWith(cause{code: causeExternal, detail: "drive reports a fault"})
	} else {
		u.driveBad = false
	}
	faulted := u.State() == Faulted
	if u.pid != nil {
		u.feedSpeed(now, lv, io.Get("drain").Value >= 0.5, out.Run && !faulted)
		io.Set("speed_sp", u.speedPct)
	}
	return UnitOutputs{Run: out.Run && !faulted, Active: u.enabled && !faulted, Faulted: faulted}
}

// feedSpeed runs a feed pump's level loop for one scan.
func (u *pumpUnit) feedSpeed(now time.Time, lv Analog, drain, running bool) {
	sp := u.levelSP
	if drain {
		sp = 0
	}
	switch {
	case !running:
		// Stopped: the loop starts afresh on the level it finds (a
		// bumpless start from zero speed would wind the integrator up by
		// the whole standing error).
		u.pid.Restart()
		u.speedPct = 0
	case lv.usable():
		want := u.pid.Update(now, sp, lv.Value)
		if dt := now.Sub(u.last).Seconds(); !u.last.IsZero() && dt > 0 {
			want = math.Min(want, u.speedPct+FeedPumpRampPctPerS*math.Min(dt, 1))
		}
		u.speedPct = want
	}
	u.last = now
}
