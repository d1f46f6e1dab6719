package physics

import "math"

// Capacity is the most waste, in kg/s as tipped, that the model's line
// can take in steady state for class at the given speeds, and the unit
// that sets it: the feeder (its rate at feederPct), the shredder (its
// cutting rate at shredderRPM for the class's hardness), or the press (its
// slurry capacity at pressRPM and backPressureBar, over the slurry a kg of
// waste makes with waterRatio kg of water per kg). An unknown class has
// no capacity.
func Capacity(class WasteClass, feederPct, shredderRPM, pressRPM, backPressureBar, waterRatio float64) (kgPerS float64, bottleneck string) {
	props, ok := class.Properties()
	if !ok {
		return 0, ""
	}
	feeder := feederMaxKgPerS * feederPct / 100
	shredder := shredderKgPerSPerRPM * shredderRPM * props.HardnessFactor
	slurryPerKg := 1 - props.RejectFraction + math.Max(0, waterRatio)
	press := pressKgPerSPerRPM * pressRPM * math.Max(0, 1-pressCapacityPerBar*math.Max(0, backPressureBar)) / slurryPerKg
	kgPerS, bottleneck = feeder, "feeder"
	if shredder < kgPerS {
		kgPerS, bottleneck = shredder, "shredder"
	}
	if press < kgPerS {
		kgPerS, bottleneck = press, "screw_press"
	}
	return kgPerS, bottleneck
}
