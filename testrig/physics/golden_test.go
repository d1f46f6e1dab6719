//go:build amd64

package physics

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// goldenScenarios drive the default layout through jams, modes, faults and
// sensor faults. Their traces (every role, every 5 s of plant time) were
// recorded before the model became a graph of unit models; the hashes in
// testdata/golden.txt pin the default layout's arithmetic and random-draw
// order bit for bit. The check runs on amd64 only: other architectures may
// fuse multiply-adds and round differently.
var goldenScenarios = map[string]func(t testing.TB, l *Line, tick func(time.Duration)){
	"catering_random_jams": func(t testing.TB, l *Line, tick func(time.Duration)) {
		startLine(t, l)
		jh := newJamHandler(t, l)
		mustSet(t, l, "reception.door_cmd", 1)
		for l.Elapsed() < 40*time.Minute {
			hopper := mustGet(t, l, "hopper.mass")
			switch {
			case hopper < 200:
				mustSet(t, l, "reception.door_cmd", 1)
			case hopper > 800:
				mustSet(t, l, "reception.door_cmd", 0)
			}
			jh.step(100 * time.Millisecond)
			tick(100 * time.Millisecond)
		}
	},
	"pump_valve_commanded": func(t testing.TB, l *Line, tick func(time.Duration)) {
		l.SetHardObjectRate(0)
		l.SetPressFeedControl(PressFeedPump)
		l.SetBackPressureControl(BackPressureFromValve)
		l.SetFiltratePumpControl(FiltratePumpCommanded)
		l.Tip(1500)
		startLine(t, l)
		mustSet(t, l, "press.cone_valve", 40)
		mustSet(t, l, RolePressFeedRunCmd, 1)
		mustSet(t, l, "press_feed.speed_sp", 50)
		for i := 0; l.Elapsed() < 30*time.Minute; i++ {
			if i%600 == 300 {
				mustSet(t, l, "filtrate.pump_cmd", 1)
			}
			if i%600 == 500 {
				mustSet(t, l, "filtrate.pump_cmd", 0)
			}
			l.Step(time.Second)
			tick(time.Second)
		}
	},
	"faults_and_sensors": func(t testing.TB, l *Line, tick func(time.Duration)) {
		l.Tip(2000)
		startLine(t, l)
		run := func(d time.Duration) {
			for end := l.Elapsed() + d; l.Elapsed() < end; {
				l.Step(250 * time.Millisecond)
				tick(250 * time.Millisecond)
			}
		}
		run(2 * time.Minute)
		_ = l.SetSensorFault("pulper.ds", SensorFault{Kind: SensorNoise, NoiseSD: 0.3})
		_ = l.SetSensorFault("hopper.weight", SensorFault{Kind: SensorDrift, DriftPerS: 0.5})
		l.StartJam(2)
		run(time.Minute)
		mustSet(t, l, "shredder.run_cmd", 0)
		run(4 * time.Second)
		mustSet(t, l, "shredder.reverse_cmd", 1)
		mustSet(t, l, "shredder.run_cmd", 1)
		run(5 * time.Second)
		mustSet(t, l, "shredder.run_cmd", 0)
		run(4 * time.Second)
		mustSet(t, l, "shredder.run_cmd", 1)
		run(5 * time.Second)
		mustSet(t, l, "shredder.run_cmd", 0)
		mustSet(t, l, "shredder.reverse_cmd", 0)
		run(4 * time.Second)
		mustSet(t, l, "shredder.run_cmd", 1)
		run(time.Minute)
		l.SetWaterValveStuck(12)
		l.SetFiltratePumpFailed(true)
		run(5 * time.Minute)
		l.SetWaterValveStuck(0)
		l.SetFiltratePumpFailed(false)
		_ = l.Coast(UnitPress)
		_ = l.SetOverloadTrip(UnitFeeder, true)
		_ = l.SetVFDFault(UnitShredder, true)
		run(30 * time.Second)
		_ = l.SetOverloadTrip(UnitFeeder, false)
		_ = l.SetVFDFault(UnitShredder, false)
		for _, r := range []string{"press.run_cmd", "feeder.run_cmd", "shredder.run_cmd"} {
			mustSet(t, l, r, 0)
		}
		run(2 * time.Second)
		for _, r := range []string{"press.run_cmd", "feeder.run_cmd", "shredder.run_cmd"} {
			mustSet(t, l, r, 1)
		}
		l.SetGuardOpen(true)
		run(10 * time.Second)
		l.SetGuardOpen(false)
		l.SetEStop(true)
		run(10 * time.Second)
		l.SetEStop(false)
		_ = l.SetClass(ClassBakery)
		l.ClearSensorFault("pulper.ds")
		for _, r := range []string{"press.run_cmd", "feeder.run_cmd", "shredder.run_cmd", "pulper.mixer_cmd"} {
			mustSet(t, l, r, 0)
		}
		run(2 * time.Second)
		for _, r := range []string{"press.run_cmd", "feeder.run_cmd", "shredder.run_cmd", "pulper.mixer_cmd"} {
			mustSet(t, l, r, 1)
		}
		mustSet(t, l, "reception.door_cmd", 1)
		run(3 * time.Minute)
		mustSet(t, l, "reception.door_cmd", 0)
		run(10 * time.Minute)
	},
}

// goldenTrace runs a scenario and hashes every role's value every 5 s.
func goldenTrace(t testing.TB, name string) string {
	l := New(3, ClassCatering)
	h := sha256.New()
	roles := recordedRoles(l)
	var dump *os.File
	if dir := os.Getenv("GOLDEN_DUMP"); dir != "" {
		f, err := os.Create(dir + "/" + name + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dump = f
	}
	var since time.Duration
	var buf [8]byte
	tick := func(d time.Duration) {
		since += d
		if since < 5*time.Second {
			return
		}
		since = 0
		for _, r := range roles {
			v, _ := l.Get(r)
			binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
			h.Write(buf[:])
			if dump != nil {
				fmt.Fprintf(dump, "%s %v %s %v\n", name, l.Elapsed(), r, v)
			}
		}
	}
	goldenScenarios[name](t, l, tick)
	return fmt.Sprintf("%s %x", name, h.Sum(nil))
}

// TestDefaultLayoutGolden: the default layout gives exactly the traces it
// gave before the graph model (GOLDEN_UPDATE=1 rewrites the file).
func TestDefaultLayoutGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	var got []string
	for _, name := range []string{"catering_random_jams", "faults_and_sensors", "pump_valve_commanded"} {
		got = append(got, goldenTrace(t, name))
	}
	// The role set itself is part of the golden record.
	got = append(got, "roles "+strings.Join(recordedRoles(New(1, ClassCatering)), ","))
	const file = "testdata/golden.txt"
	if os.Getenv("GOLDEN_UPDATE") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wl := strings.Split(strings.TrimSpace(string(want)), "\n")
	if len(wl) != len(got) {
		t.Fatalf("golden file has %d lines, want %d", len(wl), len(got))
	}
	for i := range got {
		if got[i] != wl[i] {
			t.Errorf("trace differs from the recorded one:\n got %s\nwant %s", got[i], wl[i])
		}
	}
}

// recordedRoles are the roles the golden record was made with: every role
// but the whole-line balance sums added after it (line.mass_*, sums of
// variables the trace already holds).
func recordedRoles(l *Line) []string {
	var out []string
	for _, r := range l.Roles() {
		if !strings.HasPrefix(r, "line.mass_") {
			out = append(out, r)
		}
	}
	return out
}
