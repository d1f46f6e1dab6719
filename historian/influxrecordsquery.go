package historian

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// fluxEpoch is where queries without a lower bound start.
const fluxEpoch = "1970-01-01T00:00:00Z"

// fluxFarFuture is where Lines stops looking: after any plant clock.
const fluxFarFuture = "2200-01-01T00:00:00Z"

// lineFilter is the Flux condition on the line tag: " and r.line == …",
// or "" for a querier of every line.
func (q *InfluxQuerier) lineFilter() string {
	if q.line == "" {
		return ""
	}
	return " and r.line == " + fluxString(q.line)
}

// readRecords calls fn with the "record" field of every point of
// measurement in [start, stop) (of the querier's line). extra, when not
// empty, is Flux appended after the filter (it must keep _value).
func (q *InfluxQuerier) readRecords(ctx context.Context, measurement string, start, stop time.Time, extra string, fn func(js string) error) error {
	if !stop.After(start) {
		return nil
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == "record" and r._time < %s%s)%s`,
		fluxString(q.bucket), fluxTime(start), fluxTime(stop), fluxString(measurement), fluxTime(stop), q.lineFilter(), extra)
	return q.run(ctx, flux, func(_ string, rec rowReader) error {
		js, ok := rec.values["_value"].(string)
		if !ok {
			return fmt.Errorf("%s record is %T", measurement, rec.values["_value"])
		}
		if err := fn(js); err != nil {
			return fmt.Errorf("%s record: %w", measurement, err)
		}
		return nil
	})
}

// Records reads back the records written to InfluxDB (the "record" field
// of the batch, delivery and line_state points) of the querier's line, or
// of every line when it was made for line "": the batches that started in
// [from, to), ordered by Start then ID; the deliveries with from <= Time <
// to, ordered by Time then ticket; and the ended line state spans that
// overlap [from, to), ordered by Start then line. These are the orders of
// Store.Batches, Store.Deliveries and Store.States. InfluxDB holds only
// what ended (batches that ended for good, spans with an End), so a batch
// still running or a span still open is not in them.
func (q *InfluxQuerier) Records(ctx context.Context, from, to time.Time) (batches []records.Batch, deliveries []records.Delivery, states []records.StateSpan, err error) {
	return q.RecordsProgress(ctx, from, to, nil)
}

// RecordsProgress is Records that queries one calendar month (UTC) at a
// time and, when progress is not nil, calls it after each month with how
// much of [from, to) is done.
func (q *InfluxQuerier) RecordsProgress(ctx context.Context, from, to time.Time, progress func(done, total time.Duration)) (batches []records.Batch, deliveries []records.Delivery, states []records.StateSpan, err error) {
	if !to.After(from) {
		return nil, nil, nil, nil
	}
	if !lpTimeOK(from) || !lpTimeOK(to.Add(deliveryJitter)) {
		return nil, nil, nil, fmt.Errorf("%w: records: times must be within 1677-2262", ErrBadQuery)
	}
	bs := map[string]records.Batch{}
	ds := map[string]records.Delivery{}
	ss := map[string]records.StateSpan{}
	addBatch := func(js string) error {
		var b records.Batch
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			return err
		}
		if !b.Start.Before(from) && b.Start.Before(to) {
			bs[b.Line+"\x00"+b.ID] = b
		}
		return nil
	}
	addDelivery := func(js string) error {
		var d records.Delivery
		if err := json.Unmarshal([]byte(js), &d); err != nil {
			return err
		}
		if !d.Time.Before(from) && d.Time.Before(to) {
			ds[d.Line+"\x00"+d.Ticket] = d
		}
		return nil
	}
	addState := func(js string) error {
		var s records.StateSpan
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			return err
		}
		if s.Start.Before(to) && (s.End.IsZero() || s.End.After(from)) {
			ss[s.Line+"\x00"+s.Start.UTC().Format(time.RFC3339Nano)] = s
		}
		return nil
	}

	// Spans that started before from and end after it: their points are
	// before the range, so they are found by their end field.
	if from.After(time.Unix(0, 0)) {
		flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and (r._field == "record" or r._field == "end") and r._time < %s%s)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => r.end > %d)`,
			fluxString(q.bucket), fluxEpoch, fluxTime(from), fluxString(MeasurementLineState), fluxTime(from), q.lineFilter(), from.UnixNano())
		err := q.run(ctx, flux, func(_ string, rec rowReader) error {
			js, ok := rec.values["record"].(string)
			if !ok {
				return fmt.Errorf("line_state record is %T", rec.values["record"])
			}
			return addState(js)
		})
		if err != nil {
			return nil, nil, nil, err
		}
	}

	total := to.Sub(from)
	for a := from; a.Before(to); {
		b := time.Date(a.Year(), a.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		if !b.Before(to) {
			b = to
		}
		if err := q.readRecords(ctx, MeasurementBatch, a, b, "", addBatch); err != nil {
			return nil, nil, nil, err
		}
		// A delivery's point is up to deliveryJitter after its Time.
		dStop := b
		if b.Equal(to) {
			dStop = to.Add(deliveryJitter)
		}
		if err := q.readRecords(ctx, MeasurementDelivery, a, dStop, "", addDelivery); err != nil {
			return nil, nil, nil, err
		}
		if err := q.readRecords(ctx, MeasurementLineState, a, b, "", addState); err != nil {
			return nil, nil, nil, err
		}
		if progress != nil {
			progress(b.Sub(from), total)
		}
		a = b
	}

	for _, b := range bs {
		batches = append(batches, b)
	}
	slices.SortFunc(batches, func(x, y records.Batch) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for _, d := range ds {
		deliveries = append(deliveries, d)
	}
	slices.SortFunc(deliveries, func(x, y records.Delivery) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		return strings.Compare(x.Ticket, y.Ticket)
	})
	for _, s := range ss {
		states = append(states, s)
	}
	slices.SortFunc(states, func(x, y records.StateSpan) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.Line, y.Line)
	})
	return batches, deliveries, states, nil
}

// Lines returns the distinct line tags in the bucket, sorted: the lines
// that have events, batch, delivery or line state points (samples are not
// read: there are too many of them). A querier made for one line looks
// for that line only.
func (q *InfluxQuerier) Lines(ctx context.Context) ([]string, error) {
	// One query per measurement: InfluxDB 1.8 answers nothing to one
	// filter that ors several measurements here.
	var out []string
	for _, m := range [][2]string{{MeasurementEvent, "name"}, {MeasurementBatch, "record"},
		{MeasurementDelivery, "record"}, {MeasurementLineState, "record"}} {
		flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == %s%s)
  |> group(columns: ["line"])
  |> first()
  |> keep(columns: ["line"])
  |> group()
  |> distinct(column: "line")`,
			fluxString(q.bucket), fluxEpoch, fluxFarFuture, fluxString(m[0]), fluxString(m[1]), q.lineFilter())
		err := q.run(ctx, flux, func(_ string, rec rowReader) error {
			if l, ok := rec.values["_value"].(string); ok && l != "" {
				out = append(out, l)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Latest returns the time of the latest event the querier's lines wrote
// (zero when there is none): the plant's "now" as InfluxDB knows it, for
// a plant clock that runs ahead of the wall clock (a demo) or behind it.
func (q *InfluxQuerier) Latest(ctx context.Context) (time.Time, error) {
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == "name"%s)
  |> last()
  |> group()
  |> sort(columns: ["_time"])
  |> last()`,
		fluxString(q.bucket), fluxEpoch, fluxFarFuture, fluxString(MeasurementEvent), q.lineFilter())
	// Each series' last point, then the latest of them (a merged table is
	// not in time order).
	var latest time.Time
	err := q.run(ctx, flux, func(_ string, rec rowReader) error {
		if t, ok := rec.time("_time"); ok && t.After(latest) {
			latest = t
		}
		return nil
	})
	return latest, err
}
