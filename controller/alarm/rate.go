package alarm

import "time"

// RateWindow is the window of the alarm rate (ISA-18.2 counts alarms
// annunciated per 10 minutes per operator; more than 10 is a flood).
const RateWindow = 10 * time.Minute

// raises keeps the times alarms were annunciated (moved to Unacknowledged
// from any other state: a new alarm, a re-raise from returned-
// unacknowledged, or a shelf ending on an active condition) within the
// last RateWindow, oldest first, as a queue over a slice that is compacted
// in place: once grown it does not allocate.
type raises struct {
	t    []time.Time
	head int
}

// add records an annunciation at now and forgets those older than the
// window.
func (r *raises) add(now time.Time) {
	r.prune(now)
	if r.head > 0 && len(r.t) == cap(r.t) {
		n := copy(r.t, r.t[r.head:])
		r.t, r.head = r.t[:n], 0
	}
	r.t = append(r.t, now)
}

// prune forgets the annunciations at or before now - RateWindow.
func (r *raises) prune(now time.Time) {
	for r.head < len(r.t) && now.Sub(r.t[r.head]) >= RateWindow {
		r.head++
	}
	if r.head == len(r.t) {
		r.t, r.head = r.t[:0], 0
	}
}

// count is the number of annunciations in (now - RateWindow, now].
func (r *raises) count(now time.Time) int {
	n := 0
	for i := len(r.t) - 1; i >= r.head && now.Sub(r.t[i]) < RateWindow; i-- {
		n++
	}
	return n
}

// Annunciated returns how many alarms were annunciated (moved to
// unacknowledged, re-raises included) in the RateWindow of plant time
// before now. It does not allocate.
func (s *Set) Annunciated(now time.Time) int { return s.raised.count(now) }
