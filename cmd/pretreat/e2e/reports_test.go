// Package e2e runs the pretreat binary as a person would: headless demos
// (test rig + controller) writing to the embedded store and a real
// influxd, the CLI reading while they run and after, and the reports it
// writes checked against the records and rendered in Chromium. It is its
// own package so that it runs beside cmd/pretreat's tests.
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/xuri/excelize/v2"

	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

// bin is the pretreat binary built for these tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pretreat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "pretreat")
	// A plain build, not the race detector's: the demos run at 30-40x and
	// the scan must keep up with plant time.
	out, err := exec.Command("go", "build", "-o", bin, "github.com/pretreat/pretreat/cmd/pretreat").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building pretreat: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs `pretreat args…` to its end and returns its standard output.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pretreat %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// demo starts a headless demo and returns it running; its output goes to
// a log shown when the test fails.
func demo(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"demo", "--headless"}, args...)...)
	log, err := os.Create(filepath.Join(t.TempDir(), "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // only the process this test started
			cmd.Wait()
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s (tail):\n%s", strings.Join(cmd.Args, " "), b)
		}
	})
	return cmd
}

// waitExit waits for a demo with --duration to end by itself.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo ended with %v", err)
		}
	case <-time.After(limit):
		t.Fatalf("demo still running after %v", limit)
	}
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v in %.300s", err, s)
	}
	return v
}

// near says two figures are the same up to the rounding of a sum taken in
// another order (1e-9 relative).
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func influxURL(t *testing.T) *influxtest.Server {
	t.Helper()
	srv := influxtest.Start(t)
	if err := srv.CreateDatabase("plant"); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestDemoDayReports runs a headless demo (several suppliers and classes,
// random jams) into the embedded store and a real influxd. While it runs,
// batch list, delivery list, audit and a report read through the running
// controller. After it, the range report in HTML, CSV, XLSX and JSON must
// have every total equal to the sums over batch list and delivery list,
// the same figures from InfluxDB as from the embedded store, every
// Grafana panel query must find the demo's data, and the HTML must render
// in Chromium with its charts.
func TestDemoDayReports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a demo for 2 h of plant time; skipped with -short")
	}
	srv := influxURL(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const speed, plantHours = 40, 2
	wallStart := time.Now()
	d := demo(t, "--speed", strconv.Itoa(speed), "--duration", fmt.Sprintf("%dh", plantHours), "--data", data,
		"--influx-url", srv.URL, "--seed", "5")

	// Reads while the controller runs (it holds the store): the CLI goes
	// through the API it advertises in the data directory.
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(data, "api.url")); err == nil {
			bs := decode[[]records.Batch](t, cli(t, "batch", "list", "--data", data, "--format", "json"))
			if len(bs) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch listed through the running controller within 90 s")
		}
		time.Sleep(time.Second)
	}
	running := decode[[]records.Delivery](t, cli(t, "delivery", "list", "--data", data, "--format", "json"))
	if len(running) == 0 {
		t.Error("delivery list while running: no deliveries (the demo books a backlog at start)")
	}
	audit := decode[[]records.Event](t, cli(t, "audit", "--data", data, "--format", "json"))
	if len(audit) == 0 {
		t.Error("audit while running: no commands (the demo operator resets and starts)")
	}
	live := decode[report.Report](t, cli(t, "report", "range", "--data", data, "--from", "2000-01-01", "--format", "json", "--out", "-"))
	if live.Total.Batches < 1 {
		t.Errorf("report while running: %v batches", live.Total.Batches)
	}
	t.Logf("while running: %d deliveries, %d commands audited, report of %.0f batches", len(running), len(audit), live.Total.Batches)

	waitExit(t, d, time.Duration(plantHours)*time.Hour/speed+3*time.Minute)
	t.Logf("demo of %d h at %dx took %v", plantHours, speed, time.Since(wallStart).Round(time.Second))

	batches := decode[[]records.Batch](t, cli(t, "batch", "list", "--data", data, "--format", "json"))
	deliveries := decode[[]records.Delivery](t, cli(t, "delivery", "list", "--data", data, "--format", "json"))
	if len(batches) < 3 || len(deliveries) < 2 {
		t.Fatalf("%d batches and %d deliveries in %d h of demo; want ≥ 3 and ≥ 2", len(batches), len(deliveries), plantHours)
	}
	// The report's range: every record of the demo, up to the start of
	// its last batch (interrupted when the demo ended; InfluxDB gets a
	// batch's point only when it ends for good).
	from := batches[0].Start.Add(-24 * time.Hour)
	last := batches[len(batches)-1]
	to := last.Start
	if last.State.Ended() && last.State != records.BatchInterrupted {
		to = last.End.Add(time.Second)
	}
	rng := []string{"--from", from.Format(time.RFC3339Nano), "--to", to.Format(time.RFC3339Nano)}
	out := filepath.Join(dir, "report")
	cli(t, append([]string{"report", "range", "--data", data, "--by", "day,shift,class,supplier", "--format", "html,csv,xlsx,json", "--out", out}, rng...)...)
	b, err := os.ReadFile(out + ".json")
	if err != nil {
		t.Fatal(err)
	}
	rep := decode[report.Report](t, string(b))

	// 1. Every total is the sum over batch list and delivery list.
	var want report.Figures
	n := 0
	for _, b := range batches {
		if b.Start.Before(from) || !b.Start.Before(to) {
			continue
		}
		n++
		want.ProcessedT += b.KgReceived / 1000
		want.CakeT += b.KgCake / 1000
		want.FiltrateT += b.KgFiltrate / 1000
		want.RejectsT += b.KgRejects / 1000
		want.WaterT += b.KgWater / 1000
		want.KWh += b.KWh
		want.Jams += float64(b.Jams)
	}
	for _, d := range deliveries {
		if !d.Time.Before(from) && d.Time.Before(to) {
			want.Deliveries++
			want.ReceivedT += d.NetKg / 1000
		}
	}
	got := rep.Total
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"batches", got.Batches, float64(n)}, {"deliveries", float64(got.Deliveries), float64(want.Deliveries)},
		{"received t", got.ReceivedT, want.ReceivedT}, {"processed t", got.ProcessedT, want.ProcessedT},
		{"cake t", got.CakeT, want.CakeT}, {"filtrate t", got.FiltrateT, want.FiltrateT}, {"rejects t", got.RejectsT, want.RejectsT},
		{"water t", got.WaterT, want.WaterT}, {"kWh", got.KWh, want.KWh}, {"jams", got.Jams, want.Jams},
	} {
		if !near(c.got, c.want) {
			t.Errorf("report %s = %v; the sum over the lists is %v", c.name, c.got, c.want)
		}
	}
	t.Logf("report: %d batches, %d deliveries %.3f t received, %.3f t processed, closure %.2f %%, %.1f kWh/t, water %.2f t/t, availability %.1f %%, %v jams, %d causes of downtime, %d exceptions",
		n, got.Deliveries, got.ReceivedT, got.ProcessedT, got.ClosurePct, got.KWhPerT, got.WaterTPerT, got.AvailabilityPct, got.Jams, len(rep.Downtime), len(rep.Exceptions))
	if len(rep.Suppliers) < 2 {
		t.Errorf("%d suppliers in the report; the demo has several", len(rep.Suppliers))
	}

	// The CSV and the workbook say the same as the JSON.
	checkCSV(t, out, got)
	checkXLSX(t, out+".xlsx", got)

	// 2. The same report from InfluxDB.
	fromInflux := decode[report.Report](t, cli(t, append([]string{"report", "range", "--influx-url", srv.URL, "--influx-bucket", "plant/autogen",
		"--by", "day,shift,class,supplier", "--format", "json", "--out", "-"}, rng...)...))
	sameFigures(t, "total", fromInflux.Total, rep.Total)
	if len(fromInflux.Groups) != len(rep.Groups) {
		t.Errorf("InfluxDB report has %d groups, the embedded store's %d", len(fromInflux.Groups), len(rep.Groups))
	} else {
		for i := range rep.Groups {
			sameFigures(t, "group "+rep.Groups[i].Label(rep.By), fromInflux.Groups[i].Figures, rep.Groups[i].Figures)
		}
	}

	// 6. Every panel of the shipped Grafana dashboard finds the demo's data.
	grafanaPanels(t, srv.URL, batches[0].Line, from, to.Add(time.Hour))

	// 4. The HTML renders in Chromium, offline, with its charts.
	checkHTML(t, out+".html", dir)
}

// sameFigures compares two reports' figures (line time from InfluxDB is
// the same spans, so every figure must agree).
func sameFigures(t *testing.T, what string, a, b report.Figures) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var ma, mb map[string]any
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	for k, va := range ma {
		fa, okA := va.(float64)
		fb, okB := mb[k].(float64)
		if okA && okB {
			if !near(fa, fb) {
				t.Errorf("%s %s: InfluxDB %v, embedded store %v", what, k, fa, fb)
			}
			continue
		}
		if fmt.Sprint(va) != fmt.Sprint(mb[k]) {
			t.Errorf("%s %s: InfluxDB %v, embedded store %v", what, k, va, mb[k])
		}
	}
}

// checkCSV finds the totals in the summary table (item, value, unit) and
// the batch table's received kg adds up to them.
func checkCSV(t *testing.T, stem string, f report.Figures) {
	t.Helper()
	read := func(path string) [][]string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %v, %d rows", path, err, len(rows))
		}
		return rows
	}
	items := map[string]string{}
	for _, r := range read(stem + "-summary.csv")[1:] {
		if len(r) >= 2 {
			items[r[0]] = r[1]
		}
	}
	for name, want := range map[string]float64{"processed": f.ProcessedT, "received": f.ReceivedT, "energy": f.KWh, "closure": f.ClosurePct} {
		v, err := strconv.ParseFloat(items[name], 64)
		if err != nil || math.Abs(v-want) > 1e-4*math.Max(1, want) {
			t.Errorf("%s-summary.csv: %s = %q, the JSON says %v", stem, name, items[name], want)
		}
	}
	rows := read(stem + "-batches.csv")
	col := -1
	for i, h := range rows[0] {
		if h == "received_kg" {
			col = i
		}
	}
	sum := 0.0
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			t.Fatalf("%s-batches.csv: received_kg %q", stem, r[col])
		}
		sum += v
	}
	if math.Abs(sum/1000-f.ProcessedT) > 1e-3 {
		t.Errorf("%s-batches.csv: received_kg adds up to %v kg; the JSON says %v t processed", stem, sum, f.ProcessedT)
	}
}

// checkXLSX opens the workbook and finds the processed tonnes.
func checkXLSX(t *testing.T, path string, f report.Figures) {
	t.Helper()
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) < 4 || sheets[0] != "Summary" {
		t.Errorf("%s: sheets %v; want Summary first and the tables", path, sheets)
	}
	rows, err := x.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		for i := 0; i+1 < len(r); i++ {
			if strings.HasPrefix(strings.ToLower(r[i]), "processed") {
				v, err := strconv.ParseFloat(r[i+1], 64)
				if err == nil && math.Abs(v-f.ProcessedT) < 1e-3 {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("%s: Summary has no processed tonnes of %v: %v", path, f.ProcessedT, rows)
	}
}

// grafanaPanels runs every query of the shipped dashboard against the
// server: each must return rows.
func grafanaPanels(t *testing.T, url, line string, from, to time.Time) {
	t.Helper()
	qs, err := historian.GrafanaQueries([]string{line}, "plant/autogen", from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := influxdb2.NewClient(url, "")
	defer c.Close()
	q := c.QueryAPI("")
	for _, g := range qs {
		res, err := q.Query(t.Context(), g.Flux)
		if err != nil {
			t.Errorf("grafana %s: %v\n%s", g.Name, err, g.Flux)
			continue
		}
		rows := 0
		for res.Next() {
			rows++
		}
		if err := res.Err(); err != nil {
			t.Errorf("grafana %s: %v", g.Name, err)
		}
		res.Close()
		if rows == 0 {
			t.Errorf("grafana %s: no rows over the demo's data\n%s", g.Name, g.Flux)
		} else {
			t.Logf("grafana %s: %d rows", g.Name, rows)
		}
	}
}

// checkHTML renders the report in headless Chromium and checks it has its
// charts and no console messages, and that the screenshot is not blank.
// PRETREAT_REPORT_SHOTS=DIR keeps the screenshot there for a person.
func checkHTML(t *testing.T, path, dir string) {
	t.Helper()
	r := renderHTML(t, path, dir, 1280, 2400)
	if n := strings.Count(r.dom, "<svg"); n < 4 {
		t.Errorf("%s: %d <svg> elements after load; want the 4 charts", path, n)
	}
	if len(r.console) > 0 {
		t.Errorf("%s: console messages: %q", path, r.console)
	}
	ink := inked(r.shot)
	if ink < 0.02 {
		t.Errorf("%s: screenshot %.1f %% inked: blank", path, 100*ink)
	}
	t.Logf("%s: %d svg, %.1f %% of the screenshot inked", path, strings.Count(r.dom, "<svg"), 100*ink)
	if keep := os.Getenv("PRETREAT_REPORT_SHOTS"); keep != "" {
		os.MkdirAll(keep, 0o755)
		b, _ := os.ReadFile(r.shotPath)
		os.WriteFile(filepath.Join(keep, filepath.Base(r.shotPath)), b, 0o644)
		h, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(keep, filepath.Base(path)), h, 0o644)
	}
}
