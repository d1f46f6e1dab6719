package hmi

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/records"
)

// dewaterLine is the line 52 minutes into batch B-0042, pressing the
// cake out.
func dewaterLine() api.Status {
	st := runningLine(31.5)
	now := plantStart.Add(52*time.Minute + 10*time.Second)
	good := drivers.QualityGood
	st.Time = now
	st.Batch = &api.BatchStatus{
		ID: "B-0042", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen",
		Phase: "dewater", Step: "press", Start: plantStart, PhaseStart: plantStart.Add(40 * time.Minute),
		TargetKg: 2000, KgReceived: 1987.5, KgCake: 512.3, KgWater: 310, KgFiltrate: 1105.2, KgRejects: 24.8,
		KWh: 38.4, KgHoldupStart: 400, KgHoldupEnd: 1030.6, ClosurePct: 99.1,
	}
	st.Units[0].Values = []api.TagValue{
		{Tag: "press.speed", Value: 31.4, Unit: "rpm", Quality: good, Time: now, Precision: 1},
		{Tag: "press.torque", Value: 56, Unit: "%", Quality: good, Time: now, Precision: 0},
		{Tag: "press.cake_ds", Value: 31.04, Unit: "%", Quality: good, Time: now, Precision: 1},
	}
	st.Units[2].State, st.Units[2].Reason = "running", ""
	return st
}

// runningRecord is B-0042's record so far: received, shredded (with a jam
// and the pulper level off target), dewatering.
func runningRecord() records.Batch {
	return records.Batch{
		ID: "B-0042", Line: "line-1", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen",
		State: records.BatchRunning, User: "anna", Start: plantStart, TargetKg: 2000,
		KgReceived: 1987.5, KgCake: 512.3, KgWater: 310, KgFiltrate: 1105.2, KgRejects: 24.8, KWh: 38.4,
		KgHoldupStart: 400, KgHoldupEnd: 1030.6, ClosurePct: 99.1,
		KWhByUnit: map[string]float64{"shredder": 21.3, "pulper": 9.6, "press": 7.5},
		Metered:   []string{"shredder", "pulper", "press"},
		Jams:      1, Reversals: 3,
		Deliveries: []records.DeliveryShare{
			{Ticket: "WB-771", Supplier: "Canteen Quay", WasteClass: "kitchen", Kg: 1240},
			{Ticket: "WB-774", Supplier: "St Mary's Hospital", WasteClass: "kitchen", Kg: 747.5},
		},
		Phases: []records.Phase{
			{Name: "receive", Start: plantStart, End: plantStart.Add(12 * time.Minute), Signals: []records.SignalStats{
				{Tag: "hopper.weight", Min: 0, Mean: 905.3, Max: 1987.5, Samples: 7200},
			}},
			{Name: "shred", Start: plantStart.Add(12 * time.Minute), End: plantStart.Add(40 * time.Minute), Signals: []records.SignalStats{
				{Tag: "shredder.current", Setpoint: 45, HasSP: true, Min: 31.04, Mean: 46.12, Max: 103.2, Samples: 16800},
				{Tag: "pulper.level", Setpoint: 60, HasSP: true, Min: 48.2, Mean: 52.43, Max: 63.9, Samples: 16800},
			}},
			{Name: "dewater", Start: plantStart.Add(40 * time.Minute), Signals: []records.SignalStats{
				{Tag: "press.speed", Setpoint: 31.5, HasSP: true, Min: 30.92, Mean: 31.38, Max: 31.94, Samples: 7300},
				{Tag: "press.torque", Min: 41.2, Mean: 55.7, Max: 71.4, Samples: 7300},
			}},
		},
	}
}

// pastBatches are six batches, oldest first as the API gives them: five
// ended (B-0039 aborted) and the one running.
func pastBatches() []records.Batch {
	var out []records.Batch
	for i, id := range []string{"B-0037", "B-0038", "B-0039", "B-0040", "B-0041"} {
		start := plantStart.Add(time.Duration(i-5) * 4 * time.Hour)
		b := records.Batch{
			ID: id, Line: "line-1", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen",
			State: records.BatchComplete, User: "anna", Start: start, End: start.Add(2*time.Hour + time.Duration(i)*7*time.Minute),
			TargetKg: 2000, KgReceived: 1990 + float64(i), KgCake: 520.5 + float64(i)*3, KgWater: 300, KgFiltrate: 1110,
			KgRejects: 20, ClosurePct: 99.2 - float64(i)*0.3, Jams: i % 2, KWh: 40 + float64(i),
		}
		if i%2 == 1 {
			b.Recipe, b.RecipeVersion, b.WasteClass = "market-veg", 1, "market"
		}
		if id == "B-0039" {
			b.State, b.End, b.KgCake, b.ClosurePct, b.Jams = records.BatchAborted, start.Add(47*time.Minute), 80.2, 61.3, 4
		}
		out = append(out, b)
	}
	last := &out[len(out)-1]
	last.CakeDS, last.CakeDSTarget, last.SlurryDS, last.SlurryDSTarget = 30.8, 32, 11.9, 12
	last.KWhByUnit = map[string]float64{"shredder": 22.4, "pulper": 11.2, "press": 10.4}
	last.Metered = []string{"shredder", "pulper", "press"}
	last.Deliveries = []records.DeliveryShare{{Ticket: "WB-760", Supplier: "Green Market", WasteClass: "market", Kg: 1994}}
	last.Phases = []records.Phase{
		{Name: "receive", Start: last.Start, End: last.Start.Add(15 * time.Minute)},
		{Name: "shred", Start: last.Start.Add(15 * time.Minute), End: last.Start.Add(70 * time.Minute), Signals: []records.SignalStats{
			{Tag: "shredder.current", Setpoint: 45, HasSP: true, Min: 30.1, Mean: 44.6, Max: 58.2, Samples: 33000},
		}},
		{Name: "dewater", Start: last.Start.Add(70 * time.Minute), End: last.End, Signals: []records.SignalStats{
			{Tag: "press.speed", Setpoint: 31.5, HasSP: true, Min: 30.8, Mean: 31.5, Max: 32.1, Samples: 40000},
		}},
	}
	last.Overrides = []records.Override{{Time: last.Start.Add(80 * time.Minute), User: "ben", Parameter: "press_speed", Unit: "press", Old: 31.5, New: 33}}
	last.Actions = []records.Action{
		{Time: last.Start, User: "anna", Command: "start", Detail: "market-veg v1"},
		{Time: last.Start.Add(30 * time.Minute), User: "anna", Command: "hold"},
		{Time: last.Start.Add(33 * time.Minute), User: "anna", Command: "unhold"},
	}
	last.Alarms = []records.AlarmNote{
		{Time: last.Start.Add(29 * time.Minute), Alarm: "pulper_level_h", State: "unacknowledged"},
		{Time: last.Start.Add(31 * time.Minute), Alarm: "pulper_level_h", State: "acknowledged", User: "anna"},
	}
	last.Notes = []records.Note{{Time: last.Start.Add(50 * time.Minute), Unit: "depackager", Text: "recipe expects a depackager; this line has none"}}
	return append(out, runningRecord())
}

// batchFake is a fake controller in the middle of dewatering, with the
// batch history.
func batchFake(t *testing.T, st api.Status) *fakeController {
	f := newFakeController(t, st)
	f.with(func(f *fakeController) { f.batches = pastBatches() })
	return f
}

func TestBatchGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("batch-dewater-%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			f := batchFake(t, dewaterLine())
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), signedIn(f, scr))
			waitText(t, scr, "signed in as anna")
			runeKey(scr, '5')
			waitText(t, scr, "Overview › Batch")
			snap := waitSettled(t, scr, "press.speed")
			checkGolden(t, f, snap, name)
			// The pulper level missed its setpoint: yellow, marked.
			want := "! 1 of 2 off target"
			if size.w >= 140 {
				want = "pulper.level"
			}
			row, col, ok := snap.find(want)
			if !ok {
				t.Fatalf("off-target signal not marked %q; screen:\n%s", want, snap)
			}
			if got := snap.fg(row, col); got != colorWarn {
				t.Errorf("off-target colour = %v, want %v", got, colorWarn)
			}
			if row, col, ok := snap.find("press.speed"); !ok || snap.fg(row, col) != tcell.ColorDefault {
				t.Errorf("on-target signal coloured or missing; screen:\n%s", snap)
			}
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		})
	}
}

// Without a batch, the screen shows the last one and how to start.
func TestBatchNone(t *testing.T) {
	st := dewaterLine()
	st.Batch = nil
	f := batchFake(t, st)
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '5')
	snap := waitText(t, scr, "No batch running. Press s to start one.")
	for _, want := range []string{"Batch B-0041", "market-veg v1", "received 1490.0 kg"} {
		if !snap.contains(want) {
			t.Errorf("screen lacks %q:\n%s", want, snap)
		}
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestHistoryGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("history-%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			f := batchFake(t, dewaterLine())
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), signedIn(f, scr))
			waitText(t, scr, "signed in as anna")
			runeKey(scr, '6')
			snap := waitSettled(t, scr, "B-0037")
			checkGolden(t, f, snap, name)
			row, col, _ := snap.find("! aborted")
			if got := snap.fg(row, col); got != colorBad {
				t.Errorf("aborted colour = %v, want %v", got, colorBad)
			}
			row, col, _ = snap.find("complete")
			if got := snap.fg(row, col); got != tcell.ColorDefault {
				t.Errorf("complete colour = %v, want default", got)
			}
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		})
	}
}

// Enter on the second row (newest first: B-0041) opens its record; Esc
// goes back to the list.
func TestHistoryEnterOpensRecord(t *testing.T) {
	f := batchFake(t, dewaterLine())
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '6')
	waitText(t, scr, "B-0037")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter)
	snap := waitText(t, scr, "Overview › History › Record B-0041")
	snap = waitText(t, scr, "Batch B-0041")
	if !snap.contains("cake DS 30.8 %") {
		t.Errorf("not B-0041's record:\n%s", snap)
	}
	key(scr, tcell.KeyEscape)
	waitText(t, scr, "Batches of the last 7 d")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// / filters as one types, global keys included; Esc clears the filter
// without leaving the screen; w changes the range.
func TestHistoryFilter(t *testing.T) {
	f := batchFake(t, dewaterLine())
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '6')
	waitText(t, scr, "B-0037")
	runeKey(scr, '/')
	typeText(scr, "ma") // market-veg; a, like s or q, is only typed
	snap := waitText(t, scr, "newest first: 2 of 6 matching \"ma\"")
	if snap.contains("B-0039") || !snap.contains("B-0038") || !snap.contains("B-0040") {
		t.Errorf("filter wrong:\n%s", snap)
	}
	if snap.contains("Abort") {
		t.Errorf("a reached the global keys:\n%s", snap)
	}
	key(scr, tcell.KeyEscape)
	snap = waitText(t, scr, "newest first: 6")
	if !snap.contains("Overview › History") || !snap.contains("B-0039") {
		t.Errorf("Esc did not just clear the filter:\n%s", snap)
	}
	runeKey(scr, 'w')
	waitText(t, scr, "Batches of the last 30 d")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestRecordGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("record-%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			f := batchFake(t, dewaterLine())
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), signedIn(f, scr))
			waitText(t, scr, "signed in as anna")
			command(scr, "record B-0041")
			checkGolden(t, f, waitSettled(t, scr, "Batch B-0041"), name)
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		})
	}
}

// The record scrolls to its events; a batch the controller does not know
// shows its answer.
func TestRecordScrollAndUnknown(t *testing.T) {
	f := batchFake(t, dewaterLine())
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	command(scr, "record B-0041")
	snap := waitText(t, scr, "Batch B-0041")
	if snap.contains("recipe expects a depackager") {
		t.Fatalf("test needs a record longer than the screen:\n%s", snap)
	}
	key(scr, tcell.KeyPgDn)
	key(scr, tcell.KeyPgDn)
	waitText(t, scr, "note depackager: recipe expects a depackager")
	command(scr, "record B-9999")
	snap = waitText(t, scr, "batch B-9999 is not recorded")
	row, col, _ := snap.find("batch B-9999 is not recorded")
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("error colour = %v, want %v", got, colorWarn)
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}
