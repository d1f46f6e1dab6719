package modbus

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/modbus/modbustest"
)

// testSink keeps the latest sample per tag and every sample in order.
type testSink struct {
	mu      sync.Mutex
	latest  map[string]drivers.Sample
	samples map[string][]drivers.Sample
	batches int
}

func newTestSink() *testSink {
	return &testSink{latest: map[string]drivers.Sample{}, samples: map[string][]drivers.Sample{}}
}

func (s *testSink) Update(samples []drivers.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range samples {
		s.latest[x.Tag] = x
		s.samples[x.Tag] = append(s.samples[x.Tag], x)
	}
	s.batches++
}

// history returns every sample of tag so far.
func (s *testSink) history(tag string) []drivers.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples[tag])
}

func (s *testSink) get(tag string) (drivers.Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.latest[tag]
	return x, ok
}

// all reports whether every tag has a sample of quality q.
func (s *testSink) all(q drivers.Quality, tags ...string) bool {
	for _, tag := range tags {
		if x, ok := s.get(tag); !ok || x.Quality != q {
			return false
		}
	}
	return true
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
		case <-time.After(3 * time.Second):
			t.Errorf("Run did not return within 3s of cancel")
		}
	})
}

func startServer(t *testing.T, srv *modbustest.Server) {
	t.Helper()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
}

func deviceConfig(addr string, points ...drivers.PointConfig) drivers.DeviceConfig {
	return drivers.DeviceConfig{
		Name:         "vfd",
		Protocol:     drivers.ProtocolModbusTCP,
		ReadGap:      8,
		Address:      addr,
		UnitID:       1,
		PollInterval: 50 * time.Millisecond,
		Timeout:      300 * time.Millisecond,
		Points:       points,
	}
}

func f32(order drivers.WordOrder, v float32) []uint16 {
	p := drivers.PointConfig{Type: drivers.TypeFloat32, Order: order}
	regs, err := encodeRegisters(&p, float64(v), 0)
	if err != nil {
		// NaN is refused by the encoder; build its bits by hand.
		b := math.Float32bits(v)
		return []uint16{uint16(b >> 16), uint16(b)}
	}
	return regs
}

func TestLoopbackPollDecodesAndScales(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 1234)                                                // uint16 x0.1
	srv.SetHolding(1, 0xFFFB)                                              // int16 -5
	srv.SetHolding(2, 0x4148, 0x0000)                                      // float32 ABCD 12.5
	srv.SetHolding(4, 0x0000, 0xC050)                                      // float32 CDAB -3.25
	srv.SetHolding(6, 0x0001, 0x1170)                                      // uint32 ABCD 70000
	srv.SetHolding(8, 0xEE90, 0xFFFE)                                      // int32 CDAB -70000
	srv.SetHolding(10, 0xDEAD, 0xBEEF)                                     // unmapped gap, read along
	srv.SetHolding(12, 0x3FB9, 0x9999, 0x9999, 0x999A)                     // float64 ABCD 0.1
	srv.SetHolding(16, 7)                                                  // bool on a register
	srv.SetHolding(17, 450)                                                // above max
	srv.SetHolding(18, f32(drivers.WordOrderABCD, float32(math.NaN()))...) // NaN
	srv.SetCoil(0, true)
	srv.SetCoil(1, false)
	srv.SetDiscrete(0, true)
	srv.SetInput(0, f32(drivers.WordOrderABCD, 1500.5)...)
	srv.SetInput(2, 500) // x0.01 - 2
	startServer(t, srv)

	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "speed", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Scale: 0.1},
		drivers.PointConfig{Tag: "torque", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeInt16},
		drivers.PointConfig{Tag: "f32abcd", Table: drivers.TableHolding, Address: 2, Type: drivers.TypeFloat32, Order: drivers.WordOrderABCD},
		drivers.PointConfig{Tag: "f32cdab", Table: drivers.TableHolding, Address: 4, Type: drivers.TypeFloat32, Order: drivers.WordOrderCDAB},
		drivers.PointConfig{Tag: "u32", Table: drivers.TableHolding, Address: 6, Type: drivers.TypeUint32},
		drivers.PointConfig{Tag: "i32cdab", Table: drivers.TableHolding, Address: 8, Type: drivers.TypeInt32, Order: drivers.WordOrderCDAB},
		drivers.PointConfig{Tag: "f64", Table: drivers.TableHolding, Address: 12, Type: drivers.TypeFloat64},
		drivers.PointConfig{Tag: "regbool", Table: drivers.TableHolding, Address: 16, Type: drivers.TypeBool},
		drivers.PointConfig{Tag: "current", Table: drivers.TableHolding, Address: 17, Type: drivers.TypeUint16, Min: 0, Max: 400},
		drivers.PointConfig{Tag: "nan", Table: drivers.TableHolding, Address: 18, Type: drivers.TypeFloat32},
		drivers.PointConfig{Tag: "run_cmd", Table: drivers.TableCoil, Address: 0, Type: drivers.TypeBool},
		drivers.PointConfig{Tag: "door_cmd", Table: drivers.TableCoil, Address: 1},
		drivers.PointConfig{Tag: "running", Table: drivers.TableDiscrete, Address: 0, Type: drivers.TypeBool},
		drivers.PointConfig{Tag: "weight", Table: drivers.TableInput, Address: 0, Type: drivers.TypeFloat32, Min: -50, Max: 20000},
		drivers.PointConfig{Tag: "flow", Table: drivers.TableInput, Address: 2, Type: drivers.TypeUint16, Scale: 0.01, Offset: -2},
	)
	plantStart := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := New(cfg, Options{Clock: drivers.NewScaledClock(plantStart, 100)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(d.blocks); got != 4 {
		t.Errorf("read plan has %d blocks, want 4 (one per table)", got)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "first poll", func() bool { _, ok := sink.get("flow"); return ok })

	good := []struct {
		tag  string
		want float64
	}{
		{"speed", 123.4}, {"torque", -5}, {"f32abcd", 12.5}, {"f32cdab", -3.25}, {"u32", 70000},
		{"i32cdab", -70000}, {"f64", 0.1}, {"regbool", 1}, {"run_cmd", 1}, {"door_cmd", 0},
		{"running", 1}, {"weight", 1500.5}, {"flow", 3},
	}
	for _, g := range good {
		s, _ := sink.get(g.tag)
		if s.Quality != drivers.QualityGood || math.Abs(s.Value-g.want) > 1e-9 {
			t.Errorf("%s = %v %s (%s), want %v good", g.tag, s.Value, s.Quality, s.Reason, g.want)
		}
		if s.Time.Before(plantStart) {
			t.Errorf("%s time %v is not plant time (after %v)", g.tag, s.Time, plantStart)
		}
	}
	if s, _ := sink.get("current"); s.Quality != drivers.QualityBadOutOfRange || s.Value != 450 || s.Reason == "" {
		t.Errorf("current = %v %s (%q), want 450 bad:out_of_range with a reason", s.Value, s.Quality, s.Reason)
	}
	if s, _ := sink.get("nan"); s.Quality != drivers.QualityBadOutOfRange || math.IsNaN(s.Value) {
		t.Errorf("nan = %v %s, want a finite value with bad:out_of_range", s.Value, s.Quality)
	}
	h := d.Health()
	if !h.Connected || h.Requests == 0 || h.LastOK.IsZero() {
		t.Errorf("health = %+v, want connected with requests and LastOK", h)
	}
}

func TestLoopbackWriteWithReadBack(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(20, 0)          // uint16 x0.1 setpoint
	srv.SetHolding(21, 0)          // read-only status
	srv.SetHolding(22, 0, 0)       // float32 CDAB setpoint
	srv.SetHolding(24, 0)          // a setpoint the device ignores
	srv.SetHolding(25, 0, 0, 0, 0) // float64
	srv.SetCoil(5, false)
	srv.IgnoreWrites(24)
	startServer(t, srv)

	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "speed_sp", Table: drivers.TableHolding, Address: 20, Type: drivers.TypeUint16, Scale: 0.1, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "status", Table: drivers.TableHolding, Address: 21, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "energy_sp", Table: drivers.TableHolding, Address: 22, Type: drivers.TypeFloat32, Order: drivers.WordOrderCDAB, Access: drivers.AccessWrite},
		drivers.PointConfig{Tag: "clamped_sp", Table: drivers.TableHolding, Address: 24, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "total_sp", Table: drivers.TableHolding, Address: 25, Type: drivers.TypeFloat64, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "run_cmd", Table: drivers.TableCoil, Address: 5, Type: drivers.TypeBool, Access: drivers.AccessReadWrite},
	)
	results := make(chan drivers.WriteResult, 8)
	d, err := New(cfg, Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write("status", 1); !errors.Is(err, drivers.ErrNotWritable) {
		t.Errorf("Write(status) = %v, want ErrNotWritable", err)
	}
	if err := d.Write("nope", 1); !errors.Is(err, drivers.ErrUnknownTag) {
		t.Errorf("Write(nope) = %v, want ErrUnknownTag", err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "connected and polled", func() bool { return sink.all(drivers.QualityGood, "speed_sp") })

	result := func() drivers.WriteResult {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(3 * time.Second):
			t.Fatal("no write result within 3s")
			return drivers.WriteResult{}
		}
	}
	cases := []struct {
		tag    string
		value  float64
		record modbustest.WriteRecord
		check  func() bool
	}{
		{"speed_sp", 45.6, modbustest.WriteRecord{Table: modbustest.Holding, Addr: 20, Quantity: 1}, // FC6
			func() bool { return srv.HoldingRegs(20, 1)[0] == 456 }},
		{"energy_sp", 3.5, modbustest.WriteRecord{Table: modbustest.Holding, Addr: 22, Quantity: 2}, // FC16
			func() bool { r := srv.HoldingRegs(22, 2); return r[0] == 0x0000 && r[1] == 0x4060 }},
		{"total_sp", -2.5, modbustest.WriteRecord{Table: modbustest.Holding, Addr: 25, Quantity: 4}, // FC16
			func() bool { r := srv.HoldingRegs(25, 4); return r[0] == 0xC004 && r[3] == 0 }},
		{"run_cmd", 1, modbustest.WriteRecord{Table: modbustest.Coils, Addr: 5, Quantity: 1}, // FC5
			func() bool { return srv.Coil(5) }},
	}
	for _, tc := range cases {
		t.Run(tc.tag, func(t *testing.T) {
			before := len(srv.Writes())
			if err := d.Write(tc.tag, tc.value); err != nil {
				t.Fatalf("Write: %v", err)
			}
			r := result()
			if r.Err != nil || r.Tag != tc.tag || r.Value != tc.value || r.Time.IsZero() {
				t.Fatalf("result = %+v, want success for %s = %v", r, tc.tag, tc.value)
			}
			if !tc.check() {
				t.Errorf("device registers do not hold %v", tc.value)
			}
			w := srv.Writes()
			if len(w) != before+1 || w[len(w)-1] != tc.record {
				t.Errorf("write requests %+v, want one more: %+v", w[before:], tc.record)
			}
		})
	}
	waitFor(t, 2*time.Second, "written setpoint polled back", func() bool {
		s, _ := sink.get("speed_sp")
		return s.Quality == drivers.QualityGood && math.Abs(s.Value-45.6) < 1e-9
	})

	if err := d.Write("clamped_sp", 10); err != nil {
		t.Fatal(err)
	}
	if r := result(); !errors.Is(r.Err, drivers.ErrWriteMismatch) {
		t.Errorf("write to a register that ignores writes: err = %v, want ErrWriteMismatch", r.Err)
	}
	if !d.Health().Connected {
		t.Error("a read-back mismatch must not drop the connection")
	}
}

func TestLoopbackServerStopAndRestart(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 100, 200)
	srv.SetHolding(2, 0)
	srv.SetCoil(0, true)
	startServer(t, srv)
	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "b", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "sp", Table: drivers.TableHolding, Address: 2, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "c", Table: drivers.TableCoil, Address: 0},
	)
	results := make(chan drivers.WriteResult, 8)
	d, err := New(cfg, Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	tags := []string{"a", "b", "sp", "c"}
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "good before the stop", func() bool { return sink.all(drivers.QualityGood, tags...) })

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// The brief: bad within one timeout plus one poll interval. The slack
	// covers scheduling on a loaded CI machine under -race.
	budget := cfg.TimeoutOrDefault() + cfg.PollIntervalOrDefault() + 500*time.Millisecond
	took := waitFor(t, budget, "bad:comm_failure after the stop", func() bool { return sink.all(drivers.QualityBadCommFailure, tags...) })
	t.Logf("comm failure seen %v after the stop", took)
	if s, _ := sink.get("b"); s.Value != 200 || s.Reason == "" {
		t.Errorf("b = %v (%q), want last value 200 with a reason", s.Value, s.Reason)
	}
	if d.Health().Connected {
		t.Error("health says connected while the server is down")
	}

	// A write while disconnected fails and is not replayed after reconnect.
	if err := d.Write("sp", 7); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if !errors.Is(r.Err, drivers.ErrNotConnected) {
			t.Errorf("write while disconnected: err = %v, want ErrNotConnected", r.Err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("no result for a write while disconnected")
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 8*time.Second, "good again after the restart", func() bool { return sink.all(drivers.QualityGood, tags...) })
	time.Sleep(3 * cfg.PollIntervalOrDefault())
	if got := srv.HoldingRegs(2, 1)[0]; got != 0 || len(srv.Writes()) != 0 {
		t.Errorf("stale write replayed after reconnect: register = %d, writes = %+v", got, srv.Writes())
	}
}

func TestLoopbackExceptions(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 42)
	srv.SetHolding(50, 1)
	startServer(t, srv)
	srv.FailHolding(50, mb.ErrServerDeviceBusy)
	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "ok", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "busy", Table: drivers.TableHolding, Address: 50, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "missing", Table: drivers.TableHolding, Address: 100, Type: drivers.TypeFloat32},
		drivers.PointConfig{Tag: "missing_di", Table: drivers.TableDiscrete, Address: 3},
	)
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "first poll", func() bool { _, ok := sink.get("missing_di"); return ok })
	want := map[string]drivers.Quality{
		"ok":         drivers.QualityGood,
		"busy":       drivers.QualityUncertainLastUsable,
		"missing":    drivers.QualityBadConfigError,
		"missing_di": drivers.QualityBadConfigError,
	}
	for tag, q := range want {
		s, _ := sink.get(tag)
		if s.Quality != q {
			t.Errorf("%s quality = %s (%q), want %s", tag, s.Quality, s.Reason, q)
		}
		if q == drivers.QualityBadConfigError && !strings.Contains(s.Reason, "illegal data address") {
			t.Errorf("%s reason = %q, want it to name the illegal data address", tag, s.Reason)
		}
	}
	if !d.Health().Connected {
		t.Error("exceptions must not drop the connection")
	}
	srv.FailHolding(50, nil)
	waitFor(t, 2*time.Second, "busy point good once the device answers", func() bool { return sink.all(drivers.QualityGood, "busy") })
}

func TestLoopbackStartsWhilePeerOffline(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 9)
	startServer(t, srv) // learn a port, then free it
	srv.Stop()
	cfg := deviceConfig(srv.Addr(), drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16})
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	// The points go bad the moment the device attaches to a link that is
	// not up ("not connected yet"), before the first dial has failed, so
	// wait for the failed dial to be counted as well.
	waitFor(t, 3*time.Second, "bad:comm_failure and a counted failure while offline", func() bool {
		h := d.Health()
		return sink.all(drivers.QualityBadCommFailure, "a") && h.Failures > 0
	})
	if h := d.Health(); h.Connected || h.Failures == 0 || h.LastError == "" {
		t.Errorf("health while offline = %+v, want disconnected with failures and last error", h)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "good once the peer is up", func() bool {
		s, _ := sink.get("a")
		return s.Quality == drivers.QualityGood && s.Value == 9
	})
}

func TestWriteQueueFull(t *testing.T) {
	cfg := deviceConfig("127.0.0.1:1", drivers.PointConfig{Tag: "sp", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite})
	d, err := New(cfg, Options{})
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

func TestRunTwiceIsRefused(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 1)
	startServer(t, srv)
	d, err := New(deviceConfig(srv.Addr(), drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "running", func() bool { _, ok := sink.get("a"); return ok })
	if err := d.Run(context.Background(), sink); err == nil {
		t.Error("second concurrent Run returned nil, want an error")
	}
}

func TestNewValidates(t *testing.T) {
	point := drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16}
	cases := []struct {
		name     string
		cfg      drivers.DeviceConfig
		wantPath string
	}{
		{"wrong protocol", drivers.DeviceConfig{Name: "x", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://h:1", Points: []drivers.PointConfig{{Tag: "a", Node: "ns=2;s=A"}}}, "protocol"},
		{"register without type", drivers.DeviceConfig{Name: "x", Protocol: drivers.ProtocolModbusTCP, Address: "h:502",
			Points: []drivers.PointConfig{{Tag: "a", Table: drivers.TableHolding}}}, "points[0].type"},
		{"duplicate tag", drivers.DeviceConfig{Name: "x", Protocol: drivers.ProtocolModbusTCP, Address: "h:502", Points: []drivers.PointConfig{point, point}}, "points[1].tag"},
		{"address without port", drivers.DeviceConfig{Name: "x", Protocol: drivers.ProtocolModbusTCP, Address: "plc", Points: []drivers.PointConfig{point}}, "address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{})
			paths := configErrorPaths(err)
			if !slices.Contains(paths, tc.wantPath) {
				t.Errorf("New = %v\nconfig error paths %q, want one at %s", err, paths, tc.wantPath)
			}
		})
	}
	// An unreachable address is not New's business: no I/O happens there.
	if _, err := New(deviceConfig("192.0.2.1:502", point), Options{}); err != nil {
		t.Errorf("New with an unreachable peer = %v, want nil", err)
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

// A device that keeps the connection open but stops answering turns bad
// within one request timeout (plus the poll interval), then recovers.
func TestLoopbackHungDevice(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 5)
	startServer(t, srv)
	t.Cleanup(srv.Thaw) // runs before the server's Stop
	cfg := deviceConfig(srv.Addr(), drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16})
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "good before the hang", func() bool { return sink.all(drivers.QualityGood, "a") })

	srv.Freeze()
	budget := cfg.TimeoutOrDefault() + cfg.PollIntervalOrDefault() + 500*time.Millisecond
	took := waitFor(t, budget, "bad:comm_failure while hung", func() bool { return sink.all(drivers.QualityBadCommFailure, "a") })
	t.Logf("comm failure seen %v after the device hung (timeout %v)", took, cfg.TimeoutOrDefault())
	if s, _ := sink.get("a"); !strings.Contains(s.Reason, "timed out") {
		t.Errorf("reason = %q, want a timeout", s.Reason)
	}
	srv.Thaw()
	waitFor(t, 5*time.Second, "good after the device answers again", func() bool { return sink.all(drivers.QualityGood, "a") })
}

// A device that is busy for a moment is asked again within the same poll,
// up to retries times, and its points stay good; busy for longer, they turn
// uncertain:last_usable with the last value, and the write result of a busy
// device says a retry may help.
func TestLoopbackBusyRetries(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(0, 11)
	srv.SetHolding(1, 0)
	startServer(t, srv)
	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
		drivers.PointConfig{Tag: "sp", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite})
	cfg.ReadGap, cfg.Retries = 0, 2
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "good", func() bool { return sink.all(drivers.QualityGood, "a") })

	seen := len(sink.history("a"))
	srv.FailHoldingTimes(0, mb.ErrServerDeviceBusy, 2) // two busy answers, then the value
	srv.SetHolding(0, 12)
	waitFor(t, 2*time.Second, "the new value through the retries", func() bool {
		s, _ := sink.get("a")
		return s.Value == 12
	})
	for _, s := range sink.history("a")[seen:] {
		if s.Quality != drivers.QualityGood {
			t.Errorf("a sample of quality %s (%s) while the retries covered the busy device", s.Quality, s.Reason)
		}
	}

	srv.FailHolding(0, mb.ErrServerDeviceBusy) // busy for good
	waitFor(t, 2*time.Second, "uncertain:last_usable", func() bool { return sink.all(drivers.QualityUncertainLastUsable, "a") })
	if s, _ := sink.get("a"); s.Value != 12 || !strings.Contains(s.Reason, "after 2 retries") {
		t.Errorf("a = %v (%q), want the last value 12 and the retries in the reason", s.Value, s.Reason)
	}
	if err := d.Health().LastError; !strings.Contains(err, "server device busy") {
		t.Errorf("health last error %q, want the busy exception", err)
	}
}

// Write results carry the error class: a busy device may be asked again, an
// address it refuses may not.
func TestWriteErrorClasses(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(1, 0)
	startServer(t, srv)
	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "sp", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "nowhere", Table: drivers.TableHolding, Address: 9, Type: drivers.TypeUint16, Access: drivers.AccessWrite})
	cfg.ReadGap = 0
	results := make(chan drivers.WriteResult, 4)
	d, err := New(cfg, Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "good", func() bool { return sink.all(drivers.QualityGood, "sp") })
	srv.FailHolding(1, mb.ErrServerDeviceBusy) // the read-back finds the device busy
	cases := []struct {
		tag       string
		class     error
		retryable bool
	}{{"sp", drivers.ErrDeviceBusy, true}, {"nowhere", drivers.ErrBadConfig, false}}
	for _, tc := range cases {
		if err := d.Write(tc.tag, 5); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-results:
			var ex *ExceptionError
			if !errors.Is(r.Err, tc.class) || !errors.As(r.Err, &ex) || drivers.Retryable(r.Err) != tc.retryable {
				t.Errorf("write %s: %v; want %v (an *ExceptionError), retryable %v", tc.tag, r.Err, tc.class, tc.retryable)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no result for %s", tc.tag)
		}
	}
}
