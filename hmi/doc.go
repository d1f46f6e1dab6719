// Package hmi is the operator's terminal screen for a pretreat line, built
// with tview.
//
// It owns the overview screen (line state, plant time, units and their
// values with quality, the running and the last batch, device health, scan
// figures), the keyboard functions shown on its key bar (start a batch with a
// recipe, stop, abort after confirmation, reset, quit) and the message line
// that reports what the controller answered.
//
// It is a client of the controller's HTTP API (package controller/api) and
// nothing else: it must not import controller internals, keep plant logic,
// or decide whether a command is allowed — the controller validates every
// command and the HMI shows the refusal and its reason.
//
// Colour follows ISA-101 habits: everything normal is drawn in the
// terminal's default colours; red means failed, lost or untrustworthy (bad
// quality, unit fault, device or controller connection lost, batch aborted);
// yellow means degraded or waiting for a person (uncertain or stale value,
// line held, command refused). Every coloured item also carries a marker in
// text ("####", "?", "!") so that it reads on a monochrome terminal.
//
// Concurrency: widgets are touched only on tview's event goroutine. The status
// poller and command senders are separate goroutines that hand their results
// over with Application.QueueUpdateDraw, never from inside an event callback,
// so a slow or absent controller never freezes the keyboard. Run does not
// return before every goroutine it started has ended.
package hmi
