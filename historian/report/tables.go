package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// CSVTables are the tables WriteCSV writes (and the sheets of WriteXLSX
// after its Summary sheet, which is the "summary" table).
var CSVTables = []string{"summary", "groups", "batches", "deliveries", "downtime", "holds", "suppliers", "exceptions"}

// outcomeStates are the batch states counted in the tables, in order.
var outcomeStates = []records.BatchState{records.BatchComplete, records.BatchRunning, records.BatchHeld,
	records.BatchStopped, records.BatchAborted, records.BatchInterrupted}

// table is one table of a report: a header (with units) and rows of
// string, float64, int, bool, time.Time or []string cells.
type table struct {
	header []string
	rows   [][]any
}

var figureHeader = []string{"deliveries", "received_t", "batches", "processed_t", "cake_t", "cake_pct", "filtrate_t",
	"filtrate_pct", "rejects_t", "rejects_pct", "water_t", "water_t_per_t", "kwh", "kwh_per_t", "holdup_start_t",
	"holdup_end_t", "closure_pct"}

func figureRow(f *Figures) []any {
	row := []any{f.Deliveries, f.ReceivedT, f.Batches, f.ProcessedT, f.CakeT, f.CakePct, f.FiltrateT, f.FiltratePct,
		f.RejectsT, f.RejectsPct, f.WaterT, f.WaterTPerT, f.KWh, f.KWhPerT, f.HoldupStartT, f.HoldupEndT, f.ClosurePct}
	for _, s := range outcomeStates {
		row = append(row, f.Outcomes[string(s)])
	}
	row = append(row, f.Jams, f.Reversals, f.CakeDSPct, f.CakeDSTargetPct, f.SlurryDSPct, f.SlurryDSTargetPct)
	if f.LineTime {
		row = append(row, f.RunH, f.HeldH, f.StoppedH, f.IdleH, f.AvailabilityPct, f.ThroughputTPerH)
	} else {
		row = append(row, "", "", "", "", "", "")
	}
	return row
}

func figureHeaders() []string {
	h := append([]string{}, figureHeader...)
	for _, s := range outcomeStates {
		h = append(h, "batches_"+string(s))
	}
	return append(h, "jams", "reversals", "cake_ds_pct", "cake_ds_target_pct", "slurry_ds_pct", "slurry_ds_target_pct",
		"run_h", "held_h", "stopped_h", "idle_h", "availability_pct", "throughput_t_per_h")
}

func (r *Report) table(name string) (*table, error) {
	t := &table{}
	switch name {
	case "summary":
		t.header = []string{"item", "value", "unit"}
		f := &r.Total
		add := func(item string, v any, unit string) { t.rows = append(t.rows, []any{item, v, unit}) }
		add("title", r.Title, "")
		add("site", r.Site, "")
		add("from", r.From, "")
		add("to", r.To, "")
		add("generated", r.Generated, "")
		add("time zone", r.TimeZone, "")
		add("deliveries", f.Deliveries, "")
		add("received", f.ReceivedT, "t")
		add("batches", f.Batches, "")
		add("processed", f.ProcessedT, "t")
		add("cake", f.CakeT, "t")
		add("cake of processed", f.CakePct, "%")
		add("filtrate", f.FiltrateT, "t")
		add("filtrate of processed", f.FiltratePct, "%")
		add("rejects", f.RejectsT, "t")
		add("rejects of processed", f.RejectsPct, "%")
		add("water", f.WaterT, "t")
		add("water per processed t", f.WaterTPerT, "t/t")
		add("energy", f.KWh, "kWh")
		add("energy per processed t", f.KWhPerT, "kWh/t")
		add("closure", f.ClosurePct, "%")
		add("closure tolerance", r.ClosureTolPct, "%")
		for _, s := range outcomeStates {
			add("batches "+string(s), f.Outcomes[string(s)], "")
		}
		add("jams", f.Jams, "")
		add("reversals", f.Reversals, "")
		add("cake DS", f.CakeDSPct, "%")
		add("cake DS target", f.CakeDSTargetPct, "%")
		add("slurry DS", f.SlurryDSPct, "%")
		add("slurry DS target", f.SlurryDSTargetPct, "%")
		add("run", f.RunH, "h")
		add("held", f.HeldH, "h")
		add("stopped", f.StoppedH, "h")
		add("idle", f.IdleH, "h")
		add("availability", f.AvailabilityPct, "%")
		add("throughput", f.ThroughputTPerH, "t/h")
		add("exceptions", len(r.Exceptions), "")
	case "groups":
		for _, d := range r.By {
			t.header = append(t.header, string(d))
		}
		t.header = append(t.header, figureHeaders()...)
		for i := range r.Groups {
			g := &r.Groups[i]
			var row []any
			for _, d := range r.By {
				row = append(row, g.Keys[d])
			}
			t.rows = append(t.rows, append(row, figureRow(&g.Figures)...))
		}
	case "batches":
		t.header = []string{"id", "line", "recipe", "recipe_version", "class", "state", "start", "end", "day", "shift",
			"received_kg", "cake_kg", "filtrate_kg", "rejects_kg", "water_kg", "kwh", "kwh_per_t", "holdup_start_kg",
			"holdup_end_kg", "closure_pct", "jams", "reversals", "cake_ds_pct", "cake_ds_target_pct", "slurry_ds_pct",
			"slurry_ds_target_pct", "tickets"}
		for _, b := range r.Batches {
			t.rows = append(t.rows, []any{b.ID, b.Line, b.Recipe, b.RecipeVersion, b.Class, b.State, b.Start, b.End,
				b.Day, b.Shift, b.ReceivedKg, b.CakeKg, b.FiltrateKg, b.RejectsKg, b.WaterKg, b.KWh, b.KWhPerT,
				b.HoldupStartKg, b.HoldupEndKg, b.ClosurePct, b.Jams, b.Reversals, b.CakeDSPct, b.CakeDSTargetPct,
				b.SlurryDSPct, b.SlurryDSTargetPct, b.Tickets})
		}
	case "deliveries":
		t.header = []string{"ticket", "line", "time", "day", "shift", "supplier", "haulier", "vehicle", "class", "ewc",
			"found_class", "misdeclared", "gross_kg", "tare_kg", "net_kg", "processed_kg", "unprocessed_kg", "batches"}
		for _, d := range r.Deliveries {
			t.rows = append(t.rows, []any{d.Ticket, d.Line, d.Time, d.Day, d.Shift, d.Supplier, d.Haulier, d.Vehicle,
				d.Class, d.EWC, d.FoundClass, d.MisDeclared, d.GrossKg, d.TareKg, d.NetKg, d.ProcessedKg, d.UnprocessedKg,
				d.Batches})
		}
	case "downtime":
		t.header = []string{"cause", "hours_h", "count", "pct", "cum_pct"}
		for _, c := range r.Downtime {
			t.rows = append(t.rows, []any{c.Cause, c.Hours, c.Count, c.Pct, c.CumPct})
		}
	case "holds":
		t.header = []string{"line", "start", "end", "hours_h", "kind", "states", "unit", "cause", "user", "batch_id"}
		for _, h := range r.Holds {
			t.rows = append(t.rows, []any{h.Line, h.Start, h.End, h.Hours, h.Kind, h.States, h.Unit, h.Cause, h.User, h.BatchID})
		}
	case "suppliers":
		t.header = []string{"supplier", "deliveries", "net_t", "processed_t", "rejects_t", "rejects_pct", "misdeclared", "misdeclared_tickets"}
		for _, s := range r.Suppliers {
			t.rows = append(t.rows, []any{s.Supplier, s.Deliveries, s.NetT, s.ProcessedT, s.RejectsT, s.RejectsPct, s.MisDeclared, s.MisTickets})
		}
	case "exceptions":
		t.header = []string{"kind", "time", "batch_id", "ticket", "value", "detail"}
		for _, e := range r.Exceptions {
			t.rows = append(t.rows, []any{e.Kind, e.Time, e.BatchID, e.Ticket, e.Value, e.Detail})
		}
	default:
		return nil, fmt.Errorf("report: no table %q: the tables are %s", name, strings.Join(CSVTables, ", "))
	}
	return t, nil
}

// roundFor rounds a figure for display (CSV, HTML); JSON keeps it exact.
func roundFor(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func csvCell(v any, loc *time.Location) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(roundFor(x, 4), 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.In(loc).Format(time.RFC3339)
	case []string:
		return strings.Join(x, " ")
	}
	return fmt.Sprint(v)
}

// WriteCSV writes one table of the report (one of CSVTables) as plain
// CSV: a header row with the units in the names, times in RFC 3339 in the
// plant's zone, figures rounded to 4 decimals, lists space-separated.
func WriteCSV(w io.Writer, r *Report, tableName string) error {
	t, err := r.table(tableName)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header); err != nil {
		return err
	}
	for _, row := range t.rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = csvCell(v, r.Location())
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as indented JSON (exact figures).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteBatchJSON writes a batch report as indented JSON.
func WriteBatchJSON(w io.Writer, b *BatchDetail) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}
