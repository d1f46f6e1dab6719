package physics

import (
	"math"
	"testing"
	"time"
)

func mustGet(t testing.TB, l *Line, role string) float64 {
	t.Helper()
	v, ok := l.Get(role)
	if !ok {
		t.Fatalf("Get(%q): role not found", role)
	}
	return v
}

func mustSet(t testing.TB, l *Line, role string, v float64) {
	t.Helper()
	if !l.Set(role, v) {
		t.Fatalf("Set(%q, %g) = false, want true", role, v)
	}
}

// balance returns the total-mass and dry-mass residuals (in - out - stock)
// and the scale to judge them against.
func balance(t testing.TB, l *Line) (total, dry, scale float64) {
	g := func(r string) float64 { return mustGet(t, l, r) }
	in := g("waste_in.total") + g("pulper.water_total")
	out := g("cake.total") + g("filtrate.total") + g("hopper.mass") + g("shredder.holdup") + g("pulper.mass") + g("rejects.total")
	dryIn := g("waste_in.dry_mass")
	dryOut := g("cake.dry_mass") + g("filtrate.dry_mass") + g("hopper.dry_mass") + g("shredder.holdup_dry") + g("pulper.dry_mass") + g("rejects.dry_mass")
	return in - out, dryIn - dryOut, math.Max(1, in)
}

// startLine starts the line downstream first with a recipe for class and
// dilution water sized for a 10 % DS slurry.
func startLine(t testing.TB, l *Line) {
	props, _ := l.Class().Properties()
	mustSet(t, l, "press.back_pressure_sp", 3)
	mustSet(t, l, "press.speed_sp", 15)
	mustSet(t, l, "press.run_cmd", 1)
	mustSet(t, l, "pulper.mixer_cmd", 1)
	mustSet(t, l, "shredder.speed_sp", 20)
	mustSet(t, l, "shredder.run_cmd", 1)
	mustSet(t, l, "feeder.speed_sp", 60)
	mustSet(t, l, "feeder.run_cmd", 1)
	feed := 2.0 * 0.6
	ratio := math.Max(0, props.DSPercent/10-1)
	mustSet(t, l, "pulper.water_flow_sp", ratio*feed)
	mustSet(t, l, "pulper.water_cmd", b2f(ratio > 0))
}

// quiet returns a line of class with no random hard objects, for tests of
// behaviour other than jams.
func quiet(seed int64, class WasteClass) *Line {
	l := New(seed, class)
	l.SetHardObjectRate(0)
	return l
}

// runBatch tips about 400 kg and runs the line until it is empty, clearing
// jams as a shredder controller does, and checks the mass balance after
// every step.
func runBatch(t *testing.T, l *Line, step time.Duration) *jamHandler {
	check := func(when string) {
		t.Helper()
		total, dry, scale := balance(t, l)
		if math.Abs(total) > 1e-6*scale || math.Abs(dry) > 1e-6*scale {
			t.Fatalf("%s at t=%v: mass residual %g kg, dry residual %g kg (scale %g kg)", when, l.Elapsed(), total, dry, scale)
		}
	}
	startLine(t, l)
	jh := newJamHandler(t, l)
	mustSet(t, l, "reception.door_cmd", 1)
	for mustGet(t, l, "waste_in.total") < 400 {
		jh.step(step)
		check("filling")
	}
	mustSet(t, l, "reception.door_cmd", 0)
	deadline := l.Elapsed() + 2*time.Hour
	for mustGet(t, l, "hopper.mass")+mustGet(t, l, "shredder.holdup") > 0 {
		jh.step(step)
		check("feeding")
		if l.Elapsed() > deadline {
			t.Fatalf("hopper not empty after 2 h: hopper %g kg, holdup %g kg", mustGet(t, l, "hopper.mass"), mustGet(t, l, "shredder.holdup"))
		}
	}
	mustSet(t, l, "pulper.water_cmd", 0)
	for mustGet(t, l, "pulper.mass") > 0 || mustGet(t, l, "pulper.water_flow") > 0 {
		l.Step(step)
		check("draining")
		if l.Elapsed() > deadline {
			t.Fatalf("pulper not empty after 2 h: %g kg", mustGet(t, l, "pulper.mass"))
		}
	}
	return jh
}

func TestMassBalancePerClass(t *testing.T) {
	for _, class := range WasteClasses() {
		t.Run(string(class), func(t *testing.T) {
			props, _ := class.Properties()
			l := New(1, class)
			// Far more hard objects than any class brings (15 per tonne,
			// about 6 in the batch), so that every batch jams and reverses.
			l.SetHardObjectRate(15)
			jh := runBatch(t, l, 100*time.Millisecond)
			if jh.jams == 0 {
				t.Errorf("no jam in the batch at %g hard objects per tonne", l.HardObjectRate())
			}

			wasteIn := mustGet(t, l, "waste_in.total")
			if wasteIn < 400 || wasteIn > 401 {
				t.Errorf("waste_in.total = %g kg, want 400..401", wasteIn)
			}
			if got, want := mustGet(t, l, "rejects.total"), wasteIn*props.RejectFraction; math.Abs(got-want) > 1e-9*wasteIn {
				t.Errorf("rejects.total = %g kg, want %g", got, want)
			}
			cake, filtrate := mustGet(t, l, "cake.total"), mustGet(t, l, "filtrate.total")
			if cake <= 0 || filtrate <= 0 {
				t.Errorf("cake %g kg, filtrate %g kg: want both > 0", cake, filtrate)
			}
			cakeDS := mustGet(t, l, "cake.dry_mass") / cake * 100
			if cakeDS < 20 || cakeDS > 45 {
				t.Errorf("mean cake DS = %.1f %%, want 20..45", cakeDS)
			}
			filtrateDS := mustGet(t, l, "filtrate.dry_mass") / filtrate * 100
			if filtrateDS < 1 || filtrateDS > 8 {
				t.Errorf("mean filtrate DS = %.2f %%, want 1..8", filtrateDS)
			}
			if e := mustGet(t, l, "shredder.energy"); e <= 0 {
				t.Errorf("shredder.energy = %g kWh, want > 0", e)
			}
			total, dry, scale := balance(t, l)
			t.Logf("%s: in %.1f kg, water %.1f kg, cake %.1f kg (%.1f %% DS), filtrate %.1f kg (%.2f %% DS), rejects %.1f kg, shredder %.2f kWh, press %.2f kWh, %d jams, %d reversals, %v; residual %.3g kg (%.2g %%), dry %.3g kg",
				class, wasteIn, mustGet(t, l, "pulper.water_total"), cake, cakeDS, filtrate, filtrateDS,
				mustGet(t, l, "rejects.total"), mustGet(t, l, "shredder.energy"), mustGet(t, l, "press.energy"),
				jh.jams, int(mustGet(t, l, "shredder.reversals")), l.Elapsed(), total, 100*total/scale, dry)
			if math.Abs(total) > 0.005*scale {
				t.Errorf("mass balance over the batch off by %.3g %%, want within 0.5 %%", 100*total/scale)
			}
		})
	}
}

// script drives a line through a fixed sequence with uneven step sizes,
// jams (random and injected), reversals and injected faults.
func script(t testing.TB, l *Line) {
	steps := []time.Duration{7 * time.Millisecond, 130 * time.Millisecond, time.Second, 49 * time.Millisecond, 3 * time.Second}
	startLine(t, l)
	l.SetHardObjectRate(30)
	mustSet(t, l, "reception.door_cmd", 1)
	for i := range 400 {
		switch i {
		case 40:
			l.StartJam(0)
		case 60:
			mustSet(t, l, "shredder.reverse_cmd", 1)
		case 70:
			mustSet(t, l, "shredder.reverse_cmd", 0)
			if err := l.SetSensorFault("hopper.weight", SensorFault{Kind: SensorNoise, NoiseSD: 5}); err != nil {
				t.Fatal(err)
			}
			if err := l.SetSensorFault("pulper.level", SensorFault{Kind: SensorDrift, DriftPerS: 0.1}); err != nil {
				t.Fatal(err)
			}
		case 100:
			l.SetEStop(true)
			l.SetWaterValveStuck(12)
		case 110:
			l.SetEStop(false)
			if err := l.SetOverloadTrip("press", true); err != nil {
				t.Fatal(err)
			}
		case 150:
			mustSet(t, l, "reception.door_cmd", 0)
			mustSet(t, l, "press.back_pressure_sp", 5.5)
			if err := l.SetClass(ClassPackaged); err != nil {
				t.Fatal(err)
			}
		case 200:
			l.ClearSensorFault("hopper.weight")
			l.Tip(300)
		}
		if i%20 == 0 {
			// Cycle the run commands so that drives restart after trips,
			// e-stops and jams.
			v := float64((i / 20) % 2)
			for _, c := range []string{"shredder.run_cmd", "press.run_cmd", "feeder.run_cmd", "pulper.mixer_cmd"} {
				mustSet(t, l, c, v)
			}
		}
		l.Step(steps[i%len(steps)])
	}
}

func TestDeterministic(t *testing.T) {
	a, b, c := New(42, ClassHousehold), New(42, ClassHousehold), New(43, ClassHousehold)
	script(t, a)
	script(t, b)
	script(t, c)
	if n := mustGet(t, a, "shredder.hard_objects"); n < 2 {
		t.Errorf("%g hard objects in the script, want some: the test should cover jams", n)
	}
	differs := 0
	for _, r := range a.Roles() {
		va, vb, vc := mustGet(t, a, r), mustGet(t, b, r), mustGet(t, c, r)
		if math.Float64bits(va) != math.Float64bits(vb) {
			t.Errorf("%s: %v and %v from the same seed and inputs", r, va, vb)
		}
		if va != vc {
			differs++
		}
	}
	if differs == 0 {
		t.Errorf("seeds 42 and 43 gave identical values for every role; the noise ignores the seed")
	}
}

func TestStepGranularity(t *testing.T) {
	// Step(d) substeps at MaxSubstep when d is a multiple of it, so one
	// big step equals many small ones bit for bit.
	a, b := New(7, ClassCatering), New(7, ClassCatering)
	for _, l := range []*Line{a, b} {
		startLine(t, l)
		mustSet(t, l, "reception.door_cmd", 1)
	}
	a.Step(10 * time.Minute)
	for range 12000 {
		b.Step(MaxSubstep)
	}
	for _, r := range a.Roles() {
		if va, vb := mustGet(t, a, r), mustGet(t, b, r); math.Float64bits(va) != math.Float64bits(vb) {
			t.Errorf("%s: one 10 min step %v, 12000 steps of 50 ms %v", r, va, vb)
		}
	}
}

func TestDriveStart(t *testing.T) {
	l := quiet(1, ClassCatering)
	mustSet(t, l, "shredder.speed_sp", 20)
	mustSet(t, l, "shredder.run_cmd", 1)
	l.Step(900 * time.Millisecond)
	if got := mustGet(t, l, "shredder.running"); got != 0 {
		t.Fatalf("running = %g 0.9 s after the run command, want 0 (start delay 1 s)", got)
	}
	l.Step(200 * time.Millisecond)
	if got := mustGet(t, l, "shredder.running"); got != 1 {
		t.Fatalf("running = %g 1.1 s after the run command, want 1", got)
	}
	if got, want := mustGet(t, l, "shredder.current"), inrushFactor*shredderFLA; got != want {
		t.Errorf("current during inrush = %g A, want %g A", got, want)
	}
	l.Step(5 * time.Second)
	if got, want := mustGet(t, l, "shredder.current"), idleCurrentFraction*shredderFLA; math.Abs(got-want) > 0.01 {
		t.Errorf("idle current = %g A, want %g A", got, want)
	}
	if got := mustGet(t, l, "shredder.speed"); got != 20 {
		t.Errorf("speed = %g rpm after 5 s, want 20", got)
	}
	mustSet(t, l, "shredder.run_cmd", 0)
	l.Step(50 * time.Millisecond)
	if got := mustGet(t, l, "shredder.running"); got != 0 {
		t.Errorf("running = %g after the stop command, want 0", got)
	}
	l.Step(10 * time.Second)
	if s, i := mustGet(t, l, "shredder.speed"), mustGet(t, l, "shredder.current"); s != 0 || i != 0 {
		t.Errorf("10 s after stop: speed %g rpm, current %g A; want 0, 0", s, i)
	}
}

func TestCurrentStableForLargeSteps(t *testing.T) {
	// The current is first order with an exact exponential update; even
	// a single step much longer than tau must land on the target.
	l := quiet(1, ClassCatering)
	mustSet(t, l, "press.speed_sp", 15)
	mustSet(t, l, "press.back_pressure_sp", 3)
	mustSet(t, l, "press.run_cmd", 1)
	l.Step(time.Hour)
	want := pressFLA * (idleCurrentFraction + (1-idleCurrentFraction)*0.2)
	if got := mustGet(t, l, "press.current"); math.Abs(got-want) > 1e-6 {
		t.Errorf("press current after 1 h empty = %g A, want %g A", got, want)
	}
	if got := mustGet(t, l, "press.back_pressure"); got != 3 {
		t.Errorf("back-pressure = %g bar, want 3", got)
	}
}

func TestCakeDS(t *testing.T) {
	tests := []struct {
		name         string
		speedRPM     float64
		backPressBar float64
	}{
		{"reference", 15, 3},
		{"low pressure", 15, 0.5},
		{"high pressure", 15, 7},
		{"slow screw", 5, 3},
		{"fast screw", 40, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := quiet(3, ClassCatering)
			// Fill the pulper with undiluted waste plus water for ~10 % DS.
			mustSet(t, l, "shredder.speed_sp", 30)
			mustSet(t, l, "shredder.run_cmd", 1)
			mustSet(t, l, "feeder.speed_sp", 100)
			mustSet(t, l, "feeder.run_cmd", 1)
			mustSet(t, l, "pulper.water_flow_sp", 3.6)
			mustSet(t, l, "pulper.water_cmd", 1)
			mustSet(t, l, "reception.door_cmd", 1)
			l.Step(5 * time.Minute)
			mustSet(t, l, "press.speed_sp", tc.speedRPM)
			mustSet(t, l, "press.back_pressure_sp", tc.backPressBar)
			mustSet(t, l, "press.run_cmd", 1)
			l.Step(time.Minute)
			dsIn := mustGet(t, l, "pulper.ds")
			if dsIn < 5 || dsIn > 15 {
				t.Fatalf("pulper DS = %g %%, the test needs 5..15", dsIn)
			}
			p := mustGet(t, l, "press.back_pressure")
			want := dsIn + (35-dsIn)*(1-math.Exp(-0.5*p))*math.Pow(15/tc.speedRPM, 0.3)
			want = math.Min(45, math.Max(dsIn, want))
			// The analyser reports the DS of the slurry drawn in the last
			// substep, before this substep's feed diluted it a little.
			if got := mustGet(t, l, "press.cake_ds"); math.Abs(got-want) > 0.05 {
				t.Errorf("cake DS = %.3f %%, want %.3f %% (slurry %.2f %%, %.2f bar, %g rpm)", got, want, dsIn, p, tc.speedRPM)
			}
			if f := mustGet(t, l, "press.filtrate_ds"); f < 1 || f > 8 {
				t.Errorf("filtrate DS = %.2f %%, want 1..8", f)
			}
		})
	}
}

func TestSet(t *testing.T) {
	l := New(1, ClassCatering)
	tests := []struct {
		role string
		v    float64
		ok   bool
		want float64 // read back after a successful Set
	}{
		{"shredder.speed_sp", 25, true, 25},
		{"shredder.speed_sp", 500, true, 70},
		{"feeder.speed_sp", -3, true, 0},
		{"reception.door_cmd", 1, true, 1},
		{"reception.door_cmd", 0, true, 0},
		{"pulper.water_cmd", 2, true, 1},
		{"press.back_pressure_sp", math.NaN(), false, 0},
		{"press.back_pressure_sp", math.Inf(1), false, 0},
		{"hopper.weight", 10, false, 0},
		{"line.estop_ok", 0, false, 0},
		{"no.such_role", 1, false, 0},
	}
	for _, tc := range tests {
		if got := l.Set(tc.role, tc.v); got != tc.ok {
			t.Errorf("Set(%q, %g) = %v, want %v", tc.role, tc.v, got, tc.ok)
			continue
		}
		if tc.ok {
			if got := mustGet(t, l, tc.role); got != tc.want {
				t.Errorf("after Set(%q, %g): Get = %g, want %g", tc.role, tc.v, got, tc.want)
			}
		}
	}
	if _, ok := l.Get("no.such_role"); ok {
		t.Errorf("Get of an unknown role reported ok")
	}
}

func TestRolesCoverSamplePlant(t *testing.T) {
	// Every tag of controller/plant/sample.yaml must be a role.
	tags := []string{
		"shredder.run_cmd", "shredder.reverse_cmd", "shredder.speed_sp", "shredder.speed", "shredder.current", "shredder.running", "shredder.fault", "shredder.energy",
		"press.run_cmd", "press.speed_sp", "press.speed", "press.current", "press.running", "press.fault", "press.back_pressure_sp", "press.back_pressure", "press.energy",
		"feeder.run_cmd", "pulper.mixer_cmd", "pulper.water_cmd", "reception.door_cmd", "feeder.running", "pulper.mixer_running", "line.estop_ok",
		"feeder.speed_sp", "pulper.water_flow_sp", "hopper.weight", "cake_bin.weight", "pulper.water_flow", "pulper.water_total", "filtrate.total",
		"pulper.ds", "pulper.ph", "pulper.level", "press.cake_ds", "reception.h2s",
		"press.cone_valve", "filtrate.pump_cmd", "filtrate.pump_running", "filtrate.level", "rejects.weight",
	}
	l := New(1, ClassCatering)
	for _, tag := range tags {
		if _, ok := l.Get(tag); !ok {
			t.Errorf("role %q missing", tag)
		}
	}
}

func TestNoiseAndAnalysers(t *testing.T) {
	l := quiet(9, ClassMarketVeg)
	var minH2S, maxH2S = math.Inf(1), math.Inf(-1)
	var minPH, maxPH = math.Inf(1), math.Inf(-1)
	changes := 0
	last := mustGet(t, l, "hopper.weight")
	for range 7200 { // 2 h in 1 s steps
		l.Step(time.Second)
		h := mustGet(t, l, "reception.h2s")
		minH2S, maxH2S = math.Min(minH2S, h), math.Max(maxH2S, h)
		p := mustGet(t, l, "pulper.ph")
		minPH, maxPH = math.Min(minPH, p), math.Max(maxPH, p)
		w := mustGet(t, l, "hopper.weight")
		if w != last {
			changes++
		}
		if math.Abs(w) > 5*loadCellNoiseKg+1e-9 && math.Abs(w) > 2 {
			t.Fatalf("empty hopper weighs %g kg, want noise only", w)
		}
		last = w
	}
	if minH2S < 0 || maxH2S > 3 || maxH2S-minH2S < 0.1 {
		t.Errorf("H2S ranged %.3f..%.3f ppm, want low (< 3 ppm) and noisy", minH2S, maxH2S)
	}
	if minPH < 4.5 || maxPH > 5.5 || maxPH-minPH < 0.01 {
		t.Errorf("pH ranged %.3f..%.3f, want a slow drift inside 4.5..5.5", minPH, maxPH)
	}
	if changes < 7000 {
		t.Errorf("hopper weight changed in %d of 7200 steps, want noise in nearly all", changes)
	}
}

func TestParseWasteClass(t *testing.T) {
	for _, c := range WasteClasses() {
		got, err := ParseWasteClass(string(c))
		if err != nil || got != c {
			t.Errorf("ParseWasteClass(%q) = %q, %v", c, got, err)
		}
	}
	if _, err := ParseWasteClass("garden"); err == nil {
		t.Errorf("ParseWasteClass(garden) succeeded, want an error")
	}
}
