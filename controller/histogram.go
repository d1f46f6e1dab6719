package controller

import (
	"math"
	"time"
)

// durationHistogram counts durations in log-spaced buckets from 1 µs to
// about 10 s (8 buckets per doubling, so a quantile is within ~9 %). It is
// fixed-size and allocation-free, so the scan can feed it every period.
type durationHistogram struct {
	counts [histBuckets]uint64
	total  uint64
	max    time.Duration
}

const (
	histPerDoubling = 8
	histBuckets     = 24 * histPerDoubling // 1 µs · 2^24 ≈ 16.8 s
)

func histBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Log2(us) * histPerDoubling)
	return min(b, histBuckets-1)
}

// add counts one duration (negative ones count as zero).
func (h *durationHistogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histBucket(d)]++
	h.total++
	h.max = max(h.max, d)
}

// quantile returns the upper edge of the bucket holding quantile q (0..1),
// capped at the largest value seen.
func (h *durationHistogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			edge := time.Duration(math.Exp2(float64(i+1)/histPerDoubling) * float64(time.Microsecond))
			return min(edge, h.max)
		}
	}
	return h.max
}
