package alarm

import "fmt"

// State is an alarm's state in the ISA-18.2 state model. The letters in the
// comments are those of the standard's state diagram.
type State uint8

// States. The zero value is Normal so that a new alarm starts quiet.
const (
	Normal                 State = iota // A: condition inactive, nothing to acknowledge
	Unacknowledged                      // B: condition active, not yet acknowledged
	Acknowledged                        // C: condition active, acknowledged
	ReturnedUnacknowledged              // D: condition cleared before anyone acknowledged it
	Shelved                             // E: an operator hid it until an expiry time
	SuppressedByDesign                  // F: its unit is stopped, so the condition means nothing
	OutOfService                        // G: removed from service (maintenance); not evaluated
	numStates
)

var stateNames = [...]string{
	Normal:                 "normal",
	Unacknowledged:         "unacknowledged",
	Acknowledged:           "acknowledged",
	ReturnedUnacknowledged: "returned_unacknowledged",
	Shelved:                "shelved",
	SuppressedByDesign:     "suppressed_by_design",
	OutOfService:           "out_of_service",
}

// String returns the name used in the API, the journal and the HMI.
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// MarshalText renders the state by name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name as written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown alarm state %q", b)
}

// annunciated reports whether the state is one of the four of the basic
// alarm cycle (A–D), which are the states shelving, suppression by design
// and removal from service can be entered from.
func (s State) annunciated() bool { return s <= ReturnedUnacknowledged }

// Reason says why a transition happened. It is a fixed code rather than
// free text so that the scan formats nothing (and allocates nothing) when
// an alarm changes state; Transition.Event turns it into a message.
type Reason string

// Reasons. The process-driven ones carry no user; the operator-driven ones
// always do.
const (
	ReasonConditionActive    Reason = "condition_active"     // the value passed the limit for the on-delay
	ReasonConditionCleared   Reason = "condition_cleared"    // the value cleared limit and deadband for the off-delay
	ReasonAcknowledged       Reason = "acknowledged"         // an operator acknowledged it
	ReasonShelved            Reason = "shelved"              // an operator shelved it
	ReasonUnshelved          Reason = "unshelved"            // an operator unshelved it before expiry
	ReasonShelfExpired       Reason = "shelf_expired"        // the shelving time ran out
	ReasonUnitStopped        Reason = "unit_stopped"         // its unit stopped: suppressed by design (an unacknowledged one returns, and waits for its ack)
	ReasonUnitRunning        Reason = "unit_running"         // its unit runs again: suppression ends
	ReasonRemovedFromService Reason = "removed_from_service" // an operator or engineer took it out of service
	ReasonReturnedToService  Reason = "returned_to_service"  // an operator or engineer put it back
	ReasonChattering         Reason = "chattering"           // flag set: too many activations in the window (state unchanged)
	ReasonChatteringCleared  Reason = "chattering_cleared"   // flag cleared after a quiet window (state unchanged)
)

// byOperator reports whether a person causes transitions with this reason.
func (r Reason) byOperator() bool {
	switch r {
	case ReasonAcknowledged, ReasonShelved, ReasonUnshelved, ReasonRemovedFromService, ReasonReturnedToService:
		return true
	}
	return false
}

// Rule is one legal transition: an alarm in From may move to To for Reason.
// Chattering events are not rules: they change a flag, never the state, and
// may happen in any state where the condition is evaluated.
type Rule struct {
	From   State
	Reason Reason
	To     State
}

// rules is the transition table, the same as the one in doc.go (a test
// keeps the two equal). The code moves an alarm only through Set.record;
// the tests check every transition it makes against this table.
var rules = []Rule{
	{Normal, ReasonConditionActive, Unacknowledged},
	{ReturnedUnacknowledged, ReasonConditionActive, Unacknowledged},
	{Unacknowledged, ReasonConditionCleared, ReturnedUnacknowledged},
	{Acknowledged, ReasonConditionCleared, Normal},
	{Unacknowledged, ReasonAcknowledged, Acknowledged},
	{ReturnedUnacknowledged, ReasonAcknowledged, Normal},

	{Normal, ReasonShelved, Shelved},
	{Unacknowledged, ReasonShelved, Shelved},
	{Acknowledged, ReasonShelved, Shelved},
	{ReturnedUnacknowledged, ReasonShelved, Shelved},
	{Shelved, ReasonUnshelved, Normal},
	{Shelved, ReasonUnshelved, Unacknowledged},
	{Shelved, ReasonUnshelved, SuppressedByDesign},
	{Shelved, ReasonShelfExpired, Normal},
	{Shelved, ReasonShelfExpired, Unacknowledged},
	{Shelved, ReasonShelfExpired, SuppressedByDesign},

	{Normal, ReasonUnitStopped, SuppressedByDesign},
	{Unacknowledged, ReasonUnitStopped, ReturnedUnacknowledged},
	{Acknowledged, ReasonUnitStopped, SuppressedByDesign},
	{SuppressedByDesign, ReasonUnitRunning, Normal},

	{Normal, ReasonRemovedFromService, OutOfService},
	{Unacknowledged, ReasonRemovedFromService, OutOfService},
	{Acknowledged, ReasonRemovedFromService, OutOfService},
	{ReturnedUnacknowledged, ReasonRemovedFromService, OutOfService},
	{Shelved, ReasonRemovedFromService, OutOfService},
	{SuppressedByDesign, ReasonRemovedFromService, OutOfService},
	{OutOfService, ReasonReturnedToService, Normal},
}

// legal is rules as a lookup: legal[from][to] holds the reasons allowed.
var legal = func() (m [numStates][numStates][]Reason) {
	for _, r := range rules {
		m[r.From][r.To] = append(m[r.From][r.To], r.Reason)
	}
	return m
}()

// Rules returns the transition table (a copy), in the order of doc.go.
func Rules() []Rule { return append([]Rule(nil), rules...) }

// Legal reports whether a transition is allowed by the table. A chattering
// event (ReasonChattering or ReasonChatteringCleared) is legal in any state
// when From equals To.
func Legal(from State, reason Reason, to State) bool {
	if from >= numStates || to >= numStates {
		return false
	}
	if reason == ReasonChattering || reason == ReasonChatteringCleared {
		return from == to
	}
	for _, r := range legal[from][to] {
		if r == reason {
			return true
		}
	}
	return false
}
