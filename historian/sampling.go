package historian

import (
	"fmt"
	"math"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// SamplingMode says which of a tag's samples the historian records.
type SamplingMode uint8

// Sampling modes.
const (
	// SampleAll records every sample handed in (the scan hands in a tag's
	// sample each time its source time changes). It is the zero value.
	SampleAll SamplingMode = iota
	// SampleOnChange records a sample when its value differs from the last
	// recorded one by more than Deadband, when its quality or reason
	// differs, or when MaxInterval has passed since the last recorded one
	// (the heartbeat), whichever comes first.
	SampleOnChange
	// SamplePeriodic records the first sample at least Interval after the
	// last recorded one (and any change of quality, which is never hidden).
	SamplePeriodic
)

// String returns the mode's configuration name.
func (m SamplingMode) String() string {
	switch m {
	case SampleAll:
		return "all"
	case SampleOnChange:
		return "on_change"
	case SamplePeriodic:
		return "periodic"
	}
	return fmt.Sprintf("sampling(%d)", uint8(m))
}

// Sampling is one tag's recording policy. Times are plant time (sample
// source times), so a faster-than-real-time rig keeps the same density.
type Sampling struct {
	Mode SamplingMode
	// Deadband is the absolute change, in the tag's engineering units,
	// that SampleOnChange must see; 0 records every change of value.
	Deadband float64
	// MaxInterval is SampleOnChange's heartbeat; 0 means none.
	MaxInterval time.Duration
	// Interval is SamplePeriodic's period; it must be > 0.
	Interval time.Duration
}

func (s Sampling) validate(tag string) error {
	switch {
	case s.Mode > SamplePeriodic:
		return fmt.Errorf("historian: sampling for %q: unknown mode %d", tag, s.Mode)
	case s.Deadband < 0 || math.IsNaN(s.Deadband) || s.MaxInterval < 0:
		return fmt.Errorf("historian: sampling for %q: deadband and max interval must not be negative", tag)
	case s.Mode == SamplePeriodic && s.Interval <= 0:
		return fmt.Errorf("historian: sampling for %q: periodic needs an interval > 0", tag)
	}
	return nil
}

// sampler applies the policies. It is used under Historian.mu.
type sampler struct {
	byTag map[string]Sampling
	def   Sampling
	last  map[string]*lastRecorded
}

// lastRecorded is what a tag last recorded.
type lastRecorded struct {
	value   float64
	quality drivers.Quality
	reason  string
	time    time.Time
}

// newSampler returns nil when every tag records everything, so that the
// common case costs nothing.
func newSampler(byTag map[string]Sampling, def Sampling) (*sampler, error) {
	if err := def.validate("default"); err != nil {
		return nil, err
	}
	all := def.Mode == SampleAll
	for tag, s := range byTag {
		if err := s.validate(tag); err != nil {
			return nil, err
		}
		all = all && s.Mode == SampleAll
	}
	if all {
		return nil, nil
	}
	return &sampler{byTag: byTag, def: def, last: map[string]*lastRecorded{}}, nil
}

// keep says whether s is recorded, and remembers it when it is. It
// allocates only the first time it sees a tag.
func (sp *sampler) keep(s *drivers.Sample) bool {
	pol, ok := sp.byTag[s.Tag]
	if !ok {
		pol = sp.def
	}
	if pol.Mode == SampleAll {
		return true
	}
	l := sp.last[s.Tag]
	if l == nil {
		sp.last[s.Tag] = &lastRecorded{value: s.Value, quality: s.Quality, reason: s.Reason, time: s.Time}
		return true
	}
	since := s.Time.Sub(l.time)
	rec := s.Quality != l.quality || s.Reason != l.reason || since < 0 // a clock step back: record, start over
	switch pol.Mode {
	case SampleOnChange:
		rec = rec || changed(l.value, s.Value, pol.Deadband) ||
			(pol.MaxInterval > 0 && since >= pol.MaxInterval)
	case SamplePeriodic:
		rec = rec || since >= pol.Interval
	}
	if rec {
		l.value, l.quality, l.reason, l.time = s.Value, s.Quality, s.Reason, s.Time
	}
	return rec
}

// changed compares with the deadband; a move into or out of NaN is a change.
func changed(old, v, deadband float64) bool {
	if math.IsNaN(old) || math.IsNaN(v) {
		return math.IsNaN(old) != math.IsNaN(v)
	}
	if deadband == 0 {
		return v != old
	}
	return math.Abs(v-old) > deadband
}
