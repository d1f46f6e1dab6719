package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/goccy/go-yaml"

	"github.com/pretreat/pretreat/controller/alarm"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/hmi"
)

// The HMI benchmark measures the operator HMI the way an operator meets
// it: the 10× plant in an alarm flood of about 200 active alarms, the rig
// and the controller in a child process (the demo, headless, at 10×
// speed), and the HMI in this process on a simulation screen that
// timestamps every Show. It measures key press to redrawn screen, status
// published to status shown, and the CPU this process spends at steady
// state. PRETREAT_BENCH=1 runs the full benchmark (TestHMIBench) and
// prints a table; TestHMIBenchSanity runs a short version always (unless
// -short) so that the code path stays alive.

// floodAlarms is how many generated alarms the flood plant adds.
const floodAlarms = 200

// hmiBenchSpeed is the plant-time speed of the benchmark's plant.
const hmiBenchSpeed = 10

// writeFloodPlant writes the 10× plant with floodAlarms generated alarms
// to dir and returns its path. Each generated alarm is a high alarm with a
// limit of -1000 on a copy's tag: every value the rig serves is above it,
// so all of them are active (and unacknowledged) as soon as the devices
// answer, and stay so.
func writeFloodPlant(t testing.TB, dir string) string {
	t.Helper()
	cfg, err := scaledPlant(10)
	if err != nil {
		t.Fatal(err)
	}
	nBase := len(cfg.Devices) / 10
	var tags []string
	for i := nBase; i < len(cfg.Devices); i++ {
		// A copy is watched, not driven: it gets no watchdog (which would
		// name the original's points), and the watchdog's own points,
		// which only a watchdog simulates, are left out.
		d := &cfg.Devices[i]
		if wd := d.Watchdog; wd != nil {
			d.Points = slices.DeleteFunc(slices.Clone(d.Points), func(p drivers.PointConfig) bool {
				return p.Role == wd.Tag || p.Role == wd.Fault || p.Role == wd.Reset
			})
			d.Watchdog = nil
		}
	}
	// Round-robin over the copies so the flood spreads over every device.
	for j := 0; len(tags) < floodAlarms; j++ {
		added := false
		for i := nBase; i < len(cfg.Devices) && len(tags) < floodAlarms; i++ {
			if pts := cfg.Devices[i].Points; j < len(pts) {
				tags = append(tags, pts[j].Tag)
				added = true
			}
		}
		if !added {
			t.Fatalf("the 10× plant has only %d copied points, want %d", len(tags), floodAlarms)
		}
	}
	prios := []alarm.Priority{alarm.PriorityCritical, alarm.PriorityHigh, alarm.PriorityMedium, alarm.PriorityLow}
	for i, tag := range tags {
		cfg.Alarms = append(cfg.Alarms, alarm.Definition{
			Name: fmt.Sprintf("flood_%03d", i+1), Tag: tag, Kind: alarm.KindHigh, Limit: -1000,
			Priority: prios[i%len(prios)], Message: fmt.Sprintf("Flood test alarm on %s (always active)", tag),
		})
	}
	src, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "flood-plant.yaml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := plant.Load(path); err != nil {
		t.Fatalf("the flood plant does not load: %v", err)
	}
	return path
}

// floodLine is the demo (rig and controller in one child process) on the
// flood plant, and the URL the HMI uses.
type floodLine struct {
	ctlURL   string // the controller's API
	alarms   int    // active alarms when ready
	streamed bool   // the controller serves GET /api/v1/stream
}

var demoURL = regexp.MustCompile(`controller API\s+(http://\S+)/api/v1/status`)

func startFloodLine(t *testing.T) *floodLine {
	t.Helper()
	dir := t.TempDir()
	plantFile := writeFloodPlant(t, dir)
	cmd := startChild(t, "demo.log", "demo", "--headless", "--config", plantFile, "--speed", fmt.Sprint(hmiBenchSpeed),
		"--data", filepath.Join(dir, "data"), "--deliveries=false", "--jams", "injected", "--seed", "3")
	logFile := cmd.Stdout.(*os.File).Name()
	l := &floodLine{}
	deadline := time.Now().Add(60 * time.Second)
	for l.ctlURL == "" {
		b, _ := os.ReadFile(logFile)
		if m := demoURL.FindSubmatch(b); m != nil {
			l.ctlURL = string(m[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no API URL:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := api.NewClient(l.ctlURL)
	waitAPI(t, c)
	// The flood: wait until the generated alarms are all active.
	deadline = time.Now().Add(90 * time.Second)
	for {
		st, err := c.Status(t.Context())
		if err == nil {
			l.alarms = 0
			for _, a := range st.Alarms {
				if a.State != "normal" && a.State != "" {
					l.alarms++
				}
			}
			if l.alarms >= floodAlarms {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d alarms active after 90 s (err %v)", l.alarms, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := c.Stream(ctx, func(*api.Status) { cancel() })
	l.streamed = !errors.Is(err, api.ErrStreamUnsupported)
	return l
}

// benchScreen is a tcell simulation screen that timestamps every Show.
// A measurement arms it with a condition; the first Show after which the
// screen's content satisfies it delivers that Show's time. It also
// follows the header's plant clock, for the status-to-screen latency.
type benchScreen struct {
	tcell.SimulationScreen
	width, height int

	mu     sync.Mutex
	shows  int
	cond   func(f *frame) bool
	hit    chan time.Time
	clocks []clockSeen // header plant clock at each change, when following
	follow bool
	last   *frame // the last frame, when keep is set
	keep   bool
}

type clockSeen struct {
	text string
	at   time.Time
}

// frame is one shown screen: its text and, per row, whether most of the
// row is in reverse video (a selection bar).
type frame struct {
	lines    []string
	reversed []bool
}

func newBenchScreen(w, h int) *benchScreen {
	return &benchScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), width: w, height: h, keep: true}
}

func (s *benchScreen) Init() error {
	if err := s.SimulationScreen.Init(); err != nil {
		return err
	}
	s.SetSize(s.width, s.height)
	return nil
}

func (s *benchScreen) Show() {
	s.SimulationScreen.Show()
	s.shown(time.Now())
}

func (s *benchScreen) Sync() {
	s.SimulationScreen.Sync()
	s.shown(time.Now())
}

var plantClock = regexp.MustCompile(`plant ((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d)`)

// shown runs on the drawing goroutine right after a Show.
func (s *benchScreen) shown(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shows++
	if s.cond == nil && !s.follow && !s.keep {
		return // measuring CPU: nothing but the count
	}
	f := s.capture()
	if s.keep {
		s.last = f
	}
	if s.follow && len(f.lines) > 0 {
		text := "" // the clock is not on screen (cut off at 80 columns)
		if m := plantClock.FindStringSubmatch(f.lines[0]); m != nil {
			text = m[1]
		}
		if n := len(s.clocks); n == 0 || s.clocks[n-1].text != text {
			s.clocks = append(s.clocks, clockSeen{text, at})
		}
	}
	if s.cond != nil && s.cond(f) {
		s.cond = nil
		s.hit <- at
	}
}

// capture reads the simulation's cells; on the drawing goroutine only.
func (s *benchScreen) capture() *frame {
	cells, w, h := s.GetContents()
	f := &frame{lines: make([]string, h), reversed: make([]bool, h)}
	buf := make([]rune, w)
	for y := 0; y < h; y++ {
		rev := 0
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			buf[x] = ' '
			if len(c.Runes) > 0 {
				buf[x] = c.Runes[0]
			}
			if _, _, attr := c.Style.Decompose(); attr&tcell.AttrReverse != 0 {
				rev++
			}
		}
		f.lines[y] = string(buf)
		f.reversed[y] = rev > w/2
	}
	return f
}

// arm sets the condition the next Shows are checked against.
func (s *benchScreen) arm(cond func(*frame) bool) <-chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	s.cond, s.hit = cond, ch
	s.mu.Unlock()
	return ch
}

func (s *benchScreen) disarm() {
	s.mu.Lock()
	s.cond = nil
	s.mu.Unlock()
}

func (s *benchScreen) lastFrame() *frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *benchScreen) showCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shows
}

func (f *frame) String() string { return strings.Join(f.lines, "\n") }

func (f *frame) contains(text string) bool {
	return slices.ContainsFunc(f.lines, func(l string) bool { return strings.Contains(l, text) })
}

// crumb is the breadcrumb row (below the four header rows).
func (f *frame) crumb() string {
	if len(f.lines) < 5 {
		return ""
	}
	return strings.TrimSpace(f.lines[4])
}

// selection is the selection bar of the body: its row and text, or -1.
func (f *frame) selection() (int, string) {
	for y := 5; y < len(f.lines)-2; y++ {
		if f.reversed[y] {
			return y, f.lines[y]
		}
	}
	return -1, ""
}

// benchHMI is one HMI run on a bench screen.
type benchHMI struct {
	scr  *benchScreen
	stop func() error
}

func startBenchHMI(t *testing.T, base string, w, h int, noStream bool, refresh time.Duration) *benchHMI {
	t.Helper()
	scr := newBenchScreen(w, h)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- hmi.Run(ctx, hmi.Options{Client: api.NewClient(base), Screen: scr, Login: &api.Login{User: "bench"},
			Refresh: refresh, NoStream: noStream, IdleLock: -1})
	}()
	b := &benchHMI{scr: scr}
	var once sync.Once
	var err error
	b.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("hmi.Run did not return within 10 s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = b.stop() })
	// Signed in, with a status on screen.
	deadline := time.Now().Add(20 * time.Second)
	for {
		// At 80 columns the header's first line may be cut before the
		// plant clock and the user; the message line says who signed in.
		if f := scr.lastFrame(); f != nil && (f.contains("bench·") || f.contains("signed in as bench")) && strings.Contains(f.lines[0], "plant") {
			break
		} else if time.Now().After(deadline) {
			last := "(nothing shown)"
			if f != nil {
				last = f.String()
			}
			t.Fatalf("the HMI never showed a status signed in; last screen:\n%s", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return b
}

// keyStep is one key press and the change it must bring on screen.
type keyStep struct {
	name  string
	key   tcell.Key
	r     rune
	check func(before, after *frame) bool
}

// keyPlan is the cycle of keys: between the alarm summary (3) and the
// overview (1), with ↓ moving the selection in between; or, while the HMI
// has no alarm screen, between the help (?) and the overview (Esc).
func keyPlan(hasAlarms bool) []keyStep {
	onOverview := func(_, f *frame) bool {
		return strings.HasPrefix(f.crumb(), "Overview") && !strings.Contains(f.crumb(), "›")
	}
	if !hasAlarms {
		return []keyStep{
			{"? help", tcell.KeyRune, '?', func(_, f *frame) bool { return f.contains("Help: every key") }},
			{"Esc close", tcell.KeyEscape, 0, func(_, f *frame) bool { return !f.contains("Help: every key") }},
		}
	}
	onAlarms := func(_, f *frame) bool { return strings.Contains(f.crumb(), "› Alarms") }
	moved := func(before, f *frame) bool {
		by, bt := before.selection()
		ay, at := f.selection()
		return ay >= 0 && (ay != by || at != bt)
	}
	return []keyStep{
		{"3 alarms", tcell.KeyRune, '3', onAlarms},
		{"↓ select", tcell.KeyDown, 0, moved},
		{"↓ select", tcell.KeyDown, 0, moved},
		{"1 overview", tcell.KeyRune, '1', onOverview},
	}
}

// hasAlarmScreen presses 3 and sees whether an alarm summary opens; it
// returns to the overview.
func (b *benchHMI) hasAlarmScreen(t *testing.T) bool {
	ch := b.scr.arm(func(f *frame) bool {
		return strings.Contains(f.crumb(), "› Alarms") || f.contains("no screen on key 3")
	})
	b.scr.InjectKey(tcell.KeyRune, '3', tcell.ModNone)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("key 3 changed nothing on screen")
	}
	has := strings.Contains(b.scr.lastFrame().crumb(), "› Alarms")
	ch = b.scr.arm(func(f *frame) bool {
		return f.crumb() == "Overview" || strings.HasPrefix(f.crumb(), "Overview ") && !strings.Contains(f.crumb(), "›")
	})
	b.scr.InjectKey(tcell.KeyRune, '1', tcell.ModNone)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("key 1 did not bring the overview back")
	}
	return has
}

// keyResult is the key-to-screen latencies of one run, by key.
type keyResult struct {
	all    []time.Duration
	byName map[string][]time.Duration
	missed int // keys whose change never showed within 5 s
}

// measureKeys presses n keys of the plan, each after the previous one's
// change has shown and a pause, and times InjectKey to the first Show
// with the change.
func (b *benchHMI) measureKeys(t *testing.T, plan []keyStep, n int, pause time.Duration) keyResult {
	res := keyResult{byName: map[string][]time.Duration{}}
	for i := 0; i < n; i++ {
		st := plan[i%len(plan)]
		before := b.scr.lastFrame()
		ch := b.scr.arm(func(f *frame) bool { return st.check(before, f) })
		t0 := time.Now()
		b.scr.InjectKey(st.key, st.r, tcell.ModNone)
		select {
		case at := <-ch:
			d := at.Sub(t0)
			res.all = append(res.all, d)
			res.byName[st.name] = append(res.byName[st.name], d)
		case <-time.After(5 * time.Second):
			b.scr.disarm()
			res.missed++
			t.Errorf("key %d (%s): the screen never showed its change within 5 s; last screen:\n%s", i, st.name, b.scr.lastFrame())
		}
		time.Sleep(pause)
	}
	return res
}

// eventResult is the status-to-screen latencies of one run.
type eventResult struct {
	lat      []time.Duration
	statuses int    // new plant clocks the reference saw while following
	shown    int    // plant clock changes on screen while following
	shared   int    // statuses whose clock text an earlier status had (not counted)
	negative int    // on screen before the reference saw them (polled reference), counted as 0
	via      string // how the reference reader got the statuses
	noClock  bool   // the screen shows no plant clock to follow
	hidden   int    // statuses left out: the clock was cut off the header meanwhile
}

// measureEvents follows the header's plant clock while a reference reader
// in this process timestamps the arrival of each status (from the stream
// when the controller has one, else by polling every 10 ms). A status is
// an event; it is on screen at the first Show whose plant clock is its own
// or a later one (a status skipped by a polling or coalescing HMI counts
// until a newer one shows). Statuses whose clock text (to the second) an
// earlier one already had are left out, since the screen cannot tell them
// apart. It follows until want clock changes have shown, or limit.
func (b *benchHMI) measureEvents(t *testing.T, ctlURL string, streamed bool, want int, limit time.Duration) eventResult {
	res := eventResult{via: "stream"}
	if f := b.scr.lastFrame(); f == nil || !plantClock.MatchString(f.lines[0]) {
		res.noClock = true
		return res
	}
	type arrival struct {
		text string
		at   time.Time
	}
	var mu sync.Mutex
	var arrivals []arrival
	var last api.Status
	following := false
	wide := b.scr.width >= 100
	note := func(st *api.Status) {
		at := time.Now()
		if st.Time.IsZero() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if st.Seq == last.Seq && st.Time.Equal(last.Time) {
			return // the same status again (a poll between two publishes)
		}
		last = *st
		if !following {
			return
		}
		text := st.Time.Format("15:04:05")
		if wide {
			text = st.Time.Format("2006-01-02 15:04:05")
		}
		if n := len(arrivals); n > 0 && arrivals[n-1].text == text {
			res.shared++
			return
		}
		arrivals = append(arrivals, arrival{text, at})
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := api.NewClient(ctlURL)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if streamed {
			_ = c.Stream(ctx, note)
			return
		}
		for ctx.Err() == nil {
			if st, err := c.Status(ctx); err == nil {
				note(st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if !streamed {
		res.via = "polling every 10 ms"
	}
	time.Sleep(500 * time.Millisecond) // the reference reader runs first
	b.scr.mu.Lock()
	b.scr.follow, b.scr.clocks = true, nil
	b.scr.mu.Unlock()
	mu.Lock()
	following = true
	mu.Unlock()
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		time.Sleep(250 * time.Millisecond)
		b.scr.mu.Lock()
		n := len(b.scr.clocks)
		b.scr.mu.Unlock()
		if n > want {
			break
		}
	}
	mu.Lock()
	following = false
	mu.Unlock()
	b.scr.mu.Lock()
	b.scr.follow = false
	clocks := b.scr.clocks
	b.scr.mu.Unlock()
	cancel()
	wg.Wait()
	res.statuses = len(arrivals)
	for _, c := range clocks {
		if c.text != "" {
			res.shown++
		}
	}
	// Both lists are in time order and their texts grow with plant time
	// (the same format sorts as it reads).
	j := 0
	for _, a := range arrivals {
		hidden := false
		for j < len(clocks) && clocks[j].text < a.text {
			hidden = hidden || clocks[j].text == "" && clocks[j].at.After(a.at)
			j++
		}
		if j == len(clocks) {
			break // not on screen before following ended
		}
		if hidden {
			res.hidden++ // the clock was off screen meanwhile: no figure
			continue
		}
		d := clocks[j].at.Sub(a.at)
		if d < 0 {
			res.negative++
			d = 0
		}
		res.lat = append(res.lat, d)
	}
	return res
}

// cpuResult is the CPU this process spent over a window.
type cpuResult struct {
	wall, cpu time.Duration
	shows     int
	keys      int
}

func (r cpuResult) pct() float64 { return 100 * r.cpu.Seconds() / r.wall.Seconds() }

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU takes the user+system CPU time of this whole process over
// d, with a key every keyEvery (0: none) alternating between two screens.
// The screen records nothing meanwhile but counts its Shows.
func (b *benchHMI) measureCPU(d, keyEvery time.Duration, plan []keyStep) cpuResult {
	b.scr.mu.Lock()
	b.scr.keep, b.scr.cond, b.scr.follow = false, nil, false
	b.scr.mu.Unlock()
	defer func() {
		b.scr.mu.Lock()
		b.scr.keep = true
		b.scr.mu.Unlock()
	}()
	var res cpuResult
	shows0 := b.scr.showCount()
	cpu0, t0 := rusageCPU(), time.Now()
	if keyEvery > 0 {
		tick := time.NewTicker(keyEvery)
		for time.Since(t0) < d {
			<-tick.C
			st := plan[res.keys%len(plan)]
			b.scr.InjectKey(st.key, st.r, tcell.ModNone)
			res.keys++
		}
		tick.Stop()
	} else {
		time.Sleep(d)
	}
	res.cpu, res.wall = rusageCPU()-cpu0, time.Since(t0)
	res.shows = b.scr.showCount() - shows0
	return res
}

// cpuKeyPlan alternates two screens without ↓ (no frame is read).
func cpuKeyPlan(hasAlarms bool) []keyStep {
	if hasAlarms {
		return []keyStep{{name: "3", key: tcell.KeyRune, r: '3'}, {name: "1", key: tcell.KeyRune, r: '1'}}
	}
	return []keyStep{{name: "?", key: tcell.KeyRune, r: '?'}, {name: "Esc", key: tcell.KeyEscape}}
}

// percentile is the q-quantile (nearest rank) of sorted ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*q+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// summary is "p50/p99/max (n)" in milliseconds.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%s / %s / %s ms (n=%d)", ms(percentile(s, 0.5)), ms(percentile(s, 0.99)), ms(s[len(s)-1]), len(s))
}

// TestHMIBenchSanity is the always-run short version of the benchmark:
// 20 keys on the flood plant at 160×48, each must redraw its change, and
// the HMI must end cleanly.
func TestHMIBenchSanity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo on the 10× flood plant in a child process; skipped with -short")
	}
	line := startFloodLine(t)
	b := startBenchHMI(t, line.ctlURL, 160, 48, false, 0)
	plan := keyPlan(b.hasAlarmScreen(t))
	res := b.measureKeys(t, plan, 20, 20*time.Millisecond)
	if res.missed > 0 || len(res.all) != 20 {
		t.Fatalf("%d of 20 keys redrew their change", len(res.all))
	}
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("20 keys, %d alarms active, key → screen p50/p99/max %s", line.alarms, summary(res.all))
}

// hmiBenchConfig is one column of the benchmark's table.
type hmiBenchConfig struct {
	name     string
	w, h     int
	noStream bool
	refresh  time.Duration
}

// TestHMIBench is the HMI benchmark (PRETREAT_BENCH=1): for each
// configuration, N keys, the status-to-screen latency over at least 100
// statuses, and the CPU of this process at steady state without keys and
// with one key per second. PRETREAT_BENCH_KEYS and PRETREAT_BENCH_CPU
// change N (200) and the CPU window (30s); PRETREAT_BENCH_ONLY=polling
// (or stream, or 80×24) runs the configurations whose name has it.
func TestHMIBench(t *testing.T) {
	if os.Getenv("PRETREAT_BENCH") == "" {
		t.Skip("set PRETREAT_BENCH=1 to run the HMI benchmark")
	}
	nKeys := 200
	if v := os.Getenv("PRETREAT_BENCH_KEYS"); v != "" {
		fmt.Sscan(v, &nKeys)
	}
	cpuWin := 30 * time.Second
	if v := os.Getenv("PRETREAT_BENCH_CPU"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			cpuWin = d
		}
	}
	line := startFloodLine(t)
	configs := []hmiBenchConfig{
		{"160×48 stream", 160, 48, false, 0},
		{"160×48 polling 500ms", 160, 48, true, 500 * time.Millisecond},
		{"80×24 stream", 80, 24, false, 0},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "HMI benchmark: 10× plant, %d alarms active, plant at %dx, controller and rig in a child process; controller stream: %v\n",
		line.alarms, hmiBenchSpeed, line.streamed)
	only := os.Getenv("PRETREAT_BENCH_ONLY") // a configuration's name, to profile it alone
	for _, cf := range configs {
		if only != "" && !strings.Contains(cf.name, only) {
			continue
		}
		b := startBenchHMI(t, line.ctlURL, cf.w, cf.h, cf.noStream, cf.refresh)
		has := b.hasAlarmScreen(t)
		time.Sleep(2 * time.Second) // past the sign-in and the sparklines' backfill
		feed := "?"
		if f := b.scr.lastFrame(); f != nil {
			switch {
			case strings.Contains(f.lines[3], "stream"):
				feed = "stream"
			case strings.Contains(f.lines[3], "polling"):
				feed = "polling"
			}
		}
		keys := b.measureKeys(t, keyPlan(has), nKeys, 30*time.Millisecond)
		ev := b.measureEvents(t, line.ctlURL, line.streamed, 120, 90*time.Second)
		idle := b.measureCPU(cpuWin, 0, nil)
		busy := b.measureCPU(cpuWin, time.Second, cpuKeyPlan(has))
		if err := b.stop(); err != nil {
			t.Error(err)
		}
		mark := out.Len()
		fmt.Fprintf(&out, "\n== %s (HMI fed by %s; keys cycle %s)\n", cf.name, feed, planNames(keyPlan(has)))
		fmt.Fprintf(&out, "  %-34s %s\n", "key → screen p50/p99/max, all", summary(keys.all))
		for _, st := range keyPlan(has) {
			if ds, ok := keys.byName[st.name]; ok {
				fmt.Fprintf(&out, "  %-34s %s\n", "  "+st.name, summary(ds))
				delete(keys.byName, st.name)
			}
		}
		if keys.missed > 0 {
			fmt.Fprintf(&out, "  keys whose change never showed: %d\n", keys.missed)
		}
		if ev.noClock {
			fmt.Fprintf(&out, "  %-34s n/a: the header's plant clock is cut off at %d columns\n", "status → screen", cf.w)
		}
		fmt.Fprintf(&out, "  %-34s %s\n", "status → screen p50/p99/max", summary(ev.lat))
		fmt.Fprintf(&out, "  %-34s reference %s: %d statuses with a new clock (%d more shared one), %d clock changes shown, %d shown before the reference saw them",
			"", ev.via, ev.statuses, ev.shared, ev.shown, ev.negative)
		if ev.hidden > 0 {
			fmt.Fprintf(&out, ", %d left out while the clock was cut off the header", ev.hidden)
		}
		fmt.Fprintln(&out)
		fmt.Fprintf(&out, "  %-34s %.2f %% of a core (%.2f s CPU in %.0f s, %d Shows)\n", "CPU steady, no keys", idle.pct(), idle.cpu.Seconds(), idle.wall.Seconds(), idle.shows)
		fmt.Fprintf(&out, "  %-34s %.2f %% of a core (%.2f s CPU in %.0f s, %d Shows, %d keys)\n", "CPU steady, 1 key/s", busy.pct(), busy.cpu.Seconds(), busy.wall.Seconds(), busy.shows, busy.keys)
		fmt.Print(out.String()[mark:])
	}
	fmt.Print("\n" + out.String())
	if p := os.Getenv("PRETREAT_BENCH_OUT"); p != "" {
		_ = os.WriteFile(p, []byte(out.String()), 0o644)
	}
}

func planNames(plan []keyStep) string {
	var names []string
	for _, s := range plan {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}
