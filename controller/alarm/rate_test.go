package alarm

import (
	"testing"
	"time"
)

// TestAnnunciatedCountsRaisesInTheWindow: a raise, a re-raise from
// returned-unacknowledged and a shelf expiring on an active condition each
// count; acknowledging does not; they drop out of the count 10 minutes of
// plant time later.
func TestAnnunciatedCountsRaisesInTheWindow(t *testing.T) {
	r := newRig(t, Settings{}, def())
	r.running["u"] = true
	r.at(0)
	if n := r.set.Annunciated(r.now); n != 0 {
		t.Fatalf("%d annunciated before any alarm", n)
	}
	r.val(20)
	r.at(time.Second) // raised
	r.val(0)
	r.at(2 * time.Second) // returned unacknowledged
	r.val(20)
	r.at(3 * time.Second) // raised again
	r.ack("a")
	r.shelve("a", time.Minute)
	r.at(4 * time.Minute) // the shelf expired on an active condition
	if got := r.state("a"); got != Unacknowledged {
		t.Fatalf("alarm %s after the shelf expired, want unacknowledged", got)
	}
	if n := r.set.Annunciated(r.now); n != 3 {
		t.Errorf("%d annunciated, want 3 (raise, re-raise, shelf expiry)", n)
	}
	r.at(10*time.Minute + 2*time.Second) // the first has left the window
	if n := r.set.Annunciated(r.now); n != 2 {
		t.Errorf("%d annunciated 10 min after the first, want 2", n)
	}
	r.at(15 * time.Minute)
	if n := r.set.Annunciated(r.now); n != 0 {
		t.Errorf("%d annunciated 15 min on, want 0", n)
	}
}

// TestRaisesRingDoesNotAllocateOnceGrown: the queue compacts in place.
func TestRaisesRingDoesNotAllocateOnceGrown(t *testing.T) {
	var q raises
	now := t0
	for i := 0; i < 100; i++ {
		now = now.Add(time.Second)
		q.add(now)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(10 * time.Second)
		q.add(now)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per add", allocs)
	}
	if n := q.count(now); n != 60 {
		t.Errorf("count %d, want 60 (one every 10 s in 10 min)", n)
	}
}
