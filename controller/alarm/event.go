package alarm

import (
	"fmt"

	"github.com/pretreat/pretreat/historian"
)

// Event turns a transition into the historian event the engine persists:
// kind alarm, named after the alarm, with the tag's value, the user, and a
// message such as "Pulper level high: normal → unacknowledged
// (condition_active)". It allocates; call it outside the scan's hot path
// or accept one allocation per transition.
func (t *Transition) Event(line string) historian.Event {
	var msg string
	switch {
	case t.From == t.To:
		msg = fmt.Sprintf("%s: %s (%s)", t.Message, t.Reason, t.To)
	case t.To == Shelved:
		msg = fmt.Sprintf("%s: %s → %s until %s (%s)", t.Message, t.From, t.To, stamp(t.ShelvedUntil), t.Reason)
	default:
		msg = fmt.Sprintf("%s: %s → %s (%s)", t.Message, t.From, t.To, t.Reason)
	}
	if !t.Quality.Good() {
		msg += ", input " + t.Quality.String()
	}
	return historian.Event{
		Time: t.Time, Kind: historian.EventAlarm, Line: line, Unit: t.Unit, Name: t.Alarm,
		User: t.User, Message: msg, Values: map[string]float64{"value": t.Value},
	}
}
