package controller

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/historian/records"
)

// until scans until cond holds, failing after limit of plant time.
func (r *engineRig) until(limit time.Duration, what string, cond func() bool) {
	r.t.Helper()
	for end := r.clock.Now().Add(limit); !cond(); r.scan() {
		if r.clock.Now().After(end) {
			r.t.Fatalf("%s: not within %s (line %s: %s)", what, limit, r.e.line.State, r.e.line.Message)
		}
	}
}

func (r *engineRig) startBatch() {
	r.t.Helper()
	r.run(2 * time.Second)
	if res := r.command(api.Command{Command: api.CommandReset, User: "op"}); !res.OK {
		r.t.Fatalf("reset: %s", res.Error)
	}
	r.run(time.Second)
	if res := r.command(api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"}); !res.OK {
		r.t.Fatalf("start: %s", res.Error)
	}
}

func (r *engineRig) spans() []records.StateSpan {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	return append([]records.StateSpan(nil), r.rec.states...)
}

// A unit fault holds the line: the Holding span and the Held span after it
// carry the first-out cause and the unit, not what the line said later;
// the spans follow one another without gaps; the operator's unhold is
// named on the span it opens.
func TestStateSpansCarryTheFirstOutCause(t *testing.T) {
	r := newEngineRig(t)
	r.startBatch()
	r.until(5*time.Minute, "feeding", func() bool { return r.e.line.Progress().Step == "feeding" })
	r.plant.V["shredder.fault"] = 1
	r.until(10*time.Second, "holding", func() bool { return r.e.line.State == line.StateHolding })
	first := r.e.line.Message
	r.plant.Bad["press.current"] = 0 // something else goes wrong while it runs empty: not the first-out
	r.until(5*time.Minute, "held", func() bool { return r.e.line.State == line.StateHeld })
	delete(r.plant.Bad, "press.current")
	r.plant.V["shredder.fault"] = 0
	r.run(time.Second)
	if res := r.command(api.Command{Command: api.CommandUnhold, User: "alice"}); !res.OK {
		t.Fatalf("unhold: %s", res.Error)
	}
	r.run(time.Second)

	sp := r.spans()
	var states []string
	for i, s := range sp {
		states = append(states, s.State)
		if i > 0 && !sp[i-1].End.Equal(s.Start) {
			t.Errorf("gap between %s (end %v) and %s (start %v)", sp[i-1].State, sp[i-1].End, s.State, s.Start)
		}
		if i < len(sp)-1 && s.End.IsZero() {
			t.Errorf("span %d (%s) not closed", i, s.State)
		}
	}
	find := func(state string) *records.StateSpan {
		for i := range sp {
			if sp[i].State == state {
				return &sp[i]
			}
		}
		t.Fatalf("no %s span in %v", state, states)
		return nil
	}
	batchID := r.rec.batchIDs()[0]
	for _, st := range []string{"Holding", "Held"} {
		s := find(st)
		if s.Cause != first || s.Unit != "shredder" || s.BatchID != batchID {
			t.Errorf("%s span: cause %q unit %q batch %q; want %q, shredder, %s", st, s.Cause, s.Unit, s.BatchID, first, batchID)
		}
	}
	if first == "" || find("Execute").User != "op" {
		t.Errorf("first-out %q; spans %+v", first, sp)
	}
	if last := sp[len(sp)-1]; !last.End.IsZero() || last.State != "Execute" || last.User != "alice" {
		t.Errorf("last span %+v, want the open Execute after alice's unhold", last)
	}
	// Shutdown closes the open span.
	r.e.shutdown()
	if sp := r.spans(); sp[len(sp)-1].End.IsZero() {
		t.Error("span still open after shutdown")
	}
}

func (m *memRecorder) batchIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.batches {
		ids = append(ids, id)
	}
	return ids
}

func (r *engineRig) deliver(d records.Delivery) error {
	reply := make(chan error, 1)
	if d.Time.IsZero() {
		d.Time = r.clock.Now()
	}
	r.e.delivs <- deliveryReq{d: d, reply: reply}
	r.scan()
	return <-reply
}

// Two deliveries, one batch that takes all of the first and part of the
// second; the next batch takes the rest of the second, and what it
// receives beyond that stays unallocated. A restarted engine rebuilds its
// queue from the stored deliveries.
func TestDeliveriesAllocatedFirstInFirstOut(t *testing.T) {
	r := newEngineRig(t)
	r.run(time.Second)
	if err := r.deliver(records.Delivery{Ticket: "T1", Supplier: "Canteen A", WasteClass: "catering", GrossKg: 12250, TareKg: 12000, NetKg: 250}); err != nil {
		t.Fatal(err)
	}
	r.clock.add(time.Minute)
	if err := r.deliver(records.Delivery{Ticket: "T2", Supplier: "Market B", WasteClass: "catering", GrossKg: 9300, TareKg: 9000, NetKg: 300}); err != nil {
		t.Fatal(err)
	}
	if err := r.deliver(records.Delivery{Ticket: "T1", Supplier: "x", WasteClass: "catering", NetKg: 1}); !errors.Is(err, api.ErrTicketExists) {
		t.Fatalf("second T1: %v, want ErrTicketExists", err)
	}
	r.startBatch()
	r.until(3*time.Minute, "received", func() bool { _, _, ok := r.e.line.ReceivedKg(); return ok })
	r.scan()
	b1 := r.e.line.Batch()
	if len(b1.Deliveries) != 2 {
		t.Fatalf("shares at the end of receive: %+v, want T1 and T2", b1.Deliveries)
	}
	recv := b1.Deliveries[0].Kg + b1.Deliveries[1].Kg
	if b1.Deliveries[0].Ticket != "T1" || b1.Deliveries[0].Kg != 250 || b1.Deliveries[0].Supplier != "Canteen A" ||
		b1.Deliveries[1].Ticket != "T2" || math.Abs(recv-b1.KgReceived) > 1e-6 {
		t.Fatalf("shares %+v for %g kg received", b1.Deliveries, b1.KgReceived)
	}
	id1 := b1.ID
	r.until(30*time.Minute, "complete", func() bool { return r.e.line.State == line.StateComplete })
	r.run(time.Second)
	r.rec.mu.Lock()
	saved := r.rec.batches[id1]
	d1, d2 := r.rec.deliveries["T1"], r.rec.deliveries["T2"]
	r.rec.mu.Unlock()
	if len(saved.Deliveries) != 2 || saved.State != records.BatchComplete {
		t.Fatalf("saved batch %s: %+v", saved.State, saved.Deliveries)
	}
	if d1.KgProcessed != 250 || len(d1.Batches) != 1 || d1.Batches[0] != id1 {
		t.Errorf("T1 after batch 1: %+v", d1)
	}
	if math.Abs(d2.KgProcessed-(saved.KgReceived-250)) > 1e-6 || len(d2.Batches) != 1 {
		t.Errorf("T2 after batch 1: processed %g of 300 (batch received %g), batches %v", d2.KgProcessed, saved.KgReceived, d2.Batches)
	}

	// A restarted engine picks T2 up where it was, not T1.
	r2 := newEngineRig(t)
	stored := []records.Delivery{d2, d1}
	r2.e.fifo, r2.e.allocID, r2.e.allocKg = nil, "", 0
	r2.e.initDeliveries(stored, nil)
	if p := r2.e.pendingDeliveries(); len(p) != 1 || p[0].Ticket != "T2" {
		t.Fatalf("rebuilt queue %+v, want T2 only", p)
	}
	if err := r2.deliver(records.Delivery{Ticket: "T1", Supplier: "x", WasteClass: "catering", NetKg: 1}); !errors.Is(err, api.ErrTicketExists) {
		t.Errorf("T1 after restart: %v, want ErrTicketExists", err)
	}
	r2.startBatch()
	r2.until(3*time.Minute, "received", func() bool { _, _, ok := r2.e.line.ReceivedKg(); return ok })
	r2.scan()
	b2 := r2.e.line.Batch()
	if len(b2.Deliveries) != 1 || b2.Deliveries[0].Ticket != "T2" || math.Abs(b2.Deliveries[0].Kg-(300-d2.KgProcessed)) > 1e-6 {
		t.Fatalf("batch 2 shares %+v, want the rest of T2 (%g kg)", b2.Deliveries, 300-d2.KgProcessed)
	}
	if p := r2.e.pendingDeliveries(); len(p) != 0 {
		t.Errorf("queue after batch 2: %+v, want empty (the rest unallocated)", p)
	}
	r2.rec.mu.Lock()
	d2b := r2.rec.deliveries["T2"]
	r2.rec.mu.Unlock()
	if math.Abs(d2b.KgProcessed-300) > 1e-6 || len(d2b.Batches) != 2 || d2b.Batches[1] != b2.ID {
		t.Errorf("T2 after batch 2: %+v", d2b)
	}
}
