package drivers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff paces reconnection attempts: the first wait is Start, each further
// failure doubles it up to Max, and Reset starts over after a good exchange.
// The zero value is not usable; the Run goroutine owns it.
type Backoff struct {
	Start, Max time.Duration
	cur        time.Duration
}

// Next returns the wait before the next attempt and doubles the one after.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Start
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	return b.cur
}

// Reset makes the next wait Start again.
func (b *Backoff) Reset() { b.cur = 0 }

// Reconnect backoff used by both protocol drivers: 200 ms doubling to 5 s
// keeps a dead device cheap without leaving a recovered one dark for long.
const (
	BackoffStart = 200 * time.Millisecond
	BackoffMax   = 5 * time.Second
)

// WriteQueueSize bounds the writes waiting for a device's goroutine. The
// scan writes a handful of outputs per period; a full queue means the device
// is stuck, and Write says so instead of blocking the scan.
const WriteQueueSize = 64

// WriteRequest is one queued write.
type WriteRequest struct {
	Point int     // index into the device's points
	Tag   string  // the point's tag, for the result
	Value float64 // engineering units
	// Gen is the connection generation when the write was queued (0 while
	// disconnected). A write runs only on that same connection, so that a
	// command issued before an outage is never replayed after it.
	Gen uint64
	// Corrected marks a write the driver made by itself: a poll read back
	// another value than the controller last wrote on this connection, and
	// the driver wrote the controller's value again at once.
	Corrected bool
	// ReadBack is what the poll read, for a Corrected write.
	ReadBack float64
}

// Shell is the protocol-independent part of a device: its name and
// collaborators, the write queue tagged with connection generations, the
// health counters and the Run guard. The Modbus and OPC UA devices each hold
// one; the goroutine that owns the connection calls Connected and
// Disconnected and drains Writes. All methods are safe for concurrent use
// unless they say otherwise.
type Shell struct {
	kind    string // "modbus" or "opcua", for messages
	name    string
	clock   Clock
	results chan<- WriteResult
	log     *slog.Logger

	writes  chan WriteRequest
	gen     atomic.Uint64 // current connection generation, 0 while disconnected
	nextGen atomic.Uint64
	running atomic.Bool

	mu     sync.Mutex // guards health
	health Health
}

// NewShell returns the shell of device name speaking kind ("modbus",
// "opcua"). A nil clock means WallClock, a nil logger discards; results may
// be nil.
func NewShell(kind, name string, clock Clock, results chan<- WriteResult, log *slog.Logger) *Shell {
	if clock == nil {
		clock = WallClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Shell{
		kind:    kind,
		name:    name,
		clock:   clock,
		results: results,
		log:     log.With("device", name),
		writes:  make(chan WriteRequest, WriteQueueSize),
	}
}

// Name is the device name.
func (s *Shell) Name() string { return s.name }

// Clock is the plant clock samples are stamped with.
func (s *Shell) Clock() Clock { return s.clock }

// Log is the device's logger.
func (s *Shell) Log() *slog.Logger { return s.log }

// Errorf formats an error prefixed with the device, e.g. `modbus device
// "vfd": ...`; %w works as in fmt.Errorf.
func (s *Shell) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s device %q: "+format, append([]any{s.kind, s.name}, args...)...)
}

// Health returns a snapshot of the connection's health.
func (s *Shell) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	h.Connected = s.gen.Load() != 0
	return h
}

// Enqueue queues a write for the connection's goroutine and returns at once,
// or fails with ErrQueueFull.
func (s *Shell) Enqueue(point int, tag string, value float64) error {
	select {
	case s.writes <- WriteRequest{Point: point, Tag: tag, Value: value, Gen: s.gen.Load()}:
		return nil
	default:
		return s.Errorf("%w (%d pending)", ErrQueueFull, WriteQueueSize)
	}
}

// Writes is the queue the connection's goroutine drains.
func (s *Shell) Writes() <-chan WriteRequest { return s.writes }

// Connected starts a new connection generation (writes queued from now on
// run on it) and returns it.
func (s *Shell) Connected() uint64 {
	g := s.nextGen.Add(1)
	s.gen.Store(g)
	return g
}

// Disconnected marks the device disconnected: writes queued from now on
// fail with ErrNotConnected.
func (s *Shell) Disconnected() { s.gen.Store(0) }

// Generation returns the current connection generation: a new number at
// every (re)connection, and after a unit that stopped answering answers
// again; 0 while disconnected. A controller that sees it change knows the
// device may have restarted and that its outputs must be written again.
func (s *Shell) Generation() uint64 { return s.gen.Load() }

// Current reports whether w was queued on the connection that is up now.
func (s *Shell) Current(w WriteRequest) bool { return w.Gen != 0 && w.Gen == s.gen.Load() }

// Report sends a write outcome without blocking; a result that does not fit
// in the channel is logged and dropped.
func (s *Shell) Report(w WriteRequest, err error) {
	if err != nil {
		s.log.Warn(s.kind+" write failed", "tag", w.Tag, "value", w.Value, "err", err)
	}
	if s.results == nil {
		return
	}
	select {
	case s.results <- WriteResult{Tag: w.Tag, Value: w.Value, Err: err, Time: s.clock.Now(), Gen: w.Gen, Corrected: w.Corrected, ReadBack: w.ReadBack}:
	default:
		s.log.Warn("write result dropped: results channel full", "tag", w.Tag)
	}
}

// RejectStale reports a write queued on another connection (or while
// disconnected) as failed with ErrNotConnected and returns true; it returns
// false for a write that may run now.
func (s *Shell) RejectStale(w WriteRequest) bool {
	if s.Current(w) {
		return false
	}
	s.Report(w, s.Errorf("write %s: %w when the write was queued", w.Tag, ErrNotConnected))
	return true
}

// FailQueued fails every queued write with ErrNotConnected. The connection's
// goroutine calls it while it has no connection.
func (s *Shell) FailQueued() {
	for {
		select {
		case w := <-s.writes:
			s.Report(w, s.Errorf("write %s: %w", w.Tag, ErrNotConnected))
		default:
			return
		}
	}
}

// Sleep waits d, failing writes that arrive meanwhile. It returns false when
// ctx is done first.
func (s *Shell) Sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case w := <-s.writes:
			s.Report(w, s.Errorf("write %s: %w", w.Tag, ErrNotConnected))
		case <-timer.C:
			return true
		}
	}
}

// Begin guards Run against a second concurrent call; End releases it.
func (s *Shell) Begin() error {
	if !s.running.CompareAndSwap(false, true) {
		return s.Errorf("Run is already running")
	}
	return nil
}

// End releases the guard taken by Begin.
func (s *Shell) End() { s.running.Store(false) }

// CountRequest counts one request sent (or connection attempt).
func (s *Shell) CountRequest() {
	s.mu.Lock()
	s.health.Requests++
	s.mu.Unlock()
}

// CountSuccess records an answered request at the current plant time.
func (s *Shell) CountSuccess() {
	now := s.clock.Now()
	s.mu.Lock()
	s.health.LastOK = now
	s.mu.Unlock()
}

// CountFailure records a failed request and its error.
func (s *Shell) CountFailure(err error) {
	s.mu.Lock()
	s.health.Failures++
	s.health.LastError = err.Error()
	s.mu.Unlock()
}
