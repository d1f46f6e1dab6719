// Package packml is the line state model after PackML (ISA-TR88.00.02):
// the states, the operator commands, and the only legal transitions between
// them. It is pure data and logic; the controller's Line decides when an
// acting state (Starting, Holding, …) has finished its work ("state
// complete") and asks this package for every move.
//
// The suspend states of PackML are not used: starvation and blockage show
// as holds here.
package packml

import "fmt"

// State is a PackML state.
type State uint8

// States. Acting states (…ing) do work and end by themselves with
// StateComplete; wait states end only by a command.
const (
	Stopped State = iota
	Resetting
	Idle
	Starting
	Execute
	Holding
	Held
	Unholding
	Completing
	Complete
	Stopping
	Aborting
	Aborted
	Clearing
	numStates
)

var stateNames = [...]string{"Stopped", "Resetting", "Idle", "Starting", "Execute", "Holding", "Held", "Unholding",
	"Completing", "Complete", "Stopping", "Aborting", "Aborted", "Clearing"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Acting reports whether the state does work and ends by itself.
func (s State) Acting() bool {
	switch s {
	case Resetting, Starting, Holding, Unholding, Completing, Stopping, Aborting, Clearing:
		return true
	}
	return false
}

// Command is an operator command (or, for Hold, also the logic's own reaction
// to a fault).
type Command uint8

// Commands.
const (
	Reset Command = iota
	Start
	Hold
	Unhold
	Stop
	Abort
	Clear
	numCommands
)

var commandNames = [...]string{"reset", "start", "hold", "unhold", "stop", "abort", "clear"}

func (c Command) String() string {
	if c < numCommands {
		return commandNames[c]
	}
	return fmt.Sprintf("Command(%d)", uint8(c))
}

// ParseCommand returns the command of that name.
func ParseCommand(s string) (Command, bool) {
	for i, n := range commandNames {
		if n == s {
			return Command(i), true
		}
	}
	return 0, false
}

// Commands lists every command, in order.
func Commands() []Command {
	out := make([]Command, numCommands)
	for i := range out {
		out[i] = Command(i)
	}
	return out
}

// States lists every state, in order.
func States() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// commandTable[state][command] is the state the command leads to; absent
// means refused.
var commandTable = map[State]map[Command]State{
	Stopped:    {Reset: Resetting, Abort: Aborting},
	Resetting:  {Stop: Stopping, Abort: Aborting},
	Idle:       {Start: Starting, Stop: Stopping, Abort: Aborting},
	Starting:   {Stop: Stopping, Abort: Aborting},
	Execute:    {Hold: Holding, Stop: Stopping, Abort: Aborting},
	Holding:    {Stop: Stopping, Abort: Aborting},
	Held:       {Unhold: Unholding, Stop: Stopping, Abort: Aborting},
	Unholding:  {Hold: Holding, Stop: Stopping, Abort: Aborting},
	Completing: {Stop: Stopping, Abort: Aborting},
	Complete:   {Reset: Resetting, Stop: Stopping, Abort: Aborting},
	Stopping:   {Abort: Aborting},
	Aborting:   {},
	Aborted:    {Clear: Clearing},
	Clearing:   {Abort: Aborting},
}

// completeTable is where an acting state goes when its work is done.
var completeTable = map[State]State{
	Resetting: Idle, Starting: Execute, Holding: Held, Unholding: Execute,
	Completing: Complete, Stopping: Stopped, Aborting: Aborted, Clearing: Stopped,
}

// Machine holds the current state. The zero value is Stopped, the state a
// line powers up in.
type Machine struct {
	state State
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Command applies an operator command. It returns the new state, or an
// error saying why the command is refused in this state; the state is then
// unchanged.
func (m *Machine) Command(c Command) (State, error) {
	if c >= numCommands {
		return m.state, fmt.Errorf("command %d is not known", c)
	}
	next, ok := commandTable[m.state][c]
	if !ok {
		return m.state, fmt.Errorf("%s refused: the line is %s; %s", c, m.state, allowedIn(m.state))
	}
	m.state = next
	return next, nil
}

// StateComplete ends an acting state's work. It is refused in wait states.
func (m *Machine) StateComplete() (State, error) {
	next, ok := completeTable[m.state]
	if !ok {
		return m.state, fmt.Errorf("%s is a wait state; only a command leaves it", m.state)
	}
	m.state = next
	return next, nil
}

// Finish moves Execute to Completing when the batch's procedure is done.
func (m *Machine) Finish() (State, error) {
	if m.state != Execute {
		return m.state, fmt.Errorf("only Execute can complete, not %s", m.state)
	}
	m.state = Completing
	return Completing, nil
}

// Restore sets the state after a restart. Only the states a restarted
// controller may come back in are allowed: Stopped, or Held when a batch was
// running (the operator decides what happens next).
func (m *Machine) Restore(s State) error {
	if s != Stopped && s != Held {
		return fmt.Errorf("a restart may restore Stopped or Held, not %s", s)
	}
	m.state = s
	return nil
}

// Allowed returns the commands accepted in state s.
func Allowed(s State) []Command {
	var out []Command
	for _, c := range Commands() {
		if _, ok := commandTable[s][c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Legal reports whether from → to is a transition of the model (by command,
// by state complete, or Execute → Completing).
func Legal(from, to State) bool {
	for _, next := range commandTable[from] {
		if next == to {
			return true
		}
	}
	if next, ok := completeTable[from]; ok && next == to {
		return true
	}
	return from == Execute && to == Completing
}

func allowedIn(s State) string {
	a := Allowed(s)
	if len(a) == 0 {
		return "no command is accepted until it finishes"
	}
	out := "allowed here: "
	for i, c := range a {
		if i > 0 {
			out += ", "
		}
		out += c.String()
	}
	return out
}
