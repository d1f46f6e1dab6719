package main

import (
	"testing"
	"time"
)

func TestWeighbridgeDays(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Hong_Kong")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 22, 0, 0, 0, loc)
	w := newWeighbridge(7, "line-1", loc)
	// The first call finds the last 3 h of loads waiting.
	first := w.due(start, 3*time.Hour)
	for _, d := range first {
		if d.Time.Before(start.Add(-3*time.Hour)) || d.Time.After(start) {
			t.Errorf("backlog load %s at %v outside the 3 h before %v", d.Ticket, d.Time, start)
		}
	}
	var all = first
	for now := start; now.Before(start.Add(10 * 24 * time.Hour)); now = now.Add(7 * time.Minute) {
		all = append(all, w.due(now, 3*time.Hour)...)
	}
	seen := map[string]bool{}
	classes := map[string]int{}
	suppliers := map[string]bool{}
	mis := 0
	var last time.Time
	for _, d := range all {
		if seen[d.Ticket] {
			t.Fatalf("ticket %s booked twice", d.Ticket)
		}
		seen[d.Ticket] = true
		if d.Time.Before(last) {
			t.Fatalf("load %s at %v before the one booked before it (%v)", d.Ticket, d.Time, last)
		}
		last = d.Time
		if d.NetKg <= 0 || d.GrossKg != d.TareKg+d.NetKg {
			t.Fatalf("load %s: gross %v tare %v net %v", d.Ticket, d.GrossKg, d.TareKg, d.NetKg)
		}
		classes[d.WasteClass]++
		suppliers[d.Supplier] = true
		if d.MisDeclared() {
			mis++
			if w.tipClass(d) != misDeclaredClass {
				t.Errorf("mis-declared load %s tips %s", d.Ticket, w.tipClass(d))
			}
		} else if w.tipClass(d) != d.WasteClass {
			t.Errorf("load %s declared %s tips %s", d.Ticket, d.WasteClass, w.tipClass(d))
		}
	}
	perDay := float64(len(all)-len(first)) / 10
	t.Logf("%d loads over 10 days (%.1f a day), classes %v, %d suppliers, %d mis-declared", len(all), perDay, classes, len(suppliers), mis)
	if perDay < 11 || perDay > 17 {
		t.Errorf("%.1f loads a day; want about %d", perDay, demoLoadsPerDay)
	}
	if len(classes) < 3 || len(suppliers) < 4 || mis == 0 {
		t.Errorf("want 3 classes, 4 suppliers and some mis-declared loads; got %v, %d, %d", classes, len(suppliers), mis)
	}
	// The same seed books the same loads: a demo started again on its data
	// directory is refused its tickets twice, not given new ones.
	again := newWeighbridge(7, "line-1", loc).due(start, 3*time.Hour)
	if len(again) != len(first) || (len(first) > 0 && again[0].Ticket != first[0].Ticket) {
		t.Errorf("same seed, other loads: %v vs %v", again, first)
	}
}
