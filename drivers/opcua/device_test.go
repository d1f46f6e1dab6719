package opcua

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/opcua/opcuatest"
)

// testSink keeps the latest sample per tag and every sample's value and
// quality in order.
type testSink struct {
	mu      sync.Mutex
	latest  map[string]drivers.Sample
	history map[string][]drivers.Sample
	batches int
}

func newTestSink() *testSink {
	return &testSink{latest: map[string]drivers.Sample{}, history: map[string][]drivers.Sample{}}
}

func (s *testSink) Update(samples []drivers.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range samples {
		s.latest[x.Tag] = x
		s.history[x.Tag] = append(s.history[x.Tag], x)
	}
	s.batches++
}

// rate counts the batches the sink receives during window, per second.
func (s *testSink) rate(window time.Duration) float64 {
	s.mu.Lock()
	before := s.batches
	s.mu.Unlock()
	time.Sleep(window)
	s.mu.Lock()
	after := s.batches
	s.mu.Unlock()
	return float64(after-before) / window.Seconds()
}

// had reports whether tag ever had a sample of quality q.
func (s *testSink) had(tag string, q drivers.Quality) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.history[tag] {
		if x.Quality == q {
			return true
		}
	}
	return false
}

// values returns the good values of tag in order.
func (s *testSink) values(tag string) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var vs []float64
	for _, x := range s.history[tag] {
		if x.Quality == drivers.QualityGood {
			vs = append(vs, x.Value)
		}
	}
	return vs
}

func (s *testSink) get(tag string) drivers.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest[tag]
}

// all reports whether every tag has a sample of quality q.
func (s *testSink) all(q drivers.Quality, tags ...string) bool {
	for _, tag := range tags {
		if s.get(tag).Quality != q {
			return false
		}
	}
	return true
}

// is reports whether tag holds value v with quality good.
func (s *testSink) is(tag string, v float64) bool {
	x := s.get(tag)
	return x.Quality == drivers.QualityGood && math.Abs(x.Value-v) < 1e-6
}

// waitFor polls cond until it holds or the wall-clock budget is spent.
func waitFor(t *testing.T, budget time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > budget {
			t.Fatalf("%s: not reached within %v", what, budget)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// startDevice runs d until the test ends and checks that Run returns nil
// promptly on cancellation.
func startDevice(t *testing.T, d *Device, sink drivers.Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	})
}

// startServer starts srv; it is stopped after the device (cleanups run last
// registered first, and the device is started after the server). Loopback
// tests take seconds each (the gopcua server loads its node set on every
// start), so they skip under -short, saying so.
func startServer(t *testing.T, srv *opcuatest.Server) {
	t.Helper()
	if testing.Short() {
		t.Skip("loopback OPC UA server test takes seconds; skipped under -short")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
}

func point(tag, name string) drivers.PointConfig {
	return drivers.PointConfig{Tag: tag, Node: opcuatest.NodeID(name)}
}

func deviceConfig(endpoint string, points ...drivers.PointConfig) drivers.DeviceConfig {
	return drivers.DeviceConfig{
		Name:         "analyser",
		Protocol:     drivers.ProtocolOPCUA,
		Endpoint:     endpoint,
		PollInterval: 100 * time.Millisecond,
		Timeout:      time.Second,
		Points:       points,
	}
}

func nextResult(t *testing.T, results <-chan drivers.WriteResult, budget time.Duration) drivers.WriteResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(budget):
		t.Fatalf("no write result within %v", budget)
		return drivers.WriteResult{}
	}
}

func TestLoopbackSubscription(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{
		"Pulper.DS":    4.5,
		"Pulper.pH":    float32(7.25),
		"Feeder.Count": int32(42),
		"Mixer.On":     true,
		"Pulper.Level": 150.0,
	})
	startServer(t, srv)
	level := point("pulper.level", "Pulper.Level")
	level.Min, level.Max = -5, 110
	count := point("feeder.count", "Feeder.Count")
	count.Scale = 0.1
	cfg := deviceConfig(srv.Endpoint(),
		point("pulper.ds", "Pulper.DS"),
		point("pulper.ph", "Pulper.pH"),
		count,
		point("mixer.on", "Mixer.On"),
		level,
		point("missing", "Nowhere"),
	)
	plantStart := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := New(cfg, Options{Clock: drivers.NewScaledClock(plantStart, 60)})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)

	waitFor(t, 5*time.Second, "initial values", func() bool {
		return sink.is("pulper.ds", 4.5) && sink.is("pulper.ph", 7.25) && sink.is("feeder.count", 4.2) && sink.is("mixer.on", 1)
	})
	if s := sink.get("pulper.ds"); s.Time.Before(plantStart) {
		t.Errorf("sample time %v is not plant time", s.Time)
	}
	waitFor(t, 2*time.Second, "range and config errors", func() bool {
		return sink.get("pulper.level").Quality == drivers.QualityBadOutOfRange && sink.get("missing").Quality == drivers.QualityBadConfigError
	})
	if s := sink.get("pulper.level"); s.Value != 150 || s.Reason == "" {
		t.Errorf("pulper.level = %v (%q), want 150 with a reason", s.Value, s.Reason)
	}
	if s := sink.get("missing"); !strings.Contains(s.Reason, "BadNodeIDUnknown") {
		t.Errorf("missing reason = %q, want the status name", s.Reason)
	}

	for _, v := range []float64{5.5, 6.25, 3.0} {
		srv.Set("Pulper.DS", v)
		waitFor(t, 2*time.Second, "changed value", func() bool { return sink.is("pulper.ds", v) })
	}
	srv.Set("Mixer.On", false)
	waitFor(t, 2*time.Second, "bool change", func() bool { return sink.is("mixer.on", 0) })
	if h := d.Health(); !h.Connected || h.LastOK.IsZero() {
		t.Errorf("health = %+v, want connected with LastOK", h)
	}
}

func TestLoopbackWrite(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{
		"Pulper.WaterSP": 0.0,
		"Feeder.SpeedSP": int32(0),
		"Mixer.Cmd":      false,
		"Pulper.DS":      4.0,
	})
	startServer(t, srv)
	water := point("pulper.water_sp", "Pulper.WaterSP")
	water.Access = drivers.AccessReadWrite
	speed := point("feeder.speed_sp", "Feeder.SpeedSP")
	speed.Access, speed.Scale = drivers.AccessWrite, 0.1
	mixer := point("mixer.cmd", "Mixer.Cmd")
	mixer.Access = drivers.AccessWrite
	cfg := deviceConfig(srv.Endpoint(), water, speed, mixer, point("pulper.ds", "Pulper.DS"))
	results := make(chan drivers.WriteResult, 8)
	d, err := New(cfg, Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write("pulper.ds", 1); !errors.Is(err, drivers.ErrNotWritable) {
		t.Errorf("Write(pulper.ds) = %v, want ErrNotWritable", err)
	}
	if err := d.Write("nope", 1); !errors.Is(err, drivers.ErrUnknownTag) {
		t.Errorf("Write(nope) = %v, want ErrUnknownTag", err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "connected", func() bool { return sink.is("pulper.water_sp", 0) })

	cases := []struct {
		tag   string
		value float64
		node  string
		want  any // value and type the server must hold
	}{
		{"pulper.water_sp", 12.5, "Pulper.WaterSP", 12.5},
		{"feeder.speed_sp", 45.6, "Feeder.SpeedSP", int32(456)}, // type read from the node
		{"mixer.cmd", 1, "Mixer.Cmd", true},
	}
	for _, tc := range cases {
		t.Run(tc.tag, func(t *testing.T) {
			if err := d.Write(tc.tag, tc.value); err != nil {
				t.Fatal(err)
			}
			r := nextResult(t, results, 5*time.Second)
			if r.Err != nil || r.Tag != tc.tag || r.Value != tc.value {
				t.Fatalf("result = %+v, want success for %s = %v", r, tc.tag, tc.value)
			}
			if got := srv.Value(tc.node); got != tc.want {
				t.Errorf("server holds %#v, want %#v", got, tc.want)
			}
		})
	}
	waitFor(t, 2*time.Second, "written value notified back", func() bool { return sink.is("pulper.water_sp", 12.5) })
}

func TestLoopbackServerStopAndRestart(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5, "Pulper.pH": 7.0, "Pulper.WaterSP": 0.0})
	startServer(t, srv)
	sp := point("sp", "Pulper.WaterSP")
	sp.Access = drivers.AccessReadWrite
	cfg := deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS"), point("ph", "Pulper.pH"), sp)
	results := make(chan drivers.WriteResult, 8)
	d, err := New(cfg, Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	tags := []string{"ds", "ph", "sp"}
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "good before the stop", func() bool { return sink.all(drivers.QualityGood, tags...) })

	stopped := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second-time.Since(stopped), "bad:comm_failure after the stop", func() bool {
		return sink.all(drivers.QualityBadCommFailure, tags...)
	})
	t.Logf("comm failure seen %v after the stop began", time.Since(stopped))
	if s := sink.get("ds"); s.Value != 4.5 || s.Reason == "" {
		t.Errorf("ds = %v (%q), want last value 4.5 with a reason", s.Value, s.Reason)
	}
	if d.Health().Connected {
		t.Error("health says connected while the server is down")
	}
	if err := d.Write("sp", 9); err != nil {
		t.Fatal(err)
	}
	if r := nextResult(t, results, 6*time.Second); !errors.Is(r.Err, drivers.ErrNotConnected) {
		t.Errorf("write while disconnected: err = %v, want ErrNotConnected", r.Err)
	}

	srv.SetQuietly("Pulper.DS", 5.0) // changed while the client was away
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "good again after the restart", func() bool {
		return sink.all(drivers.QualityGood, tags...) && sink.is("ds", 5.0)
	})
	srv.Set("Pulper.pH", 6.5)
	waitFor(t, 2*time.Second, "notifications flow on the new subscription", func() bool { return sink.is("ph", 6.5) })
	if got := srv.Value("Pulper.WaterSP"); got != 0.0 {
		t.Errorf("stale write replayed after reconnect: server holds %v", got)
	}
}

// A change the server does not notify is found by the freshness watchdog's
// read within a few poll intervals.
func TestLoopbackWatchdogReadsQuietServer(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5})
	startServer(t, srv)
	cfg := deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS"))
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "initial value", func() bool { return sink.is("ds", 4.5) })
	srv.SetQuietly("Pulper.DS", 8.0)
	budget := (staleIntervals+2)*cfg.PollIntervalOrDefault() + time.Second
	took := waitFor(t, budget, "quiet change read by the watchdog", func() bool { return sink.is("ds", 8.0) })
	t.Logf("quiet change seen after %v", took)
}

func TestLoopbackStartsWhileServerOffline(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5})
	startServer(t, srv) // learn a port, then free it
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	d, err := New(deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "bad:comm_failure while offline", func() bool { return sink.all(drivers.QualityBadCommFailure, "ds") })
	if h := d.Health(); h.Connected || h.Failures == 0 || h.LastError == "" {
		t.Errorf("health while offline = %+v, want disconnected with failures and last error", h)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 8*time.Second, "good once the server is up", func() bool { return sink.is("ds", 4.5) })
}

func TestWriteQueueFull(t *testing.T) {
	p := point("sp", "SP")
	p.Access = drivers.AccessWrite
	d, err := New(deviceConfig("opc.tcp://127.0.0.1:1", p), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range drivers.WriteQueueSize {
		if err := d.Write("sp", float64(i)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := d.Write("sp", 1); !errors.Is(err, drivers.ErrQueueFull) {
		t.Errorf("write beyond the queue = %v, want ErrQueueFull", err)
	}
}

func TestNewValidates(t *testing.T) {
	good := point("a", "A")
	cases := []struct {
		name     string
		cfg      drivers.DeviceConfig
		wantPath string
	}{
		{"node id does not parse", deviceConfig("opc.tcp://h:4840", drivers.PointConfig{Tag: "a", Node: "ns=x;q=1"}), "points[0].node"},
		{"node id missing", deviceConfig("opc.tcp://h:4840", drivers.PointConfig{Tag: "a"}), "points[0].node"},
		{"duplicate tag", deviceConfig("opc.tcp://h:4840", good, good), "points[1].tag"},
		{"wrong scheme", deviceConfig("http://h:4840", good), "endpoint"},
		{"wrong protocol", drivers.DeviceConfig{Name: "x", Protocol: drivers.ProtocolModbusTCP, Address: "h:502",
			Points: []drivers.PointConfig{{Tag: "a", Table: drivers.TableCoil}}}, "protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{})
			if paths := configErrorPaths(err); !slices.Contains(paths, tc.wantPath) {
				t.Errorf("New = %v\nconfig error paths %q, want one at %s", err, paths, tc.wantPath)
			}
		})
	}
	if _, err := New(deviceConfig("opc.tcp://192.0.2.1:4840", good), Options{}); err != nil {
		t.Errorf("New with an unreachable server = %v, want nil (no I/O in New)", err)
	}
}

// configErrorPaths collects the paths of every *drivers.ConfigError in err's
// tree.
func configErrorPaths(err error) []string {
	var paths []string
	var walk func(error)
	walk = func(e error) {
		if ce, ok := e.(*drivers.ConfigError); ok {
			paths = append(paths, ce.Path)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return paths
}

// A server that keeps the connection open but stops answering is found by
// the freshness watchdog's read timing out; the device recovers once the
// server answers again.
func TestLoopbackHungServer(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5})
	startServer(t, srv)
	t.Cleanup(srv.Thaw) // runs before the server's Stop
	cfg := deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS"))
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "good before the hang", func() bool { return sink.is("ds", 4.5) })

	srv.Freeze()
	// The per-poll check of the server times out after the request
	// timeout: bad within one timeout plus one poll interval. The slack
	// covers scheduling on a loaded CI machine under -race.
	bound := cfg.TimeoutOrDefault() + cfg.PollIntervalOrDefault()
	took := waitFor(t, bound+500*time.Millisecond, "bad:comm_failure while hung", func() bool { return sink.all(drivers.QualityBadCommFailure, "ds") })
	t.Logf("comm failure seen %v after the server hung (bound %v): %s", took, bound, sink.get("ds").Reason)
	srv.Thaw()
	srv.Set("Pulper.DS", 5.5)
	waitFor(t, 15*time.Second, "data flows after the server answers again", func() bool { return sink.is("ds", 5.5) })
}

// A subscription that stops delivering while the session lives on is found
// by the freshness watchdog: it reads the nodes (the changed value arrives,
// good: it was just read), subscribes anew and notifications flow again,
// without a reconnect and without the points ever turning bad.
func TestLoopbackWatchdogResubscribesStalledSubscription(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5, "Pulper.pH": 7.0})
	startServer(t, srv)
	cfg := deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS"), point("ph", "Pulper.pH"))
	var logs lockedBuffer
	d, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "initial values", func() bool { return sink.is("ds", 4.5) && sink.is("ph", 7.0) })
	srv.Set("Pulper.DS", 5.0)
	waitFor(t, 2*time.Second, "a notified change", func() bool { return sink.is("ds", 5.0) })

	srv.StallSubscriptions()
	stalled := time.Now()
	srv.Set("Pulper.DS", 6.0) // not delivered: the subscription is stalled
	waitFor(t, (staleIntervals+2)*cfg.PollIntervalOrDefault()+3*time.Second, "the new value through a new subscription", func() bool {
		return sink.is("ds", 6.0)
	})
	t.Logf("stalled subscription replaced %v after the change", time.Since(stalled))
	for _, q := range []drivers.Quality{drivers.QualityUncertainStale, drivers.QualityBadCommFailure} {
		if sink.had("ds", q) || sink.had("ph", q) {
			t.Errorf("a point turned %s although the driver read it", q)
		}
	}
	if !strings.Contains(logs.String(), "resubscribing") {
		t.Errorf("no resubscription logged:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "opcua server connected"); n != 1 {
		t.Errorf("%d connections, want 1: the subscription is replaced without a reconnect\n%s", n, logs.String())
	}
	srv.Set("Pulper.pH", 6.5)
	// Sooner than the watchdog's next read: a notification.
	waitFor(t, (staleIntervals-1)*cfg.PollIntervalOrDefault(), "notifications on the new subscription", func() bool { return sink.is("ph", 6.5) })
}

// A point in mode poll is read every poll interval: a change the server
// never notifies arrives within about one interval.
func TestLoopbackPollMode(t *testing.T) {
	srv := opcuatest.NewServer(map[string]any{"Pulper.DS": 4.5, "Pulper.pH": 7.0})
	startServer(t, srv)
	polled := point("ph", "Pulper.pH")
	polled.Mode = drivers.MonitorPoll
	cfg := deviceConfig(srv.Endpoint(), point("ds", "Pulper.DS"), polled)
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "initial values", func() bool { return sink.is("ds", 4.5) && sink.is("ph", 7.0) })
	srv.SetQuietly("Pulper.pH", 8.25)
	took := waitFor(t, 3*cfg.PollIntervalOrDefault()+time.Second, "a quiet change read by the poll", func() bool { return sink.is("ph", 8.25) })
	t.Logf("quiet change to a polled node seen after %v (poll interval %v)", took, cfg.PollIntervalOrDefault())
}
