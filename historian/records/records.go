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
	// Reason is the operator's reason for a command that needs one
	// (shelving an alarm, taking it out of service).
	Reason string `json:"reason,omitempty"`
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
	// KWhByUnit is the energy of each metered unit over the batch (KWh is
	// their sum); Metered names the units that have an energy meter, so a
	// reader knows which drives the figure leaves out.
	KWhByUnit map[string]float64 `json:"kwh_by_unit,omitempty"`
	Metered   []string           `json:"metered,omitempty"`
	// Jams counts the shredder jams confirmed during the batch, Reversals
	// the reversals run to clear them (all shredders).
	Jams      int `json:"jams"`
	Reversals int `json:"reversals"`
	// CakeDS and SlurryDS are the mean dry solids measured on the cake and
	// the slurry while the batch made them (good readings only), in %,
	// next to the recipe's targets; 0 when not measured.
	CakeDS         float64 `json:"cake_ds,omitempty"`
	CakeDSTarget   float64 `json:"cake_ds_target,omitempty"`
	SlurryDS       float64 `json:"slurry_ds,omitempty"`
	SlurryDSTarget float64 `json:"slurry_ds_target,omitempty"`
	// Deliveries are the loads (weighbridge tickets) the batch processed,
	// taken first in, first out from what the reception received.
	Deliveries []DeliveryShare `json:"deliveries,omitempty"`
	Phases     []Phase         `json:"phases"`
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

// Delivery is one load received at the reception: the weighbridge ticket
// of a truck and what it declared. Plants taking catering waste keep these
// (date, quantity, description, haulier, supplier).
type Delivery struct {
	// Ticket is the weighbridge ticket number, unique on the site.
	Ticket   string    `json:"ticket"`
	Line     string    `json:"line"`
	Time     time.Time `json:"time"`
	Supplier string    `json:"supplier"`
	Haulier  string    `json:"haulier,omitempty"`
	Vehicle  string    `json:"vehicle,omitempty"`
	// WasteClass is the class the load was declared as (a recipe's
	// waste_class), EWC its European Waste Catalogue code (e.g. 20 01 08).
	WasteClass string `json:"waste_class"`
	EWC        string `json:"ewc,omitempty"`
	// FoundClass is what an inspection at tipping found the load to be,
	// when that differs from the declared class: a mis-declared load.
	FoundClass string  `json:"found_class,omitempty"`
	GrossKg    float64 `json:"gross_kg"`
	TareKg     float64 `json:"tare_kg"`
	NetKg      float64 `json:"net_kg"`
	Operator   string  `json:"operator,omitempty"`
	Notes      string  `json:"notes,omitempty"`
	// Batches are the batches that processed part of this load, in order;
	// KgProcessed is how much of NetKg they took (first in, first out).
	Batches     []string `json:"batches,omitempty"`
	KgProcessed float64  `json:"kg_processed"`
}

// MisDeclared reports whether an inspection found the load to be of
// another class than declared.
func (d *Delivery) MisDeclared() bool { return d.FoundClass != "" && d.FoundClass != d.WasteClass }

// DeliveryShare is the part of one delivery a batch processed.
type DeliveryShare struct {
	Ticket     string  `json:"ticket"`
	Supplier   string  `json:"supplier"`
	WasteClass string  `json:"waste_class"`
	Kg         float64 `json:"kg"`
}

// StateSpan is one stretch of time the line spent in one PackML state.
// The spans of a line follow one another without gaps; the last one of a
// running controller has no End yet.
type StateSpan struct {
	Line  string    `json:"line"`
	State string    `json:"state"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Cause is the first-out cause of a hold, stop or abort (the
	// controller's message when the line left Execute), Unit the unit it
	// names, User the person whose command it was, if any.
	Cause   string `json:"cause,omitempty"`
	Unit    string `json:"unit,omitempty"`
	User    string `json:"user,omitempty"`
	BatchID string `json:"batch_id,omitempty"`
}

// Duration is how long the span lasted, up to now when it has not ended.
func (s *StateSpan) Duration(now time.Time) time.Duration {
	if s.End.IsZero() {
		return max(0, now.Sub(s.Start))
	}
	return max(0, s.End.Sub(s.Start))
}
