package line

import "github.com/pretreat/pretreat/controller/equipment"

// Modules calls fn with every unit that has an equipment module (jam
// logic, a control loop, …), the sequenced units downstream first, then
// the pumps. The module is the scan's: fn may read it (a
// equipment.ModuleReporter's report) but must not keep or step it.
func (l *Line) Modules(fn func(name string, mod equipment.Unit)) {
	for _, u := range l.order {
		if u.ctl != nil {
			fn(u.name, u.ctl.mod)
		}
	}
	for _, p := range l.pumps {
		if p.ctl != nil {
			fn(p.name, p.ctl.mod)
		}
	}
}

// Param returns the value in force of a recipe parameter or set-point for
// the running batch (an operator's override, else the current phase's
// set-point, else any phase's, else the recipe's or the definition's
// default), and false when no batch runs.
func (l *Line) Param(name string) (float64, bool) {
	if l.batch == nil {
		return 0, false
	}
	return l.param(name), true
}
