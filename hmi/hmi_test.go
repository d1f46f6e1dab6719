package hmi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/drivers"
)

var plantStart = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)

// runningLine is a line in the middle of a batch, with one bad and one
// uncertain value, a unit in fault and one device down.
func runningLine(pressSpeed float64) api.Status {
	now := plantStart.Add(12*time.Minute + 33*time.Second)
	good := drivers.QualityGood
	return api.Status{
		Line:  "line-1",
		Time:  now,
		State: "Execute",
		Seq:   1,
		Batch: &api.BatchStatus{
			ID: "B-0042", Recipe: "kitchen-mix", RecipeVersion: 3, WasteClass: "kitchen",
			Phase: "shred", Step: "feed", Start: plantStart, PhaseStart: plantStart.Add(10 * time.Minute),
			TargetKg: 2000, KgReceived: 1234.5, KgCake: 345.6, KgWater: 123.4,
		},
		LastBatch: &api.BatchStatus{
			ID: "B-0041", Recipe: "market-veg", RecipeVersion: 1, Phase: "complete",
			Start: plantStart.Add(-time.Hour), End: plantStart.Add(-15 * time.Minute),
			TargetKg: 1500, KgReceived: 1490, KgCake: 600, KgWater: 200,
		},
		Flow: []api.FlowEdge{{From: "reception", To: "shredder"}, {From: "shredder", To: "pulper"}, {From: "pulper", To: "press"}},
		Units: []api.UnitStatus{
			{Name: "press", Kind: "screw_press", State: "running", Command: true, Values: []api.TagValue{
				{Tag: "press.speed", Value: pressSpeed, Unit: "rpm", Quality: good, Time: now, Precision: 1},
				{Tag: "press.back_pressure", Value: 3.2, Unit: "bar", Quality: drivers.QualityBadCommFailure, Time: now, Precision: 2},
				{Tag: "press.cake_ds", Value: 31.04, Unit: "%", Quality: good, Time: now, Precision: 1},
			}},
			{Name: "pulper", Kind: "pulper", State: "running", Command: true, Values: []api.TagValue{
				{Tag: "pulper.level", Value: 61.25, Unit: "%", Quality: drivers.QualityUncertainStale, Time: now, Precision: 1},
				{Tag: "pulper.water_valve", Value: 1, Quality: good, Time: now, Bool: true},
			}},
			{Name: "shredder", Kind: "shredder", State: "fault", Reason: "jammed: 3 reversals in 60 s", Values: []api.TagValue{
				{Tag: "shredder.current", Value: 103.15978285253942, Unit: "A", Quality: good, Time: now, Precision: 1},
			}},
			{Name: "reception", Kind: "reception", State: "stopped", Values: []api.TagValue{
				{Tag: "hopper.weight", Value: 812.4, Unit: "kg", Quality: good, Time: now, Precision: 0},
				{Tag: "cake_bin.weight", Value: -0.0004, Unit: "kg", Quality: good, Time: now, Precision: 0},
			}},
		},
		Devices: []api.DeviceStatus{
			{Name: "press_vfd", Protocol: "modbus", Address: "127.0.0.1:5021", Connected: true},
			{Name: "analyser", Protocol: "opcua", Address: "opc.tcp://127.0.0.1:4841", LastError: "connection refused"},
		},
		Scan:   api.ScanStats{PeriodMs: 100, Count: 7530, LastExecUs: 84, MaxExecUs: 412, MaxLatenessMs: 2.5, Overruns: 1},
		Alarms: []api.AlarmStatus{},
	}
}

// heldLine is the running line held by an interlock that is still active,
// with alarms of every priority.
func heldLine(causeActive bool) api.Status {
	st := runningLine(31.5)
	st.State = "Held"
	st.Message = "held: filtrate_level_hh"
	st.Cause = &api.Cause{Kind: "interlock", Source: "filtrate_level_hh", Unit: "filtrate_tank",
		Text: "filtrate tank level high-high (filtrate_level_hh)", Since: st.Time.Add(-2 * time.Minute), Active: causeActive}
	if causeActive {
		st.Next = &api.NextAction{Text: "wait: filtrate tank level high-high — still present"}
	} else {
		st.Next = &api.NextAction{Command: api.CommandUnhold, Text: "cause cleared — unhold to restart shred"}
	}
	st.Alarms = []api.AlarmStatus{
		{Name: "filtrate_level_hh", Priority: "critical", State: "unacknowledged", Message: "Filtrate tank high-high", Since: st.Time.Add(-2 * time.Minute), Value: 96.1, Active: true},
		{Name: "shredder_overcurrent", Priority: "high", State: "returned_unacknowledged", Message: "Shredder overcurrent", Since: st.Time.Add(-5 * time.Minute), Value: 80},
		{Name: "h2s_warn", Priority: "medium", State: "acknowledged", Message: "H2S above 10 ppm", Since: st.Time.Add(-9 * time.Minute), Value: 12, Active: true, User: "olga"},
		{Name: "pulper_level_hh", Priority: "critical", State: "unacknowledged", Message: "Pulper high-high", Since: st.Time.Add(-time.Minute), Value: 97, Active: true},
		{Name: "line_io_comm_loss", Priority: "critical", State: "acknowledged", Message: "Line I/O not answering", Since: st.Time.Add(-3 * time.Minute), Active: true, User: "anna"},
	}
	st.AlarmCounts = api.AlarmCounts{Critical: 3, High: 1, Medium: 1, Unacknowledged: 3, Per10Min: 14, Flood: true}
	return st
}

func TestOverviewShowsPlantAndValuesChange(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))

	snap := waitText(t, scr, "signed in as anna")
	snap = waitText(t, scr, "press.cake_ds")
	for _, want := range []string{
		"line-1", "Execute", "B-0042", "shred/feed", "plant 2025-03-01 06:12:33", "anna·engineer",
		"controller " + f.srv.URL + ": stream",
		"reception ■ → ! shredder FAULT → pulper ▶ → press ▶",
		"kitchen-mix v3 (kitchen)", "1234.5 kg of 2000.0 kg",
		"103.2 A", "31.0 %", "61.2? %",
	} {
		if !snap.contains(want) {
			t.Errorf("screen lacks %q; screen:\n%s", want, snap)
		}
	}
	if snap.contains("103.15") {
		t.Errorf("unrounded value on screen:\n%s", snap)
	}
	// Bad quality: value replaced by #### in the bad colour.
	row, col, ok := snap.find("####")
	if !ok {
		t.Fatalf("bad value not shown as ####; screen:\n%s", snap)
	}
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("bad value colour = %v, want %v", got, colorBad)
	}
	row, col, _ = snap.find("! shredder FAULT")
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("fault colour = %v, want %v", got, colorBad)
	}
	f.setStatus(runningLine(32.7))
	st := runningLine(32.7)
	st.Units[2].Values[0].Value = 55.55
	f.setStatus(st)
	waitText(t, scr, "55.5 A")

	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v, want nil", err)
	}
}

// The header, on every screen and at 80×24, says why the line stopped and
// what to do next; a cause that has cleared is not shown as present.
func TestHeaderCauseAndNextAction(t *testing.T) {
	f := newFakeController(t, heldLine(true))
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	snap := waitText(t, scr, "First-out: filtrate tank level high-high (filtrate_level_hh) — still present")
	for _, want := range []string{"Held", "shred/feed", "plant 06:12:33", "Next: wait: filtrate tank level high-high", "FLOOD 14/10min", "3 crit 1 high 1 med, 3 unack"} {
		if !snap.contains(want) {
			t.Errorf("80×24 header lacks %q; screen:\n%s", want, snap)
		}
	}
	row, col, _ := snap.find("First-out")
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("active cause colour = %v, want %v", got, colorBad)
	}
	// The cause clears (the comm loss came back, the level fell): the
	// header no longer reads as if it were present, and says what to press.
	f.setStatus(heldLine(false))
	snap = waitText(t, scr, "— cleared")
	if snap.contains("still present") {
		t.Errorf("cleared cause still shown as present:\n%s", snap)
	}
	waitText(t, scr, "Next: cause cleared — unhold to restart shred — press u")
	runeKey(scr, 'u')
	if got := waitCommands(t, f, 1); got[0].Command != api.CommandUnhold {
		t.Errorf("command = %+v, want unhold", got[0])
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

// With more alarms than the overview has room for, it says how many more
// there are, on a line of its own that fits, and never hides the first-out.
func TestOverviewAlarmsNotHidden(t *testing.T) {
	f := newFakeController(t, heldLine(true))
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	snap := waitText(t, scr, "Alarms (5)")
	if !snap.contains("more: press 3") && !(snap.contains("pulper_level_hh") && snap.contains("h2s_warn")) {
		t.Errorf("alarms hidden without saying so:\n%s", snap)
	}
	if !snap.contains("filtrate_level_hh") {
		t.Errorf("first-out alarm not visible:\n%s", snap)
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStartAbortQuit(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")

	runeKey(scr, 's')
	waitText(t, scr, "market-veg v1  market  market green waste")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter)
	got := waitCommands(t, f, 1)
	// The user comes from the session, not from the command.
	if want := (api.Command{Command: api.CommandStart, Recipe: "market-veg", Version: 1}); got[0] != want {
		t.Errorf("command = %+v, want %+v", got[0], want)
	}
	waitText(t, scr, "start market-veg: accepted")

	runeKey(scr, 's')
	waitText(t, scr, "kitchen-mix v3  kitchen")
	key(scr, tcell.KeyEscape)
	waitText(t, scr, "start cancelled")

	runeKey(scr, 'a')
	waitText(t, scr, "Abort batch B-0042?")
	runeKey(scr, 'n')
	waitText(t, scr, "abort cancelled")
	runeKey(scr, 'a')
	waitText(t, scr, "Abort batch B-0042?")
	runeKey(scr, 'y')
	got = waitCommands(t, f, 2)
	if want := (api.Command{Command: api.CommandAbort}); got[1] != want {
		t.Errorf("command = %+v, want %+v", got[1], want)
	}
	waitText(t, scr, "abort: accepted")
	if n := len(f.received()); n != 2 {
		t.Errorf("controller received %d commands, want 2: %+v", n, f.received())
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v, want nil", err)
	}
}

// d opens the weighbridge form; a filled form books the delivery with the
// class chosen from the recipes' classes and the net weight, as the user
// signed in.
func TestBookDelivery(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	typeText := func(s string) {
		for _, r := range s {
			runeKey(scr, r)
		}
	}
	runeKey(scr, 'd')
	waitText(t, scr, "Book a delivery")
	waitText(t, scr, "kitchen") // the first recipe class, loaded
	typeText("WB-77")
	key(scr, tcell.KeyTab)
	typeText("Canteen Q") // q types, it does not quit
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab) // class
	key(scr, tcell.KeyEnter)
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter) // market
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab) // gross
	typeText("9000")
	key(scr, tcell.KeyTab)
	typeText("7250")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter) // Book
	waitText(t, scr, "delivery WB-77 booked: Canteen Q, market, 1750 kg net")
	f.mu.Lock()
	got := f.booked
	f.mu.Unlock()
	if len(got) != 1 || got[0].Ticket != "WB-77" || got[0].WasteClass != "market" || got[0].NetKg != 1750 || got[0].Operator != "anna" || got[0].EWC != "20 01 08" {
		t.Errorf("booked %+v", got)
	}
	runeKey(scr, 'd')
	waitText(t, scr, "Book a delivery")
	for range 9 {
		key(scr, tcell.KeyTab)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "Ticket and Supplier required")
	key(scr, tcell.KeyEscape)
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after q = %v", err)
	}
}

// A refusal is said once, with its reason, however the controller
// phrased it ("refused: start refused: …" was a bug).
func TestRefusalShowsReason(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.refuse[api.CommandReset] = "reset refused: line is in Execute; reset needs Complete or Aborted"
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")

	runeKey(scr, 'r')
	snap := waitText(t, scr, "reset refused: line is in Execute; reset needs Complete or Aborted")
	if strings.Count(snap.String(), "refused:") != 1 {
		t.Errorf("refusal said more than once:\n%s", snap)
	}
	row, col, _ := snap.find("reset refused")
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("refusal colour = %v, want %v", got, colorWarn)
	}
	runeKey(scr, 't')
	waitText(t, scr, "stop: accepted")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestRefusalReason(t *testing.T) {
	for in, want := range map[string]string{
		"refused: start refused: recipe x not approved": "recipe x not approved",
		"start refused: recipe x not approved":          "recipe x not approved",
		"recipe x not approved":                         "recipe x not approved",
		"":                                              "no reason given",
	} {
		if got := refusalReason("start", in); got != want {
			t.Errorf("refusalReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// Sign-in with users: a wrong password is refused with the reason and no
// command can be sent; the right one signs in with the role; a viewer is
// offered no command.
func TestLogin(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) {
		f.users = map[string][2]string{"olga": {"s3cret", "operator"}, "vic": {"look", "viewer"}}
	})
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
	waitText(t, scr, "Sign in")
	typeText := func(s string) {
		for _, r := range s {
			runeKey(scr, r)
		}
	}
	typeText("olga")
	key(scr, tcell.KeyTab)
	typeText("wrong")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "not signed in: wrong user or password")
	// The form is still up; the commands are not offered meanwhile.
	if len(f.received()) != 0 {
		t.Fatalf("commands sent before sign-in: %+v", f.received())
	}
	// The user name stays; the password field has the focus.
	for range 5 {
		key(scr, tcell.KeyBackspace2)
	}
	typeText("s3cret")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter)
	snap := waitText(t, scr, "signed in as olga (operator)")
	if snap.contains("s3cret") {
		t.Errorf("password on screen:\n%s", snap)
	}
	waitText(t, scr, "olga·operator")
	runeKey(scr, 'h')
	waitCommands(t, f, 1)

	// Shift handover: L signs out and asks again; vic may only view.
	runeKey(scr, 'L')
	waitText(t, scr, "signed out")
	typeText("vic")
	key(scr, tcell.KeyTab)
	typeText("look")
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyTab)
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "view only")
	runeKey(scr, 't')
	waitText(t, scr, "stop: vic may only view (role viewer)")
	if n := len(f.received()); n != 1 {
		t.Errorf("viewer sent a command: %+v", f.received())
	}
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

// The HMI locks itself after IdleLock without a key.
func TestIdleLock(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	opts := signedIn(f, scr)
	opts.IdleLock = 300 * time.Millisecond
	wait := started(t, context.Background(), opts)
	waitText(t, scr, "signed in as anna")
	waitText(t, scr, "locked after 300ms without a key")
	runeKey(scr, 't') // typed into the sign-in form, not a command
	time.Sleep(50 * time.Millisecond)
	if n := len(f.received()); n != 0 {
		t.Errorf("locked HMI sent %+v", f.received())
	}
	scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

// ? lists every global key; : runs a command by a unique prefix and says
// what is wrong with an unknown one.
func TestHelpAndCommandLine(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '?')
	snap := waitText(t, scr, "Help: every key")
	for _, want := range []string{"alarm summary", "Esc", "back", "start batch"} {
		if !snap.contains(want) {
			t.Errorf("help lacks %q:\n%s", want, snap)
		}
	}
	// It scrolls to the rest.
	key(scr, tcell.KeyPgDn)
	waitText(t, scr, "lock / change user")
	key(scr, tcell.KeyEscape)
	runeKey(scr, ':')
	for _, r := range "frobnicate" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "unknown command :frobnicate")
	runeKey(scr, ':')
	for _, r := range "ov" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, " Overview")
	runeKey(scr, ':')
	runeKey(scr, 'q')
	key(scr, tcell.KeyEnter)
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestControllerUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more

	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(url), Screen: scr, Refresh: 20 * time.Millisecond, Login: &api.Login{User: "anna"}})
	snap := waitText(t, scr, "controller "+url+": unreachable")
	row, col, _ := snap.find("controller " + url)
	if got := snap.fg(row, col); got != colorBad {
		t.Errorf("unreachable colour = %v, want %v", got, colorBad)
	}
	waitText(t, scr, "not signed in")
	scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// The stream breaks: the HMI marks the values stale, polls, and comes back.
func TestControllerLostAndBack(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, ": stream")

	f.setFailing(true)
	snap := waitText(t, scr, "controller "+f.srv.URL+": answers with an error")
	waitText(t, scr, "last known values, not current")
	row, col, ok := snap.find("31.0? %")
	if !ok {
		t.Fatalf("stale value not marked uncertain; screen:\n%s", snap)
	}
	if got := snap.fg(row, col); got != colorWarn {
		t.Errorf("stale value colour = %v, want %v", got, colorWarn)
	}
	f.setFailing(false)
	waitText(t, scr, "controller "+f.srv.URL+": polling")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// An older controller without the stream is polled.
func TestPollsWithoutStream(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.noStream = true })
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, ": polling")
	st := runningLine(31.5)
	st.Units[2].Values[0].Value = 44.44
	f.setStatus(st)
	waitText(t, scr, "44.4 A")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCtrlCQuits(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "shredder.current")
	scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after Ctrl-C = %v, want nil", err)
	}
}

func TestContextCancelStopsRun(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	ctx, cancel := context.WithCancel(context.Background())
	wait := started(t, ctx, signedIn(f, scr))
	waitText(t, scr, "shredder.current")
	cancel()
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := started(t, ctx, signedIn(f, newRecordingScreen(t)))
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestNoClient(t *testing.T) {
	if err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("Run without a client returned nil, want an error")
	}
}

// TestNoGoroutineLeft checks that Run leaves nothing of its own running, even
// with a command in flight that the controller answers slowly and a stream
// open.
func TestNoGoroutineLeft(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	slow := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", f.srv.Config.Handler)
	mux.HandleFunc("POST /api/v1/commands", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(slow)

	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), Options{Client: api.NewClient(srv.URL), Screen: scr, Refresh: 20 * time.Millisecond, Login: &api.Login{User: "anna"}})
	waitText(t, scr, "signed in as anna")
	runeKey(scr, 't')
	waitText(t, scr, "sending stop…")
	runeKey(scr, 'q')
	if err := wait(time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	waitNoGoroutines(t)
}

// TestOverviewGolden compares the overview, as text, with golden files in
// testdata at the smallest usual terminal and at a large one; run with
// -update to accept a change on purpose.
func TestOverviewGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		st   api.Status
	}{{"overview", runningLine(31.5)}, {"overview-held", heldLine(true)}} {
		for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
			name := fmt.Sprintf("%s-%dx%d", c.name, size.w, size.h)
			t.Run(name, func(t *testing.T) {
				f := newFakeController(t, c.st)
				scr := newRecordingScreenSize(t, size.w, size.h)
				wait := started(t, context.Background(), signedIn(f, scr))
				waitText(t, scr, "signed in as anna")
				checkGolden(t, f, waitSettled(t, scr, "shredder.current"), name)
				runeKey(scr, 'q')
				if err := wait(time.Second); err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
			})
		}
	}
}

// TestTerminalFailure: when the terminal fails under it, Run returns the
// terminal's error and still leaves no goroutine behind.
func TestTerminalFailure(t *testing.T) {
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreen(t)
	wait := started(t, context.Background(), signedIn(f, scr))
	waitText(t, scr, "shredder.current")

	lost := errors.New("tty gone")
	if err := scr.PostEvent(tcell.NewEventError(lost)); err != nil {
		t.Fatal(err)
	}
	err := wait(time.Second)
	var evErr *tcell.EventError
	if !errors.As(err, &evErr) || evErr.Error() != lost.Error() {
		t.Fatalf("Run = %v, want the terminal's error %q", err, lost)
	}
	waitNoGoroutines(t)
}

// TestQuitWhileBusy quits many times while the feed is constantly handing
// updates to the screen, to catch a worker left blocked on a stopped loop.
func TestQuitWhileBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.noStream = true })
	for i := range 10 {
		scr := newRecordingScreen(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		opts := signedIn(f, scr)
		opts.Refresh = time.Microsecond
		go func() { done <- Run(ctx, opts) }()
		waitText(t, scr, "shredder.current")
		if i%2 == 0 {
			runeKey(scr, 'q')
		} else {
			cancel()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: Run = %v, want nil", i, err)
			}
		case <-time.After(time.Second):
			t.Fatalf("run %d: Run did not return within 1 s", i)
		}
		cancel()
		waitNoGoroutines(t)
	}
}

// TestSignInAndHelpGolden: the sign-in form over the line, and the help
// over the overview, at both sizes.
func TestSignInAndHelpGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			f := newFakeController(t, heldLine(true))
			f.with(func(f *fakeController) { f.users = map[string][2]string{"olga": {"pw", "operator"}} })
			scr := newRecordingScreenSize(t, size.w, size.h)
			wait := started(t, context.Background(), Options{Client: api.NewClient(f.srv.URL), Screen: scr, Refresh: 20 * time.Millisecond})
			checkGolden(t, f, waitSettled(t, scr, "Sign in"), fmt.Sprintf("signin-%dx%d", size.w, size.h))
			for _, r := range "olga" {
				runeKey(scr, r)
			}
			key(scr, tcell.KeyTab)
			for _, r := range "pw" {
				runeKey(scr, r)
			}
			key(scr, tcell.KeyEnter)
			key(scr, tcell.KeyEnter)
			key(scr, tcell.KeyEnter)
			waitText(t, scr, "signed in as olga")
			runeKey(scr, '?')
			checkGolden(t, f, waitSettled(t, scr, "Help: every key"), fmt.Sprintf("help-%dx%d", size.w, size.h))
			key(scr, tcell.KeyEscape)
			runeKey(scr, 'q')
			if err := wait(time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}
