package alarm

import (
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

var (
	randomOps  = flag.Int("alarm.ops", 200_000, "operations in TestRandomOperations")
	randomSeed = flag.Uint64("alarm.seed", 0, "seed of TestRandomOperations (0: a fixed default)")
)

// TestRandomOperations applies random process values, qualities, unit
// starts and stops, clock steps and operator calls (with wrong users, unknown
// names, past and too-long shelf expiries) to a set of alarms, and checks
// after each one against a model of what must hold:
//   - every transition is in the table, starts from the state the alarm was
//     in, and carries a user exactly when an operator caused it;
//   - an operator call succeeds exactly when the table allows it from the
//     alarm's state and its arguments are valid; every refusal is a Refusal
//     with a reason and a sentinel, and changes nothing;
//   - the state invariants of doc.go hold, shelves expire on time,
//     suppression by design follows the units, sequence numbers have no gaps,
//     and the two alarms without delays follow their limits exactly (one
//     with deadband, holding its condition on an untrusted input).
func TestRandomOperations(t *testing.T) {
	seed := *randomSeed
	if seed == 0 {
		seed = 20260301
	}
	t.Logf("seed %d (rerun with -alarm.seed=%d), %d operations", seed, seed, *randomOps)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	defs := []Definition{
		{Name: "h", Tag: "x1", Kind: KindHigh, Limit: 10, Deadband: 1, OnDelay: time.Second, OffDelay: 2 * time.Second, Priority: PriorityHigh, Unit: "u1", Message: "m"},
		{Name: "ll", Tag: "x2", Kind: KindLowLow, Limit: 2, Deadband: 0.5, Priority: PriorityCritical, Unit: "u2", Message: "m"},
		{Name: "d", Tag: "x3", Kind: KindDigital, OffDelay: 500 * time.Millisecond, Priority: PriorityLow, Message: "m"},
		{Name: "q", Tag: "x1", Kind: KindBadQuality, OnDelay: 300 * time.Millisecond, Priority: PriorityMedium, Unit: "u1", Message: "m"},
		{Name: "h2", Tag: "x2", Kind: KindHigh, Limit: 8, Priority: PriorityHigh, Message: "m"},
		{Name: "dd", Tag: "x4", Kind: KindDigital, Priority: PriorityMedium, Unit: "u2", Message: "m"},
	}
	settings := Settings{MaxShelve: time.Minute, ChatterCount: 3, ChatterWindow: 5 * time.Second, ChatterQuiet: 3 * time.Second, JournalSize: 64}
	set, err := NewSet(defs, settings)
	if err != nil {
		t.Fatal(err)
	}
	in := fakeInputs{}
	running := map[string]bool{"u1": true, "u2": true}
	unitOf := map[string]string{}
	for _, d := range defs {
		unitOf[d.Name] = d.Unit
	}
	tags := []string{"x1", "x2", "x3", "x4"}
	values := []float64{-1, 0, 1, 1.5, 2, 2.4, 2.5, 3, 7.9, 8, 8.1, 9, 9.5, 10, 10.5, 12, math.NaN()}
	qualities := []drivers.Quality{drivers.QualityUnknown, drivers.QualityBadCommFailure, drivers.QualityBadOutOfRange, drivers.QualityUncertainStale}

	now := t0
	state := map[string]State{} // the model's view, advanced by each transition seen
	chatter := map[string]bool{}
	var seq uint64
	stats := struct{ steps, ops, refusals, transitions int }{}
	ruleSeen := map[Rule]int{}

	// apply checks one transition against the model and advances it.
	apply := func(where string, tr Transition, user string) {
		t.Helper()
		if !Legal(tr.From, tr.Reason, tr.To) {
			t.Fatalf("%s: illegal transition %s %+v", where, tr.Alarm, tr)
		}
		if tr.From != state[tr.Alarm] {
			t.Fatalf("%s: %s transition from %s but the alarm was %s", where, tr.Alarm, tr.From, state[tr.Alarm])
		}
		if tr.User != user || tr.Reason.byOperator() != (user != "") {
			t.Fatalf("%s: %s transition %s with user %q, want %q", where, tr.Alarm, tr.Reason, tr.User, user)
		}
		if tr.Seq != seq+1 {
			t.Fatalf("%s: seq %d after %d", where, tr.Seq, seq)
		}
		switch tr.Reason {
		case ReasonChattering, ReasonChatteringCleared:
			if chatter[tr.Alarm] == (tr.Reason == ReasonChattering) || tr.Chattering != (tr.Reason == ReasonChattering) {
				t.Fatalf("%s: %s %s while the flag was %v", where, tr.Alarm, tr.Reason, chatter[tr.Alarm])
			}
			chatter[tr.Alarm] = tr.Reason == ReasonChattering
		default:
			ruleSeen[Rule{tr.From, tr.Reason, tr.To}]++
		}
		seq = tr.Seq
		state[tr.Alarm] = tr.To
		stats.transitions++
	}

	// invariants checks every alarm against the model; afterStep adds the
	// checks that hold only right after a Step.
	invariants := func(where string, afterStep bool) {
		t.Helper()
		var c Counts
		for _, st := range set.All() {
			if st.State != state[st.Name] {
				t.Fatalf("%s: %s is %s, the model says %s", where, st.Name, st.State, state[st.Name])
			}
			if st.Chattering != chatter[st.Name] {
				t.Fatalf("%s: %s chattering %v, the model says %v", where, st.Name, st.Chattering, chatter[st.Name])
			}
			switch st.State {
			case Normal, ReturnedUnacknowledged, SuppressedByDesign, OutOfService:
				if st.Active {
					t.Fatalf("%s: %s is %s with its condition active", where, st.Name, st.State)
				}
			case Unacknowledged, Acknowledged:
				if !st.Active {
					t.Fatalf("%s: %s is %s with its condition clear", where, st.Name, st.State)
				}
			}
			if (st.State == Shelved) != !st.ShelvedUntil.IsZero() {
				t.Fatalf("%s: %s is %s with shelf expiry %v", where, st.Name, st.State, st.ShelvedUntil)
			}
			if afterStep {
				stopped := unitOf[st.Name] != "" && !running[unitOf[st.Name]]
				if st.State == Shelved && !st.ShelvedUntil.After(now) {
					t.Fatalf("%s: %s still shelved at %v, expiry %v", where, st.Name, now, st.ShelvedUntil)
				}
				// With its unit stopped an alarm is suppressed, unless it
				// waits for an acknowledgement (returned unacknowledged).
				if stopped && st.State.annunciated() && st.State != ReturnedUnacknowledged || !stopped && st.State == SuppressedByDesign {
					t.Fatalf("%s: %s is %s with its unit stopped=%v", where, st.Name, st.State, stopped)
				}
				if st.Name == "h2" && st.State != OutOfService && st.Quality.Good() && !math.IsNaN(st.Value) && st.Active != (st.Value > 8) {
					t.Fatalf("%s: h2 active=%v at value %g (limit 8, no delay)", where, st.Active, st.Value)
				}
			}
			switch st.State {
			case Unacknowledged:
				c.Unacknowledged++
			case Acknowledged:
				c.Acknowledged++
			case ReturnedUnacknowledged:
				c.ReturnedUnacknowledged++
			case Shelved:
				c.Shelved++
			case SuppressedByDesign:
				c.SuppressedByDesign++
			case OutOfService:
				c.OutOfService++
			}
			if st.Chattering {
				c.Chattering++
			}
		}
		if set.Counts() != c {
			t.Fatalf("%s: Counts() = %+v, All() says %+v", where, set.Counts(), c)
		}
	}

	// journal checks the in-memory journal: bounded, gap-free, ending at
	// the last transition seen. (Copying it costs more than the rest of an
	// iteration, so it runs now and then; a refusal that wrote the journal
	// shows anyway as a gap in the next transition's Seq.)
	journal := func() {
		t.Helper()
		j := set.Journal()
		if len(j) > settings.JournalSize || len(j) > 0 && j[len(j)-1].Seq != seq {
			t.Fatalf("journal of %d ends at seq %d, want at most %d ending at %d", len(j), j[len(j)-1].Seq, settings.JournalSize, seq)
		}
		for i := 1; i < len(j); i++ {
			if j[i].Seq != j[i-1].Seq+1 {
				t.Fatalf("journal gap: seq %d after %d", j[i].Seq, j[i-1].Seq)
			}
		}
	}

	// refused checks a refusal: a Refusal with a reason and a sentinel, and
	// nothing changed.
	refused := func(where string, err error) {
		t.Helper()
		stats.refusals++
		var ref *Refusal
		if !errors.As(err, &ref) || ref.Reason == "" {
			t.Fatalf("%s: refusal %v has no reason", where, err)
		}
		if !errors.Is(err, ErrUnknownAlarm) && !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: refusal %v wraps no sentinel", where, err)
		}
	}

	names := []string{"h", "ll", "d", "q", "h2", "dd", "nope"}
	for i := 0; i < *randomOps; i++ {
		if i%500 == 0 {
			journal()
		}
		if rng.IntN(2) == 0 {
			stats.steps++
			now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
			for _, tag := range tags {
				if rng.IntN(10) < 3 {
					q := drivers.QualityGood
					if rng.IntN(8) == 0 {
						q = qualities[rng.IntN(len(qualities))]
					}
					in[tag] = sample{values[rng.IntN(len(values))], q}
				}
			}
			for u := range running {
				if rng.IntN(30) == 0 {
					running[u] = !running[u]
				}
			}
			prev, _ := set.Status("ll")
			for _, tr := range set.Step(now, in, func(u string) bool { return running[u] }) {
				apply("step", tr, "")
			}
			invariants("step", true)
			// ll (low_low 2, deadband 0.5, no delays) follows its limit
			// with hysteresis, and holds on an untrusted input.
			if st, _ := set.Status("ll"); st.State != OutOfService && st.State != SuppressedByDesign {
				want := prev.Active && prev.State != SuppressedByDesign
				switch {
				case !running["u2"]: // shelved with its unit stopped: reset
					want = false
				case st.Quality.Good() && !math.IsNaN(st.Value):
					want = st.Value < 2 || want && st.Value < 2.5
				}
				if st.Active != want {
					t.Fatalf("ll active=%v at %g (%s), was %v: want %v", st.Active, st.Value, st.Quality, prev.Active, want)
				}
			}
			continue
		}
		stats.ops++
		name := names[rng.IntN(len(names))]
		user := "op"
		if rng.IntN(30) == 0 {
			user = ""
		}
		before, known := set.Status(name)
		var (
			tr      Transition
			err     error
			allowed bool
			op      = rng.IntN(6)
			want    = State(255) // expected target; 255: any the table allows
		)
		ok := known && user != ""
		switch op {
		case 0:
			tr, err = set.Ack(name, user, now)
			allowed = ok && (before.State == Unacknowledged || before.State == ReturnedUnacknowledged)
			want = map[State]State{Unacknowledged: Acknowledged, ReturnedUnacknowledged: Normal}[before.State]
		case 1:
			waiting := func() bool {
				for _, st := range set.All() {
					if st.State == Unacknowledged || st.State == ReturnedUnacknowledged {
						return true
					}
				}
				return false
			}
			allowed = user != "" && waiting()
			ts, err := set.AckAll(user, now)
			if (err == nil) != allowed {
				t.Fatalf("AckAll by %q: err = %v, model allows: %v", user, err, allowed)
			}
			if err != nil {
				refused("ack_all", err)
			}
			for _, tr := range ts {
				apply("ack_all", tr, user)
				if tr.To != Acknowledged && tr.To != Normal {
					t.Fatalf("AckAll moved %s to %s", tr.Alarm, tr.To)
				}
			}
			if err == nil && waiting() {
				t.Fatal("AckAll left an alarm waiting")
			}
			invariants("ack_all", false)
			continue
		case 2:
			until := now.Add(time.Duration(rng.IntN(100)-10) * time.Second)
			tr, err = set.Shelve(name, user, until, now)
			allowed = ok && before.State.annunciated() && until.After(now) && until.Sub(now) <= settings.MaxShelve
			want = Shelved
		case 3:
			tr, err = set.Unshelve(name, user, now)
			allowed = ok && before.State == Shelved
		case 4:
			tr, err = set.RemoveFromService(name, user, now)
			allowed = ok && before.State != OutOfService
			want = OutOfService
		case 5:
			tr, err = set.ReturnToService(name, user, now)
			allowed = ok && before.State == OutOfService
			want = Normal
		}
		if (err == nil) != allowed {
			t.Fatalf("op %d on %s (%s) by %q: err = %v, model allows: %v", op, name, before.State, user, err, allowed)
		}
		if err != nil {
			refused("op", err)
		} else {
			apply("op", tr, user)
			if want != 255 && tr.To != want {
				t.Fatalf("op %d on %s: went to %s, want %s", op, name, tr.To, want)
			}
		}
		invariants("op", false)
	}
	if stats.steps+stats.ops < 100_000 && !testing.Short() {
		t.Errorf("only %d operations", stats.steps+stats.ops)
	}
	journal()
	t.Logf("%d steps, %d operator calls (%d refused), %d transitions; %d of %d rules seen", stats.steps, stats.ops, stats.refusals, stats.transitions, len(ruleSeen), len(rules))
	if *randomOps >= 100_000 && len(ruleSeen) != len(rules) {
		for _, r := range rules {
			if ruleSeen[r] == 0 {
				t.Errorf("the random walk never made %s -%s-> %s", r.From, r.Reason, r.To)
			}
		}
	}
}
