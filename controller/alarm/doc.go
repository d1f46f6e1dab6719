// Package alarm owns the plant's alarms after ISA-18.2: their definitions in
// the plant file, their evaluation every scan (limits with deadband, on and
// off delays, bad quality, digital), the ISA-18.2 state model with
// acknowledgement, shelving, suppression by design and removal from service,
// a journal of every transition and chattering detection.
//
// It is pure logic, like the rest of the scan: Set.Step takes plant time,
// the scan's inputs and whether each unit runs, and returns transitions; the
// operator calls (Ack, AckAll, Shelve, Unshelve, RemoveFromService,
// ReturnToService) take the user and plant time and return a transition or
// a Refusal saying why not. No goroutines, no I/O, no wall clock; Step does
// not allocate in steady state. The engine owns the Set, persists the
// transitions as historian events (Transition.Event) and serves Active and
// Journal to the API. This package must not read the tag table, the clock
// or the disk itself.
//
// # Condition
//
// Each alarm has a process condition, evaluated every Step unless the alarm
// is out of service or its unit is stopped:
//
//	high, high_high   raised when value > limit, cleared when value <= limit - deadband
//	low, low_low      raised when value < limit, cleared when value >= limit + deadband
//	digital           raised when value != 0, cleared when value == 0
//	bad_quality       raised when quality is not good (bad, uncertain, unknown)
//
// The raw condition must hold for on_delay before the condition becomes
// active, and be clear for off_delay before it clears; a change back within
// the delay restarts it. A limit or digital alarm whose input is not good
// (or NaN) holds its condition and restarts its delay: an untrusted value
// neither raises nor clears it (a bad_quality alarm reports the input).
// While suppressed by design or out of service the condition is reset, so
// that when evaluation resumes the on-delay counts afresh: a pump that has
// just started does not raise its low-flow alarm at once.
//
// # States and transitions
//
// The states are those of ISA-18.2 (letters of its state diagram): A
// normal, B unacknowledged, C acknowledged, D returned_unacknowledged, E
// shelved, F suppressed_by_design, G out_of_service. Invariants: normal and
// returned_unacknowledged have the condition clear, unacknowledged and
// acknowledged have it active, suppressed_by_design and out_of_service have
// it reset, shelved may have either.
//
// Every legal transition, one per line (from, reason, to); process-driven
// reasons come from Step, operator reasons from the named call, which
// refuses in any state not listed for it:
//
//	from                     reason                 to                      by
//	normal                   condition_active       unacknowledged          Step
//	returned_unacknowledged  condition_active       unacknowledged          Step (re-alarm before ack)
//	unacknowledged           condition_cleared      returned_unacknowledged Step
//	acknowledged             condition_cleared      normal                  Step
//	unacknowledged           acknowledged           acknowledged            Ack, AckAll
//	returned_unacknowledged  acknowledged           normal                  Ack, AckAll
//	normal                   shelved                shelved                 Shelve
//	unacknowledged           shelved                shelved                 Shelve
//	acknowledged             shelved                shelved                 Shelve
//	returned_unacknowledged  shelved                shelved                 Shelve
//	shelved                  unshelved              normal                  Unshelve (condition clear)
//	shelved                  unshelved              unacknowledged          Unshelve (condition active)
//	shelved                  unshelved              suppressed_by_design    Unshelve (unit stopped)
//	shelved                  shelf_expired          normal                  Step (condition clear)
//	shelved                  shelf_expired          unacknowledged          Step (condition active)
//	shelved                  shelf_expired          suppressed_by_design    Step (unit stopped)
//	normal                   unit_stopped           suppressed_by_design    Step
//	unacknowledged           unit_stopped           returned_unacknowledged Step (kept until acknowledged)
//	acknowledged             unit_stopped           suppressed_by_design    Step
//	suppressed_by_design     unit_running           normal                  Step (then evaluated in the same Step)
//	normal                   removed_from_service   out_of_service          RemoveFromService
//	unacknowledged           removed_from_service   out_of_service          RemoveFromService
//	acknowledged             removed_from_service   out_of_service          RemoveFromService
//	returned_unacknowledged  removed_from_service   out_of_service          RemoveFromService
//	shelved                  removed_from_service   out_of_service          RemoveFromService (shelf dropped)
//	suppressed_by_design     removed_from_service   out_of_service          RemoveFromService
//	out_of_service           returned_to_service    normal                  ReturnToService (next Step evaluates)
//
// Refused, with a reason: Ack of normal, acknowledged, shelved,
// suppressed_by_design or out_of_service (AckAll when none is waiting);
// Shelve of shelved, suppressed_by_design or out_of_service, or with an
// expiry not after now or more than max_shelve (default 8h) away; Unshelve
// of anything not shelved; RemoveFromService of out_of_service;
// ReturnToService of anything in service; any call without a user or for an
// unknown alarm.
//
// Precedence: out of service beats everything (no evaluation at all); a
// shelf outlasts a stopped unit (the alarm stays shelved, its condition
// reset, and becomes suppressed_by_design if the unit is still stopped when
// the shelf ends); suppression by design applies to normal and
// acknowledged alarms. An alarm no one has acknowledged is never hidden by
// it (ISA-18.2): an unacknowledged one whose unit stops returns to normal
// unacknowledged, and a returned unacknowledged one stays so, until an
// operator acknowledges it; the next Step then suppresses it if the unit
// is still stopped.
//
// # Chattering
//
// An alarm whose condition becomes active chatter_count times (default 5)
// within chatter_window (default 60s) is flagged chattering; the flag
// clears when chatter_quiet (default chatter_window) passes without a new
// activation. Setting and clearing the flag are journal entries with from
// equal to to and reason chattering or chattering_cleared; they never change
// the state. Activations are counted in every evaluated state, shelved
// included, so the flag tells whether a shelved nuisance alarm has calmed.
package alarm
