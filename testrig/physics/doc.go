// Package physics is the process model behind the test rig: a deterministic,
// lumped model of a food-waste pretreatment line built as a graph of unit
// models (NewPlant, UnitSpec): receptions, feeders, belt conveyors,
// twin-shaft shredders with reject screens, depackagers, pulpers, pumps,
// dewatering screw presses with their cake bins, and tanks, any number of
// each. New builds the sample plant's line, one of each (DefaultLayout).
// Each kind is one file that registers its model (see unitModel).
//
// It owns the state of the simulated plant and the equations that advance it.
// It must not start goroutines, do I/O or read the wall clock: plant time only
// moves when the caller calls Step, and the same seed with the same sequence
// of Set, fault and Step calls gives bit-identical results. Serving the model
// over Modbus TCP and OPC UA, pacing it against a clock and keeping the list
// of injected faults is the job of package testrig.
//
// Variables are addressed by role names "<unit>.<variable>"; the sample
// plant's units keep the tag names of the sample plant file (e.g.
// "hopper.weight", "shredder.run_cmd"); Roles lists them.
// Commands and setpoints are settable; measurements and the internal balance
// variables (e.g. "waste_in.total", "pulper.mass") are read-only.
//
// Two pieces of equipment come in two kinds, chosen by the caller (package
// testrig, from the plant file's map) rather than by a command: the press's
// cone either holds press.back_pressure_sp with its own regulator or is a
// valve (press.cone_valve) the controller's PID positions, its pressure
// then depending on the valve and on how full the screw runs
// (SetBackPressureControl); the filtrate pump either runs on its float
// switches or on the controller's command, filtrate.pump_cmd
// (SetFiltratePumpControl).
//
// The model keeps exact total-mass and dry-mass balances, jams, faults and
// overflows included: on any layout what came in (waste tipped, dilution
// water) equals what the units hold plus what left the line (cake,
// rejects, filtrate pumped on or spilled), see Line.Balance. On the
// default layout:
//
//	waste_in.total + pulper.water_total =
//	    cake.total + filtrate.total + hopper.mass + shredder.holdup +
//	    pulper.mass + rejects.total
//
// (filtrate.total counts everything that left through the filtrate side:
// press filtrate and pulper overflow, whether still in the filtrate tank,
// pumped on or spilled.)
//
// What it models, beyond the balances: load cells with noise under the
// hopper, the cake bin and the reject bin; first-order motor currents with
// inrush on start; hard objects that arrive at random per tonne shredded
// (ClassProperties.HardObjectsPerTonne, from their own seeded generator, so
// a batch of a given mass and seed brings the same jams however it is
// stepped) and jam the shredder, whose torque then builds to stall in
// 0.2–1 s; reversal (shredder.reverse_cmd with the run command), each of
// which frees a jam with probability 0.7; an I²t overload relay on each
// drive that trips a stalled motor; e-stop and guard circuits that stop the
// drives and need a new run command afterwards; a coast stop (Coast: torque
// off, the speed running down freely instead of on the ramp, as on a
// drive's watchdog trip); and the injected faults of
// faults.go (VFD fault, overload trip, stuck water valve, failed filtrate
// pump, stuck, drifting, noisy and out-of-range sensors).
//
// The figures and structure come from PROCESS.md ("A simulator model that
// behaves plausibly"); they are engineering estimates, good enough to exercise
// a controller, not to design a plant.
package physics
