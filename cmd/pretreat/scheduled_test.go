package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

type fixedNow struct{ t time.Time }

func (c *fixedNow) Now() time.Time { return c.t }
func (c *fixedNow) Speed() float64 { return 1 }

// The schedule writes one shift report at the end of each shift and one
// daily report at the end of each production day, each once, and a
// restarted schedule writes what it missed and nothing twice.
func TestScheduledReports(t *testing.T) {
	hk, err := time.LoadLocation("Asia/Hong_Kong")
	if err != nil {
		t.Fatal(err)
	}
	cal := report.Calendar{Location: hk, DayStart: 7 * time.Hour,
		Shifts: []report.Shift{{Name: "A", Start: 7 * time.Hour}, {Name: "B", Start: 15 * time.Hour}, {Name: "C", Start: 23 * time.Hour}}}
	dataDir := t.TempDir()
	h, err := historian.Open(historian.Options{Dir: dataDir, Line: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, hk)
	for i := range 6 {
		s := t0.Add(time.Duration(i) * 4 * time.Hour)
		h.SaveBatch(records.Batch{ID: "b" + string(rune('1'+i)), Line: "line-1", Recipe: "catering", WasteClass: "catering",
			State: records.BatchComplete, Start: s, End: s.Add(time.Hour), KgReceived: 400})
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := historian.OpenStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := filepath.Join(t.TempDir(), "reports")
	clock := &fixedNow{t0}
	s := &reportSchedule{dir: dir, formats: "json", shift: true, daily: true, cal: cal, store: st, clock: clock,
		line: "line-1", tolerance: 5, log: slog.New(slog.NewTextHandler(io.Discard, nil)), settle: 2 * time.Minute}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.writeState(t0)
	// Plant time moves on 32 h: shifts end at 15:00, 23:00, 07:00 (the
	// day's end too) and 15:00 the next day.
	done := s.catchUp(t.Context(), s.readState(), t0.Add(32*time.Hour))
	files := func() []string {
		es, _ := os.ReadDir(dir)
		var out []string
		for _, e := range es {
			if e.Name()[0] != '.' {
				out = append(out, e.Name())
			}
		}
		slices.Sort(out)
		return out
	}
	want := []string{"daily-2026-12-07.json", "shift-2026-12-07-A.json", "shift-2026-12-07-B.json", "shift-2026-12-07-C.json", "shift-2026-12-08-A.json"}
	if got := files(); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if want := time.Date(2026, 12, 8, 15, 0, 0, 0, hk); !done.Equal(want) || !s.readState().Equal(want) {
		t.Errorf("done %v, state %v; want %v", done, s.readState(), want)
	}
	// The daily report covers the production day 07:00-07:00: the batches
	// started at 08:00, 12:00, 16:00, 20:00, 00:00 and 04:00.
	b, err := os.ReadFile(filepath.Join(dir, "daily-2026-12-07.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.Total.Batches != 6 || len(rep.Groups) == 0 {
		t.Errorf("daily report: %v, %v batches, %d groups", err, rep.Total.Batches, len(rep.Groups))
	}
	// Again over the same time: nothing new, nothing rewritten.
	before, _ := os.Stat(filepath.Join(dir, "shift-2026-12-07-A.json"))
	s.catchUp(t.Context(), s.readState(), t0.Add(32*time.Hour))
	after, _ := os.Stat(filepath.Join(dir, "shift-2026-12-07-A.json"))
	if !after.ModTime().Equal(before.ModTime()) || len(files()) != len(want) {
		t.Errorf("a second pass rewrote or added reports: %v", files())
	}
}
