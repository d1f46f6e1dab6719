// Package controller runs the line: it keeps the tag table that the drivers
// fill, runs a fixed-period scan that snapshots the table, executes the
// batch logic and hands outputs back to the drivers, and records samples,
// events and batch records through a Recorder. The HTTP+JSON API that
// serves it is package controller/httpapi.
//
// The control logic is package controller/line: a pure function of
// state, inputs, plant time and commands (no goroutines, no I/O, no wall
// clock), tested with a fake clock. The engine here owns the goroutine, the
// scan's timing, the tag table, the output set (outputs as state, read-back
// and re-assert), alarms and the status it publishes. The scan never waits
// on the network, the disk or the HMI.
//
// Safety boundary: this is process control, not a safety system. E-stops and
// guards are hard-wired. The logic never starts a motor by itself: motors
// run only inside a batch an operator started or resumed, and any bad input
// or restart leaves every run command off until an operator acts.
package controller
