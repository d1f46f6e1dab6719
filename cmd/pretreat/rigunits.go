package main

import (
	"slices"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/testrig/physics"
)

// rigKinds maps the plant file's unit kinds to the rig model's. They are
// spelled alike; the table says which the model simulates. A plant file
// kind the model does not know is passed on as it is, and the rig refuses
// it by name.
var rigKinds = map[string]string{
	plant.KindReception:  physics.KindReception,
	plant.KindFeeder:     physics.KindFeeder,
	plant.KindShredder:   physics.KindShredder,
	plant.KindPulper:     physics.KindPulper,
	plant.KindPump:       physics.KindPump,
	plant.KindScrewPress: physics.KindScrewPress,
	plant.KindTank:       physics.KindTank,
}

// rigUnits is the plant file's line layout for the rig's model (its units'
// names, kinds, fed_by and suction). A plant file without units gives
// none: the rig then simulates the sample plant's line.
func rigUnits(cfg *plant.File) []physics.UnitSpec {
	units := make([]physics.UnitSpec, 0, len(cfg.Units))
	for _, u := range cfg.Units {
		kind, ok := rigKinds[u.Kind]
		if !ok {
			kind = u.Kind
		}
		units = append(units, physics.UnitSpec{Name: u.Name, Kind: kind, FedBy: slices.Clone(u.FedBy), Suction: u.Suction})
	}
	return units
}
