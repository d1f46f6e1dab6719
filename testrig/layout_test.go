package testrig

import (
	"strings"
	"testing"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// twoPressLayout is the sample line with a second feed pump and press.
func twoPressLayout() []physics.UnitSpec {
	return []physics.UnitSpec{
		{Name: "reception", Kind: physics.KindReception},
		{Name: "feeder", Kind: physics.KindFeeder, FedBy: []string{"reception"}},
		{Name: "shredder", Kind: physics.KindShredder, FedBy: []string{"feeder"}},
		{Name: "pulper", Kind: physics.KindPulper, FedBy: []string{"shredder"}},
		{Name: "feed_a", Kind: physics.KindPump, Suction: "pulper"},
		{Name: "feed_b", Kind: physics.KindPump, Suction: "pulper"},
		{Name: "press_a", Kind: physics.KindScrewPress, FedBy: []string{"feed_a"}},
		{Name: "press_b", Kind: physics.KindScrewPress, FedBy: []string{"feed_b"}},
		{Name: "filtrate_tank", Kind: physics.KindTank, FedBy: []string{"press_a", "press_b"}},
		{Name: "filtrate_pump", Kind: physics.KindPump, Suction: "filtrate_tank"},
	}
}

// TestUnitsLayout: Options.Units builds the model's line, whose roles are
// "<unit>.<variable>", and each press and pump takes its mode from its
// own writable points.
func TestUnitsLayout(t *testing.T) {
	t.Parallel()
	dev := drivers.DeviceConfig{Name: "d", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
		Points: []drivers.PointConfig{
			{Tag: "press_b.cone_valve", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
			{Tag: "press_a.back_pressure_sp", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
			{Tag: "feed_a.run_cmd", Table: drivers.TableCoil, Address: 0, Access: drivers.AccessReadWrite},
			{Tag: "press_b.cake_weight", Table: drivers.TableInput, Address: 0, Type: drivers.TypeFloat32},
		}}
	r, err := New(Options{Devices: []drivers.DeviceConfig{dev}, Units: twoPressLayout()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	for unit, want := range map[string]physics.BackPressureControl{"press_a": physics.BackPressureFromSetpoint, "press_b": physics.BackPressureFromValve} {
		if got, err := r.line.BackPressureControlOf(unit); err != nil || got != want {
			t.Errorf("%s: cone control %v (%v), want %v", unit, got, err, want)
		}
	}
	for unit, want := range map[string]physics.PressFeedControl{"feed_a": physics.PressFeedPump, "feed_b": physics.PressFeedDirect} {
		if got, err := r.line.PressFeedControlOf(unit); err != nil || got != want {
			t.Errorf("%s: feed control %v (%v), want %v", unit, got, err, want)
		}
	}
	if _, ok := r.Value("press.cake_ds"); ok {
		t.Error("press.cake_ds is served on a layout without a unit named press")
	}

	// The sample plant's role names on a layout that has no such unit are
	// refused like any unknown role.
	dev.Points = []drivers.PointConfig{{Tag: "press.cone_valve", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite}}
	if _, err := New(Options{Devices: []drivers.DeviceConfig{dev}, Units: twoPressLayout()}); err == nil || !strings.Contains(err.Error(), "not simulated") {
		t.Errorf("New with press.cone_valve on a two-press layout: %v; want not simulated", err)
	}
	// A layout the model cannot build is an error of New.
	bad := append(twoPressLayout(), physics.UnitSpec{Name: "x", Kind: "grinder"})
	if _, err := New(Options{Devices: []drivers.DeviceConfig{dev}, Units: bad}); err == nil || !strings.Contains(err.Error(), `kind "grinder"`) {
		t.Errorf("New with an unknown kind: %v", err)
	}
}
