package hmi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/pretreat/pretreat/controller/api"
)

// Defaults for Options fields left zero.
const (
	// DefaultUser is recorded with commands when Options.User is empty.
	DefaultUser = "operator"
	// DefaultRefresh is the status poll period when Options.Refresh is zero.
	DefaultRefresh = 500 * time.Millisecond
)

// Timeouts for single API calls, so that a controller that accepts the
// connection but never answers shows up in the header instead of leaving the
// screen silently frozen on old values.
const (
	minStatusTimeout = 2 * time.Second // a status request gets max(4×Refresh, this)
	recipesTimeout   = 5 * time.Second
	commandTimeout   = 10 * time.Second
)

// Options configure Run.
type Options struct {
	// Client reaches the controller's API. Required. If its HTTP field is
	// nil, Run uses its own http.Client with a 5 s timeout.
	Client *api.Client
	// User is recorded with every command this HMI sends; default
	// DefaultUser.
	User string
	// Refresh is the period at which the status is fetched; default
	// DefaultRefresh.
	Refresh time.Duration
	// Screen is the terminal to draw on. Nil means the real terminal. Tests
	// pass a tcell simulation screen. Run initialises the screen and
	// finalises it before returning.
	Screen tcell.Screen
}

// Run shows the overview screen and serves the keyboard until the user quits
// with q (or Ctrl-C) or ctx is done; in both cases it stops the screen
// cleanly and returns nil. It returns an error only when the options are
// invalid or the terminal fails. Run never fails because the controller is
// unreachable: it says so in the header and keeps polling.
//
// When Run returns, every goroutine it started has ended and idle
// connections of the client's transport have been closed. Commands still in
// flight when the user quits are abandoned; the controller's audit trail
// records whether they were executed.
func Run(ctx context.Context, opts Options) error {
	if opts.Client == nil {
		return errors.New("hmi: Options.Client is nil")
	}
	client := *opts.Client // a copy, so that a missing HTTP client can be filled in
	if client.HTTP == nil {
		client.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	h := newHMI(&client, opts.User, opts.Refresh)
	if opts.Screen != nil {
		h.app.SetScreen(opts.Screen)
	}
	err := h.run(ctx)
	client.HTTP.CloseIdleConnections()
	return err
}

// hmi is one running screen. Fields are split by owner:
//
//   - set before run and then read-only: client, user, refresh, app and the
//     widget pointers;
//   - mu guards closing and the Add side of workers (lifecycle);
//   - everything in uiState belongs to tview's event goroutine and is touched
//     only from key handlers and functions passed to QueueUpdateDraw.
type hmi struct {
	client  *api.Client
	user    string
	refresh time.Duration
	app     *tview.Application

	// mu guards closing. Holding it while calling workers.Add, and setting
	// closing under it before workers.Wait, guarantees that no worker is
	// added once the shutdown has begun waiting.
	mu      sync.Mutex
	closing bool
	workers sync.WaitGroup // poller, recipe fetches, command senders

	// stoppedByUs is set on the event goroutine just before the orderly
	// Stop, so that run can tell an orderly end from a terminal failure.
	stoppedByUs atomic.Bool

	widgets
	uiState
}

// run starts the poller and the shutdown watcher, runs the application and
// waits for all of them.
//
// Shutdown order matters because QueueUpdateDraw blocks until the event loop
// has run the function: a worker that queues an update after the loop has
// ended would block forever. So quitting only cancels ctx; the stopper
// goroutine then waits for every worker to end (the loop keeps serving their
// updates meanwhile) and only then stops the application from inside the
// loop. If the loop ends some other way (terminal error), run keeps a
// headless loop going on a simulation screen until the workers are gone.
func (h *hmi) run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	h.app.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		return h.onKey(ctx, cancel, ev)
	})
	h.spawn(ctx, h.poll)

	stopperDone := make(chan struct{})
	go func() {
		defer close(stopperDone)
		<-ctx.Done()
		h.mu.Lock()
		h.closing = true
		h.mu.Unlock()
		h.workers.Wait()
		h.app.QueueUpdate(func() {
			h.stoppedByUs.Store(true)
			h.app.Stop()
		})
	}()

	err := h.app.Run()
	cancel()
	if !h.stoppedByUs.Load() {
		// The loop ended without our Stop (the terminal failed or could not
		// be opened). Serve queued updates headless until the stopper has
		// seen every worker end and stops this loop too.
		if err == nil {
			err = errors.New("hmi: the terminal closed")
		}
		h.app.SetScreen(tcell.NewSimulationScreen(""))
		_ = h.app.Run()
	}
	<-stopperDone
	return err
}

// spawn runs f on a new worker goroutine unless the shutdown has begun. It
// may be called from any goroutine.
func (h *hmi) spawn(ctx context.Context, f func(context.Context)) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing || ctx.Err() != nil {
		return false
	}
	h.workers.Add(1)
	go func() {
		defer h.workers.Done()
		f(ctx)
	}()
	return true
}

// post runs f on the event goroutine and redraws. Only workers started with
// spawn may call it: the event loop is guaranteed to run until they end.
func (h *hmi) post(f func()) {
	h.app.QueueUpdateDraw(f)
}

// statusTimeout bounds one status request.
func (h *hmi) statusTimeout() time.Duration {
	return max(4*h.refresh, minStatusTimeout)
}

// poll fetches the status every refresh period and hands each result, good
// or failed, to the event goroutine. It returns when ctx is done.
func (h *hmi) poll(ctx context.Context) {
	tick := time.NewTicker(h.refresh)
	defer tick.Stop()
	for {
		rctx, rcancel := context.WithTimeout(ctx, h.statusTimeout())
		st, err := h.client.Status(rctx)
		rcancel()
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		h.post(func() { h.applyStatus(st, err, now) })
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fetchRecipes loads the recipe list for the picker opened as generation gen.
func (h *hmi) fetchRecipes(ctx context.Context, gen int) {
	rctx, rcancel := context.WithTimeout(ctx, recipesTimeout)
	recipes, err := h.client.Recipes(rctx)
	rcancel()
	if ctx.Err() != nil {
		return
	}
	h.post(func() { h.fillPicker(gen, recipes, err) })
}

// send posts cmd and reports the controller's answer on the message line.
func (h *hmi) send(ctx context.Context, cmd api.Command) {
	rctx, rcancel := context.WithTimeout(ctx, commandTimeout)
	res, err := h.client.Send(rctx, cmd)
	rcancel()
	if ctx.Err() != nil {
		return
	}
	h.post(func() { h.showResult(cmd, res, err) })
}
