package modbus

import (
	"testing"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/drivertest"
)

// TestValidate checks the Modbus keys of a device and its points, through
// the common entry point drivers.DeviceConfig.Validate.
func TestValidate(t *testing.T) {
	bit := func(b uint8) *uint8 { return &b }
	modbus := func(mod func(*drivers.DeviceConfig)) drivers.DeviceConfig {
		d := drivers.DeviceConfig{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "10.0.0.1:502",
			Points: []drivers.PointConfig{{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16}}}
		mod(&d)
		return d
	}
	point := func(p drivers.PointConfig) func(*drivers.DeviceConfig) {
		return func(d *drivers.DeviceConfig) { d.Points = []drivers.PointConfig{p} }
	}
	cases := []struct {
		name string
		cfg  drivers.DeviceConfig
		want []string // paths of the errors, empty for a valid config
	}{
		{"valid modbus", modbus(func(*drivers.DeviceConfig) {}), nil},
		{"float64 past the last register", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeFloat64, Address: 65533})), []string{"points[0].address"}},
		{"bit out of range", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeBool, Bit: bit(16)})), []string{"points[0].bit"}},
		{"bit of a float", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeFloat32, Bit: bit(1)})), []string{"points[0].bit"}},
		{"bit of a coil", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableCoil, Bit: bit(1)})), []string{"points[0].bit"}},
		{"writable input register", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableInput, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite})), []string{"points[0].access"}},
		{"point wider than the device reads", modbus(func(d *drivers.DeviceConfig) {
			d.MaxReadRegisters = 2
			d.Points = []drivers.PointConfig{{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeFloat64}}
		}), []string{"points[0].type"}},
		{"unknown transport", modbus(func(d *drivers.DeviceConfig) { d.Transport = "udp" }), []string{"transport"}},
		{"tls without files", modbus(func(d *drivers.DeviceConfig) { d.Transport = drivers.TransportTLS }), []string{"transport"}},
		{"tls missing key", modbus(func(d *drivers.DeviceConfig) {
			d.Transport, d.TLS = drivers.TransportTLS, &drivers.TLSFiles{Cert: "c", CA: "ca"}
		}), []string{"tls.key"}},
		{"tls on plain tcp", modbus(func(d *drivers.DeviceConfig) { d.TLS = &drivers.TLSFiles{Cert: "c", Key: "k", CA: "ca"} }), []string{"tls"}},
		{"rtu needs a port", modbus(func(d *drivers.DeviceConfig) { d.Transport, d.Address = drivers.TransportRTU, "" }), []string{"address"}},
		{"rtu serial settings", modbus(func(d *drivers.DeviceConfig) {
			d.Transport, d.Address, d.Serial = drivers.TransportRTU, "/dev/ttyUSB0", &drivers.SerialConfig{Parity: "mark", DataBits: 9, StopBits: 3}
		}), []string{"serial.parity", "serial.data_bits", "serial.stop_bits"}},
		{"serial on tcp", modbus(func(d *drivers.DeviceConfig) { d.Serial = &drivers.SerialConfig{} }), []string{"serial"}},
		{"address without port", modbus(func(d *drivers.DeviceConfig) { d.Address = "plc" }), []string{"address"}},
		{"limits", modbus(func(d *drivers.DeviceConfig) {
			d.ReadGap, d.MaxReadRegisters, d.MaxReadBits, d.Retries = 125, 126, 2001, 11
		}),
			[]string{"retries", "read_gap", "max_read_registers", "max_read_bits"}},
		{"write function", modbus(func(d *drivers.DeviceConfig) { d.WriteFunction = "fc22" }), []string{"write_function"}},
		{"opcua keys on modbus", modbus(func(d *drivers.DeviceConfig) { d.Security = &drivers.OPCUASecurity{} }), []string{"protocol"}},
		{"node on modbus", modbus(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Node: "ns=2;s=A"})), []string{"points[0].node"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { drivertest.CheckValidate(t, tc.cfg, tc.want) })
	}
}
