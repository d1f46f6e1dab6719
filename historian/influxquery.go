package historian

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/pretreat/pretreat/historian/records"
)

// InfluxQuerier answers trend and aggregate queries from InfluxDB in Flux
// through POST /api/v2/query: native on InfluxDB 2.x and served by 1.8
// when [http] flux-enabled is true. Bucket and Org are used as for writing
// (1.8: bucket "db/rp", org ignored). It reads only points of its line;
// a querier for line "" reads the records of every line in the bucket
// (Records, Lines) and answers no Trend or Aggregate, which are of one
// line's tag.
type InfluxQuerier struct {
	client influxdb2.Client
	api    api.QueryAPI
	bucket string
	line   string
}

// NewInfluxQuerier prepares a querier without connecting; the token is
// read as for writing (TokenFile, TokenEnv, Token). Line "" means every
// line (for Records and Lines). Close releases it.
func NewInfluxQuerier(opts InfluxOptions, line string) (*InfluxQuerier, error) {
	n, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	copts := influxdb2.DefaultOptions().SetApplicationName("pretreat").
		SetHTTPRequestTimeout(uint(max(60, n.WriteTimeout/time.Second)))
	if n.HTTPClient != nil {
		copts.SetHTTPClient(n.HTTPClient)
	}
	c := influxdb2.NewClientWithOptions(n.URL, n.Token, copts)
	return &InfluxQuerier{client: c, api: c.QueryAPI(n.Org), bucket: n.Bucket, line: line}, nil
}

// Close releases the client's idle connections.
func (q *InfluxQuerier) Close() { q.client.Close() }

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			b.WriteString(`\$`) // no string interpolation
		case c == '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func fluxNs(d time.Duration) string { return strconv.FormatInt(int64(d), 10) + "ns" }

// goodSamples is the Flux source of the good samples of tag in [from, to).
// InfluxDB 1.8's range() also returns points at stop, hence the filter
// on _time.
func (q *InfluxQuerier) goodSamples(tag string, from, to time.Time) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == "value" and r.line == %s and r.tag == %s and r.quality == "good" and r._time < %s)`,
		fluxString(q.bucket), fluxTime(from), fluxTime(to), fluxString(MeasurementProcess), fluxString(q.line), fluxString(tag), fluxTime(to))
}

// statsYields appends the four aggregates of the tables in data, one
// result each, so that one request answers them all.
const statsYields = `
data |> count() |> yield(name: "count")
data |> sum() |> yield(name: "sum")
data |> min() |> yield(name: "min")
data |> max() |> yield(name: "max")
`

// posMod returns a mod m in [0, m).
func posMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// Trend answers q from InfluxDB: the samples are merged into one table
// and cut by window() into buckets whose boundaries are From + k*width
// (an offset from the epoch-aligned windows).
func (q *InfluxQuerier) Trend(ctx context.Context, tq TrendQuery) ([]TrendPoint, error) {
	w, err := tq.bucketWidth()
	if err != nil {
		return nil, err
	}
	if q.line == "" {
		return nil, errNoLine
	}
	offset := time.Duration(posMod(tq.From.UnixNano(), int64(w)))
	flux := "data = " + q.goodSamples(tq.Tag, tq.From, tq.To) + fmt.Sprintf(`
  |> group()
  |> window(every: %s, offset: %s)
`, fluxNs(w), fluxNs(offset)) + statsYields
	byStart := map[int64]*acc{}
	err = q.run(ctx, flux, func(res string, rec rowReader) error {
		start, ok := rec.time("_start")
		if !ok {
			return fmt.Errorf("row without _start")
		}
		a := byStart[start.UnixNano()]
		if a == nil {
			a = &acc{}
			byStart[start.UnixNano()] = a
		}
		return a.set(res, rec)
	})
	if err != nil {
		return nil, err
	}
	out := make([]TrendPoint, 0, len(byStart))
	for ns, a := range byStart {
		if a.count == 0 {
			continue
		}
		// The first window's _start is cut to the range's start, which is a
		// bucket boundary anyway.
		out = append(out, TrendPoint{Time: time.Unix(0, ns).In(tq.From.Location()), Count: a.count,
			Mean: a.sum / float64(a.count), Min: a.min, Max: a.max})
	}
	sortTrend(out)
	return out, nil
}

func sortTrend(p []TrendPoint) {
	for i := 1; i < len(p); i++ { // insertion sort: a few hundred points, mostly sorted
		for j := i; j > 0 && p[j].Time.Before(p[j-1].Time); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// errNoLine answers a trend or aggregate on a querier of every line.
var errNoLine = fmt.Errorf("%w: trends and aggregates are of one line; the InfluxQuerier was made for every line", ErrBadQuery)

// Aggregate answers q from InfluxDB. GroupByDay windows the samples by
// plant day. GroupByBatch and GroupByWasteClass take the batches from the
// batch points (batches that ended for good; see MeasurementBatch) and
// group the samples from each batch's Start to its End, so batches still
// running, or interrupted and not yet ended, are left out.
func (q *InfluxQuerier) Aggregate(ctx context.Context, aq AggregateQuery) ([]AggregateRow, error) {
	if err := aq.check(); err != nil {
		return nil, err
	}
	if q.line == "" {
		return nil, errNoLine
	}
	if aq.By != GroupByDay {
		return q.aggregateBatches(ctx, aq)
	}
	// Windows are aligned to the epoch; plant midnight is at -DayOffset
	// from UTC midnight.
	shape := fmt.Sprintf("  |> group()\n  |> window(every: 1d, offset: %s)",
		fluxNs(time.Duration(posMod(-int64(aq.DayOffset), int64(day)))))
	flux := "data = " + q.goodSamples(aq.Tag, aq.From, aq.To) + "\n" + shape + "\n" + statsYields
	groups := map[string]*acc{}
	err := q.run(ctx, flux, func(res string, rec rowReader) error {
		start, ok := rec.time("_start")
		if !ok {
			return fmt.Errorf("row without _start")
		}
		key := dayKey(start, aq.DayOffset)
		a := groups[key]
		if a == nil {
			a = &acc{}
			groups[key] = a
		}
		return a.set(res, rec)
	})
	if err != nil {
		return nil, err
	}
	return rowsOf(nonEmpty(groups)), nil
}

func nonEmpty(groups map[string]*acc) map[string]*acc {
	for k, a := range groups {
		if a.count == 0 {
			delete(groups, k)
		}
	}
	return groups
}

// maxBatchSpan is how far before a query's start the batch points are
// looked for: a batch that started earlier and lasted longer is missed.
const maxBatchSpan = 31 * day

// batchesPerQuery bounds the batches one Flux request aggregates.
const batchesPerQuery = 50

// aggregateBatches answers GroupByBatch and GroupByWasteClass.
func (q *InfluxQuerier) aggregateBatches(ctx context.Context, aq AggregateQuery) ([]AggregateRow, error) {
	var batches []records.Batch
	err := q.readRecords(ctx, MeasurementBatch, aq.From.Add(-maxBatchSpan), aq.To, "", func(js string) error {
		var b records.Batch
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			return err
		}
		if b.Start.Before(aq.To) && b.End.After(aq.From) && b.End.After(b.Start) {
			batches = append(batches, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	perBatch := map[string]*acc{}
	classOf := map[string]string{}
	for _, bt := range batches {
		classOf[bt.ID] = bt.WasteClass
	}
	for len(batches) > 0 {
		n := min(len(batches), batchesPerQuery)
		chunk := batches[:n]
		batches = batches[n:]
		var b strings.Builder
		names := make([]string, len(chunk))
		for i, bt := range chunk {
			names[i] = "b" + strconv.Itoa(i)
			fmt.Fprintf(&b, "%s = %s\n  |> group()\n  |> set(key: \"batch\", value: %s)\n", names[i],
				q.goodSamples(aq.Tag, maxTime(bt.Start, aq.From), minTime(bt.End, aq.To)), fluxString(bt.ID))
		}
		fmt.Fprintf(&b, "data = union(tables: [%s])\n  |> group(columns: [\"batch\"])\n", strings.Join(names, ", "))
		err := q.run(ctx, b.String()+statsYields, func(res string, rec rowReader) error {
			id, _ := rec.values["batch"].(string)
			if _, ok := classOf[id]; !ok {
				return nil
			}
			a := perBatch[id]
			if a == nil {
				a = &acc{}
				perBatch[id] = a
			}
			return a.set(res, rec)
		})
		if err != nil {
			return nil, err
		}
	}
	perBatch = nonEmpty(perBatch)
	if aq.By == GroupByBatch {
		return rowsOf(perBatch), nil
	}
	perClass := map[string]*acc{}
	for id, a := range perBatch {
		c := classOf[id]
		if c == "" {
			continue
		}
		if m := perClass[c]; m != nil {
			m.merge(a)
		} else {
			perClass[c] = a
		}
	}
	return rowsOf(perClass), nil
}

// merge adds the samples of b, which is not empty, to a, which is not
// empty either.
func (a *acc) merge(b *acc) {
	a.count += b.count
	a.sum += b.sum
	a.min, a.max = math.Min(a.min, b.min), math.Max(a.max, b.max)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// rowReader is one row of a Flux result.
type rowReader struct{ values map[string]any }

func (r rowReader) time(col string) (time.Time, bool) {
	t, ok := r.values[col].(time.Time)
	return t, ok
}

// set stores one aggregate's value, named by its result, into a.
func (a *acc) set(result string, rec rowReader) error {
	v := rec.values["_value"]
	switch result {
	case "count":
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("count is %T", v)
		}
		a.count = int(n)
		return nil
	}
	f, ok := v.(float64)
	if !ok {
		return fmt.Errorf("%s is %T", result, v)
	}
	switch result {
	case "sum":
		a.sum = f
	case "min":
		a.min = f
	case "max":
		a.max = f
	default:
		return fmt.Errorf("unexpected result %q", result)
	}
	return nil
}

// run sends flux and calls fn for every row.
func (q *InfluxQuerier) run(ctx context.Context, flux string, fn func(result string, rec rowReader) error) error {
	res, err := q.api.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("historian: InfluxDB query: %w", err)
	}
	defer res.Close()
	for res.Next() {
		rec := res.Record()
		if err := fn(rec.Result(), rowReader{values: rec.Values()}); err != nil {
			return fmt.Errorf("historian: InfluxDB query result: %w", err)
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("historian: InfluxDB query: %w", err)
	}
	return nil
}
