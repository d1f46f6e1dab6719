package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/testrig"
)

// plantLocation is the plant's time zone (UTC when the plant file gives
// none).
func plantLocation(cfg *plant.File) *time.Location {
	loc, _, _ := cfg.Calendar()
	return loc
}

// The demo's weighbridge: trucks from several suppliers arrive at the
// reception, each load is weighed in and out and booked as a delivery,
// and the demo operator processes the loads first in, first out with the
// recipe of the class each one declares. Now and then a load is not what
// its supplier declared (expired packaged food in a "catering" load); the
// reception finds it at tipping and the rig tips what the load really is.
//
// The loads of a day are drawn from the seed and the day alone, so a demo
// started again on the same data directory books the same tickets (the
// controller refuses a ticket twice) and two demos with one seed agree.

// demoSupplier is one customer of the demo plant: what it sends, who
// hauls it, and how big its loads are.
type demoSupplier struct {
	name, haulier string
	class, ewc    string
	vehicles      []string
	tareKg        float64 // the truck's tare
	netKg         float64 // typical net load
	weight        float64 // share of the day's loads
}

// The demo's customers (invented names). EWC codes: 20 01 08 biodegradable
// kitchen and canteen waste, 20 03 02 waste from markets, 02 06 01
// materials unsuitable for consumption or processing (bakery).
var demoSuppliers = []demoSupplier{
	{"Harbour View Hotels", "Kwai Chung Haulage", "catering", "20 01 08", []string{"WX 4127", "WX 4130"}, 6200, 2600, 3},
	{"Tsuen Wan Canteens", "Kwai Chung Haulage", "catering", "20 01 08", []string{"WX 4133"}, 4800, 1500, 2},
	{"Sheung Shui Wholesale Market", "New Territories Recycling", "market_veg", "20 03 02", []string{"LV 882", "LV 885"}, 7400, 3200, 3},
	{"Golden Crust Bakeries", "Golden Crust (own fleet)", "bakery", "02 06 01", []string{"GC 19"}, 3900, 900, 1.5},
}

// The class a mis-declared load really is.
const misDeclaredClass = "packaged"

// plannedDelivery is one load the weighbridge will book, and the class the
// rig tips when it is processed.
type plannedDelivery struct {
	records.Delivery
	tipClass string
}

// demoLoadsPerDay is the mean number of loads a day: about 32 t, near what
// the sample line processes in a day of the demo's mix of batches (about
// 1.5 t/h while it runs: 2.2 t/h of catering, 0.9 t/h of bakery waste), so
// that the reception fills by day, empties by night and the line waits
// now and then.
const demoLoadsPerDay = 14

// dayLoads returns the loads arriving on the plant-local day that starts
// at dayStart (midnight in loc), in time order, drawn from seed and the
// date alone. Trucks come from 05:00 to 23:00, most in the morning.
func dayLoads(seed int64, dayStart time.Time, line string) []plannedDelivery {
	y, m, d := dayStart.Date()
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(y*10000+int(m)*100+d)))
	n := demoLoadsPerDay - 3 + rng.IntN(7)
	total := 0.0
	for _, s := range demoSuppliers {
		total += s.weight
	}
	times := make([]time.Duration, n)
	for i := range times {
		// Two humps: the morning collection round and the evening one.
		h := 5 + 18*rng.Float64()
		if rng.Float64() < 0.6 {
			h = 6 + 5*math.Abs(rng.NormFloat64()*0.5+0.5)
		}
		times[i] = time.Duration(math.Min(h, 23.9)*3600) * time.Second
	}
	sortDurations(times)
	out := make([]plannedDelivery, 0, n)
	for i, at := range times {
		pick := rng.Float64() * total
		s := demoSuppliers[len(demoSuppliers)-1]
		for _, c := range demoSuppliers {
			if pick < c.weight {
				s = c
				break
			}
			pick -= c.weight
		}
		net := math.Round(s.netKg*(0.7+0.6*rng.Float64())/10) * 10
		tare := math.Round(s.tareKg*(0.98+0.04*rng.Float64())/10) * 10
		p := plannedDelivery{tipClass: s.class}
		p.Delivery = records.Delivery{
			Ticket:     fmt.Sprintf("WB-%04d%02d%02d-%s-%03d", y, m, d, line, i+1),
			Line:       line,
			Time:       dayStart.Add(at),
			Supplier:   s.name,
			Haulier:    s.haulier,
			Vehicle:    s.vehicles[rng.IntN(len(s.vehicles))],
			WasteClass: s.class,
			EWC:        s.ewc,
			GrossKg:    tare + net,
			TareKg:     tare,
			NetKg:      net,
			Operator:   "weighbridge",
		}
		// About one load in twenty from the catering and bakery customers
		// holds expired packaged food; the reception sees it at tipping.
		if (s.class == "catering" || s.class == "bakery") && rng.Float64() < 0.07 {
			p.tipClass = misDeclaredClass
			p.FoundClass = misDeclaredClass
			p.Notes = "inspection at tipping: expired packaged food in the load"
		}
		out = append(out, p)
	}
	return out
}

func sortDurations(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// weighbridge books the planned loads as plant time reaches them.
type weighbridge struct {
	seed int64
	line string
	loc  *time.Location
	// day is the local midnight of the day planned; plan its loads, next
	// the index of the first not yet booked.
	day  time.Time
	plan []plannedDelivery
	next int
	// tip is the class the rig tips for each ticket booked.
	tip map[string]string
}

func newWeighbridge(seed int64, line string, loc *time.Location) *weighbridge {
	return &weighbridge{seed: seed, line: line, loc: loc, tip: map[string]string{}}
}

func localMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// due returns the loads that arrived after the last call up to now. On
// its first call it also returns the loads of the last backlog hours
// before now, so that a demo started at any hour finds waste waiting.
func (w *weighbridge) due(now time.Time, backlog time.Duration) []records.Delivery {
	var out []records.Delivery
	if w.day.IsZero() {
		from := now.Add(-backlog)
		w.day = localMidnight(from, w.loc)
		w.plan = dayLoads(w.seed, w.day, w.line)
		for w.next < len(w.plan) && w.plan[w.next].Time.Before(from) {
			w.next++
		}
	}
	for {
		for w.next < len(w.plan) && !w.plan[w.next].Time.After(now) {
			p := w.plan[w.next]
			w.tip[p.Ticket] = p.tipClass
			out = append(out, p.Delivery)
			w.next++
		}
		if w.next < len(w.plan) {
			return out
		}
		nextDay := localMidnight(w.day.Add(36*time.Hour), w.loc)
		if nextDay.After(now) {
			return out
		}
		w.day, w.plan, w.next = nextDay, dayLoads(w.seed, nextDay, w.line), 0
	}
}

// tipClass is the class the rig tips for the load with this ticket: what
// it really is.
func (w *weighbridge) tipClass(d records.Delivery) string {
	if c, ok := w.tip[d.Ticket]; ok {
		return c
	}
	if d.FoundClass != "" {
		return d.FoundClass
	}
	return d.WasteClass
}

// demoOperator plays the operator in the demo: it resets the line at
// power-up, unholds a line the controller held once it has had time to
// clear the cause (demoClearAfter), books the loads the weighbridge weighs, starts a batch
// whenever the line is Idle and a load waits (with the recipe of the
// oldest load's declared class, the rig tipping what the load really is),
// and resets a Complete line. Without a weighbridge it starts recipe
// whenever the line is Idle. It never unholds, clears or resets a line a
// person held or stopped: those wait for a person.
//
// With manual set, a person runs the line from the HMI: the operator only
// books the loads the weighbridge weighs and, when a batch starts, has the
// rig tip what the oldest waiting load really is (the controller gives a
// batch the oldest loads first); it sends no command.
type demoOperator struct {
	client *api.Client
	recipe string
	rig    *testrig.Rig // nil: no weighbridge
	bridge *weighbridge
	manual bool
}

// demoBacklog is how much of the loads before a demo's start are waiting
// at the reception when it starts.
const demoBacklog = 3 * time.Hour

// demoClearAfter is how long the demo operator takes to go to a line the
// controller held (a jam the reversals could not clear, a tripped drive),
// clear the cause and unhold it: plant time.
const demoClearAfter = 10 * time.Minute

func (o *demoOperator) run(ctx context.Context) {
	started := false
	var heldSince time.Time
	lastBatch := ""
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := o.client.Status(ctx)
		if err != nil {
			continue
		}
		if o.bridge != nil {
			for _, d := range o.bridge.due(st.Time, demoBacklog) {
				// A ticket booked by an earlier run on this data
				// directory is refused as a duplicate: nothing to do.
				_, _ = o.client.AddDelivery(ctx, d)
			}
		}
		if o.manual {
			if st.Batch != nil && st.Batch.ID != lastBatch {
				lastBatch = st.Batch.ID
				if o.bridge != nil {
					if next := o.oldestWaiting(ctx, st.Time); next != nil {
						_ = o.rig.SetClass(o.bridge.tipClass(*next), 0)
					}
				}
			}
			continue
		}
		if st.State != "Held" {
			heldSince = time.Time{}
		}
		switch st.State {
		case "Idle":
			o.startNext(ctx, st.Time)
		case "Held":
			// The controller held the line (a person's hold says "held
			// by"): after a while the operator has cleared the cause on
			// site, acknowledges the alarms and unholds. An unhold the
			// controller refuses (the cause is still there) is tried
			// again later.
			if strings.HasPrefix(st.Message, "held by ") || !started {
				break
			}
			if heldSince.IsZero() {
				heldSince = st.Time
			}
			if st.Time.Sub(heldSince) >= demoClearAfter {
				_, _ = o.client.Send(ctx, api.Command{Command: api.CommandAckAll, User: "demo-auto"})
				_, _ = o.client.Send(ctx, api.Command{Command: api.CommandUnhold, User: "demo-auto"})
				heldSince = st.Time
			}
		case "Stopped", "Complete":
			// Stopped only at power-up here: a stop, abort or hold by a
			// person leaves Stopped/Aborted/Held, which it does not touch
			// after the first batch.
			if st.State == "Complete" || !started {
				_, _ = o.client.Send(ctx, api.Command{Command: api.CommandReset, User: "demo-auto"})
			}
		}
		if st.Batch != nil {
			started = true
		}
	}
}

// startNext starts the batch for the oldest load not yet processed, or
// the demo recipe without a weighbridge.
func (o *demoOperator) startNext(ctx context.Context, now time.Time) {
	if o.bridge == nil {
		_, _ = o.client.Send(ctx, api.Command{Command: api.CommandStart, Recipe: o.recipe, User: "demo-auto"})
		return
	}
	next := o.oldestWaiting(ctx, now)
	if next == nil {
		return // nothing waiting: the line stays Idle
	}
	rs, err := o.client.Recipes(ctx)
	if err != nil {
		return
	}
	recipe := o.recipe
	for _, r := range rs {
		if r.WasteClass == next.WasteClass && r.State == "approved" {
			recipe = r.Name
			break
		}
	}
	if err := o.rig.SetClass(o.bridge.tipClass(*next), 0); err != nil {
		return
	}
	_, _ = o.client.Send(ctx, api.Command{Command: api.CommandStart, Recipe: recipe, User: "demo-auto"})
}

// oldestWaiting returns the oldest load booked in the last 30 days that is
// not yet processed, or nil.
func (o *demoOperator) oldestWaiting(ctx context.Context, now time.Time) *records.Delivery {
	ds, err := o.client.Deliveries(ctx, now.Add(-30*24*time.Hour), now.Add(time.Minute))
	if err != nil {
		return nil
	}
	for i := range ds {
		if ds[i].KgProcessed < ds[i].NetKg-1 {
			return &ds[i]
		}
	}
	return nil
}
