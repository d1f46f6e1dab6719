package historian_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
	"github.com/pretreat/pretreat/historian/records"
)

// demoStart is where the demo data of these tests begins.
var demoStart = time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC)

// demoRecords returns three ended batches, an interrupted one (which gets
// no batch point), deliveries and ended state spans of line, over two days.
func demoRecords(line string) ([]records.Batch, []records.Delivery, []records.StateSpan) {
	var bs []records.Batch
	var ds []records.Delivery
	var ss []records.StateSpan
	classes := []string{"catering", "market", "catering"}
	for i := range 3 {
		start := demoStart.Add(time.Duration(i) * 10 * time.Hour)
		d := records.Delivery{Ticket: fmt.Sprintf("%s-T%d", line, i), Line: line, Time: start.Add(-time.Hour),
			Supplier: []string{"Acme", "Bistro", "Acme"}[i], Haulier: "H & Co", Vehicle: "AB 123", WasteClass: classes[i],
			EWC: "20 01 08", GrossKg: 18000, TareKg: 8000, NetKg: 10000, KgProcessed: 9000, Batches: []string{fmt.Sprintf("%s-B%d", line, i)}}
		if i == 1 {
			d.FoundClass = "household"
		}
		ds = append(ds, d)
		bs = append(bs, records.Batch{ID: fmt.Sprintf("%s-B%d", line, i), Line: line, Recipe: "std", RecipeVersion: 2,
			WasteClass: classes[i], State: records.BatchComplete, Start: start, End: start.Add(4 * time.Hour),
			KgReceived: 9000 + float64(i), KgCake: 3000, KgWater: 2000, KgFiltrate: 7500, KgRejects: 400.5, KWh: 380,
			ClosurePct: 99.1, Jams: i, Reversals: 2 * i, CakeDS: 31.5, SlurryDS: 11.2,
			KWhByUnit: map[string]float64{"shredder": 300, "press": 80}, Metered: []string{"press", "shredder"},
			Deliveries: []records.DeliveryShare{{Ticket: d.Ticket, Supplier: d.Supplier, WasteClass: d.WasteClass, Kg: 9000},
				{Ticket: "old", Supplier: "Zed", WasteClass: d.WasteClass, Kg: 12}},
			Phases: []records.Phase{{Name: "shred", Start: start, End: start.Add(time.Hour),
				Signals: []records.SignalStats{{Tag: "shredder.current", Min: 10, Mean: 50.25, Max: 99, Samples: 3600}}}},
			Notes: []records.Note{{Time: start, Text: `a "quoted" note, with \ and
a newline`}}})
		ss = append(ss, records.StateSpan{Line: line, State: "Execute", Start: start, End: start.Add(4 * time.Hour), BatchID: bs[i].ID, User: "ann"},
			records.StateSpan{Line: line, State: "Idle", Start: start.Add(4 * time.Hour), End: start.Add(10 * time.Hour)})
	}
	ss[1].State, ss[1].Cause, ss[1].Unit = "Held", "Press drive reports a fault", "press"
	return bs, ds, ss
}

// writeDemo hands h samples of the dashboard's tags, alarm events and the
// records of demoRecords; it returns the time range of the data.
func writeDemo(h *historian.Historian, line string) (from, to time.Time) {
	bs, ds, ss := demoRecords(line)
	tags := []string{"hopper.weight", "pulper.level", "shredder.current", "press.back_pressure"}
	for i := range 600 {
		t := demoStart.Add(time.Duration(i) * time.Minute)
		batch := ""
		for _, b := range bs {
			if !t.Before(b.Start) && t.Before(b.End) {
				batch = b.ID
			}
		}
		h.SetBatch(batch)
		var scan []drivers.Sample
		for j, tag := range tags {
			scan = append(scan, drivers.Sample{Tag: tag, Value: float64(10*j + i%7), Quality: drivers.QualityGood, Time: t})
		}
		h.Samples(scan)
	}
	h.SetBatch("")
	for _, b := range bs {
		running := b
		running.State, running.End = records.BatchRunning, time.Time{}
		h.SaveBatch(running) // no point: not ended
		h.SaveBatch(b)
		h.Event(historian.Event{Time: b.Start.Add(time.Hour), Kind: historian.EventAlarm, Line: line, Unit: "shredder", BatchID: b.ID,
			Name: "shredder_jam", Message: "shredder jammed, reversing"})
	}
	h.SaveBatch(records.Batch{ID: line + "-B9", Line: line, State: records.BatchInterrupted, Start: demoStart.Add(40 * time.Hour),
		End: demoStart.Add(41 * time.Hour), KgReceived: 5000, WasteClass: "market"})
	for _, d := range ds {
		h.SaveDelivery(d)
	}
	for _, s := range ss {
		open := s
		open.End = time.Time{}
		h.SaveState(open) // no point: still open
		h.SaveState(s)
	}
	return demoStart.Add(-2 * time.Hour), demoStart.Add(48 * time.Hour)
}

func openDemoHistorian(t *testing.T, url, line string) *historian.Historian {
	t.Helper()
	h, err := historian.Open(historian.Options{Dir: t.TempDir(), Line: line,
		Clock:  fixedClock{demoStart.Add(50 * time.Hour)},
		Influx: &historian.InfluxOptions{URL: url, Bucket: influxtest.Bucket, FlushInterval: 50 * time.Millisecond, MaxRetryDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	return h
}

// dashboard is the part of Grafana's dashboard model the test reads.
// TestGrafanaDashboardQueries writes demo data through the Historian to a
// real InfluxDB and runs every panel's query of the shipped dashboard, and
// the line variable's query: each must return at least one row.
func TestGrafanaDashboardQueries(t *testing.T) {
	t.Parallel()
	srv := influxtest.Start(t)
	h := openDemoHistorian(t, srv.URL, "L1")
	from, to := writeDemo(h, "L1")
	// The latest event in a series that sorts first: a merged table is
	// not in time order.
	lastEvent := demoStart.Add(100 * time.Hour)
	h.Event(historian.Event{Time: lastEvent, Kind: historian.EventCommand, Line: "L1", Unit: "a_first", Name: "reset", User: "op"})
	waitDrained(t, h, 30*time.Second)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// The latest event is the plant's now as InfluxDB knows it.
	lq, err := historian.NewInfluxQuerier(historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket}, "")
	if err != nil {
		t.Fatal(err)
	}
	latest, err := lq.Latest(t.Context())
	lq.Close()
	want := lastEvent
	if err != nil || !latest.Equal(want) {
		t.Errorf("Latest = %v, %v; want the last alarm at %v", latest, err, want)
	}

	// The dashboard's shape: panels, and the variables Grafana asks for.
	var d struct {
		Panels []struct {
			Title   string           `json:"title"`
			Targets []map[string]any `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(historian.GrafanaDashboard(), &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["line"] != "query" || vars["datasource"] != "datasource" {
		t.Errorf("variables %v, want line (query) and datasource", vars)
	}
	if len(d.Panels) < 6 {
		t.Errorf("%d panels, want at least 6", len(d.Panels))
	}
	qs, err := historian.GrafanaQueries([]string{"L1"}, influxtest.Bucket, from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := influxdb2.NewClient(srv.URL, "")
	defer c.Close()
	api := c.QueryAPI("")
	for _, q := range qs {
		flux := q.Flux
		if strings.Contains(flux, "${") || strings.Contains(flux, "v.") {
			t.Errorf("%s: macro left after substitution:\n%s", q.Name, flux)
			continue
		}
		res, err := api.Query(context.Background(), flux)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.Name, err, flux)
			continue
		}
		rows := 0
		var first map[string]any
		for res.Next() {
			if rows == 0 {
				first = res.Record().Values()
			}
			rows++
		}
		if err := res.Err(); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
		res.Close()
		if rows == 0 {
			t.Errorf("%s: no rows\n%s", q.Name, flux)
			continue
		}
		t.Logf("%s: %d rows, first %v", q.Name, rows, first)
	}
}

// TestInfluxRecordPoints: batch, delivery and line state records written
// through the Historian read back exactly with InfluxQuerier.Records, both
// while InfluxDB is up and when it was down while they were saved; re-saves
// do not double a batch; samples are one series per tag.
func TestInfluxRecordPoints(t *testing.T) {
	t.Parallel()
	srv := influxtest.Start(t)
	ctx := context.Background()

	// L1 while InfluxDB is up, saved twice.
	h := openDemoHistorian(t, srv.URL, "L1")
	from, to := writeDemo(h, "L1")
	waitDrained(t, h, 30*time.Second)
	wantB, wantD, wantS := demoRecords("L1")
	for _, b := range wantB {
		h.SaveBatch(b)
	}
	for _, d := range wantD {
		h.SaveDelivery(d)
	}
	for _, s := range wantS {
		h.SaveState(s)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	// L2 while InfluxDB is down; it comes up after the records are saved
	// and the historian closed (they wait in the outbox for the next Open).
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	open := func() *historian.Historian {
		h, err := historian.Open(historian.Options{Dir: dir, Line: "L2", Clock: fixedClock{demoStart.Add(50 * time.Hour)},
			Influx: &historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, FlushInterval: 50 * time.Millisecond,
				MaxRetryDelay: time.Second, CloseTimeout: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		h.Start(ctx)
		return h
	}
	h2 := open()
	writeDemo(h2, "L2")
	waitUntil(t, 10*time.Second, "a failed write", func() bool { return h2.Stats().Influx.Errors > 0 })
	if err := h2.Close(); err != nil {
		t.Fatal(err)
	}
	if p := h2.Stats().Influx.Outbox.PendingPoints; p == 0 {
		t.Fatalf("outbox empty after an outage")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	h2 = open()
	waitDrained(t, h2, 30*time.Second)
	if err := h2.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h2.Stats(); st.Influx.Dropped != 0 || st.Influx.Refused != 0 {
		t.Errorf("L2: %+v", st.Influx)
	}

	for _, line := range []string{"L1", "L2"} {
		iq, err := historian.NewInfluxQuerier(historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket}, line)
		if err != nil {
			t.Fatal(err)
		}
		var calls int
		gb, gd, gs, err := iq.RecordsProgress(ctx, from, to, func(done, total time.Duration) {
			calls++
			if done > total || total != to.Sub(from) {
				t.Errorf("progress %v of %v", done, total)
			}
		})
		iq.Close()
		if err != nil {
			t.Fatalf("%s: Records: %v", line, err)
		}
		if calls == 0 {
			t.Errorf("%s: no progress reported", line)
		}
		wb, wd, ws := demoRecords(line)
		if !sameJSON(gb, wb) || !sameJSON(gd, wd) || !sameJSON(gs, ws) {
			t.Errorf("%s: records read back differ:\n got %d batches %d deliveries %d states\nwant %d %d %d\n%s\n%s",
				line, len(gb), len(gd), len(gs), len(wb), len(wd), len(ws), mustJSON(gb), mustJSON(wb))
		}
	}

	// Every line at once, and a window starting inside a state span.
	all, err := historian.NewInfluxQuerier(historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	lines, err := all.Lines(ctx)
	if err != nil || !reflect.DeepEqual(lines, []string{"L1", "L2"}) {
		t.Errorf("Lines = %v, %v; want [L1 L2]", lines, err)
	}
	gb, gd, gs, err := all.Records(ctx, from, to)
	if err != nil || len(gb) != 6 || len(gd) != 6 || len(gs) != 12 {
		t.Errorf("all lines: %d batches, %d deliveries, %d states, %v; want 6, 6, 12", len(gb), len(gd), len(gs), err)
	}
	mid := demoStart.Add(2 * time.Hour) // inside the first Execute span
	_, _, gs, err = all.Records(ctx, mid, mid.Add(time.Hour))
	if err != nil || len(gs) != 2 || gs[0].Start != demoStart || gs[0].Line != "L1" || gs[1].Line != "L2" {
		t.Errorf("states overlapping %v: %+v, %v; want the Execute spans of L1 and L2", mid, gs, err)
	}
	if _, err := all.Trend(ctx, historian.TrendQuery{Tag: "pulper.level", From: from, To: to, Points: 10}); err == nil {
		t.Errorf("Trend on a querier of every line: no error")
	}

	db := influxtest.Database
	for _, c := range []struct {
		q    string
		want int
	}{
		// Saved twice (running, then ended; and again): one point each.
		{`SELECT count("id") FROM "batch" WHERE "line" = 'L1'`, 3},
		{`SELECT count("ticket") FROM "delivery" WHERE "line" = 'L1'`, 3},
		{`SELECT count("record") FROM "line_state" WHERE "line" = 'L1'`, 6},
		{`SELECT count("id") FROM "batch" WHERE "state" = 'interrupted'`, 0},
		{`SELECT count("id") FROM "batch" WHERE "supplier" = 'Acme'`, 4},
		{`SELECT count("ticket") FROM "delivery" WHERE "mis_declared" = true`, 2},
		{`SELECT count("value") FROM "process" WHERE "batch" <> ''`, 0},
	} {
		if got := srv.Count(t, db, c.q); got != c.want {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
	series := srv.MustQuery(t, db, `SELECT sum("kg_received") FROM "batch" WHERE "line" = 'L1'`)
	if len(series) != 1 || fmt.Sprint(series[0].Values[0][1]) != "27003" {
		t.Errorf("sum of L1 kg_received = %+v, want 27003 (no batch counted twice)", series)
	}
	// One series per line and tag (quality good): no batch split.
	series = srv.MustQuery(t, db, `SHOW SERIES FROM "process" WHERE "line" = 'L1'`)
	if len(series) != 1 || len(series[0].Values) != 4 {
		t.Errorf("process series of L1 = %+v, want 4", series)
	}
	for _, key := range []string{"batch", "waste_class"} {
		if s := srv.MustQuery(t, db, `SHOW TAG VALUES FROM "process" WITH KEY = "`+key+`"`); len(s) != 0 {
			t.Errorf("process has tag %s: %+v", key, s)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameJSON compares records by their JSON, as the store keeps them (times
// compare by instant, not by location).
func sameJSON(a, b any) bool { return mustJSON(a) == mustJSON(b) }
