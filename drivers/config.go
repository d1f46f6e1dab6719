package drivers

import (
	"fmt"
	"strings"
	"time"
)

// Protocol names the wire protocol of a device.
type Protocol string

// The protocols whose drivers ship with pretreat; each driver registers
// itself under its name (RegisterProtocol). ProtocolModbusTCP selects the
// Modbus driver whatever the transport (see ModbusTransport): its name
// predates RTU and TLS support and is kept so that plant files stay valid.
const (
	ProtocolModbusTCP Protocol = "modbus-tcp"
	ProtocolOPCUA     Protocol = "opcua"
)

// DataType is the encoding of a point's value on the wire.
type DataType string

// Data types. On OPC UA the type is the node's variant type; on Modbus it
// sets how many registers the point spans.
const (
	TypeBool    DataType = "bool"
	TypeInt16   DataType = "int16"
	TypeUint16  DataType = "uint16"
	TypeInt32   DataType = "int32"
	TypeUint32  DataType = "uint32"
	TypeInt64   DataType = "int64"
	TypeUint64  DataType = "uint64"
	TypeFloat32 DataType = "float32"
	TypeFloat64 DataType = "float64"
	// TypeString is fixed-length text of PointConfig.Length bytes, two per
	// register; it arrives in Sample.Text.
	TypeString DataType = "string"
)

// dataTypes lists every data type, in the order error messages name them.
var dataTypes = []DataType{TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeInt64, TypeUint64, TypeFloat32, TypeFloat64, TypeString}

// Registers returns how many 16-bit registers the type occupies (1 for bool,
// which is then a coil or discrete input, or a bit of a register). A string
// spans as many as its length needs: use PointConfig.Registers.
func (t DataType) Registers() int {
	switch t {
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeInt64, TypeUint64, TypeFloat64:
		return 4
	case TypeString:
		return 0
	default:
		return 1
	}
}

// WordOrder is the byte and word order of a register value, named by where
// the bytes of the big-endian value ABCD (A most significant) travel:
//
//	ABCD  big-endian words, high word first (the Modbus convention)
//	CDAB  low word first, bytes within a word big-endian ("word swap")
//	BADC  high word first, bytes within each word swapped ("byte swap")
//	DCBA  fully little-endian
//
// For 64-bit values the same rule extends to four words (CDAB reverses all
// four). For 16-bit values only the byte swap matters. For strings ABCD
// puts the first character in the high byte of the first register and BADC
// in the low byte; CDAB and DCBA are not used.
type WordOrder string

// Byte and word orders.
const (
	WordOrderABCD WordOrder = "ABCD"
	WordOrderCDAB WordOrder = "CDAB"
	WordOrderBADC WordOrder = "BADC"
	WordOrderDCBA WordOrder = "DCBA"
)

// SwapsWords reports whether the least significant word comes first.
func (o WordOrder) SwapsWords() bool { return o == WordOrderCDAB || o == WordOrderDCBA }

// SwapsBytes reports whether the bytes inside each register are swapped.
func (o WordOrder) SwapsBytes() bool { return o == WordOrderBADC || o == WordOrderDCBA }

// Access says whether the controller reads, writes or both.
type Access string

// Access modes.
const (
	AccessRead      Access = "read"
	AccessWrite     Access = "write"
	AccessReadWrite Access = "readwrite"
)

// Readable reports whether the point is polled.
func (a Access) Readable() bool { return a == "" || a == AccessRead || a == AccessReadWrite }

// Writable reports whether the controller may write the point.
func (a Access) Writable() bool { return a == AccessWrite || a == AccessReadWrite }

// PointConfig maps one tag to a place on a device.
type PointConfig struct {
	// Tag is the plant-wide name, "unit.signal" (e.g. "shredder.current").
	Tag string `yaml:"tag" json:"tag"`
	// Role binds the point to a simulator variable in the test rig. Empty
	// means the tag itself is the role. A string point served by the rig
	// serves its role as constant text.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
	// Modbus mapping.
	Table   Table     `yaml:"table,omitempty" json:"table,omitempty"`
	Address uint16    `yaml:"address,omitempty" json:"address,omitempty"`
	Type    DataType  `yaml:"type,omitempty" json:"type,omitempty"`
	Order   WordOrder `yaml:"order,omitempty" json:"order,omitempty"`
	// Bit selects one bit (0 = least significant) of a holding or input
	// register as a bool point. Nil means the whole register.
	Bit *uint8 `yaml:"bit,omitempty" json:"bit,omitempty"`
	// Length is a string point's length in bytes (characters), 1 to 250;
	// it spans (Length+1)/2 registers. Text shorter than that is padded
	// with NUL bytes on write and cut at the first NUL on read.
	Length int `yaml:"length,omitempty" json:"length,omitempty"`
	// OPC UA mapping, e.g. "ns=2;s=Pulper.DS".
	Node string `yaml:"node,omitempty" json:"node,omitempty"`
	// Mode is how an OPC UA point is read: subscribe (default) or poll.
	Mode MonitorMode `yaml:"mode,omitempty" json:"mode,omitempty"`
	// SamplingInterval of the monitored item. Zero means the device's
	// poll interval.
	SamplingInterval time.Duration `yaml:"sampling_interval,omitempty" json:"sampling_interval,omitempty"`
	// QueueSize of the monitored item. Zero means 1 (latest value only).
	QueueSize uint32 `yaml:"queue_size,omitempty" json:"queue_size,omitempty"`
	// Deadband of the monitored item's data-change filter, in raw units or
	// percent (DeadbandType). Zero means every change is notified.
	Deadband     float64      `yaml:"deadband,omitempty" json:"deadband,omitempty"`
	DeadbandType DeadbandType `yaml:"deadband_type,omitempty" json:"deadband_type,omitempty"`
	// Scale and Offset convert raw to engineering units: eng = raw*Scale + Offset.
	// Scale 0 means 1.
	Scale  float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	Offset float64 `yaml:"offset,omitempty" json:"offset,omitempty"`
	Unit   string  `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Min and Max bound a plausible value; outside it the sample is
	// bad:out_of_range. Both zero means no range check.
	Min    float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max    float64 `yaml:"max,omitempty" json:"max,omitempty"`
	Access Access  `yaml:"access,omitempty" json:"access,omitempty"`
	// Precision is how many decimals the operator's screens show the
	// value with, 0 to 6; nil: derived from the range, the scale and the
	// unit (see the controller's status).
	Precision *int `yaml:"precision,omitempty" json:"precision,omitempty"`
}

// EffectiveRole is Role, or Tag when Role is empty.
func (p *PointConfig) EffectiveRole() string {
	if p.Role != "" {
		return p.Role
	}
	return p.Tag
}

// ScaleOrOne returns Scale, treating 0 as 1.
func (p *PointConfig) ScaleOrOne() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// ToEng converts a raw wire value to engineering units.
func (p *PointConfig) ToEng(raw float64) float64 { return raw*p.ScaleOrOne() + p.Offset }

// ToRaw converts an engineering value to the raw wire value.
func (p *PointConfig) ToRaw(eng float64) float64 { return (eng - p.Offset) / p.ScaleOrOne() }

// InRange reports whether v is inside [Min, Max] when a range is set.
func (p *PointConfig) InRange(v float64) bool {
	if p.Min == 0 && p.Max == 0 {
		return true
	}
	return v >= p.Min && v <= p.Max
}

// DeviceConfig describes one device connection.
type DeviceConfig struct {
	Name     string   `yaml:"name" json:"name"`
	Protocol Protocol `yaml:"protocol" json:"protocol"`
	// Transport is the Modbus transport; empty means tcp.
	Transport ModbusTransport `yaml:"transport,omitempty" json:"transport,omitempty"`
	// Address is host:port for Modbus TCP, TLS and RTU over TCP, and the
	// serial port's path for RTU. Devices with the same transport and
	// address (unit ids behind one gateway) share one connection.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	UnitID  uint8  `yaml:"unit_id,omitempty" json:"unit_id,omitempty"`
	// TLS is required with transport tls.
	TLS *TLSFiles `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Serial is the line setting with transport rtu.
	Serial *SerialConfig `yaml:"serial,omitempty" json:"serial,omitempty"`
	// Endpoint is the OPC UA endpoint URL, e.g. opc.tcp://127.0.0.1:4840.
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// Security and Auth are the OPC UA channel security and user identity;
	// nil means policy None and an anonymous session.
	Security *OPCUASecurity `yaml:"security,omitempty" json:"security,omitempty"`
	Auth     *OPCUAAuth     `yaml:"auth,omitempty" json:"auth,omitempty"`
	// PollInterval is the period between reads (Modbus) or the publishing and
	// sampling interval (OPC UA). Default 200ms.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout bounds one request. Default 1s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retries is how often a Modbus request answered with "device busy" or
	// "acknowledge" is repeated within one poll before its points turn
	// uncertain. Timeouts are not retried: a device that does not answer
	// turns bad within one timeout. Default 0.
	Retries int `yaml:"retries,omitempty" json:"retries,omitempty"`
	// ReadGap is the largest run of unmapped registers (or bits) a Modbus
	// read may span to merge two points into one request. Default 0: only
	// adjacent points are merged, since many devices refuse reads that touch
	// unmapped addresses.
	ReadGap int `yaml:"read_gap,omitempty" json:"read_gap,omitempty"`
	// MaxReadRegisters and MaxReadBits cap one Modbus read request, for
	// devices that cannot read long blocks. Zero means the protocol's
	// limits, 125 registers and 2000 bits.
	MaxReadRegisters int `yaml:"max_read_registers,omitempty" json:"max_read_registers,omitempty"`
	MaxReadBits      int `yaml:"max_read_bits,omitempty" json:"max_read_bits,omitempty"`
	// WriteFunction chooses FC5/FC6 (single, default) or FC15/FC16
	// (multiple) to write one coil or register.
	WriteFunction WriteFunction `yaml:"write_function,omitempty" json:"write_function,omitempty"`
	// Watchdog is the device's communication-loss supervision (heartbeat
	// or comm-loss timeout); nil means the device has none.
	Watchdog *WatchdogConfig `yaml:"watchdog,omitempty" json:"watchdog,omitempty"`
	// OutputRefresh is how often an output that cannot be read back
	// (access: write) is written again although it has not changed. Zero
	// means 5s. Outputs that can be read back are compared every poll.
	OutputRefresh time.Duration `yaml:"output_refresh,omitempty" json:"output_refresh,omitempty"`
	// Simulated devices are served by the test rig (`pretreat rig`).
	Simulated bool          `yaml:"simulated,omitempty" json:"simulated,omitempty"`
	Points    []PointConfig `yaml:"points" json:"points"`
}

// PollIntervalOrDefault returns PollInterval or 200ms.
func (d *DeviceConfig) PollIntervalOrDefault() time.Duration {
	if d.PollInterval <= 0 {
		return 200 * time.Millisecond
	}
	return d.PollInterval
}

// TimeoutOrDefault returns Timeout or 1s.
func (d *DeviceConfig) TimeoutOrDefault() time.Duration {
	if d.Timeout <= 0 {
		return time.Second
	}
	return d.Timeout
}

// ConfigError is one problem in a device or point configuration. Path is a
// YAML path relative to the device list entry (e.g. "points[2].type") so the
// plant-file loader can turn it into file:line:column.
type ConfigError struct {
	Path    string
	Message string
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Message }

// DataTypeList names every data type, comma-separated, for error messages.
func DataTypeList() string {
	names := make([]string, len(dataTypes))
	for i, t := range dataTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Validate checks a device configuration without touching the network or
// the file system and returns every problem found: the checks common to
// every device and point here, those of its protocol by the protocol's
// registered driver (see RegisterProtocol). A protocol that is not
// registered is a problem naming the registered ones.
func (d *DeviceConfig) Validate() []*ConfigError {
	var errs []*ConfigError
	add := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if d.Name == "" {
		add("name", "a device needs a name")
	}
	proto, known := LookupProtocol(d.Protocol)
	if known {
		proto.ValidateDevice(d, add)
	} else {
		errs = append(errs, unknownProtocol(d.Protocol))
	}
	if d.PollInterval < 0 {
		add("poll_interval", "poll_interval %s is negative", d.PollInterval)
	}
	if d.Timeout < 0 {
		add("timeout", "timeout %s is negative", d.Timeout)
	}
	if len(d.Points) == 0 {
		add("points", "a device needs at least one point")
	}
	if d.OutputRefresh < 0 || (d.OutputRefresh > 0 && d.OutputRefresh < 100*time.Millisecond) {
		add("output_refresh", "output_refresh %s is too short; allowed: 100ms or more (0 means 5s)", d.OutputRefresh)
	}
	for i := range d.Points {
		pp := d.validatePoint(i, add)
		if known {
			proto.ValidatePoint(d, i, pp, add)
		}
	}
	d.validateWatchdog(add)
	return errs
}

// OutputRefreshOrDefault returns OutputRefresh or 5s.
func (d *DeviceConfig) OutputRefreshOrDefault() time.Duration {
	if d.OutputRefresh <= 0 {
		return 5 * time.Second
	}
	return d.OutputRefresh
}

// validatePoint checks what every point needs whatever its protocol and
// returns the point's path.
func (d *DeviceConfig) validatePoint(i int, add AddFunc) string {
	p := &d.Points[i]
	pp := fmt.Sprintf("points[%d]", i)
	if p.Tag == "" {
		add(pp+".tag", "a point needs a tag")
	}
	switch p.Access {
	case "", AccessRead, AccessWrite, AccessReadWrite:
	default:
		add(pp+".access", "access %q is not known; allowed: read, write, readwrite", p.Access)
	}
	typeOK := p.Type == ""
	for _, t := range dataTypes {
		typeOK = typeOK || p.Type == t
	}
	if !typeOK {
		add(pp+".type", "type %q is not known; allowed: %s", p.Type, DataTypeList())
	}
	if p.Max < p.Min {
		add(pp+".max", "max %g is below min %g", p.Max, p.Min)
	}
	if p.Precision != nil && (*p.Precision < 0 || *p.Precision > 6) {
		add(pp+".precision", "precision %d is not 0 to 6 (decimals shown)", *p.Precision)
	}
	if p.Type == TypeString {
		if p.Length < 1 || p.Length > 250 {
			add(pp+".length", "a string point needs length 1 to 250 (bytes), not %d", p.Length)
		}
		if p.Scale != 0 || p.Offset != 0 || p.Min != 0 || p.Max != 0 {
			add(pp+".type", "a string point has no scale, offset, min or max")
		}
	} else if p.Length != 0 {
		add(pp+".length", "length applies to type string only")
	}
	switch p.Order {
	case "", WordOrderABCD, WordOrderCDAB, WordOrderBADC, WordOrderDCBA:
		if p.Type == TypeString && p.Order.SwapsWords() {
			add(pp+".order", "a string's order is ABCD (first character in the high byte) or BADC (in the low byte), not %s", p.Order)
		}
	default:
		add(pp+".order", "order %q is not known; allowed: ABCD, CDAB, BADC, DCBA", p.Order)
	}
	return pp
}
