package alarm

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. None of them is worth retrying as is: an unknown
// alarm stays unknown, a state changes only when the process or another
// operator acts, and a bad argument must be corrected.
var (
	// ErrUnknownAlarm: no alarm has the name given.
	ErrUnknownAlarm = errors.New("no such alarm")
	// ErrNotAllowed: the alarm's state does not allow the operation
	// (acknowledging a normal alarm, shelving an out-of-service one, …).
	ErrNotAllowed = errors.New("not allowed in the alarm's state")
	// ErrInvalid: an argument is wrong whatever the state (no user, a shelf
	// expiry in the past or beyond the maximum shelving time).
	ErrInvalid = errors.New("invalid request")
)

// Op names an operator operation, as it appears in a Refusal.
type Op string

// Operations.
const (
	OpAck               Op = "ack"
	OpAckAll            Op = "ack_all"
	OpShelve            Op = "shelve"
	OpUnshelve          Op = "unshelve"
	OpRemoveFromService Op = "remove_from_service"
	OpReturnToService   Op = "return_to_service"
)

// Refusal is the error of an operation that was not carried out. Reason is
// written for the operator; Err is one of the sentinels.
type Refusal struct {
	Op    Op
	Alarm string // empty for AckAll
	State State  // the alarm's state when refused (Normal when unknown)
	// Reason says why, in full, e.g. "it is normal; there is nothing to
	// acknowledge".
	Reason string
	Err    error
}

// Error reads "ack pulper_level_high refused: it is normal; …".
func (r *Refusal) Error() string {
	if r.Alarm == "" {
		return fmt.Sprintf("%s refused: %s", r.Op, r.Reason)
	}
	return fmt.Sprintf("%s %s refused: %s", r.Op, r.Alarm, r.Reason)
}

// Unwrap returns the sentinel.
func (r *Refusal) Unwrap() error { return r.Err }
