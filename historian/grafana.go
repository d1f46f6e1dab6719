package historian

import (
	"bytes"
	_ "embed"
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
