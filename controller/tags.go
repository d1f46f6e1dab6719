package controller

import (
	"sync"

	"github.com/pretreat/pretreat/drivers"
)

// TagTable holds the latest sample of every tag in the plant file. Drivers
// write it from their own goroutines (it is their drivers.Sink); the scan
// copies it once per scan. Tags are indexed at construction so that neither
// Update nor Snapshot allocates.
type TagTable struct {
	mu      sync.Mutex // guards samples; never held while calling out
	index   map[string]int
	samples []drivers.Sample
}

// NewTagTable returns a table for the given tags, all of quality unknown.
func NewTagTable(tags []string) *TagTable {
	t := &TagTable{index: make(map[string]int, len(tags)), samples: make([]drivers.Sample, len(tags))}
	for i, tag := range tags {
		t.index[tag] = i
		t.samples[i] = drivers.Sample{Tag: tag, Quality: drivers.QualityUnknown}
	}
	return t
}

// Update stores samples; unknown tags are ignored.
func (t *TagTable) Update(samples []drivers.Sample) {
	t.mu.Lock()
	for _, s := range samples {
		if i, ok := t.index[s.Tag]; ok {
			t.samples[i] = s
		}
	}
	t.mu.Unlock()
}

// Snapshot copies every sample into dst, which must have Len() entries.
func (t *TagTable) Snapshot(dst []drivers.Sample) {
	t.mu.Lock()
	copy(dst, t.samples)
	t.mu.Unlock()
}

// Len is the number of tags.
func (t *TagTable) Len() int { return len(t.samples) }

// Index returns the position of a tag in snapshots.
func (t *TagTable) Index(tag string) (int, bool) {
	i, ok := t.index[tag]
	return i, ok
}

// Tags returns the tag names in snapshot order.
func (t *TagTable) Tags() []string {
	out := make([]string, len(t.samples))
	for tag, i := range t.index {
		out[i] = tag
	}
	return out
}
