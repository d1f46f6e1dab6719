package recipes

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

// Recipe is a parsed, validated pretreatment recipe (an ISA-88 master
// recipe in spirit): recipe-wide parameters with units and an ordered
// procedure of phases, each with its setpoints and end conditions.
type Recipe struct {
	Name string `yaml:"recipe" json:"recipe"`
	// Version is assigned by the store on import; a file may state it, and
	// then it must match what the store would assign (see Store.Import).
	Version     int                 `yaml:"version,omitempty" json:"version"`
	WasteClass  string              `yaml:"waste_class" json:"waste_class"`
	Description string              `yaml:"description" json:"description"`
	Parameters  map[string]Quantity `yaml:"parameters" json:"parameters"`
	Procedure   []Phase             `yaml:"procedure" json:"procedure"`

	// Hash is the SHA-256 of the recipe's content (name, class,
	// description, parameters, procedure; not the version, comments or
	// layout), hex encoded. Two files that say the same thing hash the same.
	Hash string `yaml:"-" json:"hash"`
	// Path is where the recipe was read from, if from a file.
	Path string `yaml:"-" json:"-"`
	// Source is the text the recipe was parsed from.
	Source []byte `yaml:"-" json:"-"`
}

// Validate checks the recipe again against a plant's limits (they may be
// narrower than when it was imported). The error is yamlsrc.Errors located
// in the recipe's source.
func (r *Recipe) Validate(limits Limits) error {
	name := r.Path
	if name == "" {
		name = fmt.Sprintf("%s@%d", r.Name, r.Version)
	}
	_, err := Parse(name, r.Source, limits)
	return err
}

// Quantity is a number with its unit. The unit must be the one the
// parameter is defined in (see Definitions); nothing is converted silently.
type Quantity struct {
	Value float64 `yaml:"value" json:"value"`
	Unit  string  `yaml:"unit" json:"unit"`
}

// Phase is one step of the procedure.
type Phase struct {
	Phase     string              `yaml:"phase" json:"phase"`
	Setpoints map[string]Quantity `yaml:"setpoints,omitempty" json:"setpoints,omitempty"`
	// End lists the conditions that end the phase; all must hold.
	End End `yaml:"end" json:"end"`
	// Timeout holds the line if the phase has not ended in this time.
	Timeout *Quantity `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// End is a phase's end conditions. The phase ends when every condition
// given holds and the phase's own work (purging, water top-up) is done.
type End struct {
	MassReceived    *Quantity `yaml:"mass_received,omitempty" json:"mass_received,omitempty"`       // net hopper mass at or above, kg
	HopperBelow     *Quantity `yaml:"hopper_below,omitempty" json:"hopper_below,omitempty"`         // net hopper mass at or below, kg
	LevelAbove      *Quantity `yaml:"level_above,omitempty" json:"level_above,omitempty"`           // pulper level at or above, %
	LevelBelow      *Quantity `yaml:"level_below,omitempty" json:"level_below,omitempty"`           // pulper level at or below, %
	TimeElapsed     *Quantity `yaml:"time_elapsed,omitempty" json:"time_elapsed,omitempty"`         // time in the phase, s
	OperatorConfirm bool      `yaml:"operator_confirm,omitempty" json:"operator_confirm,omitempty"` // an operator confirms
}

// Param returns a recipe-wide parameter's value, or its definition's
// default when an optional parameter is absent.
func (r *Recipe) Param(name string) float64 {
	if q, ok := r.Parameters[name]; ok {
		return q.Value
	}
	if d, ok := definitionByName[name]; ok {
		return d.Default
	}
	return 0
}

// Setpoint returns a phase's setpoint, or the definition's default.
func (p *Phase) Setpoint(name string) float64 {
	if q, ok := p.Setpoints[name]; ok {
		return q.Value
	}
	if d, ok := definitionByName[name]; ok {
		return d.Default
	}
	return 0
}

// PhaseByName returns the procedure's phase of that name, or nil.
func (r *Recipe) PhaseByName(name string) *Phase {
	for i := range r.Procedure {
		if r.Procedure[i].Phase == name {
			return &r.Procedure[i]
		}
	}
	return nil
}

// contentHash hashes what the recipe says, independent of layout.
func (r *Recipe) contentHash() string {
	c := *r
	c.Version, c.Hash, c.Path, c.Source = 0, "", "", nil
	b, _ := json.Marshal(&c) // maps marshal with sorted keys: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Parse decodes and validates a recipe against limits (nil: the recipe's
// own ranges only). The error, if any, is yamlsrc.Errors with every problem
// in the file, each located as file:line:column.
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
	r.Hash = r.contentHash()
	r.Path = name
	r.Source = bytes.Clone(src)
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

// ShippedFiles returns the recipe files shipped with pretreat, by file name.
func ShippedFiles() (map[string][]byte, error) {
	names, err := fs.Glob(shipped, "shipped/*.yaml")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, n := range names {
		src, err := shipped.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[path.Base(n)] = src
	}
	return out, nil
}

// Shipped returns the shipped recipes, validated against limits, by name.
func Shipped(limits Limits) ([]*Recipe, error) {
	files, err := ShippedFiles()
	if err != nil {
		return nil, err
	}
	var out []*Recipe
	for n, src := range files {
		r, err := Parse(n, src, limits)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
