package controller

import (
	"context"
	"fmt"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/controller/line/linetest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/recipes"
)

// manualClock is plant time moved by the test.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Speed() float64 { return 1 }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeDevice holds what was written to it as a device does, acknowledges
// every write on the connection generation it was made on, and can be
// disconnected, reconnected and restarted (its outputs back at zero).
type fakeDevice struct {
	cfg     drivers.DeviceConfig
	clock   drivers.Clock
	results chan drivers.WriteResult
	gen     atomic.Uint64
	mu      sync.Mutex
	regs    map[string]float64
	writes  map[string]int
}

func (d *fakeDevice) Name() string                                  { return d.cfg.Name }
func (d *fakeDevice) Run(ctx context.Context, _ drivers.Sink) error { <-ctx.Done(); return nil }
func (d *fakeDevice) Generation() uint64                            { return d.gen.Load() }

func (d *fakeDevice) Write(tag string, v float64) error {
	g := d.gen.Load()
	if g == 0 {
		d.results <- drivers.WriteResult{Tag: tag, Value: v, Err: drivers.ErrNotConnected, Time: d.clock.Now()}
		return nil
	}
	d.mu.Lock()
	d.regs[tag] = v
	d.writes[tag]++
	d.mu.Unlock()
	d.results <- drivers.WriteResult{Tag: tag, Value: v, Time: d.clock.Now(), Gen: g}
	return nil
}

func (d *fakeDevice) reg(tag string) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.regs[tag]
}

func (d *fakeDevice) set(tag string, v float64) {
	d.mu.Lock()
	d.regs[tag] = v
	d.mu.Unlock()
}

// restart is a power cycle: the connection drops and comes back with
// every register at zero.
func (d *fakeDevice) restart() {
	d.mu.Lock()
	clear(d.regs)
	d.mu.Unlock()
	d.gen.Store(0)
}

// engineRig is an Engine on the sample plant with fake devices over the
// fake process of the line tests.
type engineRig struct {
	t     testing.TB
	cfg   *plant.File
	clock *manualClock
	plant *linetest.SamplePlant
	devs  map[string]*fakeDevice
	table *TagTable
	e     *Engine
	rec   *memRecorder
	gen   uint64
}

// memRecorder keeps the events, batch records, state spans and deliveries
// the engine records (the last save of each).
type memRecorder struct {
	mu         sync.Mutex
	events     []historian.Event
	batches    map[string]historian.BatchRecord
	states     []records.StateSpan
	deliveries map[string]records.Delivery
}

func (m *memRecorder) Samples([]drivers.Sample) {}
func (m *memRecorder) SaveBatch(b historian.BatchRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.batches == nil {
		m.batches = map[string]historian.BatchRecord{}
	}
	m.batches[b.ID] = b
}
func (m *memRecorder) SetBatch(string) {}
func (m *memRecorder) SaveState(s records.StateSpan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.states {
		if m.states[i].Start.Equal(s.Start) {
			m.states[i] = s
			return
		}
	}
	m.states = append(m.states, s)
}
func (m *memRecorder) SaveDelivery(d records.Delivery) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deliveries == nil {
		m.deliveries = map[string]records.Delivery{}
	}
	m.deliveries[d.Ticket] = d
}
func (m *memRecorder) Event(e historian.Event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
}

func (m *memRecorder) count(kind, name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.events {
		if e.Kind == kind && e.Name == name {
			n++
		}
	}
	return n
}

func newEngineRig(t testing.TB, edits ...func(*plant.File)) *engineRig {
	t.Helper()
	cfg, err := plant.Parse("sample.yaml", plant.Sample())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(cfg)
	}
	rs, err := recipes.Shipped(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &engineRig{t: t, cfg: cfg, rec: &memRecorder{}, clock: &manualClock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}, plant: linetest.NewSamplePlant(), devs: map[string]*fakeDevice{}}
	results := make(chan drivers.WriteResult, 1024)
	var tags []string
	var devs []drivers.Device
	for _, dc := range cfg.Devices {
		d := &fakeDevice{cfg: dc, clock: r.clock, results: results, regs: map[string]float64{}, writes: map[string]int{}}
		r.gen++
		d.gen.Store(r.gen)
		r.devs[dc.Name] = d
		devs = append(devs, d)
		for _, p := range dc.Points {
			tags = append(tags, p.Tag)
		}
	}
	r.table = NewTagTable(tags)
	r.e, err = NewEngine(EngineOptions{Plant: cfg, Clock: r.clock, Table: r.table, Devices: devs, Results: results, Recipes: StaticRecipes(rs), Recorder: r.rec})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scan runs one 100 ms period: the process follows what the devices hold,
// every connected device is polled, then the engine scans.
func (r *engineRig) scan() {
	const dt = 100 * time.Millisecond
	r.clock.add(dt)
	out := map[string]float64{}
	for _, d := range r.devs {
		d.mu.Lock()
		for k, v := range d.regs {
			out[k] = v
		}
		d.mu.Unlock()
	}
	r.plant.Step(out, dt)
	now := r.clock.Now()
	for _, d := range r.devs {
		var ss []drivers.Sample
		for _, p := range d.cfg.Points {
			if !p.Access.Readable() {
				continue
			}
			s := drivers.Sample{Tag: p.Tag, Time: now, Quality: drivers.QualityGood}
			if p.Access.Writable() {
				s.Value = d.reg(p.Tag)
			} else {
				s.Value, s.Quality = r.plant.Get(p.Tag)
			}
			if d.gen.Load() == 0 {
				s.Quality = drivers.QualityBadCommFailure
			}
			ss = append(ss, s)
		}
		r.table.Update(ss)
	}
	r.e.scan()
}

func (r *engineRig) run(d time.Duration) {
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		r.scan()
	}
}

func (r *engineRig) command(c api.Command) api.CommandResult {
	r.t.Helper()
	ch := make(chan api.CommandResult, 1)
	req := line.Request{Command: c}
	if c.Command == api.CommandStart {
		rec, err := r.e.recipes.Resolve(c.Recipe, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		req.Recipe = rec
	}
	r.e.cmds <- cmdRequest{req: req, reply: ch}
	r.scan()
	return <-ch
}

func (r *engineRig) device(name string) api.DeviceStatus {
	r.e.publish()
	for _, d := range r.e.Status().Devices {
		if d.Name == name {
			return d
		}
	}
	r.t.Fatalf("no device %s in the status", name)
	return api.DeviceStatus{}
}

func (r *engineRig) output(tag string) api.OutputStatus {
	r.e.publish()
	for _, o := range r.e.Status().Outputs {
		if o.Tag == tag {
			return o
		}
	}
	r.t.Fatalf("no output %s in the status", tag)
	return api.OutputStatus{}
}

// mismatches lists the outputs whose device holds another value than the
// controller wants.
func (r *engineRig) mismatches() []string {
	r.e.publish()
	var bad []string
	for _, o := range r.e.Status().Outputs {
		if o.Role == "heartbeat" || o.Role == "watchdog_reset" {
			continue
		}
		if got := r.devs[o.Device].reg(o.Tag); abs(got-o.Want) > 1e-9 {
			bad = append(bad, fmt.Sprintf("%s=%g want %g", o.Tag, got, o.Want))
		}
	}
	return bad
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func (r *engineRig) feeding() {
	r.t.Helper()
	if res := r.command(api.Command{Command: api.CommandReset, User: "op"}); !res.OK {
		r.t.Fatalf("reset: %s", res.Error)
	}
	r.run(time.Second)
	if res := r.command(api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"}); !res.OK {
		r.t.Fatalf("start: %s", res.Error)
	}
	for i := 0; i < 6000 && r.e.line.Outputs()["feeder.run_cmd"] != 1; i++ {
		r.scan()
	}
	if r.e.line.Outputs()["feeder.run_cmd"] != 1 {
		r.t.Fatalf("never feeding: %s %s", r.e.line.State, r.e.line.Message)
	}
}

func TestOutputsWrittenBeforeValuesCountAtStartUp(t *testing.T) {
	r := newEngineRig(t)
	r.scan() // sees every device connected: resync, writes everything
	for name, d := range r.devs {
		if d.cfg.Protocol == drivers.ProtocolOPCUA {
			continue // the analyser has no outputs: nothing to write
		}
		if st := r.device(name); st.Sync != syncResyncing {
			t.Errorf("%s after the first scan: %s, want resyncing", name, st.Sync)
		}
	}
	if _, q := (snapshotInputs{r.e}).Get("line.estop_ok"); q != drivers.QualityBadResync {
		t.Errorf("estop input during the resync: %s, want bad:resync", q)
	}
	r.scan()
	for name, d := range r.devs {
		if st := r.device(name); st.Sync != syncSynced {
			t.Errorf("%s after the second scan: %s, want synced", name, st.Sync)
		}
		for _, p := range d.cfg.Points {
			if _, ok := r.e.line.Outputs()[p.Tag]; ok && d.writes[p.Tag] == 0 {
				t.Errorf("%s was never written before its device counted as synced", p.Tag)
			}
		}
	}
	if m := r.mismatches(); len(m) > 0 {
		t.Errorf("devices differ from the controller: %v", m)
	}
}

func TestOutputChangedBehindTheBackIsCorrectedAndCounted(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	vfd := r.devs["press_vfd"]
	want := r.output("press.speed_sp").Want
	if want == 0 {
		t.Fatal("press speed setpoint is 0 while feeding")
	}
	vfd.set("press.speed_sp", 0) // someone else's Modbus client
	r.scan()                     // this poll reads 0; the scan writes it again
	if got := vfd.reg("press.speed_sp"); got != want {
		t.Fatalf("press.speed_sp = %g one poll after it was changed, want %g", got, want)
	}
	if c := r.output("press.speed_sp").Corrections; c != 1 {
		t.Errorf("corrections = %d, want 1", c)
	}
	if n := r.rec.count(historian.EventDevice, "output_corrected"); n != 1 {
		t.Errorf("journal has %d output_corrected events, want 1", n)
	}
	r.run(2 * time.Second)
	if c := r.output("press.speed_sp").Corrections; c != 1 {
		t.Errorf("corrections after it held = %d, want still 1", c)
	}
}

func TestDriveRestartReassertsEveryOutputAndNeverStartsByItself(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	vfd := r.devs["press_vfd"]
	vfd.restart() // power cycle: registers at 0, connection gone
	r.scan()
	if st := r.device("press_vfd"); st.Sync != syncLost {
		t.Fatalf("press_vfd while away: %s, want lost", st.Sync)
	}
	r.run(time.Second)
	if r.e.line.State != line.StateHeld && r.e.line.State != line.StateHolding {
		t.Fatalf("line %s while the press drive is away, want Held", r.e.line.State)
	}
	if !strings.Contains(r.e.line.Message, "press_vfd not answering") {
		t.Errorf("hold message %q does not name the device", r.e.line.Message)
	}
	r.gen++
	vfd.gen.Store(r.gen) // back, with zero registers
	r.scan()
	if st := r.device("press_vfd"); st.Sync != syncResyncing {
		t.Fatalf("press_vfd back: %s, want resyncing", st.Sync)
	}
	r.run(time.Second)
	if m := r.mismatches(); len(m) > 0 {
		t.Fatalf("after the restart the devices differ: %v", m)
	}
	if vfd.reg("press.run_cmd") != 0 {
		t.Fatal("press started by itself after its drive restarted")
	}
	if n := r.output("press.run_cmd").Reasserts; n == 0 {
		t.Error("press.run_cmd re-assert not counted")
	}
	if res := r.command(api.Command{Command: api.CommandUnhold, User: "op"}); !res.OK {
		t.Fatalf("unhold: %s", res.Error)
	}
	for i := 0; i < 600 && r.e.line.Outputs()["feeder.run_cmd"] != 1; i++ {
		r.scan()
	}
	r.scan()
	if m := r.mismatches(); len(m) > 0 {
		t.Fatalf("after the unhold the devices differ: %v", m)
	}
	if got := vfd.reg("press.speed_sp"); got == 0 {
		t.Fatal("press speed setpoint left at 0 after the drive restarted (the defect)")
	}
}

func TestCommandsHeldSafeUntilTheLogicHasSeenTheLoss(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	io := r.devs["line_io"]
	// A stall that resumes between two scans: the logic never saw a bad
	// value, yet the device must be treated as restarted.
	r.gen++
	io.gen.Store(r.gen)
	r.scan()
	for _, tag := range []string{"feeder.run_cmd", "reception.door_cmd", "pulper.mixer_cmd", "filtrate.pump_cmd"} {
		if io.reg(tag) != 0 {
			t.Errorf("%s = %g right after line_io reconnected, want 0 (safe)", tag, io.reg(tag))
		}
	}
	r.run(2 * time.Second)
	if r.e.line.State != line.StateHeld {
		t.Fatalf("line %s (%s) after line_io reconnected, want Held", r.e.line.State, r.e.line.Message)
	}
	if !strings.Contains(r.e.line.Message, "line_io reconnected") {
		t.Errorf("hold message %q does not say why", r.e.line.Message)
	}
	if io.reg("feeder.run_cmd") != 0 {
		t.Fatal("feeder on after line_io reconnected")
	}
}

func TestCommLossAlarmAndTrueCause(t *testing.T) {
	r := newEngineRig(t)
	r.feeding()
	r.devs["line_io"].gen.Store(0)
	r.run(time.Second)
	if r.e.line.State != line.StateHeld {
		t.Fatalf("line %s, want Held", r.e.line.State)
	}
	want := "line_io not answering: interlock estop cannot be evaluated"
	if r.e.line.Message != want {
		t.Errorf("hold message %q, want %q", r.e.line.Message, want)
	}
	r.e.publish()
	found := false
	for _, a := range r.e.Status().Alarms {
		if a.Name == "line_io_comm_loss" {
			found = true
			if a.Priority != "critical" {
				t.Errorf("line_io_comm_loss priority %s, want critical (plant file)", a.Priority)
			}
		}
	}
	if !found {
		t.Errorf("no line_io_comm_loss alarm among %+v", r.e.Status().Alarms)
	}
}

func TestWatchdogHeartbeatAndReset(t *testing.T) {
	r := newEngineRig(t)
	// The press drive tripped on its watchdog while no controller ran: at
	// start-up it shows a fault, which the controller resets once every
	// output is written and every command is off.
	r.plant.V["press.fault"] = 1
	r.scan()
	r.scan()
	hb := r.devs["press_vfd"].reg("press.heartbeat")
	time.Sleep(250 * time.Millisecond) // the heartbeat runs on wall time
	r.scan()
	if got := r.devs["press_vfd"].reg("press.heartbeat"); got == hb {
		t.Errorf("heartbeat still %g after 250 ms", got)
	}
	if got := r.devs["shredder_vfd"].reg("shredder.comm_timeout"); got != 1 {
		t.Errorf("shredder comm-loss timeout = %g s, want 1 (set at connect)", got)
	}
	r.run(500 * time.Millisecond)
	if n := r.devs["press_vfd"].writes["press.fault_reset"]; n < 2 {
		t.Fatalf("press.fault_reset written %d times, want a pulse (1 then 0)", n)
	}
	if got := r.devs["press_vfd"].reg("press.fault_reset"); got != 0 {
		t.Errorf("reset left at %g after the pulse", got)
	}
	r.plant.V["press.fault"] = 0
	r.run(time.Second)
	// A fault that appears on a healthy connection is the operator's.
	before := r.devs["press_vfd"].writes["press.fault_reset"]
	r.plant.V["press.fault"] = 1
	r.run(3 * time.Second)
	if n := r.devs["press_vfd"].writes["press.fault_reset"]; n != before {
		t.Errorf("a fault on a healthy connection was reset by the controller (%d writes)", n-before)
	}
}

func TestWriteOnlyOutputRefreshedAndRewrittenOnReconnect(t *testing.T) {
	r := newEngineRig(t, func(cfg *plant.File) {
		for i := range cfg.Devices {
			d := &cfg.Devices[i]
			if d.Name != "line_io" {
				continue
			}
			d.OutputRefresh = 200 * time.Millisecond
			for j := range d.Points {
				if d.Points[j].Tag == "feeder.speed_sp" {
					d.Points[j].Access = drivers.AccessWrite // no read-back
				}
			}
		}
	})
	r.feeding()
	io := r.devs["line_io"]
	n := io.writes["feeder.speed_sp"]
	time.Sleep(450 * time.Millisecond) // the refresh runs on wall time
	r.run(300 * time.Millisecond)
	if got := io.writes["feeder.speed_sp"] - n; got < 1 {
		t.Errorf("write-only feeder.speed_sp written %d times in 450 ms with a 200 ms refresh", got)
	}
	io.restart()
	r.scan()
	r.gen++
	io.gen.Store(r.gen)
	r.run(300 * time.Millisecond)
	if io.reg("feeder.speed_sp") != r.e.line.Outputs()["feeder.speed_sp"] {
		t.Errorf("write-only feeder.speed_sp = %g after the reconnect, want %g", io.reg("feeder.speed_sp"), r.e.line.Outputs()["feeder.speed_sp"])
	}
	if o := r.output("feeder.speed_sp"); o.ReadBack != nil || o.Reasserts < 2 {
		t.Errorf("status %+v: want no read-back and the refresh and reconnect counted", o)
	}
}

func TestNoCommLossAlarmsWhileDevicesConnectAtStartUp(t *testing.T) {
	r := newEngineRig(t)
	for _, d := range r.devs {
		d.gen.Store(0) // still connecting
	}
	r.run(2 * time.Second)
	r.e.publish()
	for _, a := range r.e.Status().Alarms {
		if strings.HasSuffix(a.Name, "_comm_loss") {
			t.Errorf("%s raised while the devices connect at start-up", a.Name)
		}
	}
	for _, d := range r.devs {
		r.gen++
		d.gen.Store(r.gen)
	}
	r.run(time.Second)
	r.e.publish()
	for _, a := range r.e.Status().Alarms {
		if strings.HasSuffix(a.Name, "_comm_loss") {
			t.Errorf("%s raised by a start-up", a.Name)
		}
	}
}
