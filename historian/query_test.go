package historian_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

// fixedClock is a plant clock that stands still.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
func (c fixedClock) Speed() float64 { return 1 }

// generatePlant hands h three days of data of three tags: one sample every
// 10 s with random values, 2% of them of bad quality, and eight batches of
// three waste classes with gaps between them. It returns the time span.
func generatePlant(h *historian.Historian, seed uint64) (from, to time.Time) {
	rng := rand.New(rand.NewPCG(seed, 11))
	from = time.Date(2025, 3, 14, 5, 17, 3, 0, time.UTC)
	const step = 10 * time.Second
	n := int(3 * 24 * time.Hour / step)
	to = from.Add(time.Duration(n) * step)
	tags := []string{"press.current", "pulper.level", "hopper.weight"}
	classes := []string{"catering", "market", "household"}
	batchLen, gap := n/10, n/40
	batch := -1
	var rec historian.BatchRecord
	// end saves the running batch as complete: InfluxDB's batch points
	// (written at the end) give the batches' times. Samples are at most
	// 1 s late, a step is 10 s: the batch's samples are in [Start, End).
	end := func(t time.Time) {
		rec.State, rec.End = "complete", t
		h.SaveBatch(rec)
		batch = -1
		h.SetBatch("")
	}
	buf := make([]drivers.Sample, len(tags))
	for i := 0; i < n; i++ {
		t := from.Add(time.Duration(i) * step)
		if k := i / (batchLen + gap); k < 8 {
			inBatch := i%(batchLen+gap) < batchLen
			switch {
			case inBatch && batch != k:
				batch = k
				id := fmt.Sprintf("B-%03d", k+1)
				rec = historian.BatchRecord{ID: id, WasteClass: classes[k%len(classes)], Start: t, State: "running"}
				h.SaveBatch(rec)
				h.SetBatch(id)
			case !inBatch && batch >= 0:
				end(t)
			}
		} else if batch >= 0 {
			end(t)
		}
		for j, tag := range tags {
			q := drivers.QualityGood
			v := float64(10*(j+1)) + 7*rng.NormFloat64()
			if rng.IntN(50) == 0 {
				q, v = drivers.QualityBadCommFailure, 0
			}
			// Sub-second jitter, so that bucket edges fall between samples
			// and on them.
			buf[j] = drivers.Sample{Tag: tag, Value: v, Quality: q, Time: t.Add(time.Duration(rng.IntN(3)) * 500 * time.Millisecond)}
		}
		h.Samples(buf)
	}
	h.SetBatch("")
	return from, to
}

// sameFloat compares sums and means, which two sources add up in different
// orders: equal to 1e-12 relative.
func sameFloat(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// TestQueriesStoreEqualsInflux is acceptance 5 of issue 7: the same
// generated data goes through one Historian to the embedded store and to
// a real InfluxDB; trends and aggregates from both must agree: the same
// buckets and groups, equal counts, times, minima and maxima, and sums and
// means equal to 1e-12.
func TestQueriesStoreEqualsInflux(t *testing.T) {
	t.Parallel() // its own influxd; overlaps the 3-minute outage
	srv := influxtest.Start(t)
	dir := t.TempDir()
	iopts := historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, FlushInterval: 100 * time.Millisecond}
	h, err := historian.Open(historian.Options{Dir: dir, Line: "L7",
		Clock: fixedClock{time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC)}, Influx: &iopts})
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	from, to := generatePlant(h, 42)
	waitDrained(t, h, 60*time.Second)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Dropped != 0 || st.Influx.Dropped != 0 || st.StoredSamples+8 != st.Influx.Written {
		t.Fatalf("stored %d samples, InfluxDB took %d; dropped %d / %d", st.StoredSamples, st.Influx.Written, st.Dropped, st.Influx.Dropped)
	}

	store, err := historian.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	iq, err := historian.NewInfluxQuerier(iopts, "L7")
	if err != nil {
		t.Fatal(err)
	}
	defer iq.Close()
	ctx := context.Background()

	// Odd bounds: not on a sample, a second or a bucket of the data.
	subFrom, subTo := from.Add(5*time.Hour+123456789), to.Add(-17*time.Hour-3*time.Second)
	trends := []historian.TrendQuery{
		{Tag: "press.current", From: from, To: to, Points: 1},
		{Tag: "press.current", From: from, To: to, Points: 7},
		{Tag: "pulper.level", From: from, To: to, Points: 500},
		{Tag: "hopper.weight", From: subFrom, To: subTo, Points: 333},
		{Tag: "hopper.weight", From: subFrom, To: subFrom.Add(3 * time.Minute), Points: 100}, // buckets narrower than the samples: gaps
		{Tag: "no.such.tag", From: from, To: to, Points: 10},
	}
	for _, q := range trends {
		name := fmt.Sprintf("trend %s %d points over %v", q.Tag, q.Points, q.To.Sub(q.From))
		a, errA := store.Trend(ctx, q)
		b, errB := iq.Trend(ctx, q)
		if errA != nil || errB != nil {
			t.Errorf("%s: store %v, influx %v", name, errA, errB)
			continue
		}
		if q.Tag != "no.such.tag" && len(a) == 0 {
			t.Errorf("%s: no points", name)
		}
		if len(a) != len(b) {
			t.Errorf("%s: store %d points, InfluxDB %d", name, len(a), len(b))
			continue
		}
		total := 0
		for i := range a {
			total += a[i].Count
			if !a[i].Time.Equal(b[i].Time) || a[i].Count != b[i].Count || a[i].Min != b[i].Min || a[i].Max != b[i].Max || !sameFloat(a[i].Mean, b[i].Mean) {
				t.Errorf("%s: point %d: store %+v, InfluxDB %+v", name, i, a[i], b[i])
				break
			}
		}
		t.Logf("%s: %d points, %d samples, equal", name, len(a), total)
	}

	var aggs []historian.AggregateQuery
	for _, by := range []historian.Grouping{historian.GroupByBatch, historian.GroupByWasteClass, historian.GroupByDay} {
		aggs = append(aggs,
			historian.AggregateQuery{Tag: "press.current", From: from, To: to, By: by},
			historian.AggregateQuery{Tag: "hopper.weight", From: subFrom, To: subTo, By: by, DayOffset: 8 * time.Hour})
	}
	aggs = append(aggs, historian.AggregateQuery{Tag: "pulper.level", From: from, To: to, By: historian.GroupByDay, DayOffset: -5 * time.Hour})
	for _, q := range aggs {
		name := fmt.Sprintf("aggregate %s by %v (offset %v) over %v", q.Tag, q.By, q.DayOffset, q.To.Sub(q.From))
		a, errA := store.Aggregate(ctx, q)
		b, errB := iq.Aggregate(ctx, q)
		if errA != nil || errB != nil {
			t.Errorf("%s: store %v, influx %v", name, errA, errB)
			continue
		}
		if len(a) == 0 || len(a) != len(b) {
			t.Errorf("%s: store %d rows, InfluxDB %d", name, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i].Key != b[i].Key || a[i].Count != b[i].Count || a[i].Min != b[i].Min || a[i].Max != b[i].Max ||
				!sameFloat(a[i].Sum, b[i].Sum) || !sameFloat(a[i].Mean, b[i].Mean) {
				t.Errorf("%s: row %d: store %+v, InfluxDB %+v", name, i, a[i], b[i])
			}
		}
		t.Logf("%s: %d rows equal, first %+v", name, len(a), a[0])
	}

	// The groups are what was generated: 8 batches, 3 classes, 4 days.
	for by, want := range map[historian.Grouping]int{historian.GroupByBatch: 8, historian.GroupByWasteClass: 3, historian.GroupByDay: 4} {
		rows, _ := store.Aggregate(ctx, historian.AggregateQuery{Tag: "press.current", From: from, To: to, By: by})
		if len(rows) != want {
			t.Errorf("by %v: %d rows, want %d", by, len(rows), want)
		}
	}
}

func TestQueryValidation(t *testing.T) {
	s := (*historian.Store)(nil) // validation happens before any read
	t0 := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, q := range []historian.TrendQuery{
		{From: t0, To: t0.Add(time.Hour), Points: 10},
		{Tag: "a.b", From: t0, To: t0, Points: 10},
		{Tag: "a.b", From: t0, To: t0.Add(time.Hour), Points: 0},
		{Tag: "a.b", From: t0, To: t0.Add(time.Hour), Points: historian.MaxTrendPoints + 1},
	} {
		if _, err := s.Trend(context.Background(), q); !errors.Is(err, historian.ErrBadQuery) {
			t.Errorf("Trend(%+v): %v, want ErrBadQuery", q, err)
		}
	}
	for _, q := range []historian.AggregateQuery{
		{Tag: "a.b", From: t0, To: t0.Add(-time.Hour)},
		{Tag: "a.b", From: t0, To: t0.Add(time.Hour), By: 9},
		{Tag: "a.b", From: t0, To: t0.Add(time.Hour), DayOffset: 15 * time.Hour},
	} {
		if _, err := s.Aggregate(context.Background(), q); !errors.Is(err, historian.ErrBadQuery) {
			t.Errorf("Aggregate(%+v): %v, want ErrBadQuery", q, err)
		}
	}
}
