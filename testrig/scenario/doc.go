// Package scenario runs scenario files: timed steps (operator commands,
// faults injected into the test rig and cleared, loads of a waste class)
// and expectations about what the controller shows (PackML state, batch
// phase and outcome, alarms raised, tag values and qualities, unit states)
// and about the simulated plant (model variables, the mass balance).
//
// It owns the scenario file format (scenario.go), its checking with every
// problem located as file:line:column, the runner (run.go) and the reports
// (JUnit XML for CI systems, text for people). It talks to the controller
// only through the controller's public API (package controller/api) and to
// the rig only through the rig control API (testrig.ControlClient), so the
// same scenario runs against a rig and controller started by
// `pretreat rig scenario run` or against ones running elsewhere. Starting
// them is the command's job, not this package's.
//
// A scenario file:
//
//	scenario: jam-single
//	description: one hard object; one reversal clears it; the batch completes
//	rig: {class: catering, seed: 11}        # jams: injected (default) or random
//	speed: 20                                # plant time × real time (≥ 1)
//	limit: 30m                               # plant time for the whole scenario
//	steps:
//	  - command: reset
//	  - expect: {state: Idle, within: 30s}
//	  - command: start
//	    recipe: catering
//	  - expect: {phase: shred, within: 10m}
//	  - after: 30s                           # or at: 5m (since the start)
//	    inject: {kind: jam, reversals: 1}
//	    id: object                           # default: the kind
//	  - expect: {tag: shredder.current, above: 45, within: 5s}
//	  - expect: {rig: shredder.reversals, at_least: 1, within: 30s}
//	  - clear: object                        # or clear: all
//	  - feed: {class: bakery, kg: 200}       # the next load
//	  - wait: 1m
//	  - expect: {batch: completed, within: 20m}
//	  - expect: {balance: 0.5}               # % of what came in
//
// Every step does one thing. Expectations combine conditions (all must
// hold; not: true negates them), wait up to within (plant time, default
// 10s) and, with for, must then hold that long without a break. Times are
// plant time; expectations are checked at the runner's poll rate (50 ms of
// wall time: a plant second at 20×). A batch expectation fails at once when
// the batch ends otherwise or is held (no step can unhold it while the
// expectation waits). Faults the scenario
// injected are cleared when it ends, whatever happened.
package scenario
