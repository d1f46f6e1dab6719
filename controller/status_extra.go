package controller

import (
	"math"
	"sort"
	"strings"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/equipment"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/recipes"
)

// statusExtra is what the status carries for the operator's screens
// (ISA-101: overview, unit faceplates, alarm summary) beyond the scan's
// values: per tag how to show it, the line's flow graph, per unit the
// recipe values that apply to it. All of it is worked out once, in
// indexTags; publish only fills in the values of the moment.
type statusExtra struct {
	prec   []int  // per tag (snapshot index): decimals shown
	isBool []bool // per tag: an on/off point
	// flow is the line's graph in flow order; shared by every status (no
	// one writes to it).
	flow []api.FlowEdge
	// setpoints are, per plant unit (cfg.Units order, the order of
	// Status.Units), the recipe values that apply to it; nSetpoints their
	// total.
	setpoints  [][]setpointDef
	nSetpoints int
	// unitIndex finds a unit's place in Status.Units by name; nModules is
	// how many units report a module state.
	unitIndex map[string]int
	nModules  int
	mod       equipment.ModuleState // scratch for the module reports
	// details keeps, per unit, the last Detail map published with the
	// report it came from: while a unit's details do not change, the
	// statuses share the map (no one writes to a published map).
	details []detailCache
	seq     uint64
}

// detailCache is a unit's last published module details.
type detailCache struct {
	d [len(equipment.ModuleState{}.Detail)]equipment.ModuleDetail
	n int
	m map[string]string
}

// setpointDef is one recipe value of a unit with the limits a recipe is
// validated against: the definition's range within the plant's equipment
// limit, when it names one (the same check an override gets).
type setpointDef struct {
	def      recipes.Definition
	min, max float64
}

// unitSetpoints lists, per unit kind, the recipe values an operator sees
// on its faceplate. The values with an equipment limit (Definition.Limit
// "kind.signal") are those the recipe validation checks against the
// plant; the others are the kind's process parameters.
var unitSetpoints = map[string][]string{
	plant.KindShredder:   {"shredder_speed", "jam_current", "feed_pause_current", "max_reversals", "reversal_window", "reverse_time"},
	plant.KindFeeder:     {"feeder_speed"},
	plant.KindScrewPress: {"press_speed", "press_back_pressure", "press_max_current", "cake_ds_target"},
	plant.KindPulper:     {"slurry_ds_target", "ds_in", "max_water_ratio", "wash_water_flow"},
	plant.KindReception:  {"h2s_warn", "h2s_alarm"},
}

// digitalRoles are the unit signal roles that are on/off whatever the
// point's type (a run command on a holding register, say).
var digitalRoles = map[string]bool{"run": true, "running": true, "fault": true, "reverse": true, "door": true, "water": true, "pull_cord_ok": true}

// indexExtra works out the extra status fields that do not change: tag
// precision and on/off, the flow graph, each unit's recipe values, and the
// units with a module. names are the tags by snapshot index.
func (e *Engine) indexExtra(names []string) {
	x := &e.extra
	role := map[string]string{} // tag → unit signal role
	for _, u := range e.cfg.Units {
		for r, tag := range u.Signals {
			role[tag] = r
		}
	}
	for _, dc := range e.cfg.Devices {
		if w := dc.Watchdog; w != nil {
			for _, tag := range []string{w.Fault, w.Reset} {
				if tag != "" && role[tag] == "" {
					role[tag] = "fault"
				}
			}
		}
	}
	x.prec = make([]int, len(names))
	x.isBool = make([]bool, len(names))
	for i, tag := range names {
		_, p := e.cfg.Point(tag)
		x.isBool[i] = pointIsBool(p, digitalRoles[role[tag]])
		x.prec[i] = pointPrecision(p, x.isBool[i])
	}
	x.flow = flowEdges(e.cfg)
	x.unitIndex = make(map[string]int, len(e.cfg.Units))
	x.setpoints = make([][]setpointDef, len(e.cfg.Units))
	x.nSetpoints = 0
	for k, u := range e.cfg.Units {
		x.unitIndex[u.Name] = k
		for _, name := range unitSetpoints[u.Kind] {
			d, ok := recipes.Lookup(name)
			if !ok {
				continue
			}
			sd := setpointDef{def: d, min: d.Min, max: d.Max}
			if lim, ok := e.limits[d.Limit]; ok {
				sd.min, sd.max = math.Max(sd.min, lim[0]), math.Min(sd.max, lim[1])
			}
			x.setpoints[k] = append(x.setpoints[k], sd)
			x.nSetpoints++
		}
	}
	x.nModules = 0
	x.details = make([]detailCache, len(e.cfg.Units))
	e.line.Modules(func(name string, mod equipment.Unit) {
		if _, ok := mod.(equipment.ModuleReporter); ok {
			if _, ok := x.unitIndex[name]; ok {
				x.nModules++
			}
		}
	})
}

// isInteger reports whether a point's raw value is an integer.
func isInteger(t drivers.DataType) bool {
	switch t {
	case drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64:
		return true
	}
	return false
}

// pointIsBool says whether a point is on/off: a bool, a register bit, a
// coil or discrete input, a point whose unit says so ("on/off", "bool"),
// or an unscaled integer with no unit that is bound to an on/off role of
// its unit (run, running, fault, …; digital) or whose range is 0 to 1.
func pointIsBool(p *drivers.PointConfig, digital bool) bool {
	if p == nil {
		return false
	}
	switch {
	case p.Type == drivers.TypeBool, p.Bit != nil, p.Table == drivers.TableCoil, p.Table == drivers.TableDiscrete:
		return true
	case strings.EqualFold(p.Unit, "on/off"), strings.EqualFold(p.Unit, "bool"):
		return true
	}
	plain := (p.Type == "" || isInteger(p.Type)) && p.ScaleOrOne() == 1 && p.Offset == 0 && p.Unit == ""
	return plain && (digital || (p.Min == 0 && p.Max == 1))
}

// pointPrecision is the number of decimals a point is shown with:
//
//   - the plant file's precision, if given (0–6);
//   - 0 for an on/off point or a string;
//   - with a range (min, max): from its span max−min: ≥ 1000 → 0,
//     ≥ 100 → 1, ≥ 1 → 2, below → 3; never more decimals than an integer
//     point's scale resolves (scale 0.1 → at most 1);
//   - without a range, an integer point: the decimals of its scale (0.1 →
//     1, 0.01 → 2; unscaled → 0);
//   - else by the unit's typical magnitude: kg, t, kWh, l, m3 → 0;
//     %, rpm, A, ppm, kW → 1; anything else → 2.
//
// So shredder.current (0–400 A, scale 0.1) shows as 103.2 A, pulper.ds
// (0–100 %) as 18.4 %, press.back_pressure (scale 0.01 bar) as 0.42 bar
// and hopper.weight (−50–20000 kg) as 2480 kg. A tag the plant file does
// not describe gets 2.
func pointPrecision(p *drivers.PointConfig, isBool bool) int {
	switch {
	case p == nil:
		return 2
	case p.Precision != nil:
		return *p.Precision
	case isBool, p.Type == drivers.TypeString:
		return 0
	}
	scaleDec := -1 // the decimals an integer point's scale resolves
	if p.Type == "" || isInteger(p.Type) {
		scaleDec = decimalsOf(p.ScaleOrOne())
	}
	if p.Min != 0 || p.Max != 0 {
		d := spanDecimals(p.Max - p.Min)
		if scaleDec >= 0 && d > scaleDec {
			d = scaleDec
		}
		return d
	}
	if scaleDec >= 0 {
		return scaleDec
	}
	switch strings.ToLower(p.Unit) {
	case "kg", "t", "kwh", "l", "m3":
		return 0
	case "%", "rpm", "a", "ppm", "kw":
		return 1
	}
	return 2
}

// spanDecimals is the decimals for a value spanning span.
func spanDecimals(span float64) int {
	switch {
	case span >= 1000:
		return 0
	case span >= 100:
		return 1
	case span >= 1:
		return 2
	}
	return 3
}

// decimalsOf is the fewest decimals (0–6) that show multiples of step
// exactly: 1 → 0, 0.1 → 1, 0.25 → 2.
func decimalsOf(step float64) int {
	step = math.Abs(step)
	for d := 0; d < 6; d++ {
		v := step * math.Pow10(d)
		if math.Abs(v-math.Round(v)) < 1e-6*math.Max(1, v) {
			return d
		}
	}
	return 6
}

// flowEdges is the plant's flow graph as edges, in flow order: by the
// place of the unit the material comes from in the plant's flow order
// (reception first), then of the unit it goes to.
func flowEdges(cfg *plant.File) []api.FlowEdge {
	order := cfg.FlowOrder()
	pos := make(map[string]int, len(order))
	for i, u := range order {
		pos[u.Name] = i
	}
	var out []api.FlowEdge
	for _, u := range order {
		for _, from := range cfg.Feeders(u.Name) {
			if _, ok := pos[from]; ok {
				out = append(out, api.FlowEdge{From: from, To: u.Name})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if pos[a.From] != pos[b.From] {
			return pos[a.From] < pos[b.From]
		}
		return pos[a.To] < pos[b.To]
	})
	return out
}

// publishExtra fills in the status's extra fields: alarm counts and rate,
// the flow graph, the units' module states and set-points.
func (e *Engine) publishExtra(st *api.Status) {
	x := &e.extra
	st.Flow = x.flow
	st.AlarmCounts = alarmCounts(st.Alarms)
	if e.alarms != nil {
		st.AlarmCounts.Per10Min = e.alarms.Annunciated(st.Time)
		st.AlarmCounts.Flood = st.AlarmCounts.Per10Min > 10
	}
	if len(st.Units) != len(e.cfg.Units) {
		return
	}
	e.publishModules(st)
	e.publishSetpoints(st)
}

// alarmCounts counts the listed alarms: by priority those that need
// attention (unacknowledged, acknowledged, returned unacknowledged);
// Unacknowledged those waiting for an acknowledgement (unacknowledged or
// returned unacknowledged); Shelved and OutOfService the alarms set aside,
// which the priority counts leave out. The rate is the caller's.
func alarmCounts(list []api.AlarmStatus) api.AlarmCounts {
	var c api.AlarmCounts
	for i := range list {
		a := &list[i]
		switch a.State {
		case "shelved":
			c.Shelved++
			continue
		case "out_of_service":
			c.OutOfService++
			continue
		case "unacknowledged", "returned_unacknowledged":
			c.Unacknowledged++
		case "acknowledged":
		default:
			continue
		}
		switch a.Priority {
		case "critical":
			c.Critical++
		case "high":
			c.High++
		case "medium":
			c.Medium++
		case "low":
			c.Low++
		}
	}
	return c
}

// publishModules sets each unit's Module from its module's report. The
// statuses of all units share one allocation (and their loop values
// another); a unit with details gets a map of them.
func (e *Engine) publishModules(st *api.Status) {
	x := &e.extra
	if x.nModules == 0 {
		return
	}
	mods := make([]api.ModuleStatus, x.nModules)
	vals := make([]float64, 3*x.nModules)
	n := 0
	e.line.Modules(func(name string, mod equipment.Unit) {
		r, ok := mod.(equipment.ModuleReporter)
		k, known := x.unitIndex[name]
		if !ok || !known || n == len(mods) {
			return
		}
		m := &x.mod
		m.Reset()
		r.ReportModule(m)
		ms := &mods[n]
		v := vals[3*n : 3*n+3 : 3*n+3]
		n++
		ms.JamState, ms.Reversals, ms.MaxReversals, ms.WindowS = m.JamState, m.Reversals, m.MaxReversals, m.Window.Seconds()
		if m.Loop {
			v[0], v[1], v[2] = m.LoopOutputPct, m.LoopSetpoint, m.LoopProcess
			ms.PIDOutput, ms.PIDSetpoint, ms.PIDProcess = &v[0], &v[1], &v[2]
		}
		if m.NDetail > 0 {
			c := &x.details[k]
			if c.m == nil || c.n != m.NDetail || c.d != m.Detail {
				c.m = make(map[string]string, m.NDetail)
				for _, d := range m.Detail[:m.NDetail] {
					c.m[d.Name] = d.Text
				}
				c.d, c.n = m.Detail, m.NDetail
			}
			ms.Detail = c.m
		}
		st.Units[k].Module = ms
	})
}

// publishSetpoints sets each unit's Setpoints for the running batch: the
// recipe values in force (overrides included) with their limits; none
// when no batch runs. All units share one allocation.
func (e *Engine) publishSetpoints(st *api.Status) {
	x := &e.extra
	if x.nSetpoints == 0 || e.line.Batch() == nil {
		return
	}
	all := make([]api.SetpointStatus, 0, x.nSetpoints)
	for k, defs := range x.setpoints {
		if len(defs) == 0 {
			continue
		}
		start := len(all)
		for i := range defs {
			sd := &defs[i]
			v, ok := e.line.Param(sd.def.Name)
			if !ok {
				return
			}
			ss := api.SetpointStatus{Name: sd.def.Name, Value: v, Unit: sd.def.Unit, Min: sd.min, Max: sd.max, Overridable: sd.def.Overridable}
			if sd.def.Overridable {
				ss.Parameter = sd.def.Name
			}
			all = append(all, ss)
		}
		st.Units[k].Setpoints = all[start:len(all):len(all)]
	}
}
