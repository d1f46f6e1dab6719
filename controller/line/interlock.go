package line

import (
	"fmt"
	"time"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
)

// interlockState is the scan's view of one interlock from the plant file.
type interlockState struct {
	cfg     *plant.Interlock
	device  string          // the device the tag is read from
	units   map[string]bool // units named
	active  bool
	since   time.Time
	value   float64
	quality drivers.Quality
}

// interlocks evaluates the plant file's interlocks once per scan and
// answers which units are tripped or not permitted to start, keeping the
// first-out: the first interlock to become active while none was.
type interlocks struct {
	list         []interlockState
	firstOut     string
	firstOutTime time.Time
	anyActive    bool
}

func newInterlocks(cfg *plant.File) *interlocks {
	il := &interlocks{}
	for i := range cfg.Interlocks {
		c := &cfg.Interlocks[i]
		st := interlockState{cfg: c, units: map[string]bool{}}
		if d, _ := cfg.Point(c.Tag); d != nil {
			st.device = d.Name
		}
		for _, u := range c.Units {
			st.units[u] = true
		}
		il.list = append(il.list, st)
	}
	return il
}

// evaluate updates every interlock from the inputs. A tag whose quality is
// not good makes its interlock active: a lost signal fails safe.
func (il *interlocks) evaluate(now time.Time, in Inputs) {
	was := il.anyActive
	il.anyActive = false
	first := ""
	for i := range il.list {
		s := &il.list[i]
		v, q := in.Get(s.cfg.Tag)
		active := !q.Good() ||
			(s.cfg.Above != nil && v > *s.cfg.Above) ||
			(s.cfg.Below != nil && v < *s.cfg.Below)
		if active && !s.active {
			s.since = now
			if first == "" {
				first = s.cfg.Name
			}
		}
		s.active, s.value, s.quality = active, v, q
		il.anyActive = il.anyActive || active
	}
	if !was && first != "" && il.firstOut == "" {
		il.firstOut, il.firstOutTime = first, now
	}
}

// resetFirstOut clears the first-out capture (operator reset).
func (il *interlocks) resetFirstOut() { il.firstOut, il.firstOutTime = "", time.Time{} }

// tripNaming returns the first active trip that names unit, or nil. What
// else it stops follows from the line's graph (Line.evaluateStops).
func (il *interlocks) tripNaming(unit string) *interlockState {
	for i := range il.list {
		s := &il.list[i]
		if s.active && s.cfg.Effect == plant.EffectTrip && s.units[unit] {
			return s
		}
	}
	return nil
}

// holdingTrip returns the first active trip that holds the line, or nil.
func (il *interlocks) holdingTrip() *interlockState {
	for i := range il.list {
		s := &il.list[i]
		if s.active && s.cfg.Effect == plant.EffectTrip && s.cfg.HoldLine {
			return s
		}
	}
	return nil
}

// permissives lists every active permissive that keeps unit from starting.
func (il *interlocks) permissives(unit string) []*interlockState {
	var out []*interlockState
	for i := range il.list {
		s := &il.list[i]
		if s.active && s.cfg.Effect == plant.EffectPermissive && s.units[unit] {
			out = append(out, s)
		}
	}
	return out
}

func (s *interlockState) describe() string {
	if why := commCause(s.device, s.quality); why != "" {
		// The input stands for something else when it is good (an e-stop,
		// a drive fault): say what is really wrong.
		return fmt.Sprintf("%s: interlock %s cannot be evaluated", why, s.cfg.Name)
	}
	cond := ""
	switch {
	case !s.quality.Good():
		cond = fmt.Sprintf("%s is %s", s.cfg.Tag, s.quality)
	case s.cfg.Above != nil:
		cond = fmt.Sprintf("%s = %g above %g", s.cfg.Tag, s.value, *s.cfg.Above)
	default:
		cond = fmt.Sprintf("%s = %g below %g", s.cfg.Tag, s.value, *s.cfg.Below)
	}
	if s.cfg.Message != "" {
		return fmt.Sprintf("interlock %s (%s): %s", s.cfg.Name, cond, s.cfg.Message)
	}
	return fmt.Sprintf("interlock %s (%s)", s.cfg.Name, cond)
}

// commCause says why a device's input is not good when the reason is the
// device's connection, or "" for any other quality.
func commCause(device string, q drivers.Quality) string {
	if device == "" {
		device = "its device"
	}
	switch q {
	case drivers.QualityBadCommFailure, drivers.QualityUnknown:
		return device + " not answering"
	case drivers.QualityBadResync:
		return device + " reconnected and its outputs are being written again"
	}
	return ""
}
