package historian

import "github.com/pretreat/pretreat/historian/records"

// The records the historian stores are package records' types.
type (
	// Event is records.Event.
	Event = records.Event
	// PhaseRecord is records.Phase.
	PhaseRecord = records.Phase
	// SignalStats is records.SignalStats.
	SignalStats = records.SignalStats
	// BatchRecord is records.Batch.
	BatchRecord = records.Batch
	// Action is records.Action.
	Action = records.Action
	// AlarmNote is records.AlarmNote.
	AlarmNote = records.AlarmNote
	// Override is records.Override.
	Override = records.Override
)

// Event kinds (records.EventBatch…).
const (
	EventBatch   = records.EventBatch
	EventPhase   = records.EventPhase
	EventAlarm   = records.EventAlarm
	EventCommand = records.EventCommand
	EventDevice  = records.EventDevice
)
