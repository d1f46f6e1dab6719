package historian_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

// TestOutageStoreAndForward is acceptance 1 of issue 7. While a scan
// hands in 20 samples every 100 ms and an event every second, influxd is
// stopped (SIGTERM, as a service manager does) for 10 s and for 3 minutes,
// then started again on the same port and data. Every sample and event
// must arrive: counted in InfluxDB, each sequence number exactly once
// (count = count distinct = max, min = 1), everything handed in during the
// outage present, and the requests InfluxDB acknowledged carrying the
// values in the order they were handed in.
//
// The 3-minute case runs in parallel with the 10-second one; both skip
// under -short (scripts/test.sh runs them).
func TestOutageStoreAndForward(t *testing.T) {
	t.Parallel() // its own influxd; overlaps the 3-minute outage
	for _, outage := range []time.Duration{10 * time.Second, 3 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			t.Parallel()
			testOutage(t, outage)
		})
	}
}

func testOutage(t *testing.T, outage time.Duration) {
	srv := influxtest.Start(t)
	rt := &recordingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	h, err := historian.Open(historian.Options{
		Dir:  t.TempDir(),
		Line: "L1",
		Influx: &historian.InfluxOptions{
			URL: srv.URL, Bucket: influxtest.Bucket,
			WriteTimeout: 5 * time.Second, HTTPClient: rt.client(),
			// Defaults otherwise: batches of 5000, 1 s flush, 100 ms
			// commits, backoff up to 30 s.
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Start(context.Background())

	const period, ntags = 100 * time.Millisecond, 20
	w := newPlantWriter(h, period, ntags, 10)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan struct{})
	maxScans := int((outage + 2*time.Minute) / period) // a bound; stop() ends it sooner
	go func() { defer close(done); w.run(ctx, maxScans) }()

	time.Sleep(5 * time.Second)
	waitUntil(t, 10*time.Second, "writes before the outage", func() bool { return h.Stats().Influx.Written > 0 })

	down := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage)
	up := time.Now()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	inOutage := h.Stats().Influx.Outbox.PendingPoints

	time.Sleep(5 * time.Second)
	stop()
	<-done
	waitDrained(t, h, 90*time.Second)
	drained := time.Since(upAt)

	samples, events := w.totals()
	st := h.Stats()
	in := st.Influx
	t.Logf("outage %v: %d samples and %d events handed in, %d in the outbox at restart, drained %.1f s after restart; %d write requests (largest %d points), %d failed",
		outage, samples, events, inOutage, drained.Seconds(), rt.requests, rt.maxPoints, in.Errors)
	if in.Dropped != 0 || in.Outbox.DroppedPoints != 0 || in.Refused != 0 || in.RejectedNonFinite+in.RejectedEmpty+in.RejectedBadTime != 0 {
		t.Errorf("Influx stats %+v: want nothing dropped, refused or rejected", in)
	}
	if in.Errors == 0 {
		t.Errorf("no failed write during a %v outage: the outage was not seen", outage)
	}

	db := influxtest.Database
	q := func(s string) string {
		series := srv.MustQuery(t, db, s)
		if len(series) != 1 || len(series[0].Values) != 1 {
			t.Fatalf("%s: %+v", s, series)
		}
		return fmt.Sprint(series[0].Values[0][1:])
	}
	// The values are 1..samples, each exactly once.
	want := fmt.Sprintf("[%d %d 1 %d]", samples, samples, samples)
	if got := q(`SELECT count("value"), count(distinct("value")), min("value"), max("value") FROM "process" WHERE "line" = 'L1'`); got != want {
		t.Errorf("samples in InfluxDB: count, distinct, min, max = %s, want %s", got, want)
	}
	want = fmt.Sprintf("[%d %d 1 %d]", events, events, events)
	if got := q(`SELECT count("seq"), count(distinct("seq")), min("seq"), max("seq") FROM "event" WHERE "line" = 'L1'`); got != want {
		t.Errorf("events in InfluxDB: count, distinct, min, max = %s, want %s", got, want)
	}
	during := w.between(down, up)
	if during == 0 {
		t.Fatal("no samples handed in during the outage")
	}
	got := srv.Count(t, db, fmt.Sprintf(`SELECT count("value") FROM "process" WHERE time >= %d AND time < %d`, down.UnixNano(), up.UnixNano()))
	if got != during {
		t.Errorf("samples from the outage in InfluxDB: %d, want %d", got, during)
	}
	t.Logf("samples handed in during the outage: %d, in InfluxDB: %d", during, got)

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.notGzip != 0 {
		t.Errorf("%d write requests were not gzip-encoded", rt.notGzip)
	}
	if len(rt.acked) != samples || len(rt.ackedEvts) != events {
		t.Errorf("acknowledged requests carried %d samples and %d events, want %d and %d (each once)", len(rt.acked), len(rt.ackedEvts), samples, events)
	}
	if msg := checkOrder(rt.acked); msg != "" {
		t.Errorf("samples out of order: %s", msg)
	}
	if msg := checkOrder(rt.ackedEvts); msg != "" {
		t.Errorf("events out of order: %s", msg)
	}
}
