package testrig

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// controlledDevices is a plant whose controller positions the press's cone
// valve and commands the filtrate pump, on one Modbus device.
func controlledDevices() []drivers.DeviceConfig {
	return []drivers.DeviceConfig{{
		Name: "press_io", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
		Points: []drivers.PointConfig{
			{Tag: "press.cone_valve", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Scale: 0.1, Unit: "%", Access: drivers.AccessReadWrite},
			{Tag: "press.back_pressure", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Scale: 0.01, Unit: "bar"},
			{Tag: "press.back_pressure_sp", Table: drivers.TableHolding, Address: 2, Type: drivers.TypeUint16, Scale: 0.01, Unit: "bar", Access: drivers.AccessReadWrite},
			{Tag: "filtrate.pump_cmd", Table: drivers.TableCoil, Address: 0, Access: drivers.AccessReadWrite},
			{Tag: "filtrate.pump_running", Table: drivers.TableDiscrete, Address: 0},
			{Tag: "rejects.weight", Table: drivers.TableInput, Address: 0, Type: drivers.TypeFloat32, Unit: "kg"},
		},
	}}
}

// TestControlModesFromTheDeviceList: which roles the device list maps
// writable chooses how the model's cone and filtrate pump are driven. New
// makes no network calls, so this needs none.
func TestControlModesFromTheDeviceList(t *testing.T) {
	t.Parallel()
	point := func(role string, access drivers.Access) drivers.PointConfig {
		p := drivers.PointConfig{Tag: "x", Role: role, Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Access: access}
		if role == physics.RoleFiltratePumpCmd {
			p.Table, p.Type = drivers.TableCoil, ""
		}
		return p
	}
	modbusDev := func(points ...drivers.PointConfig) drivers.DeviceConfig {
		return drivers.DeviceConfig{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true, Points: points}
	}
	opcDev := func(role string) drivers.DeviceConfig {
		return drivers.DeviceConfig{Name: "o", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://127.0.0.1:4840", Simulated: true,
			Points: []drivers.PointConfig{{Tag: "y", Role: role, Node: "ns=2;s=Y", Type: drivers.TypeFloat64, Access: drivers.AccessReadWrite}}}
	}
	tests := []struct {
		name    string
		devices []drivers.DeviceConfig
		bp      physics.BackPressureControl
		pump    physics.FiltratePumpControl
	}{
		{"nothing mapped", []drivers.DeviceConfig{modbusDev(point("press.back_pressure_sp", drivers.AccessReadWrite))}, physics.BackPressureFromSetpoint, physics.FiltratePumpFloats},
		{"cone valve writable", []drivers.DeviceConfig{modbusDev(point(physics.RoleConeValve, drivers.AccessReadWrite))}, physics.BackPressureFromValve, physics.FiltratePumpFloats},
		{"cone valve write-only", []drivers.DeviceConfig{modbusDev(point(physics.RoleConeValve, drivers.AccessWrite))}, physics.BackPressureFromValve, physics.FiltratePumpFloats},
		{"cone valve read back only", []drivers.DeviceConfig{modbusDev(point(physics.RoleConeValve, drivers.AccessRead))}, physics.BackPressureFromSetpoint, physics.FiltratePumpFloats},
		{"pump command writable", []drivers.DeviceConfig{modbusDev(point(physics.RoleFiltratePumpCmd, drivers.AccessReadWrite))}, physics.BackPressureFromSetpoint, physics.FiltratePumpCommanded},
		{"pump command read back only", []drivers.DeviceConfig{modbusDev(point(physics.RoleFiltratePumpCmd, drivers.AccessRead))}, physics.BackPressureFromSetpoint, physics.FiltratePumpFloats},
		{"both on OPC UA", []drivers.DeviceConfig{opcDev(physics.RoleConeValve), {Name: "o2", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://127.0.0.1:4841", Simulated: true,
			Points: []drivers.PointConfig{{Tag: "z", Role: physics.RoleFiltratePumpCmd, Node: "ns=2;s=Z", Type: drivers.TypeBool, Access: drivers.AccessReadWrite}}}}, physics.BackPressureFromValve, physics.FiltratePumpCommanded},
		{"the wire test's device list", controlledDevices(), physics.BackPressureFromValve, physics.FiltratePumpCommanded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Options{Devices: tc.devices})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			if got := r.BackPressureControl(); got != tc.bp {
				t.Errorf("back-pressure control %v, want %v", got, tc.bp)
			}
			if got := r.FiltratePumpControl(); got != tc.pump {
				t.Errorf("filtrate pump control %v, want %v", got, tc.pump)
			}
		})
	}
}

// TestControlModesOnTheWire drives the cone valve and the filtrate pump
// over Modbus TCP on loopback and watches the model follow.
func TestControlModesOnTheWire(t *testing.T) {
	t.Parallel()
	r := startRig(t, controlledDevices(), 20)
	c := modbusClient(t, endpoint(t, r, "press_io"))

	st := r.controlStatus()
	if st.BackPressureControl != "cone_valve" || st.FiltratePumpControl != "commanded" {
		t.Errorf("status: back_pressure_control %q, filtrate_pump_control %q; want cone_valve, commanded", st.BackPressureControl, st.FiltratePumpControl)
	}
	srv := httptest.NewServer(r.ControlHandler())
	t.Cleanup(srv.Close)
	if st, err := NewControlClient(srv.URL).Status(context.Background()); err != nil || st.BackPressureControl != "cone_valve" || st.FiltratePumpControl != "commanded" {
		t.Errorf("status over the control API: %+v, %v", st, err)
	}

	// The set-point is ignored: the valve alone moves the back-pressure.
	// With the screw stopped it holds 70 % of its full-screw pressure
	// (physics: coneEmptyFactor): 40 % closed gives 0.075 × 40 × 0.7 = 2.1
	// bar.
	if err := c.WriteRegister(2, 600); err != nil { // back_pressure_sp 6 bar
		t.Fatalf("write back_pressure_sp: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // 4 s of plant time
	if bp := holding(t, c, 1); bp > 1 {
		t.Errorf("back-pressure %g bar with the valve open and the set-point at 6 bar, want 0", float64(bp)/100)
	}
	if err := c.WriteRegister(0, 400); err != nil { // cone_valve 40.0 %
		t.Fatalf("write cone_valve: %v", err)
	}
	if v := value(t, r, physics.RoleConeValve); v != 40 {
		t.Errorf("cone_valve in the model = %g after the write, want 40", v)
	}
	written := r.PlantTime()
	waitFor(t, 5*time.Second, "back-pressure 2.1 bar on the wire", func() (bool, string) {
		bp := float64(holding(t, c, 1)) / 100
		return math.Abs(bp-2.1) <= 0.011, fmt.Sprintf("%g bar", bp)
	})
	t.Logf("cone valve 40 %%: %.2f bar on the wire %v of plant time after the write", float64(holding(t, c, 1))/100, r.PlantTime().Sub(written))

	// The pump follows its command after the start delay. The tank is
	// empty, so it runs dry, and the dry-run time shows it.
	if on, err := c.ReadDiscreteInput(0); err != nil || on {
		t.Fatalf("pump_running = %v, %v before any command; want false", on, err)
	}
	if err := c.WriteCoil(0, true); err != nil {
		t.Fatalf("write pump_cmd: %v", err)
	}
	waitFor(t, 5*time.Second, "pump_running on the wire", func() (bool, string) {
		on, err := c.ReadDiscreteInput(0)
		return err == nil && on, fmt.Sprintf("%v, err %v", on, err)
	})
	waitFor(t, 5*time.Second, "dry-run time above 2 s", func() (bool, string) {
		d := value(t, r, "filtrate.pump_dry_run_s")
		return d > 2, fmt.Sprintf("%g s", d)
	})
	if err := c.WriteCoil(0, false); err != nil {
		t.Fatalf("write pump_cmd: %v", err)
	}
	waitFor(t, 5*time.Second, "pump stopped on the wire", func() (bool, string) {
		on, err := c.ReadDiscreteInput(0)
		return err == nil && !on, fmt.Sprintf("%v, err %v", on, err)
	})

	// The reject bin's load cell: an empty bin reads noise only, and a
	// sensor fault shows on the wire.
	if w, err := c.ReadFloat32(0, modbus.INPUT_REGISTER); err != nil || math.Abs(float64(w)) > 2 {
		t.Errorf("empty reject bin weighs %g kg (%v), want load-cell noise only", w, err)
	}
	f := inject(t, r, FaultSpec{Kind: FaultSensorStuck, Target: "rejects.weight", Value: ptr(55.5)})
	if w, err := c.ReadFloat32(0, modbus.INPUT_REGISTER); err != nil || w != 55.5 {
		t.Errorf("stuck rejects.weight reads %g (%v) on the wire, want 55.5", w, err)
	}
	clear(t, r, f)
}

func ptr[T any](v T) *T { return &v }
