package drivers

import "errors"

// Errors shared by every protocol driver, so that the controller can tell,
// with errors.Is and without knowing the protocol, whether a write may be
// retried. Drivers wrap them with the device and tag concerned.
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
)
