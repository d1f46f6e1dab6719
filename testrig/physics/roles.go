package physics

import (
	"math"
	"slices"
)

// role is one named model variable. set is nil for read-only variables;
// internal marks balance and diagnostic variables that no instrument on a
// real line measures.
type role struct {
	get      func(l *Line) float64
	set      func(l *Line, v float64)
	internal bool
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clamp(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// roles maps every role name to its accessors. Commands take any non-zero
// value as on. Setpoints are clamped to the equipment range, as a drive
// clamps to its maximum frequency.
var roles = map[string]role{
	// Commands and setpoints. press.back_pressure_sp counts only under
	// BackPressureFromSetpoint (the default) and press.cone_valve only
	// under BackPressureFromValve; filtrate.pump_cmd counts only under
	// FiltratePumpCommanded; press_feed.run_cmd and press_feed.speed_sp
	// count only under PressFeedPump (under PressFeedDirect the press
	// draws at capacity whatever they say). Each is stored and read back
	// in either mode.
	"shredder.run_cmd":       {get: func(l *Line) float64 { return b2f(l.shredder.runCmd) }, set: func(l *Line, v float64) { l.shredder.runCmd = v != 0 }},
	"shredder.reverse_cmd":   {get: func(l *Line) float64 { return b2f(l.shredder.reverseCmd) }, set: func(l *Line, v float64) { l.shredder.reverseCmd = v != 0 }},
	"shredder.speed_sp":      {get: func(l *Line) float64 { return l.shredder.speedSP }, set: func(l *Line, v float64) { l.shredder.speedSP = clamp(v, 0, l.shredder.maxRPM) }},
	"press.run_cmd":          {get: func(l *Line) float64 { return b2f(l.press.runCmd) }, set: func(l *Line, v float64) { l.press.runCmd = v != 0 }},
	"press.speed_sp":         {get: func(l *Line) float64 { return l.press.speedSP }, set: func(l *Line, v float64) { l.press.speedSP = clamp(v, 0, l.press.maxRPM) }},
	"press.back_pressure_sp": {get: func(l *Line) float64 { return l.backPressureSP }, set: func(l *Line, v float64) { l.backPressureSP = clamp(v, 0, 7) }},
	RoleConeValve:            {get: func(l *Line) float64 { return l.coneValve }, set: func(l *Line, v float64) { l.coneValve = clamp(v, 0, 100) }},
	RoleFiltratePumpCmd:      {get: func(l *Line) float64 { return b2f(l.pump.runCmd) }, set: func(l *Line, v float64) { l.pump.runCmd = v != 0 }},
	"feeder.run_cmd":         {get: func(l *Line) float64 { return b2f(l.feeder.runCmd) }, set: func(l *Line, v float64) { l.feeder.runCmd = v != 0 }},
	"feeder.speed_sp":        {get: func(l *Line) float64 { return l.feederSP }, set: func(l *Line, v float64) { l.feederSP = clamp(v, 0, 100) }},
	"pulper.mixer_cmd":       {get: func(l *Line) float64 { return b2f(l.mixer.runCmd) }, set: func(l *Line, v float64) { l.mixer.runCmd = v != 0 }},
	"pulper.water_cmd":       {get: func(l *Line) float64 { return b2f(l.waterCmd) }, set: func(l *Line, v float64) { l.waterCmd = v != 0 }},
	"pulper.water_flow_sp":   {get: func(l *Line) float64 { return l.waterSP }, set: func(l *Line, v float64) { l.waterSP = clamp(v, 0, 20) }},
	"reception.door_cmd":     {get: func(l *Line) float64 { return b2f(l.doorCmd) }, set: func(l *Line, v float64) { l.doorCmd = v != 0 }},
	RolePressFeedRunCmd:      {get: func(l *Line) float64 { return b2f(l.feedPump.runCmd) }, set: func(l *Line, v float64) { l.feedPump.runCmd = v != 0 }},
	"press_feed.speed_sp":    {get: func(l *Line) float64 { return l.feedSP }, set: func(l *Line, v float64) { l.feedSP = clamp(v, 0, 100) }},

	// Measurements served on the wire.
	"shredder.speed":        {get: func(l *Line) float64 { return math.Abs(l.shredder.speedRPM) }},
	"shredder.direction":    {get: func(l *Line) float64 { return sign(l.shredder.speedRPM) }},
	"shredder.current":      {get: func(l *Line) float64 { return l.shredder.measuredCurrent() }},
	"shredder.torque":       {get: func(l *Line) float64 { return b2f(l.shredder.running) * 100 * l.shredLoad }},
	"shredder.running":      {get: func(l *Line) float64 { return b2f(l.shredder.running) }},
	"shredder.fault":        {get: func(l *Line) float64 { return b2f(l.shredder.faulted()) }},
	"shredder.overload":     {get: func(l *Line) float64 { return b2f(l.shredder.tripped) }},
	"shredder.vfd_fault":    {get: func(l *Line) float64 { return b2f(l.shredder.vfdFault) }},
	"shredder.jammed":       {get: func(l *Line) float64 { return b2f(l.jam.active) }},
	"shredder.reversals":    {get: func(l *Line) float64 { return float64(l.reversals) }},
	"shredder.guard_closed": {get: func(l *Line) float64 { return b2f(l.guardClosed) }},
	"shredder.energy":       {get: func(l *Line) float64 { return l.shredder.energyKWh }},
	"press.speed":           {get: func(l *Line) float64 { return l.press.speedRPM }},
	"press.current":         {get: func(l *Line) float64 { return l.press.measuredCurrent() }},
	"press.running":         {get: func(l *Line) float64 { return b2f(l.press.running) }},
	"press.fault":           {get: func(l *Line) float64 { return b2f(l.press.faulted()) }},
	"press.overload":        {get: func(l *Line) float64 { return b2f(l.press.tripped) }},
	"press.vfd_fault":       {get: func(l *Line) float64 { return b2f(l.press.vfdFault) }},
	"press.back_pressure":   {get: func(l *Line) float64 { return l.backPressure }},
	"press.energy":          {get: func(l *Line) float64 { return l.press.energyKWh }},
	"feeder.running":        {get: func(l *Line) float64 { return b2f(l.feeder.running) }},
	"feeder.fault":          {get: func(l *Line) float64 { return b2f(l.feeder.tripped) }},
	"pulper.mixer_running":  {get: func(l *Line) float64 { return b2f(l.mixer.running) }},
	"pulper.mixer_fault":    {get: func(l *Line) float64 { return b2f(l.mixer.tripped) }},
	"line.estop_ok":         {get: func(l *Line) float64 { return b2f(l.estopOK) }},
	"hopper.weight":         {get: func(l *Line) float64 { return l.hopper + l.hopperNoise }},
	"cake_bin.weight":       {get: func(l *Line) float64 { return l.cake + l.cakeNoise }},
	"rejects.weight":        {get: func(l *Line) float64 { return l.rejects + l.rejectNoise }},
	"pulper.water_flow":     {get: func(l *Line) float64 { return l.waterKgPerS }},
	"pulper.water_total":    {get: func(l *Line) float64 { return l.waterTotal }},
	"filtrate.total":        {get: func(l *Line) float64 { return l.filtrate }},
	"filtrate.level":        {get: func(l *Line) float64 { return l.filtrateTank / filtrateTankKg * 100 }},
	"filtrate.pump_running": {get: func(l *Line) float64 { return b2f(l.pumpRunning()) }},
	"pulper.ds":             {get: (*Line).slurryDS},
	"pulper.ph":             {get: func(l *Line) float64 { return l.pH }},
	"pulper.level":          {get: func(l *Line) float64 { return l.pulper / pulperFullKg * 100 }},
	"press.cake_ds":         {get: func(l *Line) float64 { return l.cakeDS }},
	"reception.h2s":         {get: (*Line).h2s},
	// The press feed pump's running feedback, its flow meter (kg/s into
	// the press) and its fault; all 0 under PressFeedDirect. No fault is
	// injected into it yet, so press_feed.fault reads 0.
	"press_feed.running": {get: func(l *Line) float64 { return b2f(l.feedPump.running) }},
	"press_feed.flow":    {get: func(l *Line) float64 { return l.feedKgPerS }},
	"press_feed.fault":   {get: func(l *Line) float64 { return b2f(l.feedPump.tripped) }},

	// Internal balance and diagnostic variables, for tests and scenarios.
	"line.time_s":             {get: func(l *Line) float64 { return l.elapsed.Seconds() }, internal: true},
	"waste_in.total":          {get: func(l *Line) float64 { return l.wasteIn }, internal: true},
	"waste_in.dry_mass":       {get: func(l *Line) float64 { return l.wasteInDry }, internal: true},
	"hopper.mass":             {get: func(l *Line) float64 { return l.hopper }, internal: true},
	"hopper.dry_mass":         {get: func(l *Line) float64 { return l.hopperDry }, internal: true},
	"hopper.age":              {get: func(l *Line) float64 { return l.hopperAgeS }, internal: true},
	"feeder.flow":             {get: func(l *Line) float64 { return l.feederKgPS }, internal: true},
	"shredder.holdup":         {get: func(l *Line) float64 { return l.holdup }, internal: true},
	"shredder.holdup_dry":     {get: func(l *Line) float64 { return l.holdupDry }, internal: true},
	"shredder.throughput":     {get: func(l *Line) float64 { return l.shredKgPerS }, internal: true},
	"shredder.load":           {get: func(l *Line) float64 { return l.shredLoad }, internal: true},
	"shredder.hard_objects":   {get: func(l *Line) float64 { return float64(l.hardObjects) }, internal: true},
	"shredder.overload_i2t":   {get: func(l *Line) float64 { return l.shredder.heat }, internal: true},
	"rejects.total":           {get: func(l *Line) float64 { return l.rejects }, internal: true},
	"rejects.dry_mass":        {get: func(l *Line) float64 { return l.rejectDry }, internal: true},
	"pulper.mass":             {get: func(l *Line) float64 { return l.pulper }, internal: true},
	"pulper.dry_mass":         {get: func(l *Line) float64 { return l.pulperDry }, internal: true},
	"pulper.overflow":         {get: func(l *Line) float64 { return l.overflow }, internal: true},
	"press.throughput":        {get: func(l *Line) float64 { return l.pressKgPerS }, internal: true},
	"press.load":              {get: func(l *Line) float64 { return l.pressLoad }, internal: true},
	"press.filtrate_ds":       {get: func(l *Line) float64 { return l.filtrateDS }, internal: true},
	"cake.total":              {get: func(l *Line) float64 { return l.cake }, internal: true},
	"cake.dry_mass":           {get: func(l *Line) float64 { return l.cakeDry }, internal: true},
	"filtrate.dry_mass":       {get: func(l *Line) float64 { return l.filtrateDry }, internal: true},
	"filtrate.tank_mass":      {get: func(l *Line) float64 { return l.filtrateTank }, internal: true},
	"filtrate.pumped":         {get: func(l *Line) float64 { return l.filtratePumped }, internal: true},
	"filtrate.spilled":        {get: func(l *Line) float64 { return l.filtrateSpill }, internal: true},
	"filtrate.pump_dry_run_s": {get: func(l *Line) float64 { return l.pumpDryRunS }, internal: true}, // s run with the tank below filtrateDryRunPct
	"press_feed.dry_run_s":    {get: func(l *Line) float64 { return l.feedDryRunS }, internal: true}, // s run with the pulper below pressFeedDryRunPct
}

var roleNames = func() []string {
	names := make([]string, 0, len(roles))
	for k := range roles {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}()

// slurryDS is the DS analyser reading: dry over total mass in %, 0 when the
// pulper is empty.
func (l *Line) slurryDS() float64 {
	if l.pulper <= 0 {
		return 0
	}
	return l.pulperDry / l.pulper * 100
}

// h2s is the reception gas reading: a low base level, a little more while
// the door is open, and gas from the waste stored in the hopper that rises
// with its storage age and as the pH falls (PROCESS.md), plus noise.
func (l *Line) h2s() float64 {
	stored := 0.2 * l.hopper / 1000 * (1 + l.hopperAgeS/h2sAgeS) * (1 + (pHMax - l.pH))
	v := l.h2sBase + stored + l.h2sNoise
	if l.doorCmd {
		v += 0.4
	}
	return math.Max(0, v)
}

// Get returns the current reading of the variable named role, in
// engineering units (booleans as 0 or 1), and whether the role exists. A
// role with an injected sensor fault (SetSensorFault) reads as the fault
// makes it; Truth gives the model's value.
func (l *Line) Get(role string) (float64, bool) {
	r, ok := roles[role]
	if !ok {
		return 0, false
	}
	v := r.get(l)
	if sf := l.sensors[role]; sf != nil {
		v = sf.read(v)
	}
	return v, true
}

// Truth returns the model's value of role, ignoring sensor faults, and
// whether the role exists.
func (l *Line) Truth(role string) (float64, bool) {
	r, ok := roles[role]
	if !ok {
		return 0, false
	}
	return r.get(l), true
}

// Measurement reports whether role is read-only and measured on a real
// line (not a command, setpoint or internal balance variable): what a
// sensor fault may be injected into.
func (l *Line) Measurement(role string) bool {
	r, ok := roles[role]
	return ok && r.set == nil && !r.internal
}

// Set sets a command or setpoint. It returns false, changing nothing, when
// the role does not exist, is a measurement, or v is NaN or infinite.
// Commands treat any non-zero value as on; setpoints are clamped to the
// equipment range.
func (l *Line) Set(role string, v float64) bool {
	r, ok := roles[role]
	if !ok || r.set == nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	r.set(l, v)
	return true
}

// Settable reports whether role names a command or setpoint that Set
// accepts.
func (l *Line) Settable(role string) bool {
	r, ok := roles[role]
	return ok && r.set != nil
}

// Roles returns the names of every variable, sorted. The caller may modify
// the returned slice.
func (l *Line) Roles() []string { return slices.Clone(roleNames) }
