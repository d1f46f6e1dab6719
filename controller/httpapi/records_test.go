package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

// fakeController records deliveries into a historian like the engine.
type fakeController struct {
	hist    *historian.Historian
	mu      sync.Mutex
	tickets map[string]bool
	audits  []string
}

func (f *fakeController) Status() *api.Status { return &api.Status{} }
func (f *fakeController) Recipes() ([]api.RecipeInfo, error) {
	return []api.RecipeInfo{{Name: "catering", WasteClass: "catering"}, {Name: "market", WasteClass: "market"}, {Name: "catering2", WasteClass: "catering"}}, nil
}
func (f *fakeController) Submit(context.Context, api.Command) api.CommandResult {
	return api.CommandResult{OK: true}
}
func (f *fakeController) Audit(c api.Command, user, role, msg string) {
	f.mu.Lock()
	f.audits = append(f.audits, msg)
	f.mu.Unlock()
}
func (f *fakeController) AddDelivery(_ context.Context, d records.Delivery) (records.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tickets[d.Ticket] {
		return d, api.ErrTicketExists
	}
	f.tickets[d.Ticket] = true
	if d.Time.IsZero() {
		d.Time = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	}
	f.hist.SaveDelivery(d)
	return d, nil
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// The record routes read a real store in a temp dir while the historian
// that owns it runs; deliveries are checked field by field.
func TestRecordRoutesOverARealStore(t *testing.T) {
	hist, err := historian.Open(historian.Options{Dir: t.TempDir(), Line: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	hist.Start(t.Context())
	defer hist.Close()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	hist.SaveBatch(records.Batch{ID: "b1", Line: "line-1", Start: t0, End: t0.Add(time.Hour), State: records.BatchComplete, Jams: 2})
	hist.SaveBatch(records.Batch{ID: "b2", Line: "line-1", Start: t0.Add(2 * time.Hour), State: records.BatchRunning})
	hist.SaveState(records.StateSpan{State: "Execute", Start: t0, End: t0.Add(time.Hour), BatchID: "b1"})
	hist.SaveState(records.StateSpan{State: "Held", Start: t0.Add(time.Hour), Cause: "shredder drive reports a fault", Unit: "shredder"})
	hist.Event(records.Event{Time: t0, Kind: records.EventCommand, Name: "start", User: "op"})
	hist.Event(records.Event{Time: t0.Add(time.Minute), Kind: records.EventPhase, Name: "phase:receive"})

	fc := &fakeController{hist: hist, tickets: map[string]bool{}}
	users := []plant.User{{Name: "op", Role: plant.RoleOperator, TokenSHA256: sha("op-token")}}
	s := New(fc, users)
	s.SetRecords(StoreRecords{Store: hist.Store()})
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Serve(ctx)
	c := api.NewClient(s.URL())
	c.Token = "op-token"

	// Wait for the historian's writer.
	deadline := time.Now().Add(5 * time.Second)
	for {
		bs, err := c.Batches(ctx, time.Time{}, time.Time{})
		if err == nil && len(bs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batches never stored: %v %v", bs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	bs, err := c.Batches(ctx, t0.Add(time.Hour), time.Time{})
	if err != nil || len(bs) != 1 || bs[0].ID != "b2" {
		t.Errorf("batches from 09:00: %v %v", bs, err)
	}
	b, err := c.Batch(ctx, "b1")
	if err != nil || b.Jams != 2 {
		t.Errorf("batch b1: %+v %v", b, err)
	}
	var ae *api.APIError
	if _, err := c.Batch(ctx, "nope"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("unknown batch: %v", err)
	}
	sp, err := c.States(ctx, t0.Add(90*time.Minute), time.Time{})
	if err != nil || len(sp) != 1 || sp[0].Unit != "shredder" {
		t.Errorf("states: %+v %v", sp, err)
	}
	evs, err := c.Events(ctx, time.Time{}, time.Time{}, records.EventPhase)
	if err != nil || len(evs) != 1 || evs[0].Name != "phase:receive" {
		t.Errorf("phase events: %+v %v", evs, err)
	}
	audit, err := c.Audit(ctx, time.Time{}, time.Time{})
	if err != nil || len(audit) != 1 || audit[0].User != "op" {
		t.Errorf("audit: %+v %v", audit, err)
	}
	// The manager report of the running controller's records.
	get := func(q string) (int, string) {
		resp, err := http.Get(s.URL() + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/api/v1/report?by=day&from=2026-11-27T00:00:00Z")
	var rep report.Report
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil || rep.Total.Batches != 2 || rep.Total.Jams != 2 || len(rep.Groups) < 1 || len(rep.Downtime) != 1 || rep.Downtime[0].Cause != "shredder: shredder drive reports a fault" {
		t.Errorf("report: %d %v %+v", code, err, rep.Total)
	}
	if code, body := get("/api/v1/report?format=html"); code != http.StatusOK || !strings.Contains(body, "<svg") {
		t.Errorf("HTML report: %d %.200s", code, body)
	}
	if code, body := get("/api/v1/report?format=csv&table=batches"); code != http.StatusOK || !strings.HasPrefix(body, "id,") {
		t.Errorf("CSV report: %d %.200s", code, body)
	}
	for _, q := range []string{"/api/v1/report?format=pdf", "/api/v1/report?by=colour", "/api/v1/report?format=csv&table=foo"} {
		if code, _ := get(q); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", q, code)
		}
	}

	for _, q := range []string{"/api/v1/batches?from=yesterday", "/api/v1/states?to=2026-13-01T00:00:00Z", "/api/v1/events?kind=foo", "/api/v1/deliveries?from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z"} {
		resp, err := http.Get(s.URL() + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", q, resp.StatusCode)
		}
	}

	// Deliveries.
	good := records.Delivery{Ticket: "WB-1", Supplier: "Canteen A", WasteClass: "catering", EWC: "20 01 08", GrossKg: 12400, TareKg: 12000}
	got, err := c.AddDelivery(ctx, good)
	if err != nil || got.NetKg != 400 || got.Operator != "op" || got.Time.IsZero() {
		t.Fatalf("add delivery: %+v %v", got, err)
	}
	if _, err := c.AddDelivery(ctx, good); !errors.Is(err, api.ErrTicketExists) {
		t.Errorf("same ticket again: %v, want 409", err)
	}
	bad := []struct {
		edit func(*records.Delivery)
		want string
	}{
		{func(d *records.Delivery) { d.Ticket = " " }, "ticket is required"},
		{func(d *records.Delivery) { d.Supplier = "" }, "supplier is required"},
		{func(d *records.Delivery) { d.WasteClass = "garden" }, `waste_class "garden" is not a class of the loaded recipes; allowed: catering, market`},
		{func(d *records.Delivery) { d.EWC = "200108" }, `ewc "200108" is not a European Waste Catalogue code`},
		{func(d *records.Delivery) { d.TareKg = -1 }, "tare_kg = -1 is not allowed"},
		{func(d *records.Delivery) { d.GrossKg = 100 }, "gross_kg = 100 is below tare_kg = 12000"},
		{func(d *records.Delivery) { d.NetKg = 401 }, "net_kg = 401 is not gross_kg − tare_kg = 400"},
	}
	for i, bc := range bad {
		d := good
		d.Ticket = "WB-bad"
		bc.edit(&d)
		_, err := c.AddDelivery(ctx, d)
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, bc.want) {
			t.Errorf("case %d: %v, want 400 %q", i, err, bc.want)
		}
	}
	// Within 0.5 kg is accepted; a hazardous EWC code.
	ok := good
	ok.Ticket, ok.NetKg, ok.EWC = "WB-2", 400.4, "16 03 05*"
	if _, err := c.AddDelivery(ctx, ok); err != nil {
		t.Errorf("net within 0.5 kg: %v", err)
	}
	// No token: 401; a body too large: 400.
	anon := api.NewClient(s.URL())
	anon.Token = ""
	if _, err := anon.AddDelivery(ctx, ok); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("without a token: %v", err)
	}
	big := good
	big.Ticket, big.Notes = "WB-3", strings.Repeat("x", 20000)
	if _, err := c.AddDelivery(ctx, big); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("oversized body: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ds, err := c.Deliveries(ctx, time.Time{}, time.Time{})
		if err == nil && len(ds) == 2 {
			if ds[0].Ticket != "WB-1" || ds[0].Operator != "op" {
				t.Errorf("deliveries: %+v", ds)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries never stored: %v %v", ds, err)
		}
	}
	// A ticket in the store but not known to the engine is refused too.
	fc.mu.Lock()
	fc.tickets = map[string]bool{}
	fc.mu.Unlock()
	if _, err := c.AddDelivery(ctx, good); !errors.Is(err, api.ErrTicketExists) {
		t.Errorf("stored ticket again: %v, want 409", err)
	}
}
