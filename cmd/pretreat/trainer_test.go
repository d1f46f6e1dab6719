package main

import (
	"slices"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/hmi"
	"github.com/pretreat/pretreat/testrig"
)

// startTrainerRig starts a rig of a shipped plant on loopback with its
// control API and returns a trainer over that API.
func startTrainerRig(t *testing.T, name string) *rigTrainer {
	t.Helper()
	cfg, err := plant.Parse("<"+name+">", plant.Shipped()[name])
	if err != nil {
		t.Fatal(err)
	}
	clock := drivers.NewScaledClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), 10)
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: clock, Seed: 3, Ephemeral: true, Jams: testrig.JamsInjected})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.Stop() })
	url, stop, err := serveControl(rig, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return newRigTrainer(testrig.NewControlClient(url), cfg)
}

func kindOf(t *testing.T, ks []hmi.FaultKind, kind string) hmi.FaultKind {
	t.Helper()
	for _, k := range ks {
		if k.Kind == kind {
			return k
		}
	}
	t.Fatalf("kind %s not offered; offered: %v", kind, ks)
	return hmi.FaultKind{}
}

// TestTrainerKindsHaveTargets checks the targets the trainer offers for
// each kind on the sample plant, and that the rig accepts every one of
// them: a trainee can never pick a target the rig refuses.
func TestTrainerKindsHaveTargets(t *testing.T) {
	tr := startTrainerRig(t, "sample")
	ctx := t.Context()
	ks, err := tr.Kinds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"stop_answering": {"shredder_vfd", "press_vfd", "line_io", "analyser"},
		"exception":      {"shredder_vfd", "press_vfd", "line_io"},
		"bad_status":     {"analyser"},
		"jam_storm":      {"shredder"},
		"level_hh":       {"pulper", "filtrate"},
		"estop":          nil,
	}
	for kind, targets := range want {
		k := kindOf(t, ks, kind)
		if !slices.Equal(k.Targets, targets) {
			t.Errorf("%s: targets %v, want %v", kind, k.Targets, targets)
		}
		if k.Text == "" {
			t.Errorf("%s: no text", kind)
		}
	}
	trip := kindOf(t, ks, "overload_trip").Targets
	for _, u := range []string{"feeder", "shredder", "press", "mixer"} {
		if !slices.Contains(trip, u) {
			t.Errorf("overload_trip: targets %v lack %s", trip, u)
		}
	}
	stuck := kindOf(t, ks, "sensor_stuck").Targets
	for _, tag := range []string{"pulper.level", "shredder.current", "press.back_pressure"} {
		if !slices.Contains(stuck, tag) {
			t.Errorf("sensor_stuck: targets %v lack %s", stuck, tag)
		}
	}
	for _, tag := range stuck {
		if tag == "press.speed_sp" || tag == "shredder.run" {
			t.Errorf("sensor_stuck offers %s, a command or setpoint", tag)
		}
	}
	for _, k := range ks {
		if k.Kind == "belt_slip" || k.Kind == "pull_cord" {
			t.Errorf("%s offered on a line without a belt conveyor", k.Kind)
		}
	}
	allTargetsTaken(t, tr, ks)
}

// allTargetsTaken injects and clears every kind on every target offered:
// a trainee can never pick one the rig refuses.
func allTargetsTaken(t *testing.T, tr *rigTrainer, ks []hmi.FaultKind) {
	t.Helper()
	ctx := t.Context()
	for _, k := range ks {
		for _, target := range k.Targets {
			id, err := tr.Inject(ctx, k.Kind, target)
			if err != nil {
				t.Errorf("inject %s on %s: %v", k.Kind, target, err)
				continue
			}
			if err := tr.Clear(ctx, id); err != nil {
				t.Errorf("clear %s (%s on %s): %v", id, k.Kind, target, err)
			}
		}
	}
}

// TestTrainerTwoLaneTargets checks targets on a line with two shredders
// and a belt conveyor.
func TestTrainerTwoLaneTargets(t *testing.T) {
	tr := startTrainerRig(t, "two-lane")
	ks, err := tr.Kinds(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := kindOf(t, ks, "jam").Targets; len(got) != 2 {
		t.Errorf("jam targets %v; want the two shredders", got)
	}
	if got := kindOf(t, ks, "belt_slip").Targets; len(got) == 0 {
		t.Errorf("belt_slip: no targets on a line with a conveyor")
	}
	allTargetsTaken(t, tr, ks)
}

// TestTrainerRoundTrip injects, lists and clears faults through the rig's
// control API.
func TestTrainerRoundTrip(t *testing.T) {
	tr := startTrainerRig(t, "sample")
	ctx := t.Context()
	id, err := tr.Inject(ctx, "jam_storm", "shredder")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := tr.Inject(ctx, "estop", "")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tr.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].ID != id || fs[0].Kind != "jam_storm" || fs[0].Target != "shredder" || fs[0].Since.IsZero() ||
		fs[1].ID != id2 || fs[1].Kind != "estop" {
		t.Fatalf("active %+v; want %s jam_storm on shredder, %s estop", fs, id, id2)
	}
	if err := tr.Clear(ctx, id); err != nil {
		t.Fatal(err)
	}
	if fs, _ := tr.Active(ctx); len(fs) != 1 || fs[0].ID != id2 {
		t.Fatalf("after clearing %s: %+v", id, fs)
	}
	if err := tr.Clear(ctx, id); err == nil {
		t.Error("clearing a cleared fault: no error")
	}
	if _, err := tr.Inject(ctx, "jam", "press"); err == nil {
		t.Error("jam on the press: no error")
	}
	if err := tr.ClearAll(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, _ := tr.Active(ctx); len(fs) != 0 {
		t.Fatalf("after clear all: %+v", fs)
	}
}
