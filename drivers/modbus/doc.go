// Package modbus is the Modbus TCP driver: one Device per host:port and unit
// id, owned by one goroutine (Run) that connects, polls the device's points
// in planned blocks, pushes samples with quality into a drivers.Sink and
// executes queued writes between polls, verifying each by read-back.
//
// New validates the configuration and plans the reads (readable points per
// table grouped into contiguous blocks, bridging gaps of up to 8 addresses,
// at most 125 registers or 2000 bits per request) without touching the
// network, so the controller starts while a device is offline. Run keeps the
// device's points bad:comm_failure (with their last value) until the peer
// answers, reconnecting with backoff from 200 ms doubling to 5 s. A Modbus
// exception marks only the points of the block it answered: illegal data
// address as bad:config_error, the others as bad:device_exception. Only
// readable points produce samples: a write-only point has no value to report.
//
// Values are decoded from bool (coils, discrete inputs, or a register that
// is not zero), int16, uint16, int32, uint32, float32 and float64 with word
// order ABCD or CDAB, then scaled (eng = raw*scale + offset) and range
// checked. Writes go out as FC5 (coil), FC6 (one register) or FC16 (several),
// with the raw value rounded and clamped to the point's type.
//
// The package does not retry writes: a write queued while the device is
// disconnected fails with drivers.ErrNotConnected so that a stale command is
// never replayed after a reconnect. It does not decide what a value means;
// that is the controller's business. RTU, TLS and per-device byte order come
// later.
package modbus
