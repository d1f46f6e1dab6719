package alarm

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Kind is what makes an alarm's condition active.
type Kind string

// Kinds. The limit kinds compare the tag's value with Limit; high and
// high_high behave the same (as do low and low_low) and differ in meaning
// and usually in priority, which ValidateAll cross-checks per tag.
const (
	KindHigh       Kind = "high"        // active when value > limit; clears when value <= limit - deadband
	KindHighHigh   Kind = "high_high"   // as high, a second stage above it
	KindLow        Kind = "low"         // active when value < limit; clears when value >= limit + deadband
	KindLowLow     Kind = "low_low"     // as low, a second stage below it
	KindBadQuality Kind = "bad_quality" // active while the tag's quality is not good (bad, uncertain or never received)
	KindDigital    Kind = "digital"     // active while value != 0
	// KindCommLoss watches a device, not a tag: active while the device
	// is not answering, or has reconnected and its outputs are still being
	// written again. It names the device in Device.
	KindCommLoss Kind = "comm_loss"
)

var kinds = []Kind{KindHigh, KindHighHigh, KindLow, KindLowLow, KindBadQuality, KindDigital, KindCommLoss}

// DeviceTag is the input name a comm_loss alarm watches for device: the
// controller answers it with a good 1 while the device is synchronised and
// a bad quality otherwise. It cannot clash with a tag ("@" is not allowed
// in tags).
func DeviceTag(device string) string { return "@" + device }

// Watched returns the input the alarm evaluates: its tag, or for a
// comm_loss alarm its device's DeviceTag.
func (d *Definition) Watched() string {
	if d.Kind == KindCommLoss {
		return DeviceTag(d.Device)
	}
	return d.Tag
}

// usesLimit reports whether the kind compares the value with Limit.
func (k Kind) usesLimit() bool {
	switch k {
	case KindHigh, KindHighHigh, KindLow, KindLowLow:
		return true
	}
	return false
}

// Priority is how urgently an operator must act. The HMI orders the alarm
// list by it.
type Priority string

// Priorities, most urgent first.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityMedium   Priority = "medium"
	PriorityLow      Priority = "low"
)

var priorities = []Priority{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow}

// Rank orders priorities: 0 for critical up to 3 for low, and 4 for an
// unknown priority (which validation refuses) so that it sorts last.
func (p Priority) Rank() int {
	for i, q := range priorities {
		if p == q {
			return i
		}
	}
	return len(priorities)
}

// Definition is one alarm as the plant file declares it, in a list under
// the file's alarms key.
type Definition struct {
	// Name identifies the alarm in the journal, the API and the historian;
	// unique within the plant. Letters, digits, '_', '-' and '.'.
	Name string `yaml:"name" json:"name"`
	// Tag is the tag whose value (or quality) the alarm watches.
	Tag  string `yaml:"tag" json:"tag"`
	Kind Kind   `yaml:"kind" json:"kind"`
	// Device is the device a comm_loss alarm watches (only that kind).
	Device string `yaml:"device,omitempty" json:"device,omitempty"`
	// Limit is the trip value of a limit kind, in the tag's engineering
	// units. Not used by bad_quality and digital.
	Limit float64 `yaml:"limit,omitempty" json:"limit,omitempty"`
	// Deadband, in engineering units, is how far the value must come back
	// past the limit before the condition clears, so that a value hovering
	// at the limit does not raise the alarm again and again.
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
	// OnDelay is how long the condition must hold before the alarm becomes
	// active; OffDelay how long it must stay clear before it returns to
	// normal. Zero acts on the first scan.
	OnDelay  time.Duration `yaml:"on_delay,omitempty" json:"on_delay,omitempty"`
	OffDelay time.Duration `yaml:"off_delay,omitempty" json:"off_delay,omitempty"`
	Priority Priority      `yaml:"priority" json:"priority"`
	// Unit names the equipment the alarm belongs to. While that unit is not
	// running the alarm is suppressed by design (a low-flow alarm means
	// nothing on a stopped pump). Empty: never suppressed by design.
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Message is the text the operator reads, e.g. "Pulper level high".
	Message string `yaml:"message" json:"message"`
}

// Validate checks one definition on its own and returns every problem,
// each with a YAML path relative to the definition's list entry (e.g.
// "limit"), as drivers.DeviceConfig.Validate does. Uniqueness and the
// tags and units the plant knows are checked by ValidateAll.
func (d *Definition) Validate() []*drivers.ConfigError {
	var errs []*drivers.ConfigError
	add := func(path, format string, args ...any) {
		errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case d.Name == "":
		add("name", "an alarm needs a name")
	case strings.IndexFunc(d.Name, func(r rune) bool { return !nameRune(r) }) >= 0:
		add("name", "alarm name %q may hold only letters, digits, '_', '-' and '.'", d.Name)
	}
	switch {
	case d.Kind == KindCommLoss:
		if d.Device == "" {
			add("device", "a comm_loss alarm needs the device it watches")
		}
		if d.Tag != "" {
			add("tag", "a comm_loss alarm watches a device, not a tag; remove tag")
		}
	case d.Tag == "":
		add("tag", "an alarm needs the tag it watches")
	case d.Device != "":
		add("device", "device applies to comm_loss alarms only")
	}
	switch {
	case d.Kind == "":
		add("kind", "an alarm needs a kind; allowed: %s", kindList())
	case d.Kind.usesLimit():
		if math.IsNaN(d.Limit) || math.IsInf(d.Limit, 0) {
			add("limit", "limit %g is not a finite number", d.Limit)
		}
		if math.IsNaN(d.Deadband) || math.IsInf(d.Deadband, 0) || d.Deadband < 0 {
			add("deadband", "deadband %g must be a finite number of engineering units, zero or more", d.Deadband)
		}
	case d.Kind == KindBadQuality || d.Kind == KindDigital || d.Kind == KindCommLoss:
		if d.Limit != 0 {
			add("limit", "a %s alarm has no limit; remove it", d.Kind)
		}
		if d.Deadband != 0 {
			add("deadband", "a %s alarm has no deadband; remove it (use off_delay to steady it)", d.Kind)
		}
	default:
		add("kind", "kind %q is not known; allowed: %s", d.Kind, kindList())
	}
	if d.OnDelay < 0 {
		add("on_delay", "on_delay %s is negative", d.OnDelay)
	}
	if d.OffDelay < 0 {
		add("off_delay", "off_delay %s is negative", d.OffDelay)
	}
	if d.Priority.Rank() == len(priorities) {
		if d.Priority == "" {
			add("priority", "an alarm needs a priority; allowed: %s", priorityList())
		} else {
			add("priority", "priority %q is not known; allowed: %s", d.Priority, priorityList())
		}
	}
	if strings.TrimSpace(d.Message) == "" {
		add("message", "an alarm needs a message telling the operator what is wrong")
	}
	return errs
}

func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func priorityList() string {
	s := make([]string, len(priorities))
	for i, p := range priorities {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// ValidateAll checks a list of definitions: each one (Validate), unique
// names, and, when the functions are not nil, that every tag is mapped
// (knownTag) and every unit exists (knownUnit). It also checks that on one
// tag a high_high limit lies above every high limit and a low_low limit
// below every low limit. Paths are relative to the list, e.g. "[3].limit";
// the plant-file loader prefixes its key ("$.alarms").
func ValidateAll(defs []Definition, knownTag, knownUnit func(string) bool) []*drivers.ConfigError {
	var errs []*drivers.ConfigError
	add := func(i int, field, format string, args ...any) {
		errs = append(errs, &drivers.ConfigError{Path: fmt.Sprintf("[%d].%s", i, field), Message: fmt.Sprintf(format, args...)})
	}
	first := map[string]int{}
	for i := range defs {
		d := &defs[i]
		for _, e := range d.Validate() {
			errs = append(errs, &drivers.ConfigError{Path: fmt.Sprintf("[%d].%s", i, e.Path), Message: e.Message})
		}
		if d.Name != "" {
			if j, ok := first[d.Name]; ok {
				add(i, "name", "alarm name %q is already used by alarms[%d]; names must be unique", d.Name, j)
			} else {
				first[d.Name] = i
			}
		}
		if d.Tag != "" && knownTag != nil && !knownTag(d.Tag) {
			add(i, "tag", "tag %q is not mapped on any device", d.Tag)
		}
		if d.Kind == KindCommLoss && d.Device != "" && knownTag != nil && !knownTag(DeviceTag(d.Device)) {
			add(i, "device", "device %q is not a device of this plant", d.Device)
		}
		if d.Unit != "" && knownUnit != nil && !knownUnit(d.Unit) {
			add(i, "unit", "unit %q is not a unit of this plant", d.Unit)
		}
	}
	// A second stage that trips before the first is a configuration slip
	// that would make the more urgent alarm come first.
	for i := range defs {
		d := &defs[i]
		var inner Kind
		switch d.Kind {
		case KindHighHigh:
			inner = KindHigh
		case KindLowLow:
			inner = KindLow
		default:
			continue
		}
		for j := range defs {
			e := &defs[j]
			if e.Tag != d.Tag || e.Kind != inner {
				continue
			}
			if d.Kind == KindHighHigh && d.Limit <= e.Limit {
				add(i, "limit", "high_high limit %g on tag %s must be above the high limit %g of alarm %s", d.Limit, d.Tag, e.Limit, e.Name)
			}
			if d.Kind == KindLowLow && d.Limit >= e.Limit {
				add(i, "limit", "low_low limit %g on tag %s must be below the low limit %g of alarm %s", d.Limit, d.Tag, e.Limit, e.Name)
			}
		}
	}
	return errs
}

// Settings are the plant-wide alarm settings. Zero fields take the
// defaults named on each.
type Settings struct {
	// MaxShelve is the longest an operator may shelve an alarm; default
	// 8h, one shift, so that no shelved alarm is forgotten across shifts.
	MaxShelve time.Duration `yaml:"max_shelve,omitempty" json:"max_shelve,omitempty"`
	// ChatterCount activations within ChatterWindow flag an alarm as
	// chattering; defaults 5 and 60s.
	ChatterCount  int           `yaml:"chatter_count,omitempty" json:"chatter_count,omitempty"`
	ChatterWindow time.Duration `yaml:"chatter_window,omitempty" json:"chatter_window,omitempty"`
	// ChatterQuiet is how long a chattering alarm must go without a new
	// activation before the flag clears; default ChatterWindow.
	ChatterQuiet time.Duration `yaml:"chatter_quiet,omitempty" json:"chatter_quiet,omitempty"`
	// JournalSize is how many transitions the in-memory journal keeps;
	// default 1024. The engine persists every transition; the journal is
	// only the recent history the HMI shows.
	JournalSize int `yaml:"journal_size,omitempty" json:"journal_size,omitempty"`
}

// Defaults.
const (
	DefaultMaxShelve     = 8 * time.Hour
	DefaultChatterCount  = 5
	DefaultChatterWindow = 60 * time.Second
	DefaultJournalSize   = 1024
)

// Validate checks the settings; paths are relative to the settings block.
func (s *Settings) Validate() []*drivers.ConfigError {
	var errs []*drivers.ConfigError
	add := func(path, format string, args ...any) {
		errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if s.MaxShelve < 0 {
		add("max_shelve", "max_shelve %s is negative", s.MaxShelve)
	}
	if s.ChatterCount < 0 || s.ChatterCount == 1 || s.ChatterCount > 100 {
		add("chatter_count", "chatter_count %d is out of range; allowed: 2 to 100 (0 for the default %d)", s.ChatterCount, DefaultChatterCount)
	}
	if s.ChatterWindow < 0 {
		add("chatter_window", "chatter_window %s is negative", s.ChatterWindow)
	}
	if s.ChatterQuiet < 0 {
		add("chatter_quiet", "chatter_quiet %s is negative", s.ChatterQuiet)
	}
	if s.JournalSize < 0 || s.JournalSize > 1<<20 {
		add("journal_size", "journal_size %d is out of range; allowed: 1 to %d (0 for the default %d)", s.JournalSize, 1<<20, DefaultJournalSize)
	}
	return errs
}

// withDefaults returns s with every zero field set to its default.
func (s Settings) withDefaults() Settings {
	if s.MaxShelve == 0 {
		s.MaxShelve = DefaultMaxShelve
	}
	if s.ChatterCount == 0 {
		s.ChatterCount = DefaultChatterCount
	}
	if s.ChatterWindow == 0 {
		s.ChatterWindow = DefaultChatterWindow
	}
	if s.ChatterQuiet == 0 {
		s.ChatterQuiet = s.ChatterWindow
	}
	if s.JournalSize == 0 {
		s.JournalSize = DefaultJournalSize
	}
	return s
}
