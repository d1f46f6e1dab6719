package plant

import (
	"fmt"
	"strings"
	"time"
	// The zone database is embedded so that a site's timezone resolves on
	// a controller without one installed.
	_ "time/tzdata"
)

// Site describes the plant's calendar (time zone, start of the production
// day, shifts) and where scheduled reports go. Every key is optional.
type Site struct {
	// Timezone is an IANA zone name (e.g. Asia/Hong_Kong); default UTC.
	Timezone string `yaml:"timezone"`
	// DayStart is when the production day starts, "HH:MM" local time;
	// default 00:00.
	DayStart string `yaml:"day_start"`
	// Shifts are the shifts of a day, in order of start time; none means
	// the day is one shift.
	Shifts []ShiftConfig `yaml:"shifts"`
	// Reports says where scheduled report files go and which are written.
	Reports ReportsConfig `yaml:"reports"`

	loc      *time.Location
	dayStart time.Duration
	shifts   []Shift
}

// ShiftConfig is one shift as the plant file gives it.
type ShiftConfig struct {
	Name  string `yaml:"name"`
	Start string `yaml:"start"` // "HH:MM" local time
}

// Shift is one shift of the production day: its name and when it starts,
// as a time of day (local time, since midnight).
type Shift struct {
	Name  string
	Start time.Duration
}

// ReportsConfig says where scheduled reports go: Dir (relative paths are
// taken against the plant file's directory), and whether a report is
// written at the end of each shift and of each production day.
type ReportsConfig struct {
	Dir   string `yaml:"dir"`
	Shift bool   `yaml:"shift"`
	Daily bool   `yaml:"daily"`
}

// Calendar returns the plant's time zone, the start of its production day
// (time of day, local) and its shifts in start order (none: one shift per
// day). A file that passed Parse always has a location.
func (f *File) Calendar() (loc *time.Location, dayStart time.Duration, shifts []Shift) {
	loc = f.Site.loc
	if loc == nil {
		loc = time.UTC
	}
	return loc, f.Site.dayStart, append([]Shift(nil), f.Site.shifts...)
}

// Reports returns where scheduled reports go (the site's reports key).
func (f *File) Reports() ReportsConfig { return f.Site.Reports }

// parseClock reads "HH:MM" (00:00 to 23:59) as a time of day.
func parseClock(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	var h, m int
	for _, c := range s[:2] + s[3:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// checkSite checks the site section and works out its calendar.
func (f *File) checkSite(add func(path, format string, args ...any)) {
	s := &f.Site
	s.loc = time.UTC
	if s.Timezone != "" {
		loc, err := time.LoadLocation(s.Timezone)
		switch {
		case err != nil || strings.EqualFold(s.Timezone, "local"):
			add("$.site.timezone", "time zone %q is not known; allowed: an IANA time zone name such as UTC, Europe/London or Asia/Hong_Kong", s.Timezone)
		default:
			s.loc = loc
		}
	}
	if s.DayStart != "" {
		d, ok := parseClock(s.DayStart)
		if !ok {
			add("$.site.day_start", "day_start %q is not a time of day; allowed: \"HH:MM\" from 00:00 to 23:59", s.DayStart)
		}
		s.dayStart = d
	}
	names := map[string]bool{}
	s.shifts = nil
	var prev time.Duration = -1
	for i, sh := range s.Shifts {
		p := fmt.Sprintf("$.site.shifts[%d]", i)
		switch {
		case sh.Name == "":
			add(p, "a shift needs a name")
		case names[sh.Name]:
			add(p+".name", "shift name %q is used twice; names must be unique", sh.Name)
		}
		names[sh.Name] = true
		d, ok := parseClock(sh.Start)
		if !ok {
			add(p+".start", "shift start %q is not a time of day; allowed: \"HH:MM\" from 00:00 to 23:59", sh.Start)
			continue
		}
		if d <= prev {
			add(p+".start", "shift %s starts at %s, not after the shift before it; list shifts in order of start time, each later than the last", sh.Name, sh.Start)
		}
		prev = d
		s.shifts = append(s.shifts, Shift{Name: sh.Name, Start: d})
	}
}
