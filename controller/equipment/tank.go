package equipment

import (
	"fmt"
	"math"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// TankConfig sets a tank's level thresholds, in % of span.
type TankConfig struct {
	Name                                    string
	LowLowPct, LowPct, HighPct, HighHighPct float64
	// HysteresisPct is how far the level must come back past a threshold
	// before its flag clears, so that a surface with waves does not chatter
	// the pumps and the feed (default 2 %).
	HysteresisPct float64
}

func (c *TankConfig) check() error {
	if c.HysteresisPct == 0 {
		c.HysteresisPct = 2
	}
	for _, v := range []float64{c.LowLowPct, c.LowPct, c.HighPct, c.HighHighPct, c.HysteresisPct} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: tank %s: thresholds must be finite", ErrInvalid, c.Name)
		}
	}
	if !(c.LowLowPct < c.LowPct && c.LowPct < c.HighPct && c.HighPct < c.HighHighPct) {
		return fmt.Errorf("%w: tank %s: thresholds must rise LL < L < H < HH; got %g, %g, %g, %g",
			ErrInvalid, c.Name, c.LowLowPct, c.LowPct, c.HighPct, c.HighHighPct)
	}
	if c.HysteresisPct < 0 {
		return fmt.Errorf("%w: tank %s: HysteresisPct must be ≥ 0", ErrInvalid, c.Name)
	}
	return nil
}

// TankInputs is what the plant tells the tank each scan.
type TankInputs struct {
	Level Analog // %
}

// TankOutputs is the tank's view of its level for the modules around it.
type TankOutputs struct {
	LevelPct float64
	Quality  drivers.Quality
	// Threshold flags, each with hysteresis. They keep their last values
	// while the level is not good.
	LowLow, Low, High, HighHigh bool
	// StopFeed: stop whatever fills the tank (HH, or the level cannot be seen).
	StopFeed bool
	// StopPump: stop whatever draws from the tank (LL, or the level cannot
	// be seen): dry-run protection.
	StopPump bool
}

// LowLowSignal returns the LL flag as a binary input for a Pump drawing
// from this tank (bad when the level is bad).
func (o TankOutputs) LowLowSignal() Digital { return Digital{On: o.LowLow, Quality: o.Quality} }

// LevelState summarises a tank's level.
type LevelState uint8

// Level states, most severe high or low first when several flags are set.
const (
	LevelBad      LevelState = iota // the level input is not good
	LevelLowLow                     // at or below LL
	LevelLow                        // at or below L
	LevelNormal                     // between L and H
	LevelHigh                       // at or above H
	LevelHighHigh                   // at or above HH
)

var levelStateNames = [...]string{LevelBad: "bad", LevelLowLow: "low_low", LevelLow: "low", LevelNormal: "normal", LevelHigh: "high", LevelHighHigh: "high_high"}

// String returns the state's name as the API shows it.
func (s LevelState) String() string {
	if int(s) < len(levelStateNames) {
		return levelStateNames[s]
	}
	return fmt.Sprintf("level_state(%d)", uint8(s))
}

// Tank watches a level against LL/L/H/HH with hysteresis and says when the
// feed into it and the pumps out of it must stop.
type Tank struct {
	cfg TankConfig
	out TankOutputs
}

// NewTank checks cfg and returns a tank whose level is not yet known (bad).
func NewTank(cfg TankConfig) (*Tank, error) {
	t := &Tank{}
	if err := t.init(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tank) init(cfg TankConfig) error {
	if err := cfg.check(); err != nil {
		return err
	}
	*t = Tank{cfg: cfg, out: TankOutputs{StopFeed: true, StopPump: true}}
	return nil
}

// Config returns the tank's configuration.
func (t *Tank) Config() TankConfig { return t.cfg }

// Step evaluates the level at plant time now (the tank keeps no timers; now
// is taken for uniformity with the other modules).
func (t *Tank) Step(_ time.Time, in TankInputs) TankOutputs {
	o := &t.out
	o.LevelPct, o.Quality = in.Level.Value, in.Level.Quality
	if !in.Level.usable() {
		if in.Level.Quality.Good() {
			o.Quality = drivers.QualityBadOutOfRange // a NaN is not a level
		}
		o.StopFeed, o.StopPump = true, true
		return *o
	}
	l, h := in.Level.Value, t.cfg.HysteresisPct
	o.LowLow = lowFlag(o.LowLow, l, t.cfg.LowLowPct, h)
	o.Low = lowFlag(o.Low, l, t.cfg.LowPct, h)
	o.High = highFlag(o.High, l, t.cfg.HighPct, h)
	o.HighHigh = highFlag(o.HighHigh, l, t.cfg.HighHighPct, h)
	o.StopFeed, o.StopPump = o.HighHigh, o.LowLow
	return *o
}

// highFlag sets at or above limit and clears below limit − hyst.
func highFlag(was bool, level, limit, hyst float64) bool {
	if level >= limit {
		return true
	}
	return was && level >= limit-hyst
}

// lowFlag sets at or below limit and clears above limit + hyst.
func lowFlag(was bool, level, limit, hyst float64) bool {
	if level <= limit {
		return true
	}
	return was && level <= limit+hyst
}

// Outputs returns the outputs of the last Step.
func (t *Tank) Outputs() TankOutputs { return t.out }

// State summarises the level as of the last Step.
func (t *Tank) State() LevelState {
	o := t.out
	switch {
	case !o.Quality.Good():
		return LevelBad
	case o.HighHigh:
		return LevelHighHigh
	case o.LowLow:
		return LevelLowLow
	case o.High:
		return LevelHigh
	case o.Low:
		return LevelLow
	}
	return LevelNormal
}

// Reason says why feed or pumps are stopped, or what is abnormal; "" when
// the level is normal.
func (t *Tank) Reason() string {
	o := t.out
	switch t.State() {
	case LevelBad:
		return fmt.Sprintf("level input is %s: feed and pumps stopped", o.Quality)
	case LevelHighHigh:
		return fmt.Sprintf("level %.1f %% at or above high-high (%.1f %%): feed stopped", o.LevelPct, t.cfg.HighHighPct)
	case LevelLowLow:
		return fmt.Sprintf("level %.1f %% at or below low-low (%.1f %%): pumps stopped", o.LevelPct, t.cfg.LowLowPct)
	case LevelHigh:
		return fmt.Sprintf("level %.1f %% high (H %.1f %%)", o.LevelPct, t.cfg.HighPct)
	case LevelLow:
		return fmt.Sprintf("level %.1f %% low (L %.1f %%)", o.LevelPct, t.cfg.LowPct)
	}
	return ""
}
