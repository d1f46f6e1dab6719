package physics

import (
	"testing"
	"time"
)

// fullPulper returns a line whose pulper holds a few tonnes of catering
// slurry at about 10 % DS, with the press stopped.
func fullPulper(t *testing.T) *Line {
	t.Helper()
	l := quiet(3, ClassCatering)
	l.Tip(1500)
	startLine(t, l)
	mustSet(t, l, "feeder.speed_sp", 100)
	mustSet(t, l, "press.run_cmd", 0)
	l.Step(15 * time.Minute)
	if m := mustGet(t, l, "pulper.mass"); m < 2000 {
		t.Fatalf("pulper holds %g kg; the press must run full for this test", m)
	}
	return l
}

// TestShapes checks the directions PROCESS.md gives for the plant, the ones
// a controller's tuning relies on.
func TestShapes(t *testing.T) {
	t.Run("more back-pressure gives drier cake and less press capacity", func(t *testing.T) {
		var lastDS, lastCap, lastCurrent float64
		for i, bar := range []float64{0.5, 1, 2, 3, 4, 5, 6, 7} {
			l := fullPulper(t)
			mustSet(t, l, "press.back_pressure_sp", bar)
			mustSet(t, l, "press.run_cmd", 1)
			l.Step(time.Minute)
			ds, capKgS, cur := mustGet(t, l, "press.cake_ds"), mustGet(t, l, "press.throughput"), mustGet(t, l, "press.current")
			t.Logf("%.1f bar: cake %.2f %% DS, press %.2f kg/s, %.1f A", bar, ds, capKgS, cur)
			if i > 0 && (ds <= lastDS || capKgS >= lastCap || cur <= lastCurrent) {
				t.Errorf("%.1f bar: cake %.2f %% DS, %.3f kg/s, %.1f A; at the lower pressure %.2f %%, %.3f kg/s, %.1f A: want drier, slower, more current",
					bar, ds, capKgS, cur, lastDS, lastCap, lastCurrent)
			}
			lastDS, lastCap, lastCurrent = ds, capKgS, cur
		}
	})
	t.Run("speed dominates press throughput", func(t *testing.T) {
		var last float64
		for i, rpm := range []float64{5, 10, 20, 40} {
			l := fullPulper(t)
			mustSet(t, l, "press.speed_sp", rpm)
			mustSet(t, l, "press.run_cmd", 1)
			l.Step(time.Minute)
			th := mustGet(t, l, "press.throughput")
			if i > 0 && th < 1.8*last {
				t.Errorf("%g rpm: %.2f kg/s, at half the speed %.2f kg/s: want about double", rpm, th, last)
			}
			last = th
		}
	})
	t.Run("inrush decays", func(t *testing.T) {
		l := quiet(1, ClassCatering)
		mustSet(t, l, "shredder.speed_sp", 20)
		mustSet(t, l, "shredder.run_cmd", 1)
		for mustGet(t, l, "shredder.running") == 0 {
			l.Step(MaxSubstep)
		}
		peak := mustGet(t, l, "shredder.current")
		if peak < 6*shredderFLA {
			t.Fatalf("current at start %g A, want the 6× FLA inrush", peak)
		}
		start := l.Elapsed()
		var last float64
		for l.Elapsed()-start < 3*time.Second {
			l.Step(MaxSubstep)
			last = mustGet(t, l, "shredder.current")
			if l.Elapsed()-start > time.Duration(inrushS*float64(time.Second)) && last > shredderFLA {
				t.Errorf("current %g A %v after the start, want the inrush over (below FLA %g A)", last, l.Elapsed()-start, shredderFLA)
			}
		}
		if want := idleCurrentFraction * shredderFLA; last < want*0.98 || last > want*1.02 {
			t.Errorf("current 3 s after the start %g A, want the no-load %g A", last, want)
		}
	})
	t.Run("shredder current rises with throughput", func(t *testing.T) {
		var last float64
		for i, feed := range []float64{20, 40, 60, 80} {
			l := quiet(1, ClassCatering)
			l.Tip(2000)
			startLine(t, l)
			mustSet(t, l, "feeder.speed_sp", feed)
			l.Step(30 * time.Second)
			cur := mustGet(t, l, "shredder.current")
			if i > 0 && cur <= last {
				t.Errorf("feeder %g %%: %.1f A, at less feed %.1f A: want more", feed, cur, last)
			}
			if cur > 0.85*shredderFLA {
				t.Errorf("feeder %g %%: %.1f A, above the catering recipe's feed-pause current", feed, cur)
			}
			last = cur
		}
	})
}
