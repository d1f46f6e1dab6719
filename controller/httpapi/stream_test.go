package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian/records"
)

// pubController is a controller that publishes statuses on demand and
// tells of each like controller.Engine, and keeps the commands it gets.
type pubController struct {
	st   atomic.Pointer[api.Status]
	ch   atomic.Pointer[chan struct{}]
	seq  atomic.Uint64
	pad  string // makes statuses big
	mu   sync.Mutex
	cmds []api.Command
	aud  []string
}

func newPubController() *pubController {
	c := &pubController{}
	ch := make(chan struct{})
	c.ch.Store(&ch)
	c.publish()
	return c
}

func (c *pubController) publish() {
	st := &api.Status{Line: "line-1", Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC).Add(time.Duration(c.seq.Load()) * 100 * time.Millisecond),
		State: "Idle", Seq: c.seq.Add(1), Message: c.pad,
		Units: []api.UnitStatus{{Name: "shredder"}, {Name: "press"}},
		Tags:  []api.TagValue{{Tag: "press.speed", Unit: "rpm", Precision: 1}}}
	c.st.Store(st)
	next := make(chan struct{})
	close(*c.ch.Swap(&next))
}

func (c *pubController) Published() <-chan struct{}         { return *c.ch.Load() }
func (c *pubController) Status() *api.Status                { return c.st.Load() }
func (c *pubController) Recipes() ([]api.RecipeInfo, error) { return nil, nil }
func (c *pubController) Submit(_ context.Context, cmd api.Command) api.CommandResult {
	c.mu.Lock()
	c.cmds = append(c.cmds, cmd)
	c.mu.Unlock()
	return api.CommandResult{OK: true}
}
func (c *pubController) Audit(cmd api.Command, user, role, msg string) {
	c.mu.Lock()
	c.aud = append(c.aud, user+" | "+msg)
	c.mu.Unlock()
}
func (c *pubController) AddDelivery(_ context.Context, d records.Delivery) (records.Delivery, error) {
	return d, nil
}
func (c *pubController) audits() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.aud...)
}
func (c *pubController) lastCommand() api.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cmds) == 0 {
		return api.Command{}
	}
	return c.cmds[len(c.cmds)-1]
}

// serve starts s on a free loopback port until the test ends (or stop).
func serve(t *testing.T, s *Server) (stop func(), served <-chan error) {
	t.Helper()
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not end")
		}
	})
	return cancel, done
}

// The stream sends the current status at once, then each published one,
// as `event: status` with one line of JSON.
func TestStreamFirstStatusThenEachPublished(t *testing.T) {
	pc := newPubController()
	s := New(pc, nil)
	serve(t, s)

	resp, err := http.Get(s.URL() + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.StatusCode != 200 {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	rd := bufio.NewReader(resp.Body)
	readEvent := func() []string {
		var lines []string
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if l == "\n" {
				return lines
			}
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	ev := readEvent()
	if len(ev) != 2 || ev[0] != "event: status" || !strings.HasPrefix(ev[1], `data: {"line":"line-1"`) || !strings.Contains(ev[1], `"seq":1`) {
		t.Fatalf("first event: %q", ev)
	}

	// Through the client, as the HMI reads it.
	c := api.NewClient(s.URL())
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() { done <- c.Stream(ctx, func(st *api.Status) { got <- st.Seq }) }()
	if seq := <-got; seq != 1 {
		t.Fatalf("first status through the client: seq %d", seq)
	}
	for want := uint64(2); want <= 5; want++ {
		pc.publish()
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("seq %d, want %d", seq, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("status %d never came", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Stream ended with %v, want nil after its ctx ended", err)
	}
}

// A controller that cannot tell of publishes is polled.
func TestStreamPollsAControllerWithoutPublished(t *testing.T) {
	pc := newPubController()
	s := New(struct{ Controller }{pc}, nil) // hides Published
	serve(t, s)
	c := api.NewClient(s.URL())
	got := make(chan uint64, 100)
	go c.Stream(t.Context(), func(st *api.Status) { got <- st.Seq })
	<-got
	pc.publish()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case seq := <-got:
			if seq == 1 {
				continue // the first status again: the poller's first look may repeat it
			}
			if seq != 2 {
				t.Fatalf("seq %d, want 2", seq)
			}
			return
		case <-deadline:
			t.Fatal("a published status never came by polling")
		}
	}
}

// One stream more than the cap is answered 503 with a JSON error.
func TestStreamCapAnswers503(t *testing.T) {
	pc := newPubController()
	s := New(pc, nil, WithMaxStreams(2))
	serve(t, s)
	c := api.NewClient(s.URL())
	var started sync.WaitGroup
	for range 2 {
		started.Add(1)
		var once sync.Once
		go c.Stream(t.Context(), func(*api.Status) { once.Do(started.Done) })
	}
	started.Wait()
	err := c.Stream(t.Context(), func(*api.Status) {})
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !strings.Contains(ae.Message, "too many status streams are open (at most 2)") {
		t.Fatalf("third stream: %v", err)
	}
}

// A subscriber that does not read skips statuses and is dropped after the
// stale time; a reading one meanwhile gets the latest statuses and the
// publisher is never held up.
func TestStreamSlowSubscriberIsDroppedAndBlocksNoOne(t *testing.T) {
	pc := newPubController()
	pc.pad = strings.Repeat("x", 256<<10) // fills socket buffers quickly
	pc.publish()
	s := New(pc, nil)
	s.hub.stale = time.Second
	serve(t, s)

	// The slow one: asks for the stream and never reads.
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
	for deadline := time.Now().Add(2 * time.Second); s.hub.count() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("slow subscriber never subscribed")
		}
	}
	c := api.NewClient(s.URL())
	var last atomic.Uint64
	var n atomic.Int64
	go c.Stream(t.Context(), func(st *api.Status) { last.Store(st.Seq); n.Add(1) })
	start := time.Now()
	for range 60 {
		pc.publish()
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("60 publishes took %v: the publisher was held up", d)
	}
	want := pc.Status().Seq
	for deadline := time.Now().Add(3 * time.Second); last.Load() != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the reading subscriber got seq %d, want the latest %d", last.Load(), want)
		}
	}
	for deadline := time.Now().Add(3 * time.Second); s.hub.count() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want the slow one dropped", s.hub.count())
		}
	}
	t.Logf("reader got %d of %d statuses", n.Load(), want)
}

// An idle stream gets keepalive comments.
func TestStreamKeepalive(t *testing.T) {
	pc := newPubController()
	s := New(pc, nil)
	s.hub.keepalive = 50 * time.Millisecond
	serve(t, s)
	resp, err := http.Get(s.URL() + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == ": keepalive" {
			return
		}
	}
	t.Fatal("no keepalive")
}

// When Serve's context ends, open streams end and Serve returns promptly.
func TestStreamEndsWithServe(t *testing.T) {
	pc := newPubController()
	s := New(pc, []plant.User{{Name: "olga", Role: plant.RoleOperator, TokenSHA256: sha("olga-token")}})
	stop, served := serve(t, s)
	c := api.NewClient(s.URL())
	first := make(chan struct{})
	var once sync.Once
	ended := make(chan error, 1)
	go func() { ended <- c.Stream(t.Context(), func(*api.Status) { once.Do(func() { close(first) }) }) }()
	<-first
	t0 := time.Now()
	stop()
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("the stream did not end with the server")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return")
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("shutdown with an open stream took %v", d)
	}
}
