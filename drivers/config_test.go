package drivers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// testProtocol is a protocol driver that accepts every device and point:
// the tests of this package check what is common to every protocol (the
// Modbus and OPC UA checks are tested in their packages).
type testProtocol struct{}

func (testProtocol) ValidateDevice(*DeviceConfig, AddFunc)             {}
func (testProtocol) ValidatePoint(*DeviceConfig, int, string, AddFunc) {}
func (testProtocol) New(DeviceConfig, BuildOptions) (Device, error)    { return nil, nil }

const protocolTest Protocol = "test"

func init() { RegisterProtocol(protocolTest, testProtocol{}) }

func TestValidate(t *testing.T) {
	dev := func(mod func(*DeviceConfig)) DeviceConfig {
		d := DeviceConfig{Name: "d", Protocol: protocolTest, Points: []PointConfig{{Tag: "a", Table: TableHolding, Type: TypeUint16}}}
		mod(&d)
		return d
	}
	point := func(p PointConfig) func(*DeviceConfig) { return func(d *DeviceConfig) { d.Points = []PointConfig{p} } }
	cases := []struct {
		name string
		cfg  DeviceConfig
		want []string // paths of the errors, empty for a valid config
	}{
		{"valid", dev(func(*DeviceConfig) {}), nil},
		{"every type and order", dev(func(d *DeviceConfig) {
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
		{"unknown type", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: "int17"})), []string{"points[0].type"}},
		{"unknown order", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeFloat32, Order: "BACD"})), []string{"points[0].order"}},
		{"string word swap", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeString, Length: 4, Order: WordOrderCDAB})), []string{"points[0].order"}},
		{"string without length", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeString})), []string{"points[0].length"}},
		{"length on a number", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeUint16, Length: 2})), []string{"points[0].length"}},
		{"max below min", dev(point(PointConfig{Tag: "a", Table: TableHolding, Type: TypeUint16, Min: 5, Max: 1})), []string{"points[0].max"}},
		{"negative durations", dev(func(d *DeviceConfig) { d.PollInterval, d.Timeout = -time.Second, -time.Second }), []string{"poll_interval", "timeout"}},
		{"unknown protocol", dev(func(d *DeviceConfig) { d.Protocol = "profinet" }), []string{"protocol"}},
		{"no name, no points", dev(func(d *DeviceConfig) { d.Name, d.Points = "", nil }), []string{"name", "points"}},
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

// An unknown protocol names the registered ones, and New refuses it.
func TestUnknownProtocol(t *testing.T) {
	d := DeviceConfig{Name: "d", Protocol: "profinet", Points: []PointConfig{{Tag: "a"}}}
	errs := d.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, `protocol "profinet" is not known; allowed: `) || !strings.Contains(errs[0].Message, string(protocolTest)) {
		t.Errorf("Validate = %v, want one error naming the registered protocols", errs)
	}
	var ce *ConfigError
	if _, err := New(d, BuildOptions{}); !errors.As(err, &ce) || ce.Path != "protocol" {
		t.Errorf("New = %v, want a ConfigError at protocol", err)
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
