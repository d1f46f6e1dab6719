package historian_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

// childEnv makes the test binary a writer child instead of running tests:
// "DIR|URL|FIRST" (see runWriterChild).
const childEnv = "PRETREAT_HISTORIAN_WRITER_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runWriterChild(spec))
	}
	os.Exit(m.Run())
}

// runWriterChild is the controller stand-in that TestKill9 kills: it opens
// the historian on DIR with InfluxDB at URL, hands in 20 samples every
// 10 ms whose values count up from FIRST, and prints "accepted N" each
// time the outbox's count of committed points grows: samples FIRST ..
// FIRST+N-1 are then accepted (committed in order). It stops by itself
// after 30 s if nobody kills it.
func runWriterChild(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad spec", spec)
		return 2
	}
	first, err := strconv.Atoi(parts[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h, err := historian.Open(historian.Options{Dir: parts[0], Line: "L1",
		Influx: &historian.InfluxOptions{URL: parts[1], Bucket: influxtest.Bucket, WriteTimeout: 2 * time.Second}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h.Start(context.Background())
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	buf := make([]drivers.Sample, 20)
	seq := first
	var reported uint64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		now := time.Now()
		for i := range buf {
			buf[i] = drivers.Sample{Tag: fmt.Sprintf("unit%d.pv%d", i%5, i), Value: float64(seq), Quality: drivers.QualityGood, Time: now}
			seq++
		}
		h.Samples(buf)
		if a := h.Stats().Influx.Outbox.AcceptedPoints; a != reported {
			reported = a
			fmt.Fprintln(out, "accepted", a)
			out.Flush()
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.Close()
	return 0
}

// killCycle runs one writer child, kills it with SIGKILL after delay and
// returns the largest count of accepted points it reported.
func killCycle(t *testing.T, dir, url string, first int, delay time.Duration) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", childEnv, dir, url, first))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	accepted := 0
	ready := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				close(ready)
				continue
			}
			if n, ok := strings.CutPrefix(line, "accepted "); ok {
				v, _ := strconv.Atoi(n)
				mu.Lock()
				accepted = max(accepted, v)
				mu.Unlock()
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("writer child did not start")
	}
	time.Sleep(delay)
	// kill -9 of this child, by its PID.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-readDone
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer child ended with %v, want killed by SIGKILL", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return accepted
}

// TestKill9 is acceptance 2 of issue 7: a writer process is killed with
// SIGKILL at a random moment, three times during an InfluxDB outage and
// once while it is delivering; then the historian is opened again on the
// same directory with influxd running. Every point a child reported as
// accepted (committed to the outbox) must be in InfluxDB, and each child's
// values must arrive as a gapless prefix of what it handed in (order
// kept), each once.
func TestKill9(t *testing.T) {
	t.Parallel() // its own influxd; overlaps the 3-minute outage
	srv := influxtest.Start(t)
	dir := t.TempDir()
	const span = 1_000_000 // child c hands in values c*span+1, c*span+2, ...
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	var accepted []int
	for c := 0; c < 3; c++ {
		delay := time.Duration(300+rng.IntN(1200)) * time.Millisecond
		a := killCycle(t, dir, srv.URL, c*span+1, delay)
		t.Logf("outage, child %d killed after %v: had reported %d points accepted", c, delay, a)
		if a == 0 {
			t.Fatalf("child %d reported nothing accepted in %v", c, delay)
		}
		accepted = append(accepted, a)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// Killed while delivering: what InfluxDB took but the outbox had not yet
	// deleted is sent again, and InfluxDB stores it once.
	delay := time.Duration(1500+rng.IntN(1000)) * time.Millisecond
	a := killCycle(t, dir, srv.URL, 3*span+1, delay)
	t.Logf("delivering, child 3 killed after %v: had reported %d points accepted", delay, a)
	accepted = append(accepted, a)

	h, err := historian.Open(historian.Options{Dir: dir, Line: "L1",
		Influx: &historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket}})
	if err != nil {
		t.Fatal(err)
	}
	pending := h.Stats().Influx.Outbox.PendingPoints
	h.Start(context.Background())
	waitDrained(t, h, 60*time.Second)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted with %d points in the outbox; all delivered", pending)

	for c, a := range accepted {
		lo, hi := c*span+1, (c+1)*span
		series := srv.MustQuery(t, influxtest.Database, fmt.Sprintf(
			`SELECT count("value"), count(distinct("value")), min("value"), max("value") FROM "process" WHERE "value" >= %d AND "value" <= %d`, lo, hi))
		if len(series) != 1 || len(series[0].Values) != 1 {
			t.Fatalf("child %d: no points in InfluxDB (%+v), want at least %d", c, series, a)
		}
		row := series[0].Values[0]
		n, _ := strconv.Atoi(fmt.Sprint(row[1]))
		distinct, _ := strconv.Atoi(fmt.Sprint(row[2]))
		minV, _ := strconv.Atoi(fmt.Sprint(row[3]))
		maxV, _ := strconv.Atoi(fmt.Sprint(row[4]))
		t.Logf("child %d: reported %d accepted; InfluxDB has %d (%d distinct), values %d..%d", c, a, n, distinct, minV, maxV)
		if n < a {
			t.Errorf("child %d: %d points in InfluxDB, fewer than the %d it reported accepted", c, n, a)
		}
		if n != distinct || minV != lo || maxV != lo+n-1 {
			t.Errorf("child %d: count %d, distinct %d, values %d..%d; want a gapless prefix %d..%d, each once", c, n, distinct, minV, maxV, lo, lo+n-1)
		}
	}
}
