// Package drivers owns the wire-independent vocabulary of plant I/O: points and
// their configuration, samples with quality and source time, the device
// interface that the Modbus and OPC UA drivers implement, the error classes
// that say whether a failed write may be retried, the Shell both drivers
// build on (write queue with connection generations, health counters,
// backoff), and the clock that the controller, historian and test rig share.
//
// It imports nothing else of pretreat. Protocol code lives in the
// sub-packages drivers/modbus and drivers/opcua, which register themselves
// (RegisterProtocol) with the checks of their part of a device's
// configuration and the constructor of their devices: DeviceConfig.Validate
// and New dispatch on the device's protocol, and drivers/all imports every
// protocol package. Each device is owned by one
// goroutine that polls or subscribes and pushes samples into a Sink. Nothing
// in this package starts a motor: writes are only ever issued on request of
// the controller.
package drivers
