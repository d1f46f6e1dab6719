package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-analyze/charts"
)

// chart is one figure of the HTML report: an inline SVG, or the sentence
// shown instead when there is nothing to draw.
type chart struct {
	Title string
	SVG   template.HTML
	Empty string
}

// svgOf draws with the go-analyze/charts SVG renderer and returns the
// SVG to inline. The xmlns attributes are dropped: an SVG inside HTML
// needs none, and the page then names no address at all.
func svgOf(width, height int, draw func(p *charts.Painter) error) (template.HTML, error) {
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: width, Height: height})
	if err := draw(p); err != nil {
		return "", err
	}
	return painterSVG(p)
}

func painterSVG(p *charts.Painter) (template.HTML, error) {
	b, err := p.Bytes()
	if err != nil {
		return "", err
	}
	return template.HTML(stripXMLNS(string(b))), nil
}

func stripXMLNS(s string) string {
	s = strings.Replace(s, ` xmlns="http://www.w3.org/2000/svg"`, "", 1)
	s = strings.Replace(s, ` xmlns:xlink="http://www.w3.org/1999/xlink"`, "", 1)
	return strings.Replace(s, "<svg ", `<svg role="img" `, 1)
}

func makeChart(title, empty string, width, height int, hasData bool, draw func(p *charts.Painter) error) chart {
	c := chart{Title: title}
	if !hasData {
		c.Empty = empty
		return c
	}
	svg, err := svgOf(width, height, draw)
	if err != nil {
		c.Empty = "The chart could not be drawn: " + err.Error()
		return c
	}
	c.SVG = svg
	return c
}

func fmtNum(places int) charts.ValueFormatter {
	return func(f float64) string { return strconv.FormatFloat(f, 'f', places, 64) }
}

// chartTonnesPerDay: processed tonnes per production day, stacked by
// class.
func chartTonnesPerDay(r *Report) chart {
	var days, classes []string
	for _, g := range r.ByDayClass {
		if !slices.Contains(days, g.Keys[DimDay]) {
			days = append(days, g.Keys[DimDay])
		}
		if !slices.Contains(classes, g.Keys[DimClass]) {
			classes = append(classes, g.Keys[DimClass])
		}
	}
	slices.Sort(days)
	slices.Sort(classes)
	values := make([][]float64, len(classes))
	any := false
	for ci, c := range classes {
		values[ci] = make([]float64, len(days))
		for _, g := range r.ByDayClass {
			if g.Keys[DimClass] == c {
				values[ci][slices.Index(days, g.Keys[DimDay])] = g.ProcessedT
				any = any || g.ProcessedT > 0
			}
		}
	}
	return makeChart("Tonnes processed per day, by class", "No batch was processed in this range.", 800, 360, any,
		func(p *charts.Painter) error {
			opt := charts.NewBarChartOptionWithData(values)
			opt.StackSeries = charts.Ptr(true)
			opt.CategoryAxis.Labels = days
			opt.Legend = charts.LegendOption{SeriesNames: classes, Offset: charts.OffsetRight}
			opt.ValueAxis = []charts.ValueAxisOption{{Title: "t", Min: charts.Ptr(0.0), ValueFormatter: fmtNum(2)}}
			opt.Padding = charts.Box{Top: 20, Right: 20, Bottom: 20, Left: 20}
			return p.BarChart(opt)
		})
}

// chartClosure: the closure of each ended batch with the tolerance band.
// go-analyze/charts draws mark lines only at a series' max, min, average
// or median, not at a given value, so the band's edges 100 − tol and
// 100 + tol are drawn as two constant line series.
func chartClosure(r *Report) chart {
	var ids []string
	var vals []float64
	for _, b := range r.Batches {
		if b.ReceivedKg > 0 && endedState(b.State) {
			ids = append(ids, b.ID)
			vals = append(vals, b.ClosurePct)
		}
	}
	lo, hi := 100-r.ClosureTolPct, 100+r.ClosureTolPct
	return makeChart(fmt.Sprintf("Mass-balance closure per batch (band 100 ± %g %%)", r.ClosureTolPct),
		"No ended batch with received waste in this range.", 800, 340, len(vals) > 0,
		func(p *charts.Painter) error {
			low := make([]float64, len(vals))
			high := make([]float64, len(vals))
			minV, maxV := lo, hi
			for i, v := range vals {
				low[i], high[i] = lo, hi
				minV, maxV = math.Min(minV, v), math.Max(maxV, v)
			}
			opt := charts.NewLineChartOptionWithData([][]float64{vals, low, high})
			opt.XAxis.Labels = ids
			opt.XAxis.LabelRotation = -math.Pi / 4
			opt.Legend = charts.LegendOption{SeriesNames: []string{"closure %", fmt.Sprintf("%g %%", lo), fmt.Sprintf("%g %%", hi)}, Offset: charts.OffsetRight}
			opt.YAxis = []charts.YAxisOption{{Min: charts.Ptr(math.Floor(minV - 1)), Max: charts.Ptr(math.Ceil(maxV + 1)), ValueFormatter: fmtNum(1)}}
			opt.Padding = charts.Box{Top: 20, Right: 20, Bottom: 20, Left: 20}
			return p.LineChart(opt)
		})
}

func endedState(s string) bool {
	switch s {
	case "complete", "stopped", "aborted", "interrupted":
		return true
	}
	return false
}

// chartPareto: downtime hours per cause (bars, left axis) with the
// cumulative % (line, right axis).
func chartPareto(r *Report) chart {
	var names []string
	var hours, cum []float64
	for _, c := range r.Downtime {
		names = append(names, c.Cause)
		hours = append(hours, c.Hours)
		cum = append(cum, c.CumPct)
	}
	c := chart{Title: "Downtime by cause (Pareto)"}
	if len(names) == 0 {
		c.Empty = "No hold or stop in this range."
		return c
	}
	{
		{
			labels := make([]string, len(names))
			for i, n := range names {
				if len([]rune(n)) > 28 {
					n = string([]rune(n)[:27]) + "…"
				}
				labels[i] = n
			}
			opt := charts.ChartOption{
				OutputFormat: charts.ChartOutputSVG,
				Width:        800,
				Height:       380,
				Padding:      charts.Box{Top: 20, Right: 20, Bottom: 20, Left: 20},
				XAxis:        charts.XAxisOption{Labels: labels, LabelRotation: -math.Pi / 4, Unit: 1, LabelFontStyle: charts.FontStyle{FontSize: 10}},
				YAxis: []charts.YAxisOption{
					{Title: "h", Min: charts.Ptr(0.0), ValueFormatter: fmtNum(1)},
					{Title: "cumulative %", Min: charts.Ptr(0.0), Max: charts.Ptr(100.0), ValueFormatter: fmtNum(0)},
				},
				Legend: charts.LegendOption{SeriesNames: []string{"hours", "cumulative %"}, Offset: charts.OffsetRight},
				SeriesList: charts.GenericSeriesList{
					{Type: charts.ChartTypeBar, Name: "hours", Values: hours},
					{Type: charts.ChartTypeLine, Name: "cumulative %", Values: cum, YAxisIndex: 1},
				},
			}
			// bars and a line on a second axis: ChartOption renders
			// mixed series, the typed painters one kind each.
			p, err := charts.Render(opt)
			if err == nil {
				c.SVG, err = painterSVG(p)
			}
			if err != nil {
				c.Empty = "The chart could not be drawn: " + err.Error()
			}
		}
	}
	return c
}

// chartKWhPerClass: energy per processed tonne of each class.
func chartKWhPerClass(r *Report) chart {
	var classes []string
	var vals []float64
	for _, g := range r.ByClass {
		if g.ProcessedT > 0 {
			classes = append(classes, g.Keys[DimClass])
			vals = append(vals, g.KWhPerT)
		}
	}
	return makeChart("Energy per processed tonne, by class (kWh/t)", "No batch with received waste in this range.", 800, 320, len(vals) > 0,
		func(p *charts.Painter) error {
			opt := charts.NewBarChartOptionWithData([][]float64{vals})
			opt.CategoryAxis.Labels = classes
			opt.Legend = charts.LegendOption{Show: charts.Ptr(false)}
			opt.ValueAxis = []charts.ValueAxisOption{{Title: "kWh/t", Min: charts.Ptr(0.0), ValueFormatter: fmtNum(1)}}
			opt.SeriesList[0].Label = charts.SeriesLabel{Show: charts.Ptr(true), ValueFormatter: fmtNum(1)}
			opt.Padding = charts.Box{Top: 20, Right: 20, Bottom: 20, Left: 20}
			return p.BarChart(opt)
		})
}

type tile struct {
	Label, Value, Unit string
	Bad                bool
}

func num(v float64, places int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(roundFor(v, places), 'f', places, 64)
}

func htmlFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"n0": func(v float64) string { return num(v, 0) },
		"n1": func(v float64) string { return num(v, 1) },
		"n2": func(v float64) string { return num(v, 2) },
		"n3": func(v float64) string { return num(v, 3) },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"join":  func(s []string) string { return strings.Join(s, ", ") },
		"label": func(g Group, dims []Dim) string { return g.Label(dims) },
		"dims": func(dims []Dim) string {
			s := make([]string, len(dims))
			for i, d := range dims {
				s[i] = string(d)
			}
			return strings.Join(s, " / ")
		},
		"outcomes": func(m map[string]float64) string {
			var parts []string
			for _, s := range outcomeStates {
				if v := m[string(s)]; v != 0 {
					parts = append(parts, fmt.Sprintf("%s %s", strings.TrimRight(strings.TrimRight(num(v, 2), "0"), "."), s))
				}
			}
			return strings.Join(parts, ", ")
		},
	}
}

const pageCSS = `
*{box-sizing:border-box}
body{font-family:"Helvetica Neue",Arial,sans-serif;font-size:10.5pt;color:#1d2731;margin:18px auto;max-width:1120px;padding:0 14px}
h1{font-size:17pt;margin:0 0 2px}h2{font-size:13pt;margin:22px 0 8px;border-bottom:2px solid #35618f;padding-bottom:2px}
.meta{color:#555;margin-bottom:12px}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.tile{flex:1 1 120px;border:1px solid #c8d3de;border-radius:4px;padding:6px 10px;background:#f5f8fb;break-inside:avoid}
.tile .l{font-size:8.5pt;color:#555}.tile .v{font-size:15pt;font-weight:bold}.tile .u{font-size:9pt;color:#555;margin-left:3px}
.tile.bad{border-color:#c0392b;background:#fbeeee}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:10px 18px}
.chart{break-inside:avoid;page-break-inside:avoid;margin:8px 0 14px}
.chart h3{font-size:11pt;margin:4px 0}
.chart svg{width:100%;height:auto;max-width:100%;display:block}
.empty{color:#666;font-style:italic}
table{border-collapse:collapse;width:100%;font-size:9pt;margin-bottom:10px}
th,td{border:1px solid #c8d3de;padding:2px 5px;vertical-align:top}
th{background:#e6edf4;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fbeeee}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
@page{size:A4;margin:12mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:9pt}.charts{display:block}.chart svg{max-height:105mm;width:auto;margin:0 auto}h2{break-after:avoid;page-break-after:avoid}.chart svg{max-height:120mm}}
`

var reportTmpl = template.Must(template.New("report").Funcs(htmlFuncs(time.UTC)).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title><style>{{.CSS}}</style></head><body>
<h1>{{.R.Title}}</h1>
<div class="meta">{{if .R.Site}}{{.R.Site}} · {{end}}{{when .R.From}} to {{when .R.To}} ({{.R.TimeZone}}) · generated {{when .R.Generated}}</div>
<div class="tiles">{{range .Tiles}}<div class="tile{{if .Bad}} bad{{end}}"><div class="l">{{.Label}}</div><span class="v">{{.Value}}</span><span class="u">{{.Unit}}</span></div>{{end}}</div>
<div class="charts">{{range .Charts}}<div class="chart"><h3>{{.Title}}</h3>{{if .SVG}}{{.SVG}}{{else}}<p class="empty">{{.Empty}}</p>{{end}}</div>
{{end}}</div>
<h2>Groups{{if .R.By}} by {{dims .R.By}}{{end}}</h2>
{{if .R.Groups}}<table><thead><tr><th>{{dims .R.By}}</th><th>received t</th><th>processed t</th><th>cake t (%)</th><th>filtrate t (%)</th><th>rejects t (%)</th><th>water t/t</th><th>kWh/t</th><th>closure %</th><th>batches</th><th>jams</th><th>cake DS % (target)</th><th>slurry DS % (target)</th><th>run h</th><th>held h</th><th>stopped h</th><th>avail. %</th><th>t/h</th></tr></thead><tbody>
{{range .R.Groups}}<tr><td>{{label . $.R.By}}</td><td class="n">{{n3 .ReceivedT}}</td><td class="n">{{n3 .ProcessedT}}</td><td class="n">{{n3 .CakeT}} ({{n1 .CakePct}})</td><td class="n">{{n3 .FiltrateT}} ({{n1 .FiltratePct}})</td><td class="n">{{n3 .RejectsT}} ({{n1 .RejectsPct}})</td><td class="n">{{n2 .WaterTPerT}}</td><td class="n">{{n1 .KWhPerT}}</td><td class="n">{{n1 .ClosurePct}}</td><td>{{outcomes .Outcomes}}</td><td class="n">{{n1 .Jams}}</td><td class="n">{{n1 .CakeDSPct}} ({{n1 .CakeDSTargetPct}})</td><td class="n">{{n1 .SlurryDSPct}} ({{n1 .SlurryDSTargetPct}})</td>{{if .LineTime}}<td class="n">{{n2 .RunH}}</td><td class="n">{{n2 .HeldH}}</td><td class="n">{{n2 .StoppedH}}</td><td class="n">{{n1 .AvailabilityPct}}</td><td class="n">{{n2 .ThroughputTPerH}}</td>{{else}}<td></td><td></td><td></td><td></td><td></td>{{end}}</tr>
{{end}}{{with .R.Total}}<tr><th>total</th><th class="n">{{n3 .ReceivedT}}</th><th class="n">{{n3 .ProcessedT}}</th><th class="n">{{n3 .CakeT}} ({{n1 .CakePct}})</th><th class="n">{{n3 .FiltrateT}} ({{n1 .FiltratePct}})</th><th class="n">{{n3 .RejectsT}} ({{n1 .RejectsPct}})</th><th class="n">{{n2 .WaterTPerT}}</th><th class="n">{{n1 .KWhPerT}}</th><th class="n">{{n1 .ClosurePct}}</th><th>{{outcomes .Outcomes}}</th><th class="n">{{n1 .Jams}}</th><th class="n">{{n1 .CakeDSPct}} ({{n1 .CakeDSTargetPct}})</th><th class="n">{{n1 .SlurryDSPct}} ({{n1 .SlurryDSTargetPct}})</th><th class="n">{{n2 .RunH}}</th><th class="n">{{n2 .HeldH}}</th><th class="n">{{n2 .StoppedH}}</th><th class="n">{{n1 .AvailabilityPct}}</th><th class="n">{{n2 .ThroughputTPerH}}</th></tr>{{end}}
</tbody></table>{{else}}<p class="empty">No grouping asked for: the tiles above are the totals.</p>{{end}}
<h2>Downtime by cause</h2>
{{if .R.Downtime}}<table><thead><tr><th>cause</th><th>hours</th><th>stops</th><th>%</th><th>cumulative %</th></tr></thead><tbody>
{{range .R.Downtime}}<tr><td>{{.Cause}}</td><td class="n">{{n2 .Hours}}</td><td class="n">{{.Count}}</td><td class="n">{{n1 .Pct}}</td><td class="n">{{n1 .CumPct}}</td></tr>
{{end}}</tbody></table>
<table><thead><tr><th>line</th><th>start</th><th>end</th><th>hours</th><th>states</th><th>unit</th><th>cause</th><th>user</th><th>batch</th></tr></thead><tbody>
{{range .R.Holds}}<tr><td>{{.Line}}</td><td>{{when .Start}}</td><td>{{when .End}}</td><td class="n">{{n2 .Hours}}</td><td>{{join .States}}</td><td>{{.Unit}}</td><td>{{.Cause}}</td><td>{{.User}}</td><td>{{.BatchID}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No hold or stop in this range.</p>{{end}}
<h2>Suppliers</h2>
{{if .R.Suppliers}}<table><thead><tr><th>supplier</th><th>deliveries</th><th>net t</th><th>processed t</th><th>rejects t</th><th>rejects %</th><th>mis-declared</th><th>tickets</th></tr></thead><tbody>
{{range .R.Suppliers}}<tr{{if .MisDeclared}} class="bad"{{end}}><td>{{.Supplier}}</td><td class="n">{{.Deliveries}}</td><td class="n">{{n3 .NetT}}</td><td class="n">{{n3 .ProcessedT}}</td><td class="n">{{n3 .RejectsT}}</td><td class="n">{{n1 .RejectsPct}}</td><td class="n">{{.MisDeclared}}</td><td>{{join .MisTickets}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No delivery in this range.</p>{{end}}
<h2>Exceptions</h2>
{{if .R.Exceptions}}<table><thead><tr><th>time</th><th>kind</th><th>batch</th><th>ticket</th><th>what</th></tr></thead><tbody>
{{range .R.Exceptions}}<tr><td>{{when .Time}}</td><td>{{.Kind}}</td><td>{{.BatchID}}</td><td>{{.Ticket}}</td><td>{{.Detail}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No exception in this range.</p>{{end}}
<h2>Batches</h2>
{{if .R.Batches}}<table><thead><tr><th>batch</th><th>start</th><th>end</th><th>shift</th><th>recipe</th><th>class</th><th>state</th><th>received kg</th><th>cake kg</th><th>filtrate kg</th><th>rejects kg</th><th>water kg</th><th>kWh/t</th><th>closure %</th><th>jams</th><th>cake DS %</th><th>slurry DS %</th><th>tickets</th></tr></thead><tbody>
{{range .R.Batches}}<tr><td>{{.ID}}</td><td>{{when .Start}}</td><td>{{when .End}}</td><td>{{.Shift}}</td><td>{{.Recipe}} v{{.RecipeVersion}}</td><td>{{.Class}}</td><td>{{.State}}</td><td class="n">{{n1 .ReceivedKg}}</td><td class="n">{{n1 .CakeKg}}</td><td class="n">{{n1 .FiltrateKg}}</td><td class="n">{{n1 .RejectsKg}}</td><td class="n">{{n1 .WaterKg}}</td><td class="n">{{n1 .KWhPerT}}</td><td class="n">{{n2 .ClosurePct}}</td><td class="n">{{.Jams}}</td><td class="n">{{n1 .CakeDSPct}}</td><td class="n">{{n1 .SlurryDSPct}}</td><td>{{join .Tickets}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No batch in this range.</p>{{end}}
</body></html>
`))

// WriteHTML writes the report as one self-contained HTML page: no
// script, no external style sheet, font or image; the charts are inline
// SVG; printable on A4.
func WriteHTML(w io.Writer, r *Report) error {
	f := &r.Total
	tol := r.ClosureTolPct
	title := r.Title
	if title == "" {
		title = "Pretreatment report"
	}
	rr := *r
	rr.Title = title
	tiles := []tile{
		{Label: "received", Value: num(f.ReceivedT, 1), Unit: "t"},
		{Label: "processed", Value: num(f.ProcessedT, 1), Unit: "t"},
		{Label: "closure", Value: num(f.ClosurePct, 1), Unit: "%", Bad: f.ProcessedT > 0 && math.Abs(f.ClosurePct-100) > tol},
		{Label: "availability", Value: num(f.AvailabilityPct, 1), Unit: "%"},
		{Label: "energy", Value: num(f.KWhPerT, 1), Unit: "kWh/t"},
		{Label: "water", Value: num(f.WaterTPerT, 2), Unit: "t/t"},
		{Label: "jams", Value: num(f.Jams, 0)},
		{Label: "exceptions", Value: strconv.Itoa(len(r.Exceptions)), Bad: len(r.Exceptions) > 0},
	}
	data := struct {
		R      *Report
		CSS    template.CSS
		Tiles  []tile
		Charts []chart
	}{&rr, template.CSS(pageCSS), tiles, []chart{chartTonnesPerDay(r), chartClosure(r), chartPareto(r), chartKWhPerClass(r)}}
	t, err := reportTmpl.Clone()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Funcs(htmlFuncs(r.Location())).Execute(&buf, data); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

var batchTmpl = template.Must(template.New("batch").Funcs(htmlFuncs(time.UTC)).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Batch {{.B.ID}}</title><style>{{.CSS}}</style></head><body>
<h1>Batch {{.B.ID}}</h1>
<div class="meta">line {{.B.Line}} · recipe {{.B.Recipe}} v{{.B.RecipeVersion}}{{if .B.RecipeHash}} ({{.B.RecipeHash}}){{end}} · class {{.B.Class}} · {{.B.State}}{{if .B.User}} · started by {{.B.User}}{{end}} · {{when .B.Start}} to {{when .B.End}} ({{n1 .B.DurationMin}} min)</div>
<div class="tiles">
<div class="tile"><div class="l">received</div><span class="v">{{n1 .B.InKg}}</span><span class="u">kg in</span></div>
<div class="tile"><div class="l">out</div><span class="v">{{n1 .B.OutKg}}</span><span class="u">kg</span></div>
<div class="tile{{if .ClosureBad}} bad{{end}}"><div class="l">closure</div><span class="v">{{n2 .B.ClosurePct}}</span><span class="u">%</span></div>
<div class="tile"><div class="l">energy</div><span class="v">{{n1 .B.KWhPerT}}</span><span class="u">kWh/t</span></div>
<div class="tile"><div class="l">jams / reversals</div><span class="v">{{.B.Jams}} / {{.B.Reversals}}</span></div>
</div>
<h2>Mass balance</h2>
<table><thead><tr><th>side</th><th>what</th><th>kg</th></tr></thead><tbody>
{{range .B.Balance}}<tr><td>{{.Side}}</td><td>{{.Name}}</td><td class="n">{{n1 .Kg}}</td></tr>{{end}}
<tr><th colspan="2">in / out / closure %</th><th class="n">{{n1 .B.InKg}} / {{n1 .B.OutKg}} / {{n2 .B.ClosurePct}}</th></tr>
</tbody></table>
<p>cake DS {{n1 .B.CakeDSPct}} % (target {{n1 .B.CakeDSTargetPct}} %), slurry DS {{n1 .B.SlurryDSPct}} % (target {{n1 .B.SlurryDSTargetPct}} %)</p>
<h2>Phases</h2>
<table><thead><tr><th>phase</th><th>start</th><th>end</th><th>min</th><th>signal</th><th>set-point</th><th>min</th><th>mean</th><th>max</th><th>mean − SP</th><th>samples</th></tr></thead><tbody>
{{range .B.Phases}}{{$p := .}}{{if .Signals}}{{range $i, $s := .Signals}}<tr>{{if eq $i 0}}<td>{{$p.Name}}</td><td>{{when $p.Start}}</td><td>{{when $p.End}}</td><td class="n">{{n1 $p.DurationMin}}</td>{{else}}<td></td><td></td><td></td><td></td>{{end}}<td>{{$s.Tag}}</td><td class="n">{{if $s.HasSP}}{{n2 $s.Setpoint}}{{end}}</td><td class="n">{{n2 $s.Min}}</td><td class="n">{{n2 $s.Mean}}</td><td class="n">{{n2 $s.Max}}</td><td class="n">{{if $s.HasSP}}{{n2 $s.Deviation}}{{end}}</td><td class="n">{{$s.Samples}}</td></tr>
{{end}}{{else}}<tr><td>{{.Name}}</td><td>{{when .Start}}</td><td>{{when .End}}</td><td class="n">{{n1 .DurationMin}}</td><td colspan="7"></td></tr>
{{end}}{{end}}</tbody></table>
<h2>Energy</h2>
{{if .B.Energy}}<table><thead><tr><th>unit</th><th>kWh</th><th>metered</th></tr></thead><tbody>{{range .B.Energy}}<tr><td>{{.Unit}}</td><td class="n">{{n2 .KWh}}</td><td>{{if .Metered}}yes{{else}}no{{end}}</td></tr>{{end}}
<tr><th>total</th><th class="n">{{n2 .B.KWh}}</th><th></th></tr></tbody></table>{{else}}<p class="empty">No metered unit.</p>{{end}}
<h2>Deliveries</h2>
{{if .B.Deliveries}}<table><thead><tr><th>ticket</th><th>supplier</th><th>class</th><th>kg</th></tr></thead><tbody>{{range .B.Deliveries}}<tr><td>{{.Ticket}}</td><td>{{.Supplier}}</td><td>{{.WasteClass}}</td><td class="n">{{n1 .Kg}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No delivery linked.</p>{{end}}
<h2>Holds</h2>
{{if .B.Holds}}<table><thead><tr><th>start</th><th>end</th><th>min</th><th>unit</th><th>cause</th><th>user</th></tr></thead><tbody>{{range .B.Holds}}<tr><td>{{when .Start}}</td><td>{{when .End}}</td><td class="n">{{n1 .Minutes}}</td><td>{{.Unit}}</td><td>{{.Cause}}</td><td>{{.User}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No hold.</p>{{end}}
<h2>Alarms</h2>
{{if .B.Alarms}}<table><thead><tr><th>time</th><th>alarm</th><th>state</th><th>user</th></tr></thead><tbody>{{range .B.Alarms}}<tr><td>{{when .Time}}</td><td>{{.Alarm}}</td><td>{{.State}}</td><td>{{.User}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No alarm.</p>{{end}}
<h2>Operator actions</h2>
{{if .B.Actions}}<table><thead><tr><th>time</th><th>user</th><th>command</th><th>detail</th></tr></thead><tbody>{{range .B.Actions}}<tr><td>{{when .Time}}</td><td>{{.User}}</td><td>{{.Command}}</td><td>{{.Detail}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No operator action.</p>{{end}}
<h2>Overrides</h2>
{{if .B.Overrides}}<table><thead><tr><th>time</th><th>user</th><th>unit</th><th>parameter</th><th>old</th><th>new</th></tr></thead><tbody>{{range .B.Overrides}}<tr><td>{{when .Time}}</td><td>{{.User}}</td><td>{{.Unit}}</td><td>{{.Parameter}}</td><td class="n">{{.Old}}</td><td class="n">{{.New}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No override.</p>{{end}}
<h2>Notes</h2>
{{if .B.Notes}}<table><thead><tr><th>time</th><th>unit</th><th>note</th></tr></thead><tbody>{{range .B.Notes}}<tr><td>{{when .Time}}</td><td>{{.Unit}}</td><td>{{.Text}}</td></tr>{{end}}</tbody></table>{{else}}<p class="empty">No note.</p>{{end}}
</body></html>
`))

// WriteBatchHTML writes the report of one batch as a self-contained HTML
// page; times are shown in loc (nil: UTC).
func WriteBatchHTML(w io.Writer, b *BatchDetail, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	t, err := batchTmpl.Clone()
	if err != nil {
		return err
	}
	data := struct {
		B          *BatchDetail
		CSS        template.CSS
		ClosureBad bool
	}{b, template.CSS(pageCSS), endedState(b.State) && b.InKg > 0 && math.Abs(b.ClosurePct-100) > 5}
	var buf bytes.Buffer
	if err := t.Funcs(htmlFuncs(loc)).Execute(&buf, data); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
