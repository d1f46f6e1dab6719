package historian

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	bolt "go.etcd.io/bbolt"
)

// hangingServer accepts TCP connections and never answers: an InfluxDB that
// has stopped responding. It is closed when t ends.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + l.Addr().String()
}

// stallStore holds the database's single write transaction until the
// returned release is called, so the store writer blocks as on a dead disk.
func stallStore(t *testing.T, h *Historian) (release func()) {
	t.Helper()
	held := make(chan struct{})
	rel := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- h.db.Update(func(*bolt.Tx) error {
			close(held)
			<-rel
			return nil
		})
	}()
	<-held
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(rel)
			if err := <-finished; err != nil {
				t.Errorf("stalling transaction: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// TestSamplesDoNotBlockWhenWritersStall stalls both writers (store write
// lock held, InfluxDB accepting connections but never answering) and hands
// in ten queues' worth of samples: every call must return, the overflow
// must be counted, and after Close every sample must be accounted for.
func TestSamplesDoNotBlockWhenWritersStall(t *testing.T) {
	const queueSize = 1000
	h := openTest(t, Options{
		QueueSize: queueSize,
		Influx: &InfluxOptions{
			URL: hangingServer(t), Bucket: "plant/autogen",
			FlushInterval: 10 * time.Millisecond, BatchSize: 100,
			WriteTimeout: time.Second, CloseTimeout: 100 * time.Millisecond,
		},
	})
	release := stallStore(t, h)
	h.Start(context.Background())

	const calls, perCall = 100, 100 // 10 queues' worth
	total := uint64(calls * perCall)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]drivers.Sample, perCall)
		for c := 0; c < calls; c++ {
			for i := range buf {
				buf[i] = drivers.Sample{Tag: "shredder1.motor.current", Value: float64(c*perCall + i),
					Quality: drivers.QualityGood, Time: t0.Add(time.Duration(c*perCall+i) * time.Millisecond)}
			}
			h.Samples(buf)
			h.Event(Event{Kind: EventAlarm, Name: "x", Time: t0})
		}
	}()
	// A hang guard, not a timing assertion: 10 000 samples take well under
	// a millisecond each way; a blocked call never returns.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Samples blocked while the writers were stalled")
	}

	st := h.Stats()
	// The store writer may have taken one queue before it blocked; beyond
	// that nothing can leave the queue.
	if st.Dropped < total-2*queueSize || st.Queued > queueSize+calls {
		t.Errorf("while stalled: Dropped=%d Queued=%d; want Dropped >= %d, Queued <= %d",
			st.Dropped, st.Queued, total-2*queueSize, queueSize+calls)
	}
	if st.Influx.Written != 0 {
		t.Errorf("while stalled: Influx.Written=%d, want 0", st.Influx.Written)
	}

	release()
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = h.Stats()
	if got := st.StoredSamples + st.StoredEvents + st.Dropped; got != total+calls {
		t.Errorf("after Close: stored %d samples + %d events + %d dropped = %d, want %d (every one accounted for)",
			st.StoredSamples, st.StoredEvents, st.Dropped, got, total+calls)
	}
	// The InfluxDB side was not stalled by the store: the outbox (its own
	// file) accepted what the memory queue held, and keeps it for the next
	// start because the server never answered.
	in := st.Influx
	if got := in.Outbox.AcceptedPoints + in.Dropped; got != total+calls {
		t.Errorf("after Close: outbox accepted %d + dropped %d = %d, want %d", in.Outbox.AcceptedPoints, in.Dropped, got, total+calls)
	}
	if in.Outbox.PendingPoints != int64(in.Outbox.AcceptedPoints) || in.Written != 0 {
		t.Errorf("after Close: outbox pending %d, accepted %d, written %d; want all accepted still pending",
			in.Outbox.PendingPoints, in.Outbox.AcceptedPoints, in.Written)
	}
	if in.Healthy || in.LastError == "" {
		t.Errorf("after Close: Healthy=%v LastError=%q; want unhealthy with an error", in.Healthy, in.LastError)
	}
	if st.Queued != 0 || in.Queued != 0 {
		t.Errorf("after Close: Queued=%d Influx.Queued=%d, want 0", st.Queued, in.Queued)
	}
	// After Close, calls return at once and count what they drop.
	h.Samples([]drivers.Sample{{Tag: "a.b", Value: 1, Time: t0}})
	if got := h.Stats().Dropped; got != st.Dropped+1 {
		t.Errorf("Samples after Close: Dropped=%d, want %d", got, st.Dropped+1)
	}
}

// TestCloseWithoutStart writes what was queued even if Start never ran.
func TestCloseWithoutStart(t *testing.T) {
	h := openTest(t, Options{})
	h.Samples([]drivers.Sample{{Tag: "a.b", Value: 1, Quality: drivers.QualityGood, Time: t0}})
	h.Event(Event{Kind: EventCommand, Name: "start", Time: t0})
	h.SaveBatch(BatchRecord{ID: "B1", Start: t0})
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.StoredSamples != 1 || st.StoredEvents != 1 || st.StoredBatches != 1 {
		t.Errorf("Stats = %+v, want one of each stored", st)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestStartContextCancel: when Start's context ends, the writers flush and
// stop; Close still writes what came afterwards.
func TestStartContextCancel(t *testing.T) {
	h := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	h.Start(ctx)
	h.Samples([]drivers.Sample{{Tag: "a.b", Value: 1, Time: t0}})
	cancel()
	waitFor(t, 5*time.Second, "flush on cancel", func() bool { return h.Stats().StoredSamples == 1 })
	h.Samples([]drivers.Sample{{Tag: "a.b", Value: 2, Time: t0.Add(time.Second)}})
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.StoredSamples != 2 {
		t.Errorf("StoredSamples = %d, want 2", st.StoredSamples)
	}
}

// TestSamplesSteadyStateAllocs checks that handing in samples does not
// allocate once the queue buffers have grown: the scan stays allocation-free.
func TestSamplesSteadyStateAllocs(t *testing.T) {
	h := openTest(t, Options{QueueSize: 100000})
	buf := make([]drivers.Sample, 50)
	for i := range buf {
		buf[i] = drivers.Sample{Tag: "unit.pv", Value: float64(i), Quality: drivers.QualityGood, Time: t0}
	}
	for i := 0; i < 200; i++ { // grow both buffers (the writer swaps them)
		h.Samples(buf)
	}
	h.flushStore()
	for i := 0; i < 200; i++ {
		h.Samples(buf)
	}
	h.flushStore()
	allocs := testing.AllocsPerRun(100, func() { h.Samples(buf) })
	if allocs != 0 {
		t.Errorf("Samples allocates %.1f times per call in steady state, want 0", allocs)
	}
}

// BenchmarkSamples measures the scan's side of Samples: 50 changed values
// per call, with the queue emptied (outside the timer) as a writer would.
func BenchmarkSamples(b *testing.B) {
	h, err := Open(Options{Dir: b.TempDir(), Line: "L1"})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	buf := make([]drivers.Sample, 50)
	for i := range buf {
		buf[i] = drivers.Sample{Tag: "unit" + string(rune('a'+i%26)) + ".pv", Quality: drivers.QualityGood}
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 {
			b.StopTimer()
			h.mu.Lock()
			h.storeQ.reset()
			h.mu.Unlock()
			b.StartTimer()
		}
		for j := range buf {
			buf[j].Value = float64(i)
			buf[j].Time = now.Add(time.Duration(i) * time.Millisecond)
		}
		h.Samples(buf)
	}
	b.StopTimer()
	if d := h.Stats().Dropped; d != 0 {
		b.Fatalf("dropped %d samples", d)
	}
}
