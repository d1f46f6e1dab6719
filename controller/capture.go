package controller

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/historian/records"
)

// What the engine captures besides the scan's samples, events and batch
// records: the line's PackML state over time (state spans with their
// first-out cause) and the deliveries received, allocated first in, first
// out to the batches that process them.

// deliveryTolerance is the mass below which what is left of a delivery,
// or of a batch's received mass, is taken as nothing (a weighbridge reads
// to a few hundred grams at best).
const deliveryTolerance = 0.5

type deliveryReq struct {
	d     records.Delivery
	reply chan error
}

// spanState is the open state span and what the engine needs to close it.
type spanState struct {
	open  bool
	state line.LineState
	span  records.StateSpan
}

// openSpan opens a span for the line's current state at now, with the
// causes found in events (the Step that made the transition), and saves it.
func (e *Engine) openSpan(now time.Time, prev *records.StateSpan, events []line.Event) {
	st := e.line.State
	sp := records.StateSpan{Line: e.cfg.Line, State: st.String(), Start: now}
	if b := e.line.Batch(); b != nil {
		sp.BatchID = b.ID
	}
	switch st {
	case line.StateHeld, line.StateStopped, line.StateAborted:
		// The state an acting state leads to keeps its first-out cause:
		// what held the line, not what it said later.
		if prev != nil && (prev.State == line.StateHolding.String() && st == line.StateHeld ||
			prev.State == line.StateStopping.String() && st == line.StateStopped ||
			prev.State == line.StateAborting.String() && st == line.StateAborted) {
			sp.Cause, sp.Unit, sp.User = prev.Cause, prev.Unit, prev.User
			if sp.BatchID == "" {
				sp.BatchID = prev.BatchID
			}
			break
		}
		fallthrough
	case line.StateHolding, line.StateStopping, line.StateAborting:
		sp.Cause = e.line.Message
		for _, ev := range events {
			if ev.Kind == records.EventBatch && ev.Name == "held" && ev.Unit != "" && sp.Unit == "" {
				sp.Unit = ev.Unit
			}
		}
	}
	// An operator's command made the transition: name them.
	for _, ev := range events {
		if ev.Kind == records.EventCommand && ev.User != "" && !strings.HasSuffix(ev.Name, ":refused") {
			sp.User = ev.User
			break
		}
	}
	if prev == nil && sp.Cause == "" && st != line.StateIdle {
		// The first span of a controller: the line powers up Stopped
		// (or Held on a batch it takes up) and waits for a person.
		sp.Cause = "controller started"
	}
	if sp.BatchID == "" && prev != nil && (st == line.StateComplete || st == line.StateStopped || st == line.StateAborted) {
		sp.BatchID = prev.BatchID // the batch that just ended
	}
	e.span = spanState{open: true, state: st, span: sp}
	if e.rec != nil {
		e.rec.SaveState(sp)
	}
}

// closeSpan ends the open span at now and saves it.
func (e *Engine) closeSpan(now time.Time) *records.StateSpan {
	if !e.span.open {
		return nil
	}
	e.span.open = false
	sp := e.span.span
	sp.End = now
	if e.rec != nil {
		e.rec.SaveState(sp)
	}
	return &sp
}

// trackState closes the open span and opens the next when the line's
// state changed in this scan.
func (e *Engine) trackState(now time.Time, events []line.Event) {
	if e.span.open && e.span.state == e.line.State {
		return
	}
	prev := e.closeSpan(now)
	e.openSpan(now, prev, events)
}

// AddDelivery hands a received delivery to the scan, which queues it for
// allocation to batches and saves it. d must be checked already (the API
// does); a zero Time becomes now (plant time), an empty Line the line's.
// A ticket the engine already has gives an error matching
// api.ErrTicketExists.
func (e *Engine) AddDelivery(ctx context.Context, d records.Delivery) (records.Delivery, error) {
	if d.Time.IsZero() {
		d.Time = e.clock.Now()
	}
	if d.Line == "" {
		d.Line = e.cfg.Line
	}
	d.Batches, d.KgProcessed = nil, 0
	req := deliveryReq{d: d, reply: make(chan error, 1)}
	select {
	case e.delivs <- req:
	case <-ctx.Done():
		return d, fmt.Errorf("delivery not delivered to the scan: %w", ctx.Err())
	}
	select {
	case err := <-req.reply:
		return d, err
	case <-ctx.Done():
		return d, fmt.Errorf("no answer from the scan: %w", ctx.Err())
	}
}

// takeDeliveries queues the deliveries submitted since the last scan.
func (e *Engine) takeDeliveries() {
	for {
		select {
		case r := <-e.delivs:
			if e.tickets[r.d.Ticket] {
				r.reply <- fmt.Errorf("ticket %q: %w", r.d.Ticket, api.ErrTicketExists)
				continue
			}
			e.tickets[r.d.Ticket] = true
			d := r.d
			e.fifo = append(e.fifo, &d)
			if e.rec != nil {
				e.rec.SaveDelivery(d)
			}
			r.reply <- nil
		default:
			return
		}
	}
}

// allocate gives the batches their deliveries: the running batch once its
// received mass is known (its receive phase ended), and a batch that ended
// in this scan its final received mass, each up to what it has not been
// given yet.
func (e *Engine) allocate(events []line.Event) {
	if id, kg, known := e.line.ReceivedKg(); known {
		e.allocateTo(id, kg)
	}
	for _, ev := range events {
		if ev.Kind == records.EventBatch && records.BatchState(ev.Name).Ended() {
			if b := e.line.LastBatch(); b != nil && b.ID == ev.BatchID {
				e.allocateTo(b.ID, b.KgReceived)
			}
		}
	}
}

// allocateTo takes shares for batch id from the oldest deliveries until the
// batch has been given kg in all.
func (e *Engine) allocateTo(id string, kg float64) {
	if id != e.allocID {
		e.allocID, e.allocKg = id, 0
	}
	want := kg - e.allocKg
	if want < deliveryTolerance || len(e.fifo) == 0 {
		return
	}
	var shares []records.DeliveryShare
	for want >= deliveryTolerance && len(e.fifo) > 0 {
		d := e.fifo[0]
		take := math.Min(want, d.NetKg-d.KgProcessed)
		if take > 0 {
			d.KgProcessed += take
			if !slices.Contains(d.Batches, id) {
				d.Batches = append(slices.Clone(d.Batches), id)
			}
			shares = append(shares, records.DeliveryShare{Ticket: d.Ticket, Supplier: d.Supplier, WasteClass: d.WasteClass, Kg: take})
			want -= take
			e.allocKg += take
			if e.rec != nil {
				e.rec.SaveDelivery(*d)
			}
		}
		if d.NetKg-d.KgProcessed < deliveryTolerance {
			e.fifo = e.fifo[1:]
		}
	}
	if len(shares) > 0 && e.line.AddDeliveryShares(id, shares) && e.rec != nil {
		if b := e.line.BatchForSave(); b != nil && b.ID == id {
			e.rec.SaveBatch(*b)
		} else if b := e.line.LastBatch(); b != nil && b.ID == id {
			e.rec.SaveBatch(*b)
		}
	}
}

// pendingDeliveries returns the deliveries not yet fully processed, oldest
// first (tests).
func (e *Engine) pendingDeliveries() []records.Delivery {
	out := make([]records.Delivery, 0, len(e.fifo))
	for _, d := range e.fifo {
		out = append(out, *d)
	}
	return out
}

// initDeliveries builds the FIFO from the stored deliveries not yet fully
// processed, and picks up what a restored batch was already given.
func (e *Engine) initDeliveries(stored []records.Delivery, resume *records.Batch) {
	e.tickets = map[string]bool{}
	e.delivs = make(chan deliveryReq, 16)
	for _, d := range stored {
		e.tickets[d.Ticket] = true
		if d.KgProcessed < d.NetKg-deliveryTolerance {
			d.Batches = slices.Clone(d.Batches)
			e.fifo = append(e.fifo, &d)
		}
	}
	slices.SortStableFunc(e.fifo, func(a, b *records.Delivery) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Ticket, b.Ticket)
	})
	if resume != nil {
		e.allocID = resume.ID
		for _, s := range resume.Deliveries {
			e.allocKg += s.Kg
		}
	}
}
