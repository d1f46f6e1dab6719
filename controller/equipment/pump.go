package equipment

import "time"

// PumpInputs is what the plant tells a pump each scan.
type PumpInputs struct {
	Motor MotorInputs
	// SuctionLowLow is On when the tank the pump draws from is at low-low:
	// a level switch, or TankOutputs.LowLowSignal of a Tank.
	SuctionLowLow Digital
}

// Pump is a motor with dry-run protection: it refuses to start, and stops,
// while its suction tank is at low-low or the low-low signal cannot be
// read. The stop is not latched (the tank refills) but the pump never
// restarts by itself.
type Pump struct {
	motor Motor
	in    PumpInputs
	perm  [8]Permissive
}

// NewPump checks cfg and returns a stopped pump.
func NewPump(cfg MotorConfig) (*Pump, error) {
	p := &Pump{}
	if err := p.motor.init(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Step runs one scan at plant time now and returns the motor outputs.
func (p *Pump) Step(now time.Time, in PumpInputs) MotorOutputs {
	p.in = in
	p.motor.Step(now, in.Motor)
	if p.motor.State().Active() {
		if !in.SuctionLowLow.Quality.Good() {
			p.motor.stopWith(badInput("suction_low_low", in.SuctionLowLow.Quality))
		} else if in.SuctionLowLow.On {
			p.motor.stopWith(cause{code: causeDryRun})
		}
	}
	return p.motor.Outputs()
}

// Outputs returns the commands as of the last Step or command.
func (p *Pump) Outputs() MotorOutputs { return p.motor.Outputs() }

// Start starts the pump forward; refused while a permissive (the motor's,
// or suction above low-low) is not met.
func (p *Pump) Start() error {
	if p.motor.State() == Stopped {
		if u, unmet := firstUnmet(p.appendPermissives(p.perm[:0])); unmet {
			return refuse(p.motor.cfg.Name, "start", ErrNotPermitted, u.Why)
		}
	}
	return p.motor.Start(Forward)
}

// Stop stops the pump.
func (p *Pump) Stop() { p.motor.Stop() }

// StopFor stops the pump with the caller's reason.
func (p *Pump) StopFor(why string) { p.motor.StopFor(why) }

// Reset clears a latched motor fault (refused while the trip is active).
func (p *Pump) Reset() error { return p.motor.Reset() }

// SetSpeed sets the speed reference of a pump on a VFD.
func (p *Pump) SetSpeed(ref float64) { p.motor.SetSpeed(ref) }

// State returns the pump's state.
func (p *Pump) State() RunState { return p.motor.State() }

func (p *Pump) appendPermissives(dst []Permissive) []Permissive {
	dst = p.motor.appendPermissives(dst)
	q := inputPermissive("suction_above_low_low", "suction_low_low", p.in.SuctionLowLow.Quality)
	if q.Met && p.in.SuctionLowLow.On {
		q = Permissive{Name: "suction_above_low_low", Why: "dry-run protection: suction tank at low-low level"}
	}
	return append(dst, q)
}

// Permissives returns every start condition with whether it is met, as of
// the last Step.
func (p *Pump) Permissives() []Permissive { return p.appendPermissives(nil) }

// Reason says why the pump is stopped, faulted or not ready; "" while it
// runs as commanded.
func (p *Pump) Reason() string {
	return reasonWithPermissives(p.motor.State(), p.motor.cause, p.Permissives())
}
