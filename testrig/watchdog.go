package testrig

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// Watchdogs: the communication-loss supervision of a simulated device
// (drivers.WatchdogConfig), as a drive's fieldbus adapter or a remote I/O
// coupler has it. The points the watchdog owns (its Tag and Reset, and its
// Fault where that is not a model variable) are served from the watchdog's
// state, not from the model. A trip switches every command of the device
// off (each role ending in _cmd it serves), latched until the controller
// resets it. Its times are wall-clock time, like a device's network, not
// the plant time of the rig's clock.

// watchdogPoint says which of its watchdog's points a served point is.
type watchdogPoint int

const (
	wdNone  watchdogPoint = iota
	wdTag                 // the heartbeat counter or the comm-loss timeout
	wdReset               // writing non-zero clears a trip; reads 0
	wdFault               // reads 1 while tripped (ORed with the model's role, if any)
)

// coastUnits maps the run commands whose drives coast on a trip with stop
// mode coast to the model's unit.
var coastUnits = map[string]string{
	"shredder.run_cmd": physics.UnitShredder,
	"press.run_cmd":    physics.UnitPress,
}

// watchdog is one simulated device's watchdog. Its configuration is fixed
// by New; its state is guarded by Rig.mu.
type watchdog struct {
	device string
	cfg    drivers.WatchdogConfig
	// faultRole is the model role the fault point reads ORed with the
	// trip ("" when the fault point has no role in the model).
	faultRole string
	cmdRoles  []string // the device's command roles, switched off by a trip
	coast     []string // units whose drives coast on a trip (stop: coast)

	// State, guarded by Rig.mu. Times are wall-clock times.
	tag       float64 // the value last written to Tag (engineering units)
	written   bool    // heartbeat: Tag has been written since the rig started
	armed     bool
	timeout   time.Duration
	lastKick  time.Time
	tripped   bool
	trippedAt time.Time
	trips     int
}

// WatchdogStatus is the state of one simulated device's watchdog, for tests
// and the control API. Times are wall-clock times.
type WatchdogStatus struct {
	Device string               `json:"device"`
	Mode   drivers.WatchdogMode `json:"mode"`
	Stop   drivers.StopMode     `json:"stop"`
	// Armed: supervising. A heartbeat watchdog arms with the first
	// heartbeat written; a comm_timeout one while its timeout is above 0.
	Armed   bool `json:"armed"`
	Tripped bool `json:"tripped"`
	// Trips counts the trips since the rig started.
	Trips     int       `json:"trips"`
	TrippedAt time.Time `json:"tripped_at,omitzero"` // the last trip
	LastKick  time.Time `json:"last_kick,omitzero"`  // the last heartbeat change, request (comm_timeout) or reset
	// Timeout is the supervision time in force: the configured one
	// (heartbeat), or the one the controller wrote (comm_timeout; 0 until
	// then). In JSON a Go duration string ("1s").
	Timeout time.Duration `json:"-"`
}

// MarshalJSON writes the status with Timeout as a duration string.
func (s WatchdogStatus) MarshalJSON() ([]byte, error) {
	type plain WatchdogStatus // without the methods
	return json.Marshal(struct {
		plain
		Timeout string `json:"timeout"`
	}{plain(s), s.Timeout.String()})
}

// UnmarshalJSON reads a status written by MarshalJSON.
func (s *WatchdogStatus) UnmarshalJSON(b []byte) error {
	type plain WatchdogStatus
	var j struct {
		plain
		Timeout string `json:"timeout"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = WatchdogStatus(j.plain)
	if j.Timeout != "" {
		d, err := time.ParseDuration(j.Timeout)
		if err != nil {
			return fmt.Errorf("timeout %q: %w", j.Timeout, err)
		}
		s.Timeout = d
	}
	return nil
}

// newWatchdog returns the watchdog of dev, which must have one and have
// passed Validate. Heartbeat watchdogs supervise with the configured
// timeout; comm_timeout ones come up with none (supervision off, as a
// drive after a restart) until the controller writes it.
func newWatchdog(dev *drivers.DeviceConfig) *watchdog {
	w := &watchdog{device: dev.Name, cfg: *dev.Watchdog}
	if w.cfg.Mode == drivers.WatchdogHeartbeat {
		w.timeout = w.cfg.Timeout
	}
	return w
}

// point returns which of w's points tag is.
func (w *watchdog) point(tag string) watchdogPoint {
	switch tag {
	case "":
		return wdNone
	case w.cfg.Tag:
		return wdTag
	case w.cfg.Reset:
		return wdReset
	case w.cfg.Fault:
		return wdFault
	}
	return wdNone
}

// addCommands records the command roles among the device's served points
// (roles ending in _cmd the model accepts), which a trip switches off, and
// the drives that coast on a trip.
func (w *watchdog) addCommands(l *physics.Line, points []*servedPoint) {
	for _, p := range points {
		if p.wdPoint == wdTag || p.wdPoint == wdReset || !strings.HasSuffix(p.role, "_cmd") || !l.Settable(p.role) {
			continue
		}
		if !slices.Contains(w.cmdRoles, p.role) {
			w.cmdRoles = append(w.cmdRoles, p.role)
		}
	}
	if w.cfg.StopOrDefault() == drivers.StopCoast {
		for _, role := range w.cmdRoles {
			if u, ok := coastUnits[role]; ok {
				w.coast = append(w.coast, u)
			}
		}
	}
}

func (w *watchdog) status() WatchdogStatus {
	return WatchdogStatus{
		Device: w.device, Mode: w.cfg.Mode, Stop: w.cfg.StopOrDefault(),
		Armed: w.armed, Tripped: w.tripped, Trips: w.trips,
		TrippedAt: w.trippedAt, LastKick: w.lastKick, Timeout: w.timeout,
	}
}

// alive reports whether the controller is there by w's rule at now: kicked
// within the timeout.
func (w *watchdog) alive(now time.Time) bool {
	return !w.lastKick.IsZero() && now.Sub(w.lastKick) <= w.timeout
}

// tripEvent is a trip to log once Rig.mu is released.
type tripEvent struct {
	status WatchdogStatus
	silent time.Duration // wall time since the last kick
}

// Watchdogs returns the state of every simulated device's watchdog, in
// plant-file order, after tripping those that are due.
func (r *Rig) Watchdogs() []WatchdogStatus {
	r.mu.Lock()
	trips := r.checkWatchdogs(r.wallNow())
	out := make([]WatchdogStatus, len(r.watchdogs))
	for i, w := range r.watchdogs {
		out[i] = w.status()
	}
	r.mu.Unlock()
	r.logTrips(trips)
	return out
}

// checkWatchdogs trips every armed watchdog that has not been kicked for
// longer than its timeout at now, and returns the trips. Rig.mu must be
// held.
func (r *Rig) checkWatchdogs(now time.Time) []tripEvent {
	var trips []tripEvent
	for _, w := range r.watchdogs {
		if !w.armed || w.tripped || w.timeout <= 0 || now.Sub(w.lastKick) <= w.timeout {
			continue
		}
		w.tripped, w.trippedAt = true, now
		w.trips++
		for _, role := range w.cmdRoles {
			r.line.Set(role, 0)
		}
		for _, u := range w.coast {
			_ = r.line.Coast(u)
		}
		trips = append(trips, tripEvent{status: w.status(), silent: now.Sub(w.lastKick)})
	}
	return trips
}

// logTrips logs trips at info level. Rig.mu must not be held.
func (r *Rig) logTrips(trips []tripEvent) {
	if r.logger == nil {
		return
	}
	for _, t := range trips {
		s := t.status
		r.logger.Info("testrig: watchdog tripped: commands off until reset",
			slog.String("device", s.Device), slog.String("mode", string(s.Mode)), slog.String("stop", string(s.Stop)),
			slog.Duration("timeout", s.Timeout), slog.Duration("silent", t.silent), slog.Int("trips", s.Trips))
	}
}

// deviceRequest is called before a request to device is served (a Modbus
// request at its unit id, or a message on one of its OPC UA connections):
// it trips the watchdogs that are due first, so that a rig that was paused
// trips before it answers, and then kicks a comm_timeout watchdog of the
// device. It takes Rig.mu.
func (r *Rig) deviceRequest(device string) {
	if len(r.watchdogs) == 0 {
		return
	}
	r.mu.Lock()
	now := r.wallNow()
	trips := r.checkWatchdogs(now)
	if w := r.watchdogOf[device]; w != nil && w.cfg.Mode == drivers.WatchdogCommTimeout {
		w.lastKick = now
	}
	r.mu.Unlock()
	r.logTrips(trips)
}

// heldOff reports whether role is a command a tripped watchdog holds off.
// Rig.mu must be held.
func (r *Rig) heldOff(role string) bool {
	for _, w := range r.cmdWatchdogs[role] {
		if w.tripped {
			return true
		}
	}
	return false
}

// readPoint returns the engineering value a served point reads: the
// watchdog's state for the points it owns, else the model's reading.
// Rig.mu must be held.
func (r *Rig) readPoint(p *servedPoint) float64 {
	switch p.wdPoint {
	case wdTag:
		return p.wd.tag
	case wdReset:
		return 0 // a self-clearing pulse
	case wdFault:
		if p.wd.tripped {
			return 1
		}
		if p.wd.faultRole == "" {
			return 0
		}
	}
	v, _ := r.line.Get(p.role)
	return v
}

// writePoint writes eng to a served point: to the watchdog for the points
// it owns, else to the model, where a command a tripped watchdog holds off
// is accepted and stays 0. It returns false when the model refuses the
// value. Rig.mu must be held.
func (r *Rig) writePoint(p *servedPoint, eng float64) bool {
	w := p.wd
	switch p.wdPoint {
	case wdTag:
		now := r.wallNow()
		switch w.cfg.Mode {
		case drivers.WatchdogHeartbeat:
			if !w.written || eng != w.tag {
				w.lastKick, w.armed = now, true
			}
			w.written = true
		case drivers.WatchdogCommTimeout:
			if eng < 0 {
				return false
			}
			w.timeout = time.Duration(eng * float64(time.Second))
			w.armed = w.timeout > 0
			w.lastKick = now
		}
		w.tag = eng
		return true
	case wdReset:
		if eng == 0 || !w.tripped {
			return true
		}
		now := r.wallNow()
		if w.cfg.Mode == drivers.WatchdogHeartbeat && !w.alive(now) {
			return true // the heartbeat has not come back: the trip stays
		}
		w.tripped, w.lastKick = false, now
		return true
	case wdFault:
		return false // New refuses writable fault points
	}
	if r.heldOff(p.role) {
		return r.line.Set(p.role, 0)
	}
	return r.line.Set(p.role, eng)
}

// refuses reports whether a write of eng to p is refused before any write
// of the request is applied: a negative comm-loss timeout.
func (p *servedPoint) refuses(eng float64) bool {
	return p.wdPoint == wdTag && p.wd.cfg.Mode == drivers.WatchdogCommTimeout && eng < 0
}
