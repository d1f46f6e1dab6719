package historian

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/records"
	bolt "go.etcd.io/bbolt"
)

// DBFile is the name of the embedded database inside the data directory.
const DBFile = "pretreat.db"

// lockTimeout bounds how long Open and OpenStore wait for the database's file
// lock before reporting the directory as in use.
const lockTimeout = time.Second

// schemaVersion is the layout written by this code; see the bucket names.
// Version 2 added the batch ID to stored samples (sample format 2); it
// reads version 1 databases as they are.
const schemaVersion = 2

// Layout of the database:
//
//	meta     "schema" -> uint64 big-endian schemaVersion
//	samples  one sub-bucket per tag name;
//	         key   = timeKey(sample time)                        (8 bytes)
//	         value = [format 2][float64 bits, 8][quality, 1]
//	                 [batch ID length, 1][batch ID][reason...]
//	         (format 1, written by schema 1, has no batch ID)
//	events   key   = timeKey(event time) + sequence big-endian (16 bytes)
//	         value = JSON of Event
//	batches  key   = batch ID, value = JSON of BatchRecord
//	deliveries key = ticket, value = JSON of records.Delivery
//	states   key   = timeKey(span start) + line, value = JSON of records.StateSpan
var (
	bucketMeta       = []byte("meta")
	bucketSamples    = []byte("samples")
	bucketEvents     = []byte("events")
	bucketBatches    = []byte("batches")
	bucketDeliveries = []byte("deliveries")
	bucketStates     = []byte("states")
	keySchema        = []byte("schema")
)

// Sample formats: the first byte of a stored sample value.
const (
	sampleFormat1 = 1 // no batch ID
	sampleFormat  = 2
	// maxStoredBatchID bounds the batch ID stored with a sample; a longer
	// one is cut (IDs are short: "B-20250314-003").
	maxStoredBatchID = 255
)

// Bounds of what time.UnixNano can represent; times outside are clamped.
var (
	minKeyTime = time.Unix(0, math.MinInt64)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// timeKey encodes t so that byte order is time order, also before 1970.
func timeKey(t time.Time) uint64 {
	switch {
	case t.Before(minKeyTime):
		return 0
	case t.After(maxKeyTime):
		return math.MaxUint64
	}
	return uint64(t.UnixNano()) ^ (1 << 63)
}

// keyTime is the inverse of timeKey.
func keyTime(k uint64) time.Time {
	return time.Unix(0, int64(k^(1<<63)))
}

func putTimeKey(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, timeKey(t))
}

// Store reads the embedded database. It is safe for concurrent use.
type Store struct {
	db    *bolt.DB
	owned bool // Close closes db; false for the Historian's own Store
}

// OpenStore opens Dir/pretreat.db read-only, for reports and tools that run
// while no writer holds the directory. It waits at most one second for the
// file lock; if a running pretreat holds it, the error matches ErrInUse and
// names the directory (use Historian.Store inside that process instead).
func OpenStore(dir string) (*Store, error) {
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("historian: no pretreat data in %s: %w", dir, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, &dirInUseError{dir: dir, err: err}
		}
		return nil, fmt.Errorf("historian: open %s: %w", path, err)
	}
	if err := db.View(checkSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("historian: %s: %w", path, err)
	}
	return &Store{db: db, owned: true}, nil
}

// checkSchema refuses databases written by a newer layout.
func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return nil // created but never initialised: reads find nothing
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return fmt.Errorf("schema version missing or malformed")
	}
	if got := binary.BigEndian.Uint64(v); got > schemaVersion {
		return fmt.Errorf("database schema %d was written by a newer pretreat (this one reads %d)", got, schemaVersion)
	}
	return nil
}

// initSchema creates the buckets and records the layout version.
func initSchema(tx *bolt.Tx) error {
	if err := checkSchema(tx); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketMeta, bucketSamples, bucketEvents, bucketBatches, bucketDeliveries, bucketStates} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
}

// Close releases the database. On the Store returned by Historian.Store it
// does nothing: the Historian owns that database and closes it in Close.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.db.Close()
}

// Batches returns every batch record, ordered by start time (then ID).
func (s *Store) Batches() ([]BatchRecord, error) {
	var out []BatchRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBatches)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r BatchRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("batch %q: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read batches: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// BatchesStarted returns the batch records that started in [from, to), in
// the order of Batches.
func (s *Store) BatchesStarted(from, to time.Time) ([]BatchRecord, error) {
	all, err := s.Batches()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if !b.Start.Before(from) && b.Start.Before(to) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Batch returns the batch record with this ID; found is false when there
// is none.
func (s *Store) Batch(id string) (b BatchRecord, found bool, err error) {
	return getRecord[BatchRecord](s, bucketBatches, id, "batch")
}

// getRecord reads the JSON record stored under key in bucket; found is
// false when there is none. what names the record in errors.
func getRecord[T any](s *Store, bucket []byte, key, what string) (r T, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		var zero T
		return zero, false, fmt.Errorf("historian: read %s %q: %w", what, key, err)
	}
	return r, found, nil
}

// Deliveries returns the deliveries with from <= Time < to, in time order
// (then ticket).
func (s *Store) Deliveries(from, to time.Time) ([]records.Delivery, error) {
	var out []records.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var d records.Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("delivery %q: %w", k, err)
			}
			if !d.Time.Before(from) && d.Time.Before(to) {
				out = append(out, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read deliveries: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Ticket < out[j].Ticket
	})
	return out, nil
}

// Delivery returns the delivery with this ticket; found is false when
// there is none.
func (s *Store) Delivery(ticket string) (d records.Delivery, found bool, err error) {
	return getRecord[records.Delivery](s, bucketDeliveries, ticket, "delivery")
}

// States returns the line state spans that overlap [from, to) (a span
// still open overlaps everything after its start), in start order.
func (s *Store) States(from, to time.Time) ([]records.StateSpan, error) {
	var out []records.StateSpan
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStates)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k) >= end {
				break
			}
			var sp records.StateSpan
			if err := json.Unmarshal(v, &sp); err != nil {
				return fmt.Errorf("state span at %x: %w", k, err)
			}
			if sp.End.IsZero() || sp.End.After(from) {
				out = append(out, sp)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read line states: %w", err)
	}
	return out, nil
}

// LastEvents returns the n latest events, latest first.
func (s *Store) LastEvents(n int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event at %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read events: %w", err)
	}
	return out, nil
}

// Events returns the events with from <= Time < to, in time order (events at
// the same instant in the order they were recorded).
func (s *Store) Events(from, to time.Time) ([]Event, error) {
	var out []Event
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(putTimeKey(nil, from)); k != nil; k, v = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k) >= end {
				break
			}
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event at %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read events: %w", err)
	}
	return out, nil
}

// Samples returns the stored samples of tag with from <= Time < to, in time
// order. An unknown tag gives no samples and no error.
func (s *Store) Samples(tag string, from, to time.Time) ([]drivers.Sample, error) {
	var out []drivers.Sample
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSamples)
		if root == nil || tag == "" {
			return nil
		}
		b := root.Bucket([]byte(tag))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(putTimeKey(nil, from)); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			tk := binary.BigEndian.Uint64(k)
			if tk >= end {
				break
			}
			smp, err := decodeSample(v)
			if err != nil {
				return fmt.Errorf("tag %s at %x: %w", tag, k, err)
			}
			smp.Tag = tag
			smp.Time = keyTime(tk)
			out = append(out, smp.Sample)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read samples: %w", err)
	}
	return out, nil
}

// Tags returns the names of the tags that have stored samples, sorted.
func (s *Store) Tags() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSamples)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("historian: read tags: %w", err)
	}
	return out, nil
}

// appendSample encodes the value part of a stored sample onto b.
func appendSample(b []byte, s drivers.Sample, batch string) []byte {
	b = append(b, sampleFormat)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.Value))
	b = append(b, byte(s.Quality))
	if len(batch) > maxStoredBatchID {
		batch = batch[:maxStoredBatchID]
	}
	b = append(b, byte(len(batch)))
	b = append(b, batch...)
	return append(b, s.Reason...)
}

// storedSample is a decoded sample value.
type storedSample struct {
	drivers.Sample
	batch string
}

func decodeSample(v []byte) (storedSample, error) {
	if len(v) < 10 || (v[0] != sampleFormat && v[0] != sampleFormat1) {
		return storedSample{}, fmt.Errorf("unknown sample encoding (%d bytes)", len(v))
	}
	s := storedSample{Sample: drivers.Sample{
		Value:   math.Float64frombits(binary.BigEndian.Uint64(v[1:9])),
		Quality: drivers.Quality(v[9]),
	}}
	rest := v[10:]
	if v[0] == sampleFormat {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return storedSample{}, fmt.Errorf("sample value truncated (%d bytes)", len(v))
		}
		s.batch = string(rest[1 : 1+rest[0]])
		rest = rest[1+rest[0]:]
	}
	if len(rest) > 0 {
		s.Reason = string(rest)
	}
	return s, nil
}

// storeWriter is the state of the goroutine that writes queued data to the
// database. Only that goroutine (or Close after it has stopped) uses it.
type storeWriter struct {
	db *bolt.DB
	// arena holds the keys and values of one transaction: bbolt requires
	// them to stay valid until commit. Reused across transactions.
	arena   []byte
	buckets map[string]*bolt.Bucket // per-transaction cache of tag buckets
}

// fillPercent packs pages fuller than bbolt's default: sample keys mostly
// arrive in time order, so splits happen at the right edge.
const fillPercent = 0.9

// writeResult says what one write committed.
type writeResult struct {
	events, batches int
	// skipped are the events and batch records that could not be encoded
	// (a NaN in a batch record, a time outside years 0-9999); the rest of
	// the transaction went ahead without them.
	skipped []error
}

// write stores one drained queue in a single transaction.
func (w *storeWriter) write(samples []sampleRec, events []eventRec, batches []BatchRecord, deliveries []records.Delivery, states []records.StateSpan) (writeResult, error) {
	var res writeResult
	// Encode outside the transaction so that one bad record does not fail
	// the others.
	evVals := make([][]byte, len(events))
	for i := range events {
		v, err := json.Marshal(&events[i].e)
		if err != nil {
			res.skipped = append(res.skipped, fmt.Errorf("event %s %q at %v: %w", events[i].e.Kind, events[i].e.Name, events[i].e.Time, err))
			continue
		}
		evVals[i] = v
		res.events++
	}
	batchVals := make([][]byte, len(batches))
	for i := range batches {
		v, err := json.Marshal(&batches[i])
		if err != nil {
			res.skipped = append(res.skipped, fmt.Errorf("batch record %q: %w", batches[i].ID, err))
			continue
		}
		batchVals[i] = v
		res.batches++
	}
	delVals := make([][]byte, len(deliveries))
	for i := range deliveries {
		v, err := json.Marshal(&deliveries[i])
		if err != nil {
			res.skipped = append(res.skipped, fmt.Errorf("delivery %q: %w", deliveries[i].Ticket, err))
			continue
		}
		delVals[i] = v
	}
	stateVals := make([][]byte, len(states))
	for i := range states {
		v, err := json.Marshal(&states[i])
		if err != nil {
			res.skipped = append(res.skipped, fmt.Errorf("state span %s at %v: %w", states[i].State, states[i].Start, err))
			continue
		}
		stateVals[i] = v
	}

	if w.buckets == nil {
		w.buckets = make(map[string]*bolt.Bucket)
	}
	// Size the arena so that it does not move while keys point into it; if
	// it must grow anyway, earlier slices keep the old array alive.
	need := len(events) * 16
	for i := range samples {
		need += 8 + 11 + min(len(samples[i].batch), maxStoredBatchID) + len(samples[i].s.Reason)
	}
	if cap(w.arena) < need {
		w.arena = make([]byte, 0, need)
	}
	w.arena = w.arena[:0]
	defer clear(w.buckets)
	err := w.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSamples)
		for i := range samples {
			s := &samples[i].s
			b := w.buckets[s.Tag]
			if b == nil {
				var err error
				if b, err = root.CreateBucketIfNotExists([]byte(s.Tag)); err != nil {
					return fmt.Errorf("bucket for tag %q: %w", s.Tag, err)
				}
				b.FillPercent = fillPercent
				w.buckets[s.Tag] = b
			}
			start := len(w.arena)
			w.arena = putTimeKey(w.arena, s.Time)
			mid := len(w.arena)
			w.arena = appendSample(w.arena, *s, samples[i].batch)
			if err := b.Put(w.arena[start:mid:mid], w.arena[mid:]); err != nil {
				return fmt.Errorf("put sample %q: %w", s.Tag, err)
			}
		}
		eb := tx.Bucket(bucketEvents)
		eb.FillPercent = fillPercent
		for i, v := range evVals {
			if v == nil {
				continue
			}
			seq, err := eb.NextSequence()
			if err != nil {
				return err
			}
			start := len(w.arena)
			w.arena = putTimeKey(w.arena, events[i].e.Time)
			w.arena = binary.BigEndian.AppendUint64(w.arena, seq)
			if err := eb.Put(w.arena[start:len(w.arena):len(w.arena)], v); err != nil {
				return fmt.Errorf("put event: %w", err)
			}
		}
		bb := tx.Bucket(bucketBatches)
		for i, v := range batchVals {
			if v == nil {
				continue
			}
			if err := bb.Put([]byte(batches[i].ID), v); err != nil {
				return fmt.Errorf("put batch %q: %w", batches[i].ID, err)
			}
		}
		db, err := tx.CreateBucketIfNotExists(bucketDeliveries)
		if err != nil {
			return err
		}
		for i, v := range delVals {
			if v != nil {
				if err := db.Put([]byte(deliveries[i].Ticket), v); err != nil {
					return fmt.Errorf("put delivery %q: %w", deliveries[i].Ticket, err)
				}
			}
		}
		sb, err := tx.CreateBucketIfNotExists(bucketStates)
		if err != nil {
			return err
		}
		for i, v := range stateVals {
			if v != nil {
				k := append(putTimeKey(nil, states[i].Start), states[i].Line...)
				if err := sb.Put(k, v); err != nil {
					return fmt.Errorf("put state span: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return writeResult{}, err
	}
	return res, nil
}

// sweepChunk bounds the keys deleted in one transaction so that the
// retention sweep never holds the writer lock for long.
const sweepChunk = 10000

// sweep deletes samples older than cutoff, in transactions of at most
// sweepChunk keys, and drops tag buckets it leaves empty. It returns how
// many samples it deleted.
func (w *storeWriter) sweep(cutoff time.Time) (int, error) {
	limit := putTimeKey(nil, cutoff)
	total := 0
	for {
		n, more, err := w.sweepOnce(limit)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (w *storeWriter) sweepOnce(limit []byte) (deleted int, more bool, err error) {
	err = w.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSamples)
		var tags [][]byte
		if err := root.ForEachBucket(func(k []byte) error {
			tags = append(tags, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, tag := range tags {
			b := root.Bucket(tag)
			var old [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
				if deleted+len(old) >= sweepChunk {
					more = true
					break
				}
				old = append(old, bytes.Clone(k))
			}
			// Deleting while iterating a bbolt cursor skips keys; delete
			// the collected keys afterwards instead.
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			deleted += len(old)
			if k, _ := b.Cursor().First(); k == nil {
				if err := root.DeleteBucket(tag); err != nil {
					return err
				}
			}
			if more {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return deleted, more, nil
}
