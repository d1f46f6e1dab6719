package testrig

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

// The sample plant's watchdogs (controller/plant/sample.yaml): press_vfd and
// line_io supervise a heartbeat, shredder_vfd a comm-loss timeout, each
// with a timeout of 1 s.
const (
	wdTimeout = time.Second
	// wdSlack is how late after its timeout a watchdog may trip: the
	// physics goroutine checks every 10 ms.
	wdSlack = 50 * time.Millisecond
)

func wdStatus(t testing.TB, r *Rig, device string) WatchdogStatus {
	t.Helper()
	for _, s := range r.Watchdogs() {
		if s.Device == device {
			return s
		}
	}
	t.Fatalf("no watchdog for device %q in %+v", device, r.Watchdogs())
	return WatchdogStatus{}
}

// heartbeat writes a changing counter to holding register reg of ep every
// period, on a connection of its own, as a controller's scan does. The first
// write is done when it returns.
type heartbeat struct {
	stopCh chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	last   time.Time // just after the last acknowledged write
}

func startHeartbeat(t *testing.T, ep Endpoint, reg, from uint16, period time.Duration) *heartbeat {
	t.Helper()
	c := modbusClient(t, ep)
	h := &heartbeat{stopCh: make(chan struct{}), done: make(chan struct{})}
	n := from
	write := func() error {
		n++
		if err := c.WriteRegister(reg, n); err != nil {
			return err
		}
		h.mu.Lock()
		h.last = time.Now()
		h.mu.Unlock()
		return nil
	}
	if err := write(); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-h.stopCh:
				return
			case <-tick.C:
			}
			if err := write(); err != nil {
				t.Errorf("heartbeat: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() { h.stop() })
	return h
}

// stop ends the heartbeat and returns when its last write was acknowledged.
func (h *heartbeat) stop() time.Time {
	select {
	case <-h.stopCh:
	default:
		close(h.stopCh)
	}
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// checkLatency logs and checks how late after the last kick st tripped.
func checkLatency(t *testing.T, what string, st WatchdogStatus, wire time.Duration) {
	t.Helper()
	lat := st.TrippedAt.Sub(st.LastKick)
	t.Logf("%s: tripped %v after the last kick (timeout %v, +%v); seen %v after the last acknowledged request",
		what, lat.Round(time.Millisecond), st.Timeout, (lat - st.Timeout).Round(time.Millisecond), wire.Round(time.Millisecond))
	if lat < st.Timeout || lat > st.Timeout+wdSlack {
		t.Errorf("%s: tripped %v after the last kick; want within [%v, %v]", what, lat, st.Timeout, st.Timeout+wdSlack)
	}
}

// TestWatchdogHeartbeatDrive: the press drive's heartbeat watchdog (stop:
// ramp) over Modbus: kept alive it does not trip; when the heartbeat stops
// it trips within the timeout, switches the run command off and shows a
// fault; a run command while tripped is accepted but stays 0; a reset
// clears the trip only once the heartbeat is back, and the press restarts
// only on a new command.
func TestWatchdogHeartbeatDrive(t *testing.T) {
	t.Parallel()
	const regRun, regSP, regSpeed, regRunning, regFault, regHB, regReset = 0, 1, 2, 4, 5, 12, 13
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	ep := endpoint(t, r, "press_vfd")
	c := modbusClient(t, ep)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	st := wdStatus(t, r, "press_vfd")
	if st.Mode != drivers.WatchdogHeartbeat || st.Stop != drivers.StopRamp || st.Timeout != wdTimeout || st.Armed || st.Tripped {
		t.Fatalf("fresh rig: %+v; want a heartbeat watchdog, ramp stop, 1s, not armed, not tripped", st)
	}
	must(c.WriteRegisters(regRun, []uint16{1, 150})) // run at 15 rpm
	waitFor(t, 5*time.Second, "press running", func() (bool, string) {
		v := holding(t, c, regRunning)
		return v == 1, "running " + itoa(v)
	})

	hb := startHeartbeat(t, ep, regHB, 0, 200*time.Millisecond)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if st := wdStatus(t, r, "press_vfd"); st.Tripped || !st.Armed {
			t.Fatalf("heartbeat every 200 ms: %+v; want armed, not tripped", st)
		}
		if v := holding(t, c, regRunning); v != 1 {
			t.Fatalf("press.running = %d with the heartbeat alive", v)
		}
	}
	if v := holding(t, c, regHB); v < 10 {
		t.Errorf("heartbeat reads back %d after 3 s of heartbeats", v)
	}

	last := hb.stop()
	var wire time.Duration
	waitFor(t, wdTimeout+time.Second, "the press's fault after the heartbeat stopped", func() (bool, string) {
		v := holding(t, c, regFault)
		wire = time.Since(last)
		return v == 1, "fault " + itoa(v)
	})
	st = wdStatus(t, r, "press_vfd")
	if !st.Tripped || st.Trips != 1 {
		t.Fatalf("after the trip: %+v", st)
	}
	checkLatency(t, "press_vfd heartbeat", st, wire)
	if wire > wdTimeout+150*time.Millisecond {
		t.Errorf("fault seen %v after the last heartbeat; want within %v", wire, wdTimeout+150*time.Millisecond)
	}
	if v := holding(t, c, regRun); v != 0 {
		t.Errorf("press.run_cmd reads %d after the trip, want 0", v)
	}
	waitFor(t, time.Second, "press.running 0 after the trip", func() (bool, string) {
		v := holding(t, c, regRunning)
		return v == 0, "running " + itoa(v)
	})
	waitFor(t, 2*time.Second, "the press ramped to a stop", func() (bool, string) {
		v := holding(t, c, regSpeed)
		return v == 0, "speed " + itoa(v)
	})
	if v := holding(t, c, regSP); v != 150 {
		t.Errorf("press.speed_sp reads %d after the trip; set-points are left alone (150)", v)
	}

	// A run command while tripped is accepted and stays off.
	must(c.WriteRegister(regRun, 1))
	time.Sleep(100 * time.Millisecond) // 2 s of plant time: longer than the start delay
	if v := holding(t, c, regRun); v != 0 {
		t.Errorf("press.run_cmd reads %d after a write of 1 while tripped, want 0", v)
	}
	if v := holding(t, c, regRunning); v != 0 {
		t.Errorf("press.running = %d while tripped", v)
	}
	// A reset without the heartbeat back is ignored.
	must(c.WriteRegister(regReset, 1))
	if v := holding(t, c, regReset); v != 0 {
		t.Errorf("reset reads back %d, want 0", v)
	}
	if st := wdStatus(t, r, "press_vfd"); !st.Tripped {
		t.Fatalf("reset accepted with the heartbeat still dead: %+v", st)
	}
	// Heartbeat and reset in one write (FC16 over holding 12 and 13).
	must(c.WriteRegisters(regHB, []uint16{1000, 1}))
	st = wdStatus(t, r, "press_vfd")
	if st.Tripped || !st.Armed || st.Trips != 1 {
		t.Fatalf("after heartbeat and reset: %+v; want armed, not tripped, 1 trip", st)
	}
	for reg, want := range map[uint16]uint16{regFault: 0, regReset: 0, regRun: 0, regHB: 1000} {
		if v := holding(t, c, reg); v != want {
			t.Errorf("holding %d reads %d after the reset, want %d", reg, v, want)
		}
	}
	// Nothing restarts by itself; a new command does.
	hb = startHeartbeat(t, ep, regHB, 2000, 200*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if v := holding(t, c, regRunning); v != 0 {
		t.Errorf("press restarted by itself after the reset")
	}
	must(c.WriteRegister(regRun, 1))
	waitFor(t, 2*time.Second, "press running again", func() (bool, string) {
		v := holding(t, c, regRunning)
		return v == 1, "running " + itoa(v)
	})
	hb.stop()
}

// TestWatchdogHeartbeatIO: the line I/O coupler's heartbeat watchdog
// switches every output coil off (feeder, mixer, water, door, pump), shows
// its trip on a discrete input and is reset by a coil; not armed before the
// first heartbeat.
func TestWatchdogHeartbeatIO(t *testing.T) {
	t.Parallel()
	const hbReg, spReg, resetCoil, faultInput = 2, 0, 5, 4
	outputs := []string{"feeder.run_cmd", "pulper.mixer_cmd", "pulper.water_cmd", "reception.door_cmd", "filtrate.pump_cmd"}
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	ep := endpoint(t, r, "line_io")
	c := modbusClient(t, ep)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	coils := func() []bool {
		t.Helper()
		v, err := c.ReadCoils(0, 6)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	all := []bool{true, true, true, true, true}
	must(c.WriteRegister(spReg, 500)) // feeder 50 %
	must(c.WriteCoils(0, all))

	// No heartbeat yet: not armed, so longer than the timeout trips nothing.
	time.Sleep(wdTimeout + 300*time.Millisecond)
	if st := wdStatus(t, r, "line_io"); st.Armed || st.Tripped {
		t.Fatalf("without a heartbeat: %+v; want not armed, not tripped", st)
	}
	if v := coils(); !equalBools(v[:5], all) {
		t.Fatalf("outputs %v before any heartbeat, want all on", v)
	}

	hb := startHeartbeat(t, ep, hbReg, 0, 200*time.Millisecond)
	time.Sleep(600 * time.Millisecond)
	if st := wdStatus(t, r, "line_io"); !st.Armed || st.Tripped {
		t.Fatalf("with the heartbeat: %+v", st)
	}
	last := hb.stop()
	var wire time.Duration
	waitFor(t, wdTimeout+time.Second, "line_io watchdog fault", func() (bool, string) {
		v := discrete(t, c, faultInput)
		wire = time.Since(last)
		return v, "not yet"
	})
	st := wdStatus(t, r, "line_io")
	checkLatency(t, "line_io heartbeat", st, wire)
	if v := coils(); !equalBools(v, make([]bool, 6)) {
		t.Errorf("coils %v after the trip, want all off", v)
	}
	for _, role := range outputs {
		if v := value(t, r, role); v != 0 {
			t.Errorf("%s = %g in the model after the trip", role, v)
		}
	}
	if v := holding(t, c, spReg); v != 500 {
		t.Errorf("feeder.speed_sp reads %d after the trip, want 500 (set-points are left alone)", v)
	}
	// Writes while tripped are accepted and read back off.
	must(c.WriteCoils(0, all))
	must(c.WriteCoil(0, true))
	if v := coils(); !equalBools(v[:5], make([]bool, 5)) {
		t.Errorf("coils %v after writing them on while tripped, want off", v)
	}

	// Heartbeat back, then reset.
	hb = startHeartbeat(t, ep, hbReg, 100, 200*time.Millisecond)
	must(c.WriteCoil(resetCoil, true))
	if st := wdStatus(t, r, "line_io"); st.Tripped {
		t.Fatalf("not reset with the heartbeat back: %+v", st)
	}
	if discrete(t, c, faultInput) {
		t.Errorf("watchdog fault still 1 after the reset")
	}
	if v := coils(); !equalBools(v, make([]bool, 6)) {
		t.Errorf("coils %v after the reset, want all off (reset coil self-clearing)", v)
	}
	// Commands work again.
	must(c.WriteCoils(0, all))
	if v := coils(); !equalBools(v[:5], all) {
		t.Errorf("coils %v after writing them on after the reset", v)
	}
	hb.stop()
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func itoa(v uint16) string { return strconv.Itoa(int(v)) }

// TestWatchdogCommTimeoutDrive: the shredder drive's comm-loss timeout
// (stop: coast): off until the controller writes it; polls keep it alive;
// silence trips it, the drive coasting to a stop faster than on its ramp;
// any request (here the reset itself) makes the reset work; writing 0 turns
// supervision off; a restarted rig comes back with it off.
func TestWatchdogCommTimeoutDrive(t *testing.T) {
	t.Parallel()
	const regRun, regSP, regSpeed, regRunning, regFault, regReverse, regTimeout, regReset = 0, 1, 2, 4, 5, 6, 12, 13
	devs := modbusOnly(sampleDevices(t))
	r := startRig(t, devs, 5)
	ep := endpoint(t, r, "shredder_vfd")
	c := modbusClient(t, ep)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	st := wdStatus(t, r, "shredder_vfd")
	if st.Mode != drivers.WatchdogCommTimeout || st.Stop != drivers.StopCoast || st.Armed || st.Timeout != 0 {
		t.Fatalf("fresh rig: %+v; want comm_timeout, coast, not armed, timeout 0", st)
	}
	if v := holding(t, c, regTimeout); v != 0 {
		t.Errorf("comm timeout reads %d on a fresh rig, want 0", v)
	}
	must(c.WriteRegisters(regRun, []uint16{1, 600})) // run at 60 rpm
	// Not armed: silence longer than the timeout trips nothing.
	time.Sleep(wdTimeout + 300*time.Millisecond)
	if st := wdStatus(t, r, "shredder_vfd"); st.Armed || st.Tripped {
		t.Fatalf("silence without a timeout written: %+v", st)
	}
	waitFor(t, 3*time.Second, "shredder at 60 rpm", func() (bool, string) {
		v := holding(t, c, regSpeed)
		return v == 600, "speed " + itoa(v)
	})

	// Supervision on: 1.0 s (raw 10 at scale 0.1).
	must(c.WriteRegister(regTimeout, 10))
	if v := holding(t, c, regTimeout); v != 10 {
		t.Errorf("comm timeout reads back %d, want 10", v)
	}
	if st := wdStatus(t, r, "shredder_vfd"); !st.Armed || st.Timeout != wdTimeout {
		t.Fatalf("after writing the timeout: %+v", st)
	}
	// Polls every 100 ms for 3 s keep it alive.
	var last time.Time
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err := c.ReadRegisters(0, 7, modbus.HOLDING_REGISTER); err != nil {
			t.Fatal(err)
		}
		last = time.Now()
		if st := wdStatus(t, r, "shredder_vfd"); st.Tripped {
			t.Fatalf("tripped while polled: %+v", st)
		}
	}

	// Silence: watched through the rig, not the wire (a request would
	// kick it).
	var speedAtTrip float64
	var plantAtTrip time.Time
	var wire time.Duration
	waitFor(t, wdTimeout+time.Second, "the shredder's watchdog trip", func() (bool, string) {
		st := wdStatus(t, r, "shredder_vfd")
		speedAtTrip, plantAtTrip, wire = value(t, r, "shredder.speed"), r.PlantTime(), time.Since(last)
		return st.Tripped, "not yet"
	})
	st = wdStatus(t, r, "shredder_vfd")
	checkLatency(t, "shredder_vfd comm_timeout", st, wire)
	if v := value(t, r, "shredder.running"); v != 0 {
		t.Errorf("shredder.running = %g right after the coast trip, want 0 at once", v)
	}
	// Coast: at standstill sooner than the 20 rpm/s ramp would get there.
	for value(t, r, "shredder.speed") > 0 {
		if time.Since(last) > 5*time.Second {
			t.Fatalf("the shredder still turns at %g rpm", value(t, r, "shredder.speed"))
		}
		time.Sleep(2 * time.Millisecond)
	}
	coasted, ramp := r.PlantTime().Sub(plantAtTrip), time.Duration(speedAtTrip/20*float64(time.Second))
	t.Logf("coast from %.1f rpm: standstill after %v of plant time (the ramp takes %v)", speedAtTrip, coasted, ramp)
	if speedAtTrip > 20 && coasted >= ramp {
		t.Errorf("coasting from %.1f rpm took %v, not faster than the ramp's %v", speedAtTrip, coasted, ramp)
	}
	for reg, want := range map[uint16]uint16{regRun: 0, regReverse: 0, regRunning: 0, regFault: 1, regSP: 600, regTimeout: 10} {
		if v := holding(t, c, reg); v != want {
			t.Errorf("holding %d reads %d after the trip, want %d", reg, v, want)
		}
	}
	// A run command while tripped stays off; a set-point is taken.
	must(c.WriteRegisters(regRun, []uint16{1, 300}))
	if v := holding(t, c, regRun); v != 0 {
		t.Errorf("run_cmd reads %d while tripped, want 0", v)
	}
	if v := holding(t, c, regSP); v != 300 {
		t.Errorf("speed_sp reads %d while tripped, want 300", v)
	}
	// Reset: the request itself shows the controller is back.
	must(c.WriteRegister(regReset, 1))
	st = wdStatus(t, r, "shredder_vfd")
	if st.Tripped || st.Trips != 1 || !st.Armed {
		t.Fatalf("after the reset: %+v", st)
	}
	for reg, want := range map[uint16]uint16{regReset: 0, regFault: 0, regRun: 0} {
		if v := holding(t, c, reg); v != want {
			t.Errorf("holding %d reads %d after the reset, want %d", reg, v, want)
		}
	}
	// Timeout 0: supervision off; silence trips nothing.
	must(c.WriteRegister(regTimeout, 0))
	if st := wdStatus(t, r, "shredder_vfd"); st.Armed {
		t.Fatalf("armed after writing timeout 0: %+v", st)
	}
	time.Sleep(wdTimeout + 300*time.Millisecond)
	if st := wdStatus(t, r, "shredder_vfd"); st.Tripped {
		t.Errorf("tripped with supervision off: %+v", st)
	}

	// A restarted drive (a new rig) comes back with supervision off.
	must(c.WriteRegister(regTimeout, 10))
	r2 := startRig(t, devs, 5)
	c2 := modbusClient(t, endpoint(t, r2, "shredder_vfd"))
	if st := wdStatus(t, r2, "shredder_vfd"); st.Armed || st.Timeout != 0 || st.Trips != 0 {
		t.Errorf("restarted rig: %+v; want not armed, timeout 0", st)
	}
	if v := holding(t, c2, regTimeout); v != 0 {
		t.Errorf("restarted rig: comm timeout reads %d, want 0", v)
	}
}

// TestWatchdogTripsBeforeServingAfterAPause: a rig that was paused (SIGSTOP)
// past a watchdog's timeout trips before it serves the first request after
// it goes on, without waiting for the physics goroutine. The rig is not
// started here (no physics goroutine at all); the wall clock is a fake one.
func TestWatchdogTripsBeforeServingAfterAPause(t *testing.T) {
	t.Parallel()
	r, err := New(Options{Devices: modbusOnly(sampleDevices(t)), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	var offset time.Duration
	r.wallNow = func() time.Time { return base.Add(offset) }
	var g *gateway
	for _, gw := range r.gateways {
		if u := gw.units[1]; u != nil && u.device == "press_vfd" {
			g = gw
		}
	}
	if g == nil {
		t.Fatal("no gateway for press_vfd")
	}
	hr := func(addr, qty uint16, write ...uint16) []uint16 {
		t.Helper()
		req := &modbus.HoldingRegistersRequest{UnitId: 1, Addr: addr, Quantity: qty, IsWrite: len(write) > 0, Args: write}
		if req.IsWrite {
			req.Quantity = uint16(len(write))
		}
		res, err := g.HandleHoldingRegisters(req)
		if err != nil {
			t.Fatalf("holding %d: %v", addr, err)
		}
		return res
	}
	hr(12, 0, 1)         // heartbeat: armed
	hr(0, 0, 1, 150)     // run at 15 rpm
	offset = time.Second // at the timeout, not past it
	if v := hr(0, 6); v[0] != 1 || v[5] != 0 {
		t.Fatalf("at the timeout: run_cmd %d fault %d, want 1 and 0", v[0], v[5])
	}
	offset = 5 * time.Second // paused for 5 s
	v := hr(0, 6)
	if v[0] != 0 || v[5] != 1 {
		t.Errorf("first request after the pause: run_cmd %d fault %d, want 0 and 1", v[0], v[5])
	}
	st := wdStatus(t, r, "press_vfd")
	if !st.Tripped || !st.TrippedAt.Equal(base.Add(5*time.Second)) {
		t.Errorf("after the pause: %+v", st)
	}
}

// TestWatchdogConfig: the rig serves the watchdog's points whatever their
// role, and refuses what it cannot serve.
func TestWatchdogConfig(t *testing.T) {
	t.Parallel()
	dev := func(points []drivers.PointConfig, w *drivers.WatchdogConfig) []drivers.DeviceConfig {
		return []drivers.DeviceConfig{{
			Name: "vfd", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
			Points: points, Watchdog: w,
		}}
	}
	base := []drivers.PointConfig{
		{Tag: "run", Role: "press.run_cmd", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		{Tag: "hb", Table: drivers.TableHolding, Address: 1, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite},
		{Tag: "status", Table: drivers.TableHolding, Address: 2, Type: drivers.TypeUint16},
	}
	w := &drivers.WatchdogConfig{Mode: drivers.WatchdogHeartbeat, Tag: "hb", Timeout: time.Second, Fault: "status"}
	r, err := New(Options{Devices: dev(base, w)})
	if err != nil {
		t.Fatalf("a watchdog with roles the model does not know: %v", err)
	}
	if got := r.Watchdogs(); len(got) != 1 || got[0].Device != "vfd" || got[0].Stop != drivers.StopRamp {
		t.Errorf("Watchdogs() = %+v", got)
	}
	if rows := r.ServedMap(); rows[1].Watchdog != "tag" || rows[2].Watchdog != "fault" || rows[2].Role != "" || rows[0].Watchdog != "" {
		t.Errorf("served map %+v", rows)
	}

	writableFault := append([]drivers.PointConfig(nil), base...)
	writableFault[2].Access = drivers.AccessReadWrite
	if _, err := New(Options{Devices: dev(writableFault, w)}); err == nil || !strings.Contains(err.Error(), "read-only in the rig") {
		t.Errorf("writable fault status: %v", err)
	}
	// Without a watchdog, the same points are unknown roles.
	if _, err := New(Options{Devices: dev(base, nil)}); err == nil || !strings.Contains(err.Error(), "not simulated") {
		t.Errorf("no watchdog: %v", err)
	}
}

// TestWatchdogsInControlStatus: the control API's status carries the
// watchdogs, with the timeout as a duration string.
func TestWatchdogsInControlStatus(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	srv := httptest.NewServer(r.ControlHandler())
	t.Cleanup(srv.Close)
	c := modbusClient(t, endpoint(t, r, "press_vfd"))
	if err := c.WriteRegister(12, 7); err != nil {
		t.Fatal(err)
	}
	st, err := NewControlClient(srv.URL).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Watchdogs) != 3 {
		t.Fatalf("status watchdogs %+v, want 3", st.Watchdogs)
	}
	byDev := map[string]WatchdogStatus{}
	for _, w := range st.Watchdogs {
		byDev[w.Device] = w
	}
	if p := byDev["press_vfd"]; !p.Armed || p.Timeout != time.Second || p.LastKick.IsZero() || p.Mode != drivers.WatchdogHeartbeat {
		t.Errorf("press_vfd in the status: %+v", p)
	}
	if s := byDev["shredder_vfd"]; s.Armed || s.Timeout != 0 || s.Stop != drivers.StopCoast {
		t.Errorf("shredder_vfd in the status: %+v", s)
	}
	b, _ := json.Marshal(byDev["press_vfd"])
	if !strings.Contains(string(b), `"timeout":"1s"`) || strings.Contains(string(b), "tripped_at") {
		t.Errorf("JSON %s", b)
	}
}

// TestWatchdogOPCUA: a comm_timeout watchdog on an OPC UA device: the
// timeout node arms it, every message on the device's connections keeps it
// alive, silence trips it and switches the device's command off, the
// trip shows on the fault node, and a reset clears it.
func TestWatchdogOPCUA(t *testing.T) {
	t.Parallel()
	devs := []drivers.DeviceConfig{{
		Name: "opc_io", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://127.0.0.1:4842", Simulated: true,
		PollInterval: 100 * time.Millisecond,
		Points: []drivers.PointConfig{
			{Tag: "door", Role: "reception.door_cmd", Node: "ns=2;s=Door", Type: drivers.TypeBool, Access: drivers.AccessReadWrite},
			{Tag: "comm_timeout", Node: "ns=2;s=CommTimeout", Type: drivers.TypeUint16, Scale: 0.1, Access: drivers.AccessReadWrite},
			{Tag: "reset", Node: "ns=2;s=Reset", Type: drivers.TypeBool, Access: drivers.AccessReadWrite},
			{Tag: "wd_fault", Node: "ns=2;s=WatchdogFault", Type: drivers.TypeBool},
		},
		Watchdog: &drivers.WatchdogConfig{Mode: drivers.WatchdogCommTimeout, Tag: "comm_timeout", Timeout: 500 * time.Millisecond, Fault: "wd_fault", Reset: "reset"},
	}}
	r := startRig(t, devs, 1)
	c := uaClient(t, endpoint(t, r, "opc_io").URL)
	t.Cleanup(func() { closeClient(c) })
	write := func(node string, v any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
			NodeID: ua.MustParseNodeID(node), AttributeID: ua.AttributeIDValue,
			Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)},
		}}})
		if err != nil || resp.Results[0] != ua.StatusOK {
			t.Fatalf("write %s: %v %v", node, err, resp)
		}
	}
	read := func(node string) any {
		t.Helper()
		dv := readValues(t, c, node)[0]
		if dv.Status != ua.StatusOK {
			t.Fatalf("read %s: %v", node, dv.Status)
		}
		return dv.Value.Value()
	}

	write("ns=2;s=Door", true)
	write("ns=2;s=CommTimeout", uint16(5)) // 0.5 s
	if v := read("ns=2;s=CommTimeout"); v != uint16(5) {
		t.Errorf("CommTimeout reads back %v (%T), want uint16 5", v, v)
	}
	if st := wdStatus(t, r, "opc_io"); !st.Armed || st.Timeout != 500*time.Millisecond {
		t.Fatalf("after writing the timeout: %+v", st)
	}
	var last time.Time
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		read("ns=2;s=Door")
		last = time.Now()
		if st := wdStatus(t, r, "opc_io"); st.Tripped {
			t.Fatalf("tripped while polled: %+v", st)
		}
	}
	var wire time.Duration
	waitFor(t, 2*time.Second, "the OPC UA device's trip", func() (bool, string) {
		wire = time.Since(last)
		return wdStatus(t, r, "opc_io").Tripped, "not yet"
	})
	checkLatency(t, "opc_io comm_timeout", wdStatus(t, r, "opc_io"), wire)
	if v := read("ns=2;s=Door"); v != false {
		t.Errorf("Door reads %v after the trip, want false", v)
	}
	if v := read("ns=2;s=WatchdogFault"); v != true {
		t.Errorf("WatchdogFault reads %v after the trip, want true", v)
	}
	write("ns=2;s=Door", true) // accepted, stays off
	if v := read("ns=2;s=Door"); v != false {
		t.Errorf("Door reads %v after a write while tripped, want false", v)
	}
	write("ns=2;s=Reset", true)
	if st := wdStatus(t, r, "opc_io"); st.Tripped {
		t.Fatalf("not reset: %+v", st)
	}
	if v := read("ns=2;s=Reset"); v != false {
		t.Errorf("Reset reads back %v, want false", v)
	}
	if v := read("ns=2;s=WatchdogFault"); v != false {
		t.Errorf("WatchdogFault reads %v after the reset", v)
	}
	write("ns=2;s=CommTimeout", uint16(0)) // supervision off before the client goes
}
