package physics

import (
	"fmt"
	"strings"
)

// WasteClass names a kind of incoming food waste. Each class has its own
// properties (ClassProperties) and, on the real plant, its own recipe.
type WasteClass string

// Waste classes, named as in recipes and plant files.
const (
	ClassCatering  WasteClass = "catering"   // restaurant and canteen waste: bones, cutlery, grease
	ClassMarketVeg WasteClass = "market_veg" // market fruit and vegetables: wet and fibrous
	ClassBakery    WasteClass = "bakery"     // bread and pastry: dry, needs heavy dilution
	ClassHousehold WasteClass = "household"  // household collections: more bags, more rejects
	ClassPackaged  WasteClass = "packaged"   // expired packaged food: high packaging fraction
)

// ClassProperties are the model parameters of one waste class. The values are
// engineering estimates taken from the ranges in PROCESS.md.
type ClassProperties struct {
	// DSPercent is the dry-solids content of the waste as tipped, in % of
	// total mass.
	DSPercent float64
	// HardnessFactor scales shredder capacity (kg/s per rpm): 1 for catering
	// waste, below 1 for waste that is harder or slower to cut (fibrous,
	// packaged), above 1 for waste that cuts easily.
	HardnessFactor float64
	// SpecificEnergyKWhPerT is the shredder's shaft energy per tonne shredded;
	// together with the throughput it sets the shredder motor load.
	SpecificEnergyKWhPerT float64
	// RejectFraction is the mass fraction of shredded waste removed by the
	// screen as rejects (packaging, grit) before the pulper.
	RejectFraction float64
	// PackagingFraction is the mean mass fraction a depackager separates
	// from this class as rejects (packaging with the food stuck to it);
	// PackagingMin and PackagingMax bound the fraction of one load, which
	// varies around the mean. The shredder's reject screen on a line
	// without a depackager uses RejectFraction instead.
	PackagingFraction, PackagingMin, PackagingMax float64
	// PH is the mean pH of the slurry made from this class.
	PH float64
	// HardObjectsPerTonne is how many hard objects (bones, cutlery, cans,
	// wrapping twine) arrive per tonne shredded, on average; each one jams
	// the shredder. The rig uses it when random jams are on.
	HardObjectsPerTonne float64
}

// The specific energies put the shredder motor at 70–80 % of its full-load
// current at the shipped recipes' feed rates: below the recipes' feed-pause
// currents (80–90 % FLA), as a line sized for its duty runs. Catering waste
// brings the most hard objects (bones, cutlery); bakery waste the fewest.
//
// Packaging (est.): source-separated catering, market and bakery waste
// brings little (under 2 %), household collections a few % of bags,
// expired packaged food 10–30 %.
var classProperties = map[WasteClass]ClassProperties{
	ClassCatering: {DSPercent: 28, HardnessFactor: 1.0, SpecificEnergyKWhPerT: 2.5, RejectFraction: 0.01, PH: 4.8, HardObjectsPerTonne: 1.5,
		PackagingFraction: 0.012, PackagingMin: 0.006, PackagingMax: 0.018},
	ClassMarketVeg: {DSPercent: 12, HardnessFactor: 0.8, SpecificEnergyKWhPerT: 2.5, RejectFraction: 0.005, PH: 5.2, HardObjectsPerTonne: 0.8,
		PackagingFraction: 0.008, PackagingMin: 0.004, PackagingMax: 0.012},
	ClassBakery: {DSPercent: 55, HardnessFactor: 1.2, SpecificEnergyKWhPerT: 3.0, RejectFraction: 0.01, PH: 5.4, HardObjectsPerTonne: 0.2,
		PackagingFraction: 0.01, PackagingMin: 0.005, PackagingMax: 0.015},
	ClassHousehold: {DSPercent: 25, HardnessFactor: 0.9, SpecificEnergyKWhPerT: 3.0, RejectFraction: 0.05, PH: 5.0, HardObjectsPerTonne: 1.0,
		PackagingFraction: 0.04, PackagingMin: 0.02, PackagingMax: 0.06},
	ClassPackaged: {DSPercent: 30, HardnessFactor: 0.7, SpecificEnergyKWhPerT: 5.0, RejectFraction: 0.20, PH: 5.0, HardObjectsPerTonne: 0.8,
		PackagingFraction: 0.20, PackagingMin: 0.10, PackagingMax: 0.30},
}

// WasteClasses returns every known class, in a fixed order.
func WasteClasses() []WasteClass {
	return []WasteClass{ClassCatering, ClassMarketVeg, ClassBakery, ClassHousehold, ClassPackaged}
}

// Properties returns the model parameters of the class and whether the class
// is known.
func (c WasteClass) Properties() (ClassProperties, bool) {
	p, ok := classProperties[c]
	return p, ok
}

// ParseWasteClass returns the class named s, or an error that lists the
// allowed names.
func ParseWasteClass(s string) (WasteClass, error) {
	c := WasteClass(s)
	if _, ok := classProperties[c]; ok {
		return c, nil
	}
	names := make([]string, 0, len(classProperties))
	for _, k := range WasteClasses() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("waste class %q is not known; allowed: %s", s, strings.Join(names, ", "))
}
