package alarm

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// t0 is plant time zero of every test; tests step a fake clock from here.
var t0 = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// sample is one tag's value in fakeInputs.
type sample struct {
	v float64
	q drivers.Quality
}

// fakeInputs is a tag table for tests; a tag never set reads as unknown.
type fakeInputs map[string]sample

func (f fakeInputs) Get(tag string) (float64, drivers.Quality) {
	s, ok := f[tag]
	if !ok {
		return 0, drivers.QualityUnknown
	}
	return s.v, s.q
}

// exercised collects the rules the deterministic tests made happen (the
// randomized test does not count), so that TestMain can prove every rule of
// the table is covered by a test that names what it expects.
var exercised = map[Rule]bool{}

// TestMain runs the tests and then, on a full unfiltered run, fails if a
// rule of the transition table was never exercised.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		var missing []string
		for _, r := range rules {
			if !exercised[r] {
				missing = append(missing, fmt.Sprintf("%s -%s-> %s", r.From, r.Reason, r.To))
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: transitions never exercised by a deterministic test:\n\t%s\n", strings.Join(missing, "\n\t"))
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "all %d transitions of the table exercised\n", len(rules))
		}
	}
	os.Exit(code)
}

// rig drives one Set with a fake clock.
type rig struct {
	t       *testing.T
	set     *Set
	now     time.Time
	in      fakeInputs
	running map[string]bool
	log     []string // every transition, formatted by format
}

func newRig(t *testing.T, settings Settings, defs ...Definition) *rig {
	t.Helper()
	s, err := NewSet(defs, settings)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	r := &rig{t: t, set: s, now: t0, in: fakeInputs{}, running: map[string]bool{}}
	for _, d := range defs {
		r.in[d.Tag] = sample{0, drivers.QualityGood}
		if d.Unit != "" {
			r.running[d.Unit] = true
		}
	}
	return r
}

// def is the alarm most tests use: high on tag x at 10, unit u.
func def(mods ...func(*Definition)) Definition {
	d := Definition{Name: "a", Tag: "x", Kind: KindHigh, Limit: 10, Priority: PriorityHigh, Unit: "u", Message: "x high"}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func (r *rig) unitRunning(u string) bool { return r.running[u] }

// format renders a transition for comparison: "<time since t0> from->to reason [by user]".
func format(t Transition) string {
	s := fmt.Sprintf("%s %s->%s %s", t.Time.Sub(t0), t.From, t.To, t.Reason)
	if t.User != "" {
		s += " by " + t.User
	}
	return s
}

// check verifies a transition against the table and the alarm's state, and
// records it.
func (r *rig) check(t Transition) {
	r.t.Helper()
	if !Legal(t.From, t.Reason, t.To) {
		r.t.Errorf("illegal transition %s", format(t))
	}
	if t.From != t.To {
		exercised[Rule{t.From, t.Reason, t.To}] = true
	}
	if t.Reason.byOperator() != (t.User != "") {
		r.t.Errorf("transition %s: reason %s with user %q", format(t), t.Reason, t.User)
	}
	r.log = append(r.log, format(t))
}

// at sets the clock to t0+d and steps.
func (r *rig) at(d time.Duration) []Transition {
	r.t.Helper()
	r.now = t0.Add(d)
	ts := r.set.Step(r.now, r.in, r.unitRunning)
	for _, t := range ts {
		r.check(t)
	}
	return ts
}

// val sets tag x (or the named tag) good with value v.
func (r *rig) val(v float64) { r.in["x"] = sample{v, drivers.QualityGood} }

func (r *rig) qual(q drivers.Quality) {
	s := r.in["x"]
	s.q = q
	r.in["x"] = s
}

// op runs an operator call and records its transition; it fails the test
// on a refusal.
func (r *rig) op(ts Transition, err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("operation refused: %v", err)
	}
	r.check(ts)
}

func (r *rig) ack(name string)    { r.t.Helper(); r.op(r.set.Ack(name, "ann", r.now)) }
func (r *rig) unshelve(n string)  { r.t.Helper(); r.op(r.set.Unshelve(n, "ann", r.now)) }
func (r *rig) remove(name string) { r.t.Helper(); r.op(r.set.RemoveFromService(name, "eng", r.now)) }
func (r *rig) restore(name string) {
	r.t.Helper()
	r.op(r.set.ReturnToService(name, "eng", r.now))
}
func (r *rig) shelve(name string, d time.Duration) {
	r.t.Helper()
	r.op(r.set.Shelve(name, "ann", r.now.Add(d), r.now))
}

func (r *rig) state(name string) State {
	st, ok := r.set.Status(name)
	if !ok {
		r.t.Fatalf("no alarm %s", name)
	}
	return st.State
}

// into brings alarm "a" of a rig made with def() into state s at the
// current time (which must leave room for a step at +1s).
func (r *rig) into(s State) {
	r.t.Helper()
	base := r.now.Sub(t0)
	switch s {
	case Normal:
	case Unacknowledged:
		r.val(11)
		r.at(base + time.Second)
	case Acknowledged:
		r.into(Unacknowledged)
		r.ack("a")
	case ReturnedUnacknowledged:
		r.into(Unacknowledged)
		r.val(0)
		r.at(base + 2*time.Second)
	case Shelved:
		r.shelve("a", time.Hour)
	case SuppressedByDesign:
		r.running["u"] = false
		r.at(base + time.Second)
	case OutOfService:
		r.remove("a")
	}
	if got := r.state("a"); got != s {
		r.t.Fatalf("into(%s): alarm is %s", s, got)
	}
}
