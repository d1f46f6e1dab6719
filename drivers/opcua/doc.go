// Package opcua is the OPC UA client driver: one Device per server endpoint,
// owned by one goroutine (Run) that opens a session, subscribes to every
// readable point (one monitored item each, sampled and published at the
// device's poll interval), pushes the notifications as samples with quality
// into a drivers.Sink and executes queued writes in between, verifying each
// by read-back.
//
// New validates the configuration and parses the node ids without touching
// the network, so the controller starts while a server is offline. Run keeps
// the device's points bad:comm_failure (with their last value) until the
// server answers, tearing the client down and reconnecting with backoff from
// 200 ms doubling to 5 s whenever the connection fails; the subscription is
// created anew on each connection. A freshness watchdog reads every node once
// when no notification arrived for five poll intervals: a server only
// notifies on change, so a read is how a quiet server is told from a dead one.
// Only readable points produce samples: a write-only point has no value to
// report.
//
// Values of any numeric or boolean variant become float64 (then scale,
// offset and range check as on Modbus); a bad status marks the point
// bad:device_exception, or bad:config_error when the node does not exist.
// Writes use the variant type the server reported for the node (Double when
// it never did), with integers rounded and clamped.
//
// Security is policy None with an anonymous session for now; signing,
// encryption and user tokens come later. The package does not retry writes:
// a write queued while the device is disconnected fails with
// drivers.ErrNotConnected so that a stale command is never replayed.
package opcua
