// Package equipment holds the equipment modules of a pretreatment line as
// pure logic: motor/VFD, shredder (jam handling), screw press (back-pressure
// loop), pulper (dilution and level), pump (dry-run protection), tank
// (level thresholds) and a reusable PID controller.
//
// Each module is a struct the scan steps once per scan:
//
//	out := shredder.Step(now, inputs)
//
// Step reads the plant through an inputs struct in which every value carries
// its drivers.Quality, and returns the outputs to write. Commands (Start,
// Stop, Reset, set-points) are methods that take effect at the time of the
// last Step and show in the outputs of the next one; a refused command
// returns a *Refusal that says why (errors.Is against ErrFaulted,
// ErrNotPermitted or ErrTripActive). Every module reports State, Reason
// (why it is stopped, faulted or not ready) and, where a start can be
// refused, Permissives.
//
// What the package must not do, so that the same code runs live and under a
// fake clock at thousands of scans per millisecond of test time: no
// goroutines, no I/O, no wall clock (time comes only from Step's now), and no
// allocation in Step in steady state (reasons are kept as small values and
// formatted only when asked for). Modules are not safe for concurrent use;
// the scan owns them and copies what the API needs.
//
// Fail-safe rules every module follows:
//   - A value whose quality is not good (including "never received") is not
//     used: the module goes to its safe state (motor off, water valve shut,
//     cone open, feed stop requested) and says which input and why.
//   - A stopped motor never starts by itself: not after a trip clears, not
//     after a fault reset, not after inputs go bad and good again. Only a
//     Start command starts it (the shredder's own jam reversal is the one
//     exception, and only while the operator's start stands).
//   - Trips that need attention latch a fault until Reset, and Reset is
//     refused while the trip condition is still present.
//
// Safety boundary: this is process control, not a safety function.
// E-stops and guard doors are hard-wired or in a safety PLC (IEC 60204-1,
// ISO 13850, EN ISO 13849-1); these modules only read their status and react.
package equipment
