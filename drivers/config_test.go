package drivers

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	bit := func(b uint8) *uint8 { return &b }
	modbus := func(mod func(*DeviceConfig)) DeviceConfig {
		d := DeviceConfig{Name: "d", Protocol: ProtocolModbusTCP, Address: "10.0.0.1:502",
			Points: []PointConfig{{Tag: "a", Table: TableHolding, Type: TypeUint16}}}
		mod(&d)
		return d
	}
	opcua := func(mod func(*DeviceConfig)) DeviceConfig {
		d := DeviceConfig{Name: "o", Protocol: ProtocolOPCUA, Endpoint: "opc.tcp://h:4840", Points: []PointConfig{{Tag: "a", Node: "ns=2;s=A"}}}
		mod(&d)
		return d
	}
	point := func(p PointConfig) func(*DeviceConfig) { return func(d *DeviceConfig) { d.Points = []PointConfig{p} } }
	cases := []struct {
		name string
		cfg  DeviceConfig
		want []string // paths of the errors, empty for a valid config
	}{
		{"valid modbus", modbus(func(*DeviceConfig) {}), nil},
		{"valid opcua", opcua(func(*DeviceConfig) {}), nil},
		{"every type and order", modbus(func(d *DeviceConfig) {
			d.Points = nil
			for i, typ := range dataTypes {
				for _, o := range []WordOrder{WordOrderABCD, WordOrderCDAB, WordOrderBADC, WordOrderDCBA} {
					if typ == TypeString && o.SwapsWords() {
						continue
					}
					p := PointConfig{Tag: fmt.Sprintf("%s%s", typ, o), Table: TableInput, Address: uint16(10 * i), Type: typ, Order: o}
					if typ == TypeString {
						p.Length = 8
					}
					d.Points = append(d.Points, p)
				}
			}
		}), nil},
		{"unknown type", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: "int17"})), []string{"points[0].type"}},
		{"unknown order", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeFloat32, Order: "BACD"})), []string{"points[0].order"}},
		{"string word swap", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeString, Length: 4, Order: WordOrderCDAB})), []string{"points[0].order"}},
		{"string without length", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeString})), []string{"points[0].length"}},
		{"length on a number", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeUint16, Length: 2})), []string{"points[0].length"}},
		{"float64 past the last register", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeFloat64, Address: 65533})), []string{"points[0].address"}},
		{"bit out of range", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeBool, Bit: bit(16)})), []string{"points[0].bit"}},
		{"bit of a float", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeFloat32, Bit: bit(1)})), []string{"points[0].bit"}},
		{"bit of a coil", modbus(point(PointConfig{Tag: "a", Table: TableCoil, Bit: bit(1)})), []string{"points[0].bit"}},
		{"max below min", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeUint16, Min: 5, Max: 1})), []string{"points[0].max"}},
		{"writable input register", modbus(point(PointConfig{Tag: "a", Table: TableInput, Type: TypeUint16, Access: AccessReadWrite})), []string{"points[0].access"}},
		{"point wider than the device reads", modbus(func(d *DeviceConfig) {
			d.MaxReadRegisters = 2
			d.Points = []PointConfig{{Tag: "a", Table: TableHolding, Type: TypeFloat64}}
		}), []string{"points[0].type"}},
		{"unknown transport", modbus(func(d *DeviceConfig) { d.Transport = "udp" }), []string{"transport"}},
		{"tls without files", modbus(func(d *DeviceConfig) { d.Transport = TransportTLS }), []string{"transport"}},
		{"tls missing key", modbus(func(d *DeviceConfig) { d.Transport, d.TLS = TransportTLS, &TLSFiles{Cert: "c", CA: "ca"} }), []string{"tls.key"}},
		{"tls on plain tcp", modbus(func(d *DeviceConfig) { d.TLS = &TLSFiles{Cert: "c", Key: "k", CA: "ca"} }), []string{"tls"}},
		{"rtu needs a port", modbus(func(d *DeviceConfig) { d.Transport, d.Address = TransportRTU, "" }), []string{"address"}},
		{"rtu serial settings", modbus(func(d *DeviceConfig) {
			d.Transport, d.Address, d.Serial = TransportRTU, "/dev/ttyUSB0", &SerialConfig{Parity: "mark", DataBits: 9, StopBits: 3}
		}), []string{"serial.parity", "serial.data_bits", "serial.stop_bits"}},
		{"serial on tcp", modbus(func(d *DeviceConfig) { d.Serial = &SerialConfig{} }), []string{"serial"}},
		{"address without port", modbus(func(d *DeviceConfig) { d.Address = "plc" }), []string{"address"}},
		{"limits", modbus(func(d *DeviceConfig) { d.ReadGap, d.MaxReadRegisters, d.MaxReadBits, d.Retries = 125, 126, 2001, 11 }),
			[]string{"retries", "read_gap", "max_read_registers", "max_read_bits"}},
		{"write function", modbus(func(d *DeviceConfig) { d.WriteFunction = "fc22" }), []string{"write_function"}},
		{"opcua keys on modbus", modbus(func(d *DeviceConfig) { d.Security = &OPCUASecurity{} }), []string{"protocol"}},
		{"modbus keys on opcua", opcua(func(d *DeviceConfig) { d.ReadGap = 2 }), []string{"protocol"}},
		{"policy without mode", opcua(func(d *DeviceConfig) {
			d.Security = &OPCUASecurity{Policy: PolicyBasic256Sha256, Certificate: "c", PrivateKey: "k", Trust: []string{"t"}}
		}), []string{"security.mode"}},
		{"unknown policy", opcua(func(d *DeviceConfig) { d.Security = &OPCUASecurity{Policy: "Basic128Rsa15", Mode: ModeSign} }),
			[]string{"security.policy"}},
		{"secure without key, cert and trust", opcua(func(d *DeviceConfig) {
			d.Security = &OPCUASecurity{Policy: PolicyAes256Sha256RsaPss, Mode: ModeSignAndEncrypt}
		}), []string{"security.certificate", "security.private_key", "security"}},
		{"bad thumbprint", opcua(func(d *DeviceConfig) { d.Security = &OPCUASecurity{ServerThumbprint: "xyz"} }), []string{"security.server_thumbprint"}},
		{"username without password env", opcua(func(d *DeviceConfig) { d.Auth = &OPCUAAuth{Type: AuthUsername, Username: "op"} }),
			[]string{"auth.password_env"}},
		{"certificate token without key", opcua(func(d *DeviceConfig) { d.Auth = &OPCUAAuth{Type: AuthCertificate, Certificate: "u"} }),
			[]string{"auth.private_key"}},
		{"unknown token", opcua(func(d *DeviceConfig) { d.Auth = &OPCUAAuth{Type: "kerberos"} }), []string{"auth.type"}},
		{"deadband without type", opcua(point(PointConfig{Tag: "a", Node: "ns=2;s=A", Deadband: 1})), []string{"points[0].deadband_type"}},
		{"percent over 100", opcua(point(PointConfig{Tag: "a", Node: "ns=2;s=A", Deadband: 101, DeadbandType: DeadbandPercent})), []string{"points[0].deadband"}},
		{"poll with monitoring settings", opcua(point(PointConfig{Tag: "a", Node: "ns=2;s=A", Mode: MonitorPoll, QueueSize: 4})), []string{"points[0].mode"}},
		{"table on opcua", opcua(point(PointConfig{Tag: "a", Node: "ns=2;s=A", Table: TableCoil})), []string{"points[0].table"}},
		{"node on modbus", modbus(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeUint16, Node: "ns=2;s=A"})), []string{"points[0].node"}},
		{"negative durations", modbus(func(d *DeviceConfig) { d.PollInterval, d.Timeout = -time.Second, -time.Second }), []string{"poll_interval", "timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range tc.cfg.Validate() {
				got = append(got, e.Path)
				if e.Message == "" {
					t.Errorf("%s: empty message", e.Path)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("error paths %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPointRegisters(t *testing.T) {
	bit := uint8(3)
	for _, tc := range []struct {
		p    PointConfig
		want int
	}{
		{PointConfig{Table: TableCoil}, 1},
		{PointConfig{Table: TableHolding, Type: TypeBool, Bit: &bit}, 1},
		{PointConfig{Table: TableHolding, Type: TypeInt64}, 4},
		{PointConfig{Table: TableHolding, Type: TypeUint32}, 2},
		{PointConfig{Table: TableHolding, Type: TypeString, Length: 7}, 4},
		{PointConfig{Table: TableHolding, Type: TypeString, Length: 8}, 4},
	} {
		if got := tc.p.Registers(); got != tc.want {
			t.Errorf("%+v spans %d registers, want %d", tc.p, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Start: 100 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	b.Reset()
	if w := b.Next(); w != 100*time.Millisecond {
		t.Errorf("after Reset: %v, want 100ms", w)
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", ErrDeviceBusy), true},
		{fmt.Errorf("x: %w", ErrCommFailure), true},
		{ErrQueueFull, true},
		{ErrNotConnected, true},
		{fmt.Errorf("x: %w", ErrBadConfig), false},
		{ErrDeviceException, false},
		{ErrWriteMismatch, false},
		{ErrUntrustedServer, false},
		{errors.New("other"), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// The shell runs a write only on the connection it was queued under.
func TestShellGenerations(t *testing.T) {
	results := make(chan WriteResult, 4)
	s := NewShell("modbus", "vfd", nil, results, nil)
	if err := s.Enqueue(0, "sp", 1); err != nil {
		t.Fatal(err)
	}
	s.Connected()
	w := <-s.Writes()
	if !s.RejectStale(w) {
		t.Fatal("a write queued while disconnected ran on the next connection")
	}
	if r := <-results; !errors.Is(r.Err, ErrNotConnected) || r.Tag != "sp" {
		t.Errorf("result %+v, want ErrNotConnected for sp", r)
	}
	if err := s.Enqueue(0, "sp", 2); err != nil {
		t.Fatal(err)
	}
	if w := <-s.Writes(); s.RejectStale(w) {
		t.Error("a write queued on the current connection was rejected")
	}
	if err := s.Enqueue(0, "sp", 3); err != nil {
		t.Fatal(err)
	}
	s.Disconnected()
	s.Connected()
	if w := <-s.Writes(); !s.RejectStale(w) {
		t.Error("a write queued on an earlier connection ran on a new one")
	}
	for range WriteQueueSize {
		s.Enqueue(0, "sp", 0)
	}
	if err := s.Enqueue(0, "sp", 0); !errors.Is(err, ErrQueueFull) {
		t.Errorf("enqueue beyond the queue = %v, want ErrQueueFull", err)
	}
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(); err == nil {
		t.Error("a second Begin succeeded")
	}
	s.End()
}
