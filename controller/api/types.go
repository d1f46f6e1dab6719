package api

import (
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Status is one consistent picture of the line, taken after a scan.
type Status struct {
	Line string    `json:"line"`
	Time time.Time `json:"time"` // plant time of the scan
	// State is the line's PackML state: Stopped, Resetting, Idle, Starting,
	// Execute, Holding, Held, Unholding, Completing, Complete, Stopping,
	// Aborting, Aborted, Clearing.
	State   string         `json:"state"`
	Message string         `json:"message,omitempty"` // why the line is in this state, if abnormal
	Batch   *BatchStatus   `json:"batch,omitempty"`
	Units   []UnitStatus   `json:"units"`
	Tags    []TagValue     `json:"tags"`
	Devices []DeviceStatus `json:"devices"`
	Scan    ScanStats      `json:"scan"`
	// LastBatch is the most recently finished batch, if any.
	LastBatch *BatchStatus `json:"last_batch,omitempty"`
	// Interlocks are the plant file's interlocks with their state now;
	// FirstOut names the first to become active while none was (kept until
	// a reset).
	Interlocks []InterlockStatus `json:"interlocks"`
	FirstOut   string            `json:"first_out,omitempty"`
	// Historian is the historian's health (queues, outbox, InfluxDB
	// writes and errors), refreshed about once a second.
	Historian any `json:"historian,omitempty"`
	// Alarms are the alarms that need attention (not normal, not
	// suppressed by design), by priority then newest first.
	Alarms []AlarmStatus `json:"alarms"`
	// Outputs are the commanded points with their read-backs.
	Outputs []OutputStatus `json:"outputs"`

	// Cause is why the line is stopped, held or aborted (the first-out),
	// kept until the line runs again; Next is what the operator can do
	// now. Both are nil while the line runs normally.
	Cause *Cause      `json:"cause,omitempty"`
	Next  *NextAction `json:"next,omitempty"`
	// AlarmCounts counts the alarms by priority and state, and the alarm
	// rate for the flood indicator.
	AlarmCounts AlarmCounts `json:"alarm_counts"`
	// Flow is the line's graph in flow order (reception first), for the
	// line diagram.
	Flow []FlowEdge `json:"flow,omitempty"`
	// Seq counts published statuses; a client can tell a new one from a
	// repeat.
	Seq uint64 `json:"seq"`
}

// InterlockStatus is one interlock.
type InterlockStatus struct {
	Name     string          `json:"name"`
	Tag      string          `json:"tag"`
	Effect   string          `json:"effect"` // trip or permissive
	Units    []string        `json:"units"`
	HoldLine bool            `json:"hold_line"`
	Active   bool            `json:"active"`
	Since    time.Time       `json:"since,omitzero"`
	Value    float64         `json:"value"`
	Quality  drivers.Quality `json:"quality"`
	Message  string          `json:"message,omitempty"`
}

// WhyNot answers GET /api/v1/units/{name}/why.
type WhyNot struct {
	Unit     string   `json:"unit"`
	CanStart bool     `json:"can_start"`
	Reasons  []string `json:"reasons"`
}

// AlarmStatus is one alarm as the operator sees it.
type AlarmStatus struct {
	Name         string          `json:"name"`
	Tag          string          `json:"tag"`
	Priority     string          `json:"priority"` // critical, high, medium, low
	Unit         string          `json:"unit,omitempty"`
	Message      string          `json:"message"`
	State        string          `json:"state"` // unacknowledged, acknowledged, returned_unacknowledged, shelved, out_of_service
	Since        time.Time       `json:"since,omitzero"`
	User         string          `json:"user,omitempty"`
	Value        float64         `json:"value"`
	Quality      drivers.Quality `json:"quality"`
	Active       bool            `json:"active"`
	ShelvedUntil time.Time       `json:"shelved_until,omitzero"`
	Chattering   bool            `json:"chattering"`
}

// BatchStatus describes a running or finished batch.
type BatchStatus struct {
	ID            string    `json:"id"`
	Recipe        string    `json:"recipe"`
	RecipeVersion int       `json:"recipe_version"`
	WasteClass    string    `json:"waste_class"`
	Phase         string    `json:"phase"` // receive, shred, dewater, complete, aborted
	Step          string    `json:"step,omitempty"`
	Start         time.Time `json:"start"`
	PhaseStart    time.Time `json:"phase_start"`
	End           time.Time `json:"end,omitzero"`
	TargetKg      float64   `json:"target_kg"`
	KgReceived    float64   `json:"kg_received"`
	KgCake        float64   `json:"kg_cake"`
	KgWater       float64   `json:"kg_water"`
	KgRejects     float64   `json:"kg_rejects"`
	KgFiltrate    float64   `json:"kg_filtrate"`
	KWh           float64   `json:"kwh"`
	// Hold-up (hopper and pulper) at the start and now or at the end, and
	// the mass balance closure in % (see the batch record).
	KgHoldupStart float64 `json:"kg_holdup_start"`
	KgHoldupEnd   float64 `json:"kg_holdup_end"`
	ClosurePct    float64 `json:"closure_pct"`
}

// UnitStatus is one piece of equipment.
type UnitStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// State: stopped, starting, running, stopping, fault.
	State   string `json:"state"`
	Command bool   `json:"command"` // run command currently written
	Reason  string `json:"reason,omitempty"`
	// Why lists what keeps the unit from starting or running now: unmet
	// permissives and active trips (empty when nothing does).
	Why    []string   `json:"why,omitempty"`
	Values []TagValue `json:"values"`
	// Module is the unit's control module state (jam logic, loop), if it
	// has more than run/stop; Setpoints its setpoints for the running batch.
	Module    *ModuleStatus    `json:"module,omitempty"`
	Setpoints []SetpointStatus `json:"setpoints,omitempty"`
}

// TagValue is the latest value of one tag as the scan saw it.
type TagValue struct {
	Tag     string          `json:"tag"`
	Value   float64         `json:"value"`
	Unit    string          `json:"unit,omitempty"`
	Quality drivers.Quality `json:"quality"`
	Time    time.Time       `json:"time"`
	// Precision is the number of decimals the value is shown with;
	// Bool marks an on/off point (0 off, 1 on), shown as words.
	Precision int  `json:"precision"`
	Bool      bool `json:"bool,omitempty"`
}

// DeviceStatus is the health of one device connection.
type DeviceStatus struct {
	Name      string `json:"name"`
	Protocol  string `json:"protocol"`
	Address   string `json:"address"`
	Connected bool   `json:"connected"`
	LastError string `json:"last_error,omitempty"`
	// Sync is "synced" (every output written on this connection, values in
	// use), "resyncing" (connected anew, outputs being written again before
	// its values are used) or "lost" (not answering).
	Sync      string    `json:"sync,omitempty"`
	SyncSince time.Time `json:"sync_since,omitzero"`
	// CommLosses counts the times the device stopped answering or started
	// a new connection since the controller started.
	CommLosses uint64 `json:"comm_losses"`
	// CommandsHeld is true while the device's commands are held at their
	// safe values after a comm loss (until the logic wants them safe).
	CommandsHeld bool `json:"commands_held,omitempty"`
	// Watchdog describes the device's comm-loss supervision, if any;
	// WatchdogResets counts the controller's resets of its trip.
	Watchdog       string `json:"watchdog,omitempty"`
	WatchdogResets uint64 `json:"watchdog_resets,omitempty"`
}

// OutputStatus is one commanded point: what the controller wants, what the
// device reads back, and how often it had to be written again.
type OutputStatus struct {
	Tag    string `json:"tag"`
	Device string `json:"device"`
	// Role is empty for the logic's outputs, else heartbeat, comm_timeout
	// or watchdog_reset.
	Role            string   `json:"role,omitempty"`
	Want            float64  `json:"want"`
	ReadBack        *float64 `json:"read_back,omitempty"` // nil for a write-only point
	ReadBackQuality string   `json:"read_back_quality,omitempty"`
	// Acknowledged: the device accepted the wanted value on its current
	// connection.
	Acknowledged bool `json:"acknowledged"`
	// Corrections counts read-backs that differed from the wanted value
	// and were written again; Reasserts counts writes of an unchanged value
	// after a reconnect or for a write-only point's refresh.
	Corrections uint64 `json:"output_corrections"`
	Reasserts   uint64 `json:"output_reasserts"`
	Writes      uint64 `json:"writes"`
}

// ScanStats are the scan loop's timing figures.
type ScanStats struct {
	PeriodMs      float64 `json:"period_ms"`
	Count         uint64  `json:"count"`
	LastExecUs    float64 `json:"last_exec_us"`
	MaxExecUs     float64 `json:"max_exec_us"`
	MaxLatenessMs float64 `json:"max_lateness_ms"`
	Overruns      uint64  `json:"overruns"`
	// Percentiles since start (from a histogram, within ~9 %).
	ExecP50Us     float64 `json:"exec_p50_us"`
	ExecP99Us     float64 `json:"exec_p99_us"`
	LatenessP50Ms float64 `json:"lateness_p50_ms"`
	LatenessP99Ms float64 `json:"lateness_p99_ms"`
}

// RecipeInfo is a recipe the controller can run.
type RecipeInfo struct {
	Name        string `json:"name"`
	Version     int    `json:"version"`
	WasteClass  string `json:"waste_class"`
	Description string `json:"description"`
	State       string `json:"state,omitempty"` // draft or approved
	Hash        string `json:"hash,omitempty"`
}

// Command kinds accepted by POST /api/v1/commands.
const (
	CommandStart    = "start"    // start a batch; Recipe names the recipe
	CommandStop     = "stop"     // orderly stop: upstream first with purge times
	CommandAbort    = "abort"    // stop everything now, batch marked aborted
	CommandReset    = "reset"    // return from Complete, Stopped or Aborted to Idle
	CommandHold     = "hold"     // hold the batch: everything stops, the batch is kept
	CommandUnhold   = "unhold"   // leave Held: restart the current phase, downstream first
	CommandResume   = "resume"   // the same as unhold
	CommandClear    = "clear"    // Aborted → Stopped
	CommandConfirm  = "confirm"  // confirm a phase that ends on operator confirmation
	CommandOverride = "override" // change an overridable recipe value of the running batch

	CommandAck          = "ack"            // acknowledge Alarm
	CommandAckAll       = "ack_all"        // acknowledge every alarm that waits for it
	CommandShelve       = "shelve"         // shelve Alarm for Value seconds
	CommandUnshelve     = "unshelve"       // unshelve Alarm
	CommandOutOfService = "out_of_service" // take Alarm out of service
	CommandInService    = "in_service"     // return Alarm to service
)

// Command is an operator request.
type Command struct {
	Command string `json:"command"`
	// Recipe and Version name what start runs; Version 0 means the latest
	// approved version.
	Recipe  string `json:"recipe,omitempty"`
	Version int    `json:"version,omitempty"`
	// Parameter and Value are what override changes; Value is also the
	// shelving time in seconds.
	Parameter string  `json:"parameter,omitempty"`
	Value     float64 `json:"value,omitempty"`
	// Alarm names the alarm of an alarm command.
	Alarm string `json:"alarm,omitempty"`
	// Reason is why an alarm is shelved or taken out of service (required
	// for those), or a comment on any other command.
	Reason string `json:"reason,omitempty"`
	User   string `json:"user"`
}

// CommandResult says whether the scan accepted the command and why not.
type CommandResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}
