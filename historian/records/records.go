// Package records holds the records pretreat keeps of what a line did:
// batch records with their phases, overrides, actions and alarm notes, and
// the events of the line (batch, phase, alarm, command, device). The
// controller writes them, the historian stores them, the API, the HMI and
// the reports read them.
//
// It is a leaf: it imports nothing of the project, so that every package
// can share these types without depending on the one that stores them.
package records

import (
	"encoding/json"
	"time"
)

// BatchState is where a batch record stands.
type BatchState string

// Batch states.
const (
	// BatchRunning: the batch is being made (or was, when the controller
	// stopped: a restarted controller takes it up Held).
	BatchRunning BatchState = "running"
	// BatchHeld: the batch was taken up by a restarted controller and
	// waits for an operator.
	BatchHeld BatchState = "held"
	// BatchComplete: every phase ran to its end.
	BatchComplete BatchState = "complete"
	// BatchStopped: an operator stopped it; the line ran empty.
	BatchStopped BatchState = "stopped"
	// BatchAborted: an operator aborted it, or it could not be taken up
	// after a restart; every output went off at once.
	BatchAborted BatchState = "aborted"
	// BatchInterrupted: the controller shut down while it ran.
	BatchInterrupted BatchState = "interrupted"
)

// Ended reports whether the batch is over.
func (s BatchState) Ended() bool {
	return s == BatchComplete || s == BatchStopped || s == BatchAborted || s == BatchInterrupted
}

// Event kinds.
const (
	EventBatch   = "batch"   // batch started, completed, aborted
	EventPhase   = "phase"   // batch phase started or ended
	EventAlarm   = "alarm"   // alarm raised, acknowledged, cleared
	EventCommand = "command" // operator command accepted or refused
	// EventDevice: a device stopped answering, reconnected, had its
	// outputs re-asserted, an output read back different from what the
	// controller wants and was corrected, or its watchdog was reset.
	EventDevice = "device"
)

// Event is something that happened at one instant: a batch or phase
// transition, an alarm, an operator command.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Line    string    `json:"line"`
	Unit    string    `json:"unit,omitempty"`
	BatchID string    `json:"batch_id,omitempty"`
	// Name says what happened, e.g. "started", "completed", "phase:shred".
	Name    string             `json:"name"`
	User    string             `json:"user,omitempty"`
	Message string             `json:"message,omitempty"`
	Values  map[string]float64 `json:"values,omitempty"`
}

// Phase is one phase of a batch as executed.
type Phase struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Signals compare setpoint and actual over the phase (good samples
	// while the phase executed).
	Signals []SignalStats `json:"signals,omitempty"`
}

// SignalStats is one signal over a phase: its setpoint (when it has one)
// and the minimum, mean and maximum of what was measured.
type SignalStats struct {
	Tag      string  `json:"tag"`
	Setpoint float64 `json:"setpoint,omitempty"`
	HasSP    bool    `json:"has_setpoint"`
	Min      float64 `json:"min"`
	Mean     float64 `json:"mean"`
	Max      float64 `json:"max"`
	Samples  int     `json:"samples"`
}

// Batch is the record kept for every batch, completed or not.
type Batch struct {
	ID            string     `json:"id"`
	Line          string     `json:"line"`
	Recipe        string     `json:"recipe"`
	RecipeVersion int        `json:"recipe_version"`
	RecipeHash    string     `json:"recipe_hash,omitempty"`
	WasteClass    string     `json:"waste_class"`
	State         BatchState `json:"state"`
	User          string     `json:"user,omitempty"`
	Start         time.Time  `json:"start"`
	End           time.Time  `json:"end,omitzero"`
	TargetKg      float64    `json:"target_kg"`
	KgReceived    float64    `json:"kg_received"`
	KgCake        float64    `json:"kg_cake"`
	KgWater       float64    `json:"kg_water"`
	KgFiltrate    float64    `json:"kg_filtrate"`
	KgRejects     float64    `json:"kg_rejects"`
	KWh           float64    `json:"kwh"`
	// KgHoldupStart and KgHoldupEnd are what the line held (hopper and,
	// where its capacity is known, pulper) at the start and the end of the
	// batch. ClosurePct is the mass balance: (cake + filtrate + rejects +
	// hold-up at the end) over (received + water + hold-up at the start),
	// in %; 100 closes exactly.
	KgHoldupStart float64 `json:"kg_holdup_start"`
	KgHoldupEnd   float64 `json:"kg_holdup_end"`
	ClosurePct    float64 `json:"closure_pct"`
	Phases        []Phase `json:"phases"`
	// Overrides are operator changes of recipe values under this batch.
	Overrides []Override `json:"overrides,omitempty"`
	// Actions are the operator commands given during the batch, with users.
	Actions []Action `json:"actions,omitempty"`
	// Alarms are the alarm transitions during the batch.
	Alarms []AlarmNote `json:"alarms,omitempty"`
	// Notes are what the controller noted of the batch for the people
	// who read its record: a unit dropped for a fault while the batch
	// went on without it, a recipe that expects a depackager on a line
	// without one.
	Notes []Note `json:"notes,omitempty"`
	// Context is what a restarted controller needs to take the batch up
	// again (its phase, starting totals, overrides). The controller writes
	// and reads it; the historian stores it as is.
	Context json.RawMessage `json:"context,omitempty"`
}

// Action is one operator command during a batch.
type Action struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Command string    `json:"command"`
	Detail  string    `json:"detail,omitempty"`
}

// AlarmNote is one alarm transition during a batch.
type AlarmNote struct {
	Time  time.Time `json:"time"`
	Alarm string    `json:"alarm"`
	State string    `json:"state"`
	User  string    `json:"user,omitempty"`
}

// Override is one operator change of a recipe value during a batch.
type Override struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	Parameter string    `json:"parameter"`
	Unit      string    `json:"unit"`
	Old       float64   `json:"old"`
	New       float64   `json:"new"`
}

// Note is one remark the controller made about a batch.
type Note struct {
	Time time.Time `json:"time"`
	Unit string    `json:"unit,omitempty"`
	Text string    `json:"text"`
}
