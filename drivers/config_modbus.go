package drivers

// The keys of a Modbus device and point in the plant file. Their checks,
// defaults and the devices they describe are the business of the Modbus
// driver (drivers/modbus); they stay here, in DeviceConfig and PointConfig,
// because the plant file is decoded and its keys checked from these types.

// ModbusTransport is how Modbus frames reach a device.
type ModbusTransport string

// Modbus transports. The empty value means TransportTCP.
const (
	// TransportTCP is Modbus TCP (MBAP framing) on host:port.
	TransportTCP ModbusTransport = "tcp"
	// TransportTLS is Modbus/TCP Security: MBAP over TLS 1.2+ with a
	// client certificate, on host:port (port 802 by convention).
	TransportTLS ModbusTransport = "tls"
	// TransportRTUOverTCP is RTU framing (with CRC) on a TCP socket, as
	// spoken by transparent serial-to-Ethernet gateways.
	TransportRTUOverTCP ModbusTransport = "rtu-over-tcp"
	// TransportRTU is RTU framing on a local serial port; Address is the
	// port's path (e.g. /dev/ttyUSB0) and Serial gives its line settings.
	TransportRTU ModbusTransport = "rtu"
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

// Registers returns how many registers (or bits, on a bit table) the point
// spans on a Modbus device.
func (p *PointConfig) Registers() int {
	switch {
	case p.Table == TableCoil || p.Table == TableDiscrete || p.Bit != nil:
		return 1
	case p.Type == TypeString:
		return (p.Length + 1) / 2
	case p.Type == "":
		return 1
	}
	return p.Type.Registers()
}

// TLSFiles names the PEM files of a Modbus/TCP Security client.
type TLSFiles struct {
	// Cert and Key are the client's certificate and private key; the
	// device checks the certificate (and may read a Modbus role from it).
	Cert string `yaml:"cert" json:"cert"`
	Key  string `yaml:"key" json:"key"`
	// CA holds the certificates that may sign (or be) the device's
	// certificate. The device's certificate must name the host of Address.
	CA string `yaml:"ca" json:"ca"`
}

// Parity of a serial line.
type Parity string

// Parities.
const (
	ParityNone Parity = "none"
	ParityEven Parity = "even"
	ParityOdd  Parity = "odd"
)

// SerialConfig is the line setting of a Modbus RTU serial port. Zero values
// take Modbus's defaults: 19200 baud, 8 data bits, even parity, 1 stop bit
// (2 stop bits without parity).
type SerialConfig struct {
	Baud     uint   `yaml:"baud,omitempty" json:"baud,omitempty"`
	DataBits uint   `yaml:"data_bits,omitempty" json:"data_bits,omitempty"`
	Parity   Parity `yaml:"parity,omitempty" json:"parity,omitempty"`
	StopBits uint   `yaml:"stop_bits,omitempty" json:"stop_bits,omitempty"`
}

// WriteFunction says which Modbus function codes write one coil or register.
type WriteFunction string

// Write functions. The empty value means WriteSingle.
const (
	// WriteSingle writes one coil with FC5 and one register with FC6;
	// several registers always go with FC16.
	WriteSingle WriteFunction = "single"
	// WriteMultiple always uses FC15 (coils) and FC16 (registers), for
	// devices that do not implement FC5/FC6.
	WriteMultiple WriteFunction = "multiple"
)

// TransportOrDefault returns Transport or TransportTCP.
func (d *DeviceConfig) TransportOrDefault() ModbusTransport {
	if d.Transport == "" {
		return TransportTCP
	}
	return d.Transport
}
