package modbus

import (
	"fmt"
	"log"
	"log/slog"
	"slices"
	"sync"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

// linkKey identifies a connection: devices with the same transport and
// address (unit ids behind one gateway, or on one serial line) share it.
type linkKey struct {
	transport drivers.ModbusTransport
	address   string
}

// Pool holds the open connections of a set of devices so that devices at
// the same address share one. The zero value is not usable; use NewPool.
// A Pool is safe for concurrent use.
type Pool struct {
	mu    sync.Mutex // guards links; a leaf lock
	links map[linkKey]*link
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{links: map[linkKey]*link{}} }

// defaultPool serves every device created without Options.Pool, so that a
// controller's devices behind one gateway share its connection.
var defaultPool = NewPool()

// attach adds d to the connection of its address, starting the connection's
// goroutine if d is the first device there.
func (p *Pool) attach(d *Device, sink drivers.Sink) *link {
	p.mu.Lock()
	l := p.links[d.key]
	if l == nil {
		l = newLink(d)
		p.links[d.key] = l
		go l.run()
	}
	l.users++
	p.mu.Unlock()
	l.ctl <- ctlMsg{attach: d, sink: sink}
	return l
}

// detach removes d from l and waits until l's goroutine no longer touches
// it; the last device out closes the connection.
func (p *Pool) detach(l *link, d *Device) {
	done := make(chan struct{})
	l.ctl <- ctlMsg{detach: d, done: done}
	<-done
	p.mu.Lock()
	l.users--
	last := l.users == 0
	if last {
		delete(p.links, l.key)
	}
	p.mu.Unlock()
	if last {
		close(l.quit)
		<-l.done
	}
}

// wake tells the connection at key that a write is queued.
func (p *Pool) wake(key linkKey) {
	p.mu.Lock()
	l := p.links[key]
	p.mu.Unlock()
	if l != nil {
		select {
		case l.wakeup <- struct{}{}:
		default:
		}
	}
}

type ctlMsg struct {
	attach *Device
	sink   drivers.Sink
	detach *Device
	done   chan struct{}
}

// link is one Modbus connection and the goroutine that owns it: it polls
// every attached device on its own schedule, one unit id at a time, and runs
// their queued writes between polls. One device's silence costs the others
// at most one timeout per backoff step of that device, never one per poll.
type link struct {
	key   linkKey
	conf  mb.ClientConfiguration
	log   *slog.Logger
	users int // guarded by Pool.mu

	ctl    chan ctlMsg
	wakeup chan struct{}
	quit   chan struct{}
	done   chan struct{}

	// Owned by the goroutine.
	devs    []*Device // sorted by unit id, so polls group by unit
	lastErr error
}

func newLink(d *Device) *link {
	conf := d.conf
	conf.Logger = log.New(slogWriter{d.shell.Log()}, "", 0)
	return &link{
		key:    d.key,
		conf:   conf,
		log:    d.shell.Log().With("address", d.key.address, "transport", d.key.transport),
		ctl:    make(chan ctlMsg),
		wakeup: make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// run connects, serves and reconnects with backoff until quit.
func (l *link) run() {
	defer close(l.done)
	backoff := drivers.Backoff{Start: drivers.BackoffStart, Max: drivers.BackoffMax}
	outageLogged := false
	for {
		client, err := l.connect()
		if client == nil && err == nil {
			return // quit
		}
		if err == nil {
			var polled bool
			polled, err = l.serve(client)
			for _, d := range l.devs {
				d.shell.Disconnected()
			}
			client.Close()
			if err == nil {
				return // quit
			}
			if polled {
				backoff.Reset()
				outageLogged = false
			}
		}
		l.lastErr = err
		for _, d := range l.devs {
			d.commFailure(err.Error())
		}
		if !outageLogged {
			l.log.Warn("modbus connection failed; reconnecting with backoff", "err", err)
			outageLogged = true
		}
		if !l.idle(backoff.Next()) {
			return
		}
	}
}

// connect opens a new client. simonvetter's Open dials with a fixed 5 s
// timeout and no context, so it runs aside while the goroutine keeps
// answering attach, detach and quit. It returns nil, nil on quit.
func (l *link) connect() (*mb.ModbusClient, error) {
	for _, d := range l.devs {
		d.shell.CountRequest()
	}
	client, err := mb.NewClient(&l.conf)
	if err != nil {
		return nil, l.countFailure(fmt.Errorf("modbus client for %s: %w", l.conf.URL, err))
	}
	opened := make(chan error, 1)
	go func() { opened <- client.Open() }()
	for {
		select {
		case <-l.quit:
			go func() {
				if <-opened == nil {
					client.Close()
				}
			}()
			return nil, nil
		case m := <-l.ctl:
			l.control(m, false)
		case <-l.wakeup:
			l.failQueued()
		case err := <-opened:
			if err != nil {
				return nil, l.countFailure(fmt.Errorf("%w: connect %s: %w", drivers.ErrCommFailure, l.conf.URL, err))
			}
			now := time.Now()
			for _, d := range l.devs {
				d.shell.CountSuccess()
				d.shell.Connected()
				d.nextPoll, d.skipUntil, d.failing = now, time.Time{}, false
				d.unitWait.Reset()
			}
			l.log.Info("modbus connection open", "units", len(l.devs))
			return client, nil
		}
	}
}

func (l *link) countFailure(err error) error {
	for _, d := range l.devs {
		d.shell.CountFailure(err)
	}
	return err
}

// control handles an attach or detach.
func (l *link) control(m ctlMsg, connected bool) {
	if d := m.attach; d != nil {
		d.sink = m.sink
		i, _ := slices.BinarySearchFunc(l.devs, d.cfg.UnitID, func(x *Device, u uint8) int { return int(x.cfg.UnitID) - int(u) })
		l.devs = slices.Insert(l.devs, i, d)
		if connected {
			d.shell.Connected()
			d.nextPoll, d.skipUntil, d.failing = time.Now(), time.Time{}, false
			d.unitWait.Reset()
		} else {
			reason := "not connected yet"
			if l.lastErr != nil {
				reason = l.lastErr.Error()
			}
			d.commFailure(reason)
		}
	}
	if d := m.detach; d != nil {
		l.devs = slices.DeleteFunc(l.devs, func(x *Device) bool { return x == d })
		d.shell.Disconnected()
		d.shell.FailQueued()
		d.sink = nil
		close(m.done)
	}
}

// failQueued fails the queued writes of every device: there is no
// connection to run them on.
func (l *link) failQueued() {
	for _, d := range l.devs {
		d.shell.FailQueued()
	}
}

// idle waits out a backoff, handling control messages and failing writes.
// It returns false on quit.
func (l *link) idle(wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-l.quit:
			return false
		case m := <-l.ctl:
			l.control(m, false)
		case <-l.wakeup:
			l.failQueued()
		case <-timer.C:
			return true
		}
	}
}

// serve polls and writes on an open connection until the connection fails
// (error returned) or quit (nil). polled reports whether any unit answered,
// which resets the reconnect backoff.
func (l *link) serve(client *mb.ModbusClient) (polled bool, err error) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Writes first: the scan is waiting for them.
		for _, d := range l.devs {
			for drained := false; !drained; {
				select {
				case w := <-d.shell.Writes():
					if err, kind := l.on(client, d, func() (error, failure) { return d.write(client, w) }); err != nil {
						return polled, err
					} else if kind == failUnit && l.isRTU() {
						if err := l.reopen(client); err != nil {
							return polled, err
						}
					}
				default:
					drained = true
				}
			}
		}
		now := time.Now()
		next := now.Add(time.Hour)
		for _, d := range l.devs {
			if !now.Before(d.nextPoll) {
				// Keep the rhythm, but never burst to catch up after a
				// slow poll.
				d.nextPoll = d.nextPoll.Add(d.cfg.PollIntervalOrDefault())
				if d.nextPoll.Before(now) {
					d.nextPoll = now.Add(d.cfg.PollIntervalOrDefault())
				}
				if now.Before(d.skipUntil) {
					continue // the unit stopped answering; its points are bad already
				}
				err, kind := l.on(client, d, func() (error, failure) { return d.poll(client) })
				if err != nil {
					return polled, err
				}
				if kind == failException {
					polled = true
				} else if l.isRTU() {
					// A late answer would be taken for the next
					// request's: start the line afresh.
					if err := l.reopen(client); err != nil {
						return polled, err
					}
				}
			}
			due := d.nextPoll
			if d.skipUntil.After(due) {
				due = d.skipUntil
			}
			next = minTime(next, due)
		}
		timer.Reset(time.Until(next))
		select {
		case <-l.quit:
			return polled, nil
		case m := <-l.ctl:
			l.control(m, true)
		case <-l.wakeup:
		case <-timer.C:
		}
	}
}

// on runs one poll or write of d and turns a unit failure into a pause of
// that unit. It returns an error when the whole connection must be
// reopened: the link failed, or every unit on it stopped answering (the
// gateway itself may be gone).
func (l *link) on(client *mb.ModbusClient, d *Device, f func() (error, failure)) (error, failure) {
	if err := client.SetUnitId(d.cfg.UnitID); err != nil {
		return err, failLink
	}
	err, kind := f()
	switch kind {
	case failException:
		if d.failing {
			// The unit answers again: a new generation, so that writes
			// queued while it was silent are not replayed.
			d.shell.Connected()
		}
		d.failing = false
		d.skipUntil = time.Time{}
		d.unitWait.Reset()
		return nil, kind
	case failUnit:
		d.failing = true
		d.shell.Disconnected()
		d.skipUntil = time.Now().Add(d.unitWait.Next())
		if l.isRTU() {
			return nil, kind // the caller reopens the line
		}
		for _, o := range l.devs {
			if !o.failing {
				return nil, kind
			}
		}
		if len(l.devs) > 1 {
			// Every unit stopped answering: the gateway is the likely
			// culprit, so start over with a fresh connection.
			return fmt.Errorf("no unit answers: %w", err), failLink
		}
		return err, failLink
	}
	return err, failLink
}

func (l *link) isRTU() bool {
	return l.key.transport == drivers.TransportRTU || l.key.transport == drivers.TransportRTUOverTCP
}

// reopen closes and reopens an RTU link so that no late frame survives.
func (l *link) reopen(client *mb.ModbusClient) error {
	client.Close()
	if err := client.Open(); err != nil {
		return fmt.Errorf("%w: reopen %s: %w", drivers.ErrCommFailure, l.conf.URL, err)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// slogWriter routes simonvetter's log lines into the device logger at debug
// level (the library logs every failed request; the link logs what matters).
type slogWriter struct{ l *slog.Logger }

// Write logs one line of the library's output.
func (w slogWriter) Write(b []byte) (int, error) {
	msg := string(b)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Debug(msg)
	return len(b), nil
}
