package recipes

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Definition describes one recipe parameter or phase setpoint: its unit,
// its allowed range, and, where the value drives equipment, the plant limit
// it must also meet. Definitions is the single source of the recipe
// reference (docs/recipes.md is generated from it).
type Definition struct {
	Name        string
	Unit        string
	Min, Max    float64
	Required    bool
	Default     float64 // used when an optional value is absent
	Description string
	// Limit names the equipment limit as "unit-kind.limit", e.g.
	// "shredder.speed_sp": the plant file's limits for that unit also apply.
	Limit string
	// Overridable values may be changed by an operator under a running
	// batch, within the same limits; the override is recorded.
	Overridable bool
	// Setpoint values belong to phases (under `setpoints:`), the others to
	// the recipe (under `parameters:`).
	Setpoint bool
}

// Definitions is every parameter and setpoint a recipe may set. Ranges are
// the equipment ranges of ../shared/PROCESS.md's recipe table.
var Definitions = []Definition{
	{Name: "ds_in", Unit: "%", Min: 5, Max: 70, Required: true, Description: "expected dry solids of the incoming waste"},
	{Name: "slurry_ds_target", Unit: "%", Min: 6, Max: 15, Required: true, Overridable: true, Description: "dry solids target of the pulper slurry; sets the dilution water"},
	{Name: "max_water_ratio", Unit: "t/t", Min: 0, Max: 8, Default: 8, Description: "most dilution water per tonne of waste"},
	{Name: "press_speed", Unit: "rpm", Min: 5, Max: 50, Required: true, Limit: "screw_press.speed_sp", Overridable: true, Description: "screw press speed"},
	{Name: "press_back_pressure", Unit: "bar", Min: 0.5, Max: 7, Required: true, Limit: "screw_press.back_pressure_sp", Overridable: true, Description: "press cone back-pressure"},
	{Name: "purge_time", Unit: "s", Min: 10, Max: 600, Required: true, Overridable: true, Description: "run-empty time of each stage on a stop"},
	{Name: "cake_ds_target", Unit: "%", Min: 20, Max: 45, Default: 30, Description: "expected cake dry solids (reported against the analyser)"},
	{Name: "press_max_current", Unit: "%FLA", Min: 70, Max: 110, Default: 95, Description: "press over-current limit"},
	{Name: "jam_current", Unit: "%FLA", Min: 90, Max: 150, Default: 110, Description: "shredder current that counts as a jam"},
	{Name: "jam_confirm_time", Unit: "s", Min: 0.3, Max: 3, Default: 1, Description: "how long the jam current must last to confirm a jam"},
	{Name: "inrush_blanking", Unit: "s", Min: 0.2, Max: 2, Default: 0.5, Description: "current ignored after each shredder start"},
	{Name: "reverse_time", Unit: "s", Min: 1, Max: 10, Default: 3, Description: "shredder reverse run to clear a jam"},
	{Name: "max_reversals", Unit: "n", Min: 1, Max: 5, Default: 3, Description: "reversals allowed inside the reversal window before a fault"},
	{Name: "reversal_window", Unit: "s", Min: 15, Max: 300, Default: 60, Description: "window in which reversals are counted"},
	{Name: "feed_pause_current", Unit: "%FLA", Min: 70, Max: 95, Default: 85, Description: "shredder current that pauses the feeder"},
	{Name: "depackager", Unit: "on/off", Min: 0, Max: 1, Default: 0, Description: "the waste needs its packaging separated (1): the line's depackagers run it, and on a line without one the batch record notes that the packaging stayed in; 0: no need (a depackager in the line's flow runs all the same)"},
	{Name: "h2s_warn", Unit: "ppm", Min: 1, Max: 15, Default: 5, Description: "H2S warning level at reception"},
	{Name: "h2s_alarm", Unit: "ppm", Min: 1, Max: 15, Default: 10, Description: "H2S alarm level at reception (stops tipping)"},

	{Name: "shredder_speed", Unit: "rpm", Min: 10, Max: 40, Default: 20, Limit: "shredder.speed_sp", Overridable: true, Setpoint: true, Description: "shredder speed"},
	{Name: "feeder_speed", Unit: "%", Min: 10, Max: 100, Default: 80, Limit: "feeder.speed_sp", Overridable: true, Setpoint: true, Description: "feeder speed"},
	{Name: "wash_water_flow", Unit: "kg/s", Min: 0.5, Max: 20, Default: 5, Limit: "pulper.water_flow_sp", Setpoint: true, Description: "wash-down water flow"},
}

var definitionByName = func() map[string]Definition {
	m := map[string]Definition{}
	for _, d := range Definitions {
		m[d.Name] = d
	}
	return m
}()

// Lookup returns the definition of a parameter or setpoint.
func Lookup(name string) (Definition, bool) {
	d, ok := definitionByName[name]
	return d, ok
}

// PhaseDef describes a phase kind: what it does, which units it runs, its
// steps, which setpoints it takes and which end conditions can be met in
// it. The controller sequences a phase from this table and the recipe
// validator checks a procedure against it.
type PhaseDef struct {
	Name        string
	Description string
	// Runs are the unit kinds the phase runs, started downstream first
	// (every unit of each kind on the line; pumps run on level control
	// whenever the unit they feed runs). Units of other kinds are off.
	Runs []string
	// Steps are the phase's steps in order, as the batch record and the
	// HMI show them.
	Steps []string
	// EndStop says which units the phase stops, upstream first with each
	// stage's purge time, once its end conditions are met: StopFeed (the
	// units upstream of the pulper), StopAll, or StopNone.
	EndStop           EndStop
	Setpoints         []string
	RequiredSetpoints []string
	Ends              []string
}

// EndStop is what a phase stops when it ends.
type EndStop uint8

// How a phase ends.
const (
	// StopNone: the next phase takes the units as they are.
	StopNone EndStop = iota
	// StopFeed: the feed (feeders, conveyors, shredders, depackagers:
	// every unit upstream of the pulper) runs empty and stops.
	StopFeed
	// StopAll: every running unit runs empty and stops.
	StopAll
)

// Unit kinds as the phase table names them (the plant file's kinds).
const (
	kindFeeder     = "feeder"
	kindConveyor   = "belt_conveyor"
	kindShredder   = "shredder"
	kindDepackager = "depackager"
	kindPulper     = "pulper"
	kindPress      = "screw_press"
)

// Phases lists the phase kinds in the only order they may run. Each may
// appear at most once in a procedure.
var Phases = []PhaseDef{
	{Name: "receive", Description: "open the reception door and take waste into the hopper", Steps: []string{"tipping", "settling"}, Ends: []string{"mass_received", "time_elapsed", "operator_confirm"}},
	{Name: "shred", Description: "start presses, pulper, depackagers, conveyors, shredders and feeders (downstream first), feed the hopper through the shredders with dilution water in ratio; on ending, stop the feeders and purge the feed upstream first", Runs: []string{kindPress, kindPulper, kindDepackager, kindConveyor, kindShredder, kindFeeder}, Steps: []string{"start", "feeding", "purge"}, EndStop: StopFeed, Setpoints: []string{"shredder_speed", "feeder_speed"}, RequiredSetpoints: []string{"shredder_speed", "feeder_speed"}, Ends: []string{"hopper_below", "time_elapsed", "operator_confirm"}},
	{Name: "pulp", Description: "mix the pulper and top up dilution water to the slurry DS target; the presses are stopped", Runs: []string{kindPulper}, Steps: []string{"start", "mixing"}, Ends: []string{"level_above", "time_elapsed", "operator_confirm"}},
	{Name: "dewater", Description: "run presses and mixer until the pulper is drawn down; then stop the mixer and purge the presses", Runs: []string{kindPress, kindPulper}, Steps: []string{"start", "top-up", "draining", "purge"}, EndStop: StopAll, Ends: []string{"level_below", "time_elapsed"}},
	{Name: "discharge", Description: "every motor off while the cake bin is emptied", Steps: []string{"waiting"}, Ends: []string{"time_elapsed", "operator_confirm"}},
	{Name: "wash", Description: "wash down: water into the pulper with mixer and presses running, then purge the presses", Runs: []string{kindPress, kindPulper}, Steps: []string{"start", "washing", "purge"}, EndStop: StopAll, Setpoints: []string{"wash_water_flow"}, RequiredSetpoints: []string{"wash_water_flow"}, Ends: []string{"time_elapsed", "operator_confirm"}},
}

// EndDefs are the end conditions with their units and ranges.
var EndDefs = []Definition{
	{Name: "mass_received", Unit: "kg", Min: 10, Max: 50000, Limit: "reception.weight", Description: "net hopper mass has reached at least this"},
	{Name: "hopper_below", Unit: "kg", Min: 0.5, Max: 1000, Description: "net hopper mass has fallen to this or less"},
	{Name: "level_above", Unit: "%", Min: 1, Max: 95, Description: "pulper level has risen to this or more"},
	{Name: "level_below", Unit: "%", Min: 0.5, Max: 90, Description: "pulper level has fallen to this or less"},
	{Name: "time_elapsed", Unit: "s", Min: 1, Max: 86400, Description: "this long in the phase"},
	{Name: "operator_confirm", Unit: "", Description: "an operator confirms (command confirm)"},
	{Name: "timeout", Unit: "s", Min: 10, Max: 86400, Description: "(phase key, not an end condition) hold the line if the phase has not ended within this"},
}

// WasteClasses are the waste classes a recipe may name.
var WasteClasses = []string{"catering", "market_veg", "bakery", "household", "packaged"}

// Limits are the equipment limits of a plant, keyed "unit-kind.limit"
// (e.g. "shredder.speed_sp") with [min, max].
type Limits map[string][2]float64

// PhaseNamed returns the definition of the named phase and whether it is
// known.
func PhaseNamed(name string) (PhaseDef, bool) {
	d, i := phaseDef(name)
	return d, i >= 0
}

func phaseDef(name string) (PhaseDef, int) {
	for i, p := range Phases {
		if p.Name == name {
			return p, i
		}
	}
	return PhaseDef{}, -1
}

func phaseNames() string {
	n := make([]string, len(Phases))
	for i, p := range Phases {
		n[i] = p.Name
	}
	return strings.Join(n, ", ")
}

// checkQuantity checks one value against its definition and the plant.
func checkQuantity(add func(path, format string, args ...any), path string, q Quantity, d Definition, limits Limits) {
	if q.Unit != d.Unit {
		add(path+".unit", "%s is in %s, not %q; write unit: %q", d.Name, unitOrNone(d.Unit), q.Unit, d.Unit)
		return
	}
	if q.Value < d.Min || q.Value > d.Max {
		add(path+".value", "%s = %g %s is out of range; allowed: %g to %g %s", d.Name, q.Value, d.Unit, d.Min, d.Max, d.Unit)
		return
	}
	if d.Unit == "on/off" && q.Value != 0 && q.Value != 1 {
		add(path+".value", "%s = %g; allowed: 0 (off) or 1 (on)", d.Name, q.Value)
		return
	}
	if d.Limit == "" {
		return
	}
	if lim, ok := limits[d.Limit]; ok && (q.Value < lim[0] || q.Value > lim[1]) {
		add(path+".value", "%s = %g %s is outside the plant's limit %s; allowed: %g to %g %s", d.Name, q.Value, d.Unit, d.Limit, lim[0], lim[1], d.Unit)
	}
}

func unitOrNone(u string) string {
	if u == "" {
		return "no unit"
	}
	return u
}

func (r *Recipe) check(add func(path, format string, args ...any), limits Limits) {
	if r.Name == "" {
		add("$.recipe", "a recipe needs a name: add `recipe: <name>`")
	} else if !validName(r.Name) {
		add("$.recipe", "name %q is not allowed; use lower-case letters, digits, '-' and '_' (at most 40)", r.Name)
	}
	if r.Version < 0 {
		add("$.version", "version %d is not allowed; versions start at 1", r.Version)
	}
	if !slices.Contains(WasteClasses, r.WasteClass) {
		add("$.waste_class", "waste class %q is not known; allowed: %s", r.WasteClass, strings.Join(WasteClasses, ", "))
	}
	for _, d := range Definitions {
		if _, ok := r.Parameters[d.Name]; d.Required && !ok {
			add("$.parameters", "required parameter %s (%s) is missing", d.Name, d.Unit)
		}
	}
	for _, n := range sortedKeys(r.Parameters) {
		pp := "$.parameters." + n
		d, ok := definitionByName[n]
		switch {
		case !ok:
			add(pp, "parameter %q is not known; allowed: %s", n, strings.Join(names(false), ", "))
			continue
		case d.Setpoint:
			add(pp, "%s is a phase setpoint; put it under the setpoints of a phase that takes it", n)
			continue
		}
		checkQuantity(add, pp, r.Parameters[n], d, limits)
	}
	if w, a := r.Param("h2s_warn"), r.Param("h2s_alarm"); w >= a {
		add("$.parameters.h2s_warn", "h2s_warn %g ppm must be below h2s_alarm %g ppm", w, a)
	}
	if f, j := r.Param("feed_pause_current"), r.Param("jam_current"); f >= j {
		add("$.parameters.feed_pause_current", "feed_pause_current %g %%FLA must be below jam_current %g %%FLA, or the feeder never pauses before a jam", f, j)
	}
	if len(r.Procedure) == 0 {
		add("$.procedure", "a recipe needs a procedure; allowed phases in this order: %s", phaseNames())
	}
	last := -1
	seen := map[string]int{}
	for i := range r.Procedure {
		p := &r.Procedure[i]
		pp := fmt.Sprintf("$.procedure[%d]", i)
		def, idx := phaseDef(p.Phase)
		if idx < 0 {
			add(pp+".phase", "phase %q is not known; allowed: %s", p.Phase, phaseNames())
			continue
		}
		if j, dup := seen[p.Phase]; dup {
			add(pp+".phase", "phase %q appears twice (first at procedure[%d]); each phase runs once", p.Phase, j)
			continue
		}
		seen[p.Phase] = i
		if idx < last {
			add(pp+".phase", "phase %q cannot run after %q; the order is %s", p.Phase, Phases[last].Name, phaseNames())
		}
		last = max(last, idx)
		for _, sp := range def.RequiredSetpoints {
			if _, ok := p.Setpoints[sp]; !ok {
				d := definitionByName[sp]
				add(pp+".setpoints", "phase %s needs setpoint %s (%s)", p.Phase, sp, d.Unit)
			}
		}
		for _, n := range sortedKeys(p.Setpoints) {
			sp := pp + ".setpoints." + n
			if !slices.Contains(def.Setpoints, n) {
				allowed := "none"
				if len(def.Setpoints) > 0 {
					allowed = strings.Join(def.Setpoints, ", ")
				}
				add(sp, "setpoint %q is not taken by phase %s; allowed: %s", n, p.Phase, allowed)
				continue
			}
			checkQuantity(add, sp, p.Setpoints[n], definitionByName[n], limits)
		}
		r.checkEnd(add, pp, p, def, limits)
	}
}

func (r *Recipe) checkEnd(add func(path, format string, args ...any), pp string, p *Phase, def PhaseDef, limits Limits) {
	ends := map[string]*Quantity{
		"mass_received": p.End.MassReceived, "hopper_below": p.End.HopperBelow,
		"level_above": p.End.LevelAbove, "level_below": p.End.LevelBelow, "time_elapsed": p.End.TimeElapsed,
	}
	n := 0
	if p.End.OperatorConfirm {
		n++
		if !slices.Contains(def.Ends, "operator_confirm") {
			add(pp+".end.operator_confirm", "phase %s cannot end on operator_confirm; allowed end conditions: %s", p.Phase, strings.Join(def.Ends, ", "))
		}
	}
	for _, e := range EndDefs {
		q := ends[e.Name]
		if q == nil {
			continue
		}
		n++
		ep := pp + ".end." + e.Name
		if !slices.Contains(def.Ends, e.Name) {
			add(ep, "%s can never be met in phase %s; allowed end conditions: %s", e.Name, p.Phase, strings.Join(def.Ends, ", "))
			continue
		}
		checkQuantity(add, ep, *q, e, nil)
		if e.Limit != "" {
			if lim, ok := limits[e.Limit]; ok && q.Unit == e.Unit && q.Value > lim[1] {
				add(ep+".value", "%s = %g %s can never be met: the plant's %s reads at most %g %s", e.Name, q.Value, e.Unit, e.Limit, lim[1], e.Unit)
			}
		}
	}
	if n == 0 {
		add(pp+".end", "phase %s needs at least one end condition; allowed: %s", p.Phase, strings.Join(def.Ends, ", "))
	}
	if p.Timeout != nil {
		td, _ := endDef("timeout")
		checkQuantity(add, pp+".timeout", *p.Timeout, td, nil)
		if t := p.End.TimeElapsed; t != nil && p.Timeout.Unit == "s" && t.Unit == "s" && p.Timeout.Value <= t.Value {
			add(pp+".timeout.value", "timeout %g s is not after time_elapsed %g s: the phase could never end before it times out", p.Timeout.Value, t.Value)
		}
	}
}

func endDef(name string) (Definition, bool) {
	for _, e := range EndDefs {
		if e.Name == name {
			return e, true
		}
	}
	return Definition{}, false
}

func names(setpoints bool) []string {
	var out []string
	for _, d := range Definitions {
		if d.Setpoint == setpoints {
			out = append(out, d.Name)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
