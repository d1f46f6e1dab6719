// Package report makes the reports a recycling manager reads: pure
// functions from the records of a line (batches, weighbridge deliveries,
// PackML state spans) to figures, and renderers of those figures as JSON,
// CSV, XLSX and one self-contained HTML page.
//
// # Definitions
//
// Range. A report covers [From, To). A batch belongs to the range, and to
// a group, by its Start (whatever its state: a running batch counts with
// its totals so far); a delivery by its Time; a state span is clipped to
// the range (an open span ends at Now, or at To when Now is zero).
//
// Days and shifts. The production day of an instant is the local date on
// which the calendar's DayStart last came (Calendar.Day); its shift is the
// one whose start last came (Calendar.Shift). A shift belongs to the
// production day in which it starts: grouping by day and shift, the day of
// a record is the production day of its shift's start, so that a night
// shift is never cut in two.
//
// Tonnes. Received t = Σ NetKg of the deliveries (weighbridge) / 1000.
// Processed t = Σ KgReceived of the batches / 1000. Cake, filtrate
// (slurry and filtrate leaving), rejects and water are Σ of the batch
// totals; their % is of processed, water is also given as t per processed
// t, energy as kWh per processed t. The mass-balance closure is
// 100·Σ(cake+filtrate+rejects+hold-up end)/Σ(processed+water+hold-up
// start) over the same batches (sums first, then the ratio). A ratio whose
// denominator is 0 is reported as 0.
//
// Groups. A group is a combination of values of the dimensions in
// Options.By (day, shift, class, supplier, recipe, line); without By there
// are no groups, only the total. A delivery goes to its day/shift, its
// declared class, its supplier and its line; its recipe is "(none)". A
// batch goes to its day/shift, its WasteClass, its Recipe and its Line.
// By supplier, a batch is split over its delivery shares: with S = Σ share
// kg and R = KgReceived, each share takes the fraction kg/max(S, R) of
// every figure of the batch (tonnes, energy, hold-ups, DS weights, and
// also its counts: batches, outcomes, jams and reversals, which are
// therefore fractional in supplier groups), and "(none)" takes the rest,
// (R−S)/R when R > S (all of it when the batch has no shares). The
// fractions of a batch sum to 1, so group sums equal the totals within
// float rounding; the totals themselves are plain sums over the records.
// An empty value of a dimension is "(none)".
//
// DS. Mean cake DS is weighted by cake kg, mean slurry DS by processed +
// water kg, over the batches that measured it (DS > 0); the target beside
// it is weighted the same way over those of them that have a target.
//
// Line time. Run hours are Execute, Starting, Completing, Unholding and
// Unsuspending; held hours Holding, Held, Suspending and Suspended;
// stopped hours Stopping, Stopped, Aborting, Aborted, Clearing and
// Resetting; idle hours Idle and Complete (no waste waiting: not
// downtime). Availability % = 100·run/(run+held+stopped); throughput t/h
// = processed t / run hours. Line time is given in groups only when every
// dimension of By is day, shift or line (the spans are cut at the day and
// shift boundaries); grouped by class, supplier or recipe it is 0 and
// Figures.LineTime is false.
//
// Downtime. Each held or stopped span in the range counts its clipped
// hours to the cause key "unit: cause" (or the cause alone when the span
// names no unit; "(no cause recorded)" when it has no cause). Consecutive
// downtime spans of a line (Holding then Held) with the same key, or a
// following span with no cause, make one stop: the count of a cause is
// the number of such stops, and Holds lists each of them. The Pareto is
// sorted by hours descending, then count descending, then name; its
// cumulative % is of the total downtime hours.
//
// Exceptions. An ended batch with processed > 0 whose closure is outside
// 100 ± ClosureTolPct; a batch whose cake or slurry DS was measured, has a
// target > 0 and is off it by more than DSTolPct points; a batch that was
// aborted, interrupted or stopped; a mis-declared delivery; a delivery of
// which less than NetKg − 1 kg was processed, when To is before Now.
//
// Suppliers. Per supplier of the deliveries or delivery shares in range:
// deliveries and net tonnes (weighbridge), processed and rejects tonnes
// by the batch split above (rejects % of its processed), mis-declared
// loads with their tickets. "(none)" takes the processed waste that no
// delivery share covers.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// Data is what a report is made from.
type Data struct {
	Batches    []records.Batch
	Deliveries []records.Delivery
	States     []records.StateSpan
	// Events are optional: the per-batch report reads its holds from them.
	Events []records.Event
}

// Dim is a grouping dimension.
type Dim string

// Grouping dimensions.
const (
	DimDay      Dim = "day"
	DimShift    Dim = "shift"
	DimClass    Dim = "class"
	DimSupplier Dim = "supplier"
	DimRecipe   Dim = "recipe"
	DimLine     Dim = "line"
)

// Dims are the dimensions a report can be grouped by.
var Dims = []Dim{DimDay, DimShift, DimClass, DimSupplier, DimRecipe, DimLine}

// None is the value of a dimension a record does not have.
const None = "(none)"

// NoCause is the cause key of a hold or stop without a recorded cause.
const NoCause = "(no cause recorded)"

// ParseDims reads a comma-separated list of dimensions ("day,class").
func ParseDims(s string) ([]Dim, error) {
	var out []Dim
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		d := Dim(f)
		if !slices.Contains(Dims, d) {
			names := make([]string, len(Dims))
			for i, d := range Dims {
				names[i] = string(d)
			}
			return nil, fmt.Errorf("report: unknown grouping %q: allowed are %s", f, strings.Join(names, ", "))
		}
		if slices.Contains(out, d) {
			return nil, fmt.Errorf("report: grouping %q given twice", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// Options say what to report.
type Options struct {
	From, To time.Time // [From, To)
	By       []Dim
	// ClosureTolPct: a closure outside 100 ± this is an exception (0 = 5).
	ClosureTolPct float64
	// DSTolPct: a DS off its target by more than this many points is an
	// exception (0 = 2).
	DSTolPct float64
	// Now ends open spans; the zero time ends them at To.
	Now   time.Time
	Title string
	Site  string
}

// Figures are the figures of a group or of the whole range.
type Figures struct {
	Deliveries   int     `json:"deliveries"`
	ReceivedT    float64 `json:"received_t"`
	Batches      float64 `json:"batches"`
	ProcessedT   float64 `json:"processed_t"`
	CakeT        float64 `json:"cake_t"`
	CakePct      float64 `json:"cake_pct"`
	FiltrateT    float64 `json:"filtrate_t"`
	FiltratePct  float64 `json:"filtrate_pct"`
	RejectsT     float64 `json:"rejects_t"`
	RejectsPct   float64 `json:"rejects_pct"`
	WaterT       float64 `json:"water_t"`
	WaterTPerT   float64 `json:"water_t_per_t"`
	KWh          float64 `json:"kwh"`
	KWhPerT      float64 `json:"kwh_per_t"`
	HoldupStartT float64 `json:"holdup_start_t"`
	HoldupEndT   float64 `json:"holdup_end_t"`
	ClosurePct   float64 `json:"closure_pct"`
	// Outcomes counts the batches by state (fractions when split by
	// supplier).
	Outcomes          map[string]float64 `json:"outcomes"`
	Jams              float64            `json:"jams"`
	Reversals         float64            `json:"reversals"`
	CakeDSPct         float64            `json:"cake_ds_pct"`
	CakeDSTargetPct   float64            `json:"cake_ds_target_pct"`
	SlurryDSPct       float64            `json:"slurry_ds_pct"`
	SlurryDSTargetPct float64            `json:"slurry_ds_target_pct"`
	// LineTime says whether the hours below apply (false in groups by
	// class, supplier or recipe).
	LineTime        bool    `json:"line_time"`
	RunH            float64 `json:"run_h"`
	HeldH           float64 `json:"held_h"`
	StoppedH        float64 `json:"stopped_h"`
	IdleH           float64 `json:"idle_h"`
	AvailabilityPct float64 `json:"availability_pct"`
	ThroughputTPerH float64 `json:"throughput_t_per_h"`
}

// Group is the figures of one combination of the grouping values.
type Group struct {
	// Keys holds the value of each dimension of Options.By.
	Keys map[Dim]string `json:"keys"`
	Figures
}

// Label is the group's values joined by " / " in the order of dims.
func (g *Group) Label(dims []Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = g.Keys[d]
	}
	return strings.Join(parts, " / ")
}

// BatchRow is one batch of the range with its figures (kg, as recorded).
type BatchRow struct {
	ID                string    `json:"id"`
	Line              string    `json:"line"`
	Recipe            string    `json:"recipe"`
	RecipeVersion     int       `json:"recipe_version"`
	Class             string    `json:"class"`
	State             string    `json:"state"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end,omitzero"`
	Day               string    `json:"day"`
	Shift             string    `json:"shift"`
	ReceivedKg        float64   `json:"received_kg"`
	CakeKg            float64   `json:"cake_kg"`
	FiltrateKg        float64   `json:"filtrate_kg"`
	RejectsKg         float64   `json:"rejects_kg"`
	WaterKg           float64   `json:"water_kg"`
	KWh               float64   `json:"kwh"`
	KWhPerT           float64   `json:"kwh_per_t"`
	HoldupStartKg     float64   `json:"holdup_start_kg"`
	HoldupEndKg       float64   `json:"holdup_end_kg"`
	ClosurePct        float64   `json:"closure_pct"`
	Jams              int       `json:"jams"`
	Reversals         int       `json:"reversals"`
	CakeDSPct         float64   `json:"cake_ds_pct"`
	CakeDSTargetPct   float64   `json:"cake_ds_target_pct"`
	SlurryDSPct       float64   `json:"slurry_ds_pct"`
	SlurryDSTargetPct float64   `json:"slurry_ds_target_pct"`
	Tickets           []string  `json:"tickets"`
}

// DeliveryRow is one delivery of the range.
type DeliveryRow struct {
	Ticket        string    `json:"ticket"`
	Line          string    `json:"line"`
	Time          time.Time `json:"time"`
	Day           string    `json:"day"`
	Shift         string    `json:"shift"`
	Supplier      string    `json:"supplier"`
	Haulier       string    `json:"haulier"`
	Vehicle       string    `json:"vehicle"`
	Class         string    `json:"class"`
	EWC           string    `json:"ewc"`
	FoundClass    string    `json:"found_class"`
	MisDeclared   bool      `json:"misdeclared"`
	GrossKg       float64   `json:"gross_kg"`
	TareKg        float64   `json:"tare_kg"`
	NetKg         float64   `json:"net_kg"`
	ProcessedKg   float64   `json:"processed_kg"`
	UnprocessedKg float64   `json:"unprocessed_kg"`
	Batches       []string  `json:"batches"`
}

// Cause is one line of the downtime Pareto.
type Cause struct {
	Cause  string  `json:"cause"`
	Hours  float64 `json:"hours"`
	Count  int     `json:"count"`
	Pct    float64 `json:"pct"`
	CumPct float64 `json:"cum_pct"`
}

// Hold is one stop of a line: consecutive held or stopped spans with one
// cause, clipped to the range.
type Hold struct {
	Line    string    `json:"line"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Hours   float64   `json:"hours"`
	Kind    string    `json:"kind"` // "held" or "stopped" (of its first span)
	States  []string  `json:"states"`
	Cause   string    `json:"cause"`
	Unit    string    `json:"unit"`
	User    string    `json:"user"`
	BatchID string    `json:"batch_id"`
	Key     string    `json:"key"`
}

// SupplierRow is one supplier's figures.
type SupplierRow struct {
	Supplier    string   `json:"supplier"`
	Deliveries  int      `json:"deliveries"`
	NetT        float64  `json:"net_t"`
	ProcessedT  float64  `json:"processed_t"`
	RejectsT    float64  `json:"rejects_t"`
	RejectsPct  float64  `json:"rejects_pct"`
	MisDeclared int      `json:"misdeclared"`
	MisTickets  []string `json:"misdeclared_tickets"`
}

// Exception kinds.
const (
	ExClosure     = "closure"
	ExCakeDS      = "cake_ds"
	ExSlurryDS    = "slurry_ds"
	ExOutcome     = "outcome"
	ExMisDeclared = "misdeclared"
	ExUnprocessed = "unprocessed"
)

// Exception is one thing a manager should look at.
type Exception struct {
	Kind    string    `json:"kind"`
	Time    time.Time `json:"time"`
	BatchID string    `json:"batch_id,omitempty"`
	Ticket  string    `json:"ticket,omitempty"`
	Value   float64   `json:"value"`
	Detail  string    `json:"detail"`
}

// Report is the result of Compute.
type Report struct {
	Title         string    `json:"title"`
	Site          string    `json:"site"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Generated     time.Time `json:"generated"`
	TimeZone      string    `json:"time_zone"`
	By            []Dim     `json:"by"`
	ClosureTolPct float64   `json:"closure_tol_pct"`
	DSTolPct      float64   `json:"ds_tol_pct"`
	Total         Figures   `json:"total"`
	Groups        []Group   `json:"groups"`
	// ByClass and ByDayClass feed the charts (tonnes per day by class,
	// kWh/t by class).
	ByClass    []Group       `json:"by_class"`
	ByDayClass []Group       `json:"by_day_class"`
	Batches    []BatchRow    `json:"batches"`
	Deliveries []DeliveryRow `json:"deliveries"`
	Downtime   []Cause       `json:"downtime"`
	Holds      []Hold        `json:"holds"`
	Suppliers  []SupplierRow `json:"suppliers"`
	Exceptions []Exception   `json:"exceptions"`

	loc *time.Location
}

// Location is the plant's time zone of the report.
func (r *Report) Location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

type stateClass int

const (
	scNone stateClass = iota
	scRun
	scHeld
	scStopped
	scIdle
)

func classifyState(s string) stateClass {
	switch strings.ToLower(s) {
	case "execute", "starting", "completing", "unholding", "unsuspending":
		return scRun
	case "holding", "held", "suspending", "suspended":
		return scHeld
	case "stopping", "stopped", "aborting", "aborted", "clearing", "resetting":
		return scStopped
	case "idle", "complete":
		return scIdle
	}
	return scNone
}

// acc sums a group's figures in kg and hours before the ratios.
type acc struct {
	deliveries                                     int
	receivedKg, batches                            float64
	processed, cake, filtrate, rejects, water, kwh float64
	hs, he, jams, reversals                        float64
	outcomes                                       map[string]float64
	cakeDSw, cakeDSwt, cakeTgtw, cakeTgtwt         float64
	slurryDSw, slurryDSwt, slurryTgtw, slurryTgtwt float64
	lineTime                                       bool
	run, held, stopped, idle                       float64
}

func (a *acc) addBatch(b *records.Batch, f float64) {
	a.batches += f
	a.processed += f * b.KgReceived
	a.cake += f * b.KgCake
	a.filtrate += f * b.KgFiltrate
	a.rejects += f * b.KgRejects
	a.water += f * b.KgWater
	a.kwh += f * b.KWh
	a.hs += f * b.KgHoldupStart
	a.he += f * b.KgHoldupEnd
	a.jams += f * float64(b.Jams)
	a.reversals += f * float64(b.Reversals)
	if a.outcomes == nil {
		a.outcomes = map[string]float64{}
	}
	a.outcomes[string(b.State)] += f
	if b.CakeDS > 0 {
		w := f * b.KgCake
		a.cakeDSw += w * b.CakeDS
		a.cakeDSwt += w
		if b.CakeDSTarget > 0 {
			a.cakeTgtw += w * b.CakeDSTarget
			a.cakeTgtwt += w
		}
	}
	if b.SlurryDS > 0 {
		w := f * (b.KgReceived + b.KgWater)
		a.slurryDSw += w * b.SlurryDS
		a.slurryDSwt += w
		if b.SlurryDSTarget > 0 {
			a.slurryTgtw += w * b.SlurryDSTarget
			a.slurryTgtwt += w
		}
	}
}

func (a *acc) addTime(c stateClass, h float64) {
	switch c {
	case scRun:
		a.run += h
	case scHeld:
		a.held += h
	case scStopped:
		a.stopped += h
	case scIdle:
		a.idle += h
	}
}

func ratio(n, d float64) float64 {
	if d == 0 {
		return 0
	}
	return n / d
}

func (a *acc) figures() Figures {
	f := Figures{
		Deliveries:        a.deliveries,
		ReceivedT:         a.receivedKg / 1000,
		Batches:           a.batches,
		ProcessedT:        a.processed / 1000,
		CakeT:             a.cake / 1000,
		CakePct:           100 * ratio(a.cake, a.processed),
		FiltrateT:         a.filtrate / 1000,
		FiltratePct:       100 * ratio(a.filtrate, a.processed),
		RejectsT:          a.rejects / 1000,
		RejectsPct:        100 * ratio(a.rejects, a.processed),
		WaterT:            a.water / 1000,
		WaterTPerT:        ratio(a.water, a.processed),
		KWh:               a.kwh,
		KWhPerT:           ratio(a.kwh, a.processed/1000),
		HoldupStartT:      a.hs / 1000,
		HoldupEndT:        a.he / 1000,
		ClosurePct:        100 * ratio(a.cake+a.filtrate+a.rejects+a.he, a.processed+a.water+a.hs),
		Outcomes:          a.outcomes,
		Jams:              a.jams,
		Reversals:         a.reversals,
		CakeDSPct:         ratio(a.cakeDSw, a.cakeDSwt),
		CakeDSTargetPct:   ratio(a.cakeTgtw, a.cakeTgtwt),
		SlurryDSPct:       ratio(a.slurryDSw, a.slurryDSwt),
		SlurryDSTargetPct: ratio(a.slurryTgtw, a.slurryTgtwt),
		LineTime:          a.lineTime,
	}
	if f.Outcomes == nil {
		f.Outcomes = map[string]float64{}
	}
	if a.lineTime {
		f.RunH, f.HeldH, f.StoppedH, f.IdleH = a.run, a.held, a.stopped, a.idle
		f.AvailabilityPct = 100 * ratio(a.run, a.run+a.held+a.stopped)
		f.ThroughputTPerH = ratio(a.processed/1000, a.run)
	}
	return f
}

// BatchClosure is the mass balance of one batch in % (0 when nothing went
// in).
func BatchClosure(b *records.Batch) float64 {
	return 100 * ratio(b.KgCake+b.KgFiltrate+b.KgRejects+b.KgHoldupEnd, b.KgReceived+b.KgWater+b.KgHoldupStart)
}

// supplierSplit is the part of a batch each supplier takes: the shares
// in proportion to kg/max(Σ shares, received), "(none)" the rest.
type split struct {
	supplier string
	f        float64
}

func supplierSplit(b *records.Batch) []split {
	var s float64
	for _, sh := range b.Deliveries {
		if sh.Kg > 0 {
			s += sh.Kg
		}
	}
	if s <= 0 {
		return []split{{None, 1}}
	}
	d := max(s, b.KgReceived)
	var out []split
	for _, sh := range b.Deliveries {
		if sh.Kg > 0 {
			out = append(out, split{orNone(sh.Supplier), sh.Kg / d})
		}
	}
	if b.KgReceived > s {
		out = append(out, split{None, (b.KgReceived - s) / d})
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return None
	}
	return s
}

type grouper struct {
	cal    Calendar
	dims   []Dim
	groups map[string]*gacc
}

type gacc struct {
	keys map[Dim]string
	acc
}

func newGrouper(cal Calendar, dims []Dim) *grouper {
	return &grouper{cal: cal, dims: dims, groups: map[string]*gacc{}}
}

func (g *grouper) has(d Dim) bool { return slices.Contains(g.dims, d) }

// timeKeys are the day and shift of an instant for this grouping.
func (g *grouper) timeKeys(t time.Time) (day, shift string) {
	if g.has(DimShift) {
		name, start, _ := g.cal.Shift(t)
		day, _ = g.cal.Day(start)
		return day, name
	}
	day, _ = g.cal.Day(t)
	return day, ""
}

func (g *grouper) get(vals map[Dim]string) *gacc {
	parts := make([]string, len(g.dims))
	keys := make(map[Dim]string, len(g.dims))
	for i, d := range g.dims {
		v := orNone(vals[d])
		parts[i] = v
		keys[d] = v
	}
	k := strings.Join(parts, "\x00")
	ga := g.groups[k]
	if ga == nil {
		ga = &gacc{keys: keys}
		ga.lineTime = g.lineTimeApplies()
		g.groups[k] = ga
	}
	return ga
}

func (g *grouper) lineTimeApplies() bool {
	for _, d := range g.dims {
		if d != DimDay && d != DimShift && d != DimLine {
			return false
		}
	}
	return true
}

func (g *grouper) addBatch(b *records.Batch) {
	day, shift := g.timeKeys(b.Start)
	vals := map[Dim]string{DimDay: day, DimShift: shift, DimClass: b.WasteClass, DimRecipe: b.Recipe, DimLine: b.Line}
	if !g.has(DimSupplier) {
		g.get(vals).addBatch(b, 1)
		return
	}
	for _, s := range supplierSplit(b) {
		vals[DimSupplier] = s.supplier
		g.get(vals).addBatch(b, s.f)
	}
}

func (g *grouper) addDelivery(d *records.Delivery) {
	day, shift := g.timeKeys(d.Time)
	ga := g.get(map[Dim]string{DimDay: day, DimShift: shift, DimClass: d.WasteClass, DimSupplier: d.Supplier, DimLine: d.Line})
	ga.deliveries++
	ga.receivedKg += d.NetKg
}

// addSpan cuts a clipped span at the day or shift boundaries the grouping
// needs and adds each piece.
func (g *grouper) addSpan(line string, c stateClass, s, e time.Time) {
	if !g.lineTimeApplies() || len(g.dims) == 0 {
		return
	}
	for t := s; t.Before(e); {
		next := e
		vals := map[Dim]string{DimLine: line}
		switch {
		case g.has(DimShift):
			name, start, end := g.cal.Shift(t)
			vals[DimShift] = name
			vals[DimDay], _ = g.cal.Day(start)
			next = minTime(end, e)
		case g.has(DimDay):
			label, start := g.cal.Day(t)
			vals[DimDay] = label
			next = minTime(g.cal.dayAfter(start), e)
		}
		g.get(vals).addTime(c, next.Sub(t).Hours())
		t = next
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (g *grouper) result() []Group {
	out := make([]Group, 0, len(g.groups))
	for _, ga := range g.groups {
		out = append(out, Group{Keys: ga.keys, Figures: ga.figures()})
	}
	sort.Slice(out, func(i, j int) bool {
		for _, d := range g.dims {
			a, b := out[i].Keys[d], out[j].Keys[d]
			if a == b {
				continue
			}
			if d == DimShift {
				if ia, ib := g.cal.shiftIndex(a), g.cal.shiftIndex(b); ia != ib {
					return ia < ib
				}
			}
			return a < b
		}
		return false
	})
	return out
}

type clipped struct {
	span  *records.StateSpan
	class stateClass
	s, e  time.Time
}

// Compute makes the report of the records in d over o.From to o.To.
func Compute(d Data, cal Calendar, o Options) (*Report, error) {
	if err := cal.Validate(); err != nil {
		return nil, err
	}
	if o.From.IsZero() || o.To.IsZero() || !o.From.Before(o.To) {
		return nil, errors.New("report: the range needs From before To")
	}
	for _, dim := range o.By {
		if !slices.Contains(Dims, dim) {
			_, err := ParseDims(string(dim))
			return nil, err
		}
	}
	if o.ClosureTolPct == 0 {
		o.ClosureTolPct = 5
	}
	if o.DSTolPct == 0 {
		o.DSTolPct = 2
	}
	end := o.Now
	if end.IsZero() {
		end = o.To
	}
	loc := cal.loc()
	r := &Report{
		Title: o.Title, Site: o.Site,
		From: o.From.In(loc), To: o.To.In(loc), Generated: o.Now.In(loc),
		TimeZone: loc.String(), By: slices.Clone(o.By),
		ClosureTolPct: o.ClosureTolPct, DSTolPct: o.DSTolPct,
		loc: loc,
	}
	if r.By == nil {
		r.By = []Dim{}
	}
	in := func(t time.Time) bool { return !t.Before(o.From) && t.Before(o.To) }

	var batches []*records.Batch
	for i := range d.Batches {
		if in(d.Batches[i].Start) {
			batches = append(batches, &d.Batches[i])
		}
	}
	slices.SortStableFunc(batches, func(a, b *records.Batch) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID))
	})
	var deliveries []*records.Delivery
	for i := range d.Deliveries {
		if in(d.Deliveries[i].Time) {
			deliveries = append(deliveries, &d.Deliveries[i])
		}
	}
	slices.SortStableFunc(deliveries, func(a, b *records.Delivery) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Ticket, b.Ticket))
	})
	var spans []clipped
	for i := range d.States {
		sp := &d.States[i]
		e := sp.End
		if e.IsZero() {
			e = end
		}
		s := maxTime(sp.Start, o.From)
		e = minTime(e, o.To)
		if !s.Before(e) {
			continue
		}
		spans = append(spans, clipped{sp, classifyState(sp.State), s, e})
	}
	slices.SortStableFunc(spans, func(a, b clipped) int {
		return cmp.Or(cmp.Compare(a.span.Line, b.span.Line), a.s.Compare(b.s))
	})

	var total acc
	total.lineTime = true
	groupers := []*grouper{newGrouper(cal, o.By), newGrouper(cal, []Dim{DimClass}), newGrouper(cal, []Dim{DimDay, DimClass})}
	for _, b := range batches {
		total.addBatch(b, 1)
		for _, g := range groupers {
			g.addBatch(b)
		}
	}
	for _, dl := range deliveries {
		total.deliveries++
		total.receivedKg += dl.NetKg
		for _, g := range groupers {
			g.addDelivery(dl)
		}
	}
	for _, c := range spans {
		total.addTime(c.class, c.e.Sub(c.s).Hours())
		groupers[0].addSpan(c.span.Line, c.class, c.s, c.e)
	}
	r.Total = total.figures()
	if len(o.By) > 0 {
		r.Groups = groupers[0].result()
	} else {
		r.Groups = []Group{}
	}
	r.ByClass = groupers[1].result()
	r.ByDayClass = groupers[2].result()

	r.Batches = make([]BatchRow, 0, len(batches))
	for _, b := range batches {
		r.Batches = append(r.Batches, batchRow(cal, b))
	}
	r.Deliveries = make([]DeliveryRow, 0, len(deliveries))
	for _, dl := range deliveries {
		r.Deliveries = append(r.Deliveries, deliveryRow(cal, dl))
	}
	r.Holds, r.Downtime = downtime(spans, loc)
	r.Suppliers = suppliers(batches, deliveries)
	r.Exceptions = exceptions(batches, deliveries, o, loc)
	return r, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func batchRow(cal Calendar, b *records.Batch) BatchRow {
	loc := cal.loc()
	day, _ := cal.Day(b.Start)
	shift, _, _ := cal.Shift(b.Start)
	row := BatchRow{
		ID: b.ID, Line: b.Line, Recipe: b.Recipe, RecipeVersion: b.RecipeVersion,
		Class: b.WasteClass, State: string(b.State), Start: b.Start.In(loc), Day: day, Shift: shift,
		ReceivedKg: b.KgReceived, CakeKg: b.KgCake, FiltrateKg: b.KgFiltrate, RejectsKg: b.KgRejects,
		WaterKg: b.KgWater, KWh: b.KWh, KWhPerT: ratio(b.KWh, b.KgReceived/1000),
		HoldupStartKg: b.KgHoldupStart, HoldupEndKg: b.KgHoldupEnd, ClosurePct: BatchClosure(b),
		Jams: b.Jams, Reversals: b.Reversals,
		CakeDSPct: b.CakeDS, CakeDSTargetPct: b.CakeDSTarget, SlurryDSPct: b.SlurryDS, SlurryDSTargetPct: b.SlurryDSTarget,
		Tickets: []string{},
	}
	if !b.End.IsZero() {
		row.End = b.End.In(loc)
	}
	for _, sh := range b.Deliveries {
		row.Tickets = append(row.Tickets, sh.Ticket)
	}
	return row
}

func deliveryRow(cal Calendar, d *records.Delivery) DeliveryRow {
	day, _ := cal.Day(d.Time)
	shift, _, _ := cal.Shift(d.Time)
	return DeliveryRow{
		Ticket: d.Ticket, Line: d.Line, Time: d.Time.In(cal.loc()), Day: day, Shift: shift,
		Supplier: d.Supplier, Haulier: d.Haulier, Vehicle: d.Vehicle, Class: d.WasteClass, EWC: d.EWC,
		FoundClass: d.FoundClass, MisDeclared: d.MisDeclared(), GrossKg: d.GrossKg, TareKg: d.TareKg,
		NetKg: d.NetKg, ProcessedKg: d.KgProcessed, UnprocessedKg: max(0, d.NetKg-d.KgProcessed),
		Batches: append([]string{}, d.Batches...),
	}
}

// CauseKey is the downtime cause key of a span.
func CauseKey(s *records.StateSpan) string {
	if s.Cause == "" {
		return NoCause
	}
	if s.Unit != "" {
		return s.Unit + ": " + s.Cause
	}
	return s.Cause
}

func downtime(spans []clipped, loc *time.Location) ([]Hold, []Cause) {
	holds := []Hold{}
	var cur *Hold
	var curEnd time.Time
	for _, c := range spans {
		if c.class != scHeld && c.class != scStopped {
			cur = nil
			continue
		}
		key := CauseKey(c.span)
		if cur != nil && cur.Line == c.span.Line && c.s.Equal(curEnd) && (key == cur.Key || c.span.Cause == "") {
			cur.States = append(cur.States, c.span.State)
			cur.Hours += c.e.Sub(c.s).Hours()
			cur.End = c.e.In(loc)
			curEnd = c.e
			if cur.User == "" {
				cur.User = c.span.User
			}
			continue
		}
		kind := "held"
		if c.class == scStopped {
			kind = "stopped"
		}
		holds = append(holds, Hold{
			Line: c.span.Line, Start: c.s.In(loc), End: c.e.In(loc), Hours: c.e.Sub(c.s).Hours(), Kind: kind,
			States: []string{c.span.State}, Cause: c.span.Cause, Unit: c.span.Unit, User: c.span.User,
			BatchID: c.span.BatchID, Key: key,
		})
		cur = &holds[len(holds)-1]
		curEnd = c.e
	}
	slices.SortStableFunc(holds, func(a, b Hold) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Line, b.Line)) })
	by := map[string]*Cause{}
	var sum float64
	for _, h := range holds {
		c := by[h.Key]
		if c == nil {
			c = &Cause{Cause: h.Key}
			by[h.Key] = c
		}
		c.Hours += h.Hours
		c.Count++
		sum += h.Hours
	}
	causes := make([]Cause, 0, len(by))
	for _, c := range by {
		causes = append(causes, *c)
	}
	slices.SortFunc(causes, func(a, b Cause) int {
		return cmp.Or(cmp.Compare(b.Hours, a.Hours), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Cause, b.Cause))
	})
	var cum float64
	for i := range causes {
		cum += causes[i].Hours
		causes[i].Pct = 100 * ratio(causes[i].Hours, sum)
		causes[i].CumPct = 100 * ratio(cum, sum)
	}
	return holds, causes
}

func suppliers(batches []*records.Batch, deliveries []*records.Delivery) []SupplierRow {
	type sacc struct {
		SupplierRow
		processed, rejects float64
	}
	by := map[string]*sacc{}
	get := func(name string) *sacc {
		name = orNone(name)
		s := by[name]
		if s == nil {
			s = &sacc{SupplierRow: SupplierRow{Supplier: name, MisTickets: []string{}}}
			by[name] = s
		}
		return s
	}
	for _, d := range deliveries {
		s := get(d.Supplier)
		s.Deliveries++
		s.NetT += d.NetKg / 1000
		if d.MisDeclared() {
			s.MisDeclared++
			s.MisTickets = append(s.MisTickets, d.Ticket)
		}
	}
	for _, b := range batches {
		for _, sp := range supplierSplit(b) {
			s := get(sp.supplier)
			s.processed += sp.f * b.KgReceived
			s.rejects += sp.f * b.KgRejects
		}
	}
	out := make([]SupplierRow, 0, len(by))
	for _, s := range by {
		row := s.SupplierRow
		row.ProcessedT = s.processed / 1000
		row.RejectsT = s.rejects / 1000
		row.RejectsPct = 100 * ratio(s.rejects, s.processed)
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b SupplierRow) int {
		return cmp.Or(cmp.Compare(b.NetT, a.NetT), cmp.Compare(b.ProcessedT, a.ProcessedT), cmp.Compare(a.Supplier, b.Supplier))
	})
	return out
}

func exceptions(batches []*records.Batch, deliveries []*records.Delivery, o Options, loc *time.Location) []Exception {
	out := []Exception{}
	for _, b := range batches {
		at := b.Start.In(loc)
		if b.State.Ended() && b.KgReceived > 0 {
			if c := BatchClosure(b); math.Abs(c-100) > o.ClosureTolPct {
				out = append(out, Exception{Kind: ExClosure, Time: at, BatchID: b.ID, Value: c,
					Detail: fmt.Sprintf("closure %.1f %% outside 100 ± %g %%", c, o.ClosureTolPct)})
			}
		}
		if b.CakeDS > 0 && b.CakeDSTarget > 0 && math.Abs(b.CakeDS-b.CakeDSTarget) > o.DSTolPct {
			out = append(out, Exception{Kind: ExCakeDS, Time: at, BatchID: b.ID, Value: b.CakeDS,
				Detail: fmt.Sprintf("cake DS %.1f %% against a target of %.1f %% (± %g points)", b.CakeDS, b.CakeDSTarget, o.DSTolPct)})
		}
		if b.SlurryDS > 0 && b.SlurryDSTarget > 0 && math.Abs(b.SlurryDS-b.SlurryDSTarget) > o.DSTolPct {
			out = append(out, Exception{Kind: ExSlurryDS, Time: at, BatchID: b.ID, Value: b.SlurryDS,
				Detail: fmt.Sprintf("slurry DS %.1f %% against a target of %.1f %% (± %g points)", b.SlurryDS, b.SlurryDSTarget, o.DSTolPct)})
		}
		switch b.State {
		case records.BatchAborted, records.BatchInterrupted, records.BatchStopped:
			out = append(out, Exception{Kind: ExOutcome, Time: at, BatchID: b.ID, Value: b.KgReceived,
				Detail: fmt.Sprintf("batch %s (%s, %.0f kg received)", b.State, b.Recipe, b.KgReceived)})
		}
	}
	for _, d := range deliveries {
		at := d.Time.In(loc)
		if d.MisDeclared() {
			out = append(out, Exception{Kind: ExMisDeclared, Time: at, Ticket: d.Ticket, Value: d.NetKg,
				Detail: fmt.Sprintf("%s declared %s, found %s", orNone(d.Supplier), d.WasteClass, d.FoundClass)})
		}
		if !o.Now.IsZero() && o.To.Before(o.Now) && d.KgProcessed < d.NetKg-1 {
			out = append(out, Exception{Kind: ExUnprocessed, Time: at, Ticket: d.Ticket, Value: d.NetKg - d.KgProcessed,
				Detail: fmt.Sprintf("%.0f of %.0f kg not processed", d.NetKg-d.KgProcessed, d.NetKg)})
		}
	}
	slices.SortStableFunc(out, func(a, b Exception) int { return a.Time.Compare(b.Time) })
	return out
}
