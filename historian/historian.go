package historian

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/outbox"
	"github.com/pretreat/pretreat/historian/records"
	bolt "go.etcd.io/bbolt"
)

// Defaults for zero Options and InfluxOptions fields.
const (
	DefaultRetention      = 7 * 24 * time.Hour
	DefaultQueueSize      = 65536
	DefaultBatchSize      = 5000
	DefaultFlushInterval  = time.Second
	DefaultCommitInterval = 100 * time.Millisecond
	DefaultOutboxBytes    = outbox.DefaultMaxBytes
	DefaultWriteTimeout   = 10 * time.Second
	DefaultCloseTimeout   = 5 * time.Second
	DefaultMaxRetryDelay  = 30 * time.Second
)

const (
	// storeInterval is how often the store writer commits what is queued;
	// it also commits as soon as storeWakeAt samples are waiting.
	storeInterval = 200 * time.Millisecond
	storeWakeAt   = 1000
	// Queue bounds for the rarer kinds of record.
	maxQueuedEvents  = 10000
	maxQueuedBatches = 1000
	// maxSweepEvery is the longest time between two retention sweeps.
	maxSweepEvery = 10 * time.Minute
)

// Options configure a Historian. Dir and Line are required.
type Options struct {
	// Dir is the data directory; the embedded database is Dir/pretreat.db.
	// Open creates Dir if it is missing.
	Dir string
	// Line is the line name, written as tag "line" on every InfluxDB point
	// and as Line on events and batch records that have none.
	Line string
	// Influx configures the InfluxDB writer; nil keeps the embedded store
	// as the only destination.
	Influx *InfluxOptions
	// Retention is how long samples stay in the embedded store, measured
	// in plant time (Clock). Zero means DefaultRetention (7 days). Events
	// and batch records are kept.
	Retention time.Duration
	// QueueSize bounds the samples waiting for each writer (store and
	// InfluxDB separately). Zero means DefaultQueueSize. Samples beyond it
	// are dropped and counted.
	QueueSize int
	// Clock gives plant time for the retention sweep and for samples and
	// events handed in without a time. Nil means the wall clock.
	Clock drivers.Clock
	// Logger receives the historian's own log (write failures, recovery).
	// Nil discards it.
	Logger *slog.Logger
	// Sampling gives the recording policy of individual tags; tags not in
	// it use DefaultSampling, whose zero value records every sample. The
	// policy applies before anything is queued, so the embedded store and
	// InfluxDB receive the same samples.
	Sampling        map[string]Sampling
	DefaultSampling Sampling
	// StoreSamples says whether samples also go to the embedded store when
	// InfluxDB is configured. Events and batch records always do.
	StoreSamples StoreSamplesMode
}

// StoreSamplesMode says where samples are kept when InfluxDB is configured.
type StoreSamplesMode uint8

// Modes of Options.StoreSamples.
const (
	// StoreSamplesAlways keeps samples in the embedded store too, so that
	// trends work from the store while InfluxDB is away (the default).
	StoreSamplesAlways StoreSamplesMode = iota
	// StoreSamplesWithoutInflux keeps samples in the store only when no
	// InfluxDB is configured: half the disk writes, and trends come from
	// InfluxQuerier.
	StoreSamplesWithoutInflux
)

// Stats are the historian's counters since Open, for the API's health
// view. All counts are of samples, events and batch records (InfluxDB:
// points) unless said otherwise.
type Stats struct {
	// Queued is what waits in memory for the store writer.
	Queued int `json:"queued"`
	// StoredSamples, StoredEvents and StoredBatches were committed to the
	// embedded store (a batch record counts once per save).
	StoredSamples uint64 `json:"stored_samples"`
	StoredEvents  uint64 `json:"stored_events"`
	StoredBatches uint64 `json:"stored_batches"`
	// Dropped never reached the store: its queue was full, the historian
	// was closed, it could not be encoded, or the store write failed.
	Dropped uint64 `json:"dropped"`
	// Rejected were refused at the door: samples without a tag name, batch
	// records without an ID.
	Rejected uint64 `json:"rejected"`
	// SampledOut samples were left out by their tag's sampling policy
	// (deadband, heartbeat, period); they are not lost, they were not
	// meant to be recorded.
	SampledOut uint64 `json:"sampled_out"`
	// SkippedNonFinite counts NaN and ±Inf entries left out of events'
	// Values (the store keeps NaN sample values; InfluxDB's count is
	// Influx.RejectedNonFinite).
	SkippedNonFinite uint64 `json:"skipped_non_finite"`
	// StoreErrors counts failed store transactions; LastStoreError is the
	// most recent one.
	StoreErrors    uint64 `json:"store_errors"`
	LastStoreError string `json:"last_store_error,omitempty"`
	// Influx is nil when no InfluxDB is configured.
	Influx *InfluxStats `json:"influx,omitempty"`
}

// sampleRec is a queued sample with the batch that was current when it
// came and that batch's waste class.
type sampleRec struct {
	s     drivers.Sample
	batch string
	class string
}

// eventRec is a queued event with its batch's waste class.
type eventRec struct {
	e     Event
	class string
}

// queue is what waits for one writer. The writer swaps a whole queue for an
// empty one under Historian.mu and reuses the drained buffers, so steady
// state appends do not allocate.
type queue struct {
	samples []sampleRec
	events  []eventRec
	batches []BatchRecord
	// deliveries and states are upserts like batches: a delivery is saved
	// again as batches take from it, a state span again when it ends.
	deliveries []records.Delivery
	states     []records.StateSpan
}

func (q *queue) len() int {
	return len(q.samples) + len(q.events) + len(q.batches) + len(q.deliveries) + len(q.states)
}

// reset empties q, keeping its buffers but releasing what they refer to.
func (q *queue) reset() {
	clear(q.samples)
	clear(q.events)
	clear(q.batches)
	clear(q.deliveries)
	clear(q.states)
	q.samples, q.events, q.batches = q.samples[:0], q.events[:0], q.batches[:0]
	q.deliveries, q.states = q.deliveries[:0], q.states[:0]
}

// Historian takes samples, events and batch records from the controller
// without blocking it, and writes them to the embedded store and, when
// configured, through the durable outbox to InfluxDB. Its methods are safe
// for concurrent use.
type Historian struct {
	line      string
	dir       string
	retention time.Duration
	queueSize int
	clock     drivers.Clock
	log       *slog.Logger
	db        *bolt.DB
	store     *Store
	influx    *influxWriter // nil without InfluxDB

	// Owned by the store writer goroutine (and by Close once it stopped).
	sw         storeWriter
	storeSpare queue
	storeFail  bool

	// mu guards the fields below. It is held only to append to or swap a
	// queue, never across I/O. Lock order: mu, then nothing; errMu and the
	// atomics are never held while taking mu.
	mu      sync.Mutex
	batch   string
	class   string            // waste class of batch
	classes map[string]string // batch ID -> waste class, from SaveBatch
	sampler *sampler          // nil: record every sample
	// storeSamples is false when samples go to InfluxDB only.
	storeSamples bool
	started      bool
	closed       bool
	cancel       context.CancelFunc
	storeQ       queue
	influxQ      queue // samples, events and record points; unused without InfluxDB

	storeWake chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	storedSamples, storedEvents, storedBatches atomic.Uint64
	dropped, rejected, storeErrors             atomic.Uint64
	nonFinite, sampledOut                      atomic.Uint64

	errMu        sync.Mutex // guards lastStoreErr
	lastStoreErr string
}

// maxBatchClasses bounds Historian.classes; batches older than the last
// few hundred no longer get samples.
const maxBatchClasses = 256

// Open validates opts, opens (creating if needed) Dir/pretreat.db and its
// buckets and, with InfluxDB configured, the outbox Dir/outbox.db; it
// reads the InfluxDB token (TokenFile, TokenEnv) and prepares the client
// without connecting. It waits at most one second for each database's file
// lock; if another process holds it the error matches ErrInUse and reads
// "data directory DIR is in use by another pretreat process".
func Open(opts Options) (*Historian, error) {
	if opts.Dir == "" {
		return nil, errors.New("historian: Options.Dir is empty")
	}
	if opts.Line == "" {
		return nil, errors.New("historian: Options.Line is empty")
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("historian: Options.Retention %v is negative", opts.Retention)
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.QueueSize < 0 {
		return nil, fmt.Errorf("historian: Options.QueueSize %d is negative", opts.QueueSize)
	}
	if opts.QueueSize == 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Clock == nil {
		opts.Clock = drivers.WallClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	smp, err := newSampler(opts.Sampling, opts.DefaultSampling)
	if err != nil {
		return nil, err
	}
	if opts.StoreSamples > StoreSamplesWithoutInflux {
		return nil, fmt.Errorf("historian: unknown Options.StoreSamples %d", opts.StoreSamples)
	}
	var iopts InfluxOptions
	if opts.Influx != nil {
		if iopts, err = opts.Influx.normalize(); err != nil {
			return nil, err
		}
	}

	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("historian: create data directory: %w", err)
	}
	path := filepath.Join(opts.Dir, DBFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, &dirInUseError{dir: opts.Dir, err: err}
		}
		return nil, fmt.Errorf("historian: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("historian: %s: %w", path, err)
	}

	h := &Historian{
		line:      opts.Line,
		dir:       opts.Dir,
		retention: opts.Retention,
		queueSize: opts.QueueSize,
		clock:     opts.Clock,
		log:       opts.Logger.With("component", "historian"),
		db:        db,
		store:     &Store{db: db},
		sw:        storeWriter{db: db},
		storeWake: make(chan struct{}, 1),
		classes:   map[string]string{},
		sampler:   smp,

		storeSamples: opts.Influx == nil || opts.StoreSamples == StoreSamplesAlways,
	}
	if opts.Influx != nil {
		if h.influx, err = newInfluxWriter(h, iopts); err != nil {
			db.Close()
			return nil, err
		}
	}
	return h, nil
}

// Store gives read access to the open database of this process. Its Close
// does nothing; the Historian closes the database in Close.
func (h *Historian) Store() *Store { return h.store }

// Start starts the store writer and, with InfluxDB configured, the outbox
// committer and the InfluxDB sender. They run until Close, or until ctx is
// done, when the store writer and the committer write what they have and
// stop; what arrives after that, and delivering the outbox, wait for
// Close. Start does nothing after the first call or Close.
func (h *Historian) Start(ctx context.Context) {
	h.mu.Lock()
	if h.started || h.closed {
		h.mu.Unlock()
		return
	}
	h.started = true
	ctx, h.cancel = context.WithCancel(ctx)
	h.mu.Unlock()

	h.wg.Add(1)
	go h.runStore(ctx)
	if h.influx != nil {
		h.wg.Add(2)
		go h.influx.runCommit(ctx)
		go h.influx.runSend(ctx)
	}
}

// SetBatch sets the current batch id; samples handed in afterwards carry it
// in the embedded store (InfluxDB samples have no batch tag: a signal is
// one series whichever batch runs). "" means no batch is running.
func (h *Historian) SetBatch(id string) {
	h.mu.Lock()
	h.batch = id
	h.class = h.classes[id]
	h.mu.Unlock()
}

// Samples queues copies of samples for the store and InfluxDB. It never
// blocks and does no I/O: when a queue is full the samples that do not fit
// are dropped and counted (Stats.Dropped, Stats.Influx.QueueDropped). A
// sample with a zero Time gets the clock's time; one without a Tag is
// rejected; one its tag's sampling policy leaves out is counted in
// Stats.SampledOut. The caller may reuse the slice at once.
func (h *Historian) Samples(samples []drivers.Sample) {
	if len(samples) == 0 {
		return
	}
	var now time.Time
	for i := range samples {
		if samples[i].Time.IsZero() {
			now = h.clock.Now()
			break
		}
	}
	var dropped, influxDropped, rejected, sampledOut uint64
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.dropped.Add(uint64(len(samples)))
		if h.influx != nil {
			h.influx.queueDropped.Add(uint64(len(samples)))
		}
		return
	}
	batch, class := h.batch, h.class
	for _, s := range samples {
		if s.Tag == "" {
			rejected++
			continue
		}
		if s.Time.IsZero() {
			s.Time = now
		}
		if h.sampler != nil && !h.sampler.keep(&s) {
			sampledOut++
			continue
		}
		switch {
		case !h.storeSamples:
		case len(h.storeQ.samples) < h.queueSize:
			h.storeQ.samples = append(h.storeQ.samples, sampleRec{s: s, batch: batch, class: class})
		default:
			dropped++
		}
		if h.influx != nil {
			if len(h.influxQ.samples) < h.queueSize {
				h.influxQ.samples = append(h.influxQ.samples, sampleRec{s: s, batch: batch, class: class})
			} else {
				influxDropped++
			}
		}
	}
	wakeStore := len(h.storeQ.samples) >= storeWakeAt
	wakeInflux := h.influx != nil && len(h.influxQ.samples) >= h.influx.opts.BatchSize
	h.mu.Unlock()

	if dropped > 0 {
		h.dropped.Add(dropped)
	}
	if influxDropped > 0 {
		h.influx.queueDropped.Add(influxDropped)
	}
	if rejected > 0 {
		h.rejected.Add(rejected)
	}
	if sampledOut > 0 {
		h.sampledOut.Add(sampledOut)
	}
	if wakeStore {
		wake(h.storeWake)
	}
	if wakeInflux {
		wake(h.influx.commitWake)
	}
}

// wake nudges a writer without waiting.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Event queues a copy of e for the store and InfluxDB. It never blocks. A
// zero Time becomes the clock's time, an empty Line the historian's line.
// NaN and ±Inf entries of Values are left out (Stats.SkippedNonFinite).
func (h *Historian) Event(e Event) {
	if e.Time.IsZero() {
		e.Time = h.clock.Now()
	}
	if e.Line == "" {
		e.Line = h.line
	}
	if len(e.Values) > 0 {
		vals := make(map[string]float64, len(e.Values))
		for k, v := range e.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				h.nonFinite.Add(1)
				continue
			}
			vals[k] = v
		}
		e.Values = vals // shared read-only by both writers from here on
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.dropped.Add(1)
		if h.influx != nil {
			h.influx.queueDropped.Add(1)
		}
		return
	}
	rec := eventRec{e: e, class: h.classes[e.BatchID]}
	storeFull := len(h.storeQ.events) >= maxQueuedEvents
	if !storeFull {
		h.storeQ.events = append(h.storeQ.events, rec)
	}
	influxFull := false
	if h.influx != nil {
		influxFull = len(h.influxQ.events) >= maxQueuedEvents
		if !influxFull {
			h.influxQ.events = append(h.influxQ.events, rec)
		}
	}
	h.mu.Unlock()
	if storeFull {
		h.dropped.Add(1)
	}
	if influxFull {
		h.influx.queueDropped.Add(1)
	}
}

// SaveBatch queues a copy of r to be written to the store, replacing any
// record with the same ID (an upsert). It never blocks. A record without an
// ID is rejected; an empty Line becomes the historian's line. With InfluxDB
// configured, a record that ended for good (complete, stopped, aborted) is
// also queued as a point of MeasurementBatch through the outbox; saving it
// again overwrites that point. The record's WasteClass becomes the
// "waste_class" tag of the batch's events handed in afterwards.
func (h *Historian) SaveBatch(r BatchRecord) {
	if r.ID == "" {
		h.rejected.Add(1)
		return
	}
	if r.Line == "" {
		r.Line = h.line
	}
	r.Phases = slices.Clone(r.Phases)
	r.Deliveries = slices.Clone(r.Deliveries)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.dropped.Add(1)
		if h.influx != nil && batchFinal(r.State) {
			h.influx.queueDropped.Add(1)
		}
		return
	}
	if h.classes[r.ID] != r.WasteClass {
		if len(h.classes) >= maxBatchClasses {
			clear(h.classes)
		}
		h.classes[r.ID] = r.WasteClass
		if h.batch == r.ID {
			h.class = r.WasteClass
		}
	}
	// A batch is saved at every transition; keep only its latest state.
	full := !upsert(&h.storeQ.batches, r, func(o *BatchRecord) bool { return o.ID == r.ID }, maxQueuedBatches)
	influxFull := h.influx != nil && batchFinal(r.State) &&
		!upsert(&h.influxQ.batches, r, func(o *BatchRecord) bool { return o.ID == r.ID }, maxQueuedBatches)
	h.mu.Unlock()
	if full {
		h.dropped.Add(1)
	}
	if influxFull {
		h.influx.queueDropped.Add(1)
	}
}

// upsert replaces the last element of *q that same matches with v, or
// appends v when none does and *q holds fewer than limit. It reports
// whether v was queued.
func upsert[T any](q *[]T, v T, same func(*T) bool, limit int) bool {
	for i := len(*q) - 1; i >= 0; i-- {
		if same(&(*q)[i]) {
			(*q)[i] = v
			return true
		}
	}
	if len(*q) >= limit {
		return false
	}
	*q = append(*q, v)
	return true
}

// SaveDelivery queues a copy of d to be written to the store, replacing any
// delivery with the same ticket. It never blocks. A delivery without a
// ticket is rejected; an empty Line becomes the historian's line. With
// InfluxDB configured it is also queued as a point of MeasurementDelivery;
// a re-save overwrites it.
func (h *Historian) SaveDelivery(d records.Delivery) {
	if d.Ticket == "" {
		h.rejected.Add(1)
		return
	}
	if d.Line == "" {
		d.Line = h.line
	}
	d.Batches = slices.Clone(d.Batches)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.dropped.Add(1)
		if h.influx != nil {
			h.influx.queueDropped.Add(1)
		}
		return
	}
	same := func(o *records.Delivery) bool { return o.Ticket == d.Ticket }
	full := !upsert(&h.storeQ.deliveries, d, same, maxQueuedBatches)
	influxFull := h.influx != nil && !upsert(&h.influxQ.deliveries, d, same, maxQueuedBatches)
	h.mu.Unlock()
	if full {
		h.dropped.Add(1)
	}
	if influxFull {
		h.influx.queueDropped.Add(1)
	}
}

// SaveState queues a copy of s to be written to the store, replacing the
// span of the same line that started at the same instant (a span is saved
// when it starts and again when it ends). It never blocks. With InfluxDB
// configured, a span that has ended is also queued as a point of
// MeasurementLineState.
func (h *Historian) SaveState(s records.StateSpan) {
	if s.Line == "" {
		s.Line = h.line
	}
	h.mu.Lock()
	ended := h.influx != nil && !s.End.IsZero()
	if h.closed {
		h.mu.Unlock()
		h.dropped.Add(1)
		if ended {
			h.influx.queueDropped.Add(1)
		}
		return
	}
	same := func(o *records.StateSpan) bool { return o.Start.Equal(s.Start) && o.Line == s.Line }
	full := !upsert(&h.storeQ.states, s, same, maxQueuedEvents)
	influxFull := ended && !upsert(&h.influxQ.states, s, same, maxQueuedEvents)
	h.mu.Unlock()
	if full {
		h.dropped.Add(1)
	}
	if influxFull {
		h.influx.queueDropped.Add(1)
	}
}

// Stats returns a snapshot of the counters. It does no I/O beyond one
// stat of the outbox file, and may be called from any goroutine.
func (h *Historian) Stats() Stats {
	h.mu.Lock()
	queued := h.storeQ.len()
	influxQueued := h.influxQ.len()
	h.mu.Unlock()
	st := Stats{
		Queued:           queued,
		StoredSamples:    h.storedSamples.Load(),
		StoredEvents:     h.storedEvents.Load(),
		StoredBatches:    h.storedBatches.Load(),
		Dropped:          h.dropped.Load(),
		Rejected:         h.rejected.Load(),
		SampledOut:       h.sampledOut.Load(),
		StoreErrors:      h.storeErrors.Load(),
		SkippedNonFinite: h.nonFinite.Load(),
	}
	h.errMu.Lock()
	st.LastStoreError = h.lastStoreErr
	h.errMu.Unlock()
	if h.influx != nil {
		is := h.influx.stats()
		is.Queued += influxQueued
		st.Influx = &is
	}
	return st
}

// Close stops the writers, writes everything queued to the store and the
// outbox, gives InfluxDB at most CloseTimeout to take what the outbox holds,
// and closes the databases. What InfluxDB did not take stays in the outbox
// and is sent after the next Open. Calls after the first return the first
// result; data handed in after Close is dropped and counted.
func (h *Historian) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		cancel := h.cancel
		h.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		h.wg.Wait()
		// The writers have stopped; finish their work on this goroutine.
		h.flushStore()
		var errs []error
		if h.influx != nil {
			errs = append(errs, h.influx.close())
		}
		errs = append(errs, h.db.Close())
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

func (h *Historian) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// runStore is the store writer goroutine.
func (h *Historian) runStore(ctx context.Context) {
	defer h.wg.Done()
	h.sweep()
	commit := time.NewTicker(storeInterval)
	defer commit.Stop()
	sweepEvery := min(maxSweepEvery, max(h.retention/4, time.Second))
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			if !h.isClosed() {
				h.flushStore() // Close flushes itself
			}
			return
		case <-commit.C:
		case <-h.storeWake:
		case <-sweep.C:
			h.sweep()
		}
		h.flushStore()
	}
}

// flushStore writes what is queued for the store in one transaction.
func (h *Historian) flushStore() {
	h.mu.Lock()
	q := h.storeQ
	h.storeQ = h.storeSpare
	h.mu.Unlock()
	defer func() {
		q.reset()
		h.storeSpare = q
	}()
	if q.len() == 0 {
		return
	}
	res, err := h.sw.write(q.samples, q.events, q.batches, q.deliveries, q.states)
	if err != nil {
		h.dropped.Add(uint64(q.len()))
		h.storeErrors.Add(1)
		h.errMu.Lock()
		h.lastStoreErr = err.Error()
		h.errMu.Unlock()
		if !h.storeFail {
			h.storeFail = true
			h.log.Error("embedded store write failed; dropping what was queued until it recovers",
				"dir", h.dir, "lost", q.len(), "err", err)
		}
		return
	}
	if h.storeFail {
		h.storeFail = false
		h.log.Info("embedded store writes recovered", "dir", h.dir)
	}
	for _, e := range res.skipped {
		h.log.Error("record not stored", "err", e)
	}
	h.dropped.Add(uint64(len(res.skipped)))
	h.storedSamples.Add(uint64(len(q.samples)))
	h.storedEvents.Add(uint64(res.events))
	h.storedBatches.Add(uint64(res.batches))
}

// sweep deletes samples older than the retention.
func (h *Historian) sweep() {
	cutoff := h.clock.Now().Add(-h.retention)
	n, err := h.sw.sweep(cutoff)
	if err != nil {
		h.storeErrors.Add(1)
		h.errMu.Lock()
		h.lastStoreErr = err.Error()
		h.errMu.Unlock()
		h.log.Error("retention sweep failed", "dir", h.dir, "err", err)
		return
	}
	if n > 0 {
		h.log.Debug("retention sweep", "deleted_samples", n, "older_than", cutoff)
	}
}
