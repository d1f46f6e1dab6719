package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/report"
)

// reportSchedule writes the shift and daily reports into a folder as
// plant time passes the end of each shift and production day. It reads
// the running controller's own store. What it wrote last is kept in the
// folder, so that a controller started again writes the reports it
// missed (the last week's at most) and none twice.
type reportSchedule struct {
	dir          string
	formats      string // e.g. "html,xlsx"
	shift, daily bool
	cal          report.Calendar
	store        *historian.Store
	clock        drivers.Clock
	line         string
	tolerance    float64
	log          *slog.Logger
	settle       time.Duration // plant time after the end before writing: the last records reach the store
}

// scheduleState is the file in the folder that says up to where reports
// were written.
const scheduleState = ".pretreat-reports"

// maxCatchUp bounds how far back a restarted controller writes reports it
// missed.
const maxCatchUp = 7 * 24 * time.Hour

func (s *reportSchedule) run(ctx context.Context) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		s.log.Error("scheduled reports: cannot create the folder; none will be written", "dir", s.dir, "err", err)
		return
	}
	done := s.readState()
	if done.IsZero() {
		done = s.clock.Now() // a new folder: from now on
		s.writeState(done)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		now := s.clock.Now()
		if cut := now.Add(-maxCatchUp); done.Before(cut) {
			done = cut
		}
		done = s.catchUp(ctx, done, now.Add(-s.settle))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// catchUp writes the reports of every shift and day that ended in
// (done, upTo] and returns the new done.
func (s *reportSchedule) catchUp(ctx context.Context, done, upTo time.Time) time.Time {
	for {
		// The next boundary after done: a shift's end or a day's.
		shift, sStart, sEnd := s.cal.Shift(done)
		label, dStart := s.cal.Day(done)
		_, dEnd := s.cal.Day(dStart.Add(36 * time.Hour))
		next := sEnd
		if dEnd.Before(next) {
			next = dEnd
		}
		if next.After(upTo) {
			return done
		}
		if s.shift && sEnd.Equal(next) {
			s.write(ctx, "shift", sStart, sEnd, "class", fmt.Sprintf("shift-%s-%s", sStart.In(s.cal.Location).Format("2006-01-02"), shift))
		}
		if s.daily && dEnd.Equal(next) {
			s.write(ctx, "daily", dStart, dEnd, "shift,class", "daily-"+label)
		}
		done = next
		s.writeState(done)
	}
}

func (s *reportSchedule) write(ctx context.Context, kind string, from, to time.Time, by, name string) {
	src := dataStore{st: s.store, dir: s.dir}
	data, err := readData(ctx, src, from, to)
	if err != nil {
		s.log.Error("scheduled report: read", "report", name, "err", err)
		return
	}
	dims, _ := report.ParseDims(by)
	title := map[string]string{"shift": "Shift report", "daily": "Daily report"}[kind]
	rep, err := report.Compute(data, s.cal, report.Options{From: from, To: to, By: dims, ClosureTolPct: s.tolerance, Now: s.clock.Now(), Title: title, Site: s.line})
	if err != nil {
		s.log.Error("scheduled report", "report", name, "err", err)
		return
	}
	formats := s.formats
	if formats == "" {
		formats = "html,xlsx"
	}
	if err := writeReport(rep, filepath.Join(s.dir, name), formats, io.Discard); err != nil {
		s.log.Error("scheduled report: write", "report", name, "err", err)
	}
}

func (s *reportSchedule) readState() time.Time {
	b, err := os.ReadFile(filepath.Join(s.dir, scheduleState))
	if err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}
	}
	return t
}

func (s *reportSchedule) writeState(t time.Time) {
	p := filepath.Join(s.dir, scheduleState)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(t.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err == nil {
		_ = os.Rename(tmp, p)
	}
}
