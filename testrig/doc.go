// Package testrig is the software test rig: a simulated pretreatment line
// that speaks real Modbus TCP and OPC UA on the network, so that a plant
// file and the controller can be proven against it before anyone touches
// steel.
//
// It owns the device fronts and their pacing: one Modbus server
// (simonvetter/modbus) per distinct device address, over TCP or, for
// devices with transport tls and given Options.ModbusTLS, Modbus/TCP
// Security with client certificates, routing requests by unit id to each
// device's point map with every data type, byte/word order, bit of a
// register and string the drivers map; one OPC UA server (gopcua) per OPC
// UA device with the plant file's node ids; a goroutine that advances the
// process model (package testrig/physics) by the plant time of a
// drivers.Clock, in whole model substeps, so the rig can run many times
// faster than real time and a run with the same seed and the same inputs at
// the same plant times is repeated exactly.
//
// It also owns fault injection (fault.go): faults of a device front (stops
// answering, closes connections, slow responses, Modbus exception codes,
// OPC UA bad status), of a sensor (stuck, drifting, noisy, out of range)
// and of the plant (jam, jam storm, overload trip, VFD fault, e-stop, guard
// door, tank level high-high), each injected and cleared through Rig.Inject
// and Rig.Clear or the rig control API (control.go, HTTP+JSON on loopback,
// with a client); and the served map (map.go) that `pretreat rig
// --print-map` prints. Scenarios are in the sub-package testrig/scenario.
//
// It serves exactly the point maps of the devices marked simulated in the
// plant file: an address or node no point covers is an error on the wire,
// as on a real device. The map also says what equipment the plant has: a
// writable press.cone_valve puts the press's cone under the controller's
// own pressure loop, a writable filtrate.pump_cmd puts the filtrate pump
// under its command (New; physics.BackPressureControl and
// physics.FiltratePumpControl). A device with a watchdog (watchdog.go)
// supervises its controller by heartbeat or comm-loss timeout, in wall
// time, and switches its commands off when the controller goes quiet.
// It must not import the controller: it is a plant,
// seen only through its wire protocols (and, for tests and scenarios,
// Value and the control API).
//
// The rig is not a safety system and does not model one: e-stop and guard
// door status are plain inputs of the model.
package testrig
