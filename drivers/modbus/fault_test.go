package modbus

import (
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/modbus/modbustest"
)

// rate counts the batches sink receives during window.
func rate(sink *testSink, window time.Duration) float64 {
	sink.mu.Lock()
	before := sink.batches
	sink.mu.Unlock()
	time.Sleep(window)
	sink.mu.Lock()
	after := sink.batches
	sink.mu.Unlock()
	return float64(after-before) / window.Seconds()
}

// TestFaultsLeaveOtherDevicesAlone breaks one device in each way a field
// device breaks while a second device, on its own connection, is polled:
// the broken device's points turn bad within one timeout plus one poll
// interval, the other device's poll rate holds, and the broken one recovers
// by itself once the fault is gone.
func TestFaultsLeaveOtherDevicesAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests take seconds; skipped under -short")
	}
	faults := []struct {
		name    string
		quality drivers.Quality
		inject  func(*modbustest.Server)
		clear   func(*modbustest.Server)
	}{
		{"killed mid-poll", drivers.QualityBadCommFailure,
			func(s *modbustest.Server) { s.Stop() }, func(s *modbustest.Server) { s.Start() }},
		{"accepts but never answers", drivers.QualityBadCommFailure,
			func(s *modbustest.Server) { s.Freeze() }, func(s *modbustest.Server) { s.Thaw() }},
		{"answers with exceptions", drivers.QualityBadDeviceException,
			func(s *modbustest.Server) { s.FailHolding(0, mb.ErrServerDeviceFailure) }, func(s *modbustest.Server) { s.FailHolding(0, nil) }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			broken := modbustest.NewServer()
			broken.SetHolding(0, 1, 2, 3)
			startServer(t, broken)
			t.Cleanup(broken.Thaw)
			healthy := modbustest.NewServer()
			healthy.SetHolding(0, 7)
			startServer(t, healthy)

			pool := NewPool()
			cfgA := deviceConfig(broken.Addr(),
				drivers.PointConfig{Tag: "a", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16},
				drivers.PointConfig{Tag: "b", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint32})
			cfgB := deviceConfig(healthy.Addr(), drivers.PointConfig{Tag: "x", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16})
			cfgB.Name = "healthy"
			a, err := New(cfgA, Options{Pool: pool})
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(cfgB, Options{Pool: pool})
			if err != nil {
				t.Fatal(err)
			}
			sinkA, sinkB := newTestSink(), newTestSink()
			startDevice(t, a, sinkA)
			startDevice(t, b, sinkB)
			waitFor(t, 3*time.Second, "both good", func() bool {
				return sinkA.all(drivers.QualityGood, "a", "b") && sinkB.all(drivers.QualityGood, "x")
			})
			before := rate(sinkB, time.Second)

			f.inject(broken)
			bound := cfgA.TimeoutOrDefault() + cfgA.PollIntervalOrDefault()
			// The slack covers scheduling on a loaded 2-core CI machine
			// under -race; the time taken is logged.
			took := waitFor(t, bound+500*time.Millisecond, "the broken device's points bad", func() bool {
				return sinkA.all(f.quality, "a", "b")
			})
			during := rate(sinkB, time.Second)
			s, _ := sinkA.get("a")
			t.Logf("%s: %s %v after the fault (bound %v); the other device polled %.1f/s before, %.1f/s during; reason: %s",
				f.name, f.quality, took.Round(time.Millisecond), bound, before, during, s.Reason)
			if during < 0.8*before {
				t.Errorf("the other device's poll rate fell from %.1f/s to %.1f/s", before, during)
			}
			if !sinkB.all(drivers.QualityGood, "x") {
				t.Error("the other device's point is not good")
			}

			f.clear(broken)
			recovered := waitFor(t, 8*time.Second, "recovery", func() bool { return sinkA.all(drivers.QualityGood, "a", "b") })
			t.Logf("%s: good again %v after the fault cleared", f.name, recovered.Round(time.Millisecond))
		})
	}
}

// TestSharedGatewayDeadUnit puts two unit ids behind one gateway (one shared
// connection) and makes one of them silent, the gateway answering for it
// with "target device failed to respond" after 100 ms: that unit turns
// bad:comm_failure while the other keeps its poll rate, since the silent
// unit is asked again only after a backoff, not on every poll.
func TestSharedGatewayDeadUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests take seconds; skipped under -short")
	}
	gw := modbustest.NewServer()
	gw.SetHolding(0, 42)
	startServer(t, gw)
	pool := NewPool()
	mk := func(name string, unit uint8) (*Device, *testSink) {
		cfg := deviceConfig(gw.Addr(), drivers.PointConfig{Tag: name, Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16})
		cfg.Name, cfg.UnitID = name, unit
		d, err := New(cfg, Options{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		sink := newTestSink()
		startDevice(t, d, sink)
		return d, sink
	}
	_, live := mk("live", 1)
	_, dead := mk("dead", 2)
	waitFor(t, 3*time.Second, "both good", func() bool {
		return live.all(drivers.QualityGood, "live") && dead.all(drivers.QualityGood, "dead")
	})
	before := rate(live, time.Second)
	gw.FailUnit(2, 100*time.Millisecond, mb.ErrGWTargetFailedToRespond)
	took := waitFor(t, time.Second, "the silent unit bad", func() bool { return dead.all(drivers.QualityBadCommFailure, "dead") })
	time.Sleep(time.Second) // let the silent unit's backoff grow past a poll
	during := rate(live, 2*time.Second)
	s, _ := dead.get("dead")
	t.Logf("silent unit bad:comm_failure after %v (%s); the live unit polled %.1f/s before, %.1f/s during",
		took.Round(time.Millisecond), s.Reason, before, during)
	if during < 0.8*before {
		t.Errorf("the live unit's poll rate fell from %.1f/s to %.1f/s", before, during)
	}
	if !live.all(drivers.QualityGood, "live") {
		t.Error("the live unit is not good")
	}
	gw.FailUnit(2, 0, nil)
	waitFor(t, 8*time.Second, "the silent unit back", func() bool { return dead.all(drivers.QualityGood, "dead") })
}
