package historian

import (
	"encoding/json"
	"time"
)

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

// PhaseRecord is one phase of a batch as executed.
type PhaseRecord struct {
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

// BatchRecord is the record kept for every batch, completed or not.
type BatchRecord struct {
	ID            string    `json:"id"`
	Line          string    `json:"line"`
	Recipe        string    `json:"recipe"`
	RecipeVersion int       `json:"recipe_version"`
	RecipeHash    string    `json:"recipe_hash,omitempty"`
	WasteClass    string    `json:"waste_class"`
	State         string    `json:"state"` // running, complete, aborted
	User          string    `json:"user,omitempty"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end,omitzero"`
	TargetKg      float64   `json:"target_kg"`
	KgReceived    float64   `json:"kg_received"`
	KgCake        float64   `json:"kg_cake"`
	KgWater       float64   `json:"kg_water"`
	KgFiltrate    float64   `json:"kg_filtrate"`
	KgRejects     float64   `json:"kg_rejects"`
	KWh           float64   `json:"kwh"`
	// KgHoldupStart and KgHoldupEnd are what the line held (hopper and,
	// where its capacity is known, pulper) at the start and the end of the
	// batch. ClosurePct is the mass balance: (cake + filtrate + rejects +
	// hold-up at the end) over (received + water + hold-up at the start),
	// in %; 100 closes exactly.
	KgHoldupStart float64       `json:"kg_holdup_start"`
	KgHoldupEnd   float64       `json:"kg_holdup_end"`
	ClosurePct    float64       `json:"closure_pct"`
	Phases        []PhaseRecord `json:"phases"`
	// Overrides are operator changes of recipe values under this batch.
	Overrides []Override `json:"overrides,omitempty"`
	// Actions are the operator commands given during the batch, with users.
	Actions []Action `json:"actions,omitempty"`
	// Alarms are the alarm transitions during the batch.
	Alarms []AlarmNote `json:"alarms,omitempty"`
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
