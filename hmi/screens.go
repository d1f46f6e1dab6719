package hmi

import (
	"context"
	"time"
)

// newScreens builds every screen, in the order of their number keys: 1 is
// the overview.
func (h *hmi) newScreens() []screen {
	return []screen{
		newOverview(h),
	}
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
