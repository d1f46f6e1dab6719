package historian

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// kill stops the saver the way kill -9 does: no last save.
func (c *PlantClock) kill() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
}

func readClockFile(t *testing.T, dir string) plantClockState {
	t.Helper()
	st, found, err := readPlantClock(filepath.Join(dir, PlantClockFile))
	if err != nil || !found {
		t.Fatalf("clock file: found %v, %v", found, err)
	}
	return st
}

func TestPlantClockFirstStart(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenPlantClock(dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.clock != drivers.WallClock {
		t.Errorf("speed 1 with no saved time: clock %T, want the wall clock itself", c.clock)
	}
	if _, err := os.Stat(c.Path()); !os.IsNotExist(err) {
		t.Errorf("open wrote the file (%v); only Start may", err)
	}
	c10, err := OpenPlantClock(t.TempDir(), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := c10.Now().Sub(time.Now()); d < -time.Second || d > time.Second || c10.Speed() != 10 {
		t.Errorf("speed 10 first start: %v from the wall clock, speed %v", d, c10.Speed())
	}
	for _, bad := range []float64{0, -1} {
		if _, err := OpenPlantClock(dir, bad, nil); err == nil {
			t.Errorf("speed %v accepted", bad)
		}
	}
}

// TestPlantClockRestartsNeverGoBack restarts a clock on one directory many
// times, at 10× and 1× and switching speed, stopping it cleanly or killing
// it (no last save) after a random while, and checks that every run's
// first time is after everything the run before it handed out.
func TestPlantClockRestartsNeverGoBack(t *testing.T) {
	const interval = 20 * time.Millisecond
	for _, tc := range []struct {
		name   string
		speeds []float64
	}{
		{"10x", []float64{10}},
		{"1x", []float64{1}},
		{"switching", []float64{10, 1, 100, 1, 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var last time.Time
			for i := range 12 {
				speed := tc.speeds[i%len(tc.speeds)]
				c, err := openPlantClock(dir, speed, nil, interval)
				if err != nil {
					t.Fatal(err)
				}
				first := c.Now()
				if !first.After(last) {
					t.Fatalf("run %d at %gx starts at %v, not after the last run's %v", i, speed, first, last)
				}
				if c.Speed() != speed {
					t.Fatalf("speed %v, want %v", c.Speed(), speed)
				}
				if err := c.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				// Run a while, handing out times, and stop at some point
				// between two saves.
				until := time.Now().Add(interval*2 + time.Duration(i*7%20)*time.Millisecond)
				for time.Now().Before(until) {
					now := c.Now()
					if now.Before(first) {
						t.Fatalf("run %d went back within the run", i)
					}
					last = now
					time.Sleep(time.Millisecond)
				}
				if i%3 == 0 {
					if err := c.Close(); err != nil {
						t.Fatal(err)
					}
					if st := readClockFile(t, dir); !st.Clean || st.PlantTime.Before(last) {
						t.Fatalf("after Close: %+v, last time handed out %v", st, last)
					}
				} else {
					last = c.Now() // the last time a killed process can have used
					c.kill()
					if st := readClockFile(t, dir); st.Clean {
						t.Fatal("a killed clock's file says clean")
					}
				}
			}
		})
	}
}

func TestPlantClockKilledAtSpeedCoversUnsavedTime(t *testing.T) {
	dir := t.TempDir()
	saved := time.Now().Add(time.Hour).UTC()
	// A 100× process that saved and then ran (up to) one interval more.
	if err := writePlantClock(filepath.Join(dir, PlantClockFile), plantClockState{PlantTime: saved, Speed: 100, SaveIntervalMS: 1000}); err != nil {
		t.Fatal(err)
	}
	c, err := OpenPlantClock(dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), saved.Add(100*time.Second); got.Before(want) {
		t.Fatalf("starts at %v, before the saved time + 1 s × 100 = %v", got, want)
	}
	if c.Speed() != 1 {
		t.Fatalf("speed %v", c.Speed())
	}
}

func TestPlantClockWallBehind(t *testing.T) {
	dir := t.TempDir()
	saved := time.Now().Add(time.Hour)
	if err := writePlantClock(filepath.Join(dir, PlantClockFile), plantClockState{PlantTime: saved, Speed: 1, SaveIntervalMS: 1000, Clean: true}); err != nil {
		t.Fatal(err)
	}
	c, err := OpenPlantClock(dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := c.Now()
	if t0.Before(saved) || t0.After(saved.Add(time.Second)) {
		t.Fatalf("starts at %v, want just after the saved %v", t0, saved)
	}
	time.Sleep(50 * time.Millisecond)
	if d := c.Now().Sub(t0); d < 50*time.Millisecond || d > time.Second {
		t.Fatalf("50 ms of wall time made %v of plant time, want speed 1", d)
	}
	// The wall clock ahead of the saved time: the wall clock itself.
	if err := writePlantClock(filepath.Join(dir, PlantClockFile), plantClockState{PlantTime: time.Now().Add(-time.Hour), Speed: 1, SaveIntervalMS: 1000}); err != nil {
		t.Fatal(err)
	}
	if c, err = OpenPlantClock(dir, 1, nil); err != nil || c.clock != drivers.WallClock {
		t.Fatalf("saved time an hour back: clock %T, %v; want the wall clock", c.clock, err)
	}
}

func TestPlantClockCorruptFile(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":  "not json\n",
		"empty":    "",
		"no time":  `{"speed": 1}`,
		"bad time": `{"plant_time": "yesterday"}`,
		"speed":    `{"plant_time": "2026-01-05T06:00:00Z", "speed": -2}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, PlantClockFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenPlantClock(dir, 10, nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("err %v, want a corrupt-file error naming %s", err, path)
			}
		})
	}
	// A hand-written file with just the time is accepted.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PlantClockFile), []byte(`{"plant_time": "2099-01-05T06:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenPlantClock(dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2099, 1, 5, 6, 0, 0, 0, time.UTC); c.Now().Before(want) {
		t.Fatalf("now %v, before the hand-written %v", c.Now(), want)
	}
}

func TestPlantClockSavesPeriodicallyWithMode0600(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, PlantClockFile)
	// A leftover temporary file with a wider mode must not widen the file.
	if err := os.WriteFile(path+".tmp", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := openPlantClock(dir, 10, nil, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := readClockFile(t, dir)
	if first.Speed != 10 || first.SaveIntervalMS != 20 || first.Clean {
		t.Fatalf("first save %+v", first)
	}
	// Readers of the time from many goroutines while the saver saves (race detector).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				_ = c.Now()
			}
		})
	}
	time.Sleep(120 * time.Millisecond)
	wg.Wait()
	later := readClockFile(t, dir)
	if !later.PlantTime.After(first.PlantTime.Add(500 * time.Millisecond)) { // 120 ms × 10
		t.Fatalf("saved %v then %v: not saving every interval", first.PlantTime, later.PlantTime)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("mode %o, want 600", m)
	}
	b, _ := os.ReadFile(path)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if s, _ := raw["plant_time"].(string); s == "" {
		t.Fatalf("file %s has no plant_time", b)
	} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		t.Fatalf("plant_time %q: %v", s, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestPlantClockNeverStartedWritesNothing(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenPlantClock(dir, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Path()); !os.IsNotExist(err) {
		t.Fatalf("a clock never started wrote its file (%v)", err)
	}
}

func TestPlantClockContextDoneSaves(t *testing.T) {
	dir := t.TempDir()
	c, err := openPlantClock(dir, 10, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := readClockFile(t, dir)
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-c.done
	if st := readClockFile(t, dir); !st.PlantTime.After(first.PlantTime) || st.Clean {
		t.Fatalf("after ctx done: %+v (first %v)", st, first.PlantTime)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLastBatchSeq(t *testing.T) {
	ctx := func(seq int) json.RawMessage { return json.RawMessage(`{"phase_index":1,"seq":` + itoa(seq) + `}`) }
	for _, tc := range []struct {
		name string
		bs   []BatchRecord
		want int
	}{
		{"none", nil, 0},
		{"ids", []BatchRecord{{ID: "L1-20260105T060000-1"}, {ID: "L1-20260105T070000-12"}, {ID: "L1-20260105T080000-3"}}, 12},
		{"line with dashes", []BatchRecord{{ID: "north-line-2-20260105T060000-7"}}, 7},
		{"leading zeros", []BatchRecord{{ID: "B-20250314-003"}}, 3},
		{"context higher", []BatchRecord{{ID: "L1-20260105T060000-2", Context: ctx(9)}}, 9},
		{"no suffix", []BatchRecord{{ID: "L1-20260105T060000"}, {ID: "batch"}, {ID: "L1-"}, {ID: "L1-+4"}, {ID: "L1-99999999999999999999999"}}, 0},
		{"bad context", []BatchRecord{{ID: "L1-x-5", Context: json.RawMessage(`{`)}}, 5},
	} {
		if got := LastBatchSeq(tc.bs); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
