package historian

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

//go:embed grafana/pretreat.json
var grafanaDashboard []byte

// GrafanaDashboard returns the Grafana dashboard for pretreat lines
// (Grafana's dashboard JSON model; an InfluxDB datasource with Flux, and
// variables datasource, bucket and line): tonnes processed per day, in
// total and by waste class, mass-balance closure per batch, kWh per tonne
// by waste class, live hopper weight, pulper level, shredder current and
// press back pressure, and recent alarms. Import it in Grafana, or let the
// CLI print it.
func GrafanaDashboard() []byte { return bytes.Clone(grafanaDashboard) }

// GrafanaQuery is one query of the shipped dashboard: a panel target's or
// a template variable's.
type GrafanaQuery struct {
	Name string // "panel title/refId" or "variable NAME"
	Flux string
}

// GrafanaQueries returns every query of the shipped dashboard with
// Grafana's variables and macros replaced as Grafana would for a dashboard
// showing lines (a regular expression alternation) of bucket over
// [from, to), at a window period of window: for running them elsewhere,
// e.g. to check the dashboard against a server holding data.
func GrafanaQueries(lines []string, bucket string, from, to time.Time, window time.Duration) ([]GrafanaQuery, error) {
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Query string `json:"query"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(grafanaDashboard, &d); err != nil {
		return nil, fmt.Errorf("historian: grafana dashboard: %w", err)
	}
	quoted := make([]string, len(lines))
	for i, l := range lines {
		quoted[i] = regexp.QuoteMeta(l)
	}
	r := strings.NewReplacer(
		"v.timeRangeStart", from.UTC().Format(time.RFC3339),
		"v.timeRangeStop", to.UTC().Format(time.RFC3339),
		"v.windowPeriod", fluxNs(window),
		"${bucket}", bucket,
		"${line:regex}", "("+strings.Join(quoted, "|")+")",
		"${line}", strings.Join(lines, ","),
	)
	var out []GrafanaQuery
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, GrafanaQuery{p.Title + "/" + tg.RefID, r.Replace(tg.Query)})
		}
	}
	for _, v := range d.Templating.List {
		if s, ok := v.Query.(string); ok && v.Type == "query" {
			out = append(out, GrafanaQuery{"variable " + v.Name, r.Replace(s)})
		}
	}
	return out, nil
}
