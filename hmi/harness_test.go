package hmi

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
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

	// Sign-in: users maps a user to its password and role; empty means
	// open mode (any name signs in as engineer). logins counts attempts.
	users  map[string][2]string
	logins []api.Login

	pens     []api.Pen // served by /api/v1/trend for the tags asked
	trendQs  []url.Values
	journal  []api.JournalEntry
	journalQ []url.Values
	unitEv   map[string][]api.JournalEventRef
	batches  []records.Batch
	noStream bool // answer /api/v1/stream with 404, as an older controller

	changed chan struct{} // closed and replaced by setStatus, for the stream
}

func newFakeController(t *testing.T, st api.Status) *fakeController {
	t.Helper()
	f := &fakeController{
		status:  st,
		refuse:  map[string]string{},
		unitEv:  map[string][]api.JournalEventRef{},
		changed: make(chan struct{}),
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
	mux.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, r *http.Request) {
		var l api.Login
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.logins = append(f.logins, l)
		if len(f.users) == 0 {
			if l.User == "" {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a user name is required"})
				return
			}
			writeJSON(w, http.StatusOK, api.Session{Token: "s-" + l.User, User: l.User, Role: "engineer", Open: true})
			return
		}
		u, ok := f.users[l.User]
		if !ok || u[0] != l.Password {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong user or password"})
			return
		}
		writeJSON(w, http.StatusOK, api.Session{Token: "s-" + l.User, User: l.User, Role: u[1], IdleS: 900})
	})
	mux.HandleFunc("POST /api/v1/logout", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /api/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		no := f.noStream || f.failing
		f.mu.Unlock()
		if no {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for {
			f.mu.Lock()
			st, ch, failing := f.status, f.changed, f.failing
			f.mu.Unlock()
			if failing {
				return // the stream breaks; the HMI falls back to polling
			}
			b, _ := json.Marshal(st)
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", b); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("GET /api/v1/trend", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.trendQs = append(f.trendQs, q)
		pens := f.pens
		f.mu.Unlock()
		tr := api.Trend{Pens: []api.Pen{}}
		tr.From, _ = time.Parse(time.RFC3339Nano, q.Get("from"))
		tr.To, _ = time.Parse(time.RFC3339Nano, q.Get("to"))
		for _, tag := range strings.Split(q.Get("tag"), ",") {
			found := false
			for _, p := range pens {
				if p.Tag == tag {
					tr.Pens = append(tr.Pens, p)
					found = true
				}
			}
			if !found {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "tag " + tag + " is not known"})
				return
			}
		}
		writeJSON(w, http.StatusOK, tr)
	})
	mux.HandleFunc("GET /api/v1/alarms/journal", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.journalQ = append(f.journalQ, r.URL.Query())
		j := append([]api.JournalEntry{}, f.journal...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, j)
	})
	mux.HandleFunc("GET /api/v1/units/{name}/events", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		ev := append([]api.JournalEventRef{}, f.unitEv[r.PathValue("name")]...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, ev)
	})
	mux.HandleFunc("GET /api/v1/batches", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		bs := append([]records.Batch{}, f.batches...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, bs)
	})
	mux.HandleFunc("GET /api/v1/batches/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, b := range f.batches {
			if b.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, b)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "batch " + r.PathValue("id") + " is not recorded"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// with runs fn on the fake's fields under its lock, for tests that set
// what it serves (pens, journal, batches, users, unitEv).
func (f *fakeController) with(fn func(f *fakeController)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeController) setStatus(st api.Status) {
	f.mu.Lock()
	f.status = st
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeController) setFailing(failing bool) {
	f.mu.Lock()
	f.failing = failing
	close(f.changed)
	f.changed = make(chan struct{})
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

// signedIn are the options of an HMI on f's screen scr that signs in at
// start (open mode: as anna) and polls quickly when it cannot stream.
func signedIn(f *fakeController, scr *recordingScreen) Options {
	return Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond, Login: &api.Login{User: "anna"}}
}

// checkGolden compares the recorded screen, as text, with
// testdata/<name>.golden (the fake's port replaced by P…); -update
// rewrites the file.
func checkGolden(t *testing.T, f *fakeController, snap snapshot, name string) {
	t.Helper()
	got := snap.String() + "\n"
	if f != nil {
		port := f.srv.URL[strings.LastIndex(f.srv.URL, ":")+1:]
		got = strings.ReplaceAll(got, f.srv.URL, strings.TrimSuffix(f.srv.URL, port)+strings.Repeat("P", len(port)))
	}
	golden := filepath.Join("testdata", name+".golden")
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
		t.Errorf("screen differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// waitSettled waits until the screen shows text and then stays the same
// for 100 ms (no fetch or update still arriving), and returns it.
func waitSettled(t *testing.T, s *recordingScreen, text string) snapshot {
	t.Helper()
	snap := waitText(t, s, text)
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		next := s.snapshot()
		if next.String() == snap.String() {
			return next
		}
		snap = next
		if time.Now().After(deadline) {
			return snap
		}
	}
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
