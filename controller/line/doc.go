// Package line is the batch and sequencing logic of one pretreatment line:
// the plant file's graph of units (graph.go), the phases of the recipe
// table (recipes.Phases), start and stop sequencing derived from the graph,
// faults and trips propagated on it, the equipment modules behind one
// adapter (unitctl.go: shredders, presses, conveyors, the pulper, pumps;
// tanks are watched in levels.go), interlocks, and the batch
// record with its accounting (received mass, totals, hold-up, mass
// balance).
//
// Line is a pure state machine: Step takes plant time, the scan's inputs
// and the operator's commands and returns the outputs (Outputs) and events.
// No goroutines, no I/O, no wall clock: it is tested with a fake clock and
// fake processes (linetest) at thousands of scans per second, and the
// controller's engine runs the same code live. The engine reads what it
// publishes through methods (Progress, Interlocks, UnitStates, Why, Batch),
// never through the Line's fields.
//
// Safety boundary: this is process control, not a safety system. E-stops
// and guards are hard-wired. The logic never starts a motor by itself:
// motors run only inside a batch an operator started or resumed, and any
// bad input or restart leaves every run command off until an operator
// acts.
package line
