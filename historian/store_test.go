package historian

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// fixedClock is a plant clock that stands still, for retention tests.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
func (c fixedClock) Speed() float64 { return 1 }

var t0 = time.Date(2025, 3, 14, 6, 0, 0, 0, time.UTC)

func openTest(t *testing.T, opts Options) *Historian {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "data") // also checks Dir is created
	}
	if opts.Line == "" {
		opts.Line = "L1"
	}
	if opts.Clock == nil {
		opts.Clock = fixedClock{t0.Add(time.Hour)} // keeps test samples inside retention
	}
	h, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// waitFor polls cond until it holds or fails t after timeout; it guards
// against hangs, it is not a timing assertion.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeKey(t *testing.T) {
	// Times that UnixNano cannot represent are clamped to the ends.
	if timeKey(time.Time{}) != 0 || timeKey(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("times before 1678 should clamp to key 0")
	}
	if timeKey(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) != math.MaxUint64 {
		t.Error("times after 2262 should clamp to the largest key")
	}
	times := []time.Time{
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		t0,
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		if a, b := timeKey(times[i-1]), timeKey(times[i]); a >= b {
			t.Errorf("timeKey(%v)=%x >= timeKey(%v)=%x, want increasing", times[i-1], a, times[i], b)
		}
	}
	for _, tm := range times {
		if got := keyTime(timeKey(tm)); !got.Equal(tm) {
			t.Errorf("keyTime(timeKey(%v)) = %v", tm, got)
		}
	}
}

func TestSampleCodec(t *testing.T) {
	cases := []struct {
		name  string
		s     drivers.Sample
		batch string
		bytes []byte // nil: not checked
	}{
		{"good", drivers.Sample{Value: 12.5, Quality: drivers.QualityGood}, "",
			[]byte{2, 0x40, 0x29, 0, 0, 0, 0, 0, 0, 1, 0}},
		{"bad with reason and batch", drivers.Sample{Value: 0, Quality: drivers.QualityBadCommFailure, Reason: "i/o"}, "B1",
			[]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 'B', '1', 'i', '/', 'o'}},
		{"NaN", drivers.Sample{Value: math.NaN(), Quality: drivers.QualityBadOutOfRange}, "B-001", nil},
		{"negative inf", drivers.Sample{Value: math.Inf(-1), Quality: drivers.QualityUncertainStale}, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := appendSample(nil, c.s, c.batch)
			if c.bytes != nil && string(b) != string(c.bytes) {
				t.Errorf("encoded % x, want % x", b, c.bytes)
			}
			got, err := decodeSample(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			same := got.Value == c.s.Value || (math.IsNaN(got.Value) && math.IsNaN(c.s.Value))
			if !same || got.Quality != c.s.Quality || got.Reason != c.s.Reason || got.batch != c.batch {
				t.Errorf("got %+v, want %+v batch %q", got, c.s, c.batch)
			}
		})
	}
	// Format 1 (schema 1 databases) has no batch ID.
	v1 := []byte{1, 0x40, 0x29, 0, 0, 0, 0, 0, 0, 2, 'x'}
	if got, err := decodeSample(v1); err != nil || got.Value != 12.5 || got.Reason != "x" || got.batch != "" {
		t.Errorf("format 1: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{{9, 1, 2}, {2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 'a'}} {
		if _, err := decodeSample(bad); err == nil {
			t.Errorf("decodeSample(% x): want error", bad)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	h := openTest(t, Options{Dir: dir})
	h.Start(context.Background())

	tags := []string{"shredder1.motor.current", "press1.pressure", "tank2.level"}
	const perTag = 30
	for i := 0; i < perTag; i++ {
		batch := make([]drivers.Sample, 0, len(tags))
		for j, tag := range tags {
			batch = append(batch, drivers.Sample{
				Tag: tag, Value: float64(100*j + i), Quality: drivers.QualityGood,
				Time: t0.Add(time.Duration(i) * time.Second),
			})
		}
		h.Samples(batch)
	}
	// A bad sample keeps its quality and reason; a NaN is stored as is.
	h.Samples([]drivers.Sample{
		{Tag: "press1.pressure", Value: 0, Quality: drivers.QualityBadCommFailure, Reason: "timeout", Time: t0.Add(perTag * time.Second)},
		{Tag: "tank2.level", Value: math.NaN(), Quality: drivers.QualityBadOutOfRange, Time: t0.Add(perTag * time.Second)},
		{Tag: "", Value: 1, Time: t0}, // rejected
	})

	events := []Event{
		{Time: t0.Add(2 * time.Second), Kind: EventBatch, BatchID: "B2", Name: "started", User: "ann"},
		{Time: t0.Add(1 * time.Second), Kind: EventAlarm, Unit: "shredder1", Name: "jam", Message: "shredder jammed", Values: map[string]float64{"current_a": 88.5}},
		{Time: t0.Add(2 * time.Second), Kind: EventPhase, BatchID: "B2", Name: "phase:shred"},
		{Time: t0.Add(10 * time.Second), Kind: EventCommand, Name: "hold", User: "bob"},
	}
	for _, e := range events {
		h.Event(e)
	}

	h.SaveBatch(BatchRecord{ID: "B2", Recipe: "kitchen", State: "running", Start: t0.Add(2 * time.Second)})
	h.SaveBatch(BatchRecord{ID: "B1", Recipe: "market", State: "complete", Start: t0.Add(-time.Hour), End: t0.Add(-time.Minute), KgReceived: 1200})
	h.SaveBatch(BatchRecord{ID: "", Recipe: "no id"}) // rejected

	// Read through the running process's Store once the writer got there.
	wantSamples := uint64(len(tags)*perTag + 2)
	waitFor(t, 10*time.Second, "samples stored", func() bool {
		st := h.Stats()
		return st.StoredSamples == wantSamples && st.StoredEvents == uint64(len(events)) && st.StoredBatches == 2
	})
	live, err := h.Store().Samples("press1.pressure", t0, t0.Add(time.Hour))
	if err != nil || len(live) != perTag+1 {
		t.Fatalf("live Store().Samples: %d samples, err %v; want %d", len(live), err, perTag+1)
	}
	if err := h.Store().Close(); err != nil {
		t.Fatalf("Store().Close on the historian's store: %v", err)
	}

	// Upsert: B2 completes later; saved in a separate commit.
	h.SaveBatch(BatchRecord{ID: "B2", Recipe: "kitchen", State: "complete", Start: t0.Add(2 * time.Second), End: t0.Add(time.Hour), KgReceived: 950,
		Phases: []PhaseRecord{{Name: "shred", Start: t0.Add(2 * time.Second), End: t0.Add(30 * time.Minute)}}})
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := h.Stats()
	if st.StoredSamples != wantSamples || st.StoredEvents != 4 || st.StoredBatches != 3 || st.Dropped != 0 || st.Rejected != 2 {
		t.Errorf("Stats = %+v; want %d samples, 4 events, 3 batch saves stored, 0 dropped, 2 rejected", st, wantSamples)
	}
	if st.Influx != nil || st.Queued != 0 {
		t.Errorf("Stats = %+v; want no InfluxDB and nothing queued", st)
	}

	s, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	defer s.Close()

	t.Run("samples by time range", func(t *testing.T) {
		// [t0+5s, t0+10s) holds seconds 5..9.
		got, err := s.Samples("shredder1.motor.current", t0.Add(5*time.Second), t0.Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("got %d samples, want 5: %+v", len(got), got)
		}
		for k, smp := range got {
			want := drivers.Sample{Tag: "shredder1.motor.current", Value: float64(5 + k), Quality: drivers.QualityGood, Time: t0.Add(time.Duration(5+k) * time.Second)}
			if smp.Tag != want.Tag || smp.Value != want.Value || smp.Quality != want.Quality || !smp.Time.Equal(want.Time) {
				t.Errorf("sample %d = %+v, want %+v", k, smp, want)
			}
		}
		all, err := s.Samples("press1.pressure", time.Time{}, t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != perTag+1 {
			t.Fatalf("press1.pressure: got %d samples, want %d", len(all), perTag+1)
		}
		last := all[len(all)-1]
		if last.Quality != drivers.QualityBadCommFailure || last.Reason != "timeout" || last.Value != 0 {
			t.Errorf("last press1.pressure sample = %+v, want bad:comm_failure with reason timeout", last)
		}
		nan, err := s.Samples("tank2.level", t0.Add(perTag*time.Second), t0.Add(perTag*time.Second+1))
		if err != nil || len(nan) != 1 || !math.IsNaN(nan[0].Value) || nan[0].Quality != drivers.QualityBadOutOfRange {
			t.Errorf("tank2.level NaN sample = %+v, %v; want one NaN bad:out_of_range", nan, err)
		}
		none, err := s.Samples("no.such.tag", time.Time{}, t0.Add(time.Hour))
		if err != nil || len(none) != 0 {
			t.Errorf("unknown tag: %v, %v; want nothing, no error", none, err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		got, err := s.Tags()
		if err != nil {
			t.Fatal(err)
		}
		want := "press1.pressure,shredder1.motor.current,tank2.level"
		if strings.Join(got, ",") != want {
			t.Errorf("Tags = %v, want %s", got, want)
		}
	})

	t.Run("events", func(t *testing.T) {
		got, err := s.Events(t0, t0.Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// In time order; the two at t0+2s in the order they came; the one
		// at t0+10s is outside [from, to).
		want := []string{"jam", "started", "phase:shred"}
		if len(got) != len(want) {
			t.Fatalf("got %d events %+v, want %v", len(got), got, want)
		}
		for i, e := range got {
			if e.Name != want[i] {
				t.Errorf("event %d = %q, want %q", i, e.Name, want[i])
			}
			if e.Line != "L1" {
				t.Errorf("event %d line = %q, want L1 (filled in)", i, e.Line)
			}
		}
		if got[0].Values["current_a"] != 88.5 || got[0].Unit != "shredder1" || got[0].Message != "shredder jammed" {
			t.Errorf("alarm event = %+v", got[0])
		}
		all, err := s.Events(time.Time{}, t0.Add(time.Hour))
		if err != nil || len(all) != 4 {
			t.Errorf("all events: %d, %v; want 4", len(all), err)
		}
	})

	t.Run("batches upserted and ordered by start", func(t *testing.T) {
		got, err := s.Batches()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d batches %+v, want 2", len(got), got)
		}
		if got[0].ID != "B1" || got[1].ID != "B2" {
			t.Errorf("order = %s, %s; want B1, B2", got[0].ID, got[1].ID)
		}
		b2 := got[1]
		if b2.State != "complete" || b2.KgReceived != 950 || len(b2.Phases) != 1 || b2.Phases[0].Name != "shred" || b2.Line != "L1" {
			t.Errorf("B2 = %+v; want the upserted complete record", b2)
		}
	})
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	h := openTest(t, Options{Dir: dir})
	_ = h

	_, err := Open(Options{Dir: dir, Line: "L1"})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err = %v, want ErrInUse", err)
	}
	want := "data directory " + dir + " is in use by another pretreat process"
	if err.Error() != want {
		t.Errorf("second Open: %q, want %q", err, want)
	}
	if _, err := OpenStore(dir); !errors.Is(err, ErrInUse) {
		t.Errorf("OpenStore while open for writing: err = %v, want ErrInUse", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("OpenStore after Close: %v", err)
	}
	s.Close()
}

func TestOpenStoreMissing(t *testing.T) {
	_, err := OpenStore(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no pretreat data") {
		t.Errorf("OpenStore of an empty dir: %v, want a 'no pretreat data' error", err)
	}
}

func TestOpenOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{Line: "L1"}, "Dir is empty"},
		{"no line", Options{Dir: "x"}, "Line is empty"},
		{"negative retention", Options{Dir: "x", Line: "L1", Retention: -time.Hour}, "negative"},
		{"bad influx url", Options{Dir: "x", Line: "L1", Influx: &InfluxOptions{URL: "127.0.0.1:8086", Bucket: "plant/autogen"}}, "InfluxDB URL"},
		{"no bucket", Options{Dir: "x", Line: "L1", Influx: &InfluxOptions{URL: "http://127.0.0.1:8086"}}, "bucket is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Dir = filepath.Join(t.TempDir(), c.opts.Dir)
			if c.name == "no dir" {
				c.opts.Dir = ""
			}
			_, err := Open(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v, want error containing %q", err, c.want)
			}
		})
	}
}

func TestInfluxOptionsRedactToken(t *testing.T) {
	o := InfluxOptions{URL: "http://admin:s3cret@127.0.0.1:8086", Bucket: "plant/autogen", Token: "admin:s3cret"}
	for _, s := range []string{o.String(), o.LogValue().String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("token leaked: %s", s)
		}
	}
}

func TestRetentionSweep(t *testing.T) {
	now := t0.Add(10 * 24 * time.Hour)
	h := openTest(t, Options{Clock: fixedClock{now}, Retention: time.Hour})

	var in []drivers.Sample
	for i := 0; i < 25000; i++ { // more than one sweep transaction
		in = append(in, drivers.Sample{Tag: "old.only", Value: float64(i), Quality: drivers.QualityGood, Time: now.Add(-3*time.Hour + time.Duration(i)*time.Millisecond)})
	}
	h.Samples(in[:20000])
	h.Samples(in[20000:])
	h.Samples([]drivers.Sample{
		{Tag: "mixed.tag", Value: 1, Quality: drivers.QualityGood, Time: now.Add(-2 * time.Hour)},
		{Tag: "mixed.tag", Value: 2, Quality: drivers.QualityGood, Time: now.Add(-30 * time.Minute)},
		{Tag: "mixed.tag", Value: 3, Quality: drivers.QualityGood}, // zero time: gets the clock's
	})
	h.flushStore()
	if st := h.Stats(); st.StoredSamples != 25003 || st.Dropped != 0 {
		t.Fatalf("before sweep: %+v", st)
	}
	h.sweep()

	s := h.Store()
	old, err := s.Samples("old.only", time.Time{}, now.Add(time.Hour))
	if err != nil || len(old) != 0 {
		t.Errorf("old.only after sweep: %d samples, %v; want none", len(old), err)
	}
	kept, err := s.Samples("mixed.tag", time.Time{}, now.Add(time.Hour))
	if err != nil || len(kept) != 2 || kept[0].Value != 2 || kept[1].Value != 3 || !kept[1].Time.Equal(now) {
		t.Errorf("mixed.tag after sweep: %+v, %v; want values 2 and 3 (at clock time)", kept, err)
	}
	tags, err := s.Tags()
	if err != nil || strings.Join(tags, ",") != "mixed.tag" {
		t.Errorf("Tags after sweep = %v, %v; want only mixed.tag (emptied buckets removed)", tags, err)
	}
}
