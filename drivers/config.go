package drivers

import (
	"fmt"
	"time"
)

// Protocol names the wire protocol of a device.
type Protocol string

// Protocols understood by the drivers.
const (
	ProtocolModbusTCP Protocol = "modbus-tcp"
	ProtocolOPCUA     Protocol = "opcua"
)

// Table is a Modbus data table.
type Table string

// Modbus tables.
const (
	TableCoil     Table = "coil"
	TableDiscrete Table = "discrete"
	TableHolding  Table = "holding"
	TableInput    Table = "input"
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
	TypeFloat32 DataType = "float32"
	TypeFloat64 DataType = "float64"
)

// Registers returns how many 16-bit registers the type occupies (1 for bool,
// which is then a coil or discrete input, or bit 0 of a register).
func (t DataType) Registers() int {
	switch t {
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	case TypeFloat64:
		return 4
	default:
		return 1
	}
}

// WordOrder is the order of 16-bit words within a multi-register value.
type WordOrder string

// Word orders: ABCD is big-endian words, high word first (Modbus
// convention); CDAB puts the low word first.
const (
	WordOrderABCD WordOrder = "ABCD"
	WordOrderCDAB WordOrder = "CDAB"
)

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
	// means the tag itself is the role.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
	// Modbus mapping.
	Table   Table     `yaml:"table,omitempty" json:"table,omitempty"`
	Address uint16    `yaml:"address,omitempty" json:"address,omitempty"`
	Type    DataType  `yaml:"type,omitempty" json:"type,omitempty"`
	Order   WordOrder `yaml:"order,omitempty" json:"order,omitempty"`
	// OPC UA mapping, e.g. "ns=2;s=Pulper.DS".
	Node string `yaml:"node,omitempty" json:"node,omitempty"`
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
	// Address is host:port for Modbus TCP.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	UnitID  uint8  `yaml:"unit_id,omitempty" json:"unit_id,omitempty"`
	// Endpoint is the OPC UA endpoint URL, e.g. opc.tcp://127.0.0.1:4840.
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// PollInterval is the period between reads (Modbus) or the publishing and
	// sampling interval (OPC UA). Default 200ms.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout bounds one request. Default 1s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// ReadGap is the largest run of unmapped registers (or bits) a Modbus
	// read may span to merge two points into one request. Default 0: only
	// adjacent points are merged, since many devices refuse reads that touch
	// unmapped addresses.
	ReadGap int `yaml:"read_gap,omitempty" json:"read_gap,omitempty"`
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

// Validate checks a device configuration without touching the network and
// returns every problem found.
func (d *DeviceConfig) Validate() []*ConfigError {
	var errs []*ConfigError
	add := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if d.Name == "" {
		add("name", "a device needs a name")
	}
	switch d.Protocol {
	case ProtocolModbusTCP:
		if d.Address == "" {
			add("address", "a modbus-tcp device needs address host:port")
		}
	case ProtocolOPCUA:
		if d.Endpoint == "" {
			add("endpoint", "an opcua device needs endpoint opc.tcp://host:port")
		}
	default:
		add("protocol", "protocol %q is not known; allowed: %s, %s", d.Protocol, ProtocolModbusTCP, ProtocolOPCUA)
	}
	if d.ReadGap < 0 || d.ReadGap > 124 {
		add("read_gap", "read_gap %d is out of range; allowed: 0 to 124", d.ReadGap)
	}
	if len(d.Points) == 0 {
		add("points", "a device needs at least one point")
	}
	for i := range d.Points {
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
		switch p.Type {
		case "", TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeFloat32, TypeFloat64:
		default:
			add(pp+".type", "type %q is not known; allowed: bool, int16, uint16, int32, uint32, float32, float64", p.Type)
		}
		if p.Max < p.Min {
			add(pp+".max", "max %g is below min %g", p.Max, p.Min)
		}
		if d.Protocol == ProtocolModbusTCP {
			switch p.Table {
			case TableCoil, TableDiscrete:
				if p.Type != "" && p.Type != TypeBool {
					add(pp+".type", "a %s holds bits; type must be bool, not %q", p.Table, p.Type)
				}
				if p.Table == TableDiscrete && p.Access.Writable() {
					add(pp+".access", "discrete inputs are read-only; allowed: read")
				}
			case TableHolding, TableInput:
				if p.Type == "" {
					add(pp+".type", "a register point needs a type; allowed: bool, int16, uint16, int32, uint32, float32, float64")
				}
				if p.Table == TableInput && p.Access.Writable() {
					add(pp+".access", "input registers are read-only; allowed: read")
				}
				if int(p.Address)+p.Type.Registers() > 65536 {
					add(pp+".address", "address %d + %d registers runs past 65535", p.Address, p.Type.Registers())
				}
			default:
				add(pp+".table", "table %q is not known; allowed: coil, discrete, holding, input", p.Table)
			}
			switch p.Order {
			case "", WordOrderABCD, WordOrderCDAB:
			default:
				add(pp+".order", "word order %q is not known; allowed: ABCD, CDAB", p.Order)
			}
		}
		if d.Protocol == ProtocolOPCUA && p.Node == "" {
			add(pp+".node", "an opcua point needs a node id such as ns=2;s=Pulper.DS")
		}
	}
	return errs
}
