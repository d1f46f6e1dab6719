package drivers

import (
	"context"
	"fmt"
	"time"
)

// Quality says how far a value can be trusted. It travels with every value
// from the driver through the tag table to the historian and the HMI.
type Quality uint8

// Qualities. Good is the zero value's successor on purpose: the zero value
// QualityUnknown means "never received", which the logic treats as bad.
const (
	QualityUnknown             Quality = iota // never received since start
	QualityGood                               // fresh value from the device
	QualityBadCommFailure                     // device not reachable or not answering
	QualityBadConfigError                     // the point's mapping is wrong (e.g. illegal address)
	QualityBadDeviceException                 // the device answered with an exception or bad status
	QualityBadOutOfRange                      // value outside the point's configured range
	QualityUncertainStale                     // no fresh value within the expected interval
	QualityUncertainLastUsable                // last good value kept while the device is away
	// QualityBadResync marks the values of a device that has just
	// (re)connected while the controller writes its outputs again: they
	// are not used for control until every output has been re-asserted.
	QualityBadResync
)

var qualityNames = [...]string{
	QualityUnknown:             "unknown",
	QualityGood:                "good",
	QualityBadCommFailure:      "bad:comm_failure",
	QualityBadConfigError:      "bad:config_error",
	QualityBadDeviceException:  "bad:device_exception",
	QualityBadOutOfRange:       "bad:out_of_range",
	QualityUncertainStale:      "uncertain:stale",
	QualityUncertainLastUsable: "uncertain:last_usable",
	QualityBadResync:           "bad:resync",
}

// String returns the name used in the API, the historian and the HMI.
func (q Quality) String() string {
	if int(q) < len(qualityNames) {
		return qualityNames[q]
	}
	return fmt.Sprintf("quality(%d)", uint8(q))
}

// MarshalText renders the quality by name in JSON and YAML.
func (q Quality) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText parses a quality name as written by MarshalText.
func (q *Quality) UnmarshalText(b []byte) error {
	for i, n := range qualityNames {
		if n == string(b) {
			*q = Quality(i)
			return nil
		}
	}
	return fmt.Errorf("unknown quality %q", b)
}

// Good reports whether the value may be used by control logic as is.
func (q Quality) Good() bool { return q == QualityGood }

// Sample is one value of one tag at one time, as delivered by a driver.
// Value is in engineering units after scale and offset; booleans are 0 or 1.
// A string point carries its text in Text (Value is then 0).
type Sample struct {
	Tag     string    `json:"tag"`
	Value   float64   `json:"value"`
	Text    string    `json:"text,omitempty"`
	Quality Quality   `json:"quality"`
	Time    time.Time `json:"time"` // source time: when the device produced or we read it
	Reason  string    `json:"reason,omitempty"`
}

// Sink receives samples from a device's goroutine. The tag table implements
// it. Update must not block for long and must not keep the slice.
type Sink interface {
	Update(samples []Sample)
}

// WriteResult reports the outcome of one queued write.
type WriteResult struct {
	Tag   string
	Value float64
	Err   error // nil when the device accepted the write (and read-back matched, where checked)
	Time  time.Time
	// Gen is the connection generation the write was queued on (see
	// Generations); 0 when it was queued while disconnected.
	Gen uint64
	// Corrected: the driver wrote Value again by itself because a poll read
	// back something else (see WriteRequest.Corrected); the controller
	// counts it as an output correction.
	Corrected bool
	// ReadBack is the value the poll read before the correction.
	ReadBack float64
}

// Generations is implemented by devices that tell when their connection
// starts anew. Generation returns a new number at every (re)connection and
// 0 while the device is disconnected; the controller writes every output
// again when it changes. Safe to call from any goroutine.
type Generations interface {
	Generation() uint64
}

// Device is one connection to the plant: a Modbus TCP endpoint or an OPC UA
// server. Constructors validate configuration and make no network calls; Run
// does all I/O on its own goroutine until ctx is cancelled, reconnecting with
// backoff and marking its tags bad while the device is away.
type Device interface {
	// Name is the device name from the plant file.
	Name() string
	// Run connects, polls or subscribes, pushes samples into sink and serves
	// queued writes until ctx is done. It returns nil on cancellation.
	Run(ctx context.Context, sink Sink) error
	// Write queues a write of value to tag and returns at once. It returns an
	// error only when the tag is not writable on this device or the queue is
	// full; the outcome arrives later on the results channel given at
	// construction, if any.
	Write(tag string, value float64) error
}

// Clock gives plant time. The live clock is the wall clock; the test rig and
// tests run a scaled clock so that plant time passes faster than real time.
type Clock interface {
	Now() time.Time
	// Speed is how many seconds of plant time pass per second of wall time.
	Speed() float64
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) Speed() float64 { return 1 }

// WallClock is the real-time clock.
var WallClock Clock = wallClock{}

// ScaledClock runs plant time at a fixed multiple of wall time from a fixed
// origin. It is safe for concurrent use (it is immutable).
type ScaledClock struct {
	wallStart  time.Time
	plantStart time.Time
	speed      float64
}

// NewScaledClock returns a clock that starts at plantStart now and runs speed
// times faster than the wall clock. speed must be > 0.
func NewScaledClock(plantStart time.Time, speed float64) *ScaledClock {
	if speed <= 0 {
		speed = 1
	}
	return &ScaledClock{wallStart: time.Now(), plantStart: plantStart, speed: speed}
}

// Now returns the current plant time.
func (c *ScaledClock) Now() time.Time {
	el := time.Since(c.wallStart)
	return c.plantStart.Add(time.Duration(float64(el) * c.speed))
}

// Speed returns the plant-to-wall time ratio.
func (c *ScaledClock) Speed() float64 { return c.speed }

// WallDuration converts a span of plant time into the wall time it takes.
func WallDuration(c Clock, plant time.Duration) time.Duration {
	return time.Duration(float64(plant) / c.Speed())
}

// Health is a device connection's state, for the API and the HMI.
type Health struct {
	Connected bool      `json:"connected"`
	LastError string    `json:"last_error,omitempty"`
	LastOK    time.Time `json:"last_ok,omitzero"` // plant time of the last successful exchange
	Requests  uint64    `json:"requests"`
	Failures  uint64    `json:"failures"`
}

// HealthReporter is implemented by devices that report their connection
// health. It must be safe to call from any goroutine.
type HealthReporter interface {
	Health() Health
}
