package historian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/pretreat/pretreat/historian/outbox"
	bolt "go.etcd.io/bbolt"
)

// InfluxDB measurements written by the historian.
const (
	// MeasurementProcess holds samples: tags line, unit, tag and quality
	// (one series per line, tag and quality, whichever batch runs); float
	// field value and, when the sample has one, string field reason.
	MeasurementProcess = "process"
	// MeasurementEvent holds events: tags line, kind, unit, batch and
	// waste_class (each when not empty), string fields name, message, user
	// (each when not empty), and one float field per entry of Event.Values
	// ("value_name" etc. where a key would shadow a string field).
	MeasurementEvent = "event"
)

// OutboxFile is the name of the outbox database inside the data directory.
const OutboxFile = "outbox.db"

// minRetryDelay is the first wait after a failed write; it doubles up to
// InfluxOptions.MaxRetryDelay. A server's Retry-After wins when longer, up
// to maxRetryAfter, so that a misconfigured proxy cannot park the writer
// for hours.
const (
	minRetryDelay = time.Second
	maxRetryAfter = 10 * time.Minute
	// ackInterval bounds how long delivered chunks stay in the outbox.
	ackInterval = 250 * time.Millisecond
)

// InfluxOptions configure the path to InfluxDB: the outbox on local disk
// and the writer that drains it. URL and Bucket are required; zero
// durations and sizes take the defaults named.
//
// The same options serve InfluxDB 1.8 (bucket "db/rp", token
// "user:password") and 2.x (org, bucket, API token): writes go to the v2
// write API and queries to Flux at /api/v2/query, which both serve. The
// tests run against 1.8.10; no 2.x server was available to test against.
type InfluxOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8086.
	URL string
	// Org is the organisation; "" for InfluxDB 1.8.
	Org string
	// Bucket is "database/retention-policy" for 1.8 (e.g. "plant/autogen"),
	// a bucket name for 2.x.
	Bucket string
	// Token is "user:password" or "" on 1.8, an API token on 2.x. It is
	// never logged (String and LogValue redact it). TokenFile, then
	// TokenEnv, override it when set: Open reads the file (surrounding
	// white space trimmed) or the environment variable.
	Token     string
	TokenFile string
	TokenEnv  string
	// BatchSize is the most points sent in one request (DefaultBatchSize);
	// it is also the most points in one outbox chunk.
	BatchSize int
	// FlushInterval is the longest a point waits in the outbox for a
	// fuller batch before it is sent (DefaultFlushInterval).
	FlushInterval time.Duration
	// CommitInterval is how often what was handed in is committed to the
	// outbox (DefaultCommitInterval); it bounds what a crash can lose.
	CommitInterval time.Duration
	// OutboxMaxBytes is the outbox's disk budget (DefaultOutboxBytes), and
	// OutboxOverflow what happens when it is full (drop the oldest).
	OutboxMaxBytes int64
	OutboxOverflow outbox.Overflow
	// WriteTimeout bounds one HTTP request (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// CloseTimeout bounds how long Close keeps delivering the outbox
	// (DefaultCloseTimeout); what is left stays for the next start.
	CloseTimeout time.Duration
	// MaxRetryDelay caps the backoff between failed writes
	// (DefaultMaxRetryDelay).
	MaxRetryDelay time.Duration
	// HTTPClient, when set, makes the requests (TLS settings, proxies).
	HTTPClient *http.Client
}

// String describes the options with the token redacted.
func (o InfluxOptions) String() string {
	tok := ""
	if o.Token != "" {
		tok = "<redacted>"
	}
	return fmt.Sprintf("{URL:%s Org:%s Bucket:%s Token:%s TokenFile:%s TokenEnv:%s BatchSize:%d FlushInterval:%v}",
		redactURL(o.URL), o.Org, o.Bucket, tok, o.TokenFile, o.TokenEnv, o.BatchSize, o.FlushInterval)
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

// normalize checks o without any network access, reads the token from
// TokenFile or TokenEnv, and fills defaults.
func (o *InfluxOptions) normalize() (InfluxOptions, error) {
	n := *o
	u, err := url.Parse(n.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return n, fmt.Errorf("historian: InfluxDB URL %q: want http://host:port or https://host:port", redactURL(n.URL))
	}
	if n.Bucket == "" {
		return n, errors.New(`historian: InfluxDB bucket is empty (InfluxDB 1.8: "database/retention-policy", e.g. "plant/autogen")`)
	}
	if n.BatchSize < 0 || n.FlushInterval < 0 || n.CommitInterval < 0 || n.OutboxMaxBytes < 0 ||
		n.WriteTimeout < 0 || n.CloseTimeout < 0 || n.MaxRetryDelay < 0 {
		return n, errors.New("historian: InfluxDB options: sizes and durations must not be negative")
	}
	if n.OutboxOverflow > outbox.OverflowDropNewest {
		return n, fmt.Errorf("historian: InfluxDB options: unknown outbox overflow %v", n.OutboxOverflow)
	}
	switch {
	case n.TokenFile != "":
		b, err := os.ReadFile(n.TokenFile)
		if err != nil {
			// The path is named, never the contents.
			return n, fmt.Errorf("historian: InfluxDB token file: %w", err)
		}
		n.Token = strings.TrimSpace(string(b))
	case n.TokenEnv != "":
		n.Token = os.Getenv(n.TokenEnv)
	}
	if n.BatchSize == 0 {
		n.BatchSize = DefaultBatchSize
	}
	if n.FlushInterval == 0 {
		n.FlushInterval = DefaultFlushInterval
	}
	if n.CommitInterval == 0 {
		n.CommitInterval = DefaultCommitInterval
	}
	if n.OutboxMaxBytes == 0 {
		n.OutboxMaxBytes = DefaultOutboxBytes
	}
	if n.WriteTimeout == 0 {
		n.WriteTimeout = DefaultWriteTimeout
	}
	if n.CloseTimeout == 0 {
		n.CloseTimeout = DefaultCloseTimeout
	}
	if n.MaxRetryDelay == 0 {
		n.MaxRetryDelay = DefaultMaxRetryDelay
	}
	return n, nil
}

// InfluxStats is the health of the path to InfluxDB, for the API.
type InfluxStats struct {
	// Healthy is true while the last request to InfluxDB succeeded.
	Healthy bool `json:"healthy"`
	// Queued points wait in memory for the next outbox commit.
	Queued int `json:"queued"`
	// Dropped points never reached the outbox: the memory queue was full,
	// the historian was closed, or the outbox write failed.
	Dropped uint64 `json:"dropped"`
	// Rejected points were refused before the outbox, so they can never
	// stall the writer: samples whose value is NaN or ±Inf, points with no
	// field left (an event with no name, message, user or finite value),
	// and times InfluxDB cannot store.
	RejectedNonFinite uint64 `json:"rejected_non_finite"`
	RejectedEmpty     uint64 `json:"rejected_empty"`
	RejectedBadTime   uint64 `json:"rejected_bad_time"`
	// Outbox is the durable queue: what it holds, its budget, what it
	// accepted (committed), what InfluxDB acknowledged (AckedPoints) and
	// what the budget dropped.
	Outbox outbox.Stats `json:"outbox"`
	// OutboxFull is true from a drop for lack of room until the outbox is
	// below 90% of its budget again; the historian records an alarm event
	// "historian_outbox_full" when it becomes true.
	OutboxFull   bool   `json:"outbox_full"`
	OutboxErrors uint64 `json:"outbox_errors"`
	// Written points were acknowledged by InfluxDB (a batch re-sent after
	// a lost acknowledgement counts again; InfluxDB stores it once).
	Written uint64 `json:"written"`
	// Refused points were in batches InfluxDB refused for good (HTTP 400
	// and other client errors but 401, 403, 404, 429): they are deleted so
	// that the rest can flow. With a partial write the server kept some.
	Refused uint64 `json:"refused"`
	// Requests counts write requests; Errors the failed ones, LastError
	// and LastErrorTime describe the most recent failure.
	Requests      uint64    `json:"requests"`
	Errors        uint64    `json:"errors"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
}

// influxWriter owns the outbox and the InfluxDB connection. It runs two
// goroutines: the committer moves what Samples and Event queued into the
// outbox, the sender drains the outbox to InfluxDB. Fields are grouped by
// the goroutine that owns them; Close uses them after both stopped.
type influxWriter struct {
	h        *Historian
	opts     InfluxOptions
	logURL   string // opts.URL without any password, for logs
	client   influxdb2.Client
	http     ihttp.Service
	writeURL string
	ob       *outbox.Outbox

	commitWake chan struct{} // Samples: a batch's worth is queued
	sendWake   chan struct{} // committer: the outbox grew

	// committer
	spare queue
	enc   *encoder
	full  bool

	// sender. Delivered chunks are deleted from the outbox at most every
	// ackInterval (one fsync for many requests); until then the sender
	// reads on after sentThrough. A crash in between sends them again,
	// which InfluxDB stores once.
	buf         []byte
	retryDelay  time.Duration
	retryAt     time.Time
	lastSend    time.Time
	failing     bool
	sent        bool   // sentThrough is valid
	sentThrough uint64 // last chunk InfluxDB acknowledged
	unacked     int64  // points delivered but not yet deleted
	lastAck     time.Time

	healthy, outboxFull                atomic.Bool
	written, refused, requests, errs   atomic.Uint64
	queueDropped, outboxErrors         atomic.Uint64
	rejNonFinite, rejEmpty, rejBadTime atomic.Uint64
	errMu                              sync.Mutex // guards lastErr, lastErrAt
	lastErr                            string
	lastErrAt                          time.Time
}

func newInfluxWriter(h *Historian, opts InfluxOptions) (*influxWriter, error) {
	path := filepath.Join(h.dir, OutboxFile)
	ob, err := outbox.Open(path, outbox.Options{MaxBytes: opts.OutboxMaxBytes, Overflow: opts.OutboxOverflow, LockTimeout: lockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, &dirInUseError{dir: h.dir, err: err}
		}
		return nil, fmt.Errorf("historian: %w", err)
	}
	copts := influxdb2.DefaultOptions().
		SetApplicationName("pretreat").
		SetHTTPRequestTimeout(uint(math.Ceil(opts.WriteTimeout.Seconds()))).
		SetPrecision(time.Nanosecond)
	if opts.HTTPClient != nil {
		copts.SetHTTPClient(opts.HTTPClient)
	}
	client := influxdb2.NewClientWithOptions(opts.URL, opts.Token, copts)
	svc := client.HTTPService()
	wu, err := url.Parse(svc.ServerAPIURL())
	if err == nil {
		wu, err = wu.Parse("write")
	}
	if err != nil {
		ob.Close()
		client.Close()
		return nil, fmt.Errorf("historian: InfluxDB write URL: %w", err)
	}
	// The same endpoint and parameters as the client's own write API
	// (POST /api/v2/write?org=&bucket=&precision=ns), which InfluxDB 2.x
	// serves natively and 1.8 as its 2.x-compatible endpoint.
	wu.RawQuery = url.Values{"org": {opts.Org}, "bucket": {opts.Bucket}, "precision": {"ns"}}.Encode()
	w := &influxWriter{
		h:          h,
		opts:       opts,
		logURL:     redactURL(opts.URL),
		client:     client,
		http:       svc,
		writeURL:   wu.String(),
		ob:         ob,
		commitWake: make(chan struct{}, 1),
		sendWake:   make(chan struct{}, 1),
		enc:        newEncoder(h.line, opts.BatchSize),
	}
	if st := ob.Stats(); st.PendingPoints > 0 {
		h.log.Info("outbox holds points from before; sending them first",
			"points", st.PendingPoints, "bytes", st.PendingBytes, "file", path)
	}
	return w, nil
}

func (w *influxWriter) stats() InfluxStats {
	st := InfluxStats{
		Healthy:           w.healthy.Load(),
		Dropped:           w.queueDropped.Load(),
		RejectedNonFinite: w.rejNonFinite.Load(),
		RejectedEmpty:     w.rejEmpty.Load(),
		RejectedBadTime:   w.rejBadTime.Load(),
		Outbox:            w.ob.Stats(),
		OutboxFull:        w.outboxFull.Load(),
		OutboxErrors:      w.outboxErrors.Load(),
		Written:           w.written.Load(),
		Refused:           w.refused.Load(),
		Requests:          w.requests.Load(),
		Errors:            w.errs.Load(),
	}
	w.errMu.Lock()
	st.LastError, st.LastErrorTime = w.lastErr, w.lastErrAt
	w.errMu.Unlock()
	return st
}

func (w *influxWriter) recordError(err error) {
	w.errMu.Lock()
	w.lastErr = err.Error()
	w.lastErrAt = time.Now()
	w.errMu.Unlock()
}

// runCommit is the committer goroutine: every CommitInterval, or sooner
// when a batch's worth is queued, it commits what is queued to the outbox.
func (w *influxWriter) runCommit(ctx context.Context) {
	defer w.h.wg.Done()
	tick := time.NewTicker(w.opts.CommitInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if !w.h.isClosed() {
				w.commit() // Close commits itself
			}
			return
		case <-tick.C:
		case <-w.commitWake:
		}
		w.commit()
	}
}

// commit encodes what is queued and appends it to the outbox in one
// transaction: from its return on, those points are accepted.
func (w *influxWriter) commit() {
	h := w.h
	h.mu.Lock()
	q := h.influxQ
	h.influxQ = w.spare
	h.mu.Unlock()
	defer func() {
		q.reset()
		w.spare = q
	}()
	if q.len() == 0 {
		return
	}
	chunks, res := w.enc.encodeQueue(&q)
	if res.nonFinite > 0 {
		w.rejNonFinite.Add(res.nonFinite)
	}
	if res.empty > 0 {
		w.rejEmpty.Add(res.empty)
	}
	if res.badTime > 0 {
		w.rejBadTime.Add(res.badTime)
	}
	if len(chunks) == 0 {
		return
	}
	ar, err := w.ob.Append(chunks)
	if err != nil {
		w.queueDropped.Add(uint64(res.points))
		if w.outboxErrors.Add(1) == 1 || w.outboxErrors.Load()%100 == 0 {
			h.log.Error("outbox write failed; points not accepted", "lost", res.points, "err", err)
		}
		w.recordError(err)
		return
	}
	wake(w.sendWake)
	switch {
	case ar.DroppedPoints > 0 && !w.full:
		w.full = true
		w.outboxFull.Store(true)
		msg := fmt.Sprintf("historian outbox full (%d bytes, policy %s): dropping points while InfluxDB is not taking them",
			w.opts.OutboxMaxBytes, w.opts.OutboxOverflow)
		h.log.Warn(msg, "dropped", ar.DroppedPoints, "url", w.logURL)
		h.Event(Event{Kind: EventAlarm, Name: "historian_outbox_full", Message: msg,
			Values: map[string]float64{"dropped_points": float64(ar.DroppedPoints)}})
	case w.full && ar.DroppedPoints == 0 && w.ob.Stats().PendingBytes < w.opts.OutboxMaxBytes/10*9:
		w.full = false
		w.outboxFull.Store(false)
		h.log.Info("historian outbox has room again", "dropped_total", w.ob.Stats().DroppedPoints)
		h.Event(Event{Kind: EventAlarm, Name: "historian_outbox_full_cleared",
			Message: "historian outbox has room again"})
	}
}

// ping checks once at start whether the server answers, so that Stats is
// meaningful before the first write.
func (w *influxWriter) ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	if _, err := w.client.Ping(ctx); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return
		}
		w.healthy.Store(false)
		w.recordError(err)
		w.h.log.Warn("InfluxDB not reachable; points are kept in the outbox and retried",
			"url", w.logURL, "err", err)
		return
	}
	w.healthy.Store(true)
}

// runSend is the sender goroutine: it sends the outbox's oldest points
// when a batch's worth waits or FlushInterval has passed since the last
// send, and backs off after a failure.
func (w *influxWriter) runSend(ctx context.Context) {
	defer w.h.wg.Done()
	w.ping(ctx)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		due := w.sendDue(time.Now())
		if due == 0 {
			w.sendOnce(ctx)
			continue
		}
		if w.unacked > 0 {
			w.flushAck() // idle or backing off: delete what was delivered
		}
		if due < 0 {
			due = time.Hour // empty: wait for the committer
		}
		timer.Reset(due)
		select {
		case <-ctx.Done():
			return
		case <-w.sendWake:
		case <-timer.C:
		}
	}
}

// sendDue says how long to wait before the next send: 0 now, <0 nothing
// to send.
func (w *influxWriter) sendDue(now time.Time) time.Duration {
	if now.Before(w.retryAt) {
		return w.retryAt.Sub(now)
	}
	pending := w.ob.Pending() - w.unacked
	switch {
	case pending <= 0:
		return -1
	case pending >= int64(w.opts.BatchSize):
		return 0
	}
	if wait := w.opts.FlushInterval - now.Sub(w.lastSend); wait > 0 {
		return wait
	}
	return 0
}

// sendOnce sends the oldest batch and deletes it from the outbox when
// InfluxDB acknowledged it (or refused it for good). It returns the write
// error, if any; after a retryable one it sets the backoff.
func (w *influxWriter) sendOnce(ctx context.Context) error {
	var b outbox.Batch
	var err error
	if w.sent {
		b, err = w.ob.PeekAfter(w.sentThrough, w.opts.BatchSize, w.buf)
	} else {
		b, err = w.ob.Peek(w.opts.BatchSize, w.buf)
	}
	w.buf = b.Data[:0]
	if err != nil {
		w.outboxErrors.Add(1)
		w.recordError(err)
		w.backoff(err, 0)
		return err
	}
	if b.Chunks == 0 {
		return nil
	}
	w.lastSend = time.Now()
	err = w.post(ctx, b.Data)
	if err == nil {
		w.written.Add(uint64(b.Points))
		w.healthy.Store(true)
		w.retryDelay, w.retryAt = 0, time.Time{}
		if w.failing {
			w.failing = false
			w.h.log.Info("InfluxDB writes recovered", "url", w.logURL, "pending", w.ob.Pending())
		}
		w.sent, w.sentThrough = true, b.Last
		w.unacked += int64(b.Points)
		if time.Since(w.lastAck) >= ackInterval {
			w.flushAck()
		}
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err // stopping: the batch stays in the outbox
	}
	w.errs.Add(1)
	w.healthy.Store(false)
	w.recordError(err)
	retry, after := retryable(err)
	if !retry {
		w.refused.Add(uint64(b.Points))
		w.h.log.Error("InfluxDB refused a batch; deleted it from the outbox so the rest can flow",
			"url", w.logURL, "points", b.Points, "err", err)
		w.sent, w.sentThrough = true, b.Last
		w.flushAck()
		return err
	}
	w.backoff(err, after)
	return err
}

// flushAck deletes what InfluxDB acknowledged from the outbox.
func (w *influxWriter) flushAck() {
	w.lastAck = time.Now()
	if !w.sent {
		return
	}
	if _, err := w.ob.Ack(w.sentThrough); err != nil {
		// The batches stay and are sent again: InfluxDB keeps one point per
		// series and time, so the repeat stores nothing twice.
		w.outboxErrors.Add(1)
		w.recordError(err)
		w.h.log.Error("outbox: could not delete delivered batches; they will be sent again", "err", err)
		w.sent, w.unacked = false, 0
		return
	}
	w.unacked = 0
}

// backoff schedules the next attempt: the delay doubles from
// minRetryDelay to MaxRetryDelay; a longer Retry-After wins.
func (w *influxWriter) backoff(err error, after time.Duration) {
	w.retryDelay = min(max(2*w.retryDelay, minRetryDelay), w.opts.MaxRetryDelay)
	delay := max(w.retryDelay, min(after, maxRetryAfter))
	w.retryAt = time.Now().Add(delay)
	if !w.failing {
		w.failing = true
		w.h.log.Warn("InfluxDB write failed; points stay in the outbox and are retried with backoff",
			"url", w.logURL, "pending", w.ob.Pending(), "retry_in", delay, "err", err)
	} else {
		w.h.log.Debug("InfluxDB write failed again", "pending", w.ob.Pending(), "retry_in", delay, "err", err)
	}
}

// post sends one gzip body of line protocol (the outbox's chunks are gzip
// members; concatenated they are one valid gzip stream) through the
// client's HTTP service, which adds the token and decodes errors, with
// Retry-After, into *ihttp.Error.
func (w *influxWriter) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WriteTimeout)
	defer cancel()
	w.requests.Add(1)
	perr := w.http.DoPostRequest(ctx, w.writeURL, bytes.NewReader(body), func(req *http.Request) {
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if perr != nil {
		return perr
	}
	return nil
}

// close commits what is left, gives InfluxDB CloseTimeout to take the
// outbox, and closes the client and the outbox.
func (w *influxWriter) close() error {
	w.commit()
	if w.ob.Pending()-w.unacked > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.CloseTimeout)
		for w.ob.Pending()-w.unacked > 0 && ctx.Err() == nil {
			if err := w.sendOnce(ctx); err != nil {
				break
			}
		}
		cancel()
	}
	w.flushAck()
	if st := w.ob.Stats(); st.PendingPoints > 0 {
		w.h.log.Warn("InfluxDB did not take everything before close; the rest stays in the outbox for the next start",
			"url", w.logURL, "points", st.PendingPoints, "bytes", st.PendingBytes)
	}
	w.client.Close()
	return w.ob.Close()
}

// retryable says whether a failed write may succeed later, and how long the
// server asked us to wait. Network errors and timeouts, overload and server
// errors are retried; so are authentication and "database not found",
// which a person can fix while the outbox waits. A malformed batch or
// partial write (400), a body too large (413) and other client errors
// never will.
func retryable(err error) (bool, time.Duration) {
	var he *ihttp.Error
	if !errors.As(err, &he) {
		return true, 0 // not an HTTP answer: the outbox or the network
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
