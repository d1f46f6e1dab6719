package plant

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/drivers"
	// A plant file is checked device by device by the driver of each
	// device's protocol: every driver must be registered.
	_ "github.com/pretreat/pretreat/drivers/all"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

//go:embed sample.yaml
var sample []byte

//go:embed two-lane.yaml
var twoLane []byte

// Shipped returns the plant files shipped with pretreat by name: "sample"
// (one unit of each kind) and "two-lane" (two shredders in parallel, a
// depackager, a pulper with two press feed pumps and two presses). Both are
// served by the test rig and run by `pretreat demo --config`.
func Shipped() map[string][]byte {
	return map[string][]byte{"sample": bytes.Clone(sample), "two-lane": bytes.Clone(twoLane)}
}

// Sample returns the embedded sample plant file, as printed by
// `pretreat config sample`.
func Sample() []byte { return bytes.Clone(sample) }

// File is a parsed plant file.
type File struct {
	Line             string                 `yaml:"line"`
	ScanPeriod       time.Duration          `yaml:"scan_period"`
	API              APIConfig              `yaml:"api"`
	Historian        HistorianConfig        `yaml:"historian"`
	Devices          []drivers.DeviceConfig `yaml:"devices"`
	Units            []Unit                 `yaml:"units"`
	StartConfirmTime time.Duration          `yaml:"start_confirm_time"`
	// Users may send commands through the API. Empty: the API is open on
	// loopback and a command names its user itself (demo, tests).
	Users []User `yaml:"users"`
	// Interlocks are process interlocks (cause → effect), evaluated every scan.
	Interlocks []Interlock `yaml:"interlocks"`
	// Alarms are limit, quality and digital alarms (ISA-18.2 states).
	Alarms        []alarm.Definition `yaml:"alarms"`
	AlarmSettings alarm.Settings     `yaml:"alarm_settings"`
	// Site is the plant's calendar (time zone, production day, shifts)
	// and where scheduled reports go; see Calendar.
	Site Site `yaml:"site"`

	// Path is where the file was read from ("<sample>" for the embedded one).
	Path string `yaml:"-"`
}

// APIConfig is the controller API's listen address and sign-in sessions.
type APIConfig struct {
	// Listen is host:port; loopback by default.
	Listen string `yaml:"listen"`
	// SessionIdle ends a signed-in session unused for this long (wall
	// time; default 15m, allowed 1m to 12h).
	SessionIdle time.Duration `yaml:"session_idle"`
}

// HistorianConfig says where samples and events go besides the embedded store.
type HistorianConfig struct {
	Influx InfluxConfig `yaml:"influx"`
}

// InfluxConfig points the historian at an InfluxDB server.
type InfluxConfig struct {
	URL    string `yaml:"url"`
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	// TokenEnv names the environment variable holding the token; the token
	// itself never appears in the plant file or the logs.
	TokenEnv string `yaml:"token_env"`
}

// Roles, each allowed everything the one before it is.
const (
	RoleViewer     = "viewer"     // watch only: status, trends, records; no command
	RoleOperator   = "operator"   // run batches, hold/stop/abort, acknowledge and shelve alarms
	RoleSupervisor = "supervisor" // + recipe overrides, alarms out of service
	RoleEngineer   = "engineer"   // + everything else
)

// User is an API user. Neither the token nor the password is in the plant
// file: only the token's SHA-256 (hex) and the password's hash (bcrypt or
// argon2id), so the file can be shared and kept in version control. A user
// needs at least one of them.
type User struct {
	Name        string `yaml:"name"`
	Role        string `yaml:"role"`
	TokenSHA256 string `yaml:"token_sha256"`
	// PasswordHash lets the user sign in (POST /api/v1/login) with a
	// password: a bcrypt hash ($2a$/$2b$/$2y$…) or an argon2id one in PHC
	// form ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	PasswordHash string `yaml:"password_hash"`
}

// Interlock effects.
const (
	EffectTrip       = "trip"       // stop the units named and everything upstream of them
	EffectPermissive = "permissive" // the units named may not start while active
)

// Interlock is one cause → effect rule. It is active while its tag's value
// is above Above (or below Below) — or while the tag's quality is not good,
// so that a lost signal fails safe. Process protection only: e-stops and
// guards are hard-wired; an interlock here reacts to their status.
type Interlock struct {
	Name  string   `yaml:"name"`
	Tag   string   `yaml:"tag"`
	Above *float64 `yaml:"above"`
	Below *float64 `yaml:"below"`
	// Effect is trip or permissive.
	Effect string   `yaml:"effect"`
	Units  []string `yaml:"units"`
	// HoldLine makes an active trip also hold the line: the batch is kept,
	// every output goes off, and an operator decides what happens next.
	HoldLine bool   `yaml:"hold_line"`
	Message  string `yaml:"message"`
}

// Unit kinds.
const (
	KindScrewPress = "screw_press"
	KindPulper     = "pulper"
	KindShredder   = "shredder"
	KindFeeder     = "feeder"
	KindReception  = "reception"
	// KindTank is a tank with a level transmitter (a filtrate tank); at
	// high-high it stops the unit that fills it (fed_by) and everything
	// upstream until the level falls.
	KindTank = "tank"
	// KindPump is a transfer pump drawing from a tank (suction) on level
	// control, with dry-run protection at the tank's low-low.
	KindPump = "pump"
	// KindBeltConveyor carries material between two units: a motor with a
	// belt-speed sensor (slip or underspeed) and a pull-cord stop.
	KindBeltConveyor = "belt_conveyor"
	// KindDepackager separates packaging from the shredded waste into a
	// reject bin (rejects_weight); it runs in the feed like a shredder.
	KindDepackager = "depackager"
)

// singleKinds are the kinds a line has exactly one of: the reception
// (where a batch is weighed in) and the pulper (where its slurry is made
// up to the DS target). Every other kind may appear any number of times.
var singleKinds = []string{KindReception, KindPulper}

// Level threshold names, in % of span.
const (
	LevelLowLow   = "low_low"
	LevelLow      = "low"
	LevelHigh     = "high"
	LevelHighHigh = "high_high"
)

var levelNames = []string{LevelLowLow, LevelLow, LevelHigh, LevelHighHigh}

// Unit is one piece of equipment bound to tags.
type Unit struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// FLAA is the motor's full-load current in amperes.
	FLAA float64 `yaml:"fla_a"`
	// Signals binds the unit's signal roles (run, running, speed_sp, …) to tags.
	Signals map[string]string `yaml:"signals"`
	// Limits are the allowed [min, max] of the unit's setpoints, used to
	// validate recipes.
	Limits map[string][2]float64 `yaml:"limits"`
	// Levels are a pulper's or tank's level thresholds in % of span:
	// low_low, low, high, high_high, rising.
	Levels map[string]float64 `yaml:"levels"`
	// FedBy names the units that feed this one: the line is a graph from
	// reception (fed by none) to its discharges. A tank's high-high stops
	// the units that fill it; a pump names its tank under Suction instead.
	FedBy []string `yaml:"fed_by"`
	// Suction names the tank a pump draws from.
	Suction string `yaml:"suction"`
	// CapacityKg is a pulper's or tank's content in kg at 100 % level. With
	// it the batch record counts the pulper's content as hold-up in the
	// mass balance; without it the pulper is assumed empty at the start
	// and end of a batch.
	CapacityKg float64 `yaml:"capacity_kg"`
	// LevelSP and MinLevel make a pump with a speed_sp signal a feed pump
	// on level control: it holds its suction (a pulper or a tank) at
	// LevelSP % while the unit it feeds runs, draws it down when the phase
	// drains, and stops below MinLevel % (its dry-run protection; default
	// 1.5 %).
	LevelSP  float64 `yaml:"level_sp"`
	MinLevel float64 `yaml:"min_level"`
}

// kindSignals lists the signal roles each kind requires and allows.
var kindSignals = map[string]struct{ required, optional []string }{
	KindScrewPress:   {[]string{"run", "running", "speed_sp", "cake_weight"}, []string{"back_pressure_sp", "cone_valve", "fault", "speed", "current", "back_pressure", "filtrate_total", "energy", "cake_ds"}},
	KindPulper:       {[]string{"run", "running", "water", "water_flow_sp", "level", "water_total"}, []string{"water_flow", "ds", "ph"}},
	KindShredder:     {[]string{"run", "running", "speed_sp"}, []string{"fault", "speed", "current", "energy", "reverse", "rejects_weight"}},
	KindFeeder:       {[]string{"run", "running", "speed_sp"}, []string{"fault"}},
	KindReception:    {[]string{"door", "weight"}, []string{"h2s"}},
	KindTank:         {[]string{"level"}, nil},
	KindPump:         {[]string{"run", "running"}, []string{"fault", "energy", "speed_sp", "flow"}},
	KindDepackager:   {[]string{"run", "running"}, []string{"fault", "speed_sp", "current", "energy", "rejects_weight"}},
	KindBeltConveyor: {[]string{"run", "running"}, []string{"fault", "speed_sp", "belt_speed", "pull_cord_ok", "energy"}},
}

// Unit returns the unit of the given kind, or nil.
func (f *File) Unit(kind string) *Unit {
	for i := range f.Units {
		if f.Units[i].Kind == kind {
			return &f.Units[i]
		}
	}
	return nil
}

// Point returns the point configuration of a tag and its device, or nils.
func (f *File) Point(tag string) (*drivers.DeviceConfig, *drivers.PointConfig) {
	for i := range f.Devices {
		d := &f.Devices[i]
		for j := range d.Points {
			if d.Points[j].Tag == tag {
				return d, &d.Points[j]
			}
		}
	}
	return nil, nil
}

// Load reads and checks a plant file. Relative paths of certificate, key
// and trust files are taken relative to the plant file's directory.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(path, src)
	if err != nil {
		return nil, err
	}
	f.resolvePaths(filepath.Dir(path))
	return f, nil
}

// resolvePaths makes the devices' file paths absolute against dir, so that
// the controller finds them whatever its working directory.
func (f *File) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&f.Site.Reports.Dir)
	for i := range f.Devices {
		d := &f.Devices[i]
		if d.TLS != nil {
			tls := *d.TLS
			abs(&tls.Cert)
			abs(&tls.Key)
			abs(&tls.CA)
			d.TLS = &tls
		}
		if d.Security != nil {
			sec := *d.Security
			abs(&sec.Certificate)
			abs(&sec.PrivateKey)
			sec.Trust = append([]string(nil), sec.Trust...)
			for j := range sec.Trust {
				abs(&sec.Trust[j])
			}
			d.Security = &sec
		}
		if d.Auth != nil {
			auth := *d.Auth
			abs(&auth.Certificate)
			abs(&auth.PrivateKey)
			d.Auth = &auth
		}
	}
}

// Parse decodes and checks a plant file from src; name is used in errors.
// The returned error, if any, is yamlsrc.Errors with file:line:column for
// each problem, all problems at once.
func Parse(name string, src []byte) (*File, error) {
	var f File
	doc, err := yamlsrc.Decode(name, src, &f)
	if err != nil {
		return nil, err
	}
	f.Path = name
	f.check(doc.Addf)
	if err := doc.Err(); err != nil {
		return nil, err
	}
	f.defaults()
	return &f, nil
}

func (f *File) defaults() {
	if f.ScanPeriod == 0 {
		f.ScanPeriod = 100 * time.Millisecond
	}
	if f.API.SessionIdle == 0 {
		f.API.SessionIdle = 15 * time.Minute
	}
	if f.API.Listen == "" {
		f.API.Listen = "127.0.0.1:8470"
	}
	if f.StartConfirmTime == 0 {
		f.StartConfirmTime = 5 * time.Second
	}
	if f.Historian.Influx.Bucket == "" {
		f.Historian.Influx.Bucket = "plant/autogen"
	}
	f.defaultCommLossAlarms()
}

// defaultCommLossAlarms gives every device that has no comm_loss alarm in
// the file one of its own (<device>_comm_loss, priority high, "<device>
// not answering"): a device that stops answering always alarms, even in a
// plant file written without an alarms section for it.
func (f *File) defaultCommLossAlarms() {
	watched, names := map[string]bool{}, map[string]bool{}
	for _, a := range f.Alarms {
		names[a.Name] = true
		if a.Kind == alarm.KindCommLoss {
			watched[a.Device] = true
		}
	}
	for _, d := range f.Devices {
		name := d.Name + "_comm_loss"
		if watched[d.Name] || names[name] {
			continue
		}
		f.Alarms = append(f.Alarms, alarm.Definition{Name: name, Kind: alarm.KindCommLoss, Device: d.Name,
			Priority: alarm.PriorityHigh, Message: d.Name + " not answering"})
	}
}

func (f *File) check(add func(path, format string, args ...any)) {
	if f.Line == "" {
		add("$", "the line needs a name: add `line: line-1`")
	}
	if f.ScanPeriod != 0 && (f.ScanPeriod < 10*time.Millisecond || f.ScanPeriod > 10*time.Second) {
		add("$.scan_period", "scan_period %s is out of range; allowed: 10ms to 10s", f.ScanPeriod)
	}
	f.checkDevicesTogether(add)
	f.checkSite(add)
	tags := map[string]string{}
	names := map[string]bool{}
	for i := range f.Devices {
		d := &f.Devices[i]
		dp := fmt.Sprintf("$.devices[%d]", i)
		if names[d.Name] {
			add(dp+".name", "device name %q is used twice; names must be unique", d.Name)
		}
		names[d.Name] = true
		for _, e := range d.Validate() {
			add(dp+"."+e.Path, "%s", e.Message)
		}
		for j, p := range d.Points {
			if p.Tag == "" {
				continue
			}
			if other, ok := tags[p.Tag]; ok {
				add(fmt.Sprintf("%s.points[%d].tag", dp, j), "tag %q is already mapped on device %s; a tag has one source", p.Tag, other)
			}
			tags[p.Tag] = d.Name
		}
	}
	kinds := map[string]bool{}
	unitNames := map[string]bool{}
	for i := range f.Units {
		u := &f.Units[i]
		up := fmt.Sprintf("$.units[%d]", i)
		if u.Name == "" {
			add(up, "a unit needs a name")
		}
		if unitNames[u.Name] {
			add(up+".name", "unit name %q is used twice", u.Name)
		}
		unitNames[u.Name] = true
		spec, ok := kindSignals[u.Kind]
		if !ok {
			add(up+".kind", "kind %q is not known; allowed: %s", u.Kind, strings.Join(knownKinds(), ", "))
			continue
		}
		if kinds[u.Kind] && slices.Contains(singleKinds, u.Kind) {
			add(up+".kind", "a second %s; a line has exactly one %s (any number of the other kinds)", u.Kind, strings.Join(singleKinds, " and one "))
		}
		kinds[u.Kind] = true
		allowed := map[string]bool{}
		for _, r := range append(append([]string{}, spec.required...), spec.optional...) {
			allowed[r] = true
		}
		for _, r := range spec.required {
			if _, ok := u.Signals[r]; !ok {
				add(up+".signals", "a %s needs signal %q bound to a tag", u.Kind, r)
			}
		}
		for _, r := range sortedKeys(u.Signals) {
			tag := u.Signals[r]
			if !allowed[r] {
				add(up+".signals."+r, "signal %q is not known for a %s; allowed: %s", r, u.Kind, strings.Join(append(append([]string{}, spec.required...), spec.optional...), ", "))
				continue
			}
			if _, ok := tags[tag]; !ok {
				add(up+".signals."+r, "tag %q is not mapped on any device", tag)
			}
		}
		if u.Kind == KindScrewPress {
			_, sp := u.Signals["back_pressure_sp"]
			_, valve := u.Signals["cone_valve"]
			switch {
			case sp == valve:
				add(up+".signals", "a screw_press needs exactly one of back_pressure_sp (the drive runs its own back-pressure loop) or cone_valve (the controller's PID drives the cone valve)")
			case valve && (u.Signals["back_pressure"] == "" || u.Signals["current"] == "" || u.FLAA <= 0):
				add(up+".signals.cone_valve", "a cone_valve needs signals back_pressure and current bound and fla_a set: the controller closes the loop on the measured back-pressure and trips the press on over-current")
			}
		}
		f.checkLevels(u, up, add)
		switch c := u.CapacityKg; {
		case c == 0:
		case u.Kind != KindTank && u.Kind != KindPulper:
			add(up+".capacity_kg", "capacity_kg applies to a pulper or a tank, not a %s", u.Kind)
		case !(c > 0 && c <= 1e7):
			add(up+".capacity_kg", "capacity_kg = %g is out of range; allowed: above 0 up to 10000000 kg", c)
		}
		for _, k := range sortedKeys(u.Limits) {
			lim := u.Limits[k]
			if lim[0] > lim[1] {
				add(up+".limits."+k, "limit [%g, %g] has min above max", lim[0], lim[1])
			}
		}
	}
	userNames := map[string]bool{}
	hashes := map[string]bool{}
	for i, u := range f.Users {
		up := fmt.Sprintf("$.users[%d]", i)
		if u.Name == "" || userNames[u.Name] {
			add(up+".name", "user name %q is empty or used twice", u.Name)
		}
		userNames[u.Name] = true
		switch u.Role {
		case RoleViewer, RoleOperator, RoleSupervisor, RoleEngineer:
		default:
			add(up+".role", "role %q is not known; allowed: viewer, operator, supervisor, engineer", u.Role)
		}
		switch {
		case u.TokenSHA256 == "" && u.PasswordHash == "":
			add(up, "user %q can never sign in: give it password_hash (bcrypt or argon2id) or token_sha256, or both", u.Name)
		case u.TokenSHA256 == "":
		case len(u.TokenSHA256) != 64 || strings.Trim(strings.ToLower(u.TokenSHA256), "0123456789abcdef") != "":
			add(up+".token_sha256", "token_sha256 must be the 64-hex-digit SHA-256 of the user's token (e.g. printf %%s TOKEN | sha256sum)")
		case hashes[strings.ToLower(u.TokenSHA256)]:
			add(up+".token_sha256", "two users share a token")
		default:
			hashes[strings.ToLower(u.TokenSHA256)] = true
		}
		if u.PasswordHash != "" {
			if err := CheckPasswordHash(u.PasswordHash); err != nil {
				add(up+".password_hash", "%v", err)
			}
		}
	}
	if d := f.API.SessionIdle; d != 0 && (d < time.Minute || d > 12*time.Hour) {
		add("$.api.session_idle", "session_idle %s is out of range; allowed: 1m to 12h", d)
	}
	ilNames := map[string]bool{}
	for i, il := range f.Interlocks {
		ip := fmt.Sprintf("$.interlocks[%d]", i)
		if il.Name == "" {
			add(ip, "an interlock needs a name")
		} else if ilNames[il.Name] {
			add(ip+".name", "interlock name %q is used twice", il.Name)
		}
		ilNames[il.Name] = true
		if _, ok := tags[il.Tag]; !ok {
			add(ip+".tag", "tag %q is not mapped on any device", il.Tag)
		}
		if (il.Above == nil) == (il.Below == nil) {
			add(ip, "an interlock needs exactly one of above: or below:")
		}
		if il.Effect != EffectTrip && il.Effect != EffectPermissive {
			add(ip+".effect", "effect %q is not known; allowed: trip, permissive", il.Effect)
		}
		if il.HoldLine && il.Effect != EffectTrip {
			add(ip+".hold_line", "hold_line applies to trips only")
		}
		if len(il.Units) == 0 {
			add(ip+".units", "an interlock needs the units it acts on")
		}
		for j, u := range il.Units {
			if !unitNames[u] {
				add(fmt.Sprintf("%s.units[%d]", ip, j), "unit %q is not defined under units", u)
			}
		}
	}
	devNames := map[string]bool{}
	for _, d := range f.Devices {
		devNames[alarm.DeviceTag(d.Name)] = true
	}
	knownTag := func(t string) bool { _, ok := tags[t]; return ok || devNames[t] }
	knownUnit := func(u string) bool { return unitNames[u] }
	for _, e := range alarm.ValidateAll(f.Alarms, knownTag, knownUnit) {
		add("$.alarms"+e.Path, "%s", e.Message)
	}
	for _, e := range f.AlarmSettings.Validate() {
		add("$.alarm_settings."+e.Path, "%s", e.Message)
	}
	for _, k := range []string{KindScrewPress, KindPulper, KindShredder, KindFeeder, KindReception} {
		if !kinds[k] {
			add("$.units", "the line needs a unit of kind %s", k)
		}
	}
	for i := range f.Units {
		u := &f.Units[i]
		up := fmt.Sprintf("$.units[%d]", i)
		if u.Kind == KindTank {
			for j, name := range u.FedBy {
				if !isMotorKind(f.unitKind(name)) {
					add(fmt.Sprintf("%s.fed_by[%d]", up, j), "fed_by %q is not a unit with a motor; a tank's high-high stops what fills it; allowed: the names of units of kind %s", name, strings.Join(motorKinds, ", "))
				}
			}
		}
		switch {
		case u.Suction != "" && u.Kind != KindPump:
			add(up+".suction", "suction applies to a pump, not a %s", u.Kind)
		case u.Kind == KindPump && u.Suction == "":
			add(up, "a pump needs suction: the tank it draws from (its low-low level is the dry-run protection)")
		case u.Kind == KindPump && u.LevelSP == 0 && f.unitKind(u.Suction) != KindTank:
			add(up+".suction", "suction %q is not a unit of kind tank (a pump on level control, with level_sp and speed_sp, may also draw from a pulper)", u.Suction)
		case u.Kind == KindPump && u.LevelSP != 0 && f.unitKind(u.Suction) != KindTank && f.unitKind(u.Suction) != KindPulper:
			add(up+".suction", "suction %q is not a unit of kind tank or pulper", u.Suction)
		}
		switch {
		case (u.LevelSP != 0 || u.MinLevel != 0) && u.Kind != KindPump:
			add(up+".level_sp", "level_sp and min_level apply to a pump, not a %s", u.Kind)
		case u.LevelSP != 0 && u.Signals["speed_sp"] == "":
			add(up+".level_sp", "a pump on level control needs signal speed_sp bound: the controller sets its speed to hold the level")
		case u.LevelSP != 0 && !(u.LevelSP > 0 && u.LevelSP <= 95):
			add(up+".level_sp", "level_sp = %g %% is out of range; allowed: above 0 up to 95 %%", u.LevelSP)
		case u.MinLevel != 0 && !(u.MinLevel > 0 && u.MinLevel < u.LevelSP):
			add(up+".min_level", "min_level = %g %% is out of range; allowed: above 0 and below level_sp (%g %%)", u.MinLevel, u.LevelSP)
		}
	}
	f.checkGraph(add)
}

// motorKinds are the kinds the line's sequence starts and stops (pumps run
// on level control instead).
var motorKinds = []string{KindFeeder, KindBeltConveyor, KindShredder, KindDepackager, KindPulper, KindScrewPress}

func isMotorKind(k string) bool { return slices.Contains(motorKinds, k) }

// IsSequenced reports whether units of kind k are started and stopped by
// the line's sequence (downstream first, upstream first): every kind with a
// motor except pumps, which run on level control.
func IsSequenced(k string) bool { return isMotorKind(k) }

// unitKind returns the kind of the unit named name, or "".
func (f *File) unitKind(name string) string {
	for i := range f.Units {
		if f.Units[i].Name == name {
			return f.Units[i].Kind
		}
	}
	return ""
}

// UnitsOf returns the units of one kind, in file order.
func (f *File) UnitsOf(kind string) []*Unit {
	var out []*Unit
	for i := range f.Units {
		if f.Units[i].Kind == kind {
			out = append(out, &f.Units[i])
		}
	}
	return out
}

// checkLevels checks a unit's level thresholds: only pulpers and tanks have
// them, a tank must, and they are the four names, rising, within -5..110 %.
func (f *File) checkLevels(u *Unit, up string, add func(path, format string, args ...any)) {
	if len(u.Levels) == 0 {
		if u.Kind == KindTank {
			add(up, "a tank needs levels: {low_low: …, low: …, high: …, high_high: …} in %% of span")
		}
		return
	}
	if u.Kind != KindTank && u.Kind != KindPulper {
		add(up+".levels", "levels apply to a pulper or a tank, not a %s", u.Kind)
		return
	}
	for _, k := range sortedKeys(u.Levels) {
		if !slices.Contains(levelNames, k) {
			add(up+".levels."+k, "level %q is not known; allowed: %s", k, strings.Join(levelNames, ", "))
		}
	}
	prev, prevName := math.Inf(-1), ""
	for _, k := range levelNames {
		v, ok := u.Levels[k]
		switch {
		case !ok:
			add(up+".levels", "level %s is missing; a %s needs all of %s", k, u.Kind, strings.Join(levelNames, ", "))
			return
		case math.IsNaN(v) || v < -5 || v > 110:
			add(up+".levels."+k, "level %s = %g %% is out of range; allowed: -5 to 110 %%", k, v)
			return
		case v <= prev:
			add(up+".levels."+k, "level %s = %g %% must be above %s = %g %%: thresholds rise low_low < low < high < high_high", k, v, prevName, prev)
			return
		}
		prev, prevName = v, k
	}
}

// checkDevicesTogether runs the checks each protocol makes across the
// devices of the plant (e.g. Modbus unit ids sharing one connection; see
// drivers.DevicesValidator).
func (f *File) checkDevicesTogether(add func(path, format string, args ...any)) {
	drivers.ValidateDevices(f.Devices, func(dev int, path, format string, args ...any) {
		add(fmt.Sprintf("$.devices[%d].%s", dev, path), format, args...)
	})
}

func knownKinds() []string {
	ks := make([]string, 0, len(kindSignals))
	for k := range kindSignals {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
