package testrig

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

const samplePlant = "../controller/plant/sample.yaml"

// sampleDevices reads the devices of the sample plant file, ignoring its
// other keys.
func sampleDevices(t testing.TB) []drivers.DeviceConfig {
	t.Helper()
	b, err := os.ReadFile(samplePlant)
	if err != nil {
		t.Fatal(err)
	}
	var plant struct {
		Devices []drivers.DeviceConfig `yaml:"devices"`
	}
	if err := yaml.Unmarshal(b, &plant); err != nil {
		t.Fatalf("%s: %v", samplePlant, err)
	}
	if len(plant.Devices) == 0 {
		t.Fatalf("%s: no devices", samplePlant)
	}
	return plant.Devices
}

// startRig starts a rig on loopback with plant time running at speed and
// stops it when the test ends.
func startRig(t testing.TB, devices []drivers.DeviceConfig, speed float64) *Rig {
	t.Helper()
	r, err := New(Options{
		Devices:   devices,
		Clock:     drivers.NewScaledClock(time.Date(2025, 1, 6, 6, 0, 0, 0, time.UTC), speed),
		Seed:      1,
		Ephemeral: true,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return r
}

// modbusOnly drops the OPC UA devices: tests of the Modbus fronts start
// faster without a gopcua server (its address space takes a while to build,
// seconds under -race).
func modbusOnly(devs []drivers.DeviceConfig) []drivers.DeviceConfig {
	var out []drivers.DeviceConfig
	for _, d := range devs {
		if d.Protocol != drivers.ProtocolOPCUA {
			out = append(out, d)
		}
	}
	return out
}

func endpoint(t testing.TB, r *Rig, device string) Endpoint {
	t.Helper()
	for _, ep := range r.Endpoints() {
		if ep.Device == device {
			return ep
		}
	}
	t.Fatalf("no endpoint for device %q in %+v", device, r.Endpoints())
	return Endpoint{}
}

// modbusClient connects a simonvetter client to a device's endpoint.
func modbusClient(t testing.TB, ep Endpoint) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: ep.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatalf("connect %s: %v", ep.URL, err)
	}
	if err := c.SetUnitId(ep.UnitID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it returns true or timeout (wall time) passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func value(t testing.TB, r *Rig, role string) float64 {
	t.Helper()
	v, ok := r.Value(role)
	if !ok {
		t.Fatalf("Value(%q): unknown role", role)
	}
	return v
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	r := startRig(t, sampleDevices(t), 1)
	eps := r.Endpoints()
	want := map[string]drivers.Protocol{"shredder_vfd": drivers.ProtocolModbusTCP, "press_vfd": drivers.ProtocolModbusTCP, "line_io": drivers.ProtocolModbusTCP, "analyser": drivers.ProtocolOPCUA}
	if len(eps) != len(want) {
		t.Fatalf("got %d endpoints, want %d: %+v", len(eps), len(want), eps)
	}
	for _, ep := range eps {
		if want[ep.Device] != ep.Protocol {
			t.Errorf("%s: protocol %q, want %q", ep.Device, ep.Protocol, want[ep.Device])
		}
		if !strings.HasPrefix(ep.Address, "127.0.0.1:") || strings.HasSuffix(ep.Address, ":0") {
			t.Errorf("%s: address %q, want 127.0.0.1 with a real port", ep.Device, ep.Address)
		}
		wantURL := "tcp://" + ep.Address
		if ep.Protocol == drivers.ProtocolOPCUA {
			wantURL = "opc.tcp://" + ep.Address
		}
		if ep.URL != wantURL {
			t.Errorf("%s: URL %q, want %q", ep.Device, ep.URL, wantURL)
		}
		if ep.Protocol == drivers.ProtocolModbusTCP && ep.UnitID != 1 {
			t.Errorf("%s: unit id %d, want 1", ep.Device, ep.UnitID)
		}
	}
}

func TestModbusHopperFillsWhenDoorOpens(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	c := modbusClient(t, endpoint(t, r, "line_io"))

	w, err := c.ReadFloat32(0, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatalf("read hopper.weight: %v", err)
	}
	if math.Abs(float64(w)) > 2 {
		t.Fatalf("empty hopper weighs %g kg, want load-cell noise only", w)
	}
	if door, err := c.ReadCoil(3); err != nil || door {
		t.Fatalf("door coil = %v, %v; want closed", door, err)
	}
	if err := c.WriteCoil(3, true); err != nil {
		t.Fatalf("open door: %v", err)
	}
	if v := value(t, r, "reception.door_cmd"); v != 1 {
		t.Fatalf("door_cmd in the model = %g after the coil write, want 1", v)
	}
	waitFor(t, 5*time.Second, "hopper weight above 100 kg", func() (bool, string) {
		w, err = c.ReadFloat32(0, modbus.INPUT_REGISTER)
		return err == nil && w > 100, fmt.Sprintf("%g kg, err %v", w, err)
	})
	// The wire value is the model's, to float32 precision.
	before := value(t, r, "waste_in.total")
	w, err = c.ReadFloat32(0, modbus.INPUT_REGISTER)
	after := value(t, r, "waste_in.total")
	if err != nil {
		t.Fatal(err)
	}
	if float64(w) < before-2 || float64(w) > after+2 {
		t.Errorf("hopper.weight on the wire %g kg, model tipped %g..%g kg", w, before, after)
	}
	if err := c.WriteCoil(3, false); err != nil {
		t.Fatalf("close door: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	w1, _ := c.ReadFloat32(0, modbus.INPUT_REGISTER)
	time.Sleep(200 * time.Millisecond)
	w2, _ := c.ReadFloat32(0, modbus.INPUT_REGISTER)
	if math.Abs(float64(w2-w1)) > 2 {
		t.Errorf("hopper weight moved from %g to %g kg with the door closed and the feeder off", w1, w2)
	}
}

func TestModbusRunCommandAndWordOrder(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	tests := []struct {
		device string
		order  modbus.WordOrder // the device's configured order
		wrong  modbus.WordOrder
		role   string
	}{
		{"shredder_vfd", modbus.HIGH_WORD_FIRST, modbus.LOW_WORD_FIRST, "shredder.energy"},
		{"press_vfd", modbus.LOW_WORD_FIRST, modbus.HIGH_WORD_FIRST, "press.energy"},
	}
	for _, tc := range tests {
		t.Run(tc.device, func(t *testing.T) {
			c := modbusClient(t, endpoint(t, r, tc.device))
			if err := c.WriteRegister(1, 200); err != nil { // speed_sp 20.0 rpm (scale 0.1)
				t.Fatalf("write speed_sp: %v", err)
			}
			if err := c.WriteRegister(0, 1); err != nil {
				t.Fatalf("write run_cmd: %v", err)
			}
			waitFor(t, 5*time.Second, "running = 1", func() (bool, string) {
				v, err := c.ReadRegister(4, modbus.HOLDING_REGISTER)
				return err == nil && v == 1, fmt.Sprintf("%d, err %v", v, err)
			})
			waitFor(t, 5*time.Second, "speed 20 rpm", func() (bool, string) {
				v, err := c.ReadRegister(2, modbus.HOLDING_REGISTER)
				return err == nil && v == 200, fmt.Sprintf("%d, err %v", v, err)
			})
			if sp := value(t, r, strings.TrimSuffix(tc.device, "_vfd")+".speed_sp"); sp != 20 {
				t.Errorf("speed_sp in the model = %g, want 20", sp)
			}
			waitFor(t, 5*time.Second, "energy above 0.01 kWh", func() (bool, string) {
				v := value(t, r, tc.role)
				return v > 0.01, fmt.Sprintf("%g kWh", v)
			})
			before := value(t, r, tc.role)
			if err := c.SetEncoding(modbus.BIG_ENDIAN, tc.order); err != nil {
				t.Fatal(err)
			}
			got, err := c.ReadFloat32(10, modbus.HOLDING_REGISTER)
			if err != nil {
				t.Fatalf("read energy: %v", err)
			}
			after := value(t, r, tc.role)
			if float64(got) < float64(float32(before))*(1-1e-6) || float64(got) > float64(float32(after))*(1+1e-6) {
				t.Errorf("energy read with the configured word order = %g kWh, model %g..%g", got, before, after)
			}
			if err := c.SetEncoding(modbus.BIG_ENDIAN, tc.wrong); err != nil {
				t.Fatal(err)
			}
			swapped, err := c.ReadFloat32(10, modbus.HOLDING_REGISTER)
			if err != nil {
				t.Fatal(err)
			}
			if float64(swapped) >= before*0.5 && float64(swapped) <= after*2 {
				t.Errorf("energy read with the other word order = %g kWh, plausible too: the order is not applied", swapped)
			}
		})
	}
}

// testDevices covers every data type, scale/offset, both word orders and
// writable multi-register points on one gateway with two unit ids, plus a
// writable OPC UA node.
func testDevices() []drivers.DeviceConfig {
	return []drivers.DeviceConfig{
		{
			Name: "unit1", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
			Points: []drivers.PointConfig{
				{Tag: "a", Role: "pulper.water_flow_sp", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeFloat32, Order: drivers.WordOrderCDAB, Access: drivers.AccessReadWrite},
				{Tag: "b", Role: "feeder.speed_sp", Table: drivers.TableHolding, Address: 2, Type: drivers.TypeInt32, Scale: 0.001, Access: drivers.AccessReadWrite},
				{Tag: "c", Role: "press.back_pressure_sp", Table: drivers.TableHolding, Address: 4, Type: drivers.TypeFloat64, Order: drivers.WordOrderCDAB, Access: drivers.AccessReadWrite},
				{Tag: "d", Role: "shredder.speed_sp", Table: drivers.TableHolding, Address: 8, Type: drivers.TypeInt16, Scale: 0.5, Offset: 10, Access: drivers.AccessReadWrite},
				{Tag: "e", Role: "shredder.run_cmd", Table: drivers.TableHolding, Address: 9, Type: drivers.TypeBool, Access: drivers.AccessWrite},
				{Tag: "f", Role: "line.time_s", Table: drivers.TableInput, Address: 0, Type: drivers.TypeUint32},
				{Tag: "g", Role: "pulper.ph", Table: drivers.TableInput, Address: 2, Type: drivers.TypeFloat64},
				{Tag: "h", Role: "line.estop_ok", Table: drivers.TableDiscrete, Address: 0},
				{Tag: "i", Role: "shredder.speed", Table: drivers.TableHolding, Address: 10, Type: drivers.TypeUint16, Scale: 0.1},
			},
		},
		{
			Name: "unit7", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 7, Simulated: true,
			Points: []drivers.PointConfig{
				{Tag: "door", Role: "reception.door_cmd", Table: drivers.TableCoil, Address: 5, Access: drivers.AccessReadWrite},
				{Tag: "mixer", Role: "pulper.mixer_cmd", Table: drivers.TableCoil, Address: 6, Access: drivers.AccessReadWrite},
				{Tag: "running", Role: "pulper.mixer_running", Table: drivers.TableCoil, Address: 7},
			},
		},
		{
			Name: "opc", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://127.0.0.1:4841", Simulated: true,
			Points: []drivers.PointConfig{
				{Tag: "feeder.speed_sp", Node: "ns=2;s=Feeder.SpeedSP", Type: drivers.TypeFloat64, Access: drivers.AccessReadWrite},
				{Tag: "press.back_pressure_sp", Node: "ns=2;i=1001", Type: drivers.TypeUint16, Scale: 0.01, Access: drivers.AccessReadWrite},
				{Tag: "shredder.running", Node: "ns=1;s=Shredder.Running", Type: drivers.TypeBool},
				{Tag: "pulper.level", Node: "ns=2;s=Pulper.Level", Type: drivers.TypeFloat32},
			},
		},
		{Name: "real_plc", Protocol: drivers.ProtocolModbusTCP, Address: "192.0.2.1:502", UnitID: 1, Points: []drivers.PointConfig{{Tag: "x", Table: drivers.TableCoil}}},
	}
}

func TestModbusTypesAndUnits(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(testDevices()), 1)
	if n := len(r.Endpoints()); n != 2 {
		t.Fatalf("%d endpoints, want 2 (the unsimulated device is not served): %+v", n, r.Endpoints())
	}
	ep1, ep7 := endpoint(t, r, "unit1"), endpoint(t, r, "unit7")
	if ep1.Address != ep7.Address {
		t.Fatalf("unit1 at %s and unit7 at %s: devices sharing an address must share a server", ep1.Address, ep7.Address)
	}
	c := modbusClient(t, ep1)

	// Writes, each in the point's own encoding.
	c.SetEncoding(modbus.BIG_ENDIAN, modbus.LOW_WORD_FIRST)
	if err := c.WriteFloat32(0, 3.25); err != nil {
		t.Fatalf("write float32 CDAB: %v", err)
	}
	c.SetEncoding(modbus.BIG_ENDIAN, modbus.HIGH_WORD_FIRST)
	if err := c.WriteUint32(2, uint32(int32(42500))); err != nil { // 42.5 % at scale 0.001
		t.Fatalf("write int32: %v", err)
	}
	c.SetEncoding(modbus.BIG_ENDIAN, modbus.LOW_WORD_FIRST)
	if err := c.WriteFloat64(4, 4.75); err != nil {
		t.Fatalf("write float64 CDAB: %v", err)
	}
	if err := c.WriteRegisters(8, []uint16{uint16(int16(20)), 1}); err != nil { // 20*0.5+10 = 20 rpm; run
		t.Fatalf("write int16 and bool: %v", err)
	}
	for role, want := range map[string]float64{
		"pulper.water_flow_sp": 3.25, "feeder.speed_sp": 42.5, "press.back_pressure_sp": 4.75,
		"shredder.speed_sp": 20, "shredder.run_cmd": 1,
	} {
		if got := value(t, r, role); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %g after the write, want %g", role, got, want)
		}
	}

	// Reads back in the same encodings, in one request spanning points.
	regs, err := c.ReadRegisters(0, 10, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatalf("read holding 0..9: %v", err)
	}
	want := []uint16{0x0000, 0x4050, 0x0000, 42500, 0, 0, 0, 0x4013, uint16(int16(20)), 1}
	if fmt.Sprint(regs) != fmt.Sprint(want) {
		t.Errorf("holding 0..9 = %04X, want %04X", regs, want)
	}
	// A read may start inside a multi-register point.
	if regs, err := c.ReadRegisters(1, 1, modbus.HOLDING_REGISTER); err != nil || regs[0] != 0x4050 {
		t.Errorf("read holding 1 = %04X, %v; want 4050", regs, err)
	}
	c.SetEncoding(modbus.BIG_ENDIAN, modbus.HIGH_WORD_FIRST)
	if ph, err := c.ReadFloat64(2, modbus.INPUT_REGISTER); err != nil || ph < 4.5 || ph > 5.5 {
		t.Errorf("pH float64 = %g, %v; want 4.5..5.5", ph, err)
	}
	if estop, err := c.ReadDiscreteInput(0); err != nil || !estop {
		t.Errorf("estop_ok = %v, %v; want true", estop, err)
	}
	waitFor(t, 5*time.Second, "plant time on the uint32 input register", func() (bool, string) {
		s, err := c.ReadUint32(0, modbus.INPUT_REGISTER)
		return err == nil && s >= 1, fmt.Sprintf("%d s, err %v", s, err)
	})

	// The second unit behind the same server.
	c7 := modbusClient(t, ep7)
	if err := c7.WriteCoils(5, []bool{true, true}); err != nil {
		t.Fatalf("write coils 5..6 on unit 7: %v", err)
	}
	if d, m := value(t, r, "reception.door_cmd"), value(t, r, "pulper.mixer_cmd"); d != 1 || m != 1 {
		t.Errorf("door %g, mixer %g after writing both coils; want 1, 1", d, m)
	}
	waitFor(t, 5*time.Second, "mixer running", func() (bool, string) {
		v, err := c7.ReadCoils(5, 3)
		return err == nil && v[2], fmt.Sprintf("%v, err %v", v, err)
	})
}

func TestModbusExceptions(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(testDevices()), 1)
	c := modbusClient(t, endpoint(t, r, "unit1"))
	c7 := modbusClient(t, endpoint(t, r, "unit7"))
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"read past the last holding register", func() error { _, err := c.ReadRegisters(10, 2, modbus.HOLDING_REGISTER); return err }, modbus.ErrIllegalDataAddress},
		{"read a gap in the input registers", func() error { _, err := c.ReadRegisters(6, 1, modbus.INPUT_REGISTER); return err }, modbus.ErrIllegalDataAddress},
		{"read a coil no point covers", func() error { _, err := c7.ReadCoils(0, 1); return err }, modbus.ErrIllegalDataAddress},
		{"read discrete inputs where there are none", func() error { _, err := c7.ReadDiscreteInputs(0, 1); return err }, modbus.ErrIllegalDataAddress},
		{"write a read-only register", func() error { return c.WriteRegister(10, 5) }, modbus.ErrIllegalDataAddress},
		{"write half a float32", func() error { return c.WriteRegister(0, 0x4000) }, modbus.ErrIllegalDataAddress},
		{"write the second half of a float32", func() error { return c.WriteRegister(1, 0x4000) }, modbus.ErrIllegalDataAddress},
		{"write across into a read-only register", func() error { return c.WriteRegisters(9, []uint16{1, 1}) }, modbus.ErrIllegalDataAddress},
		{"write a read-only coil", func() error { return c7.WriteCoil(7, true) }, modbus.ErrIllegalDataAddress},
		{"write NaN", func() error { return c.WriteRegisters(0, []uint16{0x0000, 0x7FC0}) }, modbus.ErrIllegalDataValue},
		{"unknown unit id", func() error {
			c.SetUnitId(9)
			defer c.SetUnitId(1)
			_, err := c.ReadRegisters(0, 1, modbus.HOLDING_REGISTER)
			return err
		}, modbus.ErrGWTargetFailedToRespond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A rejected write changes nothing.
	if v := value(t, r, "pulper.water_flow_sp"); v != 0 {
		t.Errorf("water_flow_sp = %g after rejected writes, want 0", v)
	}
	if v := value(t, r, "shredder.run_cmd"); v != 0 {
		t.Errorf("shredder.run_cmd = %g after a rejected multi-register write, want 0", v)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	modbusDev := func(points ...drivers.PointConfig) drivers.DeviceConfig {
		return drivers.DeviceConfig{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true, Points: points}
	}
	opcDev := func(endpoint string, points ...drivers.PointConfig) drivers.DeviceConfig {
		return drivers.DeviceConfig{Name: "o", Protocol: drivers.ProtocolOPCUA, Endpoint: endpoint, Simulated: true, Points: points}
	}
	ok := drivers.PointConfig{Tag: "hopper.weight", Table: drivers.TableInput, Type: drivers.TypeFloat32}
	tests := []struct {
		name    string
		opts    Options
		path    string // ConfigError path expected, "" for a plain error
		message string // substring of the error
	}{
		{"invalid device", Options{Devices: []drivers.DeviceConfig{modbusDev()}}, "points", "at least one point"},
		{"unknown role", Options{Devices: []drivers.DeviceConfig{modbusDev(drivers.PointConfig{Tag: "x", Role: "nope", Table: drivers.TableCoil})}}, "points[0].role", `role "nope"`},
		{"writable measurement", Options{Devices: []drivers.DeviceConfig{modbusDev(drivers.PointConfig{Tag: "hopper.weight", Table: drivers.TableHolding, Type: drivers.TypeFloat32, Access: drivers.AccessReadWrite})}}, "points[0].access", "cannot be written"},
		{"overlapping registers", Options{Devices: []drivers.DeviceConfig{modbusDev(ok, drivers.PointConfig{Tag: "pulper.ph", Table: drivers.TableInput, Address: 1, Type: drivers.TypeUint16})}}, "points[1].address", "overlaps"},
		{"duplicate unit id", Options{Devices: []drivers.DeviceConfig{modbusDev(ok), modbusDev(ok)}}, "unit_id", "already used"},
		{"bad modbus address", Options{Devices: []drivers.DeviceConfig{{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "nohost", Simulated: true, Points: []drivers.PointConfig{ok}}}}, "address", "host:port"},
		{"namespace 0", Options{Devices: []drivers.DeviceConfig{opcDev("opc.tcp://127.0.0.1:4840", drivers.PointConfig{Tag: "pulper.ds", Node: "i=2258"})}}, "points[0].node", "namespace 0"},
		{"objects folder id", Options{Devices: []drivers.DeviceConfig{opcDev("opc.tcp://127.0.0.1:4840", drivers.PointConfig{Tag: "pulper.ds", Node: "ns=2;i=85"})}}, "points[0].node", "reserved"},
		{"duplicate node", Options{Devices: []drivers.DeviceConfig{opcDev("opc.tcp://127.0.0.1:4840", drivers.PointConfig{Tag: "pulper.ds", Node: "ns=2;s=X"}, drivers.PointConfig{Tag: "pulper.ph", Node: "ns=2;s=X"})}}, "points[1].node", "already used"},
		{"bad node id", Options{Devices: []drivers.DeviceConfig{opcDev("opc.tcp://127.0.0.1:4840", drivers.PointConfig{Tag: "pulper.ds", Node: "ns=x;q=1"})}}, "points[0].node", "does not parse"},
		{"endpoint without port", Options{Devices: []drivers.DeviceConfig{opcDev("opc.tcp://127.0.0.1", drivers.PointConfig{Tag: "pulper.ds", Node: "ns=2;s=X"})}}, "endpoint", "opc.tcp://host:port"},
		{"nothing simulated", Options{Devices: []drivers.DeviceConfig{{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", Points: []drivers.PointConfig{ok}}}}, "", "no device is marked simulated"},
		{"unknown waste class", Options{Devices: []drivers.DeviceConfig{modbusDev(ok)}, WasteClass: "garden"}, "", `waste class "garden"`},
		{"serial rtu", Options{Devices: []drivers.DeviceConfig{{Name: "d", Protocol: drivers.ProtocolModbusTCP, Transport: drivers.TransportRTU, Address: "/dev/ttyUSB0", Simulated: true, Points: []drivers.PointConfig{ok}}}}, "transport", "tcp and tls, not rtu"},
		{"tls without the rig's certificate", Options{Devices: []drivers.DeviceConfig{{Name: "d", Protocol: drivers.ProtocolModbusTCP, Transport: drivers.TransportTLS,
			TLS: &drivers.TLSFiles{Cert: "c", Key: "k", CA: "ca"}, Address: "127.0.0.1:802", Simulated: true, Points: []drivers.PointConfig{ok}}}}, "transport", "Options.ModbusTLS"},
		{"writable string", Options{Devices: []drivers.DeviceConfig{modbusDev(drivers.PointConfig{Tag: "model", Role: "VFD", Table: drivers.TableHolding, Type: drivers.TypeString, Length: 4, Access: drivers.AccessReadWrite})}}, "points[0].access", "read-only"},
		{"two bits on one bit", Options{Devices: []drivers.DeviceConfig{modbusDev(
			drivers.PointConfig{Tag: "a", Role: "line.estop_ok", Table: drivers.TableInput, Type: drivers.TypeBool, Bit: &[]uint8{3}[0]},
			drivers.PointConfig{Tag: "b", Role: "feeder.running", Table: drivers.TableInput, Type: drivers.TypeBool, Bit: &[]uint8{3}[0]})}}, "points[1].address", "same bit"},
		{"a bit on a whole register", Options{Devices: []drivers.DeviceConfig{modbusDev(ok,
			drivers.PointConfig{Tag: "b", Role: "feeder.running", Table: drivers.TableInput, Address: 1, Type: drivers.TypeBool, Bit: &[]uint8{3}[0]})}}, "points[1].address", "overlaps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.opts)
			if err == nil {
				r.Stop()
				t.Fatalf("New succeeded, want an error containing %q", tc.message)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}
			if tc.path == "" {
				return
			}
			var ce *drivers.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %q wraps no *drivers.ConfigError", err)
			}
			if ce.Path != tc.path {
				t.Errorf("ConfigError.Path = %q, want %q", ce.Path, tc.path)
			}
		})
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	r, err := New(Options{Devices: sampleDevices(t), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	if err := r.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Stop: %v, want ErrStarted", err)
	}

	r, err = New(Options{Devices: sampleDevices(t), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context: %v, want context.Canceled", err)
	}

	// A configured (non-ephemeral) port that is taken fails Start and
	// leaves nothing running.
	busy := startRig(t, modbusOnly(testDevices()), 1)
	addr := endpoint(t, busy, "unit1").Address
	devs := testDevices()
	for i := range devs {
		devs[i].Address = strings.Replace(devs[i].Address, "127.0.0.1:1502", addr, 1)
	}
	devs = devs[:2]
	r, err = New(Options{Devices: devs})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err == nil || !strings.Contains(err.Error(), addr) {
		r.Stop()
		t.Errorf("Start on a busy port: %v, want an error naming %s", err, addr)
	}
	if eps := r.Endpoints(); len(eps) != 0 {
		t.Errorf("Endpoints after a failed Start = %+v, want none", eps)
	}
}

// TestStopLeavesNoGoroutines runs a rig with Modbus and OPC UA clients
// connected and a subscription active, then checks that Stop (after the
// clients close) leaves no goroutine behind.
func TestStopLeavesNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits for goroutines to end")
	}
	baseline := runtime.NumGoroutine()
	func() {
		r, err := New(Options{Devices: sampleDevices(t), Ephemeral: true, Clock: drivers.NewScaledClock(time.Now(), 20)})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		mc, err := modbus.NewClient(&modbus.ClientConfiguration{URL: endpoint(t, r, "line_io").URL, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := mc.Open(); err != nil {
			t.Fatal(err)
		}
		if _, err := mc.ReadFloat32(0, modbus.INPUT_REGISTER); err != nil {
			t.Fatal(err)
		}
		values, unsubscribe := subscribe(t, endpoint(t, r, "analyser").URL, "ns=2;s=Reception.H2S")
		select {
		case <-values:
		case <-time.After(5 * time.Second):
			t.Fatal("no notification from the subscription")
		}
		// Stop with the clients still connected, then close them.
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		mc.Close()
		unsubscribe()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines after Stop, %d before Start:\n%s", runtime.NumGoroutine(), baseline, buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
