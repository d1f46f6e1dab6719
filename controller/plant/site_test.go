package plant

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func TestSiteCalendarOfShippedPlants(t *testing.T) {
	for name, src := range Shipped() {
		f, err := Parse(name, src)
		if err != nil {
			t.Fatal(err)
		}
		loc, day, shifts := f.Calendar()
		if loc.String() != "Asia/Hong_Kong" || day != 7*time.Hour {
			t.Errorf("%s: calendar %v %v", name, loc, day)
		}
		want := []Shift{{"A", 7 * time.Hour}, {"B", 15 * time.Hour}, {"C", 23 * time.Hour}}
		if len(shifts) != 3 || shifts[0] != want[0] || shifts[1] != want[1] || shifts[2] != want[2] {
			t.Errorf("%s: shifts %v, want %v", name, shifts, want)
		}
		if r := f.Reports(); r.Dir != "reports" || !r.Shift || !r.Daily {
			t.Errorf("%s: reports %+v", name, r)
		}
	}
}

// siteSample is the sample with its site section replaced by site.
func siteSample(t *testing.T, site string) string {
	s := string(Sample())
	i := strings.Index(s, "\nsite:")
	if i < 0 {
		t.Fatal("sample has no site section")
	}
	j := strings.LastIndex(s[:i], "\n\n")
	return s[:j] + "\n" + site
}

func TestSiteDefaults(t *testing.T) {
	f, err := Parse("sample.yaml", []byte(siteSample(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	loc, day, shifts := f.Calendar()
	if loc != time.UTC || day != 0 || len(shifts) != 0 {
		t.Errorf("defaults: %v %v %v", loc, day, shifts)
	}
	f, err = Parse("sample.yaml", []byte(siteSample(t, "site:\n  timezone: Europe/London\n  day_start: \"06:30\"\n  shifts:\n    - {name: day, start: \"00:00\"}\n    - {name: night, start: \"23:59\"}\n")))
	if err != nil {
		t.Fatal(err)
	}
	loc, day, shifts = f.Calendar()
	if loc.String() != "Europe/London" || day != 6*time.Hour+30*time.Minute || len(shifts) != 2 || shifts[1].Start != 23*time.Hour+59*time.Minute {
		t.Errorf("got %v %v %v", loc, day, shifts)
	}
}

func TestSiteErrorsNameLineAndColumn(t *testing.T) {
	base := strings.Count(siteSample(t, ""), "\n") + 1 // the line "site:" is on
	cases := []struct {
		name, site string
		want       string
		line, col  int
	}{
		{"unknown zone", "site:\n  timezone: Asia/Hongkong_X\n", "$.site.timezone: time zone \"Asia/Hongkong_X\" is not known; allowed: an IANA time zone name", 1, 13},
		{"local zone", "site:\n  timezone: Local\n", "is not known", 1, 13},
		{"bad day start", "site:\n  day_start: \"7:00\"\n", "$.site.day_start: day_start \"7:00\" is not a time of day; allowed: \"HH:MM\" from 00:00 to 23:59", 1, 14},
		{"day start out of range", "site:\n  day_start: \"24:00\"\n", "is not a time of day", 1, 14},
		{"shift without name", "site:\n  shifts:\n    - {start: \"07:00\"}\n", "$.site.shifts[0]: a shift needs a name", 2, 7},
		{"shift twice", "site:\n  shifts:\n    - {name: A, start: \"07:00\"}\n    - {name: A, start: \"15:00\"}\n", "$.site.shifts[1].name: shift name \"A\" is used twice", 3, 14},
		{"shifts out of order", "site:\n  shifts:\n    - {name: A, start: \"15:00\"}\n    - {name: B, start: \"07:00\"}\n", "$.site.shifts[1].start: shift B starts at 07:00, not after the shift before it", 3, 24},
		{"shift start bad", "site:\n  shifts:\n    - {name: A, start: \"7h\"}\n", "$.site.shifts[0].start: shift start \"7h\" is not a time of day", 2, 24},
		{"unknown key", "site:\n  reports: {dir: r, weekly: true}\n", "unknown key \"weekly\"", 1, 21},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("sample.yaml", []byte(siteSample(t, c.site)))
			var es yamlsrc.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %v, want located errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if es[0].Line != base+c.line || es[0].Column != c.col {
				t.Errorf("at %d:%d, want %d:%d (%v)", es[0].Line, es[0].Column, base+c.line, c.col, err)
			}
		})
	}
}
