package equipment

import (
	"fmt"
	"time"
)

// A belt conveyor carries material between two units: a motor with a
// belt-speed sensor that catches a slipping or stalled belt, and a pull
// cord along the belt that stops it. Plant kind belt_conveyor; signals
// run and running, and optionally fault, speed_sp, belt_speed (% of the
// belt's nominal speed) and pull_cord_ok (1 while no cord is pulled).

func init() { RegisterKind("belt_conveyor", newConveyorUnit) }

// Belt supervision (est.): after a start, the belt has conveyorStartBlank
// to come up to speed; then a belt below conveyorMinSpeedPct of its
// commanded speed for conveyorSlipConfirm is slipping (or the drive turns
// a stalled belt) and the conveyor faults.
const (
	conveyorStartBlank   = 5 * time.Second
	conveyorSlipConfirm  = 3 * time.Second
	conveyorMinSpeedPct  = 70.0
	conveyorPullCordName = "pull_cord_ok"
)

// Conveyor is a belt conveyor's module. A pulled cord stops the belt and
// latches a fault (a person stopped it on purpose: it restarts only after
// the cord is reset and the operator resets the fault); so does a belt
// that slips for longer than the confirm time.
type Conveyor struct {
	motor     Motor
	pullCord  bool // the plant binds pull_cord_ok
	beltSpeed bool // the plant binds belt_speed
	slowSince time.Time
	cord      Digital
	perm      [8]Permissive
}

func newConveyorUnit(c UnitConfig) (Unit, error) {
	x := &Conveyor{pullCord: c.Bound(conveyorPullCordName), beltSpeed: c.Bound("belt_speed")}
	if err := x.motor.init(MotorConfig{Name: c.Name, StartTimeout: c.StartTimeout}); err != nil {
		return nil, err
	}
	return x, nil
}

// StepUnit runs one scan: the motor on its running feedback, then the
// pull cord and the belt speed.
func (x *Conveyor) StepUnit(now time.Time, io IO) UnitOutputs {
	x.motor.Step(now, MotorInputs{Running: digital(io, "running")})
	if x.pullCord {
		x.cord = digital(io, conveyorPullCordName)
		if x.motor.State().Active() && (!x.cord.Quality.Good() || !x.cord.On) {
			x.motor.faultWith(cause{code: causeExternal, detail: "pull cord pulled (or its switch cannot be read): the belt stopped"})
		}
	}
	if x.beltSpeed && x.motor.State() == Running && now.Sub(x.motor.Since()) >= conveyorStartBlank {
		want := 100.0
		if sp := io.Get("speed_sp"); sp.usable() && sp.Value > 0 {
			want = sp.Value
		}
		v := io.Get("belt_speed")
		switch {
		case !v.usable() || v.Value >= conveyorMinSpeedPct/100*want:
			x.slowSince = time.Time{}
		case x.slowSince.IsZero():
			x.slowSince = now
		case now.Sub(x.slowSince) >= conveyorSlipConfirm:
			x.motor.faultWith(cause{code: causeExternal, detail: fmt.Sprintf("belt slip: the belt ran at %.0f %% of %.0f %% for %s", v.Value, want, conveyorSlipConfirm)})
		}
	} else {
		x.slowSince = time.Time{}
	}
	st := x.motor.State()
	return UnitOutputs{Run: x.motor.Outputs().Run, Active: st.Active(), Faulted: st == Faulted}
}

// Start starts the belt; refused while the pull cord is pulled.
func (x *Conveyor) Start() error {
	if x.motor.State() == Stopped {
		if u, unmet := firstUnmet(x.appendPermissives(x.perm[:0])); unmet {
			return refuse(x.motor.cfg.Name, "start", ErrNotPermitted, u.Why)
		}
	}
	return x.motor.Start(Forward)
}

// Stop stops the belt.
func (x *Conveyor) Stop() { x.motor.Stop() }

// Reset clears a latched fault; refused while the cord is still pulled.
func (x *Conveyor) Reset() error {
	if x.pullCord && (!x.cord.Quality.Good() || !x.cord.On) && x.motor.State() == Faulted {
		return refuse(x.motor.cfg.Name, "reset", ErrTripActive, "the pull cord is still pulled: reset it at the belt first")
	}
	return x.motor.Reset()
}

func (x *Conveyor) appendPermissives(dst []Permissive) []Permissive {
	dst = x.motor.appendPermissives(dst)
	if x.pullCord {
		ok := x.cord.Quality.Good() && x.cord.On
		p := Permissive{Name: "pull_cord_reset", Met: ok}
		if !ok {
			p.Why = "the pull cord is pulled (or its switch cannot be read)"
		}
		dst = append(dst, p)
	}
	return dst
}

// Permissives lists what a start needs: the motor's permissives and the
// pull cord reset.
func (x *Conveyor) Permissives() []Permissive { return x.appendPermissives(nil) }

// Reason says why the belt is stopped, faulted or not ready.
func (x *Conveyor) Reason() string {
	return reasonWithPermissives(x.motor.state, x.motor.cause, x.Permissives())
}
