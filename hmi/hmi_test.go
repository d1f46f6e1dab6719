package hmi

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/records"
)

// fakeController serves the controller API on loopback: the status it is
// told to serve, a fixed recipe list, and commands recorded in order.
type fakeController struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   api.Status
	failing  bool               // answer status requests with HTTP 503
	refuse   map[string]string  // command -> refusal reason
	commands []api.Command      // received, in order
	recipes  []api.RecipeInfo   // served by /api/v1/recipes
	booked   []records.Delivery // POST /api/v1/deliveries, in order
}

func newFakeController(t *testing.T, st api.Status) *fakeController {
	t.Helper()
	f := &fakeController{
		status: st,
		refuse: map[string]string{},
		recipes: []api.RecipeInfo{
			{Name: "kitchen-mix", Version: 3, WasteClass: "kitchen", Description: "canteen and household"},
			{Name: "market-veg", Version: 1, WasteClass: "market", Description: "market green waste"},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		st, failing := f.status, f.failing
		f.mu.Unlock()
		if failing {
			http.Error(w, "scan not ready", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /api/v1/recipes", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		rs := f.recipes
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, rs)
	})
	mux.HandleFunc("POST /api/v1/commands", func(w http.ResponseWriter, r *http.Request) {
		var cmd api.Command
		if err := json.NewDecoder(r.Body).Decode(&cmd); err != nil {
			writeJSON(w, http.StatusBadRequest, api.CommandResult{Error: err.Error()})
			return
		}
		f.mu.Lock()
		f.commands = append(f.commands, cmd)
		reason, refused := f.refuse[cmd.Command]
		f.mu.Unlock()
		if refused {
			writeJSON(w, http.StatusConflict, api.CommandResult{Error: reason})
			return
		}
		writeJSON(w, http.StatusOK, api.CommandResult{OK: true})
	})
	mux.HandleFunc("POST /api/v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		var d records.Delivery
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f.mu.Lock()
		f.booked = append(f.booked, d)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, d)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeController) setStatus(st api.Status) {
	f.mu.Lock()
	f.status = st
	f.mu.Unlock()
}

func (f *fakeController) setFailing(failing bool) {
	f.mu.Lock()
	f.failing = failing
	f.mu.Unlock()
}

func (f *fakeController) received() []api.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Command(nil), f.commands...)
}

// recordingScreen is a simulation screen that copies what it shows at each
// Show/Sync, under its own lock. The tests read the copy: reading the
// simulation screen's cells directly would race with tview drawing.
type recordingScreen struct {
	tcell.SimulationScreen

	width, height int // set by Init

	mu    sync.Mutex
	cells []tcell.SimCell
	w, h  int
}

// newRecordingScreen returns a 140×40 recording screen.
func newRecordingScreen(t *testing.T) *recordingScreen {
	t.Helper()
	return newRecordingScreenSize(t, 140, 40)
}

func newRecordingScreenSize(t *testing.T, width, height int) *recordingScreen {
	t.Helper()
	return &recordingScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), width: width, height: height}
}

// Init initialises the simulation at the screen's size (the simulation's
// own Init resets it to 80×25). tview calls it when it gets the screen.
func (s *recordingScreen) Init() error {
	if err := s.SimulationScreen.Init(); err != nil {
		return err
	}
	s.SetSize(s.width, s.height)
	return nil
}

func (s *recordingScreen) Show() {
	s.SimulationScreen.Show()
	s.record()
}

func (s *recordingScreen) Sync() {
	s.SimulationScreen.Sync()
	s.record()
}

func (s *recordingScreen) record() {
	cells, w, h := s.GetContents() // safe here: we are on the drawing goroutine
	s.mu.Lock()
	s.cells = append(s.cells[:0], cells...)
	s.w, s.h = w, h
	s.mu.Unlock()
}

// snapshot is one recorded screen.
type snapshot struct {
	lines  []string        // text, one string per row
	styles [][]tcell.Style // style of each rune in lines
}

func (s *recordingScreen) snapshot() snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap snapshot
	for y := 0; y < s.h; y++ {
		var line []rune
		var styles []tcell.Style
		for x := 0; x < s.w; x++ {
			c := s.cells[y*s.w+x]
			r := ' '
			if len(c.Runes) > 0 {
				r = c.Runes[0]
			}
			line = append(line, r)
			styles = append(styles, c.Style)
		}
		snap.lines = append(snap.lines, string(line))
		snap.styles = append(snap.styles, styles)
	}
	return snap
}

func (s snapshot) String() string { return strings.Join(s.lines, "\n") }

// find returns the row and rune column of the first occurrence of text.
func (s snapshot) find(text string) (row, col int, ok bool) {
	for y, l := range s.lines {
		if i := strings.Index(l, text); i >= 0 {
			return y, len([]rune(l[:i])), true
		}
	}
	return 0, 0, false
}

func (s snapshot) contains(text string) bool {
	_, _, ok := s.find(text)
	return ok
}

// fg is the foreground colour of the rune at row, col.
func (s snapshot) fg(row, col int) tcell.Color {
	fg, _, _ := s.styles[row][col].Decompose()
	return fg
}

// waitScreen waits until cond holds for the recorded screen, or fails with
// what the screen showed last.
func waitScreen(t *testing.T, s *recordingScreen, what string, cond func(snapshot) bool) snapshot {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		snap := s.snapshot()
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen never showed %s; last screen:\n%s", what, snap)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitText(t *testing.T, s *recordingScreen, text string) snapshot {
	t.Helper()
	return waitScreen(t, s, "\""+text+"\"", func(sn snapshot) bool { return sn.contains(text) })
}

// waitCommands waits until the controller has received n commands.
func waitCommands(t *testing.T, f *fakeController, n int) []api.Command {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f.received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("controller received %d commands %+v, want %d", len(got), got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// started runs Run in the background and returns a function that waits for
// its result, failing the test if that takes longer than within. At the end
// of the test, a Run still going is cancelled and waited for, so that a
// failed test leaves nothing running into the next.
func started(t *testing.T, ctx context.Context, opts Options) (wait func(within time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return func(within time.Duration) error {
		t.Helper()
		select {
		case err := <-done:
			done <- err // for the cleanup
			return err
		case <-time.After(within):
			t.Fatalf("Run did not return within %s", within)
			return nil
		}
	}
}

func key(s *recordingScreen, k tcell.Key) { s.InjectKey(k, 0, tcell.ModNone) }
func runeKey(s *recordingScreen, r rune)  { s.InjectKey(tcell.KeyRune, r, tcell.ModNone) }

var update = flag.Bool("update", false, "rewrite the golden screens in testdata")

var plantStart = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)

// runningLine is a line in the middle of a batch, with one bad and one
// uncertain value and one device down.
func runningLine(pressSpeed float64) api.Status {
	now := plantStart.Add(12*time.Minute + 33*time.Second)
	good := drivers.QualityGood
	return api.Status{
		Line:  "line-1",
		Time:  now,
		State: "Execute",
		Batch: &api.BatchStatus{
			ID: "B-0042", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen",
			Phase: "shred", Step: "feed", Start: plantStart, PhaseStart: plantStart.Add(10 * time.Minute),
			TargetKg: 2000, KgReceived: 1234.5, KgCake: 345.6, KgWater: 123.4,
		},
		LastBatch: &api.BatchStatus{
			ID: "B-0041", Recipe: "market-veg", RecipeVersion: 1, Phase: "complete",
			Start: plantStart.Add(-time.Hour), End: plantStart.Add(-15 * time.Minute),
			TargetKg: 1500, KgReceived: 1490, KgCake: 600, KgWater: 200,
		},
		Units: []api.UnitStatus{
			{Name: "press", Kind: "screw_press", State: "running", Command: true, Values: []api.TagValue{
				{Tag: "press.speed", Value: pressSpeed, Unit: "rpm", Quality: good, Time: now},
				{Tag: "press.back_pressure", Value: 3.2, Unit: "bar", Quality: drivers.QualityBadCommFailure, Time: now},
			}},
			{Name: "pulper", Kind: "pulper", State: "running", Command: true, Values: []api.TagValue{
				{Tag: "pulper.level", Value: 61.25, Unit: "%", Quality: drivers.QualityUncertainStale, Time: now},
			}},
			{Name: "shredder", Kind: "shredder", State: "fault", Reason: "overcurrent", Values: []api.TagValue{
				{Tag: "shredder.current", Value: 0, Unit: "A", Quality: good, Time: now},
			}},
			{Name: "reception", Kind: "reception", State: "stopped", Values: []api.TagValue{
				{Tag: "hopper.weight", Value: 812.4, Unit: "kg", Quality: good, Time: now},
			}},
		},
		Devices: []api.DeviceStatus{
			{Name: "press_vfd", Protocol: "modbus", Address: "127.0.0.1:5021", Connected: true},
			{Name: "analyser", Protocol: "opcua", Address: "opc.tcp://127.0.0.1:4841", LastError: "connection refused"},
		},
		Scan: api.ScanStats{PeriodMs: 100, Count: 7530, LastExecUs: 84, MaxExecUs: 412, MaxLatenessMs: 2.5, Overruns: 1},
	}
}

func TestOverviewShowsPlantAndValuesChange(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})

	snap := waitText(t, scr, "speed=31.5 rpm")
	for _, want := range []string{
		"line-1", "Execute", "plant time 2025-03-01 06:12:33", "controller " + f.srv.URL + ": connected",
		"press", "screw_press", "pulper", "shredder", "reception",
		"fault: overcurrent", "hopper.weight=812.4 kg",
		"B-0042", "kitchen-mix v3", "shred / feed", "0:12:33", "1234.5 kg of 2000.0 kg", "345.6 kg", "water 123.4 kg",
		"B-0041", "market-veg v1", "received 1490.0 kg of 1500.0 kg, cake 600.0 kg, water 200.0 kg",
		"press_vfd", "connected", "NOT CONNECTED", "connection refused",
		"period 100 ms", "last exec 84 µs", "max lateness 2.50 ms", "overruns 1",
		"start", "hold", "unhold", "confirm", "stop", "abort", "reset", "clear", "quit",
	} {
		if !snap.contains(want) {
			t.Errorf("screen lacks %q; screen:\n%s", want, snap)
		}
	}

	// Bad quality: value replaced by #### in the bad colour.
	row, col, ok := snap.find("back_pressure=####")
	if !ok {
		t.Fatalf("bad value not shown as ####; screen:\n%s", snap)
	}
	if got := snap.fg(row, col+len("back_pressure=")); got != colorBad {
		t.Errorf("bad value colour = %v, want %v", got, colorBad)
	}
	if snap.contains("3.20 bar") {
		t.Errorf("bad value's number is shown as if usable; screen:\n%s", snap)
	}
	// Uncertain quality: value with a marker in the warning colour.
	row, col, ok = snap.find("level=61.2? %")
	if !ok {
		row, col, ok = snap.find("level=61.3? %")
	}
	if !ok {
		t.Fatalf("uncertain value not marked; screen:\n%s", snap)
	}
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("uncertain value colour = %v, want %v", got, colorWarn)
	}
	// Normal values and states are not coloured.
	row, col, _ = snap.find("speed=31.5 rpm")
	if got := snap.fg(row, col); got != tcell.ColorDefault {
		t.Errorf("good value colour = %v, want default", got)
	}
	row, col, _ = snap.find("fault: overcurrent")
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("fault colour = %v, want %v", got, colorBad)
	}

	f.setStatus(runningLine(32.7))
	snap = waitText(t, scr, "speed=32.7 rpm")
	if snap.contains("speed=31.5 rpm") {
		t.Errorf("old value still shown; screen:\n%s", snap)
	}

	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v, want nil", err)
	}
}

func TestStartAbortQuit(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), User: "anna", Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "controller "+f.srv.URL+": connected")

	runeKey(scr, 's')
	waitText(t, scr, "market-veg v1  market  market green waste") // the picker, not the last batch
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter)
	got := waitCommands(t, f, 1)
	if want := (api.Command{Command: api.CommandStart, Recipe: "market-veg", Version: 1, User: "anna"}); got[0] != want {
		t.Errorf("command = %+v, want %+v", got[0], want)
	}
	waitText(t, scr, "start market-veg: accepted")

	// Esc closes the picker without sending anything.
	runeKey(scr, 's')
	waitText(t, scr, "kitchen-mix v3  kitchen")
	key(scr, tcell.KeyEscape)
	waitText(t, scr, "start cancelled")

	// a asks first; n cancels, y aborts.
	runeKey(scr, 'a')
	waitText(t, scr, "Abort batch B-0042?")
	runeKey(scr, 'n')
	waitText(t, scr, "abort cancelled")
	runeKey(scr, 'a')
	waitText(t, scr, "Abort batch B-0042?")
	runeKey(scr, 'y')
	got = waitCommands(t, f, 2)
	if want := (api.Command{Command: api.CommandAbort, User: "anna"}); got[1] != want {
		t.Errorf("command = %+v, want %+v", got[1], want)
	}
	waitText(t, scr, "abort: accepted")
	if n := len(f.received()); n != 2 {
		t.Errorf("controller received %d commands, want 2: %+v", n, f.received())
	}

	start := time.Now()
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v, want nil", err)
	}
	t.Logf("Run returned %s after q", time.Since(start))
}

// d opens the weighbridge form; a filled form books the delivery with the
// class chosen from the recipes' classes and the net weight, as the user.
func TestBookDelivery(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), User: "anna", Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "controller "+f.srv.URL+": connected")
	typeText := func(s string) {
		for _, r := range s {
			runeKey(scr, r)
		}
	}
	runeKey(scr, 'd')
	waitText(t, scr, "Book a delivery")
	waitText(t, scr, "kitchen") // the first recipe class, loaded
	typeText("WB-77")
	key(scr, tcell.KeyTab)
	typeText("Canteen Q") // q types, it does not quit
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab) // class
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter) // market
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab) // gross
	typeText("9000")
	key(scr, tcell.KeyTab)
	typeText("7250")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter) // Book
	waitText(t, scr, "delivery WB-77 booked: Canteen Q, market, 1750 kg net")
	f.mu.Lock()
	got := f.booked
	f.mu.Unlock()
	if len(got) != 1 || got[0].Ticket != "WB-77" || got[0].WasteClass != "market" || got[0].NetKg != 1750 || got[0].Operator != "anna" || got[0].EWC != "20 01 08" {
		t.Errorf("booked %+v", got)
	}
	// An incomplete form says what is missing and books nothing.
	runeKey(scr, 'd')
	waitText(t, scr, "Book a delivery")
	for range 9 {
		key(scr, tcell.KeyTab)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "Ticket and Supplier required")
	key(scr, tcell.KeyEscape)
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v", err)
	}
}

func TestRefusalShowsReason(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.refuse[api.CommandReset] = "line is in Execute; reset needs Complete or Aborted"
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "controller "+f.srv.URL+": connected")

	runeKey(scr, 'r')
	snap := waitText(t, scr, "reset refused: line is in Execute; reset needs Complete or Aborted")
	row, col, _ := snap.find("reset refused")
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("refusal colour = %v, want %v", got, colorWarn)
	}
	if got := waitCommands(t, f, 1); got[0].Command != api.CommandReset || got[0].User != DefaultUser {
		t.Errorf("command = %+v, want reset by %s", got[0], DefaultUser)
	}
	runeKey(scr, 't')
	waitText(t, scr, "stop: accepted")

	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestControllerUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more

	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(url), Screen: scr, Refresh: 20 * time.Millisecond})
	snap := waitText(t, scr, "controller "+url+": unreachable")
	row, col, _ := snap.find("controller " + url)
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("unreachable colour = %v, want %v", got, colorBad)
	}

	// Keys still work: a command fails visibly, the picker reports the error.
	runeKey(scr, 't')
	waitText(t, scr, "stop: no answer from the controller")
	runeKey(scr, 's')
	waitText(t, scr, "cannot list recipes")

	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestControllerLostAndBack(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "speed=31.5 rpm")

	f.setFailing(true)
	snap := waitText(t, scr, "controller "+f.srv.URL+": answers with an error")
	// The old values stay on screen, marked as no longer current.
	waitText(t, scr, "Batch   ? last known, not current")
	row, col, ok := snap.find("speed=31.5? rpm")
	if !ok {
		t.Fatalf("stale value not marked uncertain; screen:\n%s", snap)
	}
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("stale value colour = %v, want %v", got, colorWarn)
	}

	f.setFailing(false)
	waitText(t, scr, "controller "+f.srv.URL+": connected")
	waitText(t, scr, "speed=31.5 rpm")

	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestCtrlCQuits(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "speed=31.5 rpm")
	scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after Ctrl-C = %v, want nil", err)
	}
}

func TestContextCancelStopsRun(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	ctx, cancel := context.WithCancel(context.Background())
	wait := started(t, ctx, Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "speed=31.5 rpm")
	cancel()
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := started(t, ctx, Options{Client: api.NewClient(f.srv.URL), Screen: newRecordingScreen(t)})
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestNoClient(t *testing.T) {
	if err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("Run without a client returned nil, want an error")
	}
}

// TestNoGoroutineLeft checks that Run leaves nothing of its own running, even
// with a command in flight that the controller answers slowly.
func TestNoGoroutineLeft(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	slow := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", f.srv.Config.Handler)
	mux.HandleFunc("POST /api/v1/commands", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client going away
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(slow) // before srv.Close, which waits for the handler

	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "controller "+srv.URL+": connected")
	runeKey(scr, 't')
	waitText(t, scr, "sending stop…")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}

	waitNoGoroutines(t)
}

// waitNoGoroutines fails unless, within 2 s, no goroutine of this package,
// tview or tcell is left other than the test's own.
func waitNoGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := ownGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left behind:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ownGoroutines returns the stacks of goroutines other than the caller's that
// run code of this package, tview or tcell.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the caller
		}
		if strings.Contains(g, "pretreat/pretreat/hmi.") && !strings.Contains(g, "hmi.Test") ||
			strings.Contains(g, "rivo/tview") || strings.Contains(g, "gdamore/tcell") {
			left = append(left, g)
		}
	}
	return left
}

// TestOverviewGolden compares the whole overview, as text, with golden files
// in testdata, at a roomy size and at the smallest usual terminal; run with
// -update to accept a change on purpose.
func TestOverviewGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{140, 40}, {80, 24}} {
		name := fmt.Sprintf("%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			f := newFakeController(t, runningLine(31.5))
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
			got := waitText(t, scr, "speed=31.5 rpm").String() + "\n"
			// The port is the OS's choice; keep the golden file stable.
			port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
			got = strings.ReplaceAll(got, f.srv.URL, strings.TrimSuffix(f.srv.URL, port)+strings.Repeat("P", len(port)))

			golden := filepath.Join("testdata", "overview-"+name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("overview differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		})
	}
}

// TestTerminalFailure: when the terminal fails under it, Run returns the
// terminal's error and still leaves no goroutine behind.
func TestTerminalFailure(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 5 * time.Millisecond})
	waitText(t, scr, "speed=31.5 rpm")

	lost := errors.New("tty gone")
	if err := scr.PostEvent(tcell.NewEventError(lost)); err != nil {
		t.Fatal(err)
	}
	err := wait(time.Second)
	var evErr *tcell.EventError
	if !errors.As(err, &evErr) || evErr.Error() != lost.Error() {
		t.Fatalf("Run = %v, want the terminal's error %q", err, lost)
	}
	waitNoGoroutines(t)
}

// TestUnitsScrollSideways: on a narrow terminal the values that do not fit
// are reached with the arrow keys, the unit names staying in view.
func TestUnitsScrollSideways(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	snap := waitText(t, scr, "speed=31.5 rpm")
	if snap.contains("back_pressure=####") {
		t.Fatalf("test needs a value that does not fit; screen:\n%s", snap)
	}
	for range 4 {
		key(scr, tcell.KeyRight)
	}
	waitText(t, scr, "back_pressure=####")
	time.Sleep(100 * time.Millisecond) // several polls: an update must not undo the scroll
	snap = scr.snapshot()
	if !snap.contains("back_pressure=####") {
		t.Errorf("scroll lost after updates; screen:\n%s", snap)
	}
	if !snap.contains("press") {
		t.Errorf("unit names scrolled away; screen:\n%s", snap)
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestQuitWhileBusy quits many times while the poller is constantly handing
// updates to the screen, to catch a worker left blocked on a stopped loop.
func TestQuitWhileBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	f := newFakeController(t, runningLine(31.5))
	for i := range 10 {
		scr := newRecordingScreen(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: time.Microsecond})
		}()
		waitText(t, scr, "speed=31.5 rpm")
		if i%2 == 0 {
			runeKey(scr, 'q')
		} else {
			cancel()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: Run = %v, want nil", i, err)
			}
		case <-time.After(time.Second):
			t.Fatalf("run %d: Run did not return within 1 s", i)
		}
		cancel()
		waitNoGoroutines(t)
	}
}
