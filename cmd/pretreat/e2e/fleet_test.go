package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pretreat/pretreat/historian/report"
)

// TestFleetSiteReport runs three lines (three demos, each its own rig,
// controller and data directory) into one influxd, then reports from
// InfluxDB for the site and for each line: the site's figures are the sum
// of the three lines', and its groups by line are the line reports.
//
// Not parallel with TestDemoDayReports: four demos at once on two cores
// would make their scans late.
func TestFleetSiteReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three demos; skipped with -short")
	}
	srv := influxURL(t)
	dir := t.TempDir()
	const speed, plantTime = 30, 70 * time.Minute
	lines := []string{"line-1", "line-2", "line-3"}
	var demos []*exec.Cmd
	for i, l := range lines {
		demos = append(demos, demo(t, "--speed", fmt.Sprint(speed), "--duration", plantTime.String(), "--line", l,
			"--seed", fmt.Sprint(11+i), "--data", filepath.Join(dir, l), "--influx-url", srv.URL))
	}
	for i := range demos {
		waitExit(t, demos[i], plantTime/speed+3*time.Minute)
	}
	base := []string{"report", "range", "--influx-url", srv.URL, "--influx-bucket", "plant/autogen", "--from", "2000-01-01", "--format", "json", "--out", "-"}
	site := decode[report.Report](t, cli(t, append(base, "--by", "line")...))
	var sum report.Figures
	for _, l := range lines {
		r := decode[report.Report](t, cli(t, append(base, "--lines", l)...))
		f := r.Total
		// A line held by a fault (a loaded machine can make a start
		// time out) still has deliveries and line time to add up.
		if f.Deliveries < 1 || f.RunH+f.HeldH+f.StoppedH+f.IdleH <= 0 {
			t.Errorf("%s: %d deliveries and no line time in InfluxDB", l, f.Deliveries)
		}
		t.Logf("%s: %.0f batches, %d deliveries, %.3f t processed, %.1f kWh, run %.2f h", l, f.Batches, f.Deliveries, f.ProcessedT, f.KWh, f.RunH)
		sum.Batches += f.Batches
		sum.Deliveries += f.Deliveries
		sum.ReceivedT += f.ReceivedT
		sum.ProcessedT += f.ProcessedT
		sum.CakeT += f.CakeT
		sum.FiltrateT += f.FiltrateT
		sum.RejectsT += f.RejectsT
		sum.WaterT += f.WaterT
		sum.KWh += f.KWh
		sum.Jams += f.Jams
		sum.RunH += f.RunH
		sum.HeldH += f.HeldH
		sum.StoppedH += f.StoppedH
		sum.IdleH += f.IdleH
		var g *report.Group
		for i := range site.Groups {
			if site.Groups[i].Keys[report.DimLine] == l {
				g = &site.Groups[i]
			}
		}
		if g == nil {
			t.Errorf("site report has no group for %s", l)
			continue
		}
		sameFigures(t, "site group "+l+" vs the line's report", g.Figures, f)
	}
	s := site.Total
	for _, c := range []struct {
		name      string
		site, sum float64
	}{
		{"batches", s.Batches, sum.Batches}, {"deliveries", float64(s.Deliveries), float64(sum.Deliveries)},
		{"received t", s.ReceivedT, sum.ReceivedT}, {"processed t", s.ProcessedT, sum.ProcessedT}, {"cake t", s.CakeT, sum.CakeT},
		{"filtrate t", s.FiltrateT, sum.FiltrateT}, {"rejects t", s.RejectsT, sum.RejectsT}, {"water t", s.WaterT, sum.WaterT},
		{"kWh", s.KWh, sum.KWh}, {"jams", s.Jams, sum.Jams}, {"run h", s.RunH, sum.RunH}, {"held h", s.HeldH, sum.HeldH},
		{"stopped h", s.StoppedH, sum.StoppedH}, {"idle h", s.IdleH, sum.IdleH},
	} {
		if !near(c.site, c.sum) {
			t.Errorf("site %s = %v; the three lines add up to %v", c.name, c.site, c.sum)
		}
	}
	if s.Batches < 1 {
		t.Errorf("no batch ended on any of the three lines in %v of plant time", plantTime)
	}
	t.Logf("site: %.0f batches, %.3f t processed, %.1f kWh, closure %.2f %%", s.Batches, s.ProcessedT, s.KWh, s.ClosurePct)
}
