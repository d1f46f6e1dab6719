package controller

import (
	"sync/atomic"

	"github.com/pretreat/pretreat/controller/api"
)

// publisher tells readers that a new status was published without ever
// making the scan wait: each publish closes the current channel and puts a
// fresh one in its place. A reader takes the channel (Published), waits
// for it to close and then reads Status; a reader that was busy simply
// sees the latest status next time.
type publisher struct {
	ch  atomic.Pointer[chan struct{}]
	seq uint64 // scan goroutine only
}

// storeStatus numbers st, makes it the current status and wakes every waiter.
// It is the last step of publish; it never blocks.
func (e *Engine) storeStatus(st *api.Status) {
	e.pub.seq++
	st.Seq = e.pub.seq
	e.status.Store(st)
	next := make(chan struct{})
	if old := e.pub.ch.Swap(&next); old != nil {
		close(*old)
	}
}

// Published returns a channel that is closed at the next publish of the
// status (about every 100 ms wall while the scan runs, at once after a
// command or event). Take a new one after each wake-up.
func (e *Engine) Published() <-chan struct{} {
	for {
		if p := e.pub.ch.Load(); p != nil {
			return *p
		}
		c := make(chan struct{})
		if e.pub.ch.CompareAndSwap(nil, &c) {
			return c
		}
	}
}
