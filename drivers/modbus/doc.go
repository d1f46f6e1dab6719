// Package modbus is the Modbus driver (simonvetter/modbus): one Device per
// unit id, reached over Modbus TCP, Modbus/TCP Security (TLS with a client
// certificate), RTU over TCP (serial gateways) or RTU on a local serial
// port. Devices with the same transport and address share one connection,
// owned by one goroutine that polls them one unit id at a time, each on its
// own poll interval, and runs their queued writes between polls, verifying
// each by read-back.
//
// New validates the configuration, loads TLS files and plans the reads
// without touching the network, so the controller starts while a device is
// offline. The read planner groups the readable points of one unit id and
// table into as few requests as possible: at most 125 registers or 2000 bits
// (or the device's max_read_registers / max_read_bits), bridging at most
// read_gap unmapped addresses, never splitting a point. FC1/FC2/FC3/FC4
// read; FC5/FC6 (or FC15/FC16 with write_function multiple) and FC16 write.
//
// Values are decoded from bool (coils, discrete inputs, a bit of a
// register, or a whole register that is not zero), int16 to uint64,
// float32, float64 and fixed-length strings, with byte and word order ABCD,
// CDAB, BADC or DCBA, then scaled (eng = raw*scale + offset) and range
// checked. Quality follows what happened:
//
//   - a timeout, garbled frame or lost connection: bad:comm_failure within
//     one timeout plus one poll interval, last value kept;
//   - exceptions: illegal function or address → bad:config_error, device
//     busy or acknowledge → asked again up to retries times, then
//     uncertain:last_usable, gateway path unavailable or target failed →
//     bad:comm_failure, anything else → bad:device_exception. Each is an
//     *ExceptionError wrapping its drivers error class.
//
// A unit that stops answering is asked again only after a backoff (200 ms
// doubling to 5 s) so that it does not slow the other units on its line; a
// connection whose every unit stopped answering, or that broke, is reopened
// with the same backoff. RTU links are reopened after every failed exchange
// so that a late frame is never taken for the next answer.
//
// The package does not retry writes: a write queued while the device is
// disconnected fails with drivers.ErrNotConnected so that a stale command is
// never replayed after a reconnect. It does not decide what a value means;
// that is the controller's business.
package modbus
