package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOperatorShiftByKeyboard drives `pretreat demo` (test rig, controller
// and HMI in one terminal) under tmux with keys only, as an operator on a
// bad night would: sign in, start a batch, bring on a jam storm and a comm
// loss from the training menu, read the first-out and the faceplate's why
// not, acknowledge one alarm, shelve another for 10 minutes, open the
// shredder current's trend and see the jam, unhold once the screen says the
// cause has cleared, finish the batch and open its record in the history.
func TestOperatorShiftByKeyboard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a demo for a few minutes")
	}
	data := t.TempDir()
	// 20× plant time: a batch takes a minute or two of wall time. Jams come
	// only from the training menu.
	tm := startTerm(t, 160, 48, "demo", "--data", data, "--speed", "20", "--jams", "injected")

	// Sign in: the open-mode demo takes any name.
	tm.waitFor(90*time.Second, "Sign in", "User")
	tm.typeText("olga")
	tm.keys("Enter", "Enter", "Enter", "Enter")
	tm.waitFor(15*time.Second, "signed in as olga", "olga·engineer")
	// The interactive demo starts no batch by itself: the line waits,
	// Stopped, and the header says to reset it.
	tm.waitFor(5*time.Second, "No batch running", "— press r")
	tm.keys("r")
	tm.waitFor(30*time.Second, "Idle", "— press s")

	// Start a batch: the first approved recipe.
	tm.keys("s")
	tm.waitFor(10*time.Second, "Start batch: choose a recipe", "catering")
	tm.keys("Enter")
	tm.waitFor(15*time.Second, "accepted")
	tm.waitFor(60*time.Second, "Execute", "shred/")

	// The training menu: a jam storm on the shredder, then the line I/O
	// stops answering.
	tm.keys(":")
	tm.typeText("training jam_storm")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "TRAINING")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "choose a target")
	tm.typeText("s")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "injected", "jam_storm")
	// Let the storm hit the shredder (it trips on its jam logic and the
	// line holds) before the I/O goes.
	tm.waitFor(90*time.Second, "Held", "First-out:")
	tm.keys(":")
	tm.typeText("training stop_answering")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "TRAINING")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "choose a target")
	tm.typeText("l")
	screen := tm.capture()
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "injected", "stop_answering")
	_ = screen

	// The header says what stopped the line, on every screen.
	screen = tm.waitFor(90*time.Second, "Held", "First-out:")
	firstOut := lineWith(screen, "First-out:")
	t.Logf("first-out: %s", firstOut)

	// The shredder's faceplate says why it cannot run.
	tm.keys(":")
	tm.typeText("unit shredder")
	tm.keys("Enter")
	screen = tm.waitFor(10*time.Second, "Why not: permissives and trips")
	t.Logf("faceplate:\n%s", screen)

	// The alarm summary: acknowledge the shredder's overcurrent alarm
	// (returned to normal, still waiting for an acknowledgement), then
	// shelve the comm loss for 10 minutes with a reason. The filter picks
	// each one.
	tm.keys("3")
	tm.waitFor(30*time.Second, "Overview › Alarms", "shredder_overcurrent", "line_io_comm_loss")
	tm.keys("/")
	tm.typeText("shredder_overcurrent")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "1 of ")
	tm.keys("k")
	tm.waitFor(10*time.Second, "ack shredder_overcurrent: accepted")
	tm.keys("/", "C-u")
	tm.typeText("line_io_comm_loss")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "1 of ")
	tm.keys("v")
	tm.waitFor(10*time.Second, "Shelve line_io_comm_loss", "Minutes", "Reason")
	tm.keys("Tab")
	tm.typeText("training drill: the I/O fault is injected")
	tm.keys("Enter", "Enter")
	tm.waitFor(10*time.Second, "shelve line_io_comm_loss: accepted")
	tm.keys("8")
	tm.waitFor(10*time.Second, "1 shelved")

	// The shredder current over the last 10 minutes shows the jam: its
	// range reaches past the overcurrent limit (45 A).
	tm.keys(":")
	tm.typeText("trend shredder.current 10m")
	tm.keys("Enter")
	screen = tm.waitFor(20*time.Second, "Trend last 10 min", "shredder.current (A)")
	if hi := penMax(screen, "shredder.current (A)"); hi < 45 {
		t.Errorf("the trend's shredder current peaks at %g A; the jams drove it past 45 A:\n%s", hi, screen)
	}

	// Clear the faults; once the screen says the cause has cleared, unhold.
	// The line may hold again for what the storm left behind (a jam to
	// reset): follow the next action the header gives until the batch
	// completes.
	tm.keys(":")
	tm.typeText("training")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "TRAINING")
	tm.keys("X")
	tm.waitFor(10*time.Second, "cleared every fault")
	tm.keys("1")
	deadline := time.Now().Add(6 * time.Minute)
	unholds := 0
	for {
		which, s := tm.waitAny(time.Until(deadline), "— press u", "— press c", "Complete")
		if which == "Complete" {
			t.Logf("complete after %d unholds:\n%s", unholds, s)
			break
		}
		if which == "— press u" {
			if unholds == 0 && !strings.Contains(s, "cleared") {
				t.Errorf("offered unhold without saying the cause cleared:\n%s", s)
			}
			unholds++
			tm.keys("u")
		} else {
			tm.keys("c")
		}
		time.Sleep(time.Second)
	}
	if unholds == 0 {
		t.Error("the batch completed without an unhold: the faults never held the line")
	}

	// The history lists the batch (the record is stored as the batch
	// ends: the history fetches when opened, so open it again until it is
	// there); its record opens.
	id := ""
	for try := 0; id == "" && try < 6; try++ {
		tm.keys("6")
		screen = tm.waitFor(20*time.Second, "Overview › History")
		time.Sleep(2 * time.Second)
		screen = tm.capture()
		if strings.Contains(screen, "complete") {
			id = regexp.MustCompile(`line-1-\d{8}T\d{6}-\d+`).FindString(screen)
		}
		tm.keys("1")
	}
	if id == "" {
		t.Fatalf("no completed batch in the history:\n%s", screen)
	}
	tm.keys("6")
	tm.waitFor(20*time.Second, id)
	tm.keys("Enter")
	screen = tm.waitFor(20*time.Second, "Record "+id)
	t.Logf("record:\n%s", screen)
	tm.keys("q")
	tm.waitFor(20*time.Second, "EXITED 0")
}

// lineWith returns the first line of screen containing text.
func lineWith(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// penMax reads the top of a pen's range from the trend's legend:
// "shredder.current (A) 0.0–246.0".
func penMax(screen, pen string) float64 {
	l := lineWith(screen, pen)
	i := strings.Index(l, pen)
	if i < 0 {
		return 0
	}
	rest := strings.Fields(l[i+len(pen):])
	if len(rest) == 0 {
		return 0
	}
	_, hi, ok := strings.Cut(rest[0], "–")
	if !ok {
		return 0
	}
	v, _ := strconv.ParseFloat(hi, 64)
	return v
}
