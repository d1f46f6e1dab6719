package physics

import (
	"math"
	"slices"
)

// role is one named model variable. set is nil for read-only variables.
type role struct {
	get func(l *Line) float64
	set func(l *Line, v float64)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clamp(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

// roles maps every role name to its accessors. Commands take any non-zero
// value as on. Setpoints are clamped to the equipment range, as a drive
// clamps to its maximum frequency.
var roles = map[string]role{
	// Commands and setpoints.
	"shredder.run_cmd":       {get: func(l *Line) float64 { return b2f(l.shredder.runCmd) }, set: func(l *Line, v float64) { l.shredder.runCmd = v != 0 }},
	"shredder.speed_sp":      {get: func(l *Line) float64 { return l.shredder.speedSP }, set: func(l *Line, v float64) { l.shredder.speedSP = clamp(v, 0, l.shredder.maxRPM) }},
	"press.run_cmd":          {get: func(l *Line) float64 { return b2f(l.press.runCmd) }, set: func(l *Line, v float64) { l.press.runCmd = v != 0 }},
	"press.speed_sp":         {get: func(l *Line) float64 { return l.press.speedSP }, set: func(l *Line, v float64) { l.press.speedSP = clamp(v, 0, l.press.maxRPM) }},
	"press.back_pressure_sp": {get: func(l *Line) float64 { return l.backPressureSP }, set: func(l *Line, v float64) { l.backPressureSP = clamp(v, 0, 7) }},
	"feeder.run_cmd":         {get: func(l *Line) float64 { return b2f(l.feederRunCmd) }, set: func(l *Line, v float64) { l.feederRunCmd = v != 0 }},
	"feeder.speed_sp":        {get: func(l *Line) float64 { return l.feederSP }, set: func(l *Line, v float64) { l.feederSP = clamp(v, 0, 100) }},
	"pulper.mixer_cmd":       {get: func(l *Line) float64 { return b2f(l.mixerCmd) }, set: func(l *Line, v float64) { l.mixerCmd = v != 0 }},
	"pulper.water_cmd":       {get: func(l *Line) float64 { return b2f(l.waterCmd) }, set: func(l *Line, v float64) { l.waterCmd = v != 0 }},
	"pulper.water_flow_sp":   {get: func(l *Line) float64 { return l.waterSP }, set: func(l *Line, v float64) { l.waterSP = clamp(v, 0, 20) }},
	"reception.door_cmd":     {get: func(l *Line) float64 { return b2f(l.doorCmd) }, set: func(l *Line, v float64) { l.doorCmd = v != 0 }},

	// Measurements served on the wire.
	"shredder.speed":       {get: func(l *Line) float64 { return l.shredder.speedRPM }},
	"shredder.current":     {get: func(l *Line) float64 { return l.shredder.measuredCurrent() }},
	"shredder.running":     {get: func(l *Line) float64 { return b2f(l.shredder.running) }},
	"shredder.fault":       {get: func(l *Line) float64 { return b2f(l.shredder.fault) }},
	"shredder.energy":      {get: func(l *Line) float64 { return l.shredder.energyKWh }},
	"press.speed":          {get: func(l *Line) float64 { return l.press.speedRPM }},
	"press.current":        {get: func(l *Line) float64 { return l.press.measuredCurrent() }},
	"press.running":        {get: func(l *Line) float64 { return b2f(l.press.running) }},
	"press.fault":          {get: func(l *Line) float64 { return b2f(l.press.fault) }},
	"press.back_pressure":  {get: func(l *Line) float64 { return l.backPressure }},
	"press.energy":         {get: func(l *Line) float64 { return l.press.energyKWh }},
	"feeder.running":       {get: func(l *Line) float64 { return b2f(l.feederOn) }},
	"pulper.mixer_running": {get: func(l *Line) float64 { return b2f(l.mixerRunning) }},
	"line.estop_ok":        {get: func(l *Line) float64 { return b2f(l.estopOK) }},
	"hopper.weight":        {get: func(l *Line) float64 { return l.hopper + l.hopperNoise }},
	"cake_bin.weight":      {get: func(l *Line) float64 { return l.cake + l.cakeNoise }},
	"pulper.water_flow":    {get: func(l *Line) float64 { return l.waterKgPerS }},
	"pulper.water_total":   {get: func(l *Line) float64 { return l.waterTotal }},
	"filtrate.total":       {get: func(l *Line) float64 { return l.filtrate }},
	"pulper.ds":            {get: (*Line).slurryDS},
	"pulper.ph":            {get: func(l *Line) float64 { return l.pH }},
	"pulper.level":         {get: func(l *Line) float64 { return l.pulper / pulperFullKg * 100 }},
	"press.cake_ds":        {get: func(l *Line) float64 { return l.cakeDS }},
	"reception.h2s":        {get: (*Line).h2s},

	// Internal balance and diagnostic variables, for tests and scenarios.
	"line.time_s":         {get: func(l *Line) float64 { return l.elapsed.Seconds() }},
	"waste_in.total":      {get: func(l *Line) float64 { return l.wasteIn }},
	"waste_in.dry_mass":   {get: func(l *Line) float64 { return l.wasteInDry }},
	"hopper.mass":         {get: func(l *Line) float64 { return l.hopper }},
	"hopper.dry_mass":     {get: func(l *Line) float64 { return l.hopperDry }},
	"feeder.flow":         {get: func(l *Line) float64 { return l.feederKgPerS }},
	"shredder.holdup":     {get: func(l *Line) float64 { return l.holdup }},
	"shredder.holdup_dry": {get: func(l *Line) float64 { return l.holdupDry }},
	"shredder.throughput": {get: func(l *Line) float64 { return l.shredKgPerS }},
	"shredder.load":       {get: func(l *Line) float64 { return l.shredLoad }},
	"rejects.total":       {get: func(l *Line) float64 { return l.rejects }},
	"rejects.dry_mass":    {get: func(l *Line) float64 { return l.rejectDry }},
	"pulper.mass":         {get: func(l *Line) float64 { return l.pulper }},
	"pulper.dry_mass":     {get: func(l *Line) float64 { return l.pulperDry }},
	"press.throughput":    {get: func(l *Line) float64 { return l.pressKgPerS }},
	"press.load":          {get: func(l *Line) float64 { return l.pressLoad }},
	"press.filtrate_ds":   {get: func(l *Line) float64 { return l.filtrateDS }},
	"cake.total":          {get: func(l *Line) float64 { return l.cake }},
	"cake.dry_mass":       {get: func(l *Line) float64 { return l.cakeDry }},
	"filtrate.dry_mass":   {get: func(l *Line) float64 { return l.filtrateDry }},
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
// the door is open and with waste stored in the hopper, plus noise.
func (l *Line) h2s() float64 {
	v := l.h2sBase + 0.2*l.hopper/1000 + l.h2sNoise
	if l.doorCmd {
		v += 0.4
	}
	return math.Max(0, v)
}

// Get returns the current value of the variable named role, in engineering
// units (booleans as 0 or 1), and whether the role exists.
func (l *Line) Get(role string) (float64, bool) {
	r, ok := roles[role]
	if !ok {
		return 0, false
	}
	return r.get(l), true
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
