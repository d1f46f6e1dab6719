package testrig

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// stepClock is a plant clock that moves only when the test says.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Speed() float64 { return 1 }

func (c *stepClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// replay runs a fixed script against a rig with seed: commands over
// Modbus, faults and a class change through the rig's API, each at a fixed
// plant time, and returns every role's reading and true value at the end.
func replay(t *testing.T, seed int64) map[string][2]float64 {
	t.Helper()
	clock := &stepClock{now: time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)}
	r, err := New(Options{Devices: faultDevices(t), Clock: clock, Seed: seed, Ephemeral: true, Jams: JamsRandom})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	shr, press, io := modbusClient(t, endpoint(t, r, "shredder_vfd")), modbusClient(t, endpoint(t, r, "press_vfd")), modbusClient(t, endpoint(t, r, "line_io"))
	var faults []Fault
	script := map[int]func() error{
		0: func() error { return press.WriteRegisters(0, []uint16{1, 150}) },
		1: func() error { return setConeFor3Bar(t, r, press) },
		2: func() error { return shr.WriteRegisters(0, []uint16{1, 200}) },
		3: func() error { return io.WriteRegisters(0, []uint16{800, 300}) }, // feeder 80 %, water 3 kg/s
		4: func() error { return io.WriteCoils(0, []bool{true, true, true, true}) },
		20: func() error {
			f, err := r.Inject(FaultSpec{Kind: FaultJamStorm, PerTonne: 50})
			faults = append(faults, f)
			return err
		},
		25: func() error {
			f, err := r.Inject(FaultSpec{Kind: FaultSensorNoise, Target: "hopper.weight", SD: 3})
			faults = append(faults, f)
			return err
		},
		30: func() error { return shr.WriteRegister(0, 0) },
		32: func() error { return shr.WriteRegister(6, 1) },
		33: func() error { return shr.WriteRegister(0, 1) },
		36: func() error { return shr.WriteRegisters(0, []uint16{0}) },
		38: func() error { return shr.WriteRegister(6, 0) },
		39: func() error { return shr.WriteRegister(0, 1) },
		45: func() error { _, err := r.Clear(faults[0].ID); return err },
		50: func() error { return r.SetClass("household", 0) },
		60: func() error {
			f, err := r.Inject(FaultSpec{Kind: FaultEStop})
			faults = append(faults, f)
			return err
		},
		65: func() error { _, err := r.Clear(faults[2].ID); return err },
		66: func() error { return io.WriteCoils(0, []bool{false, false}) },
		67: func() error { return io.WriteCoils(0, []bool{true, true}) },
		70: func() error { return io.WriteCoil(3, false) },
	}
	for step := range 120 {
		if f := script[step]; f != nil {
			if err := f(); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		want := clock.advance(time.Second)
		waitFor(t, 5*time.Second, fmt.Sprintf("the model to reach step %d", step), func() (bool, string) {
			got := r.PlantTime()
			return got.Equal(want), fmt.Sprintf("at %v, want %v", got, want)
		})
	}
	// The wire agrees with the model at the end.
	if w, err := io.ReadFloat32(0, modbus.INPUT_REGISTER); err != nil || float64(w) != float64(float32(value(t, r, "hopper.weight"))) {
		t.Errorf("hopper.weight on the wire %g (%v), model %g", w, err, value(t, r, "hopper.weight"))
	}
	out := map[string][2]float64{}
	for _, role := range r.Roles() {
		v, _ := r.Value(role)
		tv, _ := r.Truth(role)
		out[role] = [2]float64{v, tv}
	}
	return out
}

// TestReplayIsExact: the same seed and the same inputs at the same plant
// times give bit-identical plants, over the network and with faults, jams
// and a class change; another seed gives another plant.
func TestReplayIsExact(t *testing.T) {
	t.Parallel()
	a, b, c := replay(t, 11), replay(t, 11), replay(t, 12)
	differs := 0
	for role, va := range a {
		vb := b[role]
		for i := range va {
			if math.Float64bits(va[i]) != math.Float64bits(vb[i]) {
				t.Errorf("%s: %v and %v from the same seed and inputs", role, va, vb)
			}
		}
		if va != c[role] {
			differs++
		}
	}
	if differs == 0 {
		t.Errorf("seeds 11 and 12 gave identical plants")
	}
	if a["shredder.hard_objects"][1] == 0 || a["shredder.reversals"][1] == 0 {
		t.Errorf("no jams or reversals in the script (hard objects %v, reversals %v): the test covers less than it should", a["shredder.hard_objects"], a["shredder.reversals"])
	}
	t.Logf("%d roles identical; %d differ with another seed; %v hard objects, %v reversals", len(a), differs, a["shredder.hard_objects"][1], a["shredder.reversals"][1])
}
