package main

import (
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian"
)

// TestRestartsKeepBatchIDsUniqueAndTimesMonotonic restarts a real
// controller process at 10× on one data directory 20 times, each time in
// the middle of a batch (mostly kill -9, now and then SIGTERM): the
// restarted controller takes the batch up Held and the operator aborts it.
// Plant time runs ahead of the wall clock at 10×, so a controller that
// started plant time from the wall clock again would end a batch before
// it started and reuse batch IDs. The 20 batch records must have distinct
// IDs, each must end after it started, and each must end before the next
// one starts. A last restart with no batch to take up (so no batch context
// carries the sequence) must number its batch above the 20.
func TestRestartsKeepBatchIDsUniqueAndTimesMonotonic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 21 controller processes; skipped with -short")
	}
	const (
		speed  = 10
		cycles = 20
	)
	began := time.Now()
	_, dir, plantFile := rigLine(t, speed, 5)
	addr := freeAddr(t)
	args := []string{"run", "--config", plantFile, "--data", dir, "--api", addr, "--speed", fmt.Sprint(speed)}
	c := api.NewClient("http://" + addr)

	var ids []string
	seen := map[string]bool{}
	pending := "" // the batch interrupted by the last stop
	for i := 0; i <= cycles; i++ {
		proc := startChild(t, fmt.Sprintf("run%02d.log", i), args...)
		waitAPI(t, c)
		waitGood(t, c, 30*time.Second)
		if pending != "" {
			st := waitState(t, c, "Held", 10*time.Second)
			if st.Batch == nil || st.Batch.ID != pending {
				t.Fatalf("restart %d: held batch %+v, want %s", i, st.Batch, pending)
			}
			send(t, c, api.Command{Command: api.CommandAbort, User: "op"})
			waitState(t, c, "Aborted", 10*time.Second)
			send(t, c, api.Command{Command: api.CommandClear, User: "op"})
		}
		if i == cycles {
			proc.Process.Signal(syscall.SIGTERM)
			proc.Wait()
			break
		}
		waitState(t, c, "Stopped", 10*time.Second)
		send(t, c, api.Command{Command: api.CommandReset, User: "op"})
		waitState(t, c, "Idle", 10*time.Second)
		send(t, c, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
		deadline := time.Now().Add(10 * time.Second)
		for pending = ""; pending == ""; {
			if st, err := c.Status(t.Context()); err == nil && st.Batch != nil && st.Batch.Phase != "" {
				pending = st.Batch.ID
			} else if time.Now().After(deadline) {
				t.Fatalf("cycle %d: no batch running after start: %+v %v", i, st, err)
			} else {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if seen[pending] {
			t.Fatalf("cycle %d: batch ID %s used before (%v)", i, pending, ids)
		}
		seen[pending] = true
		ids = append(ids, pending)
		// Let the batch run (and its record reach the store) a little:
		// 0.5 to 0.9 s of wall time, 5 to 9 s of plant time.
		time.Sleep(500*time.Millisecond + time.Duration(i%5)*100*time.Millisecond)
		sig := syscall.SIGKILL
		if i%4 == 3 {
			sig = syscall.SIGTERM
		}
		if err := proc.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
	}

	// The last batch was aborted and the controller stopped: nothing to take
	// up, so only the stored records tell the line where numbering stands.
	proc := startChild(t, "last.log", args...)
	waitAPI(t, c)
	waitGood(t, c, 30*time.Second)
	waitState(t, c, "Stopped", 10*time.Second)
	send(t, c, api.Command{Command: api.CommandReset, User: "op"})
	waitState(t, c, "Idle", 10*time.Second)
	send(t, c, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	st := waitState(t, c, "Execute", 10*time.Second)
	if st.Batch == nil || seen[st.Batch.ID] || !strings.HasSuffix(st.Batch.ID, fmt.Sprintf("-%d", cycles+1)) {
		t.Fatalf("batch after a restart with nothing to take up: %+v; want sequence %d, after %v", st.Batch, cycles+1, ids)
	}
	ids = append(ids, st.Batch.ID)
	time.Sleep(300 * time.Millisecond)
	send(t, c, api.Command{Command: api.CommandAbort, User: "op"})
	waitState(t, c, "Aborted", 10*time.Second)
	proc.Process.Signal(syscall.SIGTERM)
	proc.Wait()

	hs, err := historian.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	bs, err := hs.Batches()
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != cycles+1 {
		t.Fatalf("%d batch records, want %d: %v", len(bs), cycles+1, ids)
	}
	distinct := map[string]bool{}
	for _, b := range bs {
		distinct[b.ID] = true
	}
	if len(distinct) != len(bs) {
		t.Fatalf("%d distinct batch IDs in %d records", len(distinct), len(bs))
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].Start.Before(bs[j].Start) })
	for i, b := range bs {
		if b.ID != ids[i] {
			t.Errorf("batch %d in start order is %s, started as %s", i, b.ID, ids[i])
		}
		if b.State != "aborted" || b.End.IsZero() {
			t.Errorf("%s: state %s end %v, want aborted with an end", b.ID, b.State, b.End)
			continue
		}
		if b.End.Before(b.Start) {
			t.Errorf("%s ends at %v, before its start %v", b.ID, b.End, b.Start)
		}
		for _, ph := range b.Phases {
			if ph.Start.Before(b.Start) || ph.Start.After(b.End) || (!ph.End.IsZero() && (ph.End.Before(ph.Start) || ph.End.After(b.End))) {
				t.Errorf("%s: phase %s %v..%v outside the batch %v..%v", b.ID, ph.Name, ph.Start, ph.End, b.Start, b.End)
			}
		}
		if i > 0 {
			prev := bs[i-1]
			if !b.Start.After(prev.Start) {
				t.Errorf("%s starts at %v, not after %s's start %v", b.ID, b.Start, prev.ID, prev.Start)
			}
			if !b.Start.After(prev.End) {
				t.Errorf("%s starts at %v, before %s ended (%v): records overlap", b.ID, b.Start, prev.ID, prev.End)
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d restarts mid-batch at %d× and one more: %d distinct IDs %s … %s, plant time %v (%v wall)", cycles, speed, len(distinct),
			bs[0].ID, bs[len(bs)-1].ID, bs[len(bs)-1].End.Sub(bs[0].Start).Round(time.Second), time.Since(began).Round(time.Second))
	}
}
