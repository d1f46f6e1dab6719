package historian_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

var base = time.Date(2025, 3, 14, 6, 0, 0, 0, time.UTC)

// plantClock is a plant clock for the tests below: samples are dated
// around base, so retention must not delete them.
type plantClock struct{}

func (plantClock) Now() time.Time { return base.Add(time.Hour) }
func (plantClock) Speed() float64 { return 1 }

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInfluxWrite writes samples and events through a Historian to a real
// InfluxDB 1.8 and checks what the server holds.
func TestInfluxWrite(t *testing.T) {
	srv := influxtest.Start(t)
	h, err := historian.Open(historian.Options{
		Dir:   t.TempDir(),
		Line:  "L1",
		Clock: plantClock{},
		Influx: &historian.InfluxOptions{
			URL: srv.URL, Bucket: influxtest.Bucket, Token: "",
			BatchSize: 50, FlushInterval: 100 * time.Millisecond,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Start(context.Background())

	tags := []string{"shredder1.motor.current", "press1.pressure", "tank2.level"}
	const perTag = 40 // the first half inside batch B-001
	for i := 0; i < perTag; i++ {
		if i == 0 {
			h.SaveBatch(historian.BatchRecord{ID: "B-001", WasteClass: "catering", Start: base})
			h.SetBatch("B-001")
		}
		if i == perTag/2 {
			h.SetBatch("")
		}
		var scan []drivers.Sample
		for j, tag := range tags {
			scan = append(scan, drivers.Sample{Tag: tag, Value: float64(j*1000+i) + 0.25, Quality: drivers.QualityGood,
				Time: base.Add(time.Duration(i) * time.Second)})
		}
		h.Samples(scan)
	}
	h.Samples([]drivers.Sample{
		{Tag: "press1.pressure", Value: 0, Quality: drivers.QualityBadCommFailure, Reason: "timeout", Time: base.Add(perTag * time.Second)},
		{Tag: "tank2.level", Value: math.NaN(), Quality: drivers.QualityBadOutOfRange, Time: base.Add(perTag * time.Second)},
		{Tag: "tank2.level", Value: math.Inf(1), Quality: drivers.QualityBadOutOfRange, Time: base.Add(perTag*time.Second + 1)},
		{Tag: "tank2.level", Value: math.Inf(-1), Quality: drivers.QualityBadOutOfRange, Time: base.Add(perTag*time.Second + 2)},
	})
	events := []historian.Event{
		{Time: base, Kind: historian.EventBatch, BatchID: "B-001", Name: "started", User: "ann", Values: map[string]float64{"target_kg": 2000}},
		{Time: base.Add(time.Second), Kind: historian.EventPhase, BatchID: "B-001", Unit: "shredder1", Name: "phase:shred"},
		{Time: base.Add(5 * time.Second), Kind: historian.EventAlarm, Unit: "shredder1", Name: "jam", Message: "shredder jammed, reversing",
			Values: map[string]float64{"current_a": 88.5, "name": 1, "bad": math.NaN()}},
		{Time: base.Add(20 * time.Second), Kind: historian.EventBatch, BatchID: "B-001", Name: "completed", Values: map[string]float64{"kg": 1234.5}},
	}
	for _, e := range events {
		h.Event(e)
	}

	wantPoints := uint64(len(tags)*perTag + 1 + 4) // samples, the bad one, events
	waitUntil(t, 20*time.Second, "points written", func() bool { return h.Stats().Influx.Written == wantPoints })
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := h.Stats()
	in := st.Influx
	if in.Written != wantPoints || in.Dropped != 0 || in.RejectedNonFinite != 3 || st.SkippedNonFinite != 1 || in.Errors != 0 || !in.Healthy ||
		in.Outbox.PendingPoints != 0 || in.Outbox.AckedPoints != wantPoints {
		t.Errorf("Stats = %+v, Influx = %+v; want %d written and acknowledged, 0 dropped, 3 non-finite samples rejected, 1 event value skipped, 0 errors, healthy", st, in, wantPoints)
	}
	if st.StoredSamples != uint64(len(tags)*perTag+4) {
		t.Errorf("StoredSamples = %d, want %d (the store keeps non-finite values)", st.StoredSamples, len(tags)*perTag+4)
	}

	db := influxtest.Database
	counts := []struct {
		query string
		want  int
	}{
		{`SELECT count("value") FROM "process"`, len(tags)*perTag + 1},
		{`SELECT count("value") FROM "process" WHERE "line" = 'L1'`, len(tags)*perTag + 1},
		// Samples have no batch or waste class tag: one series per tag.
		{`SELECT count("value") FROM "process" WHERE "batch" = 'B-001'`, 0},
		{`SELECT count("value") FROM "process" WHERE "batch" = ''`, len(tags)*perTag + 1},
		{`SELECT count("value") FROM "process" WHERE "waste_class" = ''`, len(tags)*perTag + 1},
		{`SELECT count("value") FROM "process" WHERE "unit" = 'shredder1' AND "tag" = 'shredder1.motor.current'`, perTag},
		{`SELECT count("value") FROM "process" WHERE "unit" = 'press1' AND "quality" = 'bad:comm_failure'`, 1},
		{`SELECT count("value") FROM "process" WHERE "quality" = 'good'`, len(tags) * perTag},
		{`SELECT count("name") FROM "event"`, len(events)},
		{`SELECT count("name") FROM "event" WHERE "line" = 'L1'`, len(events)},
		{`SELECT count("name") FROM "event" WHERE "batch" = 'B-001'`, 3},
		{`SELECT count("name") FROM "event" WHERE "unit" = 'shredder1'`, 2},
		{`SELECT count("name") FROM "event" WHERE "kind" = 'alarm'`, 1},
	}
	for _, c := range counts {
		if got := srv.Count(t, db, c.query); got != c.want {
			t.Errorf("%s = %d, want %d", c.query, got, c.want)
		}
	}

	for key, want := range map[string][]string{
		"line":        {"L1"},
		"unit":        {"press1", "shredder1", "tank2"},
		"batch":       nil,
		"waste_class": nil,
	} {
		series := srv.MustQuery(t, db, `SHOW TAG VALUES FROM "process" WITH KEY = "`+key+`"`)
		var got []string
		for _, s := range series {
			for _, row := range s.Values {
				got = append(got, row[1].(string))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("tag %s values = %v, want %v", key, got, want)
		}
	}

	// One sample and one event read back value for value.
	series := srv.MustQuery(t, db, `SELECT "value", "line", "unit", "quality" FROM "process" WHERE "tag" = 'press1.pressure' ORDER BY time ASC LIMIT 1`)
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("first press1.pressure point: %+v", series)
	}
	row := series[0].Values[0]
	if ts, _ := row[0].(json.Number).Int64(); ts != base.UnixNano() {
		t.Errorf("time = %v, want %d", row[0], base.UnixNano())
	}
	if v, _ := row[1].(json.Number).Float64(); v != 1000.25 || row[2] != "L1" || row[3] != "press1" || row[4] != "good" {
		t.Errorf("first press1.pressure point = %v, want [time 1000.25 L1 press1 good]", row)
	}
	series = srv.MustQuery(t, db, `SELECT "name", "message", "current_a", "value_name" FROM "event" WHERE "kind" = 'alarm'`)
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("alarm event: %+v", series)
	}
	row = series[0].Values[0]
	cur, _ := row[3].(json.Number).Float64()
	vn, _ := row[4].(json.Number).Float64()
	if row[1] != "jam" || row[2] != "shredder jammed, reversing" || cur != 88.5 || vn != 1 {
		t.Errorf("alarm event = %v, want [time jam \"shredder jammed, reversing\" 88.5 1]", row)
	}
	if n := srv.Count(t, db, `SELECT count("user") FROM "event" WHERE "user" = 'ann'`); n != 1 {
		t.Errorf("events with user ann = %d, want 1", n)
	}
}

// TestInfluxRetry starts writing to a database that does not exist yet:
// InfluxDB answers 404, the historian keeps the points and retries with
// backoff, and delivers them all once the database is created.
//
// It also sends a "user:password" token (the server has auth off and
// ignores it) and checks that the log never shows it.
func TestInfluxRetry(t *testing.T) {
	srv := influxtest.Start(t)
	var logBuf syncBuffer
	h, err := historian.Open(historian.Options{
		Dir:    t.TempDir(),
		Line:   "L2",
		Clock:  plantClock{},
		Logger: slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Influx: &historian.InfluxOptions{
			URL: srv.URL, Bucket: "late/autogen", Token: "pretreat:s3cret",
			BatchSize: 4, FlushInterval: 50 * time.Millisecond,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Start(context.Background())

	const n = 10
	for i := 0; i < n; i++ {
		h.Samples([]drivers.Sample{{Tag: "pump3.flow", Value: float64(i), Quality: drivers.QualityGood, Time: base.Add(time.Duration(i) * time.Second)}})
	}
	waitUntil(t, 10*time.Second, "a failed write", func() bool { return h.Stats().Influx.Errors > 0 })
	in := h.Stats().Influx
	if in.Healthy || in.LastError == "" || in.Written != 0 || in.Outbox.PendingPoints != n || in.Dropped != 0 {
		t.Errorf("while the database is missing: %+v; want unhealthy, an error, nothing written, %d in the outbox, none dropped", in, n)
	}

	if err := srv.CreateDatabase("late"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the retried points", func() bool { return h.Stats().Influx.Written == n })
	in = h.Stats().Influx
	if !in.Healthy || in.Dropped != 0 || in.Queued != 0 || in.Outbox.PendingPoints != 0 {
		t.Errorf("after the retry: %+v; want healthy, none dropped, none queued or pending", in)
	}
	if got := srv.Count(t, "late", `SELECT count("value") FROM "process" WHERE "line" = 'L2' AND "unit" = 'pump3'`); got != n {
		t.Errorf("points in late = %d, want %d", got, n)
	}
	h.Close()
	log := logBuf.String()
	for _, want := range []string{"InfluxDB write failed; points stay in the outbox", "database not found", "InfluxDB writes recovered"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "s3cret") {
		t.Errorf("log shows the token:\n%s", log)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
