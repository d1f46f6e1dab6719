package recipes

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

// Recipe is a parsed pretreatment recipe.
type Recipe struct {
	Name        string               `yaml:"recipe" json:"recipe"`
	Version     int                  `yaml:"version" json:"version"`
	WasteClass  string               `yaml:"waste_class" json:"waste_class"`
	Description string               `yaml:"description" json:"description"`
	Parameters  map[string]Parameter `yaml:"parameters" json:"parameters"`
	Procedure   []string             `yaml:"procedure" json:"procedure"`

	// Hash is the SHA-256 of the source file, hex encoded.
	Hash string `yaml:"-" json:"hash"`
	// Path is where the recipe was read from.
	Path string `yaml:"-" json:"path"`
}

// Parameter is one recipe value with its unit.
type Parameter struct {
	Value float64 `yaml:"value" json:"value"`
	Unit  string  `yaml:"unit" json:"unit"`
}

// Value returns the value of a parameter, or the definition's default when
// the recipe leaves an optional parameter out.
func (r *Recipe) Value(name string) float64 {
	if p, ok := r.Parameters[name]; ok {
		return p.Value
	}
	for _, d := range Definitions {
		if d.Name == name {
			return d.Default
		}
	}
	return 0
}

// Definition describes one recipe parameter: its unit, its allowed range,
// and, where the value drives equipment, the plant limit it must also meet.
type Definition struct {
	Name        string
	Unit        string
	Min, Max    float64
	Required    bool
	Default     float64 // used when an optional parameter is absent
	Description string
	// Limit names the equipment limit as "unit-kind.limit", e.g.
	// "shredder.speed_sp": the plant file's limits for that unit also apply.
	Limit string
}

// Definitions is the recipe reference: every parameter a recipe may set.
// Ranges come from ../shared/PROCESS.md's recipe table.
var Definitions = []Definition{
	{Name: "batch_mass", Unit: "kg", Min: 50, Max: 20000, Required: true, Description: "waste to receive into the hopper for this batch"},
	{Name: "ds_in", Unit: "%", Min: 5, Max: 70, Required: true, Description: "expected dry solids of the incoming waste"},
	{Name: "shredder_speed", Unit: "rpm", Min: 10, Max: 40, Required: true, Limit: "shredder.speed_sp", Description: "shredder speed setpoint"},
	{Name: "feeder_speed", Unit: "%", Min: 10, Max: 100, Required: true, Limit: "feeder.speed_sp", Description: "feeder speed setpoint"},
	{Name: "slurry_ds_target", Unit: "%", Min: 6, Max: 15, Required: true, Description: "dry solids target of the pulper slurry; sets the dilution water"},
	{Name: "max_water_ratio", Unit: "t/t", Min: 0, Max: 8, Default: 8, Description: "most dilution water per tonne of waste"},
	{Name: "press_speed", Unit: "rpm", Min: 5, Max: 50, Required: true, Limit: "screw_press.speed_sp", Description: "screw press speed setpoint"},
	{Name: "press_back_pressure", Unit: "bar", Min: 0.5, Max: 7, Required: true, Limit: "screw_press.back_pressure_sp", Description: "press cone back-pressure setpoint"},
	{Name: "purge_time", Unit: "s", Min: 10, Max: 600, Required: true, Description: "run-empty time per stage on a normal stop"},
	{Name: "pulper_empty_level", Unit: "%", Min: 0, Max: 20, Default: 2, Description: "pulper level below which dewatering ends"},
}

// Phases a procedure may contain, in the only order they may run.
var Phases = []string{"receive", "shred", "dewater"}

// WasteClasses are the waste classes a recipe may name.
var WasteClasses = []string{"catering", "market_veg", "bakery", "household", "packaged"}

// Limits are the equipment limits of a plant, keyed "unit-kind.limit"
// (e.g. "shredder.speed_sp") with [min, max].
type Limits map[string][2]float64

// Parse decodes and validates a recipe. limits may be nil to check only the
// recipe's own ranges. The error, if any, is yamlsrc.Errors listing every
// problem with file:line:column.
func Parse(name string, src []byte, limits Limits) (*Recipe, error) {
	var r Recipe
	doc, err := yamlsrc.Decode(name, src, &r)
	if err != nil {
		return nil, err
	}
	r.check(doc.Addf, limits)
	if err := doc.Err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	r.Hash = hex.EncodeToString(sum[:])
	r.Path = name
	return &r, nil
}

// Load reads and validates a recipe file.
func Load(file string, limits Limits) (*Recipe, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, src, limits)
}

//go:embed shipped/*.yaml
var shipped embed.FS

// Shipped returns the recipes shipped with pretreat, validated against limits.
func Shipped(limits Limits) ([]*Recipe, error) {
	names, err := fs.Glob(shipped, "shipped/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*Recipe
	for _, n := range names {
		src, err := shipped.ReadFile(n)
		if err != nil {
			return nil, err
		}
		r, err := Parse(path.Base(n), src, limits)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *Recipe) check(add func(path, format string, args ...any), limits Limits) {
	if r.Name == "" {
		add("$", "a recipe needs a name: add `recipe: <name>`")
	}
	if r.Version < 1 {
		add("$.version", "version %d is not allowed; versions start at 1", r.Version)
	}
	if !slices.Contains(WasteClasses, r.WasteClass) {
		add("$.waste_class", "waste class %q is not known; allowed: %s", r.WasteClass, strings.Join(WasteClasses, ", "))
	}
	defs := map[string]Definition{}
	for _, d := range Definitions {
		defs[d.Name] = d
	}
	for _, d := range Definitions {
		if _, ok := r.Parameters[d.Name]; d.Required && !ok {
			add("$.parameters", "required parameter %s (%s) is missing", d.Name, d.Unit)
		}
	}
	names := make([]string, 0, len(r.Parameters))
	for n := range r.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := r.Parameters[n]
		pp := "$.parameters." + n
		d, ok := defs[n]
		if !ok {
			add(pp, "parameter %q is not known; allowed: %s", n, strings.Join(definitionNames(), ", "))
			continue
		}
		if p.Unit != d.Unit {
			add(pp+".unit", "%s is in %s, not %q", n, d.Unit, p.Unit)
			continue
		}
		if p.Value < d.Min || p.Value > d.Max {
			add(pp+".value", "%s = %g %s is out of range; allowed: %g to %g %s", n, p.Value, d.Unit, d.Min, d.Max, d.Unit)
			continue
		}
		if lim, ok := limits[d.Limit]; ok && d.Limit != "" && (p.Value < lim[0] || p.Value > lim[1]) {
			add(pp+".value", "%s = %g %s is outside the equipment limit %s; allowed: %g to %g %s", n, p.Value, d.Unit, d.Limit, lim[0], lim[1], d.Unit)
		}
	}
	if len(r.Procedure) == 0 {
		add("$.procedure", "a recipe needs a procedure; allowed phases in order: %s", strings.Join(Phases, ", "))
	}
	last := -1
	seen := map[string]bool{}
	for i, ph := range r.Procedure {
		pp := fmt.Sprintf("$.procedure[%d]", i)
		idx := slices.Index(Phases, ph)
		switch {
		case idx < 0:
			add(pp, "phase %q is not known; allowed: %s", ph, strings.Join(Phases, ", "))
		case seen[ph]:
			add(pp, "phase %q appears twice", ph)
		case idx < last:
			add(pp, "phase %q cannot run after %q; the order is %s", ph, Phases[last], strings.Join(Phases, ", "))
		}
		seen[ph] = true
		if idx > last {
			last = idx
		}
	}
}

func definitionNames() []string {
	out := make([]string, len(Definitions))
	for i, d := range Definitions {
		out[i] = d.Name
	}
	return out
}
