package historian_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

// BenchmarkReport30Days measures what a manager's range report costs over
// the raw read of the records it is made from, from the embedded store and
// from a real influxd, in the same run against the same data:
//
//   - store/raw: OpenStore, then Batches, Deliveries and States of the
//     range, Close (the time to read the records, the floor of a report);
//   - store/report: the same read, report.Compute grouped by
//     day,shift,class,supplier, WriteHTML, WriteXLSX and every CSV table
//     into io.Discard;
//   - influx/raw: InfluxQuerier.Records of the range;
//   - influx/report: Records, Compute and the same renderers.
//
// Each reports ms/op and the records it read; the parent logs the table
// (raw ms, report ms, report/raw, records, InfluxDB raw / store raw).
//
// The fixture (see reportFixture) is written once per process through a
// real Historian into its embedded store and a real influxd; it needs
// influxd (influxtest.Find: $PRETREAT_INFLUXD, PATH, ~/.cache/pretreat/bin)
// and is skipped under -short. Its size comes from PRETREAT_BENCH_DAYS
// (default 30) and PRETREAT_BENCH_SAMPLES ("all", the default: every tag
// of the sample plant at 1 s; "report": the 10 tags of the phase
// statistics and trends; "none"; or a number N: the plant's first N
// tags). Run it with
//
//	go test ./historian/ -run '^$' -bench BenchmarkReport30Days -benchtime 5x -timeout 60m
//
// or, for the table alone (five interleaved rounds, medians):
//
//	PRETREAT_BENCH=1 go test ./historian/ -run TestReportBenchTable -v -timeout 60m
func BenchmarkReport30Days(b *testing.B) {
	fx := reportFixtureFor(b)
	res := &benchResults{ms: map[string]float64{}}
	for _, src := range []string{"store", "influx"} {
		b.Run(src, func(b *testing.B) {
			for _, kind := range []string{"raw", "report"} {
				b.Run(kind, func(b *testing.B) {
					ctx := context.Background()
					var d report.Data
					n := 0
					for b.Loop() {
						n++
						var err error
						if d, err = fx.run(ctx, src, kind == "report"); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					ms := float64(b.Elapsed().Microseconds()) / 1e3 / float64(n)
					b.ReportMetric(ms, "ms/op")
					b.ReportMetric(float64(len(d.Batches)), "batches")
					b.ReportMetric(float64(len(d.Deliveries)), "deliveries")
					b.ReportMetric(float64(len(d.States)), "spans")
					res.set(src+"/"+kind, ms, d) // the last (largest b.N) run wins
				})
			}
		})
	}
	// A parent benchmark's log shows only under -v; the table is the point
	// of the run, so without -v it goes to standard output.
	if testing.Verbose() {
		b.Logf("\n%s", fx.table(res))
	} else {
		fmt.Printf("\n%s\n", fx.table(res))
	}
}

// TestReportBenchTable measures the same four as BenchmarkReport30Days and
// logs the table. It runs only with PRETREAT_BENCH=1 (it builds the whole
// fixture). The four are interleaved in PRETREAT_BENCH_N rounds (default
// 5) so that the noise of a shared machine falls on all of them; the
// table gives the median of each.
func TestReportBenchTable(t *testing.T) {
	if os.Getenv("PRETREAT_BENCH") != "1" {
		t.Skip("set PRETREAT_BENCH=1 to build the 30-day fixture and measure the reports")
	}
	fx := reportFixtureFor(t)
	rounds := 5
	if s := os.Getenv("PRETREAT_BENCH_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PRETREAT_BENCH_N=%q: want a positive count", s)
		}
		rounds = n
	}
	ctx := context.Background()
	names := []string{"store/raw", "store/report", "influx/raw", "influx/report"}
	times := map[string][]float64{}
	res := &benchResults{ms: map[string]float64{}}
	// One warm-up round, not counted: the first read pulls the files into
	// the page cache and influxd its series index.
	for r := -1; r < rounds; r++ {
		for _, name := range names {
			src, kind, _ := strings.Cut(name, "/")
			start := time.Now()
			d, err := fx.run(ctx, src, kind == "report")
			if err != nil {
				t.Fatal(err)
			}
			ms := float64(time.Since(start).Microseconds()) / 1e3
			if r >= 0 {
				times[name] = append(times[name], ms)
			}
			res.set(name, 0, d)
		}
	}
	for _, name := range names {
		ts := slices.Sorted(slices.Values(times[name]))
		res.ms[name] = ts[len(ts)/2]
		t.Logf("%-14s runs (ms): %s", name, fmtMs(times[name]))
	}
	t.Logf("median of %d rounds:\n%s", rounds, fx.table(res))
}

func fmtMs(ts []float64) string {
	parts := make([]string, len(ts))
	for i, v := range ts {
		parts[i] = strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}

// benchResults collects the time per op and the record counts of each
// measured case.
type benchResults struct {
	mu     sync.Mutex
	ms     map[string]float64
	counts map[string][3]int
}

func (r *benchResults) set(name string, ms float64, d report.Data) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ms > 0 {
		r.ms[name] = ms
	}
	if r.counts == nil {
		r.counts = map[string][3]int{}
	}
	r.counts[name] = [3]int{len(d.Batches), len(d.Deliveries), len(d.States)}
}

// table formats the results with the fixture's description.
func (fx *reportFixture) table(r *benchResults) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "fixture: %s\n", fx.describe())
	fmt.Fprintf(&b, "%-7s %10s %10s %13s   %-28s\n", "source", "raw ms", "report ms", "report/raw", "records read (b/d/spans)")
	for _, src := range []string{"store", "influx"} {
		raw, rep := r.ms[src+"/raw"], r.ms[src+"/report"]
		c := r.counts[src+"/report"]
		fmt.Fprintf(&b, "%-7s %10.1f %10.1f %13.2f   %d/%d/%d\n", src, raw, rep, ratio(rep, raw), c[0], c[1], c[2])
	}
	fmt.Fprintf(&b, "InfluxDB raw / store raw: %.1f; InfluxDB report / store report: %.1f\n",
		ratio(r.ms["influx/raw"], r.ms["store/raw"]), ratio(r.ms["influx/report"], r.ms["store/report"]))
	return b.String()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Fixture sizes.
const (
	fxBatchesPerDay    = 20
	fxDeliveriesPerDay = 14
)

// fxReportTags are the tags the reports' signal statistics and the
// dashboards' trends use: what PRETREAT_BENCH_SAMPLES=report records.
var fxReportTags = []string{"shredder.current", "shredder.speed", "shredder.energy", "hopper.weight",
	"pulper.level", "pulper.ds", "pulper.water_flow", "press.back_pressure", "press.current", "press.cake_ds"}

// reportFixture is a line's records and samples over Days production days
// of the sample plant's calendar, written through a Historian with
// InfluxDB configured (StoreSamplesAlways: samples go to both), then
// closed: Dir holds the embedded store, Srv the same data in InfluxDB.
//
// Per day: fxBatchesPerDay batches of three recipes (one class each), each
// with four phases of 4–6 signal statistics, a start and a complete
// action, a few alarm notes, one or two delivery shares taken first in,
// first out, jams and reversals, kWh by unit and a closure between 99 and
// 101 %; about fxDeliveriesPerDay weighbridge tickets of four suppliers
// (one in 40 mis-declared); about 60 line state spans (Execute, Held with
// a cause for half the batches, Execute again, Idle); a dozen events per
// batch. Samples: every second of the range for each tag of Tags, with
// the batch that runs set on the historian.
//
// The default (30 days, all tags) holds 600 batches, 420 deliveries, 1801
// spans, 6300 events and 51 tags × 2,592,000 s = 132,192,000 samples in
// both destinations: pretreat.db 6.6 GiB, influxd data+wal 0.6 GiB. It
// was written and drained in 6 min 40 s on the 2-core machine of
// 2026-12 (about 330,000 samples/s into both), within the 10 minutes
// allowed, so it was not cut down.
type reportFixture struct {
	Dir       string
	Srv       *influxtest.Server
	Line      string
	Cal       report.Calendar
	From, To  time.Time
	Days      int
	Tags      []string
	Seconds   int
	Samples   int64
	Batches   int
	Delivs    int
	Spans     int
	Events    int
	Build     time.Duration // writing and draining, not starting influxd
	StoreB    int64         // size of pretreat.db
	InfluxB   int64         // size of influxd's data and wal directories
	WriteRate float64       // samples per second handed in and drained (both destinations)

	q    *historian.InfluxQuerier
	done bool // the owner ended: influxd was stopped, Dir removed
}

var (
	fxMu     sync.Mutex
	fxShared *reportFixture
)

// reportFixtureFor returns the process's fixture, building it (with tb
// owning influxd and the temporary directories) when there is none yet.
func reportFixtureFor(tb testing.TB) *reportFixture {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping the report benchmark under -short (it starts influxd and writes a 30-day fixture)")
	}
	if influxtest.Find() == "" {
		tb.Skipf("influxd not found; install with %s", influxtest.InstallHint)
	}
	fxMu.Lock()
	defer fxMu.Unlock()
	if fxShared != nil && !fxShared.done {
		return fxShared
	}
	fx := buildReportFixture(tb)
	tb.Cleanup(func() {
		fxMu.Lock()
		fx.done = true
		fx.q.Close()
		fxMu.Unlock()
	})
	fxShared = fx
	tb.Logf("fixture: %s", fx.describe())
	return fx
}

func (fx *reportFixture) describe() string {
	return fmt.Sprintf("%d days from %s (%s), %d batches, %d deliveries, %d spans, %d events; samples %d tags × %d s = %d (%.0f/s written); store %.1f MiB, InfluxDB %.1f MiB; built in %v",
		fx.Days, fx.From.Format("2006-01-02 15:04"), fx.From.Location(), fx.Batches, fx.Delivs, fx.Spans, fx.Events,
		len(fx.Tags), fx.Seconds, fx.Samples, fx.WriteRate, float64(fx.StoreB)/(1<<20), float64(fx.InfluxB)/(1<<20),
		fx.Build.Round(time.Second))
}

// run reads the fixture's range from src ("store" or "influx") and, with
// render, makes the report and renders it into io.Discard.
func (fx *reportFixture) run(ctx context.Context, src string, render bool) (report.Data, error) {
	var d report.Data
	switch src {
	case "store":
		st, err := historian.OpenStore(fx.Dir)
		if err != nil {
			return d, err
		}
		defer st.Close()
		all, err := st.Batches()
		if err != nil {
			return d, err
		}
		for _, b := range all { // the store gives every batch; a report keeps its range's
			if !b.Start.Before(fx.From) && b.Start.Before(fx.To) {
				d.Batches = append(d.Batches, b)
			}
		}
		if d.Deliveries, err = st.Deliveries(fx.From, fx.To); err != nil {
			return d, err
		}
		if d.States, err = st.States(fx.From, fx.To); err != nil {
			return d, err
		}
	case "influx":
		var err error
		if d.Batches, d.Deliveries, d.States, err = fx.q.Records(ctx, fx.From, fx.To); err != nil {
			return d, err
		}
	default:
		return d, fmt.Errorf("unknown source %q", src)
	}
	if !render {
		return d, nil
	}
	r, err := report.Compute(d, fx.Cal, report.Options{From: fx.From, To: fx.To, Now: fx.To,
		By:    []report.Dim{report.DimDay, report.DimShift, report.DimClass, report.DimSupplier},
		Title: "Line report", Site: "bench"})
	if err != nil {
		return d, err
	}
	if err := report.WriteHTML(io.Discard, r); err != nil {
		return d, err
	}
	if err := report.WriteXLSX(io.Discard, r); err != nil {
		return d, err
	}
	for _, tbl := range report.CSVTables {
		if err := report.WriteCSV(io.Discard, r, tbl); err != nil {
			return d, err
		}
	}
	return d, nil
}

// envInt reads a positive integer from the environment.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// fxTag is one sampled tag and how its value moves.
type fxTag struct {
	name              string
	boolean           bool
	base, amp, period float64
	phase             float64
}

// sampleTags returns the tags PRETREAT_BENCH_SAMPLES asks for.
func sampleTags(tb testing.TB, f *plant.File) []fxTag {
	var all []string
	for _, d := range f.Devices {
		for _, p := range d.Points {
			if !slices.Contains(all, p.Tag) {
				all = append(all, p.Tag)
			}
		}
	}
	var names []string
	switch s := os.Getenv("PRETREAT_BENCH_SAMPLES"); s {
	case "report":
		names = fxReportTags
	case "", "all":
		names = all
	case "none":
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			tb.Fatalf("PRETREAT_BENCH_SAMPLES=%q: want all, report, none or a number of tags", s)
		}
		names = all[:min(n, len(all))]
	}
	out := make([]fxTag, len(names))
	for i, n := range names {
		_, p := f.Point(n)
		if p == nil {
			tb.Fatalf("tag %s is not in the sample plant", n)
		}
		t := fxTag{name: n, boolean: p.Type == drivers.TypeBool, period: float64(300 + 97*i), phase: float64(i)}
		lo, hi := 0.0, 100.0
		if p.Max > p.Min {
			lo, hi = p.Min, p.Max
		}
		t.base, t.amp = lo+(hi-lo)*0.45, (hi-lo)*0.2
		out[i] = t
	}
	return out
}

// fxRand is a small deterministic generator (xorshift64*).
type fxRand uint64

func (r *fxRand) next() uint64 {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = fxRand(x)
	return x * 2685821657736338717
}

// f returns a float in [0, 1).
func (r *fxRand) f() float64 { return float64(r.next()>>11) / (1 << 53) }

// between returns a float in [lo, hi).
func (r *fxRand) between(lo, hi float64) float64 { return lo + (hi-lo)*r.f() }

func (r *fxRand) n(k int) int { return int(r.next() % uint64(k)) }

type fxRecipe struct {
	name, class, ewc string
	phases           []string
	cakeDS, slurryDS float64
}

var fxRecipes = []fxRecipe{
	{"catering-std", "catering", "20 01 08", []string{"receive", "shred", "pulp", "press"}, 32, 12},
	{"market-veg", "vegetable", "02 03 04", []string{"receive", "shred", "pulp", "press"}, 28, 10},
	{"packaged-depack", "packaged", "16 03 06", []string{"receive", "shred", "pulp", "press"}, 30, 11},
}

var fxSuppliers = []struct{ name, haulier string }{
	{"Harbour Catering Ltd", "GreenHaul"}, {"City Markets", "City Markets"},
	{"Kowloon Hotels Group", "GreenHaul"}, {"FreshPack Distribution", "RapidWaste"},
}

var fxCauses = []struct{ unit, cause string }{
	{"shredder", "Shredder jam: reversal did not clear it"},
	{"press", "Press back-pressure above 7.2 bar"},
	{"pulper", "Pulper level high-high: feed stopped until it falls"},
	{"", "Operator hold: hopper inspection"},
	{"reception", "H2S above 10 ppm: tipping stopped"},
}

// fxPhaseTags are the signals of each phase's statistics.
var fxPhaseTags = [][]string{
	{"hopper.weight", "reception.h2s", "feeder.speed_sp", "shredder.current"},
	{"shredder.current", "shredder.speed", "shredder.energy", "hopper.weight", "pulper.level"},
	{"pulper.level", "pulper.ds", "pulper.ph", "pulper.water_flow", "shredder.current", "hopper.weight"},
	{"press.current", "press.speed", "press.back_pressure", "press.cake_ds", "pulper.level", "filtrate.level"},
}

// fxPlan is what the fixture writes, in time order.
type fxPlan struct {
	batches    []records.Batch
	deliveries []records.Delivery
	spans      []records.StateSpan
	events     []historian.Event
}

// planRecords makes the records of [from, to).
func planRecords(line string, from, to time.Time, days int) *fxPlan {
	rnd := fxRand(0x9e3779b97f4a7c15)
	p := &fxPlan{}
	// Deliveries: spread over each day, first in, first out to the batches.
	dayLen := to.Sub(from) / time.Duration(days)
	for d := range days {
		dayStart := from.Add(time.Duration(d) * dayLen)
		n := fxDeliveriesPerDay - 1 + rnd.n(3)
		for i := range n {
			at := dayStart.Add(time.Duration((float64(i) + rnd.between(0, 0.8)) / float64(n) * float64(dayLen))).Truncate(time.Second)
			s := fxSuppliers[rnd.n(len(fxSuppliers))]
			rc := fxRecipes[rnd.n(len(fxRecipes))]
			gross := math.Round(rnd.between(21000, 29000))
			tare := math.Round(rnd.between(9000, 11000))
			dl := records.Delivery{
				Ticket: fmt.Sprintf("WB%s-%02d", dayStart.Format("060102"), i+1), Line: line, Time: at,
				Supplier: s.name, Haulier: s.haulier, Vehicle: fmt.Sprintf("HK%04d", rnd.n(10000)),
				WasteClass: rc.class, EWC: rc.ewc, GrossKg: gross, TareKg: tare, NetKg: gross - tare,
				Operator: []string{"wong", "chan", "lee"}[rnd.n(3)],
			}
			if rnd.n(40) == 0 {
				dl.FoundClass = fxRecipes[(slices.IndexFunc(fxRecipes, func(r fxRecipe) bool { return r.class == rc.class })+1)%3].class
				dl.Notes = "contaminated with packaging"
			}
			p.deliveries = append(p.deliveries, dl)
		}
	}
	fifo := 0 // the first delivery not fully processed
	slot := dayLen / fxBatchesPerDay
	units := []string{"shredder", "pulper", "press", "press_feed", "filtrate_pump"}
	for d := range days {
		dayStart := from.Add(time.Duration(d) * dayLen)
		for i := range fxBatchesPerDay {
			s0 := dayStart.Add(time.Duration(i) * slot)
			rc := fxRecipes[(d*7+i)%len(fxRecipes)]
			start := s0.Add(time.Duration(rnd.n(120)) * time.Second)
			dur := time.Duration(float64(slot) * rnd.between(0.72, 0.88)).Truncate(time.Second)
			end := start.Add(dur)
			b := records.Batch{
				ID: fmt.Sprintf("B-%s-%03d", dayStart.Format("20060102"), i+1), Line: line,
				Recipe: rc.name, RecipeVersion: 3, RecipeHash: fmt.Sprintf("%016x", rnd.next()), WasteClass: rc.class,
				State: records.BatchComplete, User: []string{"wong", "chan", "lee"}[rnd.n(3)],
				Start: start, End: end, TargetKg: 10000,
				CakeDSTarget: rc.cakeDS, SlurryDSTarget: rc.slurryDS,
			}
			switch rnd.n(60) {
			case 0:
				b.State = records.BatchAborted
			case 1:
				b.State = records.BatchStopped
			}
			b.KgReceived = math.Round(rnd.between(8800, 10400))
			b.KgWater = math.Round(b.KgReceived * rnd.between(0.35, 0.6))
			b.KgHoldupStart = math.Round(rnd.between(200, 900))
			b.KgHoldupEnd = math.Round(rnd.between(200, 900))
			in := b.KgReceived + b.KgWater + b.KgHoldupStart
			b.ClosurePct = rnd.between(99, 101)
			if rnd.n(50) == 0 {
				b.ClosurePct = rnd.between(93, 95) // an exception now and then
			}
			out := in*b.ClosurePct/100 - b.KgHoldupEnd
			b.KgRejects = math.Round(b.KgReceived * rnd.between(0.03, 0.09))
			b.KgCake = math.Round((out - b.KgRejects) * rnd.between(0.25, 0.32))
			b.KgFiltrate = out - b.KgRejects - b.KgCake
			b.CakeDS = rc.cakeDS + rnd.between(-2.5, 2.5)
			b.SlurryDS = rc.slurryDS + rnd.between(-1.5, 1.5)
			b.KWhByUnit = map[string]float64{}
			b.Metered = units
			for _, u := range units {
				v := math.Round(rnd.between(10, 80)*10) / 10
				b.KWhByUnit[u] = v
				b.KWh += v
			}
			b.Jams = rnd.n(4) / 2
			b.Reversals = b.Jams * (1 + rnd.n(2))
			// Delivery shares, first in, first out, at most two.
			need := b.KgReceived
			for len(b.Deliveries) < 2 && need > 0 && fifo < len(p.deliveries) && p.deliveries[fifo].Time.Before(start) {
				dl := &p.deliveries[fifo]
				take := min(need, dl.NetKg-dl.KgProcessed)
				b.Deliveries = append(b.Deliveries, records.DeliveryShare{Ticket: dl.Ticket, Supplier: dl.Supplier, WasteClass: dl.WasteClass, Kg: take})
				dl.KgProcessed += take
				dl.Batches = append(dl.Batches, b.ID)
				need -= take
				if dl.NetKg-dl.KgProcessed < 1 {
					fifo++
				}
			}
			// Phases with their signals.
			pt := start
			for k, name := range rc.phases {
				pe := start.Add(dur * time.Duration(k+1) / time.Duration(len(rc.phases)))
				ph := records.Phase{Name: name, Start: pt, End: pe}
				for _, tag := range fxPhaseTags[k] {
					mean := rnd.between(5, 80)
					ss := records.SignalStats{Tag: tag, Min: mean * 0.8, Mean: mean, Max: mean * 1.2, Samples: int(pe.Sub(pt) / time.Second)}
					if strings.HasSuffix(tag, "_sp") || tag == "pulper.level" {
						ss.Setpoint, ss.HasSP = math.Round(mean), true
					}
					ph.Signals = append(ph.Signals, ss)
				}
				b.Phases = append(b.Phases, ph)
				pt = pe
			}
			b.Actions = []records.Action{{Time: start, User: b.User, Command: "start", Detail: rc.name}}
			if b.State != records.BatchComplete {
				b.Actions = append(b.Actions, records.Action{Time: end, User: b.User, Command: string(b.State)})
			}
			held := i%2 == 1
			var holdAt, holdEnd time.Time
			if held {
				holdAt = start.Add(dur / 2)
				holdEnd = holdAt.Add(time.Duration(120+rnd.n(900)) * time.Second)
				if holdEnd.After(end) {
					holdEnd = end.Add(-time.Minute)
				}
				c := fxCauses[rnd.n(len(fxCauses))]
				b.Alarms = append(b.Alarms,
					records.AlarmNote{Time: holdAt, Alarm: c.unit + "_alarm", State: "active"},
					records.AlarmNote{Time: holdAt.Add(30 * time.Second), Alarm: c.unit + "_alarm", State: "acknowledged", User: b.User},
					records.AlarmNote{Time: holdEnd, Alarm: c.unit + "_alarm", State: "cleared"})
				b.Actions = append(b.Actions, records.Action{Time: holdEnd, User: b.User, Command: "unhold"})
				p.spans = append(p.spans,
					records.StateSpan{Line: line, State: "Execute", Start: start, End: holdAt, BatchID: b.ID},
					records.StateSpan{Line: line, State: "Held", Start: holdAt, End: holdEnd, Cause: c.cause, Unit: c.unit, BatchID: b.ID},
					records.StateSpan{Line: line, State: "Execute", Start: holdEnd, End: end, BatchID: b.ID})
			} else {
				p.spans = append(p.spans, records.StateSpan{Line: line, State: "Execute", Start: start, End: end, BatchID: b.ID})
			}
			if b.Jams > 0 {
				b.Notes = append(b.Notes, records.Note{Time: start.Add(dur / 3), Unit: "shredder", Text: "jam cleared by reversal"})
			}
			// The line idles until the next batch (the first span of the
			// range starts at from).
			// (its end is set below to the next batch's start).
			p.spans = append(p.spans, records.StateSpan{Line: line, State: "Idle", Start: end, End: s0.Add(slot)})
			// Events: batch and phase transitions.
			p.events = append(p.events, historian.Event{Time: start, Kind: records.EventBatch, BatchID: b.ID, Name: "started", User: b.User})
			for _, ph := range b.Phases {
				p.events = append(p.events,
					historian.Event{Time: ph.Start, Kind: records.EventPhase, BatchID: b.ID, Name: "phase:" + ph.Name},
					historian.Event{Time: ph.End, Kind: records.EventPhase, BatchID: b.ID, Name: "phase_end:" + ph.Name,
						Values: map[string]float64{"kg": b.KgReceived}})
			}
			if held {
				p.events = append(p.events, historian.Event{Time: holdAt, Kind: records.EventAlarm, BatchID: b.ID, Name: "raised", Message: "hold"})
			}
			p.events = append(p.events, historian.Event{Time: end, Kind: records.EventBatch, BatchID: b.ID, Name: string(b.State),
				Values: map[string]float64{"kg_received": b.KgReceived, "kwh": b.KWh}})
			p.batches = append(p.batches, b)
		}
	}
	// The first span of the range: idle from its start to the first batch.
	if len(p.batches) > 0 && p.batches[0].Start.After(from) {
		p.spans = append([]records.StateSpan{{Line: line, State: "Idle", Start: from, End: p.batches[0].Start}}, p.spans...)
	}
	// Spans follow one another: the idle span of each slot ends where the
	// next batch starts.
	for i := 0; i+1 < len(p.spans); i++ {
		if p.spans[i].State == "Idle" {
			p.spans[i].End = p.spans[i+1].Start
		}
	}
	last := &p.spans[len(p.spans)-1]
	last.End = to
	slices.SortStableFunc(p.events, func(a, b historian.Event) int { return a.Time.Compare(b.Time) })
	return p
}

// buildReportFixture plans the records, writes them and the samples
// through a Historian with InfluxDB, waits until both destinations hold
// everything, and closes the Historian.
func buildReportFixture(tb testing.TB) *reportFixture {
	tb.Helper()
	pf, err := plant.Parse("<sample>", plant.Sample())
	if err != nil {
		tb.Fatal(err)
	}
	loc, dayStart, shifts := pf.Calendar()
	cal := report.Calendar{Location: loc, DayStart: dayStart}
	for _, s := range shifts {
		cal.Shifts = append(cal.Shifts, report.Shift{Name: s.Name, Start: s.Start})
	}
	days := envInt(tb, "PRETREAT_BENCH_DAYS", 30)
	// The last whole production days before today's.
	_, today := cal.Day(time.Now())
	to := today
	_, from := cal.Day(today.Add(-time.Duration(days)*24*time.Hour + 12*time.Hour))
	tags := sampleTags(tb, pf)

	srv := influxtest.Start(tb)
	fx := &reportFixture{Dir: tb.TempDir(), Srv: srv, Line: pf.Line, Cal: cal, From: from, To: to, Days: days}
	for _, t := range tags {
		fx.Tags = append(fx.Tags, t.name)
	}
	iopts := historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, FlushInterval: 50 * time.Millisecond,
		CloseTimeout: time.Minute}
	if fx.q, err = historian.NewInfluxQuerier(iopts, ""); err != nil {
		tb.Fatal(err)
	}
	plan := planRecords(pf.Line, from, to, days)
	fx.Batches, fx.Delivs, fx.Spans, fx.Events = len(plan.batches), len(plan.deliveries), len(plan.spans), len(plan.events)

	start := time.Now()
	h, err := historian.Open(historian.Options{Dir: fx.Dir, Line: pf.Line, StoreSamples: historian.StoreSamplesAlways,
		Retention: to.Sub(from) + 30*24*time.Hour, Influx: &iopts})
	if err != nil {
		tb.Fatal(err)
	}
	h.Start(context.Background())
	closed := false
	defer func() {
		if !closed {
			h.Close()
		}
	}()

	// Walk the range second by second: samples of every tag, the batch
	// that runs set on the historian, records saved when they end (as the
	// controller does), deliveries when their truck is weighed.
	buf := make([]drivers.Sample, len(tags))
	var bi, di, si, ei int
	running := ""
	progress := time.Now()
	const maxPending = 256 << 20
	wait := func() {
		for {
			st := h.Stats()
			if st.Queued < historian.DefaultQueueSize/2 && st.Influx.Queued < historian.DefaultQueueSize/2 &&
				st.Influx.Outbox.PendingBytes < maxPending {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	step := time.Second
	if len(tags) == 0 {
		step = time.Minute // records only: no need to walk every second
	}
	for t := from; t.Before(to); t = t.Add(step) {
		for di < len(plan.deliveries) && !plan.deliveries[di].Time.After(t) {
			di++ // saved at the end, with the batches that processed them
		}
		for bi < len(plan.batches) && !plan.batches[bi].End.After(t) {
			h.SaveBatch(plan.batches[bi])
			bi++
		}
		for si < len(plan.spans) && !plan.spans[si].End.After(t) {
			h.SaveState(plan.spans[si])
			si++
		}
		for ei < len(plan.events) && !plan.events[ei].Time.After(t) {
			h.Event(plan.events[ei])
			ei++
		}
		want := ""
		if bi < len(plan.batches) && !plan.batches[bi].Start.After(t) {
			want = plan.batches[bi].ID
		}
		if want != running {
			h.SetBatch(want)
			running = want
		}
		if len(tags) > 0 {
			x := float64(t.Unix())
			for i := range tags {
				tg := &tags[i]
				v := tg.base + tg.amp*math.Sin(2*math.Pi*x/tg.period+tg.phase)
				if tg.boolean {
					v = 0
					if running != "" {
						v = 1
					}
				}
				buf[i] = drivers.Sample{Tag: tg.name, Value: math.Round(v*100) / 100, Quality: drivers.QualityGood, Time: t}
			}
			h.Samples(buf)
			fx.Samples += int64(len(buf))
			fx.Seconds++
			if fx.Seconds%20 == 0 {
				wait()
			}
			if time.Since(progress) > time.Minute {
				progress = time.Now()
				tb.Logf("fixture: %s of %s written (%d samples, %.0f/s)", t.Sub(from).Round(time.Hour), to.Sub(from),
					fx.Samples, float64(fx.Samples)/time.Since(start).Seconds())
			}
		}
	}
	for ; bi < len(plan.batches); bi++ {
		h.SaveBatch(plan.batches[bi])
	}
	for ; si < len(plan.spans); si++ {
		h.SaveState(plan.spans[si])
	}
	for ; ei < len(plan.events); ei++ {
		h.Event(plan.events[ei])
	}
	for _, d := range plan.deliveries {
		h.SaveDelivery(d)
		if h.Stats().Queued > 500 {
			wait()
		}
	}
	h.SetBatch("")
	// Drain: the store writer and the outbox, then InfluxDB.
	for deadline := time.Now().Add(30 * time.Minute); ; {
		st := h.Stats()
		if st.Queued == 0 && st.Influx.Queued == 0 && st.Influx.Outbox.PendingPoints == 0 &&
			st.StoredSamples == uint64(fx.Samples) && st.StoredBatches == uint64(fx.Batches) {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("fixture did not drain: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := h.Stats()
	closed = true
	if err := h.Close(); err != nil {
		tb.Fatal(err)
	}
	fx.Build = time.Since(start)
	fx.WriteRate = float64(fx.Samples) / fx.Build.Seconds()
	in := st.Influx
	if st.Dropped != 0 || st.Rejected != 0 || st.StoreErrors != 0 || in.Dropped != 0 || in.Refused != 0 ||
		in.Outbox.DroppedPoints != 0 || in.RejectedNonFinite+in.RejectedEmpty+in.RejectedBadTime != 0 {
		tb.Fatalf("fixture lost data: %+v", st)
	}

	fx.StoreB = fileSize(tb, filepath.Join(fx.Dir, historian.DBFile))
	// InfluxDB keeps new points in its WAL until it snapshots them into
	// TSM files; both count.
	fx.InfluxB = dirSize(tb, filepath.Join(srv.Dir, "data")) + dirSize(tb, filepath.Join(srv.Dir, "wal"))

	// Both sources must give the same records.
	ctx := context.Background()
	sd, err := fx.run(ctx, "store", false)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := fx.run(ctx, "influx", false)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		a, b, all int
	}{{"batches", len(sd.Batches), len(id.Batches), fx.Batches},
		{"deliveries", len(sd.Deliveries), len(id.Deliveries), fx.Delivs},
		{"state spans", len(sd.States), len(id.States), fx.Spans}} {
		if c.a != c.all || c.b != c.all {
			tb.Fatalf("fixture: %s: store has %d, InfluxDB %d, written %d", c.what, c.a, c.b, c.all)
		}
	}
	if fx.Samples > 0 {
		n := srv.Count(tb, influxtest.Database, fmt.Sprintf(`SELECT count("value") FROM %q WHERE "tag" = '%s'`, historian.MeasurementProcess, fx.Tags[0]))
		if n != fx.Seconds {
			tb.Fatalf("fixture: InfluxDB holds %d samples of %s, want %d", n, fx.Tags[0], fx.Seconds)
		}
	}
	return fx
}

func fileSize(tb testing.TB, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

func dirSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
