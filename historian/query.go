package historian

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pretreat/pretreat/drivers"
	bolt "go.etcd.io/bbolt"
)

// The queries behind trends and reports. Both the embedded store (Store)
// and InfluxDB (InfluxQuerier) answer them, with the same definitions:
//
//   - Only samples of good quality count; bad and uncertain ones are kept
//     in the data but never averaged into a trend or a report.
//   - Time ranges are half open, From <= t < To.
//   - A trend of N points splits [From, To) into N buckets of equal width
//     w = ceil((To-From)/N) nanoseconds, starting at From (the last one is
//     cut at To). Each bucket with at least one sample gives a TrendPoint
//     at its start with the count, mean, minimum and maximum of the
//     samples in it; empty buckets are left out, so that a gap in the data
//     shows as a gap.
//   - An aggregate row gives count, sum, mean (sum/count), minimum and
//     maximum of the samples in a group:
//     GroupByBatch: by the batch that was running when the sample was
//     handed in (InfluxDB tag "batch"); samples outside batches are left
//     out. GroupByWasteClass: by that batch's waste class (tag
//     "waste_class", set from the batch record SaveBatch gave before the
//     batch's samples; the store reads it from the batch records).
//     GroupByDay: by plant day, midnight to midnight at the fixed UTC
//     offset DayOffset (e.g. +8 h for Hong Kong; a fixed offset because
//     InfluxDB 1.8's Flux has no time zones); Key is the date YYYY-MM-DD.
//     Rows are sorted by Key.
//
// Sums can differ in the last bits between the two sources because they
// add in different orders; counts, times, minima and maxima are exact.

// TrendQuery asks for one tag's values over [From, To), downsampled to at
// most Points buckets.
type TrendQuery struct {
	Tag      string
	From, To time.Time
	Points   int
}

// TrendPoint is one non-empty bucket of a trend.
type TrendPoint struct {
	// Time is the bucket's start.
	Time  time.Time `json:"time"`
	Count int       `json:"count"`
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
}

// Grouping says what an aggregate groups by.
type Grouping uint8

// Groupings.
const (
	GroupByBatch Grouping = iota
	GroupByDay
	GroupByWasteClass
)

// String returns the grouping's name.
func (g Grouping) String() string {
	switch g {
	case GroupByBatch:
		return "batch"
	case GroupByDay:
		return "day"
	case GroupByWasteClass:
		return "waste_class"
	}
	return fmt.Sprintf("grouping(%d)", uint8(g))
}

// AggregateQuery asks for one tag's statistics over [From, To) per group.
type AggregateQuery struct {
	Tag      string
	From, To time.Time
	By       Grouping
	// DayOffset is the plant's UTC offset for GroupByDay, between -14 h
	// and +14 h.
	DayOffset time.Duration
}

// AggregateRow is one group of an aggregate.
type AggregateRow struct {
	// Key is the batch ID, the waste class or the date (YYYY-MM-DD).
	Key   string  `json:"key"`
	Count int     `json:"count"`
	Sum   float64 `json:"sum"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

// Querier answers trend and aggregate queries. Store and InfluxQuerier
// implement it.
type Querier interface {
	Trend(ctx context.Context, q TrendQuery) ([]TrendPoint, error)
	Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error)
}

// MaxTrendPoints bounds TrendQuery.Points.
const MaxTrendPoints = 100000

// ErrBadQuery is matched by the errors of queries that can never succeed
// as asked; retrying them does not help.
var ErrBadQuery = errors.New("historian: bad query")

// bucketWidth checks q and returns the width of its buckets.
func (q TrendQuery) bucketWidth() (time.Duration, error) {
	switch {
	case q.Tag == "":
		return 0, fmt.Errorf("%w: trend needs a tag", ErrBadQuery)
	case !q.To.After(q.From):
		return 0, fmt.Errorf("%w: trend of %s: To %v is not after From %v", ErrBadQuery, q.Tag, q.To, q.From)
	case q.Points < 1 || q.Points > MaxTrendPoints:
		return 0, fmt.Errorf("%w: trend of %s: %d points; allowed 1 to %d", ErrBadQuery, q.Tag, q.Points, MaxTrendPoints)
	case !lpTimeOK(q.From) || !lpTimeOK(q.To):
		return 0, fmt.Errorf("%w: trend of %s: times must be within 1677-2262", ErrBadQuery, q.Tag)
	}
	span := q.To.Sub(q.From)
	w := span / time.Duration(q.Points)
	if w*time.Duration(q.Points) < span {
		w++
	}
	return w, nil
}

func (q AggregateQuery) check() error {
	switch {
	case q.Tag == "":
		return fmt.Errorf("%w: aggregate needs a tag", ErrBadQuery)
	case !q.To.After(q.From):
		return fmt.Errorf("%w: aggregate of %s: To %v is not after From %v", ErrBadQuery, q.Tag, q.To, q.From)
	case q.By > GroupByWasteClass:
		return fmt.Errorf("%w: aggregate of %s: unknown grouping %v", ErrBadQuery, q.Tag, q.By)
	case q.DayOffset < -14*time.Hour || q.DayOffset > 14*time.Hour:
		return fmt.Errorf("%w: aggregate of %s: day offset %v outside -14h..+14h", ErrBadQuery, q.Tag, q.DayOffset)
	case !lpTimeOK(q.From) || !lpTimeOK(q.To):
		return fmt.Errorf("%w: aggregate of %s: times must be within 1677-2262", ErrBadQuery, q.Tag)
	}
	return nil
}

const day = 24 * time.Hour

// dayKey returns the plant date of t at the given UTC offset.
func dayKey(t time.Time, offset time.Duration) string {
	return t.In(time.FixedZone("plant", int(offset/time.Second))).Format(time.DateOnly)
}

// acc accumulates one bucket or group.
type acc struct {
	count         int
	sum, min, max float64
}

func (a *acc) add(v float64) {
	if a.count == 0 {
		a.min, a.max = v, v
	} else {
		a.min, a.max = math.Min(a.min, v), math.Max(a.max, v)
	}
	a.count++
	a.sum += v
}

// scanGood calls fn for each good sample of tag in [from, to), in time
// order, with its batch ID.
func (s *Store) scanGood(ctx context.Context, tag string, from, to time.Time, fn func(t time.Time, v float64, batch string)) error {
	end := timeKey(to)
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketSamples)
		if root == nil {
			return nil
		}
		b := root.Bucket([]byte(tag))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		n := 0
		for k, v := c.Seek(putTimeKey(nil, from)); k != nil; k, v = c.Next() {
			if n++; n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if len(k) != 8 {
				continue
			}
			tk := binary.BigEndian.Uint64(k)
			if tk >= end {
				break
			}
			if len(v) < 10 || drivers.Quality(v[9]) != drivers.QualityGood {
				continue
			}
			smp, err := decodeSample(v)
			if err != nil {
				return fmt.Errorf("tag %s at %x: %w", tag, k, err)
			}
			fn(keyTime(tk), smp.Value, smp.batch)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("historian: query %s: %w", tag, err)
	}
	return nil
}

// Trend answers q from the embedded store.
func (s *Store) Trend(ctx context.Context, q TrendQuery) ([]TrendPoint, error) {
	w, err := q.bucketWidth()
	if err != nil {
		return nil, err
	}
	var out []TrendPoint
	cur, curIdx := acc{}, int64(-1)
	emit := func() {
		if cur.count > 0 {
			out = append(out, TrendPoint{Time: q.From.Add(time.Duration(curIdx) * w), Count: cur.count,
				Mean: cur.sum / float64(cur.count), Min: cur.min, Max: cur.max})
		}
	}
	err = s.scanGood(ctx, q.Tag, q.From, q.To, func(t time.Time, v float64, _ string) {
		idx := int64(t.Sub(q.From) / w)
		if idx != curIdx {
			emit()
			cur, curIdx = acc{}, idx
		}
		cur.add(v)
	})
	if err != nil {
		return nil, err
	}
	emit()
	return out, nil
}

// Aggregate answers q from the embedded store.
func (s *Store) Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	var classOf map[string]string
	if q.By == GroupByWasteClass {
		batches, err := s.Batches()
		if err != nil {
			return nil, err
		}
		classOf = make(map[string]string, len(batches))
		for _, b := range batches {
			classOf[b.ID] = b.WasteClass
		}
	}
	groups := map[string]*acc{}
	lastDay, lastDayKey := int64(math.MinInt64), ""
	err := s.scanGood(ctx, q.Tag, q.From, q.To, func(t time.Time, v float64, batch string) {
		var key string
		switch q.By {
		case GroupByBatch:
			key = batch
		case GroupByWasteClass:
			key = classOf[batch]
		case GroupByDay:
			// Samples come in time order: format a date once per day.
			d := floorDiv(t.UnixNano()+int64(q.DayOffset), int64(day))
			if d != lastDay {
				lastDay, lastDayKey = d, dayKey(t, q.DayOffset)
			}
			key = lastDayKey
		}
		if key == "" {
			return
		}
		a := groups[key]
		if a == nil {
			a = &acc{}
			groups[key] = a
		}
		a.add(v)
	})
	if err != nil {
		return nil, err
	}
	return rowsOf(groups), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func rowsOf(groups map[string]*acc) []AggregateRow {
	out := make([]AggregateRow, 0, len(groups))
	for k, a := range groups {
		out = append(out, AggregateRow{Key: k, Count: a.count, Sum: a.sum, Mean: a.sum / float64(a.count), Min: a.min, Max: a.max})
	}
	slices.SortFunc(out, func(a, b AggregateRow) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}
