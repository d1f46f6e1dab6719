// Package physics is the process model behind the test rig: a deterministic,
// lumped model of one food-waste pretreatment line (reception hopper, feeder,
// shredder with reject screen, pulper, dewatering screw press, cake bin and
// filtrate totaliser).
//
// It owns the state of the simulated plant and the equations that advance it.
// It must not start goroutines, do I/O or read the wall clock: plant time only
// moves when the caller calls Step, and the same seed with the same sequence
// of Set and Step calls gives bit-identical results. Serving the model over
// Modbus TCP and OPC UA, and pacing it against a clock, is the job of package
// testrig.
//
// Variables are addressed by role names equal to the tag names of the sample
// plant file (e.g. "hopper.weight", "shredder.run_cmd"); Roles lists them.
// Commands and setpoints are settable; measurements and the internal balance
// variables (e.g. "waste_in.total", "pulper.mass") are read-only.
//
// The model keeps exact total-mass and dry-mass balances:
//
//	waste_in.total + pulper.water_total =
//	    cake.total + filtrate.total + hopper.mass + shredder.holdup +
//	    pulper.mass + rejects.total
//
// The figures and structure come from PROCESS.md ("A simulator model that
// behaves plausibly"); they are engineering estimates, good enough to exercise
// a controller, not to design a plant. Jams, faults and e-stop injection are
// not modelled yet; the fault and estop variables exist so that the wire maps
// are complete.
package physics
