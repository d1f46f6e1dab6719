package historian_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
)

// plantWriter stands in for the controller's scan: at a fixed period it
// hands the historian one sample of each tag and, every eventEvery scans,
// one event, through the same Recorder methods the engine calls. Every
// sample's value is its sequence number (1, 2, 3… across all tags) and
// every event carries Values["seq"], so that a test can tell exactly what
// arrived. It measures each scan's lateness against its schedule.
type plantWriter struct {
	h          *historian.Historian
	period     time.Duration
	tags       []string
	eventEvery int

	mu      sync.Mutex
	samples int // last sample sequence number handed in
	events  int // last event sequence number handed in
	scans   []scanRecord
}

// scanRecord is what one scan did and when.
type scanRecord struct {
	at        time.Time // when it handed its samples in
	late      time.Duration
	lastSeq   int // last sample sequence number after this scan
	lastEvent int
}

func newPlantWriter(h *historian.Historian, period time.Duration, ntags, eventEvery int) *plantWriter {
	w := &plantWriter{h: h, period: period, eventEvery: eventEvery}
	for i := range ntags {
		w.tags = append(w.tags, fmt.Sprintf("unit%d.pv%d", i%5, i))
	}
	return w
}

// run scans until ctx is done or maxScans scans have run (a bound, so that
// the loop always stops by itself).
func (w *plantWriter) run(ctx context.Context, maxScans int) {
	buf := make([]drivers.Sample, len(w.tags))
	timer := time.NewTimer(w.period)
	defer timer.Stop()
	start := time.Now()
	next := start
	for k := 0; k < maxScans; k++ {
		next = next.Add(w.period)
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		late := now.Sub(next)
		// One consistent time per scan, as the tag table's snapshot has.
		w.mu.Lock()
		seq := w.samples
		w.mu.Unlock()
		for i, tag := range w.tags {
			seq++
			buf[i] = drivers.Sample{Tag: tag, Value: float64(seq), Quality: drivers.QualityGood, Time: now}
		}
		w.h.Samples(buf)
		ev := 0
		if w.eventEvery > 0 && k%w.eventEvery == 0 {
			w.mu.Lock()
			w.events++
			ev = w.events
			w.mu.Unlock()
			w.h.Event(historian.Event{Time: now, Kind: historian.EventAlarm, Unit: "unit0", Name: "level_high",
				Values: map[string]float64{"seq": float64(ev)}})
		}
		w.mu.Lock()
		w.samples = seq
		w.scans = append(w.scans, scanRecord{at: now, late: late, lastSeq: seq, lastEvent: w.events})
		w.mu.Unlock()
		if late > w.period { // skip the scans that are already past, as the engine does
			next = now.Truncate(time.Nanosecond)
		}
	}
}

// totals returns the last sample and event sequence numbers handed in.
func (w *plantWriter) totals() (samples, events int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples, w.events
}

// between returns how many samples were handed in by scans at from <= t < to.
func (w *plantWriter) between(from, to time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.scans {
		if !s.at.Before(from) && s.at.Before(to) {
			n += len(w.tags)
		}
	}
	return n
}

// lateness summarises the lateness of the scans at from <= t < to.
func (w *plantWriter) lateness(from, to time.Time) latenessSummary {
	return w.latenessIn([][2]time.Time{{from, to}})
}

// latenessIn summarises the lateness of the scans in any of the windows.
func (w *plantWriter) latenessIn(windows [][2]time.Time) latenessSummary {
	w.mu.Lock()
	var l []time.Duration
	for _, s := range w.scans {
		for _, win := range windows {
			if !s.at.Before(win[0]) && s.at.Before(win[1]) {
				l = append(l, s.late)
				break
			}
		}
	}
	w.mu.Unlock()
	slices.Sort(l)
	if len(l) == 0 {
		return latenessSummary{}
	}
	return latenessSummary{Scans: len(l), P50: l[len(l)/2], P99: l[len(l)*99/100], Max: l[len(l)-1]}
}

type latenessSummary struct {
	Scans         int
	P50, P99, Max time.Duration
}

func (s latenessSummary) String() string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }
	return fmt.Sprintf("%d scans, lateness p50 %s ms, p99 %s ms, max %s ms", s.Scans, ms(s.P50), ms(s.P99), ms(s.Max))
}

// recordingTransport sees every write request the historian makes: it
// checks the gzip encoding and, for each request InfluxDB answered with
// 2xx, records the sample values (sequence numbers) in the order they
// were sent.
type recordingTransport struct {
	base http.RoundTripper

	mu        sync.Mutex
	acked     []float64 // process "value" fields of acknowledged requests, in order
	ackedEvts []float64 // event "seq" fields
	requests  int
	notGzip   int
	maxPoints int
}

func (rt *recordingTransport) client() *http.Client {
	return &http.Client{Transport: rt}
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/api/v2/write") || req.Body == nil {
		return rt.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := rt.base.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	vals, evs, n, gz := parseWrite(body, req.Header.Get("Content-Encoding"))
	rt.mu.Lock()
	rt.requests++
	if !gz {
		rt.notGzip++
	}
	rt.maxPoints = max(rt.maxPoints, n)
	rt.acked = append(rt.acked, vals...)
	rt.ackedEvts = append(rt.ackedEvts, evs...)
	rt.mu.Unlock()
	return resp, nil
}

// parseWrite reads the value of every process point and the seq of every
// event point of a write body.
func parseWrite(body []byte, encoding string) (values, eventSeqs []float64, points int, gz bool) {
	var r io.Reader = bytes.NewReader(body)
	if encoding == "gzip" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, 0, false
		}
		r, gz = zr, true
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		points++
		field := " value="
		if strings.HasPrefix(line, historian.MeasurementEvent+",") {
			field = ",seq="
			if i := strings.Index(line, " seq="); i >= 0 {
				field = " seq="
			}
		}
		i := strings.Index(line, field)
		if i < 0 {
			continue
		}
		rest := line[i+len(field):]
		if j := strings.IndexAny(rest, ", "); j >= 0 {
			rest = rest[:j]
		}
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil {
			continue
		}
		if field == " value=" {
			values = append(values, v)
		} else {
			eventSeqs = append(eventSeqs, v)
		}
	}
	return values, eventSeqs, points, gz
}

// checkOrder reports the first place where acknowledged values do not
// increase, or "" when they all do.
func checkOrder(vals []float64) string {
	for i := 1; i < len(vals); i++ {
		if vals[i] <= vals[i-1] {
			return fmt.Sprintf("value %v acknowledged after %v (positions %d, %d)", vals[i], vals[i-1], i-1, i)
		}
	}
	return ""
}

// waitDrained waits until the historian has nothing queued or in the
// outbox, or fails t after timeout.
func waitDrained(t *testing.T, h *historian.Historian, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, "the outbox to drain", func() bool {
		in := h.Stats().Influx
		return in.Queued == 0 && in.Outbox.PendingPoints == 0
	})
}
