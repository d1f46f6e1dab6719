package historian_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

// BenchmarkInfluxThroughput is acceptance 6 of issue 7. One op is one
// sample of 50 tags. In the same run, against the same influxd, it
// measures:
//
//   - raw-pts/s, the ceiling: points as line protocol built beforehand,
//     POSTed in bodies of 5000 one after another (one connection, as our
//     writer uses) to /api/v2/write; raw-gzip-pts/s the same with bodies
//     gzipped beforehand (our writer sends gzip);
//   - pts/s: as many points handed to Historian.Samples in scans of 50 as
//     fast as the historian's memory queues allow, through the outbox
//     (encode, gzip, bbolt commit with fsync) and the writer, until
//     InfluxDB has acknowledged the last one;
//   - ratio: pts/s over raw-pts/s;
//   - outbox-B/Mpt and file-B/Mpt: the outbox's stored bytes and its
//     file's size per million points, b.N points held while no InfluxDB is
//     reachable.
//
// InfluxDB's speed drifts as its cache fills and compactions run, so the
// three are interleaved in four rounds of b.N/4 points each and summed.
// Sub-benchmark "outbox" keeps samples out of the embedded store
// (StoreSamplesWithoutInflux); "outbox+store" is the default, where the
// embedded store's writes share the machine. Run it with a fixed count:
//
//	go test -run '^$' -bench InfluxThroughput -benchtime 1000000x ./historian/
func BenchmarkInfluxThroughput(b *testing.B) {
	srv := influxtest.Start(b)
	b.Run("outbox", func(b *testing.B) { benchThroughput(b, srv, historian.StoreSamplesWithoutInflux) })
	b.Run("outbox+store", func(b *testing.B) { benchThroughput(b, srv, historian.StoreSamplesAlways) })
}

const benchTags, benchBody, benchRounds = 50, 5000, 4

// benchData hands out distinct sample times across the whole benchmark, so
// that no phase overwrites another's points.
type benchData struct {
	tags  []string
	clock time.Time
}

func newBenchData() *benchData {
	d := &benchData{clock: time.Now()}
	for i := range benchTags {
		d.tags = append(d.tags, fmt.Sprintf("unit%d.pv%d", i%5, i))
	}
	return d
}

func (d *benchData) next() time.Time { d.clock = d.clock.Add(time.Millisecond); return d.clock }

// bodies builds n points as line protocol in bodies of benchBody points,
// gzipped (BestSpeed) when gz is set.
func (d *benchData) bodies(n int, gz bool) [][]byte {
	var out [][]byte
	var body []byte
	for k := 0; k < n; {
		t := d.next().UnixNano()
		for _, tag := range d.tags {
			if k == n {
				break
			}
			body = fmt.Appendf(body, "process,line=L1,quality=good,tag=%s,unit=%s value=%s %d\n",
				tag, tag[:5], strconv.FormatFloat(float64(k)*0.25, 'f', -1, 64), t)
			k++
			if k%benchBody == 0 || k == n {
				out = append(out, body)
				body = nil
			}
		}
	}
	if gz {
		for i, body := range out {
			var zb bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
			zw.Write(body)
			zw.Close()
			out[i] = zb.Bytes()
		}
	}
	return out
}

// push hands n samples to h in scans of benchTags, pausing while its
// memory queues are half full: a benchmark of what is delivered, not of
// what is dropped.
func (d *benchData) push(h *historian.Historian, n int) {
	buf := make([]drivers.Sample, benchTags)
	for sent := 0; sent < n; {
		if sent%(benchTags*20) == 0 {
			for {
				st := h.Stats()
				if st.Queued < historian.DefaultQueueSize/2 && st.Influx.Queued < historian.DefaultQueueSize/2 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		t := d.next()
		k := min(benchTags, n-sent)
		for i := 0; i < k; i++ {
			buf[i] = drivers.Sample{Tag: d.tags[i], Value: float64(sent+i) * 0.25, Quality: drivers.QualityGood, Time: t}
		}
		h.Samples(buf[:k])
		sent += k
	}
}

func benchThroughput(b *testing.B, srv *influxtest.Server, storeSamples historian.StoreSamplesMode) {
	b.StopTimer()
	d := newBenchData()
	client := &http.Client{Timeout: time.Minute}
	writeURL := srv.URL + "/api/v2/write?bucket=" + influxtest.Bucket + "&precision=ns"
	post := func(body []byte, gz bool) {
		req, err := http.NewRequest(http.MethodPost, writeURL, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("raw write: HTTP %d", resp.StatusCode)
		}
	}
	// Defaults but FlushInterval: while a backlog exists full batches go at
	// once anyway; a short flush interval only keeps each round's last,
	// partial batch from waiting the default second.
	h, err := historian.Open(historian.Options{Dir: b.TempDir(), Line: "L1", StoreSamples: storeSamples,
		Influx: &historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, FlushInterval: 10 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	h.Start(context.Background())

	var raw, rawGzip, ours time.Duration
	done := 0
	for r := 0; r < benchRounds; r++ {
		n := b.N/benchRounds + min(1, b.N%benchRounds) // the remainder goes to the first rounds
		n = min(n, b.N-done)
		if n == 0 {
			break
		}
		for _, gz := range []bool{false, true} {
			bodies := d.bodies(n, gz)
			start := time.Now()
			for _, body := range bodies {
				post(body, gz)
			}
			if gz {
				rawGzip += time.Since(start)
			} else {
				raw += time.Since(start)
			}
		}
		b.StartTimer()
		start := time.Now()
		d.push(h, n)
		for {
			in := h.Stats().Influx
			if in.Queued == 0 && in.Written >= uint64(done+n) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		ours += time.Since(start)
		b.StopTimer()
		done += n
	}
	st := h.Stats()
	h.Close()
	if st.Dropped != 0 || st.Influx.Dropped != 0 || st.Influx.Written != uint64(b.N) {
		b.Fatalf("dropped %d (store) %d (InfluxDB), written %d of %d", st.Dropped, st.Influx.Dropped, st.Influx.Written, b.N)
	}

	// Outbox size: nothing listens at a closed port, so everything stays.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	h, err = historian.Open(historian.Options{Dir: b.TempDir(), Line: "L1", StoreSamples: historian.StoreSamplesWithoutInflux,
		Influx: &historian.InfluxOptions{URL: deadURL, Bucket: influxtest.Bucket, CloseTimeout: time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	h.Start(context.Background())
	d.push(h, b.N)
	for h.Stats().Influx.Outbox.AcceptedPoints < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	ob := h.Stats().Influx.Outbox
	h.Close()

	rate := func(d time.Duration) float64 { return float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(ours), "pts/s")
	b.ReportMetric(rate(raw), "raw-pts/s")
	b.ReportMetric(rate(rawGzip), "raw-gzip-pts/s")
	b.ReportMetric(rate(ours)/rate(raw), "ratio")
	b.ReportMetric(float64(ob.PendingBytes)*1e6/float64(b.N), "outbox-B/Mpt")
	b.ReportMetric(float64(ob.FileBytes)*1e6/float64(b.N), "file-B/Mpt")
}
