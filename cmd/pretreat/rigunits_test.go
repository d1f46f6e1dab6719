package main

import (
	"slices"
	"testing"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/testrig/physics"
)

// TestRigUnitsFromThePlantFile: the sample plant file's units are the
// rig's default layout (same units, same feeds), and the integrator's
// plant (no feed pump, no filtrate tank) builds a model of its own with
// every role its devices map.
func TestRigUnitsFromThePlantFile(t *testing.T) {
	cfg, err := plant.Parse("<sample>", plant.Sample())
	if err != nil {
		t.Fatal(err)
	}
	l, err := physics.NewPlant(1, physics.ClassCatering, rigUnits(cfg))
	if err != nil {
		t.Fatal(err)
	}
	got, want := l.Units(), physics.DefaultLayout()
	if !slices.EqualFunc(got, want, func(a, b physics.UnitSpec) bool {
		return a.Name == b.Name && a.Kind == b.Kind && a.Suction == b.Suction && slices.Equal(a.FedBy, b.FedBy)
	}) {
		t.Fatalf("sample plant layout %+v\nwant the default %+v", got, want)
	}
	if !slices.Equal(l.Roles(), physics.New(1, physics.ClassCatering).Roles()) {
		t.Fatal("the sample plant's layout has other roles than the default line")
	}

	cfg, err = plant.Load("../../testrig/testdata/integrator-plant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err = physics.NewPlant(1, physics.ClassCatering, rigUnits(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			if _, ok := l.Get(p.EffectiveRole()); !ok && p.Type != "string" {
				t.Errorf("integrator plant: %s maps role %q, which its own layout does not simulate", p.Tag, p.EffectiveRole())
			}
		}
	}
}
