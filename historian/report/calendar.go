package report

import (
	"fmt"
	"time"
)

// Shift is one shift of the plant: its name and its start as an offset
// from local midnight. It ends where the next shift starts; the last one
// of the day ends where the first one starts the next day.
type Shift struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"start"`
}

// Calendar is the plant's local time and shifts.
type Calendar struct {
	// Location is the plant's time zone; nil is UTC.
	Location *time.Location
	// DayStart is the offset of the production day's start from local
	// midnight (0 = midnight), 0 ≤ DayStart < 24 h.
	DayStart time.Duration
	// Shifts are sorted by Start; empty is one shift "day" that starts
	// with the production day.
	Shifts []Shift
}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Validate reports a calendar that cannot be used.
func (c Calendar) Validate() error {
	if c.DayStart < 0 || c.DayStart >= 24*time.Hour {
		return fmt.Errorf("report: day start %v is not within a day (0 ≤ start < 24h)", c.DayStart)
	}
	for i, s := range c.Shifts {
		if s.Name == "" {
			return fmt.Errorf("report: shift %d has no name", i+1)
		}
		if s.Start < 0 || s.Start >= 24*time.Hour {
			return fmt.Errorf("report: shift %q starts at %v, not within a day", s.Name, s.Start)
		}
		if i > 0 && s.Start <= c.Shifts[i-1].Start {
			return fmt.Errorf("report: shift %q does not start after %q (shifts must be sorted by start)", s.Name, c.Shifts[i-1].Name)
		}
	}
	return nil
}

func (c Calendar) shifts() []Shift {
	if len(c.Shifts) == 0 {
		return []Shift{{Name: "day", Start: c.DayStart}}
	}
	return c.Shifts
}

// at is the instant of the wall-clock time off after local midnight of
// the calendar date y-m-d. time.Date normalises a wall time that a DST
// change skips or repeats; the offset is split into h:m:s so that 06:00
// stays 06:00 on a day of 23 or 25 hours.
func (c Calendar) at(y int, m time.Month, d int, off time.Duration) time.Time {
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	s := int(off % time.Minute / time.Second)
	ns := int(off % time.Second)
	return time.Date(y, m, d, h, mi, s, ns, c.loc())
}

// Day is the production day containing t: its label (the local date on
// which it starts, "2026-12-07") and its start.
func (c Calendar) Day(t time.Time) (label string, start time.Time) {
	lt := t.In(c.loc())
	y, m, d := lt.Date()
	start = c.at(y, m, d, c.DayStart)
	if t.Before(start) {
		start = c.at(y, m, d-1, c.DayStart)
	}
	return start.Format("2006-01-02"), start
}

// dayAfter is the start of the production day after the one starting at
// start.
func (c Calendar) dayAfter(start time.Time) time.Time {
	y, m, d := start.In(c.loc()).Date()
	return c.at(y, m, d+1, c.DayStart)
}

// Shift is the shift containing t: its name, start and end.
func (c Calendar) Shift(t time.Time) (name string, start, end time.Time) {
	lt := t.In(c.loc())
	y, m, d := lt.Date()
	sh := c.shifts()
	var best int = -1
	var cands []time.Time
	var names []string
	for k := -1; k <= 1; k++ {
		for _, s := range sh {
			cands = append(cands, c.at(y, m, d+k, s.Start))
			names = append(names, s.Name)
		}
	}
	for i, st := range cands {
		if !st.After(t) && (best < 0 || st.After(cands[best])) {
			best = i
		}
	}
	if best < 0 { // cannot happen: yesterday's shifts start before t
		best = 0
	}
	end = cands[best].Add(24 * time.Hour)
	for _, st := range cands {
		if st.After(cands[best]) && st.Before(end) {
			end = st
		}
	}
	return names[best], cands[best], end
}

// shiftIndex is the position of the shift of that name in the day, for
// sorting; unknown names sort last.
func (c Calendar) shiftIndex(name string) int {
	for i, s := range c.shifts() {
		if s.Name == name {
			return i
		}
	}
	return len(c.shifts())
}
