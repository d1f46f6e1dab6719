package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no zone %s: %v", name, err)
	}
	return loc
}

// plant is the calendar of the fixture: Hong Kong (UTC+8, no DST), the
// production day from 07:00, a day shift 07:00–19:00 and a night shift
// 19:00–07:00 across midnight.
func plant(t testing.TB) Calendar {
	return Calendar{Location: mustLoc(t, "Asia/Hong_Kong"), DayStart: 7 * time.Hour,
		Shifts: []Shift{{"day", 7 * time.Hour}, {"night", 19 * time.Hour}}}
}

// fixture is two production days of line L1 (2026-12-07 and -08, HKT):
// six batches in range (three classes, one split over two deliveries,
// one with a part no delivery covers, one out of closure tolerance, one
// aborted, one running), five deliveries (one mis-declared, one not fully
// processed) and a state timeline with holds and stops.
func fixture(t testing.TB) (Data, Calendar, Options) {
	cal := plant(t)
	hk := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, cal.Location) }
	batch := func(id, recipe, class string, st records.BatchState, start, end time.Time, recv, water, cake, filt, rej, hs, he, kwh float64, shares ...records.DeliveryShare) records.Batch {
		return records.Batch{ID: id, Line: "L1", Recipe: recipe, RecipeVersion: 1, WasteClass: class, State: st,
			Start: start, End: end, KgReceived: recv, KgWater: water, KgCake: cake, KgFiltrate: filt, KgRejects: rej,
			KgHoldupStart: hs, KgHoldupEnd: he, KWh: kwh, Deliveries: shares}
	}
	share := func(ticket, supplier, class string, kg float64) records.DeliveryShare {
		return records.DeliveryShare{Ticket: ticket, Supplier: supplier, WasteClass: class, Kg: kg}
	}
	const acme, green, bakers = "Acme Catering", "Green Market", "Bakers & Sons <Ltd>"
	b1 := batch("B1", "catering", "catering", records.BatchComplete, hk(7, 8, 0), hk(7, 9, 0), 600, 300, 250, 640, 10, 0, 0, 30, share("T1", acme, "catering", 600))
	b1.Jams, b1.Reversals = 1, 2
	b1.CakeDS, b1.CakeDSTarget, b1.SlurryDS, b1.SlurryDSTarget = 30, 30, 8, 8
	b2 := batch("B2", "market-veg", "market_veg", records.BatchComplete, hk(7, 10, 0), hk(7, 11, 0), 1000, 500, 400, 1000, 20, 50, 30, 45,
		share("T1", acme, "catering", 400), share("T2", green, "market_veg", 600))
	b2.CakeDS, b2.CakeDSTarget, b2.SlurryDS, b2.SlurryDSTarget = 26, 30, 7, 7
	b3 := batch("B3", "packaged-bakery", "bakery", records.BatchComplete, hk(7, 21, 0), hk(7, 22, 0), 500, 250, 200, 530, 20, 0, 0, 40, share("T3", bakers, "bakery", 500))
	b3.CakeDS, b3.CakeDSTarget = 35, 35
	b4 := batch("B4", "catering", "catering", records.BatchAborted, hk(8, 2, 0), hk(8, 2, 30), 200, 100, 50, 150, 5, 0, 90, 12, share("T4", acme, "catering", 150))
	b4.Jams, b4.Reversals = 2, 3
	b5 := batch("B5", "market-veg", "market_veg", records.BatchComplete, hk(8, 9, 30), hk(8, 10, 30), 400, 200, 160, 430, 10, 0, 0, 20, share("T5", green, "market_veg", 400))
	b6 := batch("B6", "catering", "catering", records.BatchRunning, hk(8, 20, 0), time.Time{}, 300, 100, 50, 100, 0, 0, 0, 10, share("T4", acme, "catering", 300))
	b7 := batch("B7", "catering", "catering", records.BatchComplete, hk(9, 8, 0), hk(9, 9, 0), 999, 0, 0, 0, 0, 0, 0, 99)
	b0 := batch("B0", "catering", "catering", records.BatchComplete, hk(7, 6, 0), hk(7, 6, 50), 777, 0, 0, 0, 0, 0, 0, 77)

	dl := func(ticket, supplier, class string, at time.Time, net, done float64, batches ...string) records.Delivery {
		return records.Delivery{Ticket: ticket, Line: "L1", Time: at, Supplier: supplier, WasteClass: class,
			GrossKg: net + 10000, TareKg: 10000, NetKg: net, KgProcessed: done, Batches: batches}
	}
	t3 := dl("T3", bakers, "bakery", hk(7, 20, 0), 500, 500, "B3")
	t3.FoundClass = "packaged"
	deliveries := []records.Delivery{
		dl("T1", acme, "catering", hk(7, 7, 30), 1000, 1000, "B1", "B2"),
		dl("T2", green, "market_veg", hk(7, 8, 0), 600, 600, "B2"),
		t3,
		dl("T4", acme, "catering", hk(8, 1, 0), 800, 450, "B4", "B6"),
		dl("T5", green, "market_veg", hk(8, 9, 0), 400, 400, "B5"),
		dl("T6", acme, "catering", hk(9, 8, 0), 999, 0),
	}
	span := func(state string, s, e time.Time, unit, cause, user string) records.StateSpan {
		return records.StateSpan{Line: "L1", State: state, Start: s, End: e, Unit: unit, Cause: cause, User: user}
	}
	states := []records.StateSpan{
		span("Idle", hk(7, 6, 0), hk(7, 8, 0), "", "", ""),
		span("Execute", hk(7, 8, 0), hk(7, 9, 0), "", "", ""),
		span("Holding", hk(7, 9, 0), hk(7, 9, 15), "pulper", "level high", ""),
		span("Held", hk(7, 9, 15), hk(7, 9, 30), "pulper", "level high", ""),
		span("Execute", hk(7, 9, 30), hk(7, 11, 0), "", "", ""),
		span("Idle", hk(7, 11, 0), hk(7, 13, 0), "", "", ""),
		span("Held", hk(7, 13, 0), hk(7, 14, 30), "shredder", "jam not cleared", "ops1"),
		span("Idle", hk(7, 14, 30), hk(7, 21, 0), "", "", ""),
		span("Execute", hk(7, 21, 0), hk(7, 22, 0), "", "", ""),
		span("Idle", hk(7, 22, 0), hk(8, 1, 0), "", "", ""),
		span("Stopped", hk(8, 1, 0), hk(8, 2, 0), "", "", ""),
		span("Execute", hk(8, 2, 0), hk(8, 2, 30), "", "", ""),
		span("Aborting", hk(8, 2, 30), hk(8, 2, 45), "", "emergency stop", "ops2"),
		span("Aborted", hk(8, 2, 45), hk(8, 3, 0), "", "", ""),
		span("Clearing", hk(8, 3, 0), hk(8, 3, 30), "", "", ""),
		span("Idle", hk(8, 3, 30), hk(8, 9, 30), "", "", ""),
		span("Execute", hk(8, 9, 30), hk(8, 10, 30), "", "", ""),
		span("Held", hk(8, 10, 30), hk(8, 11, 0), "pulper", "level high", ""),
		span("Idle", hk(8, 11, 0), hk(8, 20, 0), "", "", ""),
		span("Execute", hk(8, 20, 0), time.Time{}, "", "", ""),
	}
	d := Data{Batches: []records.Batch{b7, b6, b5, b4, b3, b2, b1, b0}, Deliveries: deliveries, States: states}
	o := Options{From: hk(7, 7, 0), To: hk(9, 7, 0), Now: hk(10, 0, 0), By: []Dim{DimDay, DimShift},
		Title: "Week 50", Site: "Kwai Chung"}
	return d, cal, o
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func compute(t *testing.T) *Report {
	t.Helper()
	d, cal, o := fixture(t)
	r, err := Compute(d, cal, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTotalsByHand(t *testing.T) {
	r := compute(t)
	f := r.Total
	if f.Deliveries != 5 || f.Batches != 6 {
		t.Fatalf("deliveries %d, batches %g; want 5 and 6 (B0, B7, T6 are outside the range)", f.Deliveries, f.Batches)
	}
	near(t, "received t", f.ReceivedT, 3.3)
	near(t, "processed t", f.ProcessedT, 3.0)
	near(t, "cake t", f.CakeT, 1.11)
	near(t, "cake %", f.CakePct, 37)
	near(t, "filtrate %", f.FiltratePct, 95)
	near(t, "rejects %", f.RejectsPct, 6.5/3)
	near(t, "water t/t", f.WaterTPerT, 1450.0/3000)
	near(t, "kWh/t", f.KWhPerT, 157.0/3)
	// (1110 + 2850 + 65 + 120) / (3000 + 1450 + 50)
	near(t, "closure %", f.ClosurePct, 100*4145.0/4500)
	near(t, "jams", f.Jams, 3)
	near(t, "reversals", f.Reversals, 5)
	// cake DS weighted by cake kg: (30·250 + 26·400 + 35·200) / 850
	near(t, "cake DS", f.CakeDSPct, (30*250+26*400+35*200)/850.0)
	near(t, "cake DS target", f.CakeDSTargetPct, (30*250+30*400+35*200)/850.0)
	// slurry DS weighted by received + water: (8·900 + 7·1500) / 2400
	near(t, "slurry DS", f.SlurryDSPct, (8*900+7*1500)/2400.0)
	if f.Outcomes["complete"] != 4 || f.Outcomes["aborted"] != 1 || f.Outcomes["running"] != 1 {
		t.Errorf("outcomes %v", f.Outcomes)
	}
	near(t, "run h", f.RunH, 16)
	near(t, "held h", f.HeldH, 2.5)
	near(t, "stopped h", f.StoppedH, 2)
	near(t, "idle h", f.IdleH, 27.5)
	near(t, "availability %", f.AvailabilityPct, 100*16/20.5)
	near(t, "throughput t/h", f.ThroughputTPerH, 3.0/16)
}

func TestPareto(t *testing.T) {
	r := compute(t)
	want := []Cause{
		{"shredder: jam not cleared", 1.5, 1, 100 * 1.5 / 4.5, 100 * 1.5 / 4.5},
		{"pulper: level high", 1, 2, 100 / 4.5, 100 * 2.5 / 4.5},
		{NoCause, 1, 1, 100 / 4.5, 100 * 3.5 / 4.5},
		{"emergency stop", 1, 1, 100 / 4.5, 100},
	}
	if len(r.Downtime) != len(want) {
		t.Fatalf("pareto %+v", r.Downtime)
	}
	for i, w := range want {
		g := r.Downtime[i]
		if g.Cause != w.Cause || g.Count != w.Count {
			t.Errorf("pareto[%d] = %q ×%d, want %q ×%d", i, g.Cause, g.Count, w.Cause, w.Count)
		}
		near(t, w.Cause+" hours", g.Hours, w.Hours)
		near(t, w.Cause+" cum %", g.CumPct, w.CumPct)
	}
	if len(r.Holds) != 5 {
		t.Fatalf("holds %+v", r.Holds)
	}
	e := r.Holds[3]
	if e.Key != "emergency stop" || strings.Join(e.States, ",") != "Aborting,Aborted,Clearing" || e.User != "ops2" || e.Hours != 1 {
		t.Errorf("abort stop %+v", e)
	}
}

func TestGroupsByDayShift(t *testing.T) {
	r := compute(t)
	type want struct {
		day, shift                 string
		processed, run, held, stop float64
		idle                       float64
	}
	ws := []want{
		{"2026-12-07", "day", 1.6, 2.5, 2, 0, 7.5},
		{"2026-12-07", "night", 0.7, 1.5, 0, 2, 8.5},
		{"2026-12-08", "day", 0.4, 1, 0.5, 0, 10.5},
		{"2026-12-08", "night", 0.3, 11, 0, 0, 1},
	}
	if len(r.Groups) != len(ws) {
		t.Fatalf("%d groups, want %d: %+v", len(r.Groups), len(ws), r.Groups)
	}
	for i, w := range ws {
		g := r.Groups[i]
		if g.Keys[DimDay] != w.day || g.Keys[DimShift] != w.shift {
			t.Fatalf("group %d is %v, want %s/%s", i, g.Keys, w.day, w.shift)
		}
		near(t, g.Label(r.By)+" processed", g.ProcessedT, w.processed)
		near(t, g.Label(r.By)+" run", g.RunH, w.run)
		near(t, g.Label(r.By)+" held", g.HeldH, w.held)
		near(t, g.Label(r.By)+" stopped", g.StoppedH, w.stop)
		near(t, g.Label(r.By)+" idle", g.IdleH, w.idle)
	}
	// the first shift: B2 closes at 1450/1550 and B1 at 900/900
	near(t, "day 1 closure", r.Groups[0].ClosurePct, 100*(900+1450)/(900.0+1550))
	near(t, "day 1 availability", r.Groups[0].AvailabilityPct, 100*2.5/4.5)
}

func TestSuppliers(t *testing.T) {
	r := compute(t)
	type want struct {
		name          string
		n             int
		net, proc, rj float64
		mis           int
	}
	ws := []want{
		{"Acme Catering", 2, 1.8, 1.45, 0.02175, 0},
		{"Green Market", 2, 1.0, 1.0, 0.022, 0},
		{"Bakers & Sons <Ltd>", 1, 0.5, 0.5, 0.02, 1},
		{None, 0, 0, 0.05, 0.00125, 0},
	}
	if len(r.Suppliers) != len(ws) {
		t.Fatalf("suppliers %+v", r.Suppliers)
	}
	for i, w := range ws {
		s := r.Suppliers[i]
		if s.Supplier != w.name || s.Deliveries != w.n || s.MisDeclared != w.mis {
			t.Errorf("supplier %d = %+v, want %+v", i, s, w)
		}
		near(t, w.name+" net t", s.NetT, w.net)
		near(t, w.name+" processed t", s.ProcessedT, w.proc)
		near(t, w.name+" rejects t", s.RejectsT, w.rj)
	}
	near(t, "Acme rejects %", r.Suppliers[0].RejectsPct, 1.5)
	if got := strings.Join(r.Suppliers[2].MisTickets, ","); got != "T3" {
		t.Errorf("mis-declared tickets %q", got)
	}
}

func TestExceptions(t *testing.T) {
	r := compute(t)
	var got []string
	for _, e := range r.Exceptions {
		got = append(got, e.Kind+":"+e.BatchID+e.Ticket)
	}
	want := "closure:B2 cake_ds:B2 misdeclared:T3 unprocessed:T4 outcome:B4"
	if strings.Join(got, " ") != want {
		t.Errorf("exceptions %q, want %q", strings.Join(got, " "), want)
	}
	near(t, "B2 closure", r.Exceptions[0].Value, 100*1450.0/1550)
	near(t, "T4 unprocessed kg", r.Exceptions[3].Value, 350)

	// a range still open (To after Now) does not call a load unprocessed
	d, cal, o := fixture(t)
	o.Now = o.To.Add(-time.Hour)
	r2, err := Compute(d, cal, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r2.Exceptions {
		if e.Kind == ExUnprocessed {
			t.Errorf("unprocessed exception before the range ended: %+v", e)
		}
	}
	// a wider tolerance lets B2 through
	o = Options{From: o.From, To: o.To, Now: o.To.Add(time.Hour), ClosureTolPct: 7}
	r3, _ := Compute(d, cal, o)
	for _, e := range r3.Exceptions {
		if e.Kind == ExClosure {
			t.Errorf("closure exception within 100 ± 7: %+v", e)
		}
	}
}

// TestGroupSumsEqualTotals: for every grouping, the sum of a figure over
// the groups is the total, and the totals are the sums over the batch and
// delivery lists.
func TestGroupSumsEqualTotals(t *testing.T) {
	d, cal, o := fixture(t)
	for _, by := range []string{"day", "shift", "day,shift", "class", "supplier", "recipe", "line", "day,class",
		"supplier,class", "day,shift,supplier,recipe,line,class"} {
		dims, err := ParseDims(by)
		if err != nil {
			t.Fatal(err)
		}
		o.By = dims
		r, err := Compute(d, cal, o)
		if err != nil {
			t.Fatal(err)
		}
		var s Figures
		s.Outcomes = map[string]float64{}
		for _, g := range r.Groups {
			s.Deliveries += g.Deliveries
			s.ReceivedT += g.ReceivedT
			s.Batches += g.Batches
			s.ProcessedT += g.ProcessedT
			s.CakeT += g.CakeT
			s.FiltrateT += g.FiltrateT
			s.RejectsT += g.RejectsT
			s.WaterT += g.WaterT
			s.KWh += g.KWh
			s.HoldupStartT += g.HoldupStartT
			s.HoldupEndT += g.HoldupEndT
			s.Jams += g.Jams
			s.RunH += g.RunH
			s.HeldH += g.HeldH
			for k, v := range g.Outcomes {
				s.Outcomes[k] += v
			}
		}
		tt := r.Total
		near(t, by+" deliveries", float64(s.Deliveries), float64(tt.Deliveries))
		near(t, by+" received", s.ReceivedT, tt.ReceivedT)
		near(t, by+" batches", s.Batches, tt.Batches)
		near(t, by+" processed", s.ProcessedT, tt.ProcessedT)
		near(t, by+" cake", s.CakeT, tt.CakeT)
		near(t, by+" filtrate", s.FiltrateT, tt.FiltrateT)
		near(t, by+" rejects", s.RejectsT, tt.RejectsT)
		near(t, by+" water", s.WaterT, tt.WaterT)
		near(t, by+" kwh", s.KWh, tt.KWh)
		near(t, by+" holdup start", s.HoldupStartT, tt.HoldupStartT)
		near(t, by+" holdup end", s.HoldupEndT, tt.HoldupEndT)
		near(t, by+" jams", s.Jams, tt.Jams)
		for k, v := range tt.Outcomes {
			near(t, by+" outcome "+k, s.Outcomes[k], v)
		}
		lineTime := !strings.Contains(by, "class") && !strings.Contains(by, "supplier") && !strings.Contains(by, "recipe")
		if lineTime {
			near(t, by+" run h", s.RunH, tt.RunH)
			near(t, by+" held h", s.HeldH, tt.HeldH)
		} else if s.RunH != 0 {
			t.Errorf("%s: line time %g h split over groups it does not apply to", by, s.RunH)
		}

		// totals against plain sums over the lists
		var kg, net, batches float64
		for _, b := range r.Batches {
			kg += b.ReceivedKg
			batches++
		}
		for _, dl := range r.Deliveries {
			net += dl.NetKg
		}
		near(t, by+" processed = Σ batches", tt.ProcessedT, kg/1000)
		near(t, by+" received = Σ deliveries", tt.ReceivedT, net/1000)
		near(t, by+" batches = len", tt.Batches, batches)
	}
}

func TestParseDims(t *testing.T) {
	d, err := ParseDims(" day, Class ")
	if err != nil || len(d) != 2 || d[0] != DimDay || d[1] != DimClass {
		t.Fatalf("ParseDims = %v, %v", d, err)
	}
	_, err = ParseDims("day,colour")
	if err == nil || !strings.Contains(err.Error(), "colour") || !strings.Contains(err.Error(), "day, shift, class, supplier, recipe, line") {
		t.Errorf("error %v does not name the value and the allowed ones", err)
	}
	if _, err := ParseDims("day,day"); err == nil {
		t.Error("a dimension given twice was accepted")
	}
}

func TestCalendarHongKong(t *testing.T) {
	cal := plant(t)
	hk := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, cal.Location) }
	cases := []struct {
		at         time.Time
		day        string
		shift      string
		start, end time.Time
		shiftDay   string
	}{
		{hk(8, 6, 59), "2026-12-07", "night", hk(7, 19, 0), hk(8, 7, 0), "2026-12-07"},
		{hk(8, 7, 0), "2026-12-08", "day", hk(8, 7, 0), hk(8, 19, 0), "2026-12-08"},
		{hk(8, 23, 30), "2026-12-08", "night", hk(8, 19, 0), hk(9, 7, 0), "2026-12-08"},
		{hk(9, 0, 30), "2026-12-08", "night", hk(8, 19, 0), hk(9, 7, 0), "2026-12-08"},
	}
	for _, c := range cases {
		day, _ := cal.Day(c.at)
		name, s, e := cal.Shift(c.at)
		sd, _ := cal.Day(s)
		if day != c.day || name != c.shift || !s.Equal(c.start) || !e.Equal(c.end) || sd != c.shiftDay {
			t.Errorf("%v: day %s shift %s %v–%v (of %s), want %s %s %v–%v (of %s)", c.at, day, name, s, e, sd, c.day, c.shift, c.start, c.end, c.shiftDay)
		}
	}
	// a shift starting 23:00 with days from midnight belongs to the day it
	// starts in
	mid := Calendar{Location: cal.Location, Shifts: []Shift{{"early", 7 * time.Hour}, {"late", 15 * time.Hour}, {"night", 23 * time.Hour}}}
	name, s, e := mid.Shift(hk(9, 2, 0))
	if d, _ := mid.Day(s); name != "night" || d != "2026-12-08" || !e.Equal(hk(9, 7, 0)) {
		t.Errorf("02:00: %s from %v (day %s) to %v", name, s, d, e)
	}
	g := newGrouper(mid, []Dim{DimDay, DimShift})
	if day, shift := g.timeKeys(hk(9, 2, 0)); day != "2026-12-08" || shift != "night" {
		t.Errorf("grouped by day and shift, 02:00 goes to %s/%s", day, shift)
	}
	// no shifts: one shift "day" from the day start
	one := Calendar{Location: cal.Location, DayStart: 6 * time.Hour}
	if name, s, e := one.Shift(hk(9, 5, 0)); name != "day" || !s.Equal(hk(8, 6, 0)) || !e.Equal(hk(9, 6, 0)) {
		t.Errorf("default shift %s %v–%v", name, s, e)
	}
}

func TestCalendarLondonDST(t *testing.T) {
	lon := mustLoc(t, "Europe/London")
	cal := Calendar{Location: lon, DayStart: 6 * time.Hour,
		Shifts: []Shift{{"early", 6 * time.Hour}, {"late", 14 * time.Hour}, {"night", 22 * time.Hour}}}
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	// autumn: clocks go back at 02:00 BST on 25 October (01:00 UTC)
	for _, at := range []time.Time{utc(10, 25, 0, 30), utc(10, 25, 1, 30)} { // 01:30 BST, then 01:30 GMT
		name, s, e := cal.Shift(at)
		if name != "night" || !s.Equal(utc(10, 24, 21, 0)) || !e.Equal(utc(10, 25, 6, 0)) || e.Sub(s) != 9*time.Hour {
			t.Errorf("%v: %s %v–%v, want the 9 h night from 22:00 BST to 06:00 GMT", at, name, s, e)
		}
		day, ds := cal.Day(at)
		if day != "2026-10-24" || !ds.Equal(utc(10, 24, 5, 0)) || cal.dayAfter(ds).Sub(ds) != 25*time.Hour {
			t.Errorf("%v: day %s from %v", at, day, ds)
		}
	}
	if name, s, _ := cal.Shift(utc(10, 25, 6, 0)); name != "early" || s.In(lon).Hour() != 6 {
		t.Errorf("06:00 GMT: %s from %v", name, s)
	}
	// spring: clocks go forward at 01:00 GMT on 29 March
	name, s, e := cal.Shift(utc(3, 29, 1, 30)) // 02:30 BST
	if name != "night" || !s.Equal(utc(3, 28, 22, 0)) || !e.Equal(utc(3, 29, 5, 0)) || e.Sub(s) != 7*time.Hour {
		t.Errorf("spring night %s %v–%v, want 7 h", name, s, e)
	}
	if day, ds := cal.Day(utc(3, 29, 5, 30)); day != "2026-03-29" || cal.dayAfter(ds).Sub(ds) != 24*time.Hour {
		t.Errorf("29 March from 06:00 BST: %s %v", day, ds)
	}
	if _, ds := cal.Day(utc(3, 29, 4, 0)); cal.dayAfter(ds).Sub(ds) != 23*time.Hour {
		t.Errorf("the production day of 28 March is %v long, want 23 h", cal.dayAfter(ds).Sub(ds))
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file:\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + w + "\ngot  " + g
		}
	}
	return ""
}

func TestGoldenCSVAndJSON(t *testing.T) {
	r := compute(t)
	for _, name := range CSVTables {
		var b bytes.Buffer
		if err := WriteCSV(&b, r, name); err != nil {
			t.Fatal(err)
		}
		golden(t, "report-"+name+".csv", b.Bytes())
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", b.Bytes())
	if err := WriteCSV(&b, r, "nonsense"); err == nil || !strings.Contains(err.Error(), "batches") {
		t.Errorf("an unknown table: %v", err)
	}

	d, _, _ := fixture(t)
	var bb bytes.Buffer
	if err := WriteBatchJSON(&bb, BatchReport(d.Batches[5], nil)); err != nil { // B2
		t.Fatal(err)
	}
	golden(t, "batch-B2.json", bb.Bytes())
}
