package historian

import (
	"bytes"
	"compress/gzip"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pretreat/pretreat/historian/outbox"
)

// rejectReason says why a point was refused before it reached the outbox.
type rejectReason uint8

const (
	accepted          rejectReason = iota
	rejectNonFinite                // a sample whose value is NaN or ±Inf
	rejectEmpty                    // no field left to write (e.g. an event with no name, message, user or values)
	rejectTimeOfRange              // a time InfluxDB cannot store (outside 1677-09-21..2262-04-11)
)

// Line protocol keeps times as int64 nanoseconds.
var (
	minLPTime = time.Unix(0, math.MinInt64)
	maxLPTime = time.Unix(0, math.MaxInt64)
)

func lpTimeOK(t time.Time) bool { return !t.Before(minLPTime) && !t.After(maxLPTime) }

// appendEscaped appends s escaped for a measurement (commas, spaces) or,
// with equals, for a tag key, tag value or field key. Line protocol has no
// escape for newlines: they become spaces.
func appendEscaped(b []byte, s string, equals bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', ' ':
			b = append(b, '\\', c)
		case '=':
			if equals {
				b = append(b, '\\')
			}
			b = append(b, c)
		case '\n', '\r':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendStringField appends a quoted string field value.
func appendStringField(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendTag(b []byte, key, value string) []byte {
	if value == "" {
		return b // line protocol has no empty tag values
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	return appendEscaped(b, value, true)
}

// appendFloat writes v so that InfluxDB parses back the same float64:
// the shortest decimal that round-trips, never with an exponent.
func appendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendSampleLine appends one "process" point. Tags are in key order,
// which is how InfluxDB stores them. The batch and its waste class are not
// tags of samples: a tag is one series per line and tag name, whichever
// batch runs (the batch points give the batches' times; see
// InfluxQuerier.Aggregate).
func appendSampleLine(b []byte, line string, r *sampleRec) ([]byte, rejectReason) {
	if math.IsNaN(r.s.Value) || math.IsInf(r.s.Value, 0) {
		return b, rejectNonFinite
	}
	if !lpTimeOK(r.s.Time) {
		return b, rejectTimeOfRange
	}
	b = append(b, MeasurementProcess...)
	b = appendTag(b, "line", line)
	b = appendTag(b, "quality", r.s.Quality.String())
	b = appendTag(b, "tag", r.s.Tag)
	b = appendTag(b, "unit", unitOf(r.s.Tag))
	b = append(b, " value="...)
	b = appendFloat(b, r.s.Value)
	if r.s.Reason != "" {
		b = append(b, ",reason="...)
		b = appendStringField(b, r.s.Reason)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.s.Time.UnixNano(), 10)
	return append(b, '\n'), accepted
}

// Event fields that Values entries must not overwrite.
var eventStringFields = map[string]bool{"name": true, "message": true, "user": true}

// appendEventLine appends one "event" point at time ns (the event's time,
// possibly moved by the encoder; see encoder.eventTime).
func appendEventLine(b []byte, e *Event, class string, ns int64) ([]byte, rejectReason) {
	start := len(b)
	b = append(b, MeasurementEvent...)
	b = appendTag(b, "batch", e.BatchID)
	b = appendTag(b, "kind", e.Kind)
	b = appendTag(b, "line", e.Line)
	b = appendTag(b, "unit", e.Unit)
	b = appendTag(b, "waste_class", class)
	sep := byte(' ')
	field := func(key string) {
		b = append(b, sep)
		sep = ','
		b = appendEscaped(b, key, true)
		b = append(b, '=')
	}
	if e.Message != "" {
		field("message")
		b = appendStringField(b, e.Message)
	}
	if e.Name != "" {
		field("name")
		b = appendStringField(b, e.Name)
	}
	if e.User != "" {
		field("user")
		b = appendStringField(b, e.User)
	}
	if len(e.Values) > 0 {
		keys := make([]string, 0, len(e.Values))
		for k := range e.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := e.Values[k]
			if math.IsNaN(v) || math.IsInf(v, 0) || k == "" {
				continue // Event already left these out; never write them
			}
			if eventStringFields[k] {
				k = "value_" + k
			}
			field(k)
			b = appendFloat(b, v)
		}
	}
	if sep == ' ' {
		return b[:start], rejectEmpty
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, ns, 10)
	return append(b, '\n'), accepted
}

// encoder turns drained queues into gzip-compressed chunks of line
// protocol for the outbox. It belongs to the commit goroutine.
type encoder struct {
	line        string
	chunkPoints int

	lp    []byte       // line protocol of the chunk being built
	arena bytes.Buffer // compressed chunks of one commit, back to back
	gz    *gzip.Writer
	out   []outbox.Chunk

	// lastEvent remembers the last time written per event series, so that
	// two events of one series at the same nanosecond do not overwrite
	// each other in InfluxDB (it keeps one point per series and time).
	lastEvent map[string]int64
	keyBuf    []byte
	// pinned keeps the series and time of each record point written (see
	// pin).
	pinned map[string]pointKey
}

// maxEventSeries bounds encoder.lastEvent; when it is reached the map is
// cleared, which only matters for events a millisecond apart or less.
const maxEventSeries = 4096

func newEncoder(line string, chunkPoints int) *encoder {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // level is valid: no error
	return &encoder{line: line, chunkPoints: chunkPoints, gz: gz, lastEvent: map[string]int64{}, pinned: map[string]pointKey{}}
}

// encodeResult counts what one encode refused.
type encodeResult struct {
	points                    int
	nonFinite, empty, badTime uint64
}

func (r *encodeResult) count(why rejectReason) {
	switch why {
	case rejectNonFinite:
		r.nonFinite++
	case rejectEmpty:
		r.empty++
	case rejectTimeOfRange:
		r.badTime++
	}
}

// encode builds the chunks for samples and events, in that order. The
// chunks alias the encoder's buffers until the next call.
func (e *encoder) encode(samples []sampleRec, events []eventRec) ([]outbox.Chunk, encodeResult) {
	return e.encodeQueue(&queue{samples: samples, events: events})
}

// encodeQueue builds the chunks for what q holds: samples, events, batch,
// delivery and line state points, in that order. The chunks alias the
// encoder's buffers until the next call.
func (e *encoder) encodeQueue(q *queue) ([]outbox.Chunk, encodeResult) {
	samples, events := q.samples, q.events
	var res encodeResult
	e.out = e.out[:0]
	e.arena.Reset()
	e.lp = e.lp[:0]
	n := 0
	var why rejectReason
	for i := range samples {
		if e.lp, why = appendSampleLine(e.lp, e.line, &samples[i]); why != accepted {
			res.count(why)
			continue
		}
		n++
		if n == e.chunkPoints {
			e.flush(n)
			n = 0
		}
	}
	for i := range events {
		ev := &events[i].e
		if !lpTimeOK(ev.Time) {
			res.count(rejectTimeOfRange)
			continue
		}
		if e.lp, why = appendEventLine(e.lp, ev, events[i].class, e.eventTime(ev, events[i].class)); why != accepted {
			res.count(why)
			continue
		}
		n++
		if n == e.chunkPoints {
			e.flush(n)
			n = 0
		}
	}
	record := func(why rejectReason) {
		if why != accepted {
			res.count(why)
			return
		}
		n++
		if n == e.chunkPoints {
			e.flush(n)
			n = 0
		}
	}
	for i := range q.batches {
		e.lp, why = e.appendBatchLine(e.lp, &q.batches[i])
		record(why)
	}
	for i := range q.deliveries {
		e.lp, why = e.appendDeliveryLine(e.lp, &q.deliveries[i])
		record(why)
	}
	for i := range q.states {
		e.lp, why = e.appendStateLine(e.lp, &q.states[i])
		record(why)
	}
	if n > 0 {
		e.flush(n)
	}
	for _, c := range e.out {
		res.points += c.Points
	}
	return e.out, res
}

// eventTime returns the time to write e at: its own, or 1 ns after the
// last event of the same series when that is the same or up to a
// millisecond later (two events in one scan).
func (e *encoder) eventTime(ev *Event, class string) int64 {
	ns := ev.Time.UnixNano()
	k := e.keyBuf[:0]
	for _, s := range [...]string{ev.BatchID, ev.Kind, ev.Line, ev.Unit, class} {
		k = append(k, s...)
		k = append(k, 0)
	}
	e.keyBuf = k
	if last, ok := e.lastEvent[string(k)]; ok && ns <= last && last-ns < int64(time.Millisecond) {
		ns = last + 1
	}
	if len(e.lastEvent) >= maxEventSeries {
		clear(e.lastEvent)
	}
	e.lastEvent[string(k)] = ns
	return ns
}

// flush compresses the lines built so far into one chunk of n points.
func (e *encoder) flush(n int) {
	start := e.arena.Len()
	e.gz.Reset(&e.arena)
	e.gz.Write(e.lp) // writes to a bytes.Buffer do not fail
	e.gz.Close()
	// Slicing keeps each chunk valid while the arena grows: growth copies
	// into a new array and leaves the old one to the earlier chunks.
	e.out = append(e.out, outbox.Chunk{Points: n, Data: e.arena.Bytes()[start:e.arena.Len():e.arena.Len()]})
	e.lp = e.lp[:0]
}

// unitOf returns the part of a tag name before its first '.', or "" when
// the name has none.
func unitOf(tag string) string {
	if i := strings.IndexByte(tag, '.'); i > 0 {
		return tag[:i]
	}
	return ""
}
