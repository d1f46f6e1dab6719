package report

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pretreat/pretreat/historian/records"
)

func TestHTMLSelfContained(t *testing.T) {
	r := compute(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if os.Getenv("REPORT_HTML_OUT") != "" {
		_ = os.WriteFile(os.Getenv("REPORT_HTML_OUT"), b.Bytes(), 0o644)
	}
	if n := strings.Count(page, "<svg"); n < 4 {
		t.Errorf("%d inline <svg> charts, want at least 4", n)
	}
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q: it must not load anything", bad)
		}
	}
	if strings.Contains(page, "<Ltd>") || !strings.Contains(page, "Bakers &amp; Sons &lt;Ltd&gt;") {
		t.Error("a supplier's name is not escaped")
	}
	for _, want := range []string{"Week 50", "Kwai Chung", "2026-12-07 07:00", "@page", "shredder: jam not cleared", "B2", "92.1", "78.0"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	// the chart labels are in the SVGs (classes of chart 1, causes of 3)
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1)
	if len(svgs) < 4 || !strings.Contains(svgs[0], "market_veg") || !strings.Contains(svgs[2], "cumulative %") {
		t.Errorf("the charts do not carry their labels")
	}
}

func TestHTMLWithoutData(t *testing.T) {
	_, cal, o := fixture(t)
	r, err := Compute(Data{}, cal, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<svg") {
		t.Error("an empty report draws a chart")
	}
	for _, want := range []string{"No batch was processed in this range.", "No hold or stop in this range."} {
		if !strings.Contains(page, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestXLSXOpensAgain(t *testing.T) {
	r := compute(t)
	var b bytes.Buffer
	if err := WriteXLSX(&b, r); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if strings.Join(sheets, ",") != "Summary,Groups,Batches,Deliveries,Downtime,Holds,Suppliers,Exceptions" {
		t.Fatalf("sheets %v", sheets)
	}
	raw := excelize.Options{RawCellValue: true}
	cell := func(sheet, c string) string {
		v, err := f.GetCellValue(sheet, c, raw)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Summary: find "processed" and read its value as a number
	rows, _ := f.GetRows("Summary", raw)
	found := false
	for _, row := range rows {
		if len(row) >= 2 && row[0] == "processed" {
			found = row[1] == "3"
		}
	}
	if !found {
		t.Errorf("Summary has no processed = 3 row: %v", rows)
	}
	if typ, _ := f.GetCellType("Summary", "B10"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Errorf("figures are text, not numbers")
	}
	if cell("Groups", "A1") != "day" || cell("Groups", "A2") != "2026-12-07" || cell("Groups", "B2") != "day" {
		t.Errorf("Groups A1:B2 = %q %q %q", cell("Groups", "A1"), cell("Groups", "A2"), cell("Groups", "B2"))
	}
	if cell("Downtime", "A2") != "shredder: jam not cleared" || cell("Downtime", "B2") != "1.5" {
		t.Errorf("Downtime row 2 = %q %q", cell("Downtime", "A2"), cell("Downtime", "B2"))
	}
	// B1 started 2026-12-07 08:00 in Hong Kong: a date cell of that wall time
	if got := cell("Batches", "G2"); got != "46363.3333333333" && !strings.HasPrefix(got, "46363.333333") {
		t.Errorf("Batches G2 (start of B1) = %q, want the serial of 2026-12-07 08:00", got)
	}
	if v, _ := f.GetCellValue("Batches", "G2"); v != "2026-12-07 08:00" {
		t.Errorf("Batches G2 shows %q", v)
	}
	panes, err := f.GetPanes("Groups")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("header row not frozen: %+v %v", panes, err)
	}
	st, _ := f.GetCellStyle("Groups", "A1")
	if style, err := f.GetStyle(st); err != nil || style.Font == nil || !style.Font.Bold {
		t.Errorf("header not bold")
	}
	if w, _ := f.GetColWidth("Deliveries", "F"); w < 15 {
		t.Errorf("supplier column %g wide", w)
	}
}

func TestBatchReport(t *testing.T) {
	d, _, _ := fixture(t)
	b := d.Batches[5] // B2
	if b.ID != "B2" {
		t.Fatal("fixture order changed")
	}
	at := b.Start
	b.Phases = []records.Phase{
		{Name: "receive", Start: at, End: at.Add(10 * time.Minute)},
		{Name: "pulp", Start: at.Add(10 * time.Minute), End: at.Add(40 * time.Minute),
			Signals: []records.SignalStats{{Tag: "pulper.level", Setpoint: 60, HasSP: true, Min: 55, Mean: 61.5, Max: 66, Samples: 300}}},
	}
	b.KWhByUnit = map[string]float64{"shredder": 30, "press": 15}
	b.Metered = []string{"shredder", "press", "pulper"}
	b.Alarms = []records.AlarmNote{{Time: at.Add(5 * time.Minute), Alarm: "pulper.level_hh", State: "raised"}}
	b.Actions = []records.Action{{Time: at.Add(6 * time.Minute), User: "ops1", Command: "hold"}}
	b.Overrides = []records.Override{{Time: at.Add(7 * time.Minute), User: "ops1", Parameter: "speed", Unit: "press", Old: 15, New: 12}}
	b.Notes = []records.Note{{Time: at.Add(8 * time.Minute), Unit: "depack", Text: "dropped <fault>"}}
	events := []records.Event{
		{Time: at.Add(6 * time.Minute), Kind: records.EventBatch, Name: "held", BatchID: "B2", Unit: "pulper", Message: "level high", User: "ops1"},
		{Time: at.Add(9 * time.Minute), Kind: records.EventCommand, Name: "unhold", BatchID: "B2", User: "ops1"},
		{Time: at.Add(20 * time.Minute), Kind: records.EventBatch, Name: "held", BatchID: "B2", Message: "press torque"},
		{Time: at.Add(21 * time.Minute), Kind: records.EventBatch, Name: "held", BatchID: "B9"},
		{Time: at.Add(25 * time.Minute), Kind: records.EventBatch, Name: "resumed", BatchID: "B2"},
	}
	bd := BatchReport(b, events)
	near(t, "closure", bd.ClosurePct, 100*1450.0/1550)
	near(t, "in", bd.InKg, 1550)
	near(t, "pulp min", bd.Phases[1].DurationMin, 30)
	near(t, "level deviation", bd.Phases[1].Signals[0].Deviation, 1.5)
	near(t, "kWh/t", bd.KWhPerT, 45)
	if len(bd.Holds) != 2 || bd.Holds[0].Minutes != 3 || bd.Holds[0].Cause != "level high" || bd.Holds[1].Minutes != 5 {
		t.Errorf("holds %+v", bd.Holds)
	}
	if len(bd.Energy) != 3 || bd.Energy[1].Unit != "pulper" || bd.Energy[1].KWh != 0 || !bd.Energy[1].Metered {
		t.Errorf("energy %+v", bd.Energy)
	}
	var h bytes.Buffer
	if err := WriteBatchHTML(&h, bd, plant(t).Location); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	for _, want := range []string{"Batch B2", "pulper.level", "93.55", "dropped &lt;fault&gt;", "2026-12-07 10:06", "level high", "speed"} {
		if !strings.Contains(page, want) {
			t.Errorf("batch page lacks %q", want)
		}
	}
	if strings.Contains(page, "http") {
		t.Error("batch page names an address")
	}
}
