package main

import (
	"context"
	"fmt"
	"github.com/gdamore/tcell/v2"
	"github.com/pretreat/pretreat/hmi"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller"
	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
)

// The engine tells the API server of each publish (the server's stream
// otherwise falls back to polling the status).
var _ interface{ Published() <-chan struct{} } = (*controller.Engine)(nil)

// latenessPacer paces the scan like the engine's own timer and keeps how
// late each scan woke, so that a test can take the lateness of a window
// (the controller's figures are since start).
type latenessPacer struct {
	t     *time.Timer
	mu    sync.Mutex
	lates []time.Duration
}

func (p *latenessPacer) Wait(ctx context.Context, due time.Time) (time.Time, bool) {
	d := time.Until(due)
	if p.t == nil {
		p.t = time.NewTimer(d)
	} else {
		p.t.Reset(d)
	}
	select {
	case <-ctx.Done():
		p.t.Stop()
		return time.Time{}, false
	case <-p.t.C:
	}
	woke := time.Now()
	p.mu.Lock()
	p.lates = append(p.lates, max(woke.Sub(due), 0))
	p.mu.Unlock()
	return woke, true
}

// take returns the lateness of the scans since the last take.
func (p *latenessPacer) take() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.lates
	p.lates = nil
	return out
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// loadStats pools the windows of one condition.
type loadStats struct {
	name  string
	lates []time.Duration
	// received counts the statuses the streams got, published the Seq
	// numbers they span; polls the status polls answered.
	received, published int
	polls               int
	seconds             float64 // stream-seconds watched
}

func (l *loadStats) p(q float64) time.Duration { return quantile(l.lates, q) }

// streamSub is one HMI's status stream: it decodes every status (the
// client does) and counts what it gets.
type streamSub struct {
	n      atomic.Int64
	last   atomic.Uint64
	cancel context.CancelFunc
	done   chan error
}

func startSub(ctx context.Context, base string) *streamSub {
	ctx, cancel := context.WithCancel(ctx)
	s := &streamSub{cancel: cancel, done: make(chan error, 1)}
	c := api.NewClient(base)
	go func() {
		s.done <- c.Stream(ctx, func(st *api.Status) {
			s.last.Store(st.Seq)
			s.n.Add(1)
		})
	}()
	return s
}

// loadRig measures the scan's lateness with and without status streams
// and pollers on a running controller.
type loadRig struct {
	t      *testing.T
	base   string
	pacer  *latenessPacer
	window time.Duration
}

// watch measures one window with subs streaming (and polls counting the
// pollers' answers, if any) into l.
func (r *loadRig) watch(l *loadStats, subs []*streamSub, polls *atomic.Int64) {
	ns, seqs := make([]int64, len(subs)), make([]uint64, len(subs))
	for i, s := range subs {
		ns[i], seqs[i] = s.n.Load(), s.last.Load()
	}
	var polled int64
	if polls != nil {
		polled = polls.Load()
	}
	r.pacer.take()
	time.Sleep(r.window)
	l.lates = append(l.lates, r.pacer.take()...)
	for i, s := range subs {
		l.received += int(s.n.Load() - ns[i])
		l.published += int(s.last.Load() - seqs[i])
		l.seconds += r.window.Seconds()
	}
	if polls != nil {
		l.polls += int(polls.Load() - polled)
	}
}

// measure runs rounds of three windows — nobody watching, three streams,
// three streams and five pollers — interleaved so that the machine's own
// ups and downs fall on every condition alike.
func (r *loadRig) measure(rounds int) []*loadStats {
	t := r.t
	stats := []*loadStats{{name: "baseline"}, {name: "3 streams"}, {name: "3 streams + 5 polls"}, {name: "3 HMIs 160x48"}}
	for range rounds {
		r.watch(stats[0], nil, nil)

		// Three real HMIs, signed in, drawing every status on 160×48
		// simulation screens.
		hctx, stopHMIs := context.WithCancel(t.Context())
		var hmis sync.WaitGroup
		for i := range 3 {
			scr := tcell.NewSimulationScreen("UTF-8")
			hmis.Add(1)
			go func() {
				defer hmis.Done()
				err := hmi.Run(hctx, hmi.Options{Client: api.NewClient(r.base), Screen: &sizedScreen{SimulationScreen: scr, w: 160, h: 48},
					Login: &api.Login{User: fmt.Sprintf("hmi%d", i)}})
				if err != nil {
					t.Errorf("HMI %d: %v", i, err)
				}
			}()
		}
		time.Sleep(time.Second) // signed in and streaming
		r.watch(stats[3], nil, nil)
		stopHMIs()
		hmis.Wait()

		var subs []*streamSub
		for range 3 {
			subs = append(subs, startSub(t.Context(), r.base))
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			ok := true
			for _, s := range subs {
				ok = ok && s.n.Load() > 0
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the streams never delivered a status")
			}
		}
		r.watch(stats[1], subs, nil)

		var polls atomic.Int64
		pctx, stopPolls := context.WithCancel(t.Context())
		var pollers sync.WaitGroup
		for range 5 {
			pollers.Add(1)
			go func() {
				defer pollers.Done()
				c := api.NewClient(r.base)
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-pctx.Done():
						return
					case <-tick.C:
					}
					if _, err := c.Status(pctx); err == nil {
						polls.Add(1)
					}
				}
			}()
		}
		r.watch(stats[2], subs, &polls)
		stopPolls()
		pollers.Wait()
		for _, s := range subs {
			s.cancel()
			if err := <-s.done; err != nil {
				t.Errorf("stream ended with %v", err)
			}
		}
	}
	return stats
}

// TestSSELoadThreeHMIsDoNotMoveTheScan runs the sample line at a 10 ms
// scan and measures how late the scan wakes with nobody watching, with
// three status streams decoding every status, with three streams and five
// clients polling the status every 100 ms, and with three real HMIs
// (hmi.Run, signed in, on 160×48 simulation screens) drawing every status. The HMIs run
// in the test's process, so their decoding competes with the scan in the
// same runtime: harsher than HMIs on other machines. With PRETREAT_BENCH=1
// the windows are longer and the table is printed.
//
// On a shared, noisy machine one measurement can be spoilt by someone
// else's load: a lateness that looks moved is measured once more, and
// only one that moves in both fails.
func TestSSELoadThreeHMIsDoNotMoveTheScan(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rig and a controller; skipped with -short")
	}
	rounds, window := 3, 1500*time.Millisecond
	bench := os.Getenv("PRETREAT_BENCH") == "1"
	if bench {
		rounds, window = 6, 5*time.Second
	}
	pacer := &latenessPacer{}
	p, _, _ := startLineWith(t, lineOptions{speed: 1, pacer: pacer, plant: func(f *plant.File) { f.ScanPeriod = 10 * time.Millisecond }})
	base := p.Server.URL()
	waitGood(t, api.NewClient(base), time.Minute)
	time.Sleep(time.Second) // let the start settle
	r := &loadRig{t: t, base: base, pacer: pacer, window: window}

	out := t.Logf
	if bench {
		out = func(f string, a ...any) { fmt.Printf(f+"\n", a...) }
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
	var moved []string
	for attempt := 1; attempt <= 2; attempt++ {
		stats := r.measure(rounds)
		base99 := stats[0].p(0.99)
		out("attempt %d: %d rounds of %v per condition, interleaved; scan period 10 ms", attempt, rounds, window)
		out("%-20s %6s %9s %9s %9s %7s %9s %11s %7s", "condition", "scans", "p50 ms", "p99 ms", "max ms", "p99/bl", "statuses", "per stream/s", "polls")
		for _, l := range stats {
			ratio := float64(l.p(0.99)) / float64(max(base99, time.Microsecond))
			rate := 0.0
			if l.seconds > 0 {
				rate = float64(l.received) / l.seconds
			}
			out("%-20s %6d %9s %9s %9s %7.2f %4d/%-4d %11.1f %7d", l.name, len(l.lates), ms(l.p(0.5)), ms(l.p(0.99)), ms(l.p(1)), ratio, l.received, l.published, rate, l.polls)
		}
		// Every stream kept up: at least 90 % of the statuses published
		// while it watched, at 5 a second or more.
		for _, l := range stats[1:3] {
			if rate := float64(l.received) / l.seconds; float64(l.received) < 0.9*float64(l.published) || rate < 5 {
				t.Errorf("%s: the streams got %d statuses of %d published (%.1f/s per stream)", l.name, l.received, l.published, rate)
			}
		}
		// The scan's lateness did not move.
		limit := max(2*base99, base99+2*time.Millisecond)
		moved = moved[:0]
		for _, l := range stats[1:] {
			if l.p(0.99) > limit {
				moved = append(moved, fmt.Sprintf("%s: scan lateness p99 %s ms, baseline %s ms (allowed up to %s ms)", l.name, ms(l.p(0.99)), ms(base99), ms(limit)))
			}
		}
		if len(moved) == 0 || bench || raceEnabled {
			break
		}
		out("the lateness looks moved; measuring again: %v", moved)
	}
	for _, m := range moved {
		if raceEnabled {
			// The HMIs and streams share the controller's process here,
			// and the race detector slows each of their goroutines several
			// times: the lateness they cause is the detector's, not the
			// product's. The figures are logged; without -race (and with
			// PRETREAT_BENCH=1) they are held to the limit.
			t.Logf("under the race detector, not held to the limit: %s", m)
			continue
		}
		t.Error(m)
	}
	st := p.Engine.Status()
	out("controller since start: lateness p99 %.3f ms, max %.3f ms, %d scans, %d overruns", st.Scan.LatenessP99Ms, st.Scan.MaxLatenessMs, st.Scan.Count, st.Scan.Overruns)
}

// sizedScreen is a simulation screen that keeps its size through Init
// (the simulation's own Init resets it to 80×25).
type sizedScreen struct {
	tcell.SimulationScreen
	w, h int
}

func (s *sizedScreen) Init() error {
	if err := s.SimulationScreen.Init(); err != nil {
		return err
	}
	s.SetSize(s.w, s.h)
	return nil
}
