package historian

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// InfluxDB measurements of the records (see MeasurementProcess). Each
// point carries the whole record as JSON in the string field "record", so
// that a report read back from InfluxDB (InfluxQuerier.Records) is exact;
// the other fields are there for dashboards.
const (
	// MeasurementBatch has one point per batch that ended for good
	// (complete, stopped or aborted), at the batch's Start. Tags line,
	// recipe, waste_class, state and supplier (the supplier of the largest
	// share of the batch's deliveries, NoSupplier when it has none); fields
	// id, recipe_version (int), kg_received, kg_cake, kg_water,
	// kg_filtrate, kg_rejects, kwh, kg_holdup_start, kg_holdup_end,
	// closure_pct, duration_s, jams (int), reversals (int), cake_ds,
	// slurry_ds and record.
	//
	// An interrupted batch gets no point: the next controller start takes
	// it up Held and it ends for good later, and a point with state
	// "interrupted" next to the final one would be a second series that a
	// sum counts twice. Saving an ended batch again overwrites its point;
	// within one process the tags of its first point stay (see pinned).
	MeasurementBatch = "batch"
	// MeasurementDelivery has one point per delivery (weighbridge ticket)
	// at its Time plus less than a microsecond derived from the ticket
	// (deliveries of one supplier and class in the same instant stay two
	// points; a re-save lands on the same one). Tags line, supplier,
	// waste_class; fields ticket, haulier, vehicle, ewc, found_class,
	// gross_kg, tare_kg, net_kg, kg_processed, mis_declared (bool) and
	// record. Re-saves overwrite.
	MeasurementDelivery = "delivery"
	// MeasurementLineState has one point per line state span that has
	// ended, at its Start. Tags line, state; fields duration_s, cause,
	// unit, user, batch_id, end (int, Unix nanoseconds) and record.
	MeasurementLineState = "line_state"
)

// NoSupplier is the supplier tag of a batch point whose batch took from
// no delivery.
const NoSupplier = "(none)"

// deliveryJitter bounds the offset added to a delivery point's time.
const deliveryJitter = time.Microsecond

// deliveryOffset is the offset, below deliveryJitter, that a delivery's
// point time gets from its ticket.
func deliveryOffset(ticket string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(ticket))
	return time.Duration(h.Sum32() % uint32(deliveryJitter))
}

// mainSupplier returns the supplier of the largest share of deliveries
// (summed per supplier; ties go to the first by name), or NoSupplier.
func mainSupplier(shares []records.DeliveryShare) string {
	kg := map[string]float64{}
	for _, s := range shares {
		if s.Supplier != "" {
			kg[s.Supplier] += s.Kg
		}
	}
	best, bestKg := NoSupplier, math.Inf(-1)
	names := make([]string, 0, len(kg))
	for n := range kg {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if kg[n] > bestKg {
			best, bestKg = n, kg[n]
		}
	}
	return best
}

// batchFinal says whether a batch record gets a batch point.
func batchFinal(s records.BatchState) bool {
	return s.Ended() && s != records.BatchInterrupted
}

// pointKey is what makes a point a point in InfluxDB: its series (the tag
// pairs, here already encoded) and its time.
type pointKey struct {
	tags string
	ns   int64
}

// maxPinned bounds encoder.pinned; when it is reached the map is cleared.
const maxPinned = 4096

// pin returns the series and time to write a record under: the first one
// used for the same record (id) in this process, so that a re-save with
// changed tags (a batch's supplier, a corrected delivery) overwrites the
// first point instead of adding a second series.
func (e *encoder) pin(id string, k pointKey) pointKey {
	if p, ok := e.pinned[id]; ok {
		return p
	}
	if len(e.pinned) >= maxPinned {
		clear(e.pinned)
	}
	e.pinned[id] = k
	return k
}

// fieldWriter appends the field set of one point.
type fieldWriter struct {
	b   []byte
	sep byte
}

func (f *fieldWriter) key(k string) {
	f.b = append(f.b, f.sep)
	f.sep = ','
	f.b = append(f.b, k...)
	f.b = append(f.b, '=')
}

func (f *fieldWriter) str(k, v string) {
	f.key(k)
	f.b = appendStringField(f.b, v)
}

// float leaves non-finite values out: InfluxDB cannot store them.
func (f *fieldWriter) float(k string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	f.key(k)
	f.b = appendFloat(f.b, v)
}

func (f *fieldWriter) int(k string, v int64) {
	f.key(k)
	f.b = strconv.AppendInt(f.b, v, 10)
	f.b = append(f.b, 'i')
}

func (f *fieldWriter) bool(k string, v bool) {
	f.key(k)
	f.b = strconv.AppendBool(f.b, v)
}

// appendRecordPoint appends measurement, the tags (key, value pairs in key
// order) pinned under id, the fields that fields writes, and the time.
func (e *encoder) appendRecordPoint(b []byte, measurement, id string, tags []string, t time.Time, fields func(*fieldWriter)) ([]byte, rejectReason) {
	if !lpTimeOK(t) {
		return b, rejectTimeOfRange
	}
	var tb []byte
	for i := 0; i+1 < len(tags); i += 2 {
		tb = appendTag(tb, tags[i], tags[i+1])
	}
	k := e.pin(measurement+"\x00"+id, pointKey{tags: string(tb), ns: t.UnixNano()})
	b = append(b, measurement...)
	b = append(b, k.tags...)
	f := fieldWriter{b: b, sep: ' '}
	fields(&f)
	b = append(f.b, ' ')
	b = strconv.AppendInt(b, k.ns, 10)
	return append(b, '\n'), accepted
}

// appendBatchLine appends the batch point of r.
func (e *encoder) appendBatchLine(b []byte, r *records.Batch) ([]byte, rejectReason) {
	js, err := json.Marshal(r)
	if err != nil {
		return b, rejectNonFinite // the only way a record fails to encode
	}
	return e.appendRecordPoint(b, MeasurementBatch, r.Line+"\x00"+r.ID, []string{
		"line", r.Line, "recipe", r.Recipe, "state", string(r.State),
		"supplier", mainSupplier(r.Deliveries), "waste_class", r.WasteClass,
	}, r.Start, func(f *fieldWriter) {
		f.float("cake_ds", r.CakeDS)
		f.float("closure_pct", r.ClosurePct)
		f.float("duration_s", max(0, r.End.Sub(r.Start)).Seconds())
		f.str("id", r.ID)
		f.int("jams", int64(r.Jams))
		f.float("kg_cake", r.KgCake)
		f.float("kg_filtrate", r.KgFiltrate)
		f.float("kg_holdup_end", r.KgHoldupEnd)
		f.float("kg_holdup_start", r.KgHoldupStart)
		f.float("kg_received", r.KgReceived)
		f.float("kg_rejects", r.KgRejects)
		f.float("kg_water", r.KgWater)
		f.float("kwh", r.KWh)
		f.int("recipe_version", int64(r.RecipeVersion))
		f.str("record", string(js))
		f.int("reversals", int64(r.Reversals))
		f.float("slurry_ds", r.SlurryDS)
	})
}

// appendDeliveryLine appends the delivery point of d.
func (e *encoder) appendDeliveryLine(b []byte, d *records.Delivery) ([]byte, rejectReason) {
	js, err := json.Marshal(d)
	if err != nil {
		return b, rejectNonFinite
	}
	return e.appendRecordPoint(b, MeasurementDelivery, d.Line+"\x00"+d.Ticket, []string{
		"line", d.Line, "supplier", d.Supplier, "waste_class", d.WasteClass,
	}, d.Time.Add(deliveryOffset(d.Ticket)), func(f *fieldWriter) {
		f.str("ewc", d.EWC)
		f.str("found_class", d.FoundClass)
		f.float("gross_kg", d.GrossKg)
		f.str("haulier", d.Haulier)
		f.float("kg_processed", d.KgProcessed)
		f.bool("mis_declared", d.MisDeclared())
		f.float("net_kg", d.NetKg)
		f.str("record", string(js))
		f.float("tare_kg", d.TareKg)
		f.str("ticket", d.Ticket)
		f.str("vehicle", d.Vehicle)
	})
}

// appendStateLine appends the line_state point of s, which has ended.
func (e *encoder) appendStateLine(b []byte, s *records.StateSpan) ([]byte, rejectReason) {
	if !lpTimeOK(s.End) {
		return b, rejectTimeOfRange
	}
	js, err := json.Marshal(s)
	if err != nil {
		return b, rejectNonFinite
	}
	return e.appendRecordPoint(b, MeasurementLineState, s.Line+"\x00"+strconv.FormatInt(s.Start.UnixNano(), 10), []string{
		"line", s.Line, "state", s.State,
	}, s.Start, func(f *fieldWriter) {
		f.str("batch_id", s.BatchID)
		f.str("cause", s.Cause)
		f.float("duration_s", s.Duration(s.End).Seconds())
		f.int("end", s.End.UnixNano())
		f.str("record", string(js))
		f.str("unit", s.Unit)
		f.str("user", s.User)
	})
}
