package physics

import (
	"fmt"
	"math"
	"slices"
)

// role is one named model variable. set is nil for read-only variables;
// internal marks balance and diagnostic variables that no instrument on a
// real line measures.
type role struct {
	get      func() float64
	set      func(v float64)
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

// modeSwitcher is a unit whose equipment comes in kinds that the plant
// file's map chooses (a cone valve under the controller's PID, a pump
// under command): mapping the named variable on a writable point selects
// it.
type modeSwitcher interface{ modeSwitches() map[string]func() }

// buildRoles names every unit's variables "<unit>.<var>" (the sample
// plant's units keep their old names, see variable.legacy) and adds the
// line's own. Two units may not give the same name.
func (l *Line) buildRoles() error {
	l.roles = map[string]*role{}
	l.modeSwitch = map[string]func(){}
	owner := map[string]string{}
	add := func(name, unit string, r *role) error {
		if o, dup := owner[name]; dup {
			return fmt.Errorf("layout: role %q is named by both %s and %s; rename one of the units", name, o, unit)
		}
		owner[name] = unit
		l.roles[name] = r
		return nil
	}
	line := []struct {
		name string
		r    role
	}{
		{"line.estop_ok", role{get: func() float64 { return b2f(l.estopOK) }}},
		{"line.time_s", role{get: func() float64 { return l.elapsed.Seconds() }, internal: true}},
		// The whole line's total-mass balance (Balance), for any layout:
		// what came in (waste tipped, water added), what its units hold,
		// what has left it.
		{"line.mass_in", role{get: func() float64 { return l.Balance().In }, internal: true}},
		{"line.mass_held", role{get: func() float64 { return l.Balance().Held }, internal: true}},
		{"line.mass_out", role{get: func() float64 { return l.Balance().Out }, internal: true}},
	}
	for _, v := range line {
		if err := add(v.name, "the line", &role{get: v.r.get, internal: v.r.internal}); err != nil {
			return err
		}
	}
	for _, u := range l.units {
		b := u.base()
		names := map[string]string{}
		for _, v := range u.vars() {
			name := b.name + "." + v.name
			if b.legacy && v.legacy != "" {
				if v.legacy == "-" {
					continue
				}
				name = v.legacy
			}
			names[v.name] = name
			if err := add(name, "unit "+b.name, &role{get: v.get, set: v.set, internal: v.internal}); err != nil {
				return err
			}
		}
		if ms, ok := u.(modeSwitcher); ok {
			for v, fn := range ms.modeSwitches() {
				if name, ok := names[v]; ok {
					l.modeSwitch[name] = fn
				}
			}
		}
	}
	l.roleNames = make([]string, 0, len(l.roles))
	for k := range l.roles {
		l.roleNames = append(l.roleNames, k)
	}
	slices.Sort(l.roleNames)
	return nil
}

// Get returns the current reading of the variable named role, in
// engineering units (booleans as 0 or 1), and whether the role exists. A
// role with an injected sensor fault (SetSensorFault) reads as the fault
// makes it; Truth gives the model's value.
func (l *Line) Get(role string) (float64, bool) {
	r, ok := l.roles[role]
	if !ok {
		return 0, false
	}
	v := r.get()
	if sf := l.sensors[role]; sf != nil {
		v = sf.read(v)
	}
	return v, true
}

// Truth returns the model's value of role, ignoring sensor faults, and
// whether the role exists.
func (l *Line) Truth(role string) (float64, bool) {
	r, ok := l.roles[role]
	if !ok {
		return 0, false
	}
	return r.get(), true
}

// Measurement reports whether role is read-only and measured on a real
// line (not a command, setpoint or internal balance variable): what a
// sensor fault may be injected into.
func (l *Line) Measurement(role string) bool {
	r, ok := l.roles[role]
	return ok && r.set == nil && !r.internal
}

// Set sets a command or setpoint. It returns false, changing nothing, when
// the role does not exist, is a measurement, or v is NaN or infinite.
// Commands treat any non-zero value as on; setpoints are clamped to the
// equipment range.
func (l *Line) Set(role string, v float64) bool {
	r, ok := l.roles[role]
	if !ok || r.set == nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	r.set(v)
	return true
}

// Settable reports whether role names a command or setpoint that Set
// accepts.
func (l *Line) Settable(role string) bool {
	r, ok := l.roles[role]
	return ok && r.set != nil
}

// Roles returns the names of every variable, sorted. The caller may modify
// the returned slice.
func (l *Line) Roles() []string { return slices.Clone(l.roleNames) }

// ModeSwitch returns, for a role whose mapping on a writable point says
// which kind of equipment a unit is, the function that puts the unit in
// that mode: a press's cone_valve (BackPressureFromValve), a feed pump's
// run_cmd (PressFeedPump), a transfer pump's run_cmd
// (FiltratePumpCommanded). On the default layout these are
// RoleConeValve, RolePressFeedRunCmd and RoleFiltratePumpCmd.
func (l *Line) ModeSwitch(role string) (func(), bool) {
	fn, ok := l.modeSwitch[role]
	return fn, ok
}
