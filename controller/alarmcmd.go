package controller

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
)

// Bounds of the shelving time of a shelve command (Command.Value, in
// seconds). The alarm settings' max_shelve may bound it further.
const (
	minShelve = time.Minute
	maxShelve = 24 * time.Hour
)

// checkAlarmCommand refuses, before the alarm set sees it, an alarm
// command that lacks what it needs: shelve and out_of_service need a
// reason (it goes to the alarm journal with the user), and shelve a
// shelving time of 1 min to 24 h.
func checkAlarmCommand(c api.Command) error {
	switch c.Command {
	case api.CommandShelve, api.CommandOutOfService:
		if strings.TrimSpace(c.Reason) == "" {
			return errors.New("a reason is required")
		}
	}
	if c.Command == api.CommandShelve {
		// NaN fails both comparisons and is refused too.
		if !(c.Value >= minShelve.Seconds() && c.Value <= maxShelve.Seconds()) {
			return fmt.Errorf("the shelving time must be 1 min to 24 h (value in seconds, 60 to 86400); got %g s", c.Value)
		}
	}
	return nil
}

// refusalText is an alarm command's refusal in one clause: the alarm
// set's reason without its own "op alarm refused:" prefix, which the
// engine's "<command> refused: " replaces.
func refusalText(err error) string {
	var r *alarm.Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return err.Error()
}

// actionDetail is an alarm command as the batch record's action lists it:
// the alarm, and the reason when one was given ("h2s_high: ventilation
// running").
func actionDetail(c api.Command) string {
	if r := strings.TrimSpace(c.Reason); r != "" {
		return c.Alarm + ": " + r
	}
	return c.Alarm
}
