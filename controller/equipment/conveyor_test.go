package equipment

import (
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// mapIO is an IO over a map of role values, all of good quality.
type mapIO map[string]float64

func (m mapIO) Get(s string) Analog {
	v, ok := m[s]
	if !ok {
		return notBound
	}
	return Analog{Value: v, Quality: drivers.QualityGood}
}
func (m mapIO) Set(s string, v float64) { m[s] = v }

func newTestConveyor(t *testing.T) Unit {
	t.Helper()
	u, err := NewUnit("belt_conveyor", UnitConfig{Name: "belt", StartTimeout: 5 * time.Second, Signals: []string{"run", "running", "belt_speed", "pull_cord_ok"}})
	if err != nil || u == nil {
		t.Fatalf("NewUnit: %v, %v", u, err)
	}
	return u
}

// runBelt steps the conveyor d at 100 ms; the belt follows the run
// command after a second at speed pct (while running).
func runBelt(u Unit, io mapIO, now *time.Time, d time.Duration, pct float64) UnitOutputs {
	var out UnitOutputs
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		out = u.StepUnit(*now, io)
		io["running"] = b2f(out.Run)
		io["belt_speed"] = pct * b2f(out.Run)
		*now = now.Add(100 * time.Millisecond)
	}
	return out
}

func TestConveyorBeltSlipFaults(t *testing.T) {
	u, io := newTestConveyor(t), mapIO{"running": 0, "belt_speed": 0, "pull_cord_ok": 1}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	runBelt(u, io, &now, time.Second, 100)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	if out := runBelt(u, io, &now, 10*time.Second, 100); !out.Run || out.Faulted {
		t.Fatalf("belt at full speed: %+v (%s)", out, u.Reason())
	}
	// Slipping at 50 %: not yet after 2.5 s, faulted by 3.5 s.
	if out := runBelt(u, io, &now, 2500*time.Millisecond, 50); out.Faulted {
		t.Fatalf("faulted after 2.5 s of slip, want 3 s confirm")
	}
	out := runBelt(u, io, &now, time.Second, 50)
	if !out.Faulted || out.Run || !strings.Contains(u.Reason(), "belt slip") {
		t.Fatalf("after 3.5 s of slip: %+v, reason %q", out, u.Reason())
	}
	if err := u.Reset(); err != nil {
		t.Fatalf("reset after slip: %v", err)
	}
}

func TestConveyorPullCordStopsAndBlocksRestart(t *testing.T) {
	u, io := newTestConveyor(t), mapIO{"running": 0, "belt_speed": 0, "pull_cord_ok": 1}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	runBelt(u, io, &now, time.Second, 100)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	runBelt(u, io, &now, 3*time.Second, 100)
	io["pull_cord_ok"] = 0
	out := runBelt(u, io, &now, 100*time.Millisecond, 100)
	if out.Run || !out.Faulted || !strings.Contains(u.Reason(), "pull cord") {
		t.Fatalf("cord pulled: %+v, reason %q", out, u.Reason())
	}
	if err := u.Reset(); err == nil {
		t.Fatal("reset accepted with the cord still pulled")
	}
	io["pull_cord_ok"] = 1
	runBelt(u, io, &now, 100*time.Millisecond, 100)
	if err := u.Reset(); err != nil {
		t.Fatalf("reset with the cord reset: %v", err)
	}
	if out := runBelt(u, io, &now, 2*time.Second, 100); out.Run {
		t.Fatal("the belt restarted by itself after the reset")
	}
}
