package controller

import (
	"context"
	"testing"
	"time"
)

// stepPacer paces the engine's Run by the test: each scan waits for a
// tick; waiting says the engine is idle between scans.
type stepPacer struct {
	waiting chan time.Time // the due time of the scan it waits for
	tick    chan time.Duration
}

func (p *stepPacer) Wait(ctx context.Context, due time.Time) (time.Time, bool) {
	select {
	case p.waiting <- due:
	case <-ctx.Done():
		return time.Time{}, false
	}
	select {
	case late := <-p.tick:
		return due.Add(late), true
	case <-ctx.Done():
		return time.Time{}, false
	}
}

// TestRunScansWhenThePacerSays: the engine's loop scans exactly when its
// pacer lets it, measures lateness against the due time, and on
// cancellation shuts down with every command written to its safe value.
func TestRunScansWhenThePacerSays(t *testing.T) {
	r := newEngineRig(t)
	p := &stepPacer{waiting: make(chan time.Time), tick: make(chan time.Duration)}
	r.e.pacer = p
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.e.Run(ctx) }()
	var first time.Time
	for i := 0; i < 7; i++ {
		due := <-p.waiting
		if i == 0 {
			first = due
		} else if got, want := due.Sub(first), time.Duration(i)*r.cfg.ScanPeriod; got != want {
			t.Fatalf("scan %d due %s after the first, want %s", i, got, want)
		}
		late := time.Duration(0)
		if i == 4 || i == 6 {
			late = 3 * time.Millisecond
		}
		p.tick <- late
	}
	<-p.waiting // the seventh scan is done; the loop waits for the eighth
	r.e.publish()
	st := r.e.Status()
	if st.Scan.Count != 7 {
		t.Errorf("%d scans after 7 ticks", st.Scan.Count)
	}
	// The first five scans are start-up: lateness counts from the sixth,
	// so the fifth's 3 ms is not seen and the seventh's is.
	if st.Scan.MaxLatenessMs != 3 {
		t.Errorf("max lateness %.3f ms, want 3", st.Scan.MaxLatenessMs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, d := range r.devs {
		for _, pt := range d.cfg.Points {
			if safe, ok := r.e.line.SafeOutputs()[pt.Tag]; ok && d.reg(pt.Tag) != safe {
				t.Errorf("%s = %v after shutdown, want its safe %v", pt.Tag, d.reg(pt.Tag), safe)
			}
		}
	}
}
