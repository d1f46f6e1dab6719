package drivers

import (
	"fmt"
	"time"
)

// WatchdogMode is how a device notices that its controller is gone.
type WatchdogMode string

// Watchdog modes. Real drives and remote I/O offer one or both: a register
// the master must keep changing (a heartbeat, as remote I/O couplers have),
// or a communication-loss timeout the drive supervises itself once the
// master has set it (as VFD fieldbus adapters have).
const (
	// WatchdogHeartbeat: the controller writes a changing counter to Tag
	// every Every; the device trips when the value has not changed for
	// Timeout. The counter comes from the scan, so a scan that hangs trips
	// the device as surely as a dead process.
	WatchdogHeartbeat WatchdogMode = "heartbeat"
	// WatchdogCommTimeout: the controller writes Timeout (in seconds, the
	// point's engineering unit) to Tag at every connection; the device
	// trips when no request has reached it for that long. A device that
	// restarts comes back with its timeout at zero (supervision off) until
	// the controller writes it again.
	WatchdogCommTimeout WatchdogMode = "comm_timeout"
)

// StopMode is how a device's drives stop when its watchdog trips.
type StopMode string

// Stop modes (IEC 60204-1 stop category 1 and 0 for a drive).
const (
	StopRamp  StopMode = "ramp"  // decelerate on the drive's ramp, then off
	StopCoast StopMode = "coast" // torque off at once; the machine runs down on its own
)

// WatchdogConfig is a device's communication-loss supervision: what the
// controller writes to keep it alive, and what the device does when that
// stops. Its times are real (wall-clock) time, like PollInterval and
// Timeout, whatever speed a test rig runs its plant at.
type WatchdogConfig struct {
	Mode WatchdogMode `yaml:"mode" json:"mode"`
	// Tag is the writable point the controller writes: the heartbeat
	// counter, or the device's comm-loss timeout setting.
	Tag string `yaml:"tag" json:"tag"`
	// Every is the heartbeat period (heartbeat mode). Zero means Timeout/4.
	Every time.Duration `yaml:"every,omitempty" json:"every,omitempty"`
	// Timeout is how long the device waits for a heartbeat change (or any
	// request) before it trips.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Stop is how the device's drives stop on a trip: ramp (default) or
	// coast.
	Stop StopMode `yaml:"stop,omitempty" json:"stop,omitempty"`
	// Fault, if set, is a readable point that reads 1 while the device is
	// tripped (a drive's fault word, or a coupler's watchdog status bit).
	Fault string `yaml:"fault,omitempty" json:"fault,omitempty"`
	// Reset, if set, is a writable point: writing 1 clears a trip once the
	// controller is back. A tripped device stays tripped, every command
	// off, until it is reset.
	Reset string `yaml:"reset,omitempty" json:"reset,omitempty"`
}

// EveryOrDefault returns the heartbeat period: Every, or Timeout/4.
func (w *WatchdogConfig) EveryOrDefault() time.Duration {
	if w.Every > 0 {
		return w.Every
	}
	return w.Timeout / 4
}

// StopOrDefault returns Stop, or StopRamp.
func (w *WatchdogConfig) StopOrDefault() StopMode {
	if w.Stop == "" {
		return StopRamp
	}
	return w.Stop
}

// MinWatchdogTimeout is the shortest watchdog timeout accepted: below it a
// loaded controller would trip its own drives.
const MinWatchdogTimeout = 100 * time.Millisecond

// validateWatchdog checks d.Watchdog against the device's points.
func (d *DeviceConfig) validateWatchdog(add func(path, format string, args ...any)) {
	w := d.Watchdog
	if w == nil {
		return
	}
	point := func(tag string) *PointConfig {
		for i := range d.Points {
			if d.Points[i].Tag == tag {
				return &d.Points[i]
			}
		}
		return nil
	}
	switch w.Mode {
	case WatchdogHeartbeat, WatchdogCommTimeout:
	default:
		add("watchdog.mode", "watchdog mode %q is not known; allowed: %s, %s", w.Mode, WatchdogHeartbeat, WatchdogCommTimeout)
	}
	if w.Timeout < MinWatchdogTimeout {
		add("watchdog.timeout", "watchdog timeout %s is too short; allowed: %s or more", w.Timeout, MinWatchdogTimeout)
	} else if w.Mode == WatchdogCommTimeout && w.Timeout < 2*d.PollIntervalOrDefault() {
		add("watchdog.timeout", "watchdog timeout %s must be at least twice the poll interval (%s): the polls keep the device alive", w.Timeout, d.PollIntervalOrDefault())
	}
	if w.Every < 0 || (w.Every > 0 && w.Every > w.Timeout/2) {
		add("watchdog.every", "heartbeat period %s must be positive and at most half the timeout %s", w.Every, w.Timeout)
	}
	if w.Every != 0 && w.Mode != WatchdogHeartbeat {
		add("watchdog.every", "every applies to mode heartbeat only")
	}
	switch w.Stop {
	case "", StopRamp, StopCoast:
	default:
		add("watchdog.stop", "stop %q is not known; allowed: %s, %s", w.Stop, StopRamp, StopCoast)
	}
	if w.Tag == "" {
		add("watchdog.tag", "a watchdog needs tag: the point the controller writes (heartbeat counter or comm-loss timeout)")
	} else if p := point(w.Tag); p == nil || !p.Access.Writable() {
		add("watchdog.tag", "%q is not a writable point of this device", w.Tag)
	}
	if w.Fault != "" {
		if p := point(w.Fault); p == nil || !p.Access.Readable() {
			add("watchdog.fault", "%q is not a readable point of this device", w.Fault)
		}
	}
	if w.Reset != "" {
		if p := point(w.Reset); p == nil || !p.Access.Writable() {
			add("watchdog.reset", "%q is not a writable point of this device", w.Reset)
		}
	}
	for _, t := range []struct{ path, tag string }{{"watchdog.fault", w.Fault}, {"watchdog.reset", w.Reset}} {
		if t.tag != "" && t.tag == w.Tag {
			add(t.path, "%q is the watchdog tag already", t.tag)
		}
	}
}

// WatchdogTag reports whether tag is one of the points the device's
// watchdog owns (written by the controller's watchdog, not by the logic).
func (d *DeviceConfig) WatchdogTag(tag string) bool {
	w := d.Watchdog
	return w != nil && tag != "" && (tag == w.Tag || tag == w.Reset)
}

func (w WatchdogConfig) String() string {
	return fmt.Sprintf("%s on %s, timeout %s", w.Mode, w.Tag, w.Timeout)
}
