// Package controller runs the line: it keeps the tag table that the drivers
// fill, runs a fixed-period scan that snapshots the table, executes the
// batch logic and hands outputs back to the drivers, and records samples,
// events and batch records through a Recorder. The HTTP+JSON API that
// serves it is package controller/httpapi.
//
// The control logic (Line) is a pure function of state, inputs, plant time
// and commands: no goroutines, no I/O, no wall clock, so it is tested with a
// fake clock. The scan never waits on the network, the disk or the HMI.
//
// The line is the plant file's graph of units (graph.go): start order,
// stop order, purges and what a fault or a trip stops are derived from it,
// and the recipe phases from the phase table (recipes.Phases). Each unit
// with an equipment module (controller/equipment: shredder, press,
// conveyor…) runs it through one adapter (unitctl.go); the pulper's
// dilution and the tanks and pumps on level control have theirs
// (pulperctl.go, tankctl.go).
//
// Safety boundary: this is process control, not a safety system. E-stops and
// guards are hard-wired. The logic never starts a motor by itself: motors
// run only inside a batch an operator started or resumed, and any bad input
// or restart leaves every run command off until an operator acts.
package controller
