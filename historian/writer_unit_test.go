package historian

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

func TestLineProtocol(t *testing.T) {
	ts := time.Unix(0, 1741932000123456789)
	cases := []struct {
		name string
		rec  sampleRec
		want string
		why  rejectReason
	}{
		{"plain", sampleRec{s: drivers.Sample{Tag: "press.current", Value: 12.5, Quality: drivers.QualityGood, Time: ts}},
			"process,line=L\\ 1,quality=good,tag=press.current,unit=press value=12.5 1741932000123456789\n", accepted},
		{"batch and class not tags, reason, escapes", sampleRec{s: drivers.Sample{Tag: "a=b,c.d e", Value: -1e21, Quality: drivers.QualityBadCommFailure,
			Reason: "say \"hi\"\\\nbye", Time: ts}, batch: "B 1", class: "food,mixed"},
			`process,line=L\ 1,quality=bad:comm_failure,tag=a\=b\,c.d\ e,unit=a\=b\,c value=-1000000000000000000000,reason="say \"hi\"\\ bye" 1741932000123456789` + "\n", accepted},
		{"NaN", sampleRec{s: drivers.Sample{Tag: "a.b", Value: math.NaN(), Time: ts}}, "", rejectNonFinite},
		{"+Inf", sampleRec{s: drivers.Sample{Tag: "a.b", Value: math.Inf(1), Time: ts}}, "", rejectNonFinite},
		{"year 2300", sampleRec{s: drivers.Sample{Tag: "a.b", Value: 1, Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}, "", rejectTimeOfRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := appendSampleLine(nil, "L 1", &c.rec)
			if string(got) != c.want || why != c.why {
				t.Errorf("got %q (%d), want %q (%d)", got, why, c.want, c.why)
			}
		})
	}
	ev := Event{Kind: "alarm", Line: "L1", Unit: "press", BatchID: "B1", Name: "jam", Message: `a "b"`,
		Values: map[string]float64{"name": 1, "z": 2, "a": 0.5}}
	got, why := appendEventLine(nil, &ev, "catering", ts.UnixNano())
	want := `event,batch=B1,kind=alarm,line=L1,unit=press,waste_class=catering message="a \"b\"",name="jam",a=0.5,value_name=1,z=2 1741932000123456789` + "\n"
	if string(got) != want || why != accepted {
		t.Errorf("event: got %q, want %q", got, want)
	}
	if got, why := appendEventLine([]byte("x"), &Event{Kind: "command", Line: "L1"}, "", 1); string(got) != "x" || why != rejectEmpty {
		t.Errorf("empty event: %q %d, want nothing written and rejectEmpty", got, why)
	}
}

// TestEncoderChunksAndEventTimes: chunks hold at most chunkPoints points,
// are gzip members whose concatenation is the whole line protocol, and two
// events of one series at the same instant get distinct times.
func TestEncoderChunksAndEventTimes(t *testing.T) {
	enc := newEncoder("L1", 3)
	var samples []sampleRec
	for i := range 7 {
		samples = append(samples, sampleRec{s: drivers.Sample{Tag: "a.b", Value: float64(i), Time: time.Unix(0, int64(i))}})
	}
	samples = append(samples, sampleRec{s: drivers.Sample{Tag: "a.b", Value: math.NaN(), Time: time.Unix(0, 9)}})
	at := time.Unix(100, 0)
	events := []eventRec{{e: Event{Kind: "phase", Line: "L1", Name: "end", Time: at}}, {e: Event{Kind: "phase", Line: "L1", Name: "start", Time: at}}}
	chunks, res := enc.encode(samples, events)
	if res.points != 9 || res.nonFinite != 1 || len(chunks) != 3 {
		t.Fatalf("encode: %d chunks, %+v; want 3 chunks of 9 points, 1 non-finite", len(chunks), res)
	}
	var all bytes.Buffer
	for _, c := range chunks {
		if c.Points > 3 {
			t.Errorf("chunk of %d points, want <= 3", c.Points)
		}
		all.Write(c.Data)
	}
	zr, err := gzip.NewReader(&all) // multistream: the members read as one
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if len(lines) != 9 || !strings.HasSuffix(lines[7], " 100000000000") || !strings.HasSuffix(lines[8], " 100000000001") {
		t.Errorf("line protocol:\n%s\nwant 9 lines, the two events 1 ns apart", text)
	}
}

func TestSampling(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	type in struct {
		sec float64
		v   float64
		q   drivers.Quality
	}
	good := drivers.QualityGood
	cases := []struct {
		name string
		pol  Sampling
		in   []in
		want []bool
	}{
		{"all", Sampling{}, []in{{0, 1, good}, {1, 1, good}}, []bool{true, true}},
		{"on change, deadband 0.5, heartbeat 10 s", Sampling{Mode: SampleOnChange, Deadband: 0.5, MaxInterval: 10 * time.Second},
			[]in{{0, 1, good}, {1, 1.4, good}, {2, 1.6, good}, {3, 1.2, good}, {4, 1.0, good}, {5, 1.0, drivers.QualityBadCommFailure}, {6, 1.0, good}, {16, 1.0, good}, {17, math.NaN(), good}},
			[]bool{true, false, true, false, true, true, true, true, true}},
		{"on change, no deadband, no heartbeat", Sampling{Mode: SampleOnChange},
			[]in{{0, 1, good}, {100, 1, good}, {101, 1.0000001, good}}, []bool{true, false, true}},
		{"periodic 5 s", Sampling{Mode: SamplePeriodic, Interval: 5 * time.Second},
			[]in{{0, 1, good}, {2, 2, good}, {4.9, 3, good}, {5, 4, good}, {6, 5, drivers.QualityUncertainStale}, {7, 5, drivers.QualityUncertainStale}, {11, 5, drivers.QualityUncertainStale}},
			[]bool{true, false, false, true, true, false, true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, err := newSampler(map[string]Sampling{"x.y": c.pol}, Sampling{Mode: SamplePeriodic, Interval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range c.in {
				smp := drivers.Sample{Tag: "x.y", Value: s.v, Quality: s.q, Time: t0.Add(time.Duration(s.sec * float64(time.Second)))}
				if got := sp.keep(&smp); got != c.want[i] {
					t.Errorf("sample %d (%+v): keep = %v, want %v", i, s, got, c.want[i])
				}
			}
		})
	}
	if sp, err := newSampler(nil, Sampling{}); sp != nil || err != nil {
		t.Errorf("all-default sampler = %v, %v; want nil (no cost)", sp, err)
	}
	if _, err := newSampler(map[string]Sampling{"a": {Mode: SamplePeriodic}}, Sampling{}); err == nil {
		t.Error("periodic without interval: want an error")
	}
}

// TestSamplingThroughHistorian: the policy applies to both destinations and
// the left-out samples are counted.
func TestSamplingThroughHistorian(t *testing.T) {
	h := openTest(t, Options{Sampling: map[string]Sampling{"a.b": {Mode: SampleOnChange, Deadband: 1}}})
	for i := range 10 {
		h.Samples([]drivers.Sample{
			{Tag: "a.b", Value: float64(i) * 0.6, Quality: drivers.QualityGood, Time: t0.Add(time.Duration(i) * time.Second)},
			{Tag: "c.d", Value: 1, Quality: drivers.QualityGood, Time: t0.Add(time.Duration(i) * time.Second)},
		})
	}
	h.flushStore()
	// a.b: 0, 1.2, 2.4, 3.6, 4.8 recorded (each > 1 from the last recorded).
	if st := h.Stats(); st.StoredSamples != 15 || st.SampledOut != 5 {
		t.Errorf("Stats = %+v, want 15 stored, 5 sampled out", st)
	}
}

// TestRetryAfter: a 503 with Retry-After: 2 keeps the batch, and the next
// attempt comes no sooner than the server asked (longer than the first
// backoff step of 1 s). The requests are gzip.
func TestRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	var encodings []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		at = append(at, time.Now())
		encodings = append(encodings, r.Header.Get("Content-Encoding"))
		n := len(at)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	h := openTest(t, Options{Influx: &InfluxOptions{URL: srv.URL, Bucket: "plant/autogen", FlushInterval: 10 * time.Millisecond}})
	h.Start(context.Background())
	h.Samples([]drivers.Sample{{Tag: "a.b", Value: 1, Quality: drivers.QualityGood, Time: t0}})
	// Written counts the acknowledged write; the outbox deletes the chunk
	// just after it, so wait for both.
	waitFor(t, 10*time.Second, "delivery after the retry", func() bool {
		st := h.Stats().Influx
		return st.Written == 1 && st.Outbox.PendingPoints == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2 {
		t.Fatalf("%d requests, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 2*time.Second {
		t.Errorf("retried after %v, want >= 2 s (Retry-After)", gap)
	}
	if encodings[0] != "gzip" || encodings[1] != "gzip" {
		t.Errorf("Content-Encoding %q, want gzip", encodings)
	}
	if st := h.Stats().Influx; st.Errors != 1 || st.Outbox.PendingPoints != 0 {
		t.Errorf("Influx stats %+v; want 1 error and nothing pending", st)
	}
}

// TestOutboxFullAlarm: with InfluxDB away and a tiny budget, the outbox
// drops the oldest points, counts them, raises an alarm event once, and the
// newest points are what it keeps.
func TestOutboxFullAlarm(t *testing.T) {
	dead := hangingServer(t)
	h := openTest(t, Options{Influx: &InfluxOptions{URL: dead, Bucket: "plant/autogen",
		OutboxMaxBytes: 4096, BatchSize: 50, CloseTimeout: time.Millisecond, WriteTimeout: time.Second}})
	for i := range 20 {
		var scan []drivers.Sample
		for j := range 50 {
			scan = append(scan, drivers.Sample{Tag: "a.b", Value: float64(i*50 + j), Quality: drivers.QualityGood, Time: t0.Add(time.Duration(i*50+j) * time.Millisecond)})
		}
		h.Samples(scan)
		h.influx.commit() // one commit per scan, as the committer would
	}
	in := h.Stats().Influx
	if !in.OutboxFull || in.Outbox.DroppedPoints == 0 || in.Outbox.PendingBytes > 4096 {
		t.Fatalf("Influx stats %+v; want full, points dropped, within 4096 bytes", in)
	}
	// 1000 samples and the alarm event itself, which goes to InfluxDB too.
	if in.Outbox.AcceptedPoints != 1001 || int64(in.Outbox.AcceptedPoints-in.Outbox.DroppedPoints) != in.Outbox.PendingPoints {
		t.Errorf("accepted %d, dropped %d, pending %d: want 1001 accepted = dropped + pending", in.Outbox.AcceptedPoints, in.Outbox.DroppedPoints, in.Outbox.PendingPoints)
	}
	// The newest points are kept: the oldest kept chunk is recent.
	b, err := h.influx.ob.Peek(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(bytes.NewReader(b.Data))
	first, _ := io.ReadAll(zr)
	if strings.Contains(string(first), "value=0 ") {
		t.Errorf("oldest kept point is the first one: nothing was dropped from the front:\n%s", first)
	}
	h.flushStore()
	evs, err := h.Store().Events(time.Time{}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	alarms := 0
	for _, e := range evs {
		if e.Kind == EventAlarm && e.Name == "historian_outbox_full" {
			alarms++
		}
	}
	if alarms != 1 {
		t.Errorf("%d outbox-full alarm events, want 1 (once per episode): %+v", alarms, evs)
	}
}
