package main

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/hmi"
	"github.com/pretreat/pretreat/testrig"
	"github.com/pretreat/pretreat/testrig/physics"
)

// rigTrainer gives the HMI's training menu the faults of a test rig: it
// injects and clears them through the rig's control API, and offers for
// each kind the targets the plant file has (its devices, units and
// measured tags), so that a trainee picks from a list instead of typing
// names.
type rigTrainer struct {
	c       *testrig.ControlClient
	targets map[testrig.FaultKind][]string // by kind; a kind absent takes no target
	skip    map[testrig.FaultKind]bool     // kinds whose equipment the plant lacks
}

var _ hmi.Trainer = (*rigTrainer)(nil)

// newRigTrainer returns a trainer over the rig control API c, whose
// targets come from cfg: the plant file the rig simulates.
func newRigTrainer(c *testrig.ControlClient, cfg *plant.File) *rigTrainer {
	t := &rigTrainer{c: c, targets: map[testrig.FaultKind][]string{}, skip: map[testrig.FaultKind]bool{}}
	for _, d := range testrig.FaultKindDescs() {
		ts, needs := faultTargets(d, cfg)
		if needs && len(ts) == 0 {
			t.skip[d.Kind] = true
			continue
		}
		if len(ts) > 0 {
			t.targets[d.Kind] = ts
		}
	}
	return t
}

// faultTargets lists the targets a fault kind may take on the plant of
// cfg, in the plant's order (units upstream first), and whether the kind
// needs one at all. It follows the rules of the rig's table of kinds
// (testrig/faultkinds.go): faults of a device front take a simulated device
// (of one protocol for exception and bad_status), sensor faults a measured
// tag, plant faults a unit of their kinds or one of their fixed targets.
func faultTargets(d testrig.FaultKindDesc, cfg *plant.File) ([]string, bool) {
	switch d.Group {
	case testrig.GroupDevice:
		var out []string
		for _, dev := range cfg.Devices {
			if !dev.Simulated {
				continue
			}
			switch d.Kind {
			case testrig.FaultException:
				if dev.Protocol != drivers.ProtocolModbusTCP {
					continue
				}
			case testrig.FaultBadStatus:
				if dev.Protocol != drivers.ProtocolOPCUA {
					continue
				}
			}
			out = append(out, dev.Name)
		}
		return out, true
	case testrig.GroupSensor:
		return sensorTags(cfg), true
	}
	// Faults of the plant.
	if len(d.UnitKinds) > 0 {
		var out []string
		for _, u := range cfg.FlowOrder() {
			kind, ok := rigKinds[u.Kind]
			if !ok {
				kind = u.Kind
			}
			if slices.Contains(d.UnitKinds, kind) {
				out = append(out, u.Name)
			}
		}
		// The pulper's mixer motor is a target by its own name.
		if slices.Contains(d.Targets, physics.UnitMixer) && cfg.Unit(plant.KindPulper) != nil && !slices.Contains(out, physics.UnitMixer) {
			out = append(out, physics.UnitMixer)
		}
		return out, true
	}
	if len(d.Targets) == 0 {
		return nil, false // e-stop: the whole line
	}
	// Fixed targets (level_hh: the pulper, the filtrate tank): those the
	// plant has equipment for.
	var out []string
	for _, t := range d.Targets {
		switch {
		case t == "pulper" && cfg.Unit(plant.KindPulper) != nil,
			t == "filtrate" && cfg.Unit(plant.KindTank) != nil,
			t != "pulper" && t != "filtrate":
			out = append(out, t)
		}
	}
	return out, true
}

// sensorTags are the tags a sensor fault may be injected into: the
// readings of simulated points that the model measures (not commands,
// setpoints or balance variables), the units' tags first in flow order,
// then the line's own (the e-stop circuit).
func sensorTags(cfg *plant.File) []string {
	line, err := physics.NewPlant(0, physics.ClassCatering, layoutOf(cfg))
	if err != nil {
		return nil // the rig refuses such a plant too
	}
	measured := func(tag string) bool {
		dev, p := cfg.Point(tag)
		return dev != nil && dev.Simulated && p.Access.Readable() && !p.Access.Writable() && line.Measurement(p.EffectiveRole())
	}
	var out []string
	seen := map[string]bool{}
	add := func(tag string) {
		if !seen[tag] && measured(tag) {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	for _, u := range cfg.FlowOrder() {
		var tags []string
		for _, tag := range u.Signals {
			tags = append(tags, tag)
		}
		slices.Sort(tags)
		for _, tag := range tags {
			add(tag)
		}
	}
	for _, dev := range cfg.Devices {
		for _, p := range dev.Points {
			add(p.Tag)
		}
	}
	return out
}

// layoutOf is the model's layout for cfg: nil (the sample line) when the
// file has no units, as the rig takes it.
func layoutOf(cfg *plant.File) []physics.UnitSpec {
	if len(cfg.Units) == 0 {
		return nil
	}
	return rigUnits(cfg)
}

// Kinds lists the rig's fault kinds with what they do and their targets on
// this plant. Kinds that need equipment the plant does not have (a belt
// conveyor's slip on a line without one) are left out.
func (t *rigTrainer) Kinds(ctx context.Context) ([]hmi.FaultKind, error) {
	infos, err := t.c.FaultKinds(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]hmi.FaultKind, 0, len(infos))
	for _, k := range infos {
		if t.skip[k.Kind] {
			continue
		}
		text := k.Doc
		if k.Params != "" {
			text += ". Injected with its defaults: " + k.Params
		}
		out = append(out, hmi.FaultKind{Kind: string(k.Kind), Text: text, Targets: slices.Clone(t.targets[k.Kind])})
	}
	return out, nil
}

// Active lists the faults in force, in injection order.
func (t *rigTrainer) Active(ctx context.Context) ([]hmi.Fault, error) {
	fs, err := t.c.Faults(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]hmi.Fault, len(fs))
	for i, f := range fs {
		out[i] = hmi.Fault{ID: f.ID, Kind: string(f.Spec.Kind), Target: f.Spec.Target, Since: f.Since}
	}
	return out, nil
}

// Inject starts a fault of kind on target (empty: none, or the kind's
// default) with the kind's default parameters.
func (t *rigTrainer) Inject(ctx context.Context, kind, target string) (string, error) {
	f, err := t.c.Inject(ctx, testrig.FaultSpec{Kind: testrig.FaultKind(kind), Target: target})
	if err != nil {
		return "", trainerError(err)
	}
	return f.ID, nil
}

// Clear ends the fault with id.
func (t *rigTrainer) Clear(ctx context.Context, id string) error {
	_, err := t.c.Clear(ctx, id)
	return trainerError(err)
}

// ClearAll ends every fault.
func (t *rigTrainer) ClearAll(ctx context.Context) error {
	_, err := t.c.ClearAll(ctx)
	return trainerError(err)
}

// trainerError drops the "testrig: " prefix of the rig's refusals: the
// message line has no room for it.
func trainerError(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := strings.CutPrefix(err.Error(), "testrig: "); ok {
		return errors.New(s)
	}
	return err
}
