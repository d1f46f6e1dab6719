package controller

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h durationHistogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.1 {
			t.Errorf("q%.2f = %s, want %s within +10 %%", c.q, got, c.want)
		}
	}
	h.add(-time.Second)
	if h.quantile(0) > time.Microsecond*2 {
		t.Errorf("negative duration not counted as zero: %s", h.quantile(0))
	}
	if n := testing.AllocsPerRun(1000, func() { h.add(3 * time.Millisecond) }); n != 0 {
		t.Errorf("add allocates %v times", n)
	}
}
