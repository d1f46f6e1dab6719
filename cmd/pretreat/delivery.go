package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian/records"
)

const deliveryUsage = `usage:
  pretreat delivery add --ticket T --supplier S --class C --gross KG --tare KG [--haulier H] [--vehicle V] [--ewc "20 01 08"] [--time RFC3339] [--found-class C] [--notes TEXT] [--user NAME] [--data DIR | --api URL]
  pretreat delivery list [--from T] [--to T] [--format table|json|csv] [--data DIR | --api URL]
  pretreat delivery import FILE.csv [--user NAME] [--data DIR | --api URL]

A delivery is booked into the running controller (the one holding --data,
or the one at --api): it is linked to the batches that process it.
import reads a CSV file with a header row; columns (any order):
  ticket, supplier, waste_class, gross_kg, tare_kg   required
  net_kg, time, haulier, vehicle, ewc, found_class, operator, notes   optional
time is RFC 3339 (2026-12-07T08:15:00+08:00); empty means now.`

func cmdDelivery(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError(deliveryUsage)
	}
	switch args[0] {
	case "add":
		return deliveryAdd(ctx, args[1:])
	case "list":
		return deliveryList(ctx, args[1:])
	case "import":
		return deliveryImport(ctx, args[1:])
	}
	return usageError(deliveryUsage)
}

// liveClient is the API of the controller that books deliveries: --api,
// or the one advertised in the data directory.
func (f *sourceFlags) liveClient() (*api.Client, error) {
	if f.apiURL != "" {
		return api.NewClient(f.apiURL), nil
	}
	b, err := os.ReadFile(f.data + string(os.PathSeparator) + APIURLFile)
	if err != nil {
		return nil, fmt.Errorf("no controller is running on data directory %s (no %s): deliveries are booked into a running controller; start one with `pretreat run`, or pass --api URL", f.data, APIURLFile)
	}
	return api.NewClient(strings.TrimSpace(string(b))), nil
}

func deliveryAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("delivery add", flag.ContinueOnError)
	var src sourceFlags
	src.register(fs)
	var d records.Delivery
	fs.StringVar(&d.Ticket, "ticket", "", "weighbridge ticket number (unique)")
	fs.StringVar(&d.Supplier, "supplier", "", "supplier (waste producer)")
	fs.StringVar(&d.Haulier, "haulier", "", "haulier")
	fs.StringVar(&d.Vehicle, "vehicle", "", "vehicle registration")
	fs.StringVar(&d.WasteClass, "class", "", "declared waste class (a recipe's waste_class)")
	fs.StringVar(&d.EWC, "ewc", "", `EWC code, e.g. "20 01 08"`)
	fs.StringVar(&d.FoundClass, "found-class", "", "class found at inspection when it differs from the declared one")
	fs.Float64Var(&d.GrossKg, "gross", 0, "gross weight, kg")
	fs.Float64Var(&d.TareKg, "tare", 0, "tare weight, kg")
	fs.Float64Var(&d.NetKg, "net", 0, "net weight, kg (default gross - tare)")
	fs.StringVar(&d.Notes, "notes", "", "notes")
	at := fs.String("time", "", "time of the delivery, RFC 3339 (default now)")
	user := fs.String("user", os.Getenv("USER"), "operator booking it")
	format := fs.String("format", "table", "output format: table or json")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError(fmt.Sprintf("--time %q: want RFC 3339, e.g. 2026-12-07T08:15:00+08:00", *at))
		}
		d.Time = t
	}
	d.Operator = *user
	c, err := src.liveClient()
	if err != nil {
		return err
	}
	got, err := c.AddDelivery(ctx, d)
	if err != nil {
		return err
	}
	return printDeliveries([]records.Delivery{*got}, *format)
}

func deliveryList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("delivery list", flag.ContinueOnError)
	var src sourceFlags
	src.register(fs)
	var rng rangeFlags
	rng.register(fs)
	format := fs.String("format", "table", "output format: table, json or csv")
	config := fs.String("config", "", "plant file whose time zone the table shows (default: the sample plant's)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	cfg, err := loadPlantOrSample(*config)
	if err != nil {
		return err
	}
	loc := plantLocation(cfg)
	from, to, err := rng.bounds(loc)
	if err != nil {
		return usageError(err.Error())
	}
	s, err := src.open()
	if err != nil {
		return err
	}
	defer s.Close()
	ds, err := s.Deliveries(ctx, from, to)
	if err != nil {
		return err
	}
	for i := range ds {
		ds[i].Time = ds[i].Time.In(loc)
	}
	return printDeliveries(ds, *format)
}

func printDeliveries(ds []records.Delivery, format string) error {
	switch format {
	case "json":
		if ds == nil {
			ds = []records.Delivery{}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ds)
	case "csv":
		w := csv.NewWriter(os.Stdout)
		_ = w.Write(deliveryColumns)
		for _, d := range ds {
			_ = w.Write([]string{d.Ticket, d.Time.Format(time.RFC3339), d.Supplier, d.Haulier, d.Vehicle, d.WasteClass, d.EWC,
				ff(d.GrossKg), ff(d.TareKg), ff(d.NetKg), d.FoundClass, d.Operator, d.Notes, ff(d.KgProcessed), strings.Join(d.Batches, " ")})
		}
		w.Flush()
		return w.Error()
	case "table":
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		zone := "UTC"
		if len(ds) > 0 {
			zone, _ = ds[0].Time.Zone()
		}
		fmt.Fprintln(w, "TICKET\tTIME ("+zone+")\tSUPPLIER\tCLASS\tNET KG\tPROCESSED KG\tBATCHES\tNOTE")
		for _, d := range ds {
			note := ""
			if d.MisDeclared() {
				note = "mis-declared: found " + d.FoundClass
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%d\t%s\n", d.Ticket, d.Time.Format("2006-01-02 15:04"), d.Supplier, d.WasteClass, d.NetKg, d.KgProcessed, len(d.Batches), note)
		}
		return w.Flush()
	}
	return usageError("--format must be table, json or csv")
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// deliveryColumns are the CSV columns delivery list writes; import reads
// the same names.
var deliveryColumns = []string{"ticket", "time", "supplier", "haulier", "vehicle", "waste_class", "ewc", "gross_kg", "tare_kg", "net_kg", "found_class", "operator", "notes", "kg_processed", "batches"}

// csvRowError is a bad field of an import file, at file:line:column.
type csvRowError struct {
	file      string
	line, col int
	msg       string
}

func (e *csvRowError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
}

// parseDeliveriesCSV reads deliveries from CSV with a header row. It
// checks every row before any is booked and reports each bad field with
// its file:line:column.
func parseDeliveriesCSV(name string, r io.Reader) ([]records.Delivery, []int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: empty file; the first row names the columns: %s", name, strings.Join(deliveryColumns, ", "))
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	known := map[string]bool{}
	for _, c := range deliveryColumns {
		known[c] = true
	}
	var errs []error
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !known[h] {
			errs = append(errs, &csvRowError{name, 1, i + 1, fmt.Sprintf("unknown column %q; allowed: %s", h, strings.Join(deliveryColumns, ", "))})
			continue
		}
		col[h] = i
	}
	for _, c := range []string{"ticket", "supplier", "waste_class", "gross_kg", "tare_kg"} {
		if _, ok := col[c]; !ok {
			errs = append(errs, &csvRowError{name, 1, 1, fmt.Sprintf("missing column %q (required: ticket, supplier, waste_class, gross_kg, tare_kg)", c)})
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	var out []records.Delivery
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			break
		}
		line, _ := cr.FieldPos(0)
		field := func(c string) (string, int) {
			i, ok := col[c]
			if !ok || i >= len(rec) {
				return "", 0
			}
			_, cc := cr.FieldPos(i)
			return strings.TrimSpace(rec[i]), cc
		}
		num := func(c string, dst *float64) {
			v, cc := field(c)
			if v == "" {
				return
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				errs = append(errs, &csvRowError{name, line, cc, fmt.Sprintf("%s %q: want a number of kg ≥ 0", c, v)})
				return
			}
			*dst = f
		}
		var d records.Delivery
		d.Ticket, _ = field("ticket")
		d.Supplier, _ = field("supplier")
		d.Haulier, _ = field("haulier")
		d.Vehicle, _ = field("vehicle")
		d.WasteClass, _ = field("waste_class")
		d.EWC, _ = field("ewc")
		d.FoundClass, _ = field("found_class")
		d.Operator, _ = field("operator")
		d.Notes, _ = field("notes")
		for _, req := range []string{"ticket", "supplier", "waste_class"} {
			if v, cc := field(req); v == "" {
				if cc == 0 {
					cc = len(rec) + 1
				}
				errs = append(errs, &csvRowError{name, line, cc, req + " is empty; it is required"})
			}
		}
		num("gross_kg", &d.GrossKg)
		num("tare_kg", &d.TareKg)
		num("net_kg", &d.NetKg)
		if v, cc := field("time"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				errs = append(errs, &csvRowError{name, line, cc, fmt.Sprintf("time %q: want RFC 3339, e.g. 2026-12-07T08:15:00+08:00", v)})
			}
			d.Time = t
		}
		out = append(out, d)
		lines = append(lines, line)
	}
	return out, lines, errors.Join(errs...)
}

func deliveryImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("delivery import", flag.ContinueOnError)
	var src sourceFlags
	src.register(fs)
	user := fs.String("user", os.Getenv("USER"), "operator booking them (when the file gives none)")
	if err := fs.Parse(reorder(args)); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() != 1 {
		return usageError(deliveryUsage)
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	ds, lines, err := parseDeliveriesCSV(name, f)
	if err != nil {
		return fmt.Errorf("%w\nnothing was booked", err)
	}
	c, err := src.liveClient()
	if err != nil {
		return err
	}
	booked, skipped := 0, 0
	var errs []error
	for i, d := range ds {
		if d.Operator == "" {
			d.Operator = *user
		}
		if _, err := c.AddDelivery(ctx, d); err != nil {
			if errors.Is(err, api.ErrTicketExists) {
				skipped++
				continue
			}
			errs = append(errs, fmt.Errorf("%s:%d: ticket %s: %w", name, lines[i], d.Ticket, err))
			continue
		}
		booked++
	}
	fmt.Printf("%s: %d deliveries booked, %d already booked (same ticket), %d refused\n", name, booked, skipped, len(errs))
	return errors.Join(errs...)
}

// reorder puts flags before the positional arguments, so that
// "import FILE --api URL" parses like "import --api URL FILE".
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
