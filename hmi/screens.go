package hmi

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// screenMakers build the screens, by number key (1 is the overview).
// Each screen's file registers itself in an init function, so that screens
// can be added without touching a shared list. Screens reached only from
// another (a faceplate, a batch record) register with a number above 9.
var screenMakers = map[int]func(h *hmi) screen{1: func(h *hmi) screen { return newOverview(h) }}

// registerScreen adds a screen maker under its number.
func registerScreen(number int, make func(h *hmi) screen) {
	if _, dup := screenMakers[number]; dup {
		panic(fmt.Sprintf("hmi: two screens with number %d", number))
	}
	screenMakers[number] = make
}

// newScreens builds every screen, in the order of their numbers: 1 is the
// overview. A missing number leaves its key unused.
func (h *hmi) newScreens() []screen {
	nums := make([]int, 0, len(screenMakers))
	for n := range screenMakers {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	out := make([]screen, 0, len(nums))
	for _, n := range nums {
		out = append(out, screenMakers[n](h))
	}
	h.numbers = nums
	return out
}

// Trainer injects and clears faults in a simulated plant, for the training
// menu. The demo passes its test rig's control client.
type Trainer interface {
	// Kinds lists the fault kinds the plant can simulate.
	Kinds(ctx context.Context) ([]FaultKind, error)
	// Active lists the faults in force.
	Active(ctx context.Context) ([]Fault, error)
	// Inject starts a fault and returns its id.
	Inject(ctx context.Context, kind, target string) (string, error)
	// Clear ends one fault; ClearAll every one.
	Clear(ctx context.Context, id string) error
	ClearAll(ctx context.Context) error
}

// FaultKind is a fault the simulated plant can take: its kind, what it
// does, and the targets it may have (empty: none needed).
type FaultKind struct {
	Kind    string
	Text    string
	Targets []string
}

// Fault is one fault in force in the simulated plant.
type Fault struct {
	ID     string
	Kind   string
	Target string
	Since  time.Time
}
