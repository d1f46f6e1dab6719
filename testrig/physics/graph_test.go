package physics

import (
	"math"
	"strings"
	"testing"
	"time"
)

// twoLane is an integrator's line: two feeders and two shredders in
// parallel onto one belt conveyor, a depackager, the pulper, two press
// feed pumps and two presses into one filtrate tank.
func twoLane() []UnitSpec {
	return []UnitSpec{
		{Name: "reception", Kind: KindReception},
		{Name: "feeder_a", Kind: KindFeeder, FedBy: []string{"reception"}},
		{Name: "feeder_b", Kind: KindFeeder, FedBy: []string{"reception"}},
		{Name: "shredder_a", Kind: KindShredder, FedBy: []string{"feeder_a"}},
		{Name: "shredder_b", Kind: KindShredder, FedBy: []string{"feeder_b"}},
		{Name: "belt", Kind: KindBeltConveyor, FedBy: []string{"shredder_a", "shredder_b"}},
		{Name: "depackager", Kind: KindDepackager, FedBy: []string{"belt"}},
		{Name: "pulper", Kind: KindPulper, FedBy: []string{"depackager"}},
		{Name: "press_feed_a", Kind: KindPump, Suction: "pulper"},
		{Name: "press_feed_b", Kind: KindPump, Suction: "pulper"},
		{Name: "press_a", Kind: KindScrewPress, FedBy: []string{"press_feed_a"}},
		{Name: "press_b", Kind: KindScrewPress, FedBy: []string{"press_feed_b"}},
		{Name: "filtrate_tank", Kind: KindTank, FedBy: []string{"press_a", "press_b"}},
		{Name: "filtrate_pump", Kind: KindPump, Suction: "filtrate_tank"},
	}
}

// checkGraphBalance fails the test when In − Held − Out (Line.Balance) is
// off by more than 1e-6 of what came in, in total or dry mass.
func checkGraphBalance(t testing.TB, l *Line, when string) MassBalance {
	t.Helper()
	b := l.Balance()
	scale := math.Max(1, b.In)
	if r, rd := b.In-b.Held-b.Out, b.InDry-b.HeldDry-b.OutDry; math.Abs(r) > 1e-6*scale || math.Abs(rd) > 1e-6*scale {
		t.Fatalf("%s at %v: mass residual %g kg, dry residual %g kg (in %g kg)", when, l.Elapsed(), r, rd, b.In)
	}
	return b
}

// TestTwoLaneBatch runs 800 kg of packaged waste through the two-lane
// line with commands set directly, with a jam on one shredder, a slipping
// belt and a pulled cord on the way.
func TestTwoLaneBatch(t *testing.T) {
	l, err := NewPlant(5, ClassPackaged, twoLane())
	if err != nil {
		t.Fatal(err)
	}
	l.SetHardObjectRate(0)
	if err := l.SetPressFeedControlOf("press_feed_b", PressFeedPump); err != nil {
		t.Fatal(err)
	}
	set := func(role string, v float64) { t.Helper(); mustSet(t, l, role, v) }
	get := func(role string) float64 { t.Helper(); return mustGet(t, l, role) }
	// Downstream first.
	for _, p := range []string{"press_a", "press_b"} {
		set(p+".back_pressure_sp", 3)
		set(p+".speed_sp", 15)
		set(p+".run_cmd", 1)
	}
	set("press_feed_b.speed_sp", 60)
	set("press_feed_b.run_cmd", 1)
	set("pulper.mixer_cmd", 1)
	set("pulper.water_flow_sp", 3.5) // ≈ 2 kg per kg of waste for 10 % DS
	set("pulper.water_cmd", 1)
	set("depackager.run_cmd", 1)
	set("belt.speed_sp", 100)
	set("belt.run_cmd", 1)
	for _, s := range []string{"shredder_a", "shredder_b"} {
		set(s+".speed_sp", 20)
		set(s+".run_cmd", 1)
	}
	for _, f := range []string{"feeder_a", "feeder_b"} {
		set(f+".speed_sp", 60)
		set(f+".run_cmd", 1)
	}
	l.Tip(800)

	const dt = 250 * time.Millisecond
	// delivered integrates the belt's delivery over d.
	delivered := func(d time.Duration) float64 {
		kg := 0.0
		for end := l.Elapsed() + d; l.Elapsed() < end; {
			l.Step(dt)
			kg += get("belt.throughput") * dt.Seconds()
			checkGraphBalance(t, l, "running")
		}
		return kg
	}
	normal := delivered(90 * time.Second)

	// A jam on shredder_a: it stalls, shredder_b runs on, the belt carries.
	if err := l.StartJamOn("shredder_a", 1); err != nil {
		t.Fatal(err)
	}
	jammed := delivered(20 * time.Second)
	if get("shredder_a.jammed") != 1 || get("shredder_a.throughput") != 0 {
		t.Fatalf("shredder_a jammed %g, throughput %g; want jammed, 0", get("shredder_a.jammed"), get("shredder_a.throughput"))
	}
	if get("shredder_b.running") != 1 || get("shredder_b.throughput") <= 0 || get("shredder_b.jammed") != 0 {
		t.Fatalf("shredder_b running %g, throughput %g, jammed %g: the jam on shredder_a stopped it", get("shredder_b.running"), get("shredder_b.throughput"), get("shredder_b.jammed"))
	}
	if jammed <= 0 || get("belt.throughput") <= 0 {
		t.Fatalf("belt delivered %g kg in 20 s with shredder_a jammed; want material still flowing", jammed)
	}
	t.Logf("belt delivery: %.1f kg in 90 s normally, %.1f kg in 20 s with shredder_a jammed", normal, jammed)
	// Clear it as a controller would: stop, reverse once, forwards again.
	set("shredder_a.run_cmd", 0)
	delivered(4 * time.Second)
	set("shredder_a.reverse_cmd", 1)
	set("shredder_a.run_cmd", 1)
	delivered(3 * time.Second)
	set("shredder_a.run_cmd", 0)
	set("shredder_a.reverse_cmd", 0)
	delivered(3 * time.Second)
	set("shredder_a.run_cmd", 1)
	if get("shredder_a.overload") == 1 {
		t.Fatal("shredder_a tripped on the jam")
	}
	delivered(20 * time.Second)
	if get("shredder_a.jammed") != 0 || get("shredder_a.throughput") <= 0 {
		t.Fatalf("shredder_a after one reversal: jammed %g, throughput %g", get("shredder_a.jammed"), get("shredder_a.throughput"))
	}

	// A slipping belt carries less.
	before := delivered(30 * time.Second)
	if err := l.SetBeltSlip("belt", 0.3); err != nil {
		t.Fatal(err)
	}
	delivered(20 * time.Second)
	slipping := delivered(30 * time.Second)
	if v := get("belt.belt_speed"); math.Abs(v-30) > 1e-9 || get("belt.speed") != 100 {
		t.Fatalf("slipping belt: belt_speed %g %%, drive %g %%; want 30, 100", v, get("belt.speed"))
	}
	if slipping >= 0.75*before {
		t.Fatalf("slipping belt delivered %.1f kg in 30 s, %.1f before; want clearly less", slipping, before)
	}
	t.Logf("belt delivery in 30 s: %.1f kg, %.1f kg slipping at 30 %%", before, slipping)
	if err := l.SetBeltSlip("belt", 1); err != nil {
		t.Fatal(err)
	}

	// A pulled cord stops the belt at once, until reset and restarted.
	delivered(10 * time.Second)
	if err := l.SetPullCord("belt", true); err != nil {
		t.Fatal(err)
	}
	if get("belt.running") != 0 || get("belt.belt_speed") != 0 || get("belt.pull_cord_ok") != 0 {
		t.Fatalf("pull cord: running %g, belt_speed %g, pull_cord_ok %g; want 0, 0, 0", get("belt.running"), get("belt.belt_speed"), get("belt.pull_cord_ok"))
	}
	if kg := delivered(10 * time.Second); kg != 0 || get("belt.running") != 0 {
		t.Fatalf("belt delivered %g kg, running %g with the cord pulled", kg, get("belt.running"))
	}
	_ = l.SetPullCord("belt", false)
	delivered(2 * time.Second)
	if get("belt.running") != 0 {
		t.Fatal("belt restarted by itself after the cord was reset")
	}
	set("belt.run_cmd", 0)
	delivered(time.Second)
	set("belt.run_cmd", 1)
	delivered(5 * time.Second)
	if get("belt.running") != 1 || get("belt.pull_cord_ok") != 1 {
		t.Fatalf("after reset and a new run command: running %g, pull_cord_ok %g", get("belt.running"), get("belt.pull_cord_ok"))
	}

	// Run the batch out: water off once nothing is left upstream of the
	// pulper, then the presses empty it.
	for l.Elapsed() < 2*time.Hour {
		up := get("hopper.mass") + get("shredder_a.holdup") + get("shredder_b.holdup") + get("belt.holdup") + get("depackager.holdup")
		if up < 1e-9 {
			set("pulper.water_cmd", 0)
			if get("pulper.mass") < 1e-9 && get("pulper.water_flow") == 0 {
				break
			}
		}
		delivered(time.Second)
	}
	b := checkGraphBalance(t, l, "end")
	in := get("waste_in.total")
	rejects := get("depackager.rejects_total")
	cake := get("press_a.cake_total") + get("press_b.cake_total")
	filtrate := get("filtrate.total")
	if in != 800 {
		t.Fatalf("waste in %g kg, want 800", in)
	}
	if frac := rejects / in; frac < 0.10 || frac > 0.30 {
		t.Errorf("rejects %.1f kg = %.1f %% of the waste; want 10–30 %% for packaged waste", rejects, 100*frac)
	}
	if get("shredder_a.rejects_total")+get("shredder_b.rejects_total") != 0 {
		t.Error("the shredders' screens rejected material on a line with a depackager")
	}
	if get("press_a.cake_total") <= 0 || get("press_b.cake_total") <= 0 {
		t.Errorf("cake: press_a %g kg, press_b %g kg; want both presses dewatering", get("press_a.cake_total"), get("press_b.cake_total"))
	}
	water := get("pulper.water_total")
	closure := (in + water - (cake + filtrate + rejects)) / (in + water)
	if math.Abs(closure) > 1e-6 {
		t.Errorf("closure %g: in %g + water %g, out cake %g + filtrate %g + rejects %g", closure, in, water, cake, filtrate, rejects)
	}
	t.Logf("two-lane batch at %v: in %.1f kg waste + %.1f kg water; cake %.1f kg (press_a %.1f, press_b %.1f), filtrate %.1f kg, rejects %.1f kg (%.1f %%); closure %.2g (total), %.2g (dry); still held %.1f kg (filtrate tank %.1f kg)",
		l.Elapsed(), in, water, cake, get("press_a.cake_total"), get("press_b.cake_total"), filtrate, rejects, 100*rejects/in,
		closure, (b.InDry-b.HeldDry-b.OutDry)/b.InDry, b.Held, get("filtrate.tank_mass"))
}

// TestDepackagerRejectsByClass: the depackager's reject fraction stays in
// each class's range, load by load and over a batch.
func TestDepackagerRejectsByClass(t *testing.T) {
	for _, tc := range []struct {
		class  WasteClass
		lo, hi float64
	}{
		{ClassPackaged, 0.10, 0.30},
		{ClassHousehold, 0.02, 0.06},
		{ClassCatering, 0, 0.02},
		{ClassMarketVeg, 0, 0.02},
		{ClassBakery, 0, 0.02},
	} {
		t.Run(string(tc.class), func(t *testing.T) {
			l, err := NewPlant(11, tc.class, []UnitSpec{
				{Name: "tipping", Kind: KindReception},
				{Name: "screw", Kind: KindFeeder, FedBy: []string{"tipping"}},
				{Name: "depack", Kind: KindDepackager, FedBy: []string{"screw"}},
				{Name: "mix", Kind: KindPulper, FedBy: []string{"depack"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			mustSet(t, l, "depack.run_cmd", 1)
			mustSet(t, l, "screw.speed_sp", 100)
			mustSet(t, l, "screw.run_cmd", 1)
			if err := l.TipInto("tipping", 3000); err != nil {
				t.Fatal(err)
			}
			seen := map[float64]bool{}
			for l.Elapsed() < time.Hour && (mustGet(t, l, "tipping.mass") > 0 || mustGet(t, l, "depack.holdup") > 1e-9) {
				l.Step(time.Second)
				f, _ := l.DepackagerRejectFraction("depack")
				if f != 0 {
					seen[f] = true
					if f < tc.lo || f > tc.hi {
						t.Fatalf("load reject fraction %.4f outside %.2f–%.2f", f, tc.lo, tc.hi)
					}
				}
			}
			checkGraphBalance(t, l, "end")
			frac := mustGet(t, l, "depack.rejects_total") / 3000
			if frac < tc.lo || frac > tc.hi {
				t.Errorf("batch reject fraction %.4f outside %.2f–%.2f", frac, tc.lo, tc.hi)
			}
			if len(seen) < 5 {
				t.Errorf("%d different load fractions in 3 t; want one per 500 kg", len(seen))
			}
			t.Logf("%s: %.2f %% rejects over 3 t (%d loads)", tc.class, 100*frac, len(seen))
		})
	}
}

// TestDefaultLayoutBalance: Line.Balance closes on the sample plant's line
// too, and agrees with the balance written in its old role names.
func TestDefaultLayoutBalance(t *testing.T) {
	l := New(2, ClassCatering)
	runBatch(t, l, 100*time.Millisecond)
	b := checkGraphBalance(t, l, "after a batch")
	total, dry, scale := balance(t, l)
	if math.Abs(total) > 1e-6*scale || math.Abs(dry) > 1e-6*scale {
		t.Fatalf("old balance residuals %g, %g", total, dry)
	}
	if math.Abs(b.In-mustGet(t, l, "waste_in.total")-mustGet(t, l, "pulper.water_total")) > 1e-9 {
		t.Fatalf("Balance().In = %g", b.In)
	}
}

// TestLayoutErrors: NewPlant refuses layouts it cannot simulate, saying why.
func TestLayoutErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout []UnitSpec
		want   string
	}{
		{"empty", []UnitSpec{}, "no units"},
		{"unknown kind", []UnitSpec{{Name: "r", Kind: "hopper"}}, `kind "hopper" is not known`},
		{"unknown feeder", []UnitSpec{{Name: "r", Kind: KindReception}, {Name: "f", Kind: KindFeeder, FedBy: []string{"x"}}}, `fed by "x", which is not in the layout`},
		{"duplicate", []UnitSpec{{Name: "r", Kind: KindReception}, {Name: "r", Kind: KindReception}}, "named twice"},
		{"cycle", []UnitSpec{
			{Name: "r", Kind: KindReception},
			{Name: "s1", Kind: KindShredder, FedBy: []string{"s2"}},
			{Name: "s2", Kind: KindShredder, FedBy: []string{"s1"}},
		}, "cycle"},
		{"store into shredder", []UnitSpec{{Name: "r", Kind: KindReception}, {Name: "s", Kind: KindShredder, FedBy: []string{"r"}}}, "put a feeder, belt conveyor or pump between them"},
		{"pump fed_by", []UnitSpec{{Name: "t", Kind: KindTank}, {Name: "p", Kind: KindPump, FedBy: []string{"t"}}}, "Suction"},
		{"role clash", []UnitSpec{
			{Name: "reception", Kind: KindReception},
			{Name: "hopper", Kind: KindReception},
		}, `role "hopper.weight"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPlant(1, ClassCatering, tc.layout)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewPlant: %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewPlant(1, "compost", nil); err == nil {
		t.Fatal("NewPlant accepted an unknown class")
	}
	l, err := NewPlant(1, ClassCatering, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(l.Units()), len(DefaultLayout()); got != want {
		t.Fatalf("nil layout built %d units, want the default %d", got, want)
	}
}
