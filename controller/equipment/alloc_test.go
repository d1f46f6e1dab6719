package equipment

import (
	"testing"
	"time"
)

// The scan must not allocate in steady state (DESIGN.md: allocation
// elsewhere in the process, not GC, is what pushes scan lateness p99 to tens
// of ms). Each case brings a module to a steady state, then counts the
// allocations of further scans, state changes within normal operation
// included (a whole jam cycle, feed pauses).
func TestStepDoesNotAllocate(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) (scanOnce func(), check func()) // check runs after counting
	}{
		{"motor running", func(t *testing.T) (func(), func()) {
			r := newMotorRig(t, testMotorConfig())
			r.mustStart(Forward)
			r.run(time.Second)
			return func() { r.run(scan) }, nil
		}},
		{"shredder running with feed pauses and jam cycles", func(t *testing.T) (func(), func()) {
			r := newShredderRig(t, testShredderConfig(), DefaultShredderParams())
			r.startRunning()
			r.states = make([]ShredderState, 0, 1<<16)
			i := 0
			return func() {
					i++
					switch i % 3000 { // every 30 s: a jam that one reversal clears
					case 0:
						r.p.jammed = true
					case 1500:
						r.p.load = 0.9 // feed pause
					case 1700:
						r.p.load = 0.3
					}
					r.run(scan)
				}, func() {
					if r.s.Jams() < 5 {
						t.Errorf("only %d jams during the count; the jam cycle was not exercised", r.s.Jams())
					}
				}
		}},
		{"press in auto", func(t *testing.T) (func(), func()) {
			r := newPressRig(t, testPressConfig(), testPressParams())
			r.start()
			return func() { r.run(scan) }, nil
		}},
		{"pulper dosing", func(t *testing.T) (func(), func()) {
			r := newPulperRig(t, testPulperConfig(), testPulperParams())
			r.startDosing()
			return func() { r.run(scan) }, nil
		}},
		{"pump and tank", func(t *testing.T) (func(), func()) {
			p, _ := NewPump(MotorConfig{Name: "pump", StartTimeout: 3 * time.Second})
			tk, _ := NewTank(testTankConfig())
			d := newDrive()
			now, out := t0, MotorOutputs{}
			step := func() {
				now = now.Add(scan)
				to := tk.Step(now, TankInputs{Level: GoodAnalog(50)})
				out = p.Step(now, PumpInputs{Motor: d.step(now, out), SuctionLowLow: to.LowLowSignal()})
			}
			step()
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			return step, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			scanOnce, check := c.setup(t)
			if n := testing.AllocsPerRun(20000, scanOnce); n != 0 {
				t.Errorf("%g allocations per scan, want 0", n)
			}
			if check != nil {
				check()
			}
		})
	}
}

func BenchmarkShredderStep(b *testing.B) {
	s, _ := NewShredder(testShredderConfig(), DefaultShredderParams())
	in := ShredderInputs{Motor: MotorInputs{Running: GoodDigital(true), Overload: GoodDigital(false), DriveFault: GoodDigital(false)}, Current: GoodAnalog(20)}
	now := t0
	s.Step(now, stoppedMotor(in))
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(scan)
		s.Step(now, in)
	}
}

func BenchmarkPressStep(b *testing.B) {
	x, _ := NewPress(testPressConfig(), testPressParams())
	in := PressInputs{Motor: MotorInputs{Running: GoodDigital(true), Overload: GoodDigital(false), DriveFault: GoodDigital(false)}, Current: GoodAnalog(20), BackPressure: GoodAnalog(2.9)}
	now := t0
	x.Step(now, stoppedPress(in))
	if err := x.Start(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(scan)
		x.Step(now, in)
	}
}

func BenchmarkPulperStep(b *testing.B) {
	u, _ := NewPulper(testPulperConfig(), testPulperParams())
	in := PulperInputs{Mixer: MotorInputs{Running: GoodDigital(true), Overload: GoodDigital(false)}, Level: GoodAnalog(50), DS: GoodAnalog(10.2), FeedRate: GoodAnalog(1)}
	now := t0
	stopped := in
	stopped.Mixer.Running.On = false
	u.Step(now, stopped)
	if err := u.Start(); err != nil {
		b.Fatal(err)
	}
	u.SetDilution(DilutionAuto)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(scan)
		u.Step(now, in)
	}
}

func stoppedMotor(in ShredderInputs) ShredderInputs { in.Motor.Running.On = false; return in }

func stoppedPress(in PressInputs) PressInputs { in.Motor.Running.On = false; return in }
