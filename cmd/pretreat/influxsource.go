package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
)

// influxFlags say which InfluxDB the CLI reads records from.
type influxFlags struct {
	url, org, bucket, tokenFile string
}

func (f *influxFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "influx-url", "", "read the records of every line from InfluxDB at this URL")
	fs.StringVar(&f.org, "influx-org", "", "InfluxDB organisation (default: the plant file's)")
	fs.StringVar(&f.bucket, "influx-bucket", "", "InfluxDB bucket (default: the plant file's)")
	fs.StringVar(&f.tokenFile, "influx-token-file", "", "file holding the InfluxDB token (default: the plant file's token_env variable)")
}

// open prepares a source reading every line's records (or those named in
// lines) from InfluxDB.
func (f *influxFlags) open(cfg *plant.File, lines string) (recordSource, error) {
	ic := cfg.Historian.Influx
	opts := historian.InfluxOptions{URL: f.url, Org: ic.Org, Bucket: ic.Bucket, TokenEnv: ic.TokenEnv, TokenFile: f.tokenFile}
	if opts.TokenEnv == "" {
		opts.TokenEnv = "PRETREAT_INFLUX_TOKEN"
	}
	if f.org != "" {
		opts.Org = f.org
	}
	if f.bucket != "" {
		opts.Bucket = f.bucket
	}
	q, err := historian.NewInfluxQuerier(opts, "")
	if err != nil {
		return nil, err
	}
	s := &influxSource{q: q, where: "InfluxDB " + f.url + " bucket " + opts.Bucket}
	if lines != "" {
		s.lines = strings.Split(lines, ",")
	}
	return s, nil
}

// influxSource reads records from InfluxDB, once per range: a report asks
// for batches, deliveries and spans of the same range one after the other.
type influxSource struct {
	q     *historian.InfluxQuerier
	where string
	lines []string

	from, to   time.Time
	read       bool
	batches    []records.Batch
	deliveries []records.Delivery
	states     []records.StateSpan
}

func (s *influxSource) Where() string { return s.where }

// Now is the later of the wall clock and the latest event in InfluxDB.
func (s *influxSource) Now(ctx context.Context) time.Time {
	now := time.Now()
	if t, err := s.q.Latest(ctx); err == nil && t.After(now) {
		return t
	}
	return now
}
func (s *influxSource) Close() { s.q.Close() }

func (s *influxSource) load(ctx context.Context, from, to time.Time) error {
	if s.read && s.from.Equal(from) && s.to.Equal(to) {
		return nil
	}
	// A report over many months reads month by month; show how far it is
	// when the standard error is a terminal.
	bar := newProgressBar(os.Stderr, "reading InfluxDB")
	b, d, st, err := s.q.RecordsProgress(ctx, from, to, bar.update)
	bar.done()
	if err != nil {
		return fmt.Errorf("%s: %w", s.where, err)
	}
	if len(s.lines) > 0 {
		b = slices.DeleteFunc(b, func(r records.Batch) bool { return !slices.Contains(s.lines, r.Line) })
		d = slices.DeleteFunc(d, func(r records.Delivery) bool { return !slices.Contains(s.lines, r.Line) })
		st = slices.DeleteFunc(st, func(r records.StateSpan) bool { return !slices.Contains(s.lines, r.Line) })
	}
	s.batches, s.deliveries, s.states = b, d, st
	s.from, s.to, s.read = from, to, true
	return nil
}

func (s *influxSource) Batches(ctx context.Context, from, to time.Time) ([]records.Batch, error) {
	if err := s.load(ctx, from, to); err != nil {
		return nil, err
	}
	return s.batches, nil
}

func (s *influxSource) Deliveries(ctx context.Context, from, to time.Time) ([]records.Delivery, error) {
	if err := s.load(ctx, from, to); err != nil {
		return nil, err
	}
	return s.deliveries, nil
}

func (s *influxSource) States(ctx context.Context, from, to time.Time) ([]records.StateSpan, error) {
	if err := s.load(ctx, from, to); err != nil {
		return nil, err
	}
	return s.states, nil
}

// Events are not read back from InfluxDB: a batch's record carries its
// alarms, actions and notes.
func (s *influxSource) Events(ctx context.Context, from, to time.Time) ([]records.Event, error) {
	return nil, nil
}

// progressBar draws "label [=====     ] 45 %" on a terminal, nothing
// elsewhere.
type progressBar struct {
	f     *os.File
	label string
	on    bool
	last  int
}

func newProgressBar(f *os.File, label string) *progressBar {
	fi, err := f.Stat()
	return &progressBar{f: f, label: label, on: err == nil && fi.Mode()&os.ModeCharDevice != 0, last: -1}
}

func (p *progressBar) update(done, total time.Duration) {
	if !p.on || total <= 0 {
		return
	}
	pct := int(100 * done / total)
	if pct == p.last {
		return
	}
	p.last = pct
	n := pct * 30 / 100
	fmt.Fprintf(p.f, "\r%s [%s%s] %3d %%", p.label, strings.Repeat("=", n), strings.Repeat(" ", 30-n), pct)
}

func (p *progressBar) done() {
	if p.on && p.last >= 0 {
		fmt.Fprintln(p.f)
	}
}
