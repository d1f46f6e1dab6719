package report

import (
	"slices"
	"sort"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// BatchDetail is the report of one batch.
type BatchDetail struct {
	ID            string        `json:"id"`
	Line          string        `json:"line"`
	Recipe        string        `json:"recipe"`
	RecipeVersion int           `json:"recipe_version"`
	RecipeHash    string        `json:"recipe_hash"`
	Class         string        `json:"class"`
	State         string        `json:"state"`
	User          string        `json:"user"`
	Start         time.Time     `json:"start"`
	End           time.Time     `json:"end,omitzero"`
	DurationMin   float64       `json:"duration_min"`
	TargetKg      float64       `json:"target_kg"`
	Phases        []PhaseDetail `json:"phases"`
	// Balance are the lines of the mass balance: what went in and what
	// came out, in kg.
	Balance           []BalanceLine           `json:"balance"`
	InKg              float64                 `json:"in_kg"`
	OutKg             float64                 `json:"out_kg"`
	ClosurePct        float64                 `json:"closure_pct"`
	Jams              int                     `json:"jams"`
	Reversals         int                     `json:"reversals"`
	KWh               float64                 `json:"kwh"`
	KWhPerT           float64                 `json:"kwh_per_t"`
	Energy            []EnergyLine            `json:"energy"`
	CakeDSPct         float64                 `json:"cake_ds_pct"`
	CakeDSTargetPct   float64                 `json:"cake_ds_target_pct"`
	SlurryDSPct       float64                 `json:"slurry_ds_pct"`
	SlurryDSTargetPct float64                 `json:"slurry_ds_target_pct"`
	Alarms            []records.AlarmNote     `json:"alarms"`
	Actions           []records.Action        `json:"actions"`
	Overrides         []records.Override      `json:"overrides"`
	Notes             []records.Note          `json:"notes"`
	Deliveries        []records.DeliveryShare `json:"deliveries"`
	Holds             []BatchHold             `json:"holds"`
}

// PhaseDetail is one phase with its duration and signals.
type PhaseDetail struct {
	Name        string         `json:"name"`
	Start       time.Time      `json:"start"`
	End         time.Time      `json:"end,omitzero"`
	DurationMin float64        `json:"duration_min"`
	Signals     []SignalDetail `json:"signals"`
}

// SignalDetail is a signal's set-point against what was measured;
// Deviation is Mean − Setpoint (0 without a set-point).
type SignalDetail struct {
	records.SignalStats
	Deviation float64 `json:"deviation"`
}

// BalanceLine is one line of a batch's mass balance.
type BalanceLine struct {
	Side string  `json:"side"` // "in" or "out"
	Name string  `json:"name"`
	Kg   float64 `json:"kg"`
}

// EnergyLine is one unit's energy over the batch; Metered says whether
// the unit has a meter (a unit named in Metered without energy shows 0).
type EnergyLine struct {
	Unit    string  `json:"unit"`
	KWh     float64 `json:"kwh"`
	Metered bool    `json:"metered"`
}

// BatchHold is one hold of the batch from its events: a "batch" event
// named "held" until the next batch event of the batch that is not a
// hold, or its accepted "unhold" command (End zero: not released in the
// events given).
type BatchHold struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Minutes float64   `json:"minutes"`
	Unit    string    `json:"unit"`
	Cause   string    `json:"cause"`
	User    string    `json:"user"`
}

// BatchReport makes the report of one batch; events may hold those of
// other batches, only the batch's own are read.
func BatchReport(b records.Batch, events []records.Event) *BatchDetail {
	dur := func(s, e time.Time) float64 {
		if e.IsZero() {
			return 0
		}
		return e.Sub(s).Minutes()
	}
	d := &BatchDetail{
		ID: b.ID, Line: b.Line, Recipe: b.Recipe, RecipeVersion: b.RecipeVersion, RecipeHash: b.RecipeHash,
		Class: b.WasteClass, State: string(b.State), User: b.User, Start: b.Start, End: b.End,
		DurationMin: dur(b.Start, b.End), TargetKg: b.TargetKg,
		InKg:       b.KgReceived + b.KgWater + b.KgHoldupStart,
		OutKg:      b.KgCake + b.KgFiltrate + b.KgRejects + b.KgHoldupEnd,
		ClosurePct: BatchClosure(&b), Jams: b.Jams, Reversals: b.Reversals,
		KWh: b.KWh, KWhPerT: ratio(b.KWh, b.KgReceived/1000),
		CakeDSPct: b.CakeDS, CakeDSTargetPct: b.CakeDSTarget, SlurryDSPct: b.SlurryDS, SlurryDSTargetPct: b.SlurryDSTarget,
		Alarms:     append([]records.AlarmNote{}, b.Alarms...),
		Actions:    append([]records.Action{}, b.Actions...),
		Overrides:  append([]records.Override{}, b.Overrides...),
		Notes:      append([]records.Note{}, b.Notes...),
		Deliveries: append([]records.DeliveryShare{}, b.Deliveries...),
		Phases:     []PhaseDetail{},
		Holds:      []BatchHold{},
	}
	d.Balance = []BalanceLine{
		{"in", "received", b.KgReceived},
		{"in", "water", b.KgWater},
		{"in", "hold-up at start", b.KgHoldupStart},
		{"out", "cake", b.KgCake},
		{"out", "filtrate", b.KgFiltrate},
		{"out", "rejects", b.KgRejects},
		{"out", "hold-up at end", b.KgHoldupEnd},
	}
	for _, p := range b.Phases {
		pd := PhaseDetail{Name: p.Name, Start: p.Start, End: p.End, DurationMin: dur(p.Start, p.End), Signals: []SignalDetail{}}
		for _, s := range p.Signals {
			sd := SignalDetail{SignalStats: s}
			if s.HasSP {
				sd.Deviation = s.Mean - s.Setpoint
			}
			pd.Signals = append(pd.Signals, sd)
		}
		d.Phases = append(d.Phases, pd)
	}
	units := map[string]bool{}
	for u := range b.KWhByUnit {
		units[u] = true
	}
	for _, u := range b.Metered {
		units[u] = true
	}
	names := make([]string, 0, len(units))
	for u := range units {
		names = append(names, u)
	}
	sort.Strings(names)
	d.Energy = []EnergyLine{}
	for _, u := range names {
		d.Energy = append(d.Energy, EnergyLine{Unit: u, KWh: b.KWhByUnit[u], Metered: slices.Contains(b.Metered, u) || b.Metered == nil})
	}
	d.Holds = batchHolds(b.ID, events)
	return d
}

func batchHolds(id string, events []records.Event) []BatchHold {
	var evs []records.Event
	for _, e := range events {
		if e.BatchID == id {
			evs = append(evs, e)
		}
	}
	slices.SortStableFunc(evs, func(a, b records.Event) int { return a.Time.Compare(b.Time) })
	holds := []BatchHold{}
	for i, e := range evs {
		if e.Kind != records.EventBatch || e.Name != "held" {
			continue
		}
		h := BatchHold{Start: e.Time, Unit: e.Unit, Cause: e.Message, User: e.User}
		for _, n := range evs[i+1:] {
			if (n.Kind == records.EventBatch && n.Name != "held") || (n.Kind == records.EventCommand && n.Name == "unhold") {
				h.End = n.Time
				h.Minutes = n.Time.Sub(e.Time).Minutes()
				break
			}
		}
		holds = append(holds, h)
	}
	return holds
}
