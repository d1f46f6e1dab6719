package controller

import (
	"errors"

	"github.com/pretreat/pretreat/controller/alarm"
)

// alarmRefusal words a refused alarm command as its reason alone, naming
// the alarm ("h2s_high: it is normal; there is nothing to acknowledge"):
// whoever shows it says which command was refused.
func alarmRefusal(err error) string {
	var r *alarm.Refusal
	if !errors.As(err, &r) {
		return err.Error()
	}
	if r.Alarm == "" {
		return r.Reason
	}
	return r.Alarm + ": " + r.Reason
}
