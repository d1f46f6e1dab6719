package hmi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

// unitsPlantTime is the plant time of unitsLine's scan.
var unitsPlantTime = time.Date(2025, 3, 1, 6, 12, 33, 0, time.UTC)

func ptr(v float64) *float64 { return &v }

// unitsLine is a line held after the shredder jammed: the shredder in
// fault with its jam logic tripped and two reasons not to start, the
// pulper's level high-high interlock active, the pulper's dry-solids loop
// running.
func unitsLine() api.Status {
	now := unitsPlantTime
	good := drivers.QualityGood
	tv := func(tag string, v float64, unit string, prec int) api.TagValue {
		return api.TagValue{Tag: tag, Value: v, Unit: unit, Quality: good, Time: now.Add(-200 * time.Millisecond), Precision: prec}
	}
	on := func(tag string, v bool) api.TagValue {
		x := api.TagValue{Tag: tag, Quality: good, Time: now, Bool: true}
		if v {
			x.Value = 1
		}
		return x
	}
	motorTemp := tv("shredder.motor_temp", 61.34, "°C", 1)
	motorTemp.Quality = drivers.QualityUncertainStale
	motorTemp.Time = now.Add(-42 * time.Second)
	return api.Status{
		Line:  "line-1",
		Time:  now,
		State: "Held",
		Batch: &api.BatchStatus{ID: "B-0042", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen", Phase: "shred", Step: "feed",
			Start: now.Add(-12 * time.Minute), PhaseStart: now.Add(-150 * time.Second), TargetKg: 2000, KgReceived: 1234.5},
		Cause: &api.Cause{Kind: "unit_fault", Source: "shredder", Unit: "shredder", Text: "shredder jammed: 3 reversals in 60 s", Since: now.Add(-35 * time.Second), Active: true},
		Next:  &api.NextAction{Text: "clear the jam at the shredder, then reset (r) and unhold (u)"},
		Flow: []api.FlowEdge{
			{From: "reception", To: "feeder"}, {From: "feeder", To: "shredder"},
			{From: "shredder", To: "pulper"}, {From: "pulper", To: "press"},
		},
		Units: []api.UnitStatus{
			{Name: "press", Kind: "screw_press", State: "running", Command: true, Values: []api.TagValue{
				tv("press.speed", 31.52, "rpm", 1), tv("press.back_pressure", 2.417, "bar", 2), tv("press.current", 18.3, "A", 1),
				tv("press.cake_ds", 31.04, "%", 1), tv("press.torque", 54.25, "%", 0)}},
			{Name: "pulper", Kind: "pulper", State: "running", Command: true,
				Values: []api.TagValue{
					tv("pulper.level", 97.24, "%", 1), tv("pulper.ds", 5.812, "%", 2), tv("pulper.current", 41.16, "A", 1),
					tv("pulper.water_valve", 42.5, "%", 1), on("pulper.agitator", true)},
				Module: &api.ModuleStatus{PIDOutput: ptr(42.5), PIDSetpoint: ptr(6), PIDProcess: ptr(5.812),
					Detail: map[string]string{"mode": "auto", "water": "dilution water valve follows the loop"}},
				Setpoints: []api.SetpointStatus{
					{Name: "ds_target", Parameter: "pulper.ds_target", Value: 6, Unit: "%", Min: 4, Max: 8, Overridable: true},
					{Name: "level_high", Parameter: "pulper.level_high", Value: 90, Unit: "%", Min: 50, Max: 95},
					{Name: "pulp_time", Parameter: "pulper.pulp_time", Value: 600, Unit: "s", Min: 300, Max: 1200, Overridable: true},
				}},
			{Name: "shredder", Kind: "shredder", State: "fault", Command: false, Reason: "jammed: 3 reversals in 60 s",
				Why: []string{
					"trip shredder_jam latched: clear the jam, then reset",
					"permissive pulper_level_hh: pulper level must fall below 95 % (now 97.2 %)",
				},
				Values: []api.TagValue{
					tv("shredder.current", 0, "A", 1), tv("shredder.speed", 0, "rpm", 0), motorTemp,
					on("shredder.reverse", false), on("shredder.run_feedback", false)},
				Module: &api.ModuleStatus{JamState: "jammed", Reversals: 3, MaxReversals: 3, WindowS: 60,
					Detail: map[string]string{"last reversal": "06:11:58 at 212 A", "reset": "needs the operator's reset (r) once the jam is cleared"}},
				Setpoints: []api.SetpointStatus{
					{Name: "reverse_current", Parameter: "shredder.reverse_current", Value: 180, Unit: "A", Min: 120, Max: 220, Overridable: true},
					{Name: "speed", Parameter: "shredder.speed", Value: 28.5, Unit: "rpm", Min: 20, Max: 35, Overridable: true},
					{Name: "max_reversals", Parameter: "shredder.max_reversals", Value: 3, Min: 1, Max: 5},
				}},
			{Name: "feeder", Kind: "conveyor", State: "stopped", Command: false,
				Why:    []string{"downstream shredder in fault"},
				Values: []api.TagValue{tv("feeder.speed", 0, "m/min", 1), on("feeder.run_feedback", false)}},
			{Name: "reception", Kind: "reception", State: "stopping", Command: false,
				Values: []api.TagValue{tv("reception.hopper_weight", 812.44, "kg", 1)}},
		},
		Interlocks: []api.InterlockStatus{
			{Name: "pulper_level_hh", Tag: "pulper.level", Effect: "trip", Units: []string{"feeder", "shredder"}, HoldLine: true,
				Active: true, Since: now.Add(-20 * time.Second), Value: 97.24, Quality: good},
			{Name: "shredder_motor_temp_hh", Tag: "shredder.motor_temp", Effect: "trip", Units: []string{"shredder"},
				Value: 61.34, Quality: drivers.QualityUncertainStale},
			{Name: "press_back_pressure_hh", Tag: "press.back_pressure", Effect: "trip", Units: []string{"press"}, Value: 2.417, Quality: good},
		},
		AlarmCounts: api.AlarmCounts{High: 2, Unacknowledged: 1, Per10Min: 3},
	}
}

// shredderEvents are the shredder's recent events, oldest first (the
// faceplate shows them newest first).
func shredderEvents() []api.JournalEventRef {
	t := unitsPlantTime
	return []api.JournalEventRef{
		{Time: t.Add(-95 * time.Second), Kind: "module", Name: "reversal", Message: "jam reversal 1 of 3 at 214 A"},
		{Time: t.Add(-36 * time.Second), Kind: "alarm", Name: "shredder_jam", Message: "shredder jammed: 3 reversals in 60 s"},
		{Time: t.Add(-20 * time.Second), Kind: "command", Name: "hold", Message: "line held", User: "op-anna"},
	}
}

// openUnits starts an HMI signed in on f at the given size with the units
// list in front.
func openUnits(t *testing.T, f *fakeController, w, h int) *recordingScreen {
	t.Helper()
	scr := newRecordingScreenSize(t, w, h)
	started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "anna")
	runeKey(scr, '2')
	waitText(t, scr, "Overview › Units")
	return scr
}

// openFaceplate starts an HMI signed in on f at the given size and opens
// the faceplate of unit with the `:unit` command.
func openFaceplate(t *testing.T, f *fakeController, w, h int, unit string) *recordingScreen {
	t.Helper()
	scr := newRecordingScreenSize(t, w, h)
	started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "anna")
	runeKey(scr, ':')
	typeText(scr, "unit "+unit)
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "Overview › Unit "+unit)
	return scr
}

// unitsFake serves unitsLine with the shredder's and the pulper's events.
func unitsFake(t *testing.T) *fakeController {
	f := newFakeController(t, unitsLine())
	f.with(func(f *fakeController) {
		f.unitEv["shredder"] = shredderEvents()
		f.unitEv["pulper"] = []api.JournalEventRef{
			{Time: unitsPlantTime.Add(-5 * time.Minute), Kind: "override", Name: "pulper.ds_target", Message: "5.5 → 6 %", User: "sam"},
		}
	})
	return f
}

func TestUnitsGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			f := unitsFake(t)
			scr := openUnits(t, f, sz[0], sz[1])
			snap := waitSettled(t, scr, "! FAULT")
			checkGolden(t, f, snap, fmt.Sprintf("units-%dx%d", sz[0], sz[1]))
			// The fault, its marker and reason in the bad colour; a
			// normal state in the default colour.
			row, col, _ := snap.find("! FAULT")
			if fg := snap.fg(row, col); fg != colorBad {
				t.Errorf("fault in %v, want red", fg)
			}
			if !snap.contains("jammed: 3 reversals in 60 s") || !snap.contains("! 2 blocks") {
				t.Errorf("fault reason or why-not marker missing:\n%s", snap)
			}
			row, col, _ = snap.find("running")
			if fg := snap.fg(row, col); fg != tcell.ColorDefault {
				t.Errorf("running in %v, want the default colour", fg)
			}
		})
	}
}

func TestUnitGolden(t *testing.T) {
	for _, unit := range []string{"shredder", "pulper"} {
		for _, sz := range [][2]int{{80, 24}, {160, 48}} {
			t.Run(fmt.Sprintf("%s-%dx%d", unit, sz[0], sz[1]), func(t *testing.T) {
				f := unitsFake(t)
				scr := openFaceplate(t, f, sz[0], sz[1], unit)
				// The events are below the first page at 80×24: wait for
				// them at the end, then come back to the top.
				key(scr, tcell.KeyEnd)
				ev := map[string]string{"shredder": "line held  (op-anna)", "pulper": "5.5 → 6 %  (sam)"}[unit]
				end := waitSettled(t, scr, ev)
				key(scr, tcell.KeyHome)
				snap := waitSettled(t, scr, "state ")
				checkGolden(t, f, snap, fmt.Sprintf("unit-%s-%dx%d", unit, sz[0], sz[1]))
				if sz[0] == 80 {
					checkGolden(t, f, end, fmt.Sprintf("unit-%s-%dx%d-end", unit, sz[0], sz[1]))
				}
			})
		}
	}
}

// TestUnitShredderFaceplate checks what the faceplate of a jammed
// shredder must say, whatever the layout.
func TestUnitShredderFaceplate(t *testing.T) {
	f := unitsFake(t)
	scr := openFaceplate(t, f, 160, 48, "shredder")
	snap := waitSettled(t, scr, "line held")
	for _, want := range []string{
		"state ! FAULT", "! reason: jammed: 3 reversals in 60 s",
		"! trip shredder_jam latched: clear the jam, then reset",
		"! interlock pulper_level_hh (pulper.level 97.2 %): ACTIVE — trip, holds",
		"interlock shredder_motor_temp_hh (shredder.motor_temp 61.3? °C): ok",
		"61.3? °C  ? uncertain: stale  42 s old",
		"jam ! JAMMED   reversals 3 of 3 in 60 s",
		"▶ reverse_current    180 A  limits 120–220 A  overridable",
		"max_reversals          3  limits 1–5",
	} {
		if !snap.contains(want) {
			t.Errorf("faceplate lacks %q:\n%s", want, snap)
		}
	}
	// Newest event first.
	held, _, _ := snap.find("line held")
	jam, _, _ := snap.find("alarm    shredder_jam")
	rev, _, _ := snap.find("jam reversal 1 of 3")
	if !(held < jam && jam < rev) {
		t.Errorf("events not newest first (rows %d %d %d):\n%s", held, jam, rev, snap)
	}
	row, col, _ := snap.find("! interlock pulper_level_hh")
	if fg := snap.fg(row, col); fg != colorBad {
		t.Errorf("active interlock in %v, want red", fg)
	}
	row, col, _ = snap.find("interlock shredder_motor_temp_hh")
	if fg := snap.fg(row, col); fg != tcell.ColorDefault {
		t.Errorf("interlock that is ok in %v, want the default colour", fg)
	}
	// The pulper's own level interlock is shown on the pulper too, as
	// acting on the units it trips.
	runeKey(scr, ']')
	snap = waitText(t, scr, "Unit pulper")
	if !snap.contains("(acts on feeder, shredder)") {
		t.Errorf("pulper faceplate does not show the interlock on its level:\n%s", snap)
	}
}

// manyValues is a unit with more and longer values than fit in 80
// columns.
func manyValues() api.Status {
	st := unitsLine()
	var vs []api.TagValue
	for i, name := range []string{"energy", "bearing_temperature_drive_end", "gearbox_oil_temperature", "vibration_velocity", "hydraulic_pressure"} {
		vs = append(vs, api.TagValue{Tag: "press." + name, Value: 12345.6789 * float64(i+1), Unit: "kWh", Quality: drivers.QualityGood,
			Time: unitsPlantTime, Precision: 3})
	}
	for i := range st.Units {
		if st.Units[i].Name == "press" {
			st.Units[i].Values = append(vs, st.Units[i].Values...)
		}
	}
	return st
}

// noCutNumber fails when a "…" touches a digit, or when a unit's row
// shows a value's name without its whole value or cuts anything.
func noCutNumber(t *testing.T, snap snapshot, st api.Status) {
	t.Helper()
	for _, l := range snap.lines {
		r := []rune(l)
		for i, c := range r {
			if c != '…' {
				continue
			}
			if i > 0 && unicode.IsDigit(r[i-1]) || i+1 < len(r) && unicode.IsDigit(r[i+1]) {
				t.Errorf("a number is cut: %q", l)
			}
		}
	}
	for _, u := range st.Units {
		for _, l := range snap.lines {
			if !strings.HasPrefix(strings.TrimLeft(l, "▶ "), u.Name+" ") {
				continue // not the unit's row
			}
			if strings.ContainsRune(l, '…') {
				t.Errorf("the row of %s is cut: %q", u.Name, l)
			}
			for _, tv := range u.Values {
				item := shortName(u.Name, tv.Tag) + "=" + formatValue(tv)
				if strings.Contains(l, " "+shortName(u.Name, tv.Tag)+"=") && !strings.Contains(l, item) {
					t.Errorf("%s shown without its whole value %q: %q", tv.Tag, item, l)
				}
			}
		}
	}
}

func TestUnitsNeverCutAValue(t *testing.T) {
	st := manyValues()
	f := newFakeController(t, st)
	scr := openUnits(t, f, 80, 24)
	snap := waitSettled(t, scr, "energy=12345.679 kWh")
	noCutNumber(t, snap, st)
	row, _, _ := snap.find("energy=")
	if !strings.Contains(snap.lines[row], "+") {
		t.Errorf("the press row does not say how many values did not fit: %q", snap.lines[row])
	}

	// The faceplate lists them all, whole, at 80 columns.
	runeKey(scr, ':')
	typeText(scr, "unit press")
	key(scr, tcell.KeyEnter)
	snap = waitSettled(t, scr, "Unit press")
	for _, l := range snap.lines {
		if strings.ContainsRune(l, '…') {
			t.Errorf("faceplate cuts a line: %q", l)
		}
	}
	for _, tv := range st.Units[0].Values[:4] {
		if !snap.contains(formatValue(tv) + " kWh") {
			t.Errorf("faceplate lacks %s = %s kWh whole:\n%s", tv.Tag, formatValue(tv), snap)
		}
	}
}

func TestUnitOverride(t *testing.T) {
	f := unitsFake(t)
	scr := openFaceplate(t, f, 80, 24, "shredder")
	waitText(t, scr, "Values (5)")
	key(scr, tcell.KeyDown) // from reverse_current to speed
	waitText(t, scr, "▶ speed")

	// answer fills the prompt: the value (replacing the current one),
	// the reason, then OK.
	answer := func(value, reason string) {
		t.Helper()
		runeKey(scr, 'o')
		waitText(t, scr, "speed (20–35 rpm)")
		key(scr, tcell.KeyCtrlU)
		typeText(scr, value)
		key(scr, tcell.KeyTab)
		typeText(scr, reason)
		key(scr, tcell.KeyTab)
		key(scr, tcell.KeyEnter)
	}

	answer("40", "")
	waitText(t, scr, "! override speed: 40 is outside the limits 20–35 rpm; nothing sent")
	answer("fast", "")
	waitText(t, scr, `"fast" is not a number; nothing sent`)
	time.Sleep(100 * time.Millisecond)
	if got := f.received(); len(got) != 0 {
		t.Fatalf("values refused locally were sent: %+v", got)
	}

	answer("31.5", "feed too coarse")
	cmds := waitCommands(t, f, 1)
	want := api.Command{Command: api.CommandOverride, Parameter: "shredder.speed", Value: 31.5, Reason: "feed too coarse"}
	if cmds[0] != want {
		t.Errorf("sent %+v, want %+v", cmds[0], want)
	}
	waitText(t, scr, "override shredder.speed=31.5: accepted")

	// The server enforces the role: its refusal is shown.
	f.with(func(f *fakeController) { f.refuse[api.CommandOverride] = "supervisors only" })
	answer("30", "")
	waitText(t, scr, "! override shredder.speed=30 refused: supervisors only")

	// A setpoint fixed by the recipe cannot be overridden.
	key(scr, tcell.KeyDown)
	waitText(t, scr, "▶ max_reversals")
	runeKey(scr, 'o')
	waitText(t, scr, "max_reversals is fixed by the recipe (not overridable)")
	if got := f.received(); len(got) != 2 {
		t.Errorf("controller received %d commands, want 2: %+v", len(got), got)
	}
}

func TestUnitStepThroughUnits(t *testing.T) {
	f := unitsFake(t)
	scr := openUnits(t, f, 160, 48)
	waitText(t, scr, "▶ reception")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyDown)
	waitText(t, scr, "▶ shredder")
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "Overview › Units › Unit shredder")
	for _, step := range []struct {
		key  rune
		unit string
	}{{']', "pulper"}, {']', "press"}, {']', "reception"}, {'[', "press"}, {'[', "pulper"}} {
		runeKey(scr, step.key)
		snap := waitText(t, scr, "Overview › Units › Unit "+step.unit+" ")
		if !snap.contains(step.unit + " (") {
			t.Errorf("after %c the faceplate does not show %s:\n%s", step.key, step.unit, snap)
		}
	}
	// The pulper's own events, fetched for it.
	waitText(t, scr, "5.5 → 6 %  (sam)")
	// Back on the list, the unit last shown is selected.
	key(scr, tcell.KeyEscape)
	waitText(t, scr, "▶ pulper")
}

// TestUnitEventsRefresh: the faceplate in front fetches its unit's events
// again every period.
func TestUnitEventsRefresh(t *testing.T) {
	old := unitEventsPeriod
	unitEventsPeriod = 50 * time.Millisecond
	t.Cleanup(func() { unitEventsPeriod = old }) // after the HMI has ended
	f := unitsFake(t)
	scr := openFaceplate(t, f, 160, 48, "shredder")
	waitText(t, scr, "line held  (op-anna)")
	f.with(func(f *fakeController) {
		f.unitEv["shredder"] = append(f.unitEv["shredder"], api.JournalEventRef{
			Time: unitsPlantTime.Add(-time.Second), Kind: "command", Name: "reset", Message: "jam cleared, reset", User: "op-ben"})
	})
	snap := waitText(t, scr, "jam cleared, reset  (op-ben)")
	reset, _, _ := snap.find("jam cleared")
	held, _, _ := snap.find("line held")
	if reset > held {
		t.Errorf("the newest event is not first:\n%s", snap)
	}
}

func TestUnitsEnterOpensSelected(t *testing.T) {
	f := unitsFake(t)
	scr := openUnits(t, f, 80, 24)
	waitText(t, scr, "▶ reception")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyDown)
	waitText(t, scr, "▶ pulper")

	// A new unit at the head of the line moves the rows; the selection
	// stays on the pulper.
	st := unitsLine()
	st.Units = append(st.Units, api.UnitStatus{Name: "weighbridge", Kind: "scale", State: "stopped"})
	st.Flow = append(st.Flow, api.FlowEdge{From: "weighbridge", To: "reception"})
	f.setStatus(st)
	snap := waitText(t, scr, "weighbridge")
	if !snap.contains("▶ pulper") {
		t.Fatalf("selection left the pulper:\n%s", snap)
	}
	key(scr, tcell.KeyEnter)
	snap = waitText(t, scr, "Overview › Units › Unit pulper")
	if !snap.contains("pulper (pulper)  state running  command run") {
		t.Errorf("not the pulper's faceplate:\n%s", snap)
	}
}

func TestUnitUnknown(t *testing.T) {
	f := unitsFake(t)
	scr := openFaceplate(t, f, 80, 24, "pulpr")
	snap := waitText(t, scr, `No unit named "pulpr".`)
	if !snap.contains("Units: reception, feeder, shredder, pulper, press") {
		t.Errorf("the units are not listed:\n%s", snap)
	}
	runeKey(scr, ']')
	waitText(t, scr, "Unit reception")
}

func TestUnitTrendKey(t *testing.T) {
	if got, want := trendTags(unitsLine().Units[1]), []string{"pulper.current", "pulper.level", "pulper.ds", "pulper.water_valve"}; !slices.Equal(got, want) {
		t.Errorf("pulper trend tags %v, want %v", got, want)
	}
	if got, want := trendTags(unitsLine().Units[0]), []string{"press.current", "press.cake_ds", "press.back_pressure", "press.speed"}; !slices.Equal(got, want) {
		t.Errorf("press trend tags %v, want %v", got, want)
	}
}

// TestUnitsScroll: a line with more units than rows keeps the selected
// one on screen and says what is above and below.
func TestUnitsScroll(t *testing.T) {
	st := unitsLine()
	st.Flow = nil
	st.Units = nil
	for i := range 30 {
		st.Units = append(st.Units, api.UnitStatus{Name: fmt.Sprintf("conveyor_%02d", i), Kind: "conveyor", State: "running", Command: true})
	}
	f := newFakeController(t, st)
	scr := openUnits(t, f, 80, 24)
	snap := waitText(t, scr, "▶ conveyor_00")
	if !snap.contains("↓ 15 units below") || snap.contains("conveyor_15") || !snap.contains("conveyor_14") {
		t.Errorf("first page:\n%s", snap)
	}
	key(scr, tcell.KeyEnd)
	snap = waitText(t, scr, "▶ conveyor_29")
	if !snap.contains("↑ 15 units above") || snap.contains("conveyor_14") || !snap.contains("conveyor_15") {
		t.Errorf("last page:\n%s", snap)
	}
	key(scr, tcell.KeyPgUp)
	snap = waitText(t, scr, "▶ conveyor_19")
	if !snap.contains("↑ 15 units above") {
		t.Errorf("after PgUp:\n%s", snap)
	}
	key(scr, tcell.KeyHome)
	snap = waitText(t, scr, "▶ conveyor_00")
	if snap.contains("units above") {
		t.Errorf("first page again:\n%s", snap)
	}
}

// TestUnitOverrideViewer: a viewer is not even asked for a value.
func TestUnitOverrideViewer(t *testing.T) {
	f := unitsFake(t)
	f.with(func(f *fakeController) { f.users = map[string][2]string{"vic": {"look", "viewer"}} })
	scr := newRecordingScreenSize(t, 160, 48)
	opts := signedIn(f, scr)
	opts.Login = &api.Login{User: "vic", Password: "look"}
	started(t, context.Background(), opts)
	waitText(t, scr, "vic")
	runeKey(scr, ':')
	typeText(scr, "unit shredder")
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "▶ reverse_current")
	runeKey(scr, 'o')
	snap := waitText(t, scr, "override: vic may only view (role viewer)")
	if snap.contains("reverse_current (120–220 A)") {
		t.Errorf("the viewer was asked for a value:\n%s", snap)
	}
	if got := f.received(); len(got) != 0 {
		t.Errorf("viewer sent %+v", got)
	}
}

// TestUnitFaceplateScroll: at 80×24 the faceplate scrolls by line and by
// page, and ↓ moves through the setpoints, scrolling to keep the selected
// one in view.
func TestUnitFaceplateScroll(t *testing.T) {
	f := unitsFake(t)
	scr := openFaceplate(t, f, 80, 24, "shredder")
	waitText(t, scr, "↓ 18 more lines: PgDn") // with the 3 events
	key(scr, tcell.KeyEnd)
	waitText(t, scr, "↑ 18 lines above: PgUp")
	key(scr, tcell.KeyUp) // the first setpoint is selected: ↑ scrolls
	waitText(t, scr, "↑ 17 lines above: PgUp")
	key(scr, tcell.KeyHome)
	snap := waitText(t, scr, "shredder (shredder)  state ! FAULT")
	if snap.contains("▶ reverse_current") {
		t.Fatalf("setpoints on the first page at 80×24?\n%s", snap)
	}
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyDown)
	snap = waitText(t, scr, "▶ max_reversals")
	if snap.contains("state ! FAULT") {
		t.Errorf("did not scroll to the selected setpoint:\n%s", snap)
	}
	key(scr, tcell.KeyPgUp)
	waitText(t, scr, "state ! FAULT")
}
