package drivers_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/drivertest"
)

// testProtocol is a protocol driver that accepts every device and point:
// the tests of this package check what is common to every protocol (the
// Modbus and OPC UA checks are tested in their packages).
type testProtocol struct{}

func (testProtocol) ValidateDevice(*drivers.DeviceConfig, drivers.AddFunc)             {}
func (testProtocol) ValidatePoint(*drivers.DeviceConfig, int, string, drivers.AddFunc) {}
func (testProtocol) New(drivers.DeviceConfig, drivers.BuildOptions) (drivers.Device, error) {
	return nil, nil
}

const protocolTest drivers.Protocol = "test"

func init() { drivers.RegisterProtocol(protocolTest, testProtocol{}) }

func TestValidate(t *testing.T) {
	dev := func(mod func(*drivers.DeviceConfig)) drivers.DeviceConfig {
		d := drivers.DeviceConfig{Name: "d", Protocol: protocolTest, Points: []drivers.PointConfig{{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16}}}
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
		{"valid", dev(func(*drivers.DeviceConfig) {}), nil},
		{"every type and order", dev(func(d *drivers.DeviceConfig) {
			d.Points = nil
			for i, typ := range []drivers.DataType{drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64, drivers.TypeString} {
				for _, o := range []drivers.WordOrder{drivers.WordOrderABCD, drivers.WordOrderCDAB, drivers.WordOrderBADC, drivers.WordOrderDCBA} {
					if typ == drivers.TypeString && o.SwapsWords() {
						continue
					}
					p := drivers.PointConfig{Tag: fmt.Sprintf("%s%s", typ, o), Table: drivers.TableInput, Address: uint16(10 * i), Type: typ, Order: o}
					if typ == drivers.TypeString {
						p.Length = 8
					}
					d.Points = append(d.Points, p)
				}
			}
		}), nil},
		{"unknown type", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: "int17"})), []string{"points[0].type"}},
		{"unknown order", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeFloat32, Order: "BACD"})), []string{"points[0].order"}},
		{"string word swap", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeString, Length: 4, Order: drivers.WordOrderCDAB})), []string{"points[0].order"}},
		{"string without length", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeString})), []string{"points[0].length"}},
		{"length on a number", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Length: 2})), []string{"points[0].length"}},
		{"max below min", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Min: 5, Max: 1})), []string{"points[0].max"}},
		{"precision beyond 6", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Precision: ptr(7)})), []string{"points[0].precision"}},
		{"negative precision", dev(point(drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Precision: ptr(-1)})), []string{"points[0].precision"}},
		{"precision 0 and 6", dev(func(d *drivers.DeviceConfig) {
			d.Points = []drivers.PointConfig{{Tag: "a", Table: drivers.TableHolding, Type: drivers.TypeUint16, Precision: ptr(0)}, {Tag: "b", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Precision: ptr(6)}}
		}), nil},
		{"negative durations", dev(func(d *drivers.DeviceConfig) { d.PollInterval, d.Timeout = -time.Second, -time.Second }), []string{"poll_interval", "timeout"}},
		{"unknown protocol", dev(func(d *drivers.DeviceConfig) { d.Protocol = "profinet" }), []string{"protocol"}},
		{"no name, no points", dev(func(d *drivers.DeviceConfig) { d.Name, d.Points = "", nil }), []string{"name", "points"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { drivertest.CheckValidate(t, tc.cfg, tc.want) })
	}
}

func ptr[T any](v T) *T { return &v }

// An unknown protocol names the registered ones, and drivers.New refuses it.
func TestUnknownProtocol(t *testing.T) {
	d := drivers.DeviceConfig{Name: "d", Protocol: "profinet", Points: []drivers.PointConfig{{Tag: "a"}}}
	errs := d.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, `protocol "profinet" is not known; allowed: `) || !strings.Contains(errs[0].Message, string(protocolTest)) {
		t.Errorf("Validate = %v, want one error naming the registered protocols", errs)
	}
	var ce *drivers.ConfigError
	if _, err := drivers.New(d, drivers.BuildOptions{}); !errors.As(err, &ce) || ce.Path != "protocol" {
		t.Errorf("New = %v, want a drivers.ConfigError at protocol", err)
	}
}
