package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian/records"
)

// TestEndToEndDeliveriesAndRecords: two deliveries posted to the running
// controller, one batch run on the rig; the API gives back the batch with
// its delivery shares, the deliveries with what was processed of them, the
// line's state spans, and the audit trail. The API's URL is in the data
// directory while the controller runs.
func TestEndToEndDeliveriesAndRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end batch; skipped with -short")
	}
	p, _, dir := startLine(t, 20, "")
	c := api.NewClient(p.Server.URL())
	ctx := t.Context()
	if b, err := os.ReadFile(filepath.Join(dir, APIURLFile)); err != nil || strings.TrimSpace(string(b)) != p.Server.URL() {
		t.Fatalf("api.url: %q %v, want %s", b, err, p.Server.URL())
	}
	waitGood(t, c, time.Minute)
	for _, d := range []records.Delivery{
		{Ticket: "WB-0001", Supplier: "Canteen A", Haulier: "Hauler X", WasteClass: "catering", EWC: "20 01 08", GrossKg: 12250, TareKg: 12000, Operator: "e2e"},
		{Ticket: "WB-0002", Supplier: "Market B", WasteClass: "catering", GrossKg: 9300, TareKg: 9000, Operator: "e2e"},
	} {
		got, err := c.AddDelivery(ctx, d)
		if err != nil {
			t.Fatalf("delivery %s: %v", d.Ticket, err)
		}
		if got.NetKg != d.GrossKg-d.TareKg || got.Time.IsZero() || got.Operator != "e2e" {
			t.Fatalf("delivery as recorded: %+v", got)
		}
	}
	if _, err := c.AddDelivery(ctx, records.Delivery{Ticket: "WB-0001", Supplier: "x", WasteClass: "catering", GrossKg: 1, Operator: "e2e"}); err == nil {
		t.Fatal("a ticket recorded twice")
	}
	st := runBatch(t, c, 3*time.Minute)
	id := st.LastBatch.ID

	// The records reach the store within the historian's commit interval.
	var b *records.Batch
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		b, err = c.Batch(ctx, id)
		if err == nil && b.State == records.BatchComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s: %+v %v", id, b, err)
		}
	}
	if len(b.Deliveries) != 2 || b.Deliveries[0].Ticket != "WB-0001" || b.Deliveries[0].Kg != 250 || b.Deliveries[1].Ticket != "WB-0002" {
		t.Fatalf("batch shares %+v", b.Deliveries)
	}
	taken := b.Deliveries[0].Kg + b.Deliveries[1].Kg
	if math.Abs(taken-math.Min(b.KgReceived, 550)) > 1e-6 {
		t.Errorf("shares take %.1f kg of %.1f kg received", taken, b.KgReceived)
	}
	if len(b.Metered) == 0 || b.CakeDSTarget == 0 || b.SlurryDSTarget == 0 {
		t.Errorf("batch record: metered %v, cake DS %g/%g, slurry DS %g/%g", b.Metered, b.CakeDS, b.CakeDSTarget, b.SlurryDS, b.SlurryDSTarget)
	}
	if bs, err := c.Batches(ctx, b.Start, b.Start.Add(time.Second)); err != nil || len(bs) != 1 || bs[0].ID != id {
		t.Errorf("batches in range: %v %v", bs, err)
	}
	var ds []records.Delivery
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		ds, err = c.Deliveries(ctx, time.Time{}, time.Time{})
		if err == nil && len(ds) == 2 && ds[1].KgProcessed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %+v %v", ds, err)
		}
	}
	if ds[0].KgProcessed != 250 || len(ds[0].Batches) != 1 || ds[0].Batches[0] != id ||
		math.Abs(ds[1].KgProcessed-b.Deliveries[1].Kg) > 1e-6 || len(ds[1].Batches) != 1 {
		t.Errorf("deliveries after the batch: %+v", ds)
	}
	spans, err := c.States(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	exec := false
	for i, s := range spans {
		seq = append(seq, s.State)
		if s.State == "Execute" && s.BatchID == id && s.User == "e2e" && !s.End.IsZero() {
			exec = true
		}
		if i > 0 && !spans[i-1].End.Equal(s.Start) {
			t.Errorf("gap before span %d: %+v after %+v", i, s, spans[i-1])
		}
	}
	if !exec || seq[len(seq)-1] != "Complete" || !spans[len(spans)-1].End.IsZero() {
		t.Errorf("state spans %v: want a closed Execute of batch %s by e2e, ending open in Complete (%+v)", seq, id, spans)
	}
	audit, err := c.Audit(ctx, time.Time{}, time.Time{})
	if err != nil || len(audit) < 2 {
		t.Errorf("audit: %d events, %v", len(audit), err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, APIURLFile)); !os.IsNotExist(err) {
		t.Errorf("api.url after a clean stop: %v", err)
	}
}
