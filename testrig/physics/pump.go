package physics

import (
	"errors"
	"math"
)

// The pump: it draws from its suction (a pulper or a tank). Feeding a
// screw press it is a feed pump: a progressive-cavity pump on a VFD that
// the press pulls through (PressFeedControl: under PressFeedDirect the
// press draws from the suction at its capacity and the pump idles; under
// PressFeedPump the press takes what the pump delivers up to its
// capacity). Otherwise it is a transfer pump: on its float switches (on at
// filtratePumpOnPct of the suction's level, off at filtratePumpOffPct) or
// on the controller's command (FiltratePumpControl), filtratePumpKgPerS
// to the units downstream or, with none, out of the line.

func init() {
	registerKind(KindPump, kindDef{
		build: func(b unitBase) unitModel {
			return &pump{unitBase: b, motor: contactor{startDelayS: startDelayS}}
		},
		legacyNames: []string{"press_feed", "filtrate_pump"},
	})
}

type pump struct {
	unitBase
	src   store
	press *press // the press it feeds (a feed pump), or nil

	motor   contactor // the pump's VFD or starter
	sp      float64   // % speed (a feed pump)
	feedBy  PressFeedControl
	pumpBy  FiltratePumpControl
	floatOn bool // the float switches call for the pump (FiltratePumpFloats)
	failed  bool // SetPumpFailed
	kgPerS  float64
	dryRunS float64 // s run on a nearly empty suction
	pumped  compartment
	outLost massDry
}

var errOneFeeder = errors.New("needs exactly one unit feeding it")

func (p *pump) link() error {
	if len(p.up) != 1 {
		return errors.New("needs a suction: the pulper or tank it draws from")
	}
	s, ok := p.up[0].(store)
	if !ok {
		return errors.New("its suction must be a pulper or a tank")
	}
	p.src = s
	for _, d := range p.down {
		if pr, ok := d.(*press); ok {
			if len(p.down) != 1 {
				return errors.New("a pump feeding a screw press feeds nothing else")
			}
			p.press = pr
		}
	}
	return nil
}

func (p *pump) mass() (held, in, out massDry) { return massDry{}, massDry{}, p.outLost }

func (p *pump) drives(h float64) {
	switch {
	case p.press != nil:
		p.motor.tripped = p.failed
		if p.feedBy == PressFeedPump {
			p.motor.update(h, p.l.estopOK)
		}
	case p.pumpBy == FiltratePumpCommanded:
		p.motor.tripped = p.failed
		p.motor.update(h, p.l.estopOK)
	}
}

// running is the pump's running feedback.
func (p *pump) running() bool {
	if p.press == nil && p.pumpBy != FiltratePumpCommanded {
		return p.floatOn && !p.failed
	}
	return p.motor.running
}

// feed runs a feed pump (PressFeedPump) for h seconds and returns the flow
// in kg/s it sends into a press whose capacity is capacity: what it
// delivers at its speed up to that capacity, nothing while it is stopped
// or the screw stands (it recirculates). It counts dry running on a
// suction below pressFeedDryRunPct.
func (p *pump) feed(h, capacity, screwRPM float64) float64 {
	if !p.motor.running || p.sp <= 0 {
		return 0
	}
	if p.src.levelPct() < pressFeedDryRunPct {
		p.dryRunS += h
	}
	if screwRPM <= 0 {
		return 0
	}
	return math.Min(pressFeedMaxKgPerS*p.sp/100, capacity)
}

// settle: a transfer pump follows its floats (on the level its suction
// reached this substep) or its command, and empties its suction.
func (p *pump) settle(h float64) {
	if p.press != nil {
		return
	}
	level := p.src.levelPct()
	if p.pumpBy != FiltratePumpCommanded {
		switch {
		case level >= filtratePumpOnPct:
			p.floatOn = true
		case level <= filtratePumpOffPct:
			p.floatOn = false
		}
	}
	p.kgPerS = 0
	if p.running() {
		if level < filtrateDryRunPct {
			p.dryRunS += h
		}
		c := p.src.contents()
		m, d := take(&c.mass, &c.dry, filtratePumpKgPerS*h)
		p.pumped.mass += m
		p.pumped.dry += d
		p.kgPerS = m / h
		om, od := p.deliver(m, d)
		p.outLost.m += om
		p.outLost.d += od
	}
}

// modeSwitches: mapping the run command on a writable point puts a feed
// pump in PressFeedPump and a transfer pump under command.
func (p *pump) modeSwitches() map[string]func() {
	if p.press != nil {
		return map[string]func(){"run_cmd": func() { p.setFeedControl(PressFeedPump) }}
	}
	return map[string]func(){"run_cmd": func() { p.setPumpControl(FiltratePumpCommanded) }}
}

func (p *pump) setFeedControl(c PressFeedControl) {
	p.feedBy = c
	p.motor.running, p.motor.startTimer = false, 0
	p.kgPerS = 0
}

func (p *pump) setPumpControl(c FiltratePumpControl) {
	p.pumpBy = c
	p.motor.running, p.motor.startTimer = false, 0
}

func (p *pump) vars() []variable {
	runCmd := param("run_cmd", func() float64 { return b2f(p.motor.runCmd) }, func(v float64) { p.motor.runCmd = v != 0 })
	running := meas("running", func() float64 { return b2f(p.running()) })
	fault := meas("fault", func() float64 { return b2f(p.motor.tripped || (p.press == nil && p.failed)) })
	flow := meas("flow", func() float64 { return p.kgPerS })
	dryRun := intern("dry_run_s", func() float64 { return p.dryRunS })
	if p.press != nil {
		// The press feed pump's running feedback, its flow meter (kg/s
		// into the press) and its fault; all 0 under PressFeedDirect.
		return []variable{
			runCmd, running, fault, flow, dryRun,
			param("speed_sp", func() float64 { return p.sp }, func(v float64) { p.sp = clamp(v, 0, 100) }),
		}
	}
	return []variable{
		runCmd.as("filtrate.pump_cmd"),
		running.as("filtrate.pump_running"),
		fault.as("-"),
		flow.as("-"),
		dryRun.as("filtrate.pump_dry_run_s"),
		intern("pumped", func() float64 { return p.pumped.mass }).as("filtrate.pumped"),
	}
}
