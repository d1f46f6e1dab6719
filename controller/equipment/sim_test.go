package equipment

import (
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Test plant models. They are crude on purpose: just enough physics for the
// logic to be exercised the way the real plant exercises it.

var t0 = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)

// scan is the fake scan period; the tests run thousands of these per
// millisecond of test time.
const scan = 10 * time.Millisecond

// drive is a starter or VFD: the running feedback follows the run command
// after a delay, the speed ramps, and the trip bits are whatever the test
// sets.
type drive struct {
	startDelay, stopDelay time.Duration
	rampPerS              float64 // speed units per second
	noFeedback            bool    // never reports running (failed to start)
	overload, fault       bool
	quality               drivers.Quality // quality of every input (good when zero is replaced)

	running  bool
	dir      Direction
	speed    float64 // signed: negative in reverse
	lastRun  bool
	cmdSince time.Time
	runSince time.Time // when the running feedback came on
}

func newDrive() *drive {
	return &drive{startDelay: 200 * time.Millisecond, stopDelay: 300 * time.Millisecond, rampPerS: 40, quality: drivers.QualityGood}
}

// step advances the drive to now under the command o and returns what the
// controller reads.
func (d *drive) step(now time.Time, o MotorOutputs) MotorInputs {
	if o.Run != d.lastRun {
		d.lastRun, d.cmdSince = o.Run, now
	}
	if d.overload || d.fault {
		d.running = false
	} else if o.Run && !d.running && !d.noFeedback && now.Sub(d.cmdSince) >= d.startDelay {
		d.running, d.dir, d.runSince = true, o.Direction, now
	} else if !o.Run && d.running && now.Sub(d.cmdSince) >= d.stopDelay {
		d.running = false
	}
	target := 0.0
	if d.running {
		target = o.SpeedRef
		if d.dir == Reverse {
			target = -target
		}
	}
	step := d.rampPerS * scan.Seconds()
	switch {
	case d.speed < target-step:
		d.speed += step
	case d.speed > target+step:
		d.speed -= step
	default:
		d.speed = target
	}
	q := d.quality
	return MotorInputs{
		Running:    Digital{On: d.running, Quality: q},
		Overload:   Digital{On: d.overload, Quality: q},
		DriveFault: Digital{On: d.fault, Quality: q},
		Speed:      Analog{Value: d.speed, Quality: q},
	}
}

// shredderPlant adds a current model and jams to a drive.
type shredderPlant struct {
	*drive
	fla     float64
	load    float64 // 0–1: normal load as a fraction of the way from idle to FLA
	inrush  time.Duration
	jammed  bool
	clearIn int // reversals needed to clear a jam; 0 = never clears
	revs    int // reversals seen during the current jam
	revFrom time.Time
	curQ    drivers.Quality
	spike   float64 // extra amps the test injects
}

func newShredderPlant() *shredderPlant {
	return &shredderPlant{drive: newDrive(), fla: 41, load: 0.3, inrush: 300 * time.Millisecond, clearIn: 1, curQ: drivers.QualityGood}
}

func (p *shredderPlant) step(now time.Time, o MotorOutputs) ShredderInputs {
	wasRev := p.running && p.dir == Reverse
	in := p.drive.step(now, o)
	// A reversal that ran at least a second counts towards clearing.
	if p.running && p.dir == Reverse && !wasRev {
		p.revFrom = now
	}
	if wasRev && !(p.running && p.dir == Reverse) && now.Sub(p.revFrom) >= time.Second && p.jammed {
		p.revs++
		if p.clearIn > 0 && p.revs >= p.clearIn {
			p.jammed, p.revs = false, 0
		}
	}
	amps := 0.0
	switch {
	case !p.running:
	case now.Sub(p.runSince) < p.inrush:
		amps = 6 * p.fla
	case p.jammed && p.dir == Forward:
		amps = 1.3 * p.fla
	default:
		amps = p.fla * (0.3 + 0.7*p.load)
	}
	return ShredderInputs{Motor: in, Current: Analog{Value: amps + p.spike, Quality: p.curQ}}
}

// pressPlant: back-pressure follows the cone with a first-order lag, the
// current rises with pressure.
type pressPlant struct {
	*drive
	fla        float64
	pressure   float64
	gainBarPct float64 // steady bar per % cone closure
	tau        time.Duration
	extraAmps  float64
	extraBar   float64
	pq         drivers.Quality
}

func newPressPlant() *pressPlant {
	return &pressPlant{drive: newDrive(), fla: 40, gainBarPct: 0.07, tau: 2 * time.Second, pq: drivers.QualityGood}
}

func (p *pressPlant) step(now time.Time, o PressOutputs) PressInputs {
	in := p.drive.step(now, o.Motor)
	target := 0.0
	if p.running {
		target = p.gainBarPct * o.ConeValvePct
	}
	p.pressure += (target - p.pressure) * scan.Seconds() / p.tau.Seconds()
	amps := 0.0
	if p.running {
		amps = p.fla*(0.4+0.1*p.pressure) + p.extraAmps
	}
	return PressInputs{Motor: in, Current: GoodAnalog(amps), BackPressure: Analog{Value: p.pressure + p.extraBar, Quality: p.pq}}
}

// pulperPlant is a well-mixed tank kept at constant mass (a discharge pump
// takes out what comes in), so its DS moves only with feed and water.
type pulperPlant struct {
	*drive
	massKg    float64
	dryKg     float64
	feedKgps  float64
	dsFeedPct float64 // the waste's real DS
	levelPct  float64
	levelQ    drivers.Quality
	dsQ       drivers.Quality
	waterKg   float64
}

func newPulperPlant() *pulperPlant {
	return &pulperPlant{drive: newDrive(), massKg: 1000, dryKg: 100, feedKgps: 1, dsFeedPct: 28, levelPct: 50, levelQ: drivers.QualityGood, dsQ: drivers.QualityGood}
}

func (p *pulperPlant) step(now time.Time, o PulperOutputs) PulperInputs {
	in := p.drive.step(now, o.Mixer)
	dt := scan.Seconds()
	water := 0.0
	if o.WaterValve {
		water = o.WaterFlowSP
	}
	p.waterKg += water * dt
	out := p.feedKgps + water
	ds := p.dryKg / p.massKg
	p.dryKg += (p.feedKgps*p.dsFeedPct/100 - out*ds) * dt
	return PulperInputs{
		Mixer:    in,
		Level:    Analog{Value: p.levelPct, Quality: p.levelQ},
		DS:       Analog{Value: 100 * p.dryKg / p.massKg, Quality: p.dsQ},
		FeedRate: GoodAnalog(p.feedKgps),
	}
}
