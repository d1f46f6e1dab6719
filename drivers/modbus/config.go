package modbus

import (
	"net"
	"reflect"

	"github.com/pretreat/pretreat/drivers"
)

// The Modbus driver registers itself under drivers.ProtocolModbusTCP, the
// name of every Modbus device whatever its transport.
func init() { drivers.RegisterProtocol(drivers.ProtocolModbusTCP, protocol{}) }

// protocol is the Modbus drivers.ProtocolDriver: the checks of the Modbus
// keys of a device and its points, and New.
type protocol struct{}

// New builds a Modbus device (drivers.ProtocolDriver) in the default pool.
func (protocol) New(cfg drivers.DeviceConfig, o drivers.BuildOptions) (drivers.Device, error) {
	d, err := New(cfg, Options{Clock: o.Clock, Results: o.Results, Logger: o.Logger, CorrectOutputs: o.CorrectOutputs})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ValidateDevice checks a Modbus device's transport, address, TLS files,
// serial line and request limits (drivers.ProtocolDriver).
func (protocol) ValidateDevice(d *drivers.DeviceConfig, add drivers.AddFunc) {
	switch d.TransportOrDefault() {
	case drivers.TransportTCP, drivers.TransportRTUOverTCP, drivers.TransportTLS:
		if d.Address == "" {
			add("address", "a modbus %s device needs address host:port", d.TransportOrDefault())
		} else if _, _, err := net.SplitHostPort(d.Address); err != nil {
			add("address", "address %q is not host:port: %v", d.Address, err)
		}
	case drivers.TransportRTU:
		if d.Address == "" {
			add("address", "a modbus rtu device needs address: the serial port, e.g. /dev/ttyUSB0")
		}
	default:
		add("transport", "transport %q is not known; allowed: tcp, tls, rtu-over-tcp, rtu", d.Transport)
	}
	if d.TransportOrDefault() == drivers.TransportTLS {
		switch {
		case d.TLS == nil:
			add("transport", "transport tls needs tls: {cert, key, ca} files")
		default:
			if d.TLS.Cert == "" {
				add("tls.cert", "tls needs cert: the client certificate (PEM)")
			}
			if d.TLS.Key == "" {
				add("tls.key", "tls needs key: the client private key (PEM)")
			}
			if d.TLS.CA == "" {
				add("tls.ca", "tls needs ca: the certificates that sign the device's certificate (PEM)")
			}
		}
	} else if d.TLS != nil {
		add("tls", "tls applies to transport tls only")
	}
	if d.Serial != nil {
		if d.TransportOrDefault() != drivers.TransportRTU {
			add("serial", "serial applies to transport rtu only")
		}
		s := d.Serial
		switch s.Parity {
		case "", drivers.ParityNone, drivers.ParityEven, drivers.ParityOdd:
		default:
			add("serial.parity", "parity %q is not known; allowed: none, even, odd", s.Parity)
		}
		if s.DataBits != 0 && (s.DataBits < 5 || s.DataBits > 8) {
			add("serial.data_bits", "data_bits %d is out of range; allowed: 5 to 8", s.DataBits)
		}
		if s.StopBits != 0 && s.StopBits != 1 && s.StopBits != 2 {
			add("serial.stop_bits", "stop_bits %d is not allowed; allowed: 1, 2", s.StopBits)
		}
	}
	if d.Retries < 0 || d.Retries > 10 {
		add("retries", "retries %d is out of range; allowed: 0 to 10", d.Retries)
	}
	if d.ReadGap < 0 || d.ReadGap > 124 {
		add("read_gap", "read_gap %d is out of range; allowed: 0 to 124", d.ReadGap)
	}
	if d.MaxReadRegisters < 0 || d.MaxReadRegisters > 125 {
		add("max_read_registers", "max_read_registers %d is out of range; allowed: 1 to 125 (0 means 125)", d.MaxReadRegisters)
	}
	if d.MaxReadBits < 0 || d.MaxReadBits > 2000 {
		add("max_read_bits", "max_read_bits %d is out of range; allowed: 1 to 2000 (0 means 2000)", d.MaxReadBits)
	}
	switch d.WriteFunction {
	case "", drivers.WriteSingle, drivers.WriteMultiple:
	default:
		add("write_function", "write_function %q is not known; allowed: single, multiple", d.WriteFunction)
	}
	if d.Endpoint != "" || d.Security != nil || d.Auth != nil {
		add("protocol", "endpoint, security and auth belong to opcua devices, not %s", d.Protocol)
	}
}

// ValidatePoint checks a point's table, address, bit and span
// (drivers.ProtocolDriver).
func (protocol) ValidatePoint(d *drivers.DeviceConfig, i int, pp string, add drivers.AddFunc) {
	p := &d.Points[i]
	if p.Node != "" || p.Mode != "" || p.SamplingInterval != 0 || p.QueueSize != 0 || p.Deadband != 0 || p.DeadbandType != "" {
		add(pp+".node", "node, mode, sampling_interval, queue_size and deadband belong to opcua points; a modbus point has table and address")
	}
	switch p.Table {
	case drivers.TableCoil, drivers.TableDiscrete:
		if p.Type != "" && p.Type != drivers.TypeBool {
			add(pp+".type", "a %s holds bits; type must be bool, not %q", p.Table, p.Type)
		}
		if p.Table == drivers.TableDiscrete && p.Access.Writable() {
			add(pp+".access", "discrete inputs are read-only; allowed: read")
		}
		if p.Bit != nil {
			add(pp+".bit", "bit selects a bit of a register; a %s is a bit already", p.Table)
		}
	case drivers.TableHolding, drivers.TableInput:
		if p.Type == "" {
			add(pp+".type", "a register point needs a type; allowed: %s", drivers.DataTypeList())
		}
		if p.Table == drivers.TableInput && p.Access.Writable() {
			add(pp+".access", "input registers are read-only; allowed: read")
		}
		if p.Bit != nil {
			if p.Type != drivers.TypeBool {
				add(pp+".bit", "bit needs type bool, not %q", p.Type)
			}
			if *p.Bit > 15 {
				add(pp+".bit", "bit %d is out of range; allowed: 0 to 15", *p.Bit)
			}
		}
		if n := p.Registers(); n > 0 && int(p.Address)+n > 65536 {
			add(pp+".address", "address %d + %d registers runs past 65535", p.Address, n)
		}
		if n := p.Registers(); n > maxRead(d, false) {
			add(pp+".type", "the point spans %d registers, more than one read of this device (%d)", n, maxRead(d, false))
		}
	default:
		add(pp+".table", "table %q is not known; allowed: coil, discrete, holding, input", p.Table)
	}
}

// maxRead returns the largest read request of the device for a bit table
// (bits) or a register table (registers): its max_read_bits or
// max_read_registers, or the protocol's limit, 2000 bits or 125 registers.
func maxRead(d *drivers.DeviceConfig, bits bool) int {
	if bits {
		if d.MaxReadBits > 0 {
			return d.MaxReadBits
		}
		return 2000
	}
	if d.MaxReadRegisters > 0 {
		return d.MaxReadRegisters
	}
	return 125
}

// ValidateDevices checks the Modbus devices that share a connection (same
// transport and address, unit ids behind one gateway or on one serial
// line): the connection has one timeout and one TLS or serial setting, and
// each unit id is one device (drivers.DevicesValidator).
func (protocol) ValidateDevices(devs []drivers.DeviceConfig, add func(dev int, path, format string, args ...any)) {
	type key struct {
		transport drivers.ModbusTransport
		address   string
	}
	first := map[key]int{}
	units := map[key]map[uint8]string{}
	for i := range devs {
		d := &devs[i]
		if d.Protocol != drivers.ProtocolModbusTCP || d.Address == "" {
			continue
		}
		k := key{d.TransportOrDefault(), d.Address}
		if units[k] == nil {
			units[k] = map[uint8]string{}
		}
		if other, dup := units[k][d.UnitID]; dup {
			add(i, "unit_id", "unit id %d at %s is already device %q; a unit id is one device", d.UnitID, d.Address, other)
		}
		units[k][d.UnitID] = d.Name
		j, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		o := &devs[j]
		if d.TimeoutOrDefault() != o.TimeoutOrDefault() {
			add(i, "timeout", "devices at %s share one connection and its timeout: %s here, %s on device %q", d.Address, d.TimeoutOrDefault(), o.TimeoutOrDefault(), o.Name)
		}
		if !reflect.DeepEqual(d.TLS, o.TLS) {
			add(i, "tls", "devices at %s share one connection and its tls files, which differ from device %q's", d.Address, o.Name)
		}
		if !reflect.DeepEqual(d.Serial, o.Serial) {
			add(i, "serial", "devices on %s share one serial line and its setting, which differs from device %q's", d.Address, o.Name)
		}
	}
}
