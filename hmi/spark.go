package hmi

import (
	"github.com/pretreat/pretreat/controller/api"
	"math"
	"sort"
	"strings"
	"time"
)

// sparks keeps the recent values of the overview's key tags (plant time,
// value), at most sparkKeep each and no older than sparkWindow.
type sparks struct {
	series     map[string][]sparkPoint
	backfilled bool // the historian has been asked for the last window
}

type sparkPoint struct {
	t time.Time
	v float64
}

const sparkKeep = 2000

// add appends a live value.
func (s *sparks) add(tag string, t time.Time, v float64) {
	if s.series == nil {
		s.series = map[string][]sparkPoint{}
	}
	pts := s.series[tag]
	if n := len(pts); n > 0 && !t.After(pts[n-1].t) {
		return // the same scan again, or a clock step back
	}
	pts = append(pts, sparkPoint{t, v})
	cut := 0
	for cut < len(pts) && (t.Sub(pts[cut].t) > sparkWindow || len(pts)-cut > sparkKeep) {
		cut++
	}
	s.series[tag] = pts[cut:]
}

// backfill adds a value from the historian, older than the live ones.
func (s *sparks) backfill(tag string, t time.Time, v float64) {
	if s.series == nil {
		s.series = map[string][]sparkPoint{}
	}
	pts := s.series[tag]
	if len(pts) > 0 && !t.Before(pts[0].t) {
		return
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].t.After(t) })
	pts = append(pts, sparkPoint{})
	copy(pts[i+1:], pts[i:])
	pts[i] = sparkPoint{t, v}
	if len(pts) > sparkKeep {
		pts = pts[len(pts)-sparkKeep:]
	}
	s.series[tag] = pts
}

// sparkRunes are the eight heights of a sparkline cell.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// line draws tag's last sparkWindow up to now in width cells, each the mean
// of its slice of time, scaled between the window's minimum and maximum
// (printed after it). Cells without data are blank.
func (s *sparks) line(tag string, now time.Time, width, precision int) string {
	pts := s.series[tag]
	if width < 4 {
		return ""
	}
	labelW := 0
	if width >= 30 {
		labelW = 16
	}
	cells := width - labelW
	sum := make([]float64, cells)
	n := make([]int, cells)
	from := now.Add(-sparkWindow)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.t.Before(from) || p.t.After(now) {
			continue
		}
		i := int(float64(cells) * float64(p.t.Sub(from)) / float64(sparkWindow))
		i = min(max(i, 0), cells-1)
		sum[i] += p.v
		n[i]++
		lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
	}
	var b strings.Builder
	for i := range cells {
		if n[i] == 0 {
			b.WriteByte(' ')
			continue
		}
		m := sum[i] / float64(n[i])
		k := 0
		if hi > lo {
			k = int(math.Round((m - lo) / (hi - lo) * float64(len(sparkRunes)-1)))
		}
		b.WriteRune(sparkRunes[k])
	}
	if labelW > 0 && !math.IsInf(lo, 0) {
		label := " " + formatValue(api.TagValue{Value: lo, Precision: precision}) + "–" + formatValue(api.TagValue{Value: hi, Precision: precision})
		b.WriteString(cut(label, labelW))
	}
	return b.String()
}
