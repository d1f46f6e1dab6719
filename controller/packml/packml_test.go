package packml

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHappyPath(t *testing.T) {
	var m Machine
	steps := []struct {
		do   func() (State, error)
		want State
	}{
		{func() (State, error) { return m.Command(Reset) }, Resetting},
		{m.StateComplete, Idle},
		{func() (State, error) { return m.Command(Start) }, Starting},
		{m.StateComplete, Execute},
		{func() (State, error) { return m.Command(Hold) }, Holding},
		{m.StateComplete, Held},
		{func() (State, error) { return m.Command(Unhold) }, Unholding},
		{m.StateComplete, Execute},
		{m.Finish, Completing},
		{m.StateComplete, Complete},
		{func() (State, error) { return m.Command(Reset) }, Resetting},
		{m.StateComplete, Idle},
		{func() (State, error) { return m.Command(Abort) }, Aborting},
		{m.StateComplete, Aborted},
		{func() (State, error) { return m.Command(Clear) }, Clearing},
		{m.StateComplete, Stopped},
	}
	for i, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("step %d: got %s, %v; want %s", i, got, err, s.want)
		}
	}
}

func TestRefusalsSayWhy(t *testing.T) {
	var m Machine
	_, err := m.Command(Start)
	if err == nil || !strings.Contains(err.Error(), "start refused: the line is Stopped; allowed here: reset, abort") {
		t.Fatalf("got %v", err)
	}
	if m.State() != Stopped {
		t.Fatalf("state changed on refusal: %s", m.State())
	}
	if _, err := m.StateComplete(); err == nil {
		t.Fatal("state complete accepted in a wait state")
	}
	if err := m.Restore(Execute); err == nil {
		t.Fatal("restore into Execute accepted: a restart must never resume running")
	}
}

// TestRandomCommands sends 200,000 random commands and state completions
// and checks that every transition taken is legal and every refusal has a
// reason.
func TestRandomCommands(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m Machine
	taken := map[[2]State]bool{}
	refused := 0
	for i := 0; i < 200000; i++ {
		from := m.State()
		var to State
		var err error
		switch r := rng.IntN(10); {
		case r < 7:
			to, err = m.Command(Command(rng.IntN(int(numCommands) + 1))) // includes one unknown command
		case r < 9:
			to, err = m.StateComplete()
		default:
			to, err = m.Finish()
		}
		if err != nil {
			refused++
			if err.Error() == "" || m.State() != from {
				t.Fatalf("refusal without reason or with a state change: %s -> %s: %q", from, m.State(), err)
			}
			continue
		}
		if !Legal(from, to) {
			t.Fatalf("illegal transition %s -> %s", from, to)
		}
		taken[[2]State{from, to}] = true
	}
	// Every legal transition of the model was exercised.
	want := 0
	for _, s := range States() {
		for _, u := range States() {
			if Legal(s, u) {
				want++
				if !taken[[2]State{s, u}] {
					t.Errorf("transition %s -> %s never taken", s, u)
				}
			}
		}
	}
	t.Logf("%d legal transitions all taken; %d refusals with reasons", want, refused)
}
