package httpapi

import (
	"bytes"
	"net/http"
	"slices"
	"time"

	"github.com/pretreat/pretreat/historian/report"
)

// SetCalendar gives the plant's time zone and shifts to the report route
// (UTC and no shifts without it).
func (s *Server) SetCalendar(c report.Calendar) { s.calendar = c }

// reportFormats are the formats GET /api/v1/report answers in.
var reportFormats = []string{"json", "html", "xlsx", "csv"}

// report answers GET /api/v1/report?from=&to=&by=&format=&table=: the
// manager report of the range (default: everything) computed from the
// running controller's records, grouped by the dimensions in by, as JSON
// (default), one HTML page, a workbook, or one CSV table (table=, default
// groups).
func (s *Server) report(w http.ResponseWriter, r *http.Request, from, to time.Time) {
	q := r.URL.Query()
	dims, err := report.ParseDims(q.Get("by"))
	if err != nil {
		errJSON(w, http.StatusBadRequest, "by: %v", err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if !slices.Contains(reportFormats, format) {
		errJSON(w, http.StatusBadRequest, "format=%q is not known; allowed: json, html, xlsx, csv", format)
		return
	}
	table := q.Get("table")
	if table == "" {
		table = "groups"
	}
	if format == "csv" && !slices.Contains(report.CSVTables, table) {
		errJSON(w, http.StatusBadRequest, "table=%q is not known; allowed: %v", table, report.CSVTables)
		return
	}
	var d report.Data
	if d.Batches, err = s.records.Batches(from, to); err == nil {
		if d.Deliveries, err = s.records.Deliveries(from, to); err == nil {
			d.States, err = s.records.States(from, to)
		}
	}
	if err != nil {
		errJSON(w, http.StatusInternalServerError, "%v", err)
		return
	}
	now := s.engine.Status().Time
	if now.IsZero() {
		now = time.Now()
	}
	if to.After(now) {
		to = now
	}
	cal := s.calendar
	if cal.Location == nil {
		cal.Location = time.UTC
	}
	rep, err := report.Compute(d, cal, report.Options{From: from, To: to, By: dims, Now: now, Title: "Production report", Site: s.engine.Status().Line})
	if err != nil {
		errJSON(w, http.StatusBadRequest, "%v", err)
		return
	}
	var buf bytes.Buffer
	ctype := map[string]string{"json": "application/json", "html": "text/html; charset=utf-8",
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}[format]
	switch format {
	case "json":
		err = report.WriteJSON(&buf, rep)
	case "html":
		err = report.WriteHTML(&buf, rep)
	case "xlsx":
		err = report.WriteXLSX(&buf, rep)
	case "csv":
		err = report.WriteCSV(&buf, rep, table)
	}
	if err != nil {
		errJSON(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
