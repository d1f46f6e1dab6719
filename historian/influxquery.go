package historian

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
)

// InfluxQuerier answers trend and aggregate queries from InfluxDB in Flux
// through POST /api/v2/query: native on InfluxDB 2.x and served by 1.8
// when [http] flux-enabled is true. Bucket and Org are used as for writing
// (1.8: bucket "db/rp", org ignored). It reads only points of its line.
type InfluxQuerier struct {
	client influxdb2.Client
	api    api.QueryAPI
	bucket string
	line   string
}

// NewInfluxQuerier prepares a querier without connecting; the token is
// read as for writing (TokenFile, TokenEnv, Token). Close releases it.
func NewInfluxQuerier(opts InfluxOptions, line string) (*InfluxQuerier, error) {
	n, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, fmt.Errorf("historian: InfluxQuerier needs the line name")
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
func (q *InfluxQuerier) goodSamples(tag string, from, to time.Time) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == "value" and r.line == %s and r.tag == %s and r.quality == "good")`,
		fluxString(q.bucket), fluxTime(from), fluxTime(to), fluxString(MeasurementProcess), fluxString(q.line), fluxString(tag))
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

// Aggregate answers q from InfluxDB: grouped by the tag "batch" or
// "waste_class" (series without it are left out), or windowed by plant day.
func (q *InfluxQuerier) Aggregate(ctx context.Context, aq AggregateQuery) ([]AggregateRow, error) {
	if err := aq.check(); err != nil {
		return nil, err
	}
	var shape, column string
	switch aq.By {
	case GroupByBatch:
		column = "batch"
		shape = `  |> group(columns: ["batch"])`
	case GroupByWasteClass:
		column = "waste_class"
		shape = `  |> group(columns: ["waste_class"])`
	case GroupByDay:
		// Windows are aligned to the epoch; plant midnight is at
		// -DayOffset from UTC midnight.
		shape = fmt.Sprintf("  |> group()\n  |> window(every: 1d, offset: %s)",
			fluxNs(time.Duration(posMod(-int64(aq.DayOffset), int64(day)))))
	}
	flux := "data = " + q.goodSamples(aq.Tag, aq.From, aq.To) + "\n" + shape + "\n" + statsYields
	groups := map[string]*acc{}
	err := q.run(ctx, flux, func(res string, rec rowReader) error {
		var key string
		if column != "" {
			key, _ = rec.values[column].(string)
		} else {
			start, ok := rec.time("_start")
			if !ok {
				return fmt.Errorf("row without _start")
			}
			key = dayKey(start, aq.DayOffset)
		}
		if key == "" {
			return nil
		}
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
	for k, a := range groups {
		if a.count == 0 {
			delete(groups, k)
		}
	}
	return rowsOf(groups), nil
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
