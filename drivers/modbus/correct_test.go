package modbus

import (
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/modbus/modbustest"
)

// TestCorrectOutputsWithinOnePoll: with CorrectOutputs, a register or coil
// changed behind the driver's back (another master, a drive that restarted
// between two polls) is written back within the poll that reads it, and
// reported as a Corrected write; a value never written on this connection
// is left alone, and so is the watchdog's heartbeat.
func TestCorrectOutputsWithinOnePoll(t *testing.T) {
	srv := modbustest.NewServer()
	srv.SetHolding(20, 0, 0, 0)
	srv.SetCoil(5, false)
	startServer(t, srv)
	cfg := deviceConfig(srv.Addr(),
		drivers.PointConfig{Tag: "speed_sp", Table: drivers.TableHolding, Address: 20, Type: drivers.TypeUint16, Scale: 0.1, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "heartbeat", Table: drivers.TableHolding, Address: 21, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "untouched", Table: drivers.TableHolding, Address: 22, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "run_cmd", Table: drivers.TableCoil, Address: 5, Type: drivers.TypeBool, Access: drivers.AccessReadWrite},
	)
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Watchdog = &drivers.WatchdogConfig{Mode: drivers.WatchdogHeartbeat, Tag: "heartbeat", Timeout: time.Second}
	results := make(chan drivers.WriteResult, 16)
	d, err := New(cfg, Options{Results: results, CorrectOutputs: true, Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 3*time.Second, "connected and polled", func() bool { return sink.all(drivers.QualityGood, "speed_sp") })
	for _, w := range []struct {
		tag string
		v   float64
	}{{"speed_sp", 15}, {"heartbeat", 7}, {"run_cmd", 1}} {
		if err := d.Write(w.tag, w.v); err != nil {
			t.Fatal(err)
		}
		if r := <-results; r.Err != nil || r.Corrected {
			t.Fatalf("write %s: %+v", w.tag, r)
		}
	}
	for i := 0; i < 3; i++ {
		srv.SetHolding(20, 0)    // the drive lost its reference
		srv.SetCoil(5, false)    // and its run command
		srv.SetHolding(21, 99)   // the heartbeat is the controller's to change
		srv.SetHolding(22, 1234) // never written by the controller
		changed := time.Now()
		got := map[string]drivers.WriteResult{}
		for len(got) < 2 {
			select {
			case r := <-results:
				if !r.Corrected || r.Err != nil {
					t.Fatalf("unexpected result %+v", r)
				}
				got[r.Tag] = r
			case <-time.After(time.Second):
				t.Fatalf("no correction within 1 s (got %v)", got)
			}
		}
		took := time.Since(changed)
		t.Logf("corrected %s after the change (poll 100 ms)", took.Round(time.Millisecond))
		if took > 150*time.Millisecond {
			t.Errorf("correction took %s, want within one poll", took)
		}
		if r := got["speed_sp"]; r.Value != 15 || r.ReadBack != 0 {
			t.Errorf("speed_sp correction %+v", r)
		}
		if regs := srv.HoldingRegs(20, 3); regs[0] != 150 || regs[1] != 99 || regs[2] != 1234 {
			t.Errorf("registers after the correction %v, want [150 99 1234]", regs)
		}
		if !srv.Coil(5) {
			t.Error("run_cmd coil not written back")
		}
		// The write result is reported as the write lands; the poll's
		// samples are pushed right after it, in the same poll.
		waitFor(t, 200*time.Millisecond, "the sample after the correction to be the value written back", func() bool {
			s, _ := sink.get("speed_sp")
			return s.Value == 15
		})
		time.Sleep(150 * time.Millisecond)
	}
}
