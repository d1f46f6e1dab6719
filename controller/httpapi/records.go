package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
)

// Records is what the server reads the line's records through while the
// controller runs (the controller process holds the database; see
// StoreRecords). from and to bound a half-open range [from, to).
type Records interface {
	// Batches returns the batch records that started in [from, to).
	Batches(from, to time.Time) ([]records.Batch, error)
	// Batch returns one batch record; found is false when there is none.
	Batch(id string) (b records.Batch, found bool, err error)
	Deliveries(from, to time.Time) ([]records.Delivery, error)
	Delivery(ticket string) (d records.Delivery, found bool, err error)
	// States returns the state spans that overlap [from, to).
	States(from, to time.Time) ([]records.StateSpan, error)
	Events(from, to time.Time) ([]records.Event, error)
	// Trend returns a tag's good samples over [q.From, q.To) in at most
	// q.Points buckets (historian.Store.Trend).
	Trend(ctx context.Context, q historian.TrendQuery) ([]historian.TrendPoint, error)
}

// StoreRecords reads the records from a historian store (the running
// historian's, historian.Historian.Store).
type StoreRecords struct{ Store *historian.Store }

// Batches returns the batch records that started in [from, to).
func (s StoreRecords) Batches(from, to time.Time) ([]records.Batch, error) {
	return s.Store.BatchesStarted(from, to)
}

// Batch returns one batch record.
func (s StoreRecords) Batch(id string) (records.Batch, bool, error) { return s.Store.Batch(id) }

// Deliveries returns the deliveries received in [from, to).
func (s StoreRecords) Deliveries(from, to time.Time) ([]records.Delivery, error) {
	return s.Store.Deliveries(from, to)
}

// Delivery returns the delivery with this ticket.
func (s StoreRecords) Delivery(ticket string) (records.Delivery, bool, error) {
	return s.Store.Delivery(ticket)
}

// States returns the state spans overlapping [from, to).
func (s StoreRecords) States(from, to time.Time) ([]records.StateSpan, error) {
	return s.Store.States(from, to)
}

// Events returns the events in [from, to).
func (s StoreRecords) Events(from, to time.Time) ([]records.Event, error) {
	return s.Store.Events(from, to)
}

// Trend returns a tag's good samples in buckets.
func (s StoreRecords) Trend(ctx context.Context, q historian.TrendQuery) ([]historian.TrendPoint, error) {
	return s.Store.Trend(ctx, q)
}

// LastEvents returns the n latest events, latest first.
func (s StoreRecords) LastEvents(n int) ([]records.Event, error) { return s.Store.LastEvents(n) }

// SetRecords makes the server answer the record routes (batches,
// deliveries, states, events, audit) from r; without it they answer 503.
func (s *Server) SetRecords(r Records) { s.records = r }

// farFuture is the open end of a range (the store keys times as
// nanoseconds since 1970, which end in 2262).
var farFuture = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)

// timeRange reads from and to (RFC 3339; each optional) from the query.
func timeRange(r *http.Request) (from, to time.Time, err error) {
	from, to = time.Unix(0, 0).UTC(), farFuture
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := r.URL.Query().Get(p.key)
		if v == "" {
			continue
		}
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return from, to, fmt.Errorf("%s=%q is not a time; allowed: RFC 3339, e.g. 2026-11-27T08:00:00Z or 2026-11-27T16:00:00+08:00", p.key, v)
		}
		*p.dst = t
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

func errJSON(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// withRecords answers 503 without a Records and 400 on a bad range.
func (s *Server) withRecords(fn func(w http.ResponseWriter, r *http.Request, from, to time.Time)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.records == nil {
			errJSON(w, http.StatusServiceUnavailable, "this controller serves no records")
			return
		}
		from, to, err := timeRange(r)
		if err != nil {
			errJSON(w, http.StatusBadRequest, "%v", err)
			return
		}
		fn(w, r, from, to)
	}
}

// answer writes v (an empty list for nil) or the read error.
func answer[T any](w http.ResponseWriter, v []T, err error) {
	if err != nil {
		errJSON(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if v == nil {
		v = []T{}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) batches(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	v, err := s.records.Batches(from, to)
	answer(w, v, err)
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request, _, _ time.Time) {
	id := r.PathValue("id")
	b, found, err := s.records.Batch(id)
	switch {
	case err != nil:
		errJSON(w, http.StatusInternalServerError, "%v", err)
	case !found:
		errJSON(w, http.StatusNotFound, "batch %s is not recorded", id)
	default:
		writeJSON(w, http.StatusOK, b)
	}
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	v, err := s.records.Deliveries(from, to)
	answer(w, v, err)
}

func (s *Server) states(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	v, err := s.records.States(from, to)
	answer(w, v, err)
}

var eventKinds = []string{records.EventBatch, records.EventPhase, records.EventAlarm, records.EventCommand, records.EventDevice}

func (s *Server) events(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	kind := r.URL.Query().Get("kind")
	if kind != "" && !slices.Contains(eventKinds, kind) {
		errJSON(w, http.StatusBadRequest, "kind=%q is not known; allowed: %s", kind, strings.Join(eventKinds, ", "))
		return
	}
	s.eventsOf(w, from, to, kind)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	s.eventsOf(w, from, to, records.EventCommand)
}

func (s *Server) eventsOf(w http.ResponseWriter, from, to time.Time, kind string) {
	v, err := s.records.Events(from, to)
	if kind != "" && err == nil {
		v = slices.DeleteFunc(v, func(e records.Event) bool { return e.Kind != kind })
	}
	answer(w, v, err)
}

// ewcCode is a European Waste Catalogue code: three pairs of digits, an
// asterisk for hazardous waste.
var ewcCode = regexp.MustCompile(`^\d{2} \d{2} \d{2}\*?$`)

// maxDeliveryBody bounds a delivery's JSON.
const maxDeliveryBody = 16 << 10

// netTolerance is how far a given net mass may differ from gross − tare.
const netTolerance = 0.5

// addDelivery records a weighbridge ticket: checked field by field, the
// operator is the authenticated user, the scan queues it for the batches.
func (s *Server) addDelivery(w http.ResponseWriter, r *http.Request) {
	var d records.Delivery
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDeliveryBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		errJSON(w, http.StatusBadRequest, "bad delivery: %v", err)
		return
	}
	audit := api.Command{Command: "delivery", User: d.Operator}
	user, role, err := s.auth.identify(r, d.Operator)
	if err != nil {
		msg := "delivery " + d.Ticket + " refused: " + err.Error()
		s.engine.Audit(audit, d.Operator, "", msg)
		errJSON(w, http.StatusUnauthorized, "%s", msg)
		return
	}
	if roleRank[role] < roleRank[plant.RoleOperator] {
		msg := fmt.Sprintf("delivery %s refused: role %s may not record deliveries; it needs %s or above", d.Ticket, role, plant.RoleOperator)
		s.engine.Audit(audit, user, role, msg)
		errJSON(w, http.StatusForbidden, "%s", msg)
		return
	}
	d.Operator = user
	if msg := s.checkDelivery(&d); msg != "" {
		errJSON(w, http.StatusBadRequest, "%s", msg)
		return
	}
	if s.records != nil {
		if _, found, err := s.records.Delivery(d.Ticket); err != nil {
			errJSON(w, http.StatusInternalServerError, "%v", err)
			return
		} else if found {
			errJSON(w, http.StatusConflict, "ticket %q is already recorded; a ticket is recorded once", d.Ticket)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	got, err := s.engine.AddDelivery(ctx, d)
	switch {
	case errors.Is(err, api.ErrTicketExists):
		errJSON(w, http.StatusConflict, "ticket %q is already recorded; a ticket is recorded once", d.Ticket)
	case err != nil:
		errJSON(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeJSON(w, http.StatusCreated, got)
	}
}

// checkDelivery checks a delivery's fields and fills its net mass; it
// returns what is wrong, naming the field and what is allowed, or "".
func (s *Server) checkDelivery(d *records.Delivery) string {
	d.Ticket, d.Supplier, d.WasteClass, d.EWC = strings.TrimSpace(d.Ticket), strings.TrimSpace(d.Supplier), strings.TrimSpace(d.WasteClass), strings.TrimSpace(d.EWC)
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case d.Ticket == "":
		return "ticket is required: the weighbridge ticket number"
	case len(d.Ticket) > 64 || strings.ContainsAny(d.Ticket, "/?#\\"):
		return fmt.Sprintf("ticket %q is not allowed; allowed: up to 64 characters without / ? # \\", d.Ticket)
	case d.Supplier == "":
		return "supplier is required"
	case d.EWC != "" && !ewcCode.MatchString(d.EWC):
		return fmt.Sprintf("ewc %q is not a European Waste Catalogue code; allowed: six digits in pairs, e.g. \"20 01 08\" (\"*\" after a hazardous one)", d.EWC)
	case !finite(d.GrossKg) || !finite(d.TareKg) || !finite(d.NetKg):
		return "gross_kg, tare_kg and net_kg must be numbers"
	case d.TareKg < 0:
		return fmt.Sprintf("tare_kg = %g is not allowed; allowed: 0 or more", d.TareKg)
	case d.GrossKg < d.TareKg:
		return fmt.Sprintf("gross_kg = %g is below tare_kg = %g; allowed: gross_kg ≥ tare_kg ≥ 0", d.GrossKg, d.TareKg)
	}
	net := d.GrossKg - d.TareKg
	if d.NetKg == 0 {
		d.NetKg = net
	} else if math.Abs(d.NetKg-net) > netTolerance {
		return fmt.Sprintf("net_kg = %g is not gross_kg − tare_kg = %g; allowed: that, within %g kg, or 0 to have it filled in", d.NetKg, net, netTolerance)
	}
	classes, err := s.wasteClasses()
	if err != nil {
		return "waste classes cannot be read: " + err.Error()
	}
	if !slices.Contains(classes, d.WasteClass) {
		return fmt.Sprintf("waste_class %q is not a class of the loaded recipes; allowed: %s", d.WasteClass, strings.Join(classes, ", "))
	}
	if d.FoundClass != "" && !slices.Contains(classes, d.FoundClass) {
		return fmt.Sprintf("found_class %q is not a class of the loaded recipes; allowed: %s", d.FoundClass, strings.Join(classes, ", "))
	}
	return ""
}

// wasteClasses are the classes of the recipes the controller can run.
func (s *Server) wasteClasses() ([]string, error) {
	rs, err := s.engine.Recipes()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		if r.WasteClass != "" && !slices.Contains(out, r.WasteClass) {
			out = append(out, r.WasteClass)
		}
	}
	slices.Sort(out)
	return out, nil
}
