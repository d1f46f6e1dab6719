package historian

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
	"github.com/pretreat/pretreat/drivers"
)

// InfluxDB measurements written by the historian.
const (
	// MeasurementProcess holds samples: tags line, unit, tag, quality and
	// batch (while one runs), field value.
	MeasurementProcess = "process"
	// MeasurementEvent holds events: tags line, kind, unit, batch (each when
	// not empty), string fields name, message, user, and one float field
	// per entry of Event.Values.
	MeasurementEvent = "event"
)

// Retry backoff after a failed write: it starts at minRetryDelay and doubles
// up to maxRetryDelay; a server's Retry-After wins when longer.
const (
	minRetryDelay = time.Second
	maxRetryDelay = 30 * time.Second
)

// InfluxOptions configure the InfluxDB writer. URL and Bucket are required;
// zero durations and sizes take the defaults named.
type InfluxOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8086.
	URL string
	// Org is the organisation; "" for InfluxDB 1.8.
	Org string
	// Bucket is "database/retention-policy" for 1.8 (e.g. "plant/autogen"),
	// a bucket name for 2.x.
	Bucket string
	// Token is "user:password" or "" on 1.8, an API token on 2.x. It is
	// never logged (String and LogValue redact it).
	Token string
	// BatchSize is the most points sent in one request (DefaultBatchSize).
	BatchSize int
	// FlushInterval is the longest a point waits before being sent
	// (DefaultFlushInterval).
	FlushInterval time.Duration
	// MaxBacklog bounds the points kept in memory while InfluxDB does not
	// take them (DefaultMaxBacklog); beyond it the oldest are dropped.
	MaxBacklog int
	// WriteTimeout bounds one HTTP request (DefaultWriteTimeout); it is
	// rounded up to whole seconds.
	WriteTimeout time.Duration
	// CloseTimeout bounds how long Close keeps delivering what is left
	// (DefaultCloseTimeout).
	CloseTimeout time.Duration
}

// String describes the options with the token redacted.
func (o InfluxOptions) String() string {
	tok := ""
	if o.Token != "" {
		tok = "<redacted>"
	}
	return fmt.Sprintf("{URL:%s Org:%s Bucket:%s Token:%s BatchSize:%d FlushInterval:%v}",
		redactURL(o.URL), o.Org, o.Bucket, tok, o.BatchSize, o.FlushInterval)
}

// LogValue makes slog print the options with the token redacted.
func (o InfluxOptions) LogValue() slog.Value {
	return slog.StringValue(o.String())
}

// redactURL hides a password given in the URL itself, for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// normalize checks o without any network access and fills defaults.
func (o *InfluxOptions) normalize() (InfluxOptions, error) {
	n := *o
	u, err := url.Parse(n.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return n, fmt.Errorf("historian: InfluxDB URL %q: want http://host:port or https://host:port", n.URL)
	}
	if n.Bucket == "" {
		return n, errors.New(`historian: InfluxDB bucket is empty (InfluxDB 1.8: "database/retention-policy", e.g. "plant/autogen")`)
	}
	if n.BatchSize < 0 || n.FlushInterval < 0 || n.MaxBacklog < 0 || n.WriteTimeout < 0 || n.CloseTimeout < 0 {
		return n, errors.New("historian: InfluxDB options: sizes and durations must not be negative")
	}
	if n.BatchSize == 0 {
		n.BatchSize = DefaultBatchSize
	}
	if n.FlushInterval == 0 {
		n.FlushInterval = DefaultFlushInterval
	}
	if n.MaxBacklog == 0 {
		n.MaxBacklog = DefaultMaxBacklog
	}
	n.MaxBacklog = max(n.MaxBacklog, n.BatchSize)
	if n.WriteTimeout == 0 {
		n.WriteTimeout = DefaultWriteTimeout
	}
	if n.CloseTimeout == 0 {
		n.CloseTimeout = DefaultCloseTimeout
	}
	return n, nil
}

// influxRec is one point waiting for InfluxDB: a sample, or an event when
// ev is set.
type influxRec struct {
	s     drivers.Sample
	batch string
	ev    *Event
}

// influxWriter owns the InfluxDB connection. Its fields without a comment
// are used only by its goroutine, or by Close after that has stopped.
type influxWriter struct {
	h      *Historian
	opts   InfluxOptions
	logURL string // opts.URL without any password, for logs
	client influxdb2.Client
	api    api.WriteAPIBlocking
	wake   chan struct{}

	spare      queue
	backlog    []influxRec // pending points: backlog[head:]
	head       int
	points     []*write.Point
	retryDelay time.Duration
	retryAt    time.Time
	failing    bool

	backlogLen atomic.Int64 // len(backlog)-head, for Stats
	healthy    atomic.Bool  // for Stats
}

func newInfluxWriter(h *Historian, opts InfluxOptions) *influxWriter {
	copts := influxdb2.DefaultOptions().
		SetApplicationName("pretreat").
		SetHTTPRequestTimeout(uint(math.Ceil(opts.WriteTimeout.Seconds()))).
		SetBatchSize(uint(opts.BatchSize))
	client := influxdb2.NewClientWithOptions(opts.URL, opts.Token, copts)
	return &influxWriter{
		h:      h,
		opts:   opts,
		logURL: redactURL(opts.URL),
		client: client,
		api:    client.WriteAPIBlocking(opts.Org, opts.Bucket),
		wake:   make(chan struct{}, 1),
	}
}

func (w *influxWriter) pending() int { return len(w.backlog) - w.head }

// run is the InfluxDB writer goroutine.
func (w *influxWriter) run(ctx context.Context) {
	defer w.h.wg.Done()
	w.ping(ctx)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if !w.h.isClosed() {
				w.final() // Close calls final itself
			}
			return
		case <-tick.C:
		case <-w.wake:
		}
		w.pull()
		for w.pending() > 0 && ctx.Err() == nil && !time.Now().Before(w.retryAt) {
			if err := w.send(ctx); err != nil {
				break
			}
			w.pull()
		}
	}
}

// ping checks once at start whether the server answers, so that Stats is
// meaningful before the first write.
func (w *influxWriter) ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	if _, err := w.client.Ping(ctx); err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return
		}
		w.healthy.Store(false)
		w.recordError(err)
		w.h.log.Warn("InfluxDB not reachable; points are kept and retried",
			"url", w.logURL, "err", err)
		return
	}
	w.healthy.Store(true)
}

// pull moves what Samples and Event queued into the backlog, leaving out
// non-finite sample values and dropping the oldest points over MaxBacklog.
func (w *influxWriter) pull() {
	h := w.h
	h.mu.Lock()
	q := h.influxQ
	h.influxQ = w.spare
	h.mu.Unlock()

	var skipped uint64
	for i := range q.samples {
		r := &q.samples[i]
		if math.IsNaN(r.s.Value) || math.IsInf(r.s.Value, 0) {
			skipped++
			continue
		}
		w.backlog = append(w.backlog, influxRec{s: r.s, batch: r.batch})
	}
	for i := range q.events {
		e := q.events[i]
		w.backlog = append(w.backlog, influxRec{ev: &e})
	}
	q.reset()
	w.spare = q
	if skipped > 0 {
		h.nonFinite.Add(skipped)
	}

	if over := w.pending() - w.opts.MaxBacklog; over > 0 {
		clear(w.backlog[w.head : w.head+over])
		w.head += over
		h.influxDropped.Add(uint64(over))
		h.log.Warn("InfluxDB backlog full; dropped the oldest points",
			"dropped", over, "kept", w.opts.MaxBacklog)
	}
	w.compact()
}

// compact moves the pending points to the front of the backlog once the
// sent ones take half of it, and lets a large buffer go once it is empty.
func (w *influxWriter) compact() {
	switch {
	case w.head == len(w.backlog):
		if cap(w.backlog) > 16*w.opts.BatchSize {
			w.backlog = nil // release what an outage made grow
		} else {
			w.backlog = w.backlog[:0]
		}
		w.head = 0
	case w.head > 0 && w.head >= len(w.backlog)/2:
		n := copy(w.backlog, w.backlog[w.head:])
		clear(w.backlog[n:])
		w.backlog = w.backlog[:n]
		w.head = 0
	}
	w.backlogLen.Store(int64(w.pending()))
}

// advance forgets the first n pending points (sent or given up).
func (w *influxWriter) advance(n int) {
	clear(w.backlog[w.head : w.head+n])
	w.head += n
	w.compact()
}

// send writes the first BatchSize pending points. It returns nil when the
// batch is done with (written, or refused for good and counted as dropped)
// and an error when it is kept for a retry after backoff.
func (w *influxWriter) send(ctx context.Context) error {
	n := min(w.opts.BatchSize, w.pending())
	pts := w.points[:0]
	for i := w.head; i < w.head+n; i++ {
		pts = append(pts, w.point(&w.backlog[i]))
	}
	err := w.api.WritePoint(ctx, pts...)
	clear(pts)
	w.points = pts[:0]
	if err == nil {
		w.advance(n)
		w.h.influxWritten.Add(uint64(n))
		w.healthy.Store(true)
		w.retryDelay = 0
		w.retryAt = time.Time{}
		if w.failing {
			w.failing = false
			w.h.log.Info("InfluxDB writes recovered", "url", w.logURL, "pending", w.pending())
		}
		return nil
	}
	if ctx.Err() != nil {
		return err // stopping: keep the batch for Close
	}
	w.h.influxErrors.Add(1)
	w.healthy.Store(false)
	w.recordError(err)
	retry, after := retryable(err)
	if !retry {
		w.advance(n)
		w.h.influxDropped.Add(uint64(n))
		w.h.log.Error("InfluxDB refused a batch; dropped it", "url", w.logURL, "points", n, "err", err)
		return nil
	}
	switch {
	case w.retryDelay == 0:
		w.retryDelay = minRetryDelay
	default:
		w.retryDelay = min(2*w.retryDelay, maxRetryDelay)
	}
	delay := max(w.retryDelay, after)
	w.retryAt = time.Now().Add(delay)
	if !w.failing {
		w.failing = true
		w.h.log.Warn("InfluxDB write failed; keeping points and retrying with backoff",
			"url", w.logURL, "pending", w.pending(), "retry_in", delay, "err", err)
	} else {
		w.h.log.Debug("InfluxDB write failed again", "pending", w.pending(), "retry_in", delay, "err", err)
	}
	return err
}

// final delivers what is left, bounded by CloseTimeout and without backoff,
// and counts what it could not deliver as dropped.
func (w *influxWriter) final() {
	w.pull()
	if w.pending() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.CloseTimeout)
	defer cancel()
	var err error
	for w.pending() > 0 {
		if err = w.send(ctx); err != nil {
			break
		}
	}
	if n := w.pending(); n > 0 {
		w.advance(n)
		w.h.influxDropped.Add(uint64(n))
		w.healthy.Store(false)
		w.recordError(fmt.Errorf("%d points not delivered within %v of close: %w", n, w.opts.CloseTimeout, err))
		w.h.log.Warn("InfluxDB points not delivered before close", "url", w.logURL, "lost", n, "err", err)
	}
}

func (w *influxWriter) recordError(err error) {
	h := w.h
	h.errMu.Lock()
	h.lastInfluxErr = err.Error()
	h.lastInfluxAt = time.Now()
	h.errMu.Unlock()
}

// retryable says whether a failed write may succeed later, and how long the
// server asked us to wait. Network errors, overload and server errors are
// retried; so are authentication and "database not found", which a person
// can fix while the backlog waits. A malformed batch or partial write (400)
// and other client errors never will.
func retryable(err error) (bool, time.Duration) {
	var he *ihttp.Error
	if !errors.As(err, &he) {
		return false, 0 // the points could not be encoded
	}
	switch {
	case he.StatusCode == 0:
		return true, 0
	case he.StatusCode == http.StatusTooManyRequests || he.StatusCode >= 500:
		return true, time.Duration(he.RetryAfter) * time.Second
	case he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden ||
		he.StatusCode == http.StatusNotFound:
		return true, 0
	default:
		return false, 0
	}
}

// unitOf returns the part of a tag name before its first '.', or "" when
// the name has none.
func unitOf(tag string) string {
	if i := strings.IndexByte(tag, '.'); i > 0 {
		return tag[:i]
	}
	return ""
}

// Event fields that Values entries must not overwrite.
var eventStringFields = map[string]bool{"name": true, "message": true, "user": true}

// point builds the line-protocol point for r. Tags are added in key order,
// which is the order InfluxDB stores them in.
func (w *influxWriter) point(r *influxRec) *write.Point {
	if e := r.ev; e != nil {
		p := write.NewPointWithMeasurement(MeasurementEvent)
		addTag(p, "batch", e.BatchID)
		addTag(p, "kind", e.Kind)
		addTag(p, "line", e.Line)
		addTag(p, "unit", e.Unit)
		p.AddField("name", e.Name)
		if e.Message != "" {
			p.AddField("message", e.Message)
		}
		if e.User != "" {
			p.AddField("user", e.User)
		}
		for k, v := range e.Values {
			if eventStringFields[k] {
				k = "value_" + k
			}
			p.AddField(k, v)
		}
		p.SortFields()
		return p.SetTime(e.Time)
	}
	p := write.NewPointWithMeasurement(MeasurementProcess)
	addTag(p, "batch", r.batch)
	addTag(p, "line", w.h.line)
	addTag(p, "quality", r.s.Quality.String())
	addTag(p, "tag", r.s.Tag)
	addTag(p, "unit", unitOf(r.s.Tag))
	p.AddField("value", r.s.Value)
	return p.SetTime(r.s.Time)
}

// addTag adds a tag unless its value is empty, which line protocol forbids.
func addTag(p *write.Point, key, value string) {
	if value != "" {
		p.AddTag(key, value)
	}
}
