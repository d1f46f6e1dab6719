package hmi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/pretreat/pretreat/controller/api"
)

// fakeTrainer is a simulated plant's fault control in memory: the kinds
// it is given, the faults injected, and every call in order.
type fakeTrainer struct {
	mu     sync.Mutex
	kinds  []FaultKind
	active []Fault
	next   int
	since  time.Time
	calls  []string // "inject jam_storm shredder", "clear f1", "clear all", "active"
	fail   error    // every call fails with it when set
}

func newFakeTrainer(since time.Time) *fakeTrainer {
	return &fakeTrainer{since: since, kinds: []FaultKind{
		{Kind: "stop_answering", Text: "accepts connections, answers nothing: requests time out. Clearing closes the connections it held",
			Targets: []string{"shredder_vfd", "press_vfd", "line_io", "analyser"}},
		{Kind: "sensor_stuck", Text: "the reading freezes. Injected with its defaults: value (default where it is): the reading it sticks at",
			Targets: []string{"hopper.weight", "reception.h2s", "shredder.current", "shredder.speed", "pulper.ds", "pulper.level", "pulper.ph",
				"press.back_pressure", "press.cake_ds", "press.current", "filtrate.level", "line.estop_ok"}},
		{Kind: "jam", Text: "a hard object jams the shredder now (a shredder of several: name it)", Targets: []string{"shredder"}},
		{Kind: "jam_storm", Text: "hard objects keep coming. Injected with its defaults: per_tonne (objects/t, > 0, default 300): hard objects per tonne shredded",
			Targets: []string{"shredder"}},
		{Kind: "overload_trip", Text: "the motor's overload trips: stops, fault bit", Targets: []string{"feeder", "shredder", "press", "mixer"}},
		{Kind: "estop", Text: "every drive stops, `line.estop_ok` = 0, water valve shuts"},
		{Kind: "level_hh", Text: "pulper: the water valve sticks open and the pulper fills over high-high to its weir; filtrate: the transfer pump fails",
			Targets: []string{"pulper", "filtrate"}},
	}}
}

func (f *fakeTrainer) Kinds(context.Context) ([]FaultKind, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return slices.Clone(f.kinds), nil
}

func (f *fakeTrainer) Active(context.Context) ([]Fault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "active")
	if f.fail != nil {
		return nil, f.fail
	}
	return slices.Clone(f.active), nil
}

func (f *fakeTrainer) Inject(_ context.Context, kind, target string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "inject "+kind+" "+target)
	if f.fail != nil {
		return "", f.fail
	}
	f.next++
	id := fmt.Sprintf("f%d", f.next)
	f.active = append(f.active, Fault{ID: id, Kind: kind, Target: target, Since: f.since.Add(time.Duration(f.next) * time.Minute)})
	return id, nil
}

func (f *fakeTrainer) Clear(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "clear "+id)
	for i, a := range f.active {
		if a.ID == id {
			f.active = slices.Delete(f.active, i, i+1)
			return nil
		}
	}
	return errors.New("no such fault")
}

func (f *fakeTrainer) ClearAll(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "clear all")
	f.active = nil
	return nil
}

// actions are the calls other than the polls of the active list.
func (f *fakeTrainer) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c != "active" {
			out = append(out, c)
		}
	}
	return out
}

// waitActions waits until the trainer has seen the actions want.
func waitActions(t *testing.T, f *fakeTrainer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f.actions()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trainer saw %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openTraining starts a signed-in HMI with tr on a screen of that size and
// opens the training screen.
func openTraining(t *testing.T, tr Trainer, w, h int) (*fakeController, *recordingScreen) {
	t.Helper()
	st := runningLine(31.5)
	f := newFakeController(t, st)
	scr := newRecordingScreenSize(t, w, h)
	opts := signedIn(f, scr)
	opts.Trainer = tr
	started(t, context.Background(), opts)
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '9')
	return f, scr
}

func TestTrainingGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("training-%dx%d", size.w, size.h)
		t.Run(name, func(t *testing.T) {
			tr := newFakeTrainer(runningLine(0).Time.Add(-5 * time.Minute))
			tr.active = []Fault{
				{ID: "f1", Kind: "jam_storm", Target: "shredder", Since: runningLine(0).Time.Add(-4*time.Minute - 10*time.Second)},
				{ID: "f2", Kind: "estop", Since: runningLine(0).Time.Add(-30 * time.Second)},
			}
			tr.next = 2
			f, scr := openTraining(t, tr, size.w, size.h)
			checkGolden(t, f, waitSettled(t, scr, "for 0:00:30"), name)
		})
	}
}

// TestTrainingNoTrainer: without a trainer the screen says where the
// training menu works, and takes no keys of its own.
func TestTrainingNoTrainer(t *testing.T) {
	f, scr := openTraining(t, nil, 80, 24)
	snap := waitText(t, scr, "No training plant")
	for _, want := range []string{"pretreat demo", "pretreat hmi --rig URL"} {
		if !snap.contains(want) {
			t.Errorf("no %q on the screen:\n%s", want, snap)
		}
	}
	checkGolden(t, f, waitSettled(t, scr, "No training plant"), "training-none-80x24")
	// Keys go to the global keys: h holds the line.
	runeKey(scr, 'h')
	if got := waitCommands(t, f, 1); got[0].Command != api.CommandHold {
		t.Errorf("h sent %+v, want hold", got[0])
	}
}

// TestTrainingInjectWithTarget: Enter on jam_storm asks for the target;
// Enter on shredder injects it there, and the fault shows in the active
// list and on the message line.
func TestTrainingInjectWithTarget(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	_, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Fault kinds (7)")
	for range 3 { // stop_answering → sensor_stuck → jam → jam_storm
		key(scr, tcell.KeyDown)
	}
	waitText(t, scr, "jam_storm: hard objects keep coming")
	key(scr, tcell.KeyEnter)
	snap := waitText(t, scr, "choose a target")
	if !snap.contains("Inject jam_storm") {
		t.Errorf("the chooser does not name the kind:\n%s", snap)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "injected f1: jam_storm on shredder")
	waitActions(t, tr, "inject jam_storm shredder")
	waitText(t, scr, "Active faults (1)")
	snap = waitText(t, scr, " f1")
	if row, _, _ := snap.find(" f1"); !snap.contains("jam_storm") || !containsOnRow(snap, row, "shredder") {
		t.Errorf("f1 on shredder not in the active list:\n%s", snap)
	}
}

func containsOnRow(s snapshot, row int, text string) bool {
	return row >= 0 && row < len(s.lines) && strings.Contains(s.lines[row], text)
}

// TestTrainingChooseOtherTarget: the arrows pick another target; Esc
// cancels without injecting and gives the keys back to the screen.
func TestTrainingChooseOtherTarget(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	f, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Fault kinds (7)")
	key(scr, tcell.KeyEnter) // stop_answering
	waitText(t, scr, "choose a target")
	runeKey(scr, 'h') // not the global hold while choosing
	key(scr, tcell.KeyEscape)
	waitText(t, scr, "inject cancelled")
	if got := tr.actions(); len(got) != 0 {
		t.Errorf("cancelled chooser: trainer saw %q", got)
	}
	if got := f.received(); len(got) != 0 {
		t.Errorf("h while choosing sent %+v", got)
	}
	if snap := scr.snapshot(); !snap.contains("Training") {
		t.Errorf("Esc in the chooser left the screen:\n%s", snap)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "choose a target")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter)
	waitActions(t, tr, "inject stop_answering line_io")
	waitText(t, scr, "injected f1: stop_answering on line_io")
	// A letter jumps to the next target that starts with it.
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "choose a target")
	runeKey(scr, 'p')
	runeKey(scr, 'a')
	key(scr, tcell.KeyEnter)
	waitActions(t, tr, "inject stop_answering line_io", "inject stop_answering analyser")
}

// TestTrainingPollsOnlyInFront: the active list is fetched every 2 s
// while the screen is in front, and no more once the operator has left.
func TestTrainingPollsOnlyInFront(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	_, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Active faults (0)")
	polls := func() int {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		n := 0
		for _, c := range tr.calls {
			if c == "active" {
				n++
			}
		}
		return n
	}
	before := polls()
	time.Sleep(2*trainingPoll + 500*time.Millisecond)
	if got := polls() - before; got < 2 || got > 3 {
		t.Errorf("%d polls in %v in front; want 2", got, 2*trainingPoll+500*time.Millisecond)
	}
	runeKey(scr, '1')
	waitText(t, scr, "Key values")
	time.Sleep(trainingPoll + 500*time.Millisecond) // the poller notices
	before = polls()
	time.Sleep(2 * trainingPoll)
	if got := polls() - before; got != 0 {
		t.Errorf("%d polls after leaving the screen; want none", got)
	}
}

// TestTrainingNoTargetKind: a kind without targets is injected at once.
func TestTrainingNoTargetKind(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	_, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Fault kinds (7)")
	for range 5 {
		key(scr, tcell.KeyDown)
	}
	waitText(t, scr, "estop: every drive stops")
	key(scr, tcell.KeyEnter)
	waitActions(t, tr, "inject estop ")
	waitText(t, scr, "injected f1: estop")
}

// TestTrainingClear: C clears the fault selected in the active list, X
// every fault; the list follows.
func TestTrainingClear(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	tr.active = []Fault{
		{ID: "f1", Kind: "jam_storm", Target: "shredder", Since: runningLine(0).Time},
		{ID: "f2", Kind: "estop", Since: runningLine(0).Time},
		{ID: "f3", Kind: "level_hh", Target: "pulper", Since: runningLine(0).Time},
	}
	tr.next = 3
	_, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Active faults (3)")
	key(scr, tcell.KeyTab)
	waitText(t, scr, "▸ Active faults (3)")
	key(scr, tcell.KeyDown)
	runeKey(scr, 'C')
	waitActions(t, tr, "clear f2")
	waitText(t, scr, "cleared f2: estop")
	waitText(t, scr, "Active faults (2)")
	runeKey(scr, 'X')
	waitActions(t, tr, "clear f2", "clear all")
	waitText(t, scr, "Active faults (0)")
	waitText(t, scr, "none, the simulated plant runs without faults")
}

// TestTrainingRefreshes: faults injected elsewhere (pretreat rig fault
// inject, a scenario) appear within the poll period.
func TestTrainingRefreshes(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	_, scr := openTraining(t, tr, 80, 24)
	waitText(t, scr, "Active faults (0)")
	if _, err := tr.Inject(context.Background(), "jam", "shredder"); err != nil {
		t.Fatal(err)
	}
	waitText(t, scr, "Active faults (1)")
}

// TestTrainingRigDown: a trainer that fails shows why, in the bad colour,
// and an inject refused says so on the message line.
func TestTrainingRigDown(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	tr.fail = errors.New("connect: connection refused")
	_, scr := openTraining(t, tr, 80, 24)
	snap := waitText(t, scr, "the test rig does not answer")
	row, col, _ := snap.find("! fault kinds")
	if snap.fg(row, col) != colorBad {
		t.Errorf("the rig's failure is not in the bad colour:\n%s", snap)
	}
}

// TestTrainingViewOnly: a viewer may not inject.
func TestTrainingViewOnly(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	f := newFakeController(t, runningLine(31.5))
	f.with(func(f *fakeController) { f.users = map[string][2]string{"vic": {"pw", "viewer"}} })
	scr := newRecordingScreenSize(t, 80, 24)
	opts := signedIn(f, scr)
	opts.Login = &api.Login{User: "vic", Password: "pw"}
	opts.Trainer = tr
	started(t, context.Background(), opts)
	waitText(t, scr, "signed in as vic")
	runeKey(scr, '9')
	waitText(t, scr, "Fault kinds (7)")
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "may only view")
	if got := tr.actions(); len(got) != 0 {
		t.Errorf("a viewer's Enter reached the trainer: %q", got)
	}
}

// TestTrainingCommandLine: `:training KIND` opens the screen on that kind.
func TestTrainingCommandLine(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	opts := signedIn(f, scr)
	opts.Trainer = tr
	started(t, context.Background(), opts)
	waitText(t, scr, "signed in as anna")
	runeKey(scr, ':')
	for _, r := range "training level_hh" {
		runeKey(scr, r)
	}
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "level_hh: pulper: the water valve sticks open")
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "Inject level_hh")
	key(scr, tcell.KeyDown)
	key(scr, tcell.KeyEnter)
	waitActions(t, tr, "inject level_hh filtrate")
}

// TestTrainingChooserIdleLock: the idle lock closes the target chooser,
// and the sign-in comes to the front.
func TestTrainingChooserIdleLock(t *testing.T) {
	tr := newFakeTrainer(runningLine(0).Time)
	f := newFakeController(t, runningLine(31.5))
	scr := newRecordingScreenSize(t, 80, 24)
	opts := signedIn(f, scr)
	opts.Trainer = tr
	opts.IdleLock = 600 * time.Millisecond
	started(t, context.Background(), opts)
	waitText(t, scr, "signed in as anna")
	runeKey(scr, '9')
	waitText(t, scr, "Fault kinds (7)")
	key(scr, tcell.KeyEnter)
	waitText(t, scr, "choose a target")
	snap := waitText(t, scr, "locked after")
	if snap.contains("choose a target") {
		t.Errorf("the chooser stays over the sign-in after the idle lock:\n%s", snap)
	}
	key(scr, tcell.KeyEnter) // to the sign-in form, not the chooser
	time.Sleep(200 * time.Millisecond)
	if got := tr.actions(); len(got) != 0 {
		t.Errorf("Enter after the lock reached the trainer: %q", got)
	}
}
