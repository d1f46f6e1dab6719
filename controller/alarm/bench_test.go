package alarm

import (
	"fmt"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// bigPlant builds n alarms over n tags and n/10 units, with every kind,
// delays and deadbands, and an input table holding the tags.
func bigPlant(tb testing.TB, n int) (*Set, fakeInputs, func(string) bool) {
	tb.Helper()
	kindsCycle := []Kind{KindHigh, KindHighHigh, KindLow, KindLowLow, KindBadQuality, KindDigital}
	defs := make([]Definition, n)
	in := fakeInputs{}
	for i := range defs {
		k := kindsCycle[i%len(kindsCycle)]
		d := Definition{Name: fmt.Sprintf("a%d", i), Tag: fmt.Sprintf("t%d", i), Kind: k, Priority: priorities[i%len(priorities)],
			Unit: fmt.Sprintf("u%d", i%(n/10+1)), Message: "m", OnDelay: time.Duration(i%3) * time.Second, OffDelay: time.Duration(i%2) * time.Second}
		switch k {
		case KindHigh, KindHighHigh:
			d.Limit, d.Deadband = 50, 2
		case KindLow, KindLowLow:
			d.Limit, d.Deadband = 10, 2
		}
		defs[i] = d
		in[d.Tag] = sample{30, drivers.QualityGood}
	}
	set, err := NewSet(defs, Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	running := map[string]bool{}
	for i := 0; i <= n/10; i++ {
		running[fmt.Sprintf("u%d", i)] = i%7 != 0 // some units stopped: alarms suppressed by design
	}
	return set, in, func(u string) bool { return running[u] }
}

// TestStepDoesNotAllocate checks the scan's alarm step: no allocation in
// steady state (alarms in every state, nothing changing), and none once the
// buffers have grown even while alarms change state every scan.
func TestStepDoesNotAllocate(t *testing.T) {
	set, in, running := bigPlant(t, 1000)
	now := t0
	// Bring alarms into every state: bad inputs raise the bad_quality
	// ones; then ack, shelve and remove some (refusals are expected for
	// the alarms not in a state the call applies to).
	for i := range 1000 {
		if i%4 == 0 {
			in[fmt.Sprintf("t%d", i)] = sample{60, drivers.QualityBadCommFailure}
		}
	}
	for range 10 {
		now = now.Add(time.Second)
		set.Step(now, in, running)
	}
	for i := range 1000 {
		name := fmt.Sprintf("a%d", i)
		switch i % 5 {
		case 0:
			set.Ack(name, "ann", now)
		case 1:
			set.Shelve(name, "ann", now.Add(8*time.Hour), now)
		case 2:
			if i%3 == 0 {
				set.RemoveFromService(name, "eng", now)
			}
		}
	}
	c := set.Counts()
	if c.Unacknowledged == 0 || c.Acknowledged == 0 || c.Shelved == 0 || c.SuppressedByDesign == 0 || c.OutOfService == 0 {
		t.Fatalf("setup did not reach every state: %+v", c)
	}
	step := func() {
		now = now.Add(100 * time.Millisecond)
		if ts := set.Step(now, in, running); len(ts) != 0 {
			t.Fatalf("steady state made %d transitions, first %+v", len(ts), ts[0])
		}
	}
	step()
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("steady-state Step allocates %.1f times per scan, want 0", n)
	}

	// Churn: flip a tenth of the values every scan.
	flip, churned := 0, 0
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	churn := func() {
		now = now.Add(700 * time.Millisecond)
		flip++
		for i := flip % 10; i < 1000; i += 10 {
			s := in[tags[i]]
			if s.v == 30 {
				s.v = 60
			} else {
				s.v = 30
			}
			s.q = drivers.QualityGood
			in[tags[i]] = s
		}
		churned += len(set.Step(now, in, running))
	}
	for range 200 { // let the buffers grow
		churn()
	}
	churned = 0
	if n := testing.AllocsPerRun(200, churn); n != 0 {
		t.Errorf("Step with transitions allocates %.1f times per scan after warm-up, want 0", n)
	}
	if churned < 1000 {
		t.Errorf("churn made only %d transitions in 201 scans", churned)
	}
}

// BenchmarkStep1000Steady steps 1,000 alarms in mixed states whose inputs
// do not change: the cost of the alarm part of every scan.
func BenchmarkStep1000Steady(b *testing.B) {
	set, in, running := bigPlant(b, 1000)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(100 * time.Millisecond)
		set.Step(now, in, running)
	}
}

// BenchmarkStep1000Churn steps 1,000 alarms while a tenth of the values
// cross their limits every scan (a plant upset), so alarms raise, clear
// and chatter.
func BenchmarkStep1000Churn(b *testing.B) {
	set, in, running := bigPlant(b, 1000)
	tags := make([]string, 1000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	now := t0
	flip, transitions := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(700 * time.Millisecond)
		flip++
		for i := flip % 10; i < 1000; i += 10 {
			s := in[tags[i]]
			if s.v == 30 {
				s.v = 60
			} else {
				s.v = 30
			}
			in[tags[i]] = s
		}
		transitions += len(set.Step(now, in, running))
	}
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
}
