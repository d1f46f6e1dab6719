package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

const reportUsage = `usage: pretreat report KIND [flags]

KIND is one of
  daily      one production day (default: the last complete one; --day DATE or --from/--to)
  shift      one shift (default: the last complete one; --from names a time inside it)
  range      any range: --from and --to
  batch ID   the record of one batch
  supplier   deliveries, tonnes, rejects and mis-declared loads per supplier (default: the last 30 days)
  grafana    print the Grafana dashboard (JSON) for the InfluxDB data

flags:
  --from T --to T       range; T is a date (2026-12-07, the plant's local day) or RFC 3339
  --day DATE            the production day of a daily report
  --by LIST             grouping: day,shift,class,supplier,recipe,line (any combination)
  --format LIST         html,csv,xlsx,json (default html); several write several files
  --out FILE            output file (one format) or prefix (several; csv writes one file a table)
  --config PLANT        plant file: time zone, shifts, line (default: the sample plant)
  --data DIR | --api URL | --influx-url URL    where the records come from`

// reportFlags are the report command's flags.
type reportFlags struct {
	src       sourceFlags
	rng       rangeFlags
	influx    influxFlags
	by        string
	format    string
	out       string
	config    string
	tolerance float64
	lines     string
}

// rangeFlags are --from, --to and --day.
type rangeFlags struct {
	from, to, day string
}

func (r *rangeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.from, "from", "", "start: a date (the plant's local day) or RFC 3339")
	fs.StringVar(&r.to, "to", "", "end (exclusive): a date (the start of that local day) or RFC 3339")
}

// parseWhen reads a date in loc or an RFC 3339 time.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-12-07) nor an RFC 3339 time (2026-12-07T07:00:00+08:00)", s)
}

// bounds returns the range; unset ends are open.
func (r *rangeFlags) bounds(loc *time.Location) (from, to time.Time, err error) {
	from, to = time.Time{}, farFuture
	if r.from != "" {
		if from, err = parseWhen(r.from, loc); err != nil {
			return from, to, fmt.Errorf("--from: %w", err)
		}
	}
	if r.to != "" {
		if to, err = parseWhen(r.to, loc); err != nil {
			return from, to, fmt.Errorf("--to: %w", err)
		}
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("--to %s is not after --from %s", r.to, r.from)
	}
	return from, to, nil
}

func cmdReport(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError(reportUsage)
	}
	kind := args[0]
	args = args[1:]
	if kind == "grafana" {
		// The dashboard to import in Grafana (InfluxDB datasource, Flux).
		_, err := os.Stdout.Write(historian.GrafanaDashboard())
		return err
	}
	batchID := ""
	if kind == "batch" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return usageError("usage: pretreat report batch ID [--format html|json] [--out FILE] [--data DIR | --api URL | --influx-url URL]")
		}
		batchID, args = args[0], args[1:]
	}
	switch kind {
	case "daily", "shift", "range", "batch", "supplier":
	default:
		return usageError(fmt.Sprintf("report %q is not known; allowed: daily, shift, range, batch, supplier, grafana\n\n%s", kind, reportUsage))
	}
	fs := flag.NewFlagSet("report "+kind, flag.ContinueOnError)
	var f reportFlags
	f.src.register(fs)
	f.rng.register(fs)
	f.influx.register(fs)
	fs.StringVar(&f.rng.day, "day", "", "production day of a daily report (2026-12-07)")
	fs.StringVar(&f.by, "by", "", "grouping: day,shift,class,supplier,recipe,line")
	fs.StringVar(&f.format, "format", "html", "html,csv,xlsx,json")
	fs.StringVar(&f.out, "out", "", "output file or prefix")
	fs.StringVar(&f.config, "config", "", "plant file (time zone, shifts); default the sample plant")
	fs.Float64Var(&f.tolerance, "closure-tolerance", 5, "mass-balance closure tolerance, ± %")
	fs.StringVar(&f.lines, "lines", "", "with --influx-url: only these lines (comma-separated); default every line in the bucket")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	cfg, err := loadPlantOrSample(f.config)
	if err != nil {
		return err
	}
	cal := calendarOf(cfg)
	var src recordSource
	if f.influx.url != "" {
		src, err = f.influx.open(cfg, f.lines)
	} else {
		src, err = f.src.open()
	}
	if err != nil {
		return err
	}
	defer src.Close()
	now := src.Now(ctx)
	from, to, err := reportRange(kind, &f.rng, cal, now)
	if err != nil {
		return usageError(err.Error())
	}

	if kind == "batch" {
		return batchReport(ctx, src, batchID, f, cal)
	}
	// Batches that start in the range, deliveries in it, spans overlapping it.
	data, err := readData(ctx, src, from, to)
	if err != nil {
		return err
	}
	by := f.by
	if by == "" {
		by = map[string]string{"daily": "shift,class", "shift": "class", "range": "day", "supplier": "supplier"}[kind]
	}
	dims, err := report.ParseDims(by)
	if err != nil {
		return usageError("--by: " + err.Error())
	}
	title := map[string]string{"daily": "Daily report", "shift": "Shift report", "range": "Production report", "supplier": "Supplier report"}[kind]
	rep, err := report.Compute(data, cal, report.Options{From: from, To: to, By: dims, ClosureTolPct: f.tolerance, Now: now, Title: title, Site: siteName(cfg, src)})
	if err != nil {
		return err
	}
	base := f.out
	if base == "" {
		base = fmt.Sprintf("report-%s-%s", kind, from.In(cal.Location).Format("2006-01-02"))
		if kind == "shift" {
			base += "-" + from.In(cal.Location).Format("1504")
		}
	}
	return writeReport(rep, base, f.format, os.Stdout)
}

// readData reads what a report over [from, to) needs.
func readData(ctx context.Context, src recordSource, from, to time.Time) (report.Data, error) {
	var d report.Data
	var err error
	if d.Batches, err = src.Batches(ctx, from, to); err != nil {
		return d, fmt.Errorf("batches from %s: %w", src.Where(), err)
	}
	if d.Deliveries, err = src.Deliveries(ctx, from, to); err != nil {
		return d, fmt.Errorf("deliveries from %s: %w", src.Where(), err)
	}
	if d.States, err = src.States(ctx, from, to); err != nil {
		return d, fmt.Errorf("line states from %s: %w", src.Where(), err)
	}
	return d, nil
}

// writeReport writes rep in every format asked for.
func writeReport(rep *report.Report, base, formats string, msgs io.Writer) error {
	fl := strings.Split(formats, ",")
	single := len(fl) == 1
	for _, format := range fl {
		format = strings.TrimSpace(format)
		ext := "." + format
		name := base
		if !single || filepath.Ext(base) == "" {
			name = strings.TrimSuffix(base, ext) + ext
		}
		switch format {
		case "html":
			if err := writeFile(msgs, name, func(w io.Writer) error { return report.WriteHTML(w, rep) }); err != nil {
				return err
			}
		case "json":
			if err := writeFile(msgs, name, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
				return err
			}
		case "xlsx":
			if err := writeFile(msgs, name, func(w io.Writer) error { return report.WriteXLSX(w, rep) }); err != nil {
				return err
			}
		case "csv":
			stem := strings.TrimSuffix(name, ".csv")
			for _, table := range report.CSVTables {
				n := stem + "-" + table + ".csv"
				if err := writeFile(msgs, n, func(w io.Writer) error { return report.WriteCSV(w, rep, table) }); err != nil {
					return err
				}
			}
			continue
		default:
			return usageError(fmt.Sprintf("--format %q is not known; allowed: html, csv, xlsx, json", format))
		}
	}
	return nil
}

// writeFile writes name whole or not at all ("-" is the standard output).
func writeFile(msgs io.Writer, name string, fn func(io.Writer) error) error {
	if name == "-" || strings.HasPrefix(name, "-.") {
		return fn(os.Stdout)
	}
	if dir := filepath.Dir(name); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	fmt.Fprintln(msgs, "wrote", name)
	return nil
}

// reportRange is the range of a report of this kind: the flags', or the
// last complete day or shift before now.
func reportRange(kind string, r *rangeFlags, cal report.Calendar, now time.Time) (from, to time.Time, err error) {
	loc := cal.Location
	switch kind {
	case "daily":
		switch {
		case r.day != "":
			t, err := time.ParseInLocation("2006-01-02", r.day, loc)
			if err != nil {
				return from, to, fmt.Errorf("--day %q: want a date, e.g. 2026-12-07", r.day)
			}
			_, from = cal.Day(t.Add(cal.DayStart + time.Hour))
			_, to = cal.Day(from.Add(36 * time.Hour))
			return from, to, nil
		case r.from == "" && r.to == "":
			_, today := cal.Day(now)
			_, from = cal.Day(today.Add(-time.Hour))
			return from, today, nil
		}
	case "shift":
		if r.to == "" {
			at := now
			if r.from != "" {
				if at, err = parseWhen(r.from, loc); err != nil {
					return from, to, fmt.Errorf("--from: %w", err)
				}
			} else {
				_, cur, _ := cal.Shift(now)
				at = cur.Add(-time.Minute)
			}
			_, from, to = cal.Shift(at)
			return from, to, nil
		}
	case "batch":
		return time.Time{}, farFuture, nil
	case "range", "supplier":
		if r.from == "" && kind == "range" {
			return from, to, errors.New("report range needs --from (and --to, default now)")
		}
	}
	from, to, err = r.bounds(loc)
	if err != nil {
		return from, to, err
	}
	if r.to == "" {
		to = now
	}
	if r.from == "" && kind == "supplier" {
		// A supplier report defaults to the last 30 production days.
		_, from = cal.Day(now.Add(-30 * 24 * time.Hour))
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("the range ends (%s) before it starts (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

func batchReport(ctx context.Context, src recordSource, id string, f reportFlags, cal report.Calendar) error {
	bs, err := src.Batches(ctx, time.Time{}, farFuture)
	if err != nil {
		return err
	}
	var b *records.Batch
	for i := range bs {
		if bs[i].ID == id {
			b = &bs[i]
		}
	}
	if b == nil {
		return fmt.Errorf("no batch %q in %s", id, src.Where())
	}
	end := b.End
	if end.IsZero() {
		end = src.Now(ctx)
	}
	evs, err := src.Events(ctx, b.Start, end.Add(time.Second))
	if err != nil {
		return err
	}
	d := report.BatchReport(*b, evs)
	base := f.out
	if base == "" {
		base = "batch-" + id
	}
	for _, format := range strings.Split(f.format, ",") {
		name := strings.TrimSuffix(base, "."+format) + "." + format
		switch format {
		case "html":
			err = writeFile(os.Stdout, name, func(w io.Writer) error { return report.WriteBatchHTML(w, d, cal.Location) })
		case "json":
			err = writeFile(os.Stdout, name, func(w io.Writer) error { return report.WriteBatchJSON(w, d) })
		default:
			return usageError("report batch: --format must be html or json")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loadPlantOrSample loads the plant file, or the sample plant.
func loadPlantOrSample(path string) (*plant.File, error) {
	if path == "" {
		return plant.Parse("<sample>", plant.Sample())
	}
	return plant.Load(path)
}

// calendarOf is the plant's local time and shifts.
func calendarOf(cfg *plant.File) report.Calendar {
	loc, dayStart, shifts := cfg.Calendar()
	c := report.Calendar{Location: loc, DayStart: dayStart}
	for _, s := range shifts {
		c.Shifts = append(c.Shifts, report.Shift{Name: s.Name, Start: s.Start})
	}
	return c
}

func siteName(cfg *plant.File, src recordSource) string {
	return cfg.Line + " (" + src.Where() + ")"
}
