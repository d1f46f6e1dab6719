package alarm

import (
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func errStrings(errs []*drivers.ConfigError) []string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

// TestDefinitionValidate lists each problem one definition can have, with
// its path and message.
func TestDefinitionValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Definition)
		want []string
	}{
		{"valid high", func(*Definition) {}, nil},
		{"valid digital", func(d *Definition) { d.Kind, d.Limit = KindDigital, 0 }, nil},
		{"valid bad_quality without unit", func(d *Definition) { d.Kind, d.Limit, d.Unit = KindBadQuality, 0, "" }, nil},
		{"empty", func(d *Definition) { *d = Definition{} }, []string{
			"name: an alarm needs a name",
			"tag: an alarm needs the tag it watches",
			"kind: an alarm needs a kind; allowed: high, high_high, low, low_low, bad_quality, digital, comm_loss",
			"priority: an alarm needs a priority; allowed: critical, high, medium, low",
			"message: an alarm needs a message telling the operator what is wrong",
		}},
		{"bad name", func(d *Definition) { d.Name = "level high" }, []string{`name: alarm name "level high" may hold only letters, digits, '_', '-' and '.'`}},
		{"unknown kind", func(d *Definition) { d.Kind = "above" }, []string{`kind: kind "above" is not known; allowed: high, high_high, low, low_low, bad_quality, digital, comm_loss`}},
		{"unknown priority", func(d *Definition) { d.Priority = "urgent" }, []string{`priority: priority "urgent" is not known; allowed: critical, high, medium, low`}},
		{"non-finite limit, negative deadband", func(d *Definition) { d.Limit, d.Deadband = math.Inf(1), -1 }, []string{
			"limit: limit +Inf is not a finite number",
			"deadband: deadband -1 must be a finite number of engineering units, zero or more",
		}},
		{"NaN deadband", func(d *Definition) { d.Kind, d.Deadband = KindLow, math.NaN() }, []string{
			"deadband: deadband NaN must be a finite number of engineering units, zero or more",
		}},
		{"digital with limit and deadband", func(d *Definition) { d.Kind, d.Deadband = KindDigital, 1 }, []string{
			"limit: a digital alarm has no limit; remove it",
			"deadband: a digital alarm has no deadband; remove it (use off_delay to steady it)",
		}},
		{"negative delays, blank message", func(d *Definition) { d.OnDelay, d.OffDelay, d.Message = -time.Second, -time.Millisecond, "  " }, []string{
			"on_delay: on_delay -1s is negative",
			"off_delay: off_delay -1ms is negative",
			"message: an alarm needs a message telling the operator what is wrong",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := def(c.mod)
			if got := errStrings(d.Validate()); !slices.Equal(got, c.want) {
				t.Errorf("Validate() =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// TestValidateAll checks the list-level rules and that paths are relative
// to the list.
func TestValidateAll(t *testing.T) {
	defs := []Definition{
		def(func(d *Definition) { d.Name, d.Kind, d.Limit = "hh", KindHighHigh, 80 }),
		def(func(d *Definition) { d.Name, d.Limit = "h", 90 }),
		def(func(d *Definition) { d.Name, d.Tag = "h", "nowhere" }),
		def(func(d *Definition) { d.Name, d.Kind, d.Limit = "ll", KindLowLow, 5 }),
		def(func(d *Definition) { d.Name, d.Kind, d.Limit, d.Unit = "l", KindLow, 4, "ghost" }),
		def(func(d *Definition) { d.Name, d.Priority = "", "" }),
	}
	known := func(set ...string) func(string) bool { return func(s string) bool { return slices.Contains(set, s) } }
	got := errStrings(ValidateAll(defs, known("x"), known("u")))
	want := []string{
		"[2].name: alarm name \"h\" is already used by alarms[1]; names must be unique",
		"[2].tag: tag \"nowhere\" is not mapped on any device",
		"[4].unit: unit \"ghost\" is not a unit of this plant",
		"[5].name: an alarm needs a name",
		"[5].priority: an alarm needs a priority; allowed: critical, high, medium, low",
		"[0].limit: high_high limit 80 on tag x must be above the high limit 90 of alarm h",
		"[3].limit: low_low limit 5 on tag x must be below the low limit 4 of alarm l",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ValidateAll =\n%q\nwant\n%q", got, want)
	}
	if errs := ValidateAll(defs[:2:2], nil, nil); len(errs) != 1 {
		t.Errorf("nil lookups should skip tag and unit checks: %q", errStrings(errs))
	}
}

// TestSettings checks defaults and validation.
func TestSettings(t *testing.T) {
	got := Settings{}.withDefaults()
	want := Settings{MaxShelve: 8 * time.Hour, ChatterCount: 5, ChatterWindow: time.Minute, ChatterQuiet: time.Minute, JournalSize: 1024}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	bad := Settings{MaxShelve: -1, ChatterCount: 1, ChatterWindow: -1, ChatterQuiet: -1, JournalSize: -1}
	wantErrs := []string{
		"max_shelve: max_shelve -1ns is negative",
		"chatter_count: chatter_count 1 is out of range; allowed: 2 to 100 (0 for the default 5)",
		"chatter_window: chatter_window -1ns is negative",
		"chatter_quiet: chatter_quiet -1ns is negative",
		"journal_size: journal_size -1 is out of range; allowed: 1 to 1048576 (0 for the default 1024)",
	}
	if got := errStrings(bad.Validate()); !slices.Equal(got, wantErrs) {
		t.Errorf("Validate() =\n%q\nwant\n%q", got, wantErrs)
	}
	s, err := NewSet(nil, Settings{ChatterWindow: 10 * time.Second})
	if err != nil || s.Settings().ChatterQuiet != 10*time.Second {
		t.Errorf("NewSet: %v; quiet defaults to the window: %+v", err, s.Settings())
	}
}

// TestNewSetRefusesBadConfig returns every problem, each a ConfigError.
func TestNewSetRefusesBadConfig(t *testing.T) {
	_, err := NewSet([]Definition{def(), def()}, Settings{ChatterCount: -1})
	if err == nil {
		t.Fatal("NewSet accepted a duplicate name and a bad setting")
	}
	var ce *drivers.ConfigError
	if !errors.As(err, &ce) || ce.Path != "[1].name" {
		t.Errorf("err = %v; want the first ConfigError at [1].name", err)
	}
	if !strings.Contains(err.Error(), "chatter_count -1 is out of range") {
		t.Errorf("err = %v; want the settings problem too", err)
	}
}

// TestDefinitionDecodesFromYAML decodes definitions and settings as the
// plant file will hold them, through the same strict decoder, so that the
// yaml tags and the duration fields are right.
func TestDefinitionDecodesFromYAML(t *testing.T) {
	src := []byte(`settings:
  max_shelve: 4h
  chatter_count: 3
alarms:
  - name: pulper_level_high
    tag: pulper.level
    kind: high
    limit: 2.6
    deadband: 0.1
    on_delay: 5s
    off_delay: 2s
    priority: high
    unit: pulper-1
    message: Pulper level high
  - name: press_comm
    tag: press.current
    kind: bad_quality
    priority: medium
    message: No data from the press drive
`)
	var f struct {
		Settings Settings     `yaml:"settings"`
		Alarms   []Definition `yaml:"alarms"`
	}
	doc, err := yamlsrc.Decode("plant.yaml", src, &f)
	if err != nil || doc.Err() != nil {
		t.Fatalf("decode: %v %v", err, doc.Err())
	}
	want := Definition{Name: "pulper_level_high", Tag: "pulper.level", Kind: KindHigh, Limit: 2.6, Deadband: 0.1,
		OnDelay: 5 * time.Second, OffDelay: 2 * time.Second, Priority: PriorityHigh, Unit: "pulper-1", Message: "Pulper level high"}
	if len(f.Alarms) != 2 || f.Alarms[0] != want || f.Alarms[1].Kind != KindBadQuality || f.Settings.MaxShelve != 4*time.Hour || f.Settings.ChatterCount != 3 {
		t.Errorf("decoded %+v", f)
	}
	if errs := ValidateAll(f.Alarms, nil, nil); len(errs) != 0 {
		t.Errorf("ValidateAll: %q", errStrings(errs))
	}
	// An unknown key is reported with its place, like every plant-file key.
	_, err = yamlsrc.Decode("plant.yaml", []byte("alarms:\n  - name: a\n    treshold: 3\n"), &f)
	if err == nil {
		doc, _ := yamlsrc.Decode("plant.yaml", []byte("alarms:\n  - name: a\n    treshold: 3\n"), &f)
		err = doc.Err()
	}
	if err == nil || !strings.Contains(err.Error(), `plant.yaml:3:5: $.alarms[0].treshold: unknown key "treshold"`) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestPriorityRank orders the priorities and puts an unknown one last.
func TestPriorityRank(t *testing.T) {
	for i, p := range []Priority{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow, "other"} {
		if p.Rank() != i {
			t.Errorf("%s.Rank() = %d, want %d", p, p.Rank(), i)
		}
	}
}

// TestDocTableMatchesRules keeps the transition table in doc.go equal to the
// one the code and the tests use.
func TestDocTableMatchesRules(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "//"))
		switch {
		case len(f) >= 3 && f[0] == "from" && f[1] == "reason" && f[2] == "to":
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		case in:
			got = append(got, f[0]+" "+f[1]+" "+f[2])
		}
	}
	var want []string
	for _, r := range rules {
		want = append(want, r.From.String()+" "+string(r.Reason)+" "+r.To.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("doc.go table:\n%s\nrules:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
