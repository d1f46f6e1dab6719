package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pretreat/pretreat/controller/api"
)

// Stream defaults.
const (
	// DefaultMaxStreams is how many status streams may be open at once.
	DefaultMaxStreams = 32
	// streamKeepalive is how often an idle stream gets a comment line, so
	// that proxies and clients see it is alive.
	streamKeepalive = 15 * time.Second
	// streamStale is how long a subscriber may leave a status untaken (or
	// a write unfinished) before it is dropped.
	streamStale = 30 * time.Second
	// streamPoll is how often the broadcaster looks for a new status when
	// the controller cannot tell it of one (no Published method).
	streamPoll = 100 * time.Millisecond
)

// publisher is implemented by a controller that tells of each published
// status (controller.Engine): the channel closes at the next publish.
type publisher interface {
	Published() <-chan struct{}
}

// hub fans each published status out to the stream subscribers. One
// broadcaster goroutine encodes a status once; every subscriber has a
// one-slot mailbox in which the latest frame replaces one not yet taken,
// so a slow subscriber skips statuses and never holds up anyone else.
type hub struct {
	max       int
	stale     time.Duration
	keepalive time.Duration

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	last []byte // the latest frame, for a new subscriber
	seq  uint64
}

type subscriber struct {
	mail    chan []byte   // one slot: latest wins
	gone    chan struct{} // closed when the hub drops the subscriber
	drained atomic.Int64  // wall time (Unix ns) the handler last took a frame or finished a write
	once    sync.Once
}

func (s *subscriber) drop() { s.once.Do(func() { close(s.gone) }) }

func newHub(max int) *hub {
	if max <= 0 {
		max = DefaultMaxStreams
	}
	return &hub{max: max, stale: streamStale, keepalive: streamKeepalive, subs: map[*subscriber]struct{}{}}
}

// frame encodes a status as one server-sent event.
func frame(st *api.Status) ([]byte, error) {
	data, err := json.Marshal(st) // one line: Marshal escapes newlines in strings
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(data) + 24)
	b.WriteString("event: status\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes(), nil
}

// run is the broadcaster: at every publish (or poll) it encodes the new
// status once and posts it to every subscriber, until ctx is done; then it
// drops every subscriber so that their handlers end.
func (h *hub) run(ctx context.Context, c Controller) {
	defer func() {
		h.mu.Lock()
		for s := range h.subs {
			s.drop()
			delete(h.subs, s)
		}
		h.mu.Unlock()
	}()
	pub, _ := c.(publisher)
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	var last *api.Status
	for {
		var wake <-chan struct{}
		if pub != nil {
			wake = pub.Published()
		}
		if st := c.Status(); st != nil && st != last && (last == nil || st.Seq == 0 || st.Seq != last.Seq) {
			last = st
			if f, err := frame(st); err == nil {
				h.post(f, st.Seq)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C: // also sweeps stale subscribers while nothing is published
			h.sweep()
		}
	}
}

// post puts f in every mailbox, replacing a frame not yet taken, and drops
// subscribers that have taken nothing for the stale time.
func (h *hub) post(f []byte, seq uint64) {
	now := time.Now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.seq = f, seq
	for s := range h.subs {
		select {
		case <-s.mail: // not taken: the new one replaces it
			if now-s.drained.Load() > int64(h.stale) {
				s.drop()
				delete(h.subs, s)
				continue
			}
		default:
		}
		select {
		case s.mail <- f:
		default:
		}
	}
}

// sweep drops subscribers with a frame left untaken for the stale time.
func (h *hub) sweep() {
	now := time.Now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if len(s.mail) > 0 && now-s.drained.Load() > int64(h.stale) {
			s.drop()
			delete(h.subs, s)
		}
	}
}

// subscribe adds a subscriber with the latest frame in its mailbox, or
// returns nil when the hub is full.
func (h *hub) subscribe(first []byte) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.max {
		return nil
	}
	s := &subscriber{mail: make(chan []byte, 1), gone: make(chan struct{})}
	s.drained.Store(time.Now().UnixNano())
	if h.last != nil {
		first = h.last
	}
	if first != nil {
		s.mail <- first
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.drop()
}

// count is the number of open streams.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// stream serves GET /api/v1/stream: the status as server-sent events, the
// current one at once, then each one published (a slow client skips
// some), with a keepalive comment when nothing was sent for a while.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	var first []byte
	if st := s.engine.Status(); st != nil {
		first, _ = frame(st)
	}
	sub := s.hub.subscribe(first)
	if sub == nil {
		errJSON(w, http.StatusServiceUnavailable, "too many status streams are open (at most %d); poll GET /api/v1/status instead", s.hub.max)
		return
	}
	defer s.hub.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	keep := time.NewTicker(s.hub.keepalive)
	defer keep.Stop()
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.hub.stale))
		if _, err := w.Write(b); err != nil {
			return false
		}
		if err := rc.Flush(); err != nil {
			return false
		}
		sub.drained.Store(time.Now().UnixNano())
		return true
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-sub.gone:
			return
		case f := <-sub.mail:
			sub.drained.Store(time.Now().UnixNano())
			if !write(f) {
				return
			}
			keep.Reset(s.hub.keepalive)
		case <-keep.C:
			if !write([]byte(": keepalive\n\n")) {
				return
			}
		}
	}
}
