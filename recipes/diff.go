package recipes

import (
	"fmt"
	"sort"
	"strconv"
)

// Change is one difference between two recipes.
type Change struct {
	// Key names what differs, e.g. "parameters.press_speed" or
	// "procedure.shred.setpoints.shredder_speed".
	Key string `json:"key"`
	A   string `json:"a"` // value in the first recipe, "" when absent
	B   string `json:"b"` // value in the second recipe, "" when absent
}

func fmtQ(q *Quantity) string {
	if q == nil {
		return ""
	}
	v := strconv.FormatFloat(q.Value, 'g', -1, 64)
	if q.Unit == "" {
		return v
	}
	return v + " " + q.Unit
}

// flatten lists every value a recipe sets, keyed like Change.Key.
func (r *Recipe) flatten() map[string]string {
	m := map[string]string{
		"recipe":      r.Name,
		"waste_class": r.WasteClass,
		"description": r.Description,
	}
	for k, q := range r.Parameters {
		m["parameters."+k] = fmtQ(&q)
	}
	for i, p := range r.Procedure {
		base := "procedure." + p.Phase
		m[base] = fmt.Sprintf("step %d", i+1)
		for k, q := range p.Setpoints {
			m[base+".setpoints."+k] = fmtQ(&q)
		}
		for k, q := range map[string]*Quantity{"mass_received": p.End.MassReceived, "hopper_below": p.End.HopperBelow,
			"level_above": p.End.LevelAbove, "level_below": p.End.LevelBelow, "time_elapsed": p.End.TimeElapsed} {
			if q != nil {
				m[base+".end."+k] = fmtQ(q)
			}
		}
		if p.End.OperatorConfirm {
			m[base+".end.operator_confirm"] = "true"
		}
		if p.Timeout != nil {
			m[base+".timeout"] = fmtQ(p.Timeout)
		}
	}
	return m
}

// Diff lists, key by key in sorted order, every value that differs between
// a and b.
func Diff(a, b *Recipe) []Change {
	fa, fb := a.flatten(), b.flatten()
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []Change
	for _, k := range sorted {
		if fa[k] != fb[k] {
			out = append(out, Change{Key: k, A: fa[k], B: fb[k]})
		}
	}
	return out
}
