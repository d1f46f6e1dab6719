package hmi

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
)

// jamPens are the shredder's current and the press speed over the ten
// minutes before runningLine's plant time, one bucket every step: the
// current runs near 40 A, then the shredder jams and the current spikes
// to over 100 A for a minute while it reverses.
func jamPens(step time.Duration) []api.Pen {
	to := runningLine(31.5).Time
	from := to.Add(-10 * time.Minute)
	cur := api.Pen{Tag: "shredder.current", Unit: "A", Precision: 1}
	speed := api.Pen{Tag: "press.speed", Unit: "rpm", Precision: 1}
	n := int(10 * time.Minute / step)
	jamFrom, jamTo := from.Add(8*time.Minute), from.Add(9*time.Minute)
	for i := range n {
		t := from.Add(time.Duration(i) * step)
		x := float64(i) * step.Seconds()
		m := 40 + 3*math.Sin(x/45)
		lo, hi := m-2.5, m+2.5
		if !t.Before(jamFrom) && t.Before(jamTo) {
			m, lo, hi = 88+float64(i%3), 61.5, 103.2
		}
		cur.Points = append(cur.Points, api.TrendPoint{Time: t, Count: 10, Mean: round1(m), Min: round1(lo), Max: round1(hi)})
		s := 31.5 + 0.4*math.Cos(x/60)
		speed.Points = append(speed.Points, api.TrendPoint{Time: t, Count: 10, Mean: round1(s), Min: round1(s - 0.1), Max: round1(s + 0.1)})
	}
	return []api.Pen{cur, speed}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// trendQueries is what the fake received at /api/v1/trend.
func trendQueries(f *fakeController) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.trendQs...)
}

// waitTrendQueries waits until the fake has received at least n trend
// requests.
func waitTrendQueries(t *testing.T, f *fakeController, n int) []url.Values {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		qs := trendQueries(f)
		if len(qs) >= n {
			return qs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller received %d trend requests, want %d", len(qs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTrendQuery waits for the newest trend request for tags (the
// overview's sparklines ask too).
func waitTrendQuery(t *testing.T, f *fakeController, tags string) url.Values {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		qs := trendQueries(f)
		for i := len(qs) - 1; i >= 0; i-- {
			if qs[i].Get("tag") == tags {
				return qs[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller was never asked for the trend of %s: %v", tags, qs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeText types s into the screen.
func typeText(scr *recordingScreen, s string) {
	for _, r := range s {
		runeKey(scr, r)
	}
}

// command types a `:` command.
func command(scr *recordingScreen, cmd string) {
	runeKey(scr, ':')
	typeText(scr, cmd)
	key(scr, tcell.KeyEnter)
}

func TestTrendGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("trend-jam-%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			f := newFakeController(t, runningLine(31.5))
			f.with(func(f *fakeController) { f.pens = jamPens(2 * time.Second) })
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), signedIn(f, scr))
			waitText(t, scr, "signed in as anna")
			command(scr, "trend shredder.current,press.speed 10m")
			checkGolden(t, f, waitSettled(t, scr, "min / mean / max"), name)
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		})
	}
}

// The cursor's readout gives the served bucket's min/mean/max at the
// pen's precision, for the time under the cursor.
func TestTrendCursorReadout(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	// 80 columns with two pens leave 60 plot columns: one 10 s bucket each.
	pens := jamPens(10 * time.Second)
	f.with(func(f *fakeController) { f.pens = pens })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend shredder.current,press.speed")
	q := waitTrendQuery(t, f, "shredder.current,press.speed")
	if got := q.Get("points"); got != "60" {
		t.Fatalf("points asked = %s, want 60 (the plot's width)", got)
	}
	readout := func(i int) (string, string) {
		c, s := pens[0].Points[i], pens[1].Points[i]
		return fmt.Sprintf("● shredder.current %s / %s / %s A", formatValue(api.TagValue{Value: c.Min, Precision: 1}),
				formatValue(api.TagValue{Value: c.Mean, Precision: 1}), formatValue(api.TagValue{Value: c.Max, Precision: 1})),
			fmt.Sprintf("○ press.speed %s / %s / %s rpm", formatValue(api.TagValue{Value: s.Min, Precision: 1}),
				formatValue(api.TagValue{Value: s.Mean, Precision: 1}), formatValue(api.TagValue{Value: s.Max, Precision: 1}))
	}
	// The cursor starts on the newest bucket.
	cur, speed := readout(59)
	snap := waitText(t, scr, "▲ 06:12:23 min / mean / max:")
	for _, want := range []string{cur, speed} {
		if !snap.contains(want) {
			t.Errorf("readout lacks %q; screen:\n%s", want, snap)
		}
	}
	// Back into the jam: the spike's values.
	for range 8 {
		key(scr, tcell.KeyLeft)
	}
	cur, speed = readout(51)
	if !strings.Contains(cur, "103.2") {
		t.Fatalf("test data: bucket 51 is not in the jam: %s", cur)
	}
	snap = waitText(t, scr, "▲ 06:11:03 min / mean / max:")
	for _, want := range []string{cur, speed} {
		if !snap.contains(want) {
			t.Errorf("readout lacks %q; screen:\n%s", want, snap)
		}
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// w asks again for the next window, ending at the latest plant time.
func TestTrendWindowRefetches(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.pens = jamPens(10 * time.Second) })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend shredder.current")
	waitText(t, scr, "min / mean / max")
	to := runningLine(31.5).Time
	for _, w := range []time.Duration{time.Hour, 8 * time.Hour, 24 * time.Hour, 10 * time.Minute} {
		n := len(trendQueries(f))
		runeKey(scr, 'w')
		qs := waitTrendQueries(t, f, n+1)
		q := qs[len(qs)-1]
		from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
		gotTo, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
		if err1 != nil || err2 != nil || !gotTo.Equal(to) || !from.Equal(to.Add(-w)) {
			t.Errorf("after w: from %s to %s, want %s to %s", q.Get("from"), q.Get("to"), to.Add(-w).Format(time.RFC3339), to.Format(time.RFC3339))
		}
		if q.Get("tag") != "shredder.current" {
			t.Errorf("after w: tags %q", q.Get("tag"))
		}
		waitText(t, scr, "last "+windowText(w)+" to 06:12:33")
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// n with a tag the controller does not know shows its answer and keeps
// the pens; a known tag is added; - removes the last.
func TestTrendAddPen(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.pens = jamPens(10 * time.Second) })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend shredder.current")
	waitText(t, scr, "min / mean / max")

	runeKey(scr, 'n')
	waitText(t, scr, "Add a pen")
	typeText(scr, "press.sped")
	key(scr, tcell.KeyEnter) // to OK
	key(scr, tcell.KeyEnter)
	snap := waitText(t, scr, "tag press.sped is not known")
	row, col, _ := snap.find("tag press.sped is not known")
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("refusal colour = %v, want %v", got, colorWarn)
	}
	if snap.contains("press.sped (") || !snap.contains("Overview › Trend shredder.current ") {
		t.Errorf("unknown tag became a pen; screen:\n%s", snap)
	}

	runeKey(scr, 'n')
	waitText(t, scr, "Add a pen")
	typeText(scr, "press.speed")
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "○· press.speed (rpm)")
	qs := trendQueries(f)
	if got := qs[len(qs)-1].Get("tag"); got != "shredder.current,press.speed" {
		t.Errorf("tags asked = %q", got)
	}

	runeKey(scr, '-')
	waitScreen(t, scr, "press.speed removed", func(s snapshot) bool { return !s.contains("press.speed") })
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// A following trend asks again every few seconds while in front; it
// pauses while another screen is in front and goes on when the trend is
// back; f turns following off.
func TestTrendFollow(t *testing.T) {
	old := trendFollowEvery
	trendFollowEvery = 50 * time.Millisecond
	t.Cleanup(func() { trendFollowEvery = old })

	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.pens = jamPens(10 * time.Second) })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend shredder.current")
	waitTrendQuery(t, f, "shredder.current")
	waitTrendQueries(t, f, len(trendQueries(f))+3)

	quiet := func(what string) {
		t.Helper()
		time.Sleep(150 * time.Millisecond)
		n := len(trendQueries(f))
		time.Sleep(300 * time.Millisecond)
		if got := len(trendQueries(f)); got != n {
			t.Errorf("trend asked %d more times %s", got-n, what)
		}
	}
	command(scr, "record B-0001") // another screen over the trend
	waitText(t, scr, "Overview › Trend shredder.current › Record B-0001")
	quiet("while another screen was in front")

	key(scr, tcell.KeyEscape) // back to the trend
	waitText(t, scr, "follow: live")
	waitTrendQueries(t, f, len(trendQueries(f))+2)

	runeKey(scr, 'f')
	waitText(t, scr, "follow: off")
	quiet("with following off")

	runeKey(scr, 'f')
	waitText(t, scr, "follow: live")
	waitTrendQueries(t, f, len(trendQueries(f))+2)
	key(scr, tcell.KeyEscape) // back to the overview
	waitText(t, scr, "Key values")
	quiet("after leaving the screen")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// e asks for a fixed range of plant time; the trend stops following.
func TestTrendCustomRange(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.pens = jamPens(10 * time.Second) })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend shredder.current")
	waitText(t, scr, "min / mean / max")
	runeKey(scr, 'e')
	waitText(t, scr, "Trend range")
	for range 4 {
		key(scr, tcell.KeyBackspace2) // the -10m offered
	}
	typeText(scr, "05:45")
	key(scr, tcell.KeyEnter) // to To, "now"
	key(scr, tcell.KeyEnter) // to OK
	n := len(trendQueries(f))
	key(scr, tcell.KeyEnter)
	qs := waitTrendQueries(t, f, n+1)
	q := qs[len(qs)-1]
	if q.Get("from") != "2025-03-01T05:45:00Z" || q.Get("to") != "2025-03-01T06:12:33Z" {
		t.Errorf("custom range asked from %s to %s", q.Get("from"), q.Get("to"))
	}
	waitText(t, scr, "03-01 05:45 – 03-01 06:12  fixed range")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// Without tags, the trend shows the overview's first three key values.
func TestTrendDefaultPens(t *testing.T) {
	st := runningLine(31.5)
	var want []string
	for _, tv := range kpvTags(&st)[:3] {
		want = append(want, tv.Tag)
	}
	f := newFakeController(t, st)
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '4')
	waitTrendQuery(t, f, strings.Join(want, ","))
	waitText(t, scr, "Overview › Trend "+strings.Join(want, ", "))
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// Four pens each have their own mark; pens of other units get their own
// scale, named in the legend.
func TestChartFourPens(t *testing.T) {
	from := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	req := trendReq{from: from, to: from.Add(10 * time.Minute), points: 20}
	tr := &api.Trend{}
	for p, unit := range []string{"A", "A", "%", "bar"} {
		pen := api.Pen{Tag: fmt.Sprintf("tag%d", p), Unit: unit, Precision: 1}
		for i := range 20 {
			v := float64(p*10 + (i*(p+1)+p)%5)
			pen.Points = append(pen.Points, api.TrendPoint{Time: from.Add(time.Duration(i) * 30 * time.Second), Count: 1, Mean: v, Min: v, Max: v})
		}
		tr.Pens = append(tr.Pens, pen)
		req.tags = append(req.tags, pen.Tag)
	}
	c := buildChart(tr, req)
	plot := strings.Join(c.plot(12, 19), "\n")
	for _, g := range penMean {
		if !strings.ContainsRune(plot, g) {
			t.Errorf("plot lacks the mark %c:\n%s", g, plot)
		}
	}
	legend := strings.Join(c.legend(200), "\n")
	for _, want := range []string{"tag0 (A) 0.0–4.0 left axis", "tag1 (A) 10.0–14.0 left axis", "tag2 (%) 20.0–24.0 right axis", "tag3 (bar) 30.0–34.0 own scale"} {
		if !strings.Contains(legend, want) {
			t.Errorf("legend lacks %q: %s", want, legend)
		}
	}
}

// A trend the controller refuses shows its answer in the warning colour.
func TestTrendError(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend no.such_tag")
	snap := waitText(t, scr, "! cannot fetch the trend: tag no.such_tag is not known")
	row, col, _ := snap.find("cannot fetch the trend")
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("error colour = %v, want %v", got, colorWarn)
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// Without data in the range, the trend says so.
func TestTrendNoData(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.pens = []api.Pen{{Tag: "pulper.level", Unit: "%", Precision: 1}} })
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "trend pulper.level")
	waitText(t, scr, "no good samples in this range")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestParsePlantTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 6, 12, 33, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"-2h", now.Add(-2 * time.Hour)},
		{"05:30", time.Date(2025, 3, 1, 5, 30, 0, 0, time.UTC)},
		{"23:00", time.Date(2025, 2, 28, 23, 0, 0, 0, time.UTC)}, // later today: yesterday
		{"2025-02-27 14:00", time.Date(2025, 2, 27, 14, 0, 0, 0, time.UTC)},
	} {
		got, err := parsePlantTime(c.in, now, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parsePlantTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := parsePlantTime("yesterday", now, now); err == nil {
		t.Error("parsePlantTime(yesterday): no error")
	}
}
