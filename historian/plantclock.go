package historian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// PlantClockFile is the name of the persisted plant clock inside the data
// directory.
const PlantClockFile = "plant-clock"

// DefaultClockSaveInterval is how often (wall time) a started PlantClock
// saves the plant time.
const DefaultClockSaveInterval = time.Second

// clockSaveSlack is the wall time, beyond the save interval, that the margin
// after an unclean stop allows for a late save (a slow fsync, a busy
// machine).
const clockSaveSlack = time.Second

// cleanMargin is the step past the time saved by Close: nothing was stamped
// after it, the step only keeps the next start's times distinct.
const cleanMargin = time.Millisecond

// plantClockState is the content of the plant clock file (JSON).
type plantClockState struct {
	// PlantTime is the plant time when the file was saved (RFC 3339 with
	// nanoseconds).
	PlantTime time.Time `json:"plant_time"`
	// Speed and SaveIntervalMS are the saving process's speed and save
	// interval: they bound how much plant time can have passed after the
	// save if that process was killed.
	Speed          float64 `json:"speed,omitempty"`
	SaveIntervalMS int64   `json:"save_interval_ms,omitempty"`
	// SavedAt is the wall time of the save (for people reading the file).
	SavedAt time.Time `json:"saved_at,omitzero"`
	// Clean is set by Close: the process stopped using the clock, so no
	// plant time passed after PlantTime.
	Clean bool `json:"clean,omitempty"`
}

// PlantClock is the plant clock of a data directory, persisted so that plant
// time never runs backwards across a restart, at any speed: batch records,
// events and samples of a new run always come after those of the last one.
//
// OpenPlantClock reads the last saved plant time P from DIR/plant-clock and
// starts plant time at max(wall now, P + margin), running at the given
// speed. After a clean stop (Close) the margin is a millisecond; after a
// kill or power loss it covers the plant time the dead process can have
// run after its last save: (its save interval + 1 s) × its speed. At speed
// 1 with no saved time ahead of the wall clock the PlantClock is the wall
// clock itself; when the wall clock is behind (stepped back, or a restart
// quicker than the margin), plant time goes on from P + margin at speed 1.
//
// Start saves the plant time at once and then every second of wall time
// on its own goroutine (write to a temporary file, fsync, rename; mode
// 0600); Close saves it a last time. Now and Speed never do I/O: the scan
// may call them, and nothing on the scan's path writes the file.
//
// A missing file starts plant time from the wall clock. An unreadable or
// corrupt file is an error naming the file: starting from the wall clock
// instead could put new records before old ones, so a person decides
// (remove the file, or write {"plant_time": "<RFC 3339 time>"} in it).
type PlantClock struct {
	path     string
	clock    drivers.Clock // immutable after open
	interval time.Duration
	log      *slog.Logger

	mu        sync.Mutex // guards the fields below and serializes saves
	started   bool
	closed    bool
	stop      chan struct{}
	done      chan struct{}
	failing   bool // the last save failed (logged once per episode)
	saveFails int
}

// OpenPlantClock opens the plant clock of the data directory dir at speed
// (plant seconds per wall second, > 0). It reads the file and makes no
// writes; call Start once the data directory is known to be this
// process's (e.g. after historian.Open took its lock), and Close after
// everything that stamps plant time into the directory has stopped.
func OpenPlantClock(dir string, speed float64, log *slog.Logger) (*PlantClock, error) {
	return openPlantClock(dir, speed, log, DefaultClockSaveInterval)
}

func openPlantClock(dir string, speed float64, log *slog.Logger, interval time.Duration) (*PlantClock, error) {
	if dir == "" {
		return nil, errors.New("plant clock: data directory is empty")
	}
	if !(speed > 0) || math.IsInf(speed, 0) {
		return nil, fmt.Errorf("plant clock: speed %v must be > 0", speed)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "plant-clock")
	c := &PlantClock{path: filepath.Join(dir, PlantClockFile), interval: interval, log: log}
	st, found, err := readPlantClock(c.path)
	if err != nil {
		return nil, err
	}
	wall := time.Now()
	if !found {
		log.Info("no saved plant time: plant time starts from the wall clock", "file", c.path, "speed", speed)
		c.clock = newClockFrom(wall, wall, speed)
		return c, nil
	}
	origin := st.PlantTime.Add(st.margin(speed))
	switch {
	case origin.After(wall):
		if speed == 1 {
			lvl := slog.LevelInfo
			if wall.Before(st.PlantTime) {
				lvl = slog.LevelWarn // the wall clock stepped back
			}
			log.Log(context.Background(), lvl, "wall clock is behind the saved plant time: plant time goes on from it at speed 1",
				"file", c.path, "saved", st.PlantTime, "plant_start", origin, "ahead", origin.Sub(wall))
		} else {
			log.Info("plant time goes on from the saved plant time", "file", c.path, "saved", st.PlantTime, "plant_start", origin, "speed", speed)
		}
	default:
		origin = wall
	}
	c.clock = newClockFrom(origin, wall, speed)
	return c, nil
}

// newClockFrom is the wall clock when plant time is wall time at speed 1,
// else a scaled clock starting at origin.
func newClockFrom(origin, wall time.Time, speed float64) drivers.Clock {
	if speed == 1 && origin.Equal(wall) {
		return drivers.WallClock
	}
	return drivers.NewScaledClock(origin, speed)
}

// margin is how far past the saved plant time a new run starts.
func (s plantClockState) margin(speed float64) time.Duration {
	if s.Clean {
		return cleanMargin
	}
	prevSpeed := s.Speed
	if !(prevSpeed > 0) || math.IsInf(prevSpeed, 0) {
		prevSpeed = max(speed, 1) // not recorded: assume no slower than now
	}
	iv := time.Duration(s.SaveIntervalMS) * time.Millisecond
	if iv <= 0 {
		iv = DefaultClockSaveInterval
	}
	return time.Duration(float64(iv+clockSaveSlack) * prevSpeed)
}

// readPlantClock reads the clock file; found is false when there is none.
func readPlantClock(path string) (st plantClockState, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("plant clock %s: %w", path, err)
	}
	hint := `remove it to start plant time from the wall clock (records may then go back in time), or write {"plant_time": "<RFC 3339 time>"} in it`
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("plant clock %s is corrupt (%v); %s", path, err, hint)
	}
	if st.PlantTime.IsZero() {
		return st, false, fmt.Errorf("plant clock %s is corrupt (no plant_time); %s", path, hint)
	}
	if math.IsNaN(st.Speed) || st.Speed < 0 || st.SaveIntervalMS < 0 {
		return st, false, fmt.Errorf("plant clock %s is corrupt (speed %v, save_interval_ms %d); %s", path, st.Speed, st.SaveIntervalMS, hint)
	}
	return st, true, nil
}

// Now returns the current plant time. It does no I/O.
func (c *PlantClock) Now() time.Time { return c.clock.Now() }

// Speed returns the plant-to-wall time ratio.
func (c *PlantClock) Speed() float64 { return c.clock.Speed() }

// Path is the clock file.
func (c *PlantClock) Path() string { return c.path }

// Start saves the plant time now (returning the error if that fails) and
// then every second of wall time until ctx is done (with a last save) or
// Close. Save failures after the first are logged, once per episode, and
// retried at the next tick. Start does something only the first time.
func (c *PlantClock) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return nil
	}
	c.started = true
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	err := c.saveLocked(false)
	c.mu.Unlock()
	go c.run(ctx)
	return err
}

func (c *PlantClock) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ctx.Done():
			c.save(false)
			return
		case <-t.C:
			c.save(false)
		}
	}
}

// save saves and logs a failure (the saver goroutine's way).
func (c *PlantClock) save(clean bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.saveLocked(clean)
}

func (c *PlantClock) saveLocked(clean bool) error {
	t0 := time.Now()
	st := plantClockState{PlantTime: c.clock.Now(), Speed: c.clock.Speed(), SaveIntervalMS: c.interval.Milliseconds(), SavedAt: t0, Clean: clean}
	if st.SaveIntervalMS <= 0 {
		st.SaveIntervalMS = 1
	}
	err := writePlantClock(c.path, st)
	if err != nil {
		c.saveFails++
		if !c.failing {
			c.log.Error("saving the plant time failed; a restart after a crash may put records before older ones", "file", c.path, "err", err)
		}
		c.failing = true
		return err
	}
	if c.failing {
		c.log.Info("saving the plant time works again", "file", c.path, "failures", c.saveFails)
		c.failing = false
	}
	if d := time.Since(t0); d > clockSaveSlack/2 {
		c.log.Warn("saving the plant time was slow", "file", c.path, "took", d)
	}
	return nil
}

// writePlantClock writes st to path atomically and durably: a temporary
// file in the same directory, fsync, rename over path, fsync of the
// directory.
func writePlantClock(path string, st plantClockState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an old temporary file may have another mode
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced. Not every system
	// can sync a directory; the data is in the file either way.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Close stops the saver and saves the plant time a last time, marked clean:
// call it after everything that stamps plant time into the data directory
// has stopped. A clock that was never started writes nothing (a process
// that could not take the data directory must not overwrite the clock of
// the one that holds it). Close may be called more than once.
func (c *PlantClock) Close() error {
	c.mu.Lock()
	if c.closed || !c.started {
		c.closed = true
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveLocked(true)
}
