// Package all registers every protocol driver with the drivers package
// (drivers.RegisterProtocol, from each protocol package's init). Import it
// for its side effect wherever plant files are validated or devices built:
//
//	import _ "github.com/pretreat/pretreat/drivers/all"
//
// A new protocol is a folder under drivers that registers itself in its
// init function, and one import line here.
package all

import (
	_ "github.com/pretreat/pretreat/drivers/modbus" // modbus-tcp: Modbus TCP, TLS, RTU over TCP, RTU
	_ "github.com/pretreat/pretreat/drivers/opcua"  // opcua
)
