package drivers

import "errors"

// Errors shared by every protocol driver, so that the controller can tell,
// with errors.Is and without knowing the protocol, whether a write may be
// retried (see Retryable). Drivers wrap them with the device and tag
// concerned; protocol errors (a Modbus exception, an OPC UA status code)
// wrap one of the classes below as well.
var (
	// ErrUnknownTag: the tag is not mapped on this device. A configuration
	// problem; retrying does not help.
	ErrUnknownTag = errors.New("tag is not mapped on this device")
	// ErrNotWritable: the point is mapped read-only. A configuration
	// problem; retrying does not help.
	ErrNotWritable = errors.New("tag is not writable")
	// ErrQueueFull: the device's write queue is full because the device is
	// slow or stuck. The caller may retry on a later scan.
	ErrQueueFull = errors.New("write queue is full")
	// ErrNotConnected: the device was not connected when the write was
	// queued or when its turn came. The write was dropped, never kept for
	// later, so that a stale command is not replayed after a reconnect; the
	// caller decides whether to issue it again.
	ErrNotConnected = errors.New("device is not connected")
	// ErrWriteMismatch: the device accepted the write but reading the point
	// back returned another value (the device clamped or refused it, or
	// something else wrote it in between).
	ErrWriteMismatch = errors.New("read-back does not match the written value")

	// ErrCommFailure: the device did not answer in time, the connection
	// broke, or a gateway reports that the device behind it is silent.
	// Retrying after a reconnect may help.
	ErrCommFailure = errors.New("communication failure")
	// ErrDeviceBusy: the device asked to be asked again later (Modbus
	// "server device busy" or "acknowledge"). Retrying helps.
	ErrDeviceBusy = errors.New("device busy")
	// ErrBadConfig: the device refuses what the configuration asks for: a
	// point's address, function or node that does not exist, a security
	// policy it does not offer, credentials it rejects. A configuration
	// problem; retrying does not help.
	ErrBadConfig = errors.New("configuration refused by the device")
	// ErrDeviceException: the device understood the request and refused
	// it (a value it rejects, an internal failure). Retrying the same
	// request is unlikely to help.
	ErrDeviceException = errors.New("device exception")
	// ErrUntrustedServer: the OPC UA server's certificate is neither in the
	// device's trust list nor matching its pinned thumbprint; the driver
	// does not connect. A configuration problem.
	ErrUntrustedServer = errors.New("server certificate is not trusted")
)

// Retryable reports whether issuing the same request again later may
// succeed: the device was busy, unreachable, or its queue was full.
// Configuration problems and refused values are not retryable.
func Retryable(err error) bool {
	for _, e := range []error{ErrQueueFull, ErrNotConnected, ErrCommFailure, ErrDeviceBusy} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
