package equipment

import (
	"fmt"
	"math"
	"time"
)

// DefaultDilutionPI is the DS trim loop used when PulperConfig.DilutionPI is
// zero: kg/s of water per % DS above target. A pulper held at its working
// level (600–800 kg) with 5–7 kg/s through it responds to water as a first
// order lag of about two minutes, about −1.3 % DS per extra kg/s for a
// 10 % slurry; Kp 0.8 and Ti 100 s (Ki = Kp/Ti) close the loop in a few
// minutes without amplifying the analyser's noise much (0.2 % of noise is
// 0.16 kg/s of water).
var DefaultDilutionPI = PIDConfig{Kp: 0.8, Ki: 0.008, Action: DirectActing}

// PulperConfig describes a pulper (mixing tank): its mixer, its level
// thresholds and the dilution water it may add.
type PulperConfig struct {
	Mixer MotorConfig
	Tank  TankConfig
	// MixerMinLevelPct, when > 0, is the level below which the mixer must
	// not run (its blades would run dry or splash): start is refused below
	// it, and a running mixer stops when the level falls a hysteresis below
	// it or cannot be read.
	MixerMinLevelPct float64
	// MaxWaterFlow is the most dilution water the valve may pass, kg/s
	// (the plant's limit on water_flow_sp). Required.
	MaxWaterFlow float64
	// TrimMinLevelPct, when > 0, is the level below which the analyser's
	// DS is not trusted (its probe is not immersed, or the first waste is
	// not yet diluted): the trim is held at zero and water follows the
	// feed-forward alone.
	TrimMinLevelPct float64
	// DilutionPI trims the feed-forward water flow on the DS analyser. Zero
	// means DefaultDilutionPI. Its Action must be DirectActing (more water
	// when the slurry is too dry); its limits are set by the pulper each
	// scan so that feed-forward plus trim stays within [0, MaxWaterFlow].
	DilutionPI PIDConfig
}

func (c *PulperConfig) check() error {
	if err := c.Mixer.check(); err != nil {
		return err
	}
	if c.Tank.Name == "" {
		c.Tank.Name = c.Mixer.Name
	}
	if err := c.Tank.check(); err != nil {
		return err
	}
	if c.DilutionPI == (PIDConfig{}) {
		c.DilutionPI = DefaultDilutionPI
	}
	switch {
	case !(c.MaxWaterFlow > 0) || math.IsInf(c.MaxWaterFlow, 0):
		return fmt.Errorf("%w: pulper %s: MaxWaterFlow must be > 0 kg/s", ErrInvalid, c.Mixer.Name)
	case !(c.TrimMinLevelPct >= 0 && c.TrimMinLevelPct < c.Tank.HighHighPct):
		return fmt.Errorf("%w: pulper %s: TrimMinLevelPct must be ≥ 0 and below HH", ErrInvalid, c.Mixer.Name)
	case !(c.MixerMinLevelPct >= 0 && c.MixerMinLevelPct < c.Tank.HighHighPct):
		return fmt.Errorf("%w: pulper %s: MixerMinLevelPct must be ≥ 0 and below HH", ErrInvalid, c.Mixer.Name)
	case c.DilutionPI.Action != DirectActing:
		return fmt.Errorf("%w: pulper %s: the dilution loop must be DirectActing (more water when DS is above target)", ErrInvalid, c.Mixer.Name)
	}
	c.DilutionPI.OutMin, c.DilutionPI.OutMax = -c.MaxWaterFlow, c.MaxWaterFlow
	return c.DilutionPI.check()
}

// PulperParams are the pulper's recipe parameters.
type PulperParams struct {
	DSTargetPct   float64 // slurry_ds_target
	DSInPct       float64 // ds_in: expected DS of the waste fed
	MaxWaterRatio float64 // max_water_ratio, t water per t waste
}

// PulperParamsFrom reads the parameters by their recipe names.
func PulperParamsFrom(param func(name string) float64) PulperParams {
	return PulperParams{
		DSTargetPct:   param("slurry_ds_target"),
		DSInPct:       param("ds_in"),
		MaxWaterRatio: param("max_water_ratio"),
	}
}

func (p PulperParams) check(name string) error {
	switch {
	case !(p.DSTargetPct > 0 && p.DSTargetPct < 100):
		return fmt.Errorf("%w: pulper %s: slurry_ds_target %g %% must be in (0, 100)", ErrInvalid, name, p.DSTargetPct)
	case !(p.DSInPct > 0 && p.DSInPct <= 100):
		return fmt.Errorf("%w: pulper %s: ds_in %g %% must be in (0, 100]", ErrInvalid, name, p.DSInPct)
	case !(p.MaxWaterRatio >= 0) || math.IsInf(p.MaxWaterRatio, 0):
		return fmt.Errorf("%w: pulper %s: max_water_ratio must be ≥ 0", ErrInvalid, name)
	}
	return nil
}

// DilutionMode says whether the pulper doses dilution water.
type DilutionMode uint8

// Dilution modes. Off is the zero value: water is added only when the
// batch asks for it.
const (
	DilutionOff  DilutionMode = iota // valve shut
	DilutionAuto                     // feed-forward plus PI trim on the DS analyser
)

// String returns "off" or "auto".
func (m DilutionMode) String() string {
	switch m {
	case DilutionOff:
		return "off"
	case DilutionAuto:
		return "auto"
	}
	return fmt.Sprintf("dilution_mode(%d)", uint8(m))
}

// PulperInputs is what the plant tells the pulper each scan.
type PulperInputs struct {
	Mixer MotorInputs
	Level Analog // %
	DS    Analog // dry solids from the analyser, %
	// FeedRate is the waste flow into the pulper, kg/s (measured, or
	// derived by the caller from the hopper weight); it sets the
	// feed-forward water flow.
	FeedRate Analog
}

// PulperOutputs is what the pulper commands.
type PulperOutputs struct {
	Mixer       MotorOutputs
	Tank        TankOutputs
	WaterValve  bool    // dilution valve open
	WaterFlowSP float64 // kg/s, 0 while the valve is shut
	FeedForward float64 // kg/s, the feed-forward part (for trends)
	Trim        float64 // kg/s, the PI part (for trends)
	// StopFeed: stop feeding the pulper (level at HH, or not readable).
	StopFeed bool
}

// Pulper is the mixing tank: its mixer (with low-level protection), its
// level (water shut and feed stop requested at HH), and dilution water as a
// feed-forward flow_ff = feed_rate·(DS_in/DS_target − 1), limited by the
// recipe's water ratio, trimmed by a PI loop on the DS analyser, within
// [0, MaxWaterFlow]. While the analyser's DS cannot be read the water
// follows the feed-forward alone.
type Pulper struct {
	cfg   PulperConfig
	p     PulperParams
	mixer Motor
	tank  Tank
	pid   PID
	mode  DilutionMode
	in    PulperInputs
	out   PulperOutputs
	dil   cause // why no water is dosed; causeNone while dosing
	// ffOnly, while dosing, says why the trim is out (the analyser's DS
	// cannot be read): water follows the feed alone.
	ffOnly cause
	perm   [8]Permissive
}

// NewPulper checks cfg and p and returns a pulper with the mixer stopped
// and dilution off.
func NewPulper(cfg PulperConfig, p PulperParams) (*Pulper, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := p.check(cfg.Mixer.Name); err != nil {
		return nil, err
	}
	u := &Pulper{cfg: cfg, p: p, dil: cause{code: causeDilutionOff}}
	if err := u.mixer.init(cfg.Mixer); err != nil {
		return nil, err
	}
	if err := u.tank.init(cfg.Tank); err != nil {
		return nil, err
	}
	if err := u.pid.init(cfg.DilutionPI); err != nil {
		return nil, err
	}
	return u, nil
}

// SetParams applies new recipe parameters at once. Invalid parameters are
// refused and the old ones kept.
func (u *Pulper) SetParams(p PulperParams) error {
	if err := p.check(u.cfg.Mixer.Name); err != nil {
		return err
	}
	u.p = p
	return nil
}

// Params returns the parameters in force.
func (u *Pulper) Params() PulperParams { return u.p }

// Step runs one scan at plant time now and returns the outputs to write.
func (u *Pulper) Step(now time.Time, in PulperInputs) PulperOutputs {
	u.in = in
	u.mixer.Step(now, in.Mixer)
	to := u.tank.Step(now, TankInputs{Level: in.Level})

	if minLevel := u.cfg.MixerMinLevelPct; minLevel > 0 && u.mixer.State().Active() {
		if !in.Level.usable() {
			u.mixer.stopWith(badInput("level", in.Level.Quality))
		} else if in.Level.Value < minLevel-u.cfg.Tank.HysteresisPct {
			u.mixer.stopWith(cause{code: causeLowLevel, v: in.Level.Value, limit: minLevel})
		}
	}

	o := PulperOutputs{Tank: to, StopFeed: to.StopFeed}
	u.dil = u.dilutionBlock(to)
	if u.dil.code == causeNone {
		ratio := clamp(u.p.DSInPct/u.p.DSTargetPct-1, 0, u.p.MaxWaterRatio)
		ff := clamp(in.FeedRate.Value*ratio, 0, u.cfg.MaxWaterFlow)
		// The trim may use only the room the feed-forward leaves, so the
		// integrator stops winding when the valve is at a limit.
		u.pid.SetLimits(-ff, u.cfg.MaxWaterFlow-ff)
		trim := 0.0
		switch {
		case !in.DS.usable():
			// Without the analyser the ratio to the feed still holds; the
			// trim restarts from zero when the DS can be read again.
			u.ffOnly = badInput("ds", in.DS.Quality)
			u.pid.Restart()
		case in.Level.Value < u.cfg.TrimMinLevelPct:
			u.ffOnly = cause{code: causeLowLevel, v: in.Level.Value, limit: u.cfg.TrimMinLevelPct}
			u.pid.Restart()
		default:
			u.ffOnly = cause{}
			trim = u.pid.Update(now, u.p.DSTargetPct, in.DS.Value)
		}
		o.FeedForward, o.Trim = ff, trim
		o.WaterFlowSP = clamp(ff+trim, 0, u.cfg.MaxWaterFlow)
		o.WaterValve = o.WaterFlowSP > 0
	} else {
		// Valve shut; the trim restarts from zero integral when dosing
		// resumes, acting on the error then, so a hold does not dump
		// accumulated trim.
		u.pid.Restart()
	}
	o.Mixer = u.mixer.Outputs()
	u.out = o
	return o
}

// dilutionBlock says why water may not be dosed now, or causeNone.
func (u *Pulper) dilutionBlock(to TankOutputs) cause {
	switch {
	case u.mode != DilutionAuto:
		return cause{code: causeDilutionOff}
	case u.mixer.State() != Running:
		return cause{code: causeMixerStopped}
	case !u.in.Level.usable():
		return badInput("level", u.in.Level.Quality)
	case to.HighHigh:
		return cause{code: causeHighHigh, v: to.LevelPct, limit: u.cfg.Tank.HighHighPct}
	case !u.in.FeedRate.usable():
		return badInput("feed_rate", u.in.FeedRate.Quality)
	}
	return cause{}
}

// Outputs returns the outputs of the last Step, with the mixer command as
// of the last command.
func (u *Pulper) Outputs() PulperOutputs {
	o := u.out
	o.Mixer = u.mixer.Outputs()
	return o
}

// SetDilution turns dilution dosing on (DilutionAuto) or off.
func (u *Pulper) SetDilution(m DilutionMode) { u.mode = m }

// Dilution returns the dilution mode.
func (u *Pulper) Dilution() DilutionMode { return u.mode }

// Dosing reports whether dilution water may flow as of the last Step.
func (u *Pulper) Dosing() bool { return u.dil.code == causeNone }

// DilutionReason says why no dilution water is dosed, or, while dosing on
// the feed-forward alone, why the DS trim is out; "" while dosing with the
// trim.
func (u *Pulper) DilutionReason() string {
	if u.dil.code == causeNone && u.ffOnly.code != causeNone {
		return "feed-forward only: " + u.ffOnly.String()
	}
	return u.dil.String()
}

// Start starts the mixer. Refused while faulted, running down, or while a
// permissive (the level above the mixer's minimum among them) is not met.
func (u *Pulper) Start() error {
	if u.mixer.State() == Stopped {
		if p, unmet := firstUnmet(u.appendPermissives(u.perm[:0])); unmet {
			return refuse(u.cfg.Mixer.Name, "start", ErrNotPermitted, p.Why)
		}
	}
	return u.mixer.Start(Forward)
}

// Stop stops the mixer (dilution stops with it).
func (u *Pulper) Stop() { u.mixer.Stop() }

// StopFor stops the mixer with the caller's reason.
func (u *Pulper) StopFor(why string) { u.mixer.StopFor(why) }

// Reset clears a latched mixer fault (refused while the trip is active).
func (u *Pulper) Reset() error { return u.mixer.Reset() }

// State returns the mixer's state.
func (u *Pulper) State() RunState { return u.mixer.State() }

// LevelState returns the pulper level's state.
func (u *Pulper) LevelState() LevelState { return u.tank.State() }

// LevelReason says what is abnormal about the level; "" when normal.
func (u *Pulper) LevelReason() string { return u.tank.Reason() }

func (u *Pulper) appendPermissives(dst []Permissive) []Permissive {
	dst = u.mixer.appendPermissives(dst)
	if minLevel := u.cfg.MixerMinLevelPct; minLevel > 0 {
		p := inputPermissive("level_above_mixer_minimum", "level", u.in.Level.Quality)
		if p.Met && !(u.in.Level.usable() && u.in.Level.Value >= minLevel) {
			p = Permissive{Name: "level_above_mixer_minimum", Why: cause{code: causeLowLevel, v: u.in.Level.Value, limit: minLevel}.String()}
		}
		dst = append(dst, p)
	}
	return dst
}

// Permissives returns every start condition of the mixer with whether it is
// met, as of the last Step.
func (u *Pulper) Permissives() []Permissive { return u.appendPermissives(nil) }

// Reason says why the mixer is stopped, faulted or not ready; "" while it
// runs as commanded. DilutionReason and LevelReason cover water and level.
func (u *Pulper) Reason() string {
	return reasonWithPermissives(u.mixer.State(), u.mixer.cause, u.Permissives())
}
