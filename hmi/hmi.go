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
	// DefaultRefresh is the status poll period when Options.Refresh is zero
	// and the controller serves no status stream.
	DefaultRefresh = 500 * time.Millisecond
	// DefaultIdleLock is how long the HMI waits without a key before it
	// locks and asks for a sign-in again.
	DefaultIdleLock = 15 * time.Minute
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
	// Login, when set, signs in at start without asking (for example with
	// the token of $PRETREAT_TOKEN). Otherwise the HMI opens on its sign-in
	// form. The user and role of every command come from the sign-in.
	Login *api.Login
	// Refresh is the period at which the status is fetched when the
	// controller serves no status stream; default DefaultRefresh.
	Refresh time.Duration
	// NoStream makes the HMI poll instead of subscribing to the status
	// stream.
	NoStream bool
	// IdleLock locks the HMI after that long without a key; default
	// DefaultIdleLock; negative: never.
	IdleLock time.Duration
	// Trainer, when set, gives the HMI's training menu its faults to inject
	// and clear (the demo's test rig).
	Trainer Trainer
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
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.IdleLock == 0 {
		opts.IdleLock = DefaultIdleLock
	}
	h := newHMI(&client, opts)
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
	opts    Options
	refresh time.Duration
	app     *tview.Application

	// mu guards closing. Holding it while calling workers.Add, and setting
	// closing under it before workers.Wait, guarantees that no worker is
	// added once the shutdown has begun waiting.
	mu      sync.Mutex
	closing bool
	workers sync.WaitGroup // poller, recipe fetches, command senders

	// pendingMu guards pending and queued: the newest status result not
	// yet applied, and whether an update to apply it is queued.
	pendingMu sync.Mutex
	pending   *statusResult
	queued    bool

	// ctx is run's context, for work started from key handlers.
	ctx context.Context

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
	h.ctx = ctx
	h.spawn(ctx, h.feed)
	h.spawn(ctx, h.idleWatch)
	h.startLogin(ctx)

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

// feed keeps the screen's status current: it subscribes to the
// controller's status stream and, while that is not possible, polls every
// refresh period, trying the stream again every streamRetry. Every result,
// good or failed, goes to the event goroutine; statuses that arrive while
// the previous one has not been drawn yet replace it (latest wins), so a
// busy terminal never queues stale pictures.
func (h *hmi) feed(ctx context.Context) {
	var lastTry time.Time
	for ctx.Err() == nil {
		if !h.opts.NoStream && time.Since(lastTry) >= streamRetry {
			lastTry = time.Now()
			err := h.client.Stream(ctx, func(st *api.Status) { h.deliver(st, nil, "stream") })
			if ctx.Err() != nil {
				return
			}
			if err != nil && !errors.Is(err, api.ErrStreamUnsupported) {
				h.deliver(nil, err, "stream")
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, h.statusTimeout())
		st, err := h.client.Status(rctx)
		rcancel()
		if ctx.Err() != nil {
			return
		}
		h.deliver(st, err, "polling")
		select {
		case <-ctx.Done():
			return
		case <-time.After(h.refresh):
		}
	}
}

// streamRetry is how often a polling HMI tries the status stream again.
const streamRetry = 5 * time.Second

// deliver hands one result to the event goroutine, coalescing: while an
// update is queued and not yet applied, a newer one replaces it.
func (h *hmi) deliver(st *api.Status, err error, via string) {
	h.pendingMu.Lock()
	h.pending = &statusResult{st: st, err: err, via: via, at: time.Now()}
	queued := h.queued
	h.queued = true
	h.pendingMu.Unlock()
	if queued {
		return
	}
	h.app.QueueUpdateDraw(func() {
		h.pendingMu.Lock()
		u := h.pending
		h.pending, h.queued = nil, false
		h.pendingMu.Unlock()
		if u != nil {
			h.applyStatus(u.st, u.err, u.at, u.via)
		}
	})
}

// statusResult is one status result waiting for the event goroutine.
type statusResult struct {
	st  *api.Status
	err error
	via string
	at  time.Time
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
