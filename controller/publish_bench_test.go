package controller

import "testing"

// BenchmarkPublish builds the status of the sample line with a batch
// running (feeding), as the scan does after a command or an event and at
// most every publishEvery otherwise.
func BenchmarkPublish(b *testing.B) {
	r := newEngineRig(b)
	r.feeding()
	r.run(5e9)
	b.ReportAllocs()
	for b.Loop() {
		r.e.publish()
	}
}
