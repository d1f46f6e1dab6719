package alarm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/pretreat/pretreat/drivers"
)

// Inputs gives the scan's view of one tag: its value in engineering units
// and its quality. line.Inputs satisfies it.
type Inputs interface {
	Get(tag string) (float64, drivers.Quality)
}

// Transition is one entry of the alarm journal: an alarm changed state, or
// its chattering flag changed (then From equals To).
type Transition struct {
	// Seq numbers transitions from 1 in the order they happened, across
	// Step and the operator calls, so that a reader can tell whether it
	// missed any.
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Alarm    string    `json:"alarm"`
	Unit     string    `json:"unit,omitempty"`
	Priority Priority  `json:"priority"`
	// Message is the definition's text for the operator.
	Message string `json:"message"`
	From    State  `json:"from"`
	To      State  `json:"to"`
	Reason  Reason `json:"reason"`
	// User is who acted, or empty when the process drove the transition.
	User string `json:"user,omitempty"`
	// Value and Quality are the tag's as last seen by Step.
	Value   float64         `json:"value"`
	Quality drivers.Quality `json:"quality"`
	// ShelvedUntil is the shelf expiry when To is Shelved.
	ShelvedUntil time.Time `json:"shelved_until,omitzero"`
	// Chattering is the flag after the transition.
	Chattering bool `json:"chattering,omitempty"`
}

// Status is one alarm as the HMI and the API show it.
type Status struct {
	Name     string   `json:"name"`
	Tag      string   `json:"tag"`
	Kind     Kind     `json:"kind"`
	Priority Priority `json:"priority"`
	Unit     string   `json:"unit,omitempty"`
	Message  string   `json:"message"`
	State    State    `json:"state"`
	// Since is when the alarm entered State (zero before its first
	// transition).
	Since time.Time `json:"since,omitzero"`
	// User is who put the alarm in State, or empty when the process did.
	User    string          `json:"user,omitempty"`
	Value   float64         `json:"value"`
	Quality drivers.Quality `json:"quality"`
	// Active is the process condition after the delays; ActiveSince is when
	// it last became active. Both are false/zero while the alarm is not
	// evaluated (suppressed by design, out of service).
	Active       bool      `json:"active"`
	ActiveSince  time.Time `json:"active_since,omitzero"`
	ShelvedUntil time.Time `json:"shelved_until,omitzero"`
	Chattering   bool      `json:"chattering"`
	// Activations counts how often the condition became active since the
	// controller started; RecentActivations how often within the
	// chattering window before the last Step.
	Activations       uint64 `json:"activations"`
	RecentActivations int    `json:"recent_activations"`
}

// Counts is how many alarms are in each state, for a summary line.
type Counts struct {
	Unacknowledged         int `json:"unacknowledged"`
	Acknowledged           int `json:"acknowledged"`
	ReturnedUnacknowledged int `json:"returned_unacknowledged"`
	Shelved                int `json:"shelved"`
	SuppressedByDesign     int `json:"suppressed_by_design"`
	OutOfService           int `json:"out_of_service"`
	Chattering             int `json:"chattering"`
}

// alarm is one alarm's definition and run-time state.
type alarm struct {
	def     Definition
	watched string // the input evaluated: def.Watched(), kept to spare the scan an allocation
	state   State
	since   time.Time
	user    string // who put it in state; "" when the process did

	// active is the process condition after the on/off delays; pending
	// says the raw condition has disagreed with it since pendingSince.
	active       bool
	activeSince  time.Time
	pending      bool
	pendingSince time.Time

	value       float64
	quality     drivers.Quality
	unitStopped bool // at the last Step

	shelvedUntil time.Time

	// Chattering: recent is a ring of the last activation times, its
	// length the chatter count.
	chattering     bool
	activations    uint64
	lastActivation time.Time
	recent         []time.Time
	recentNext     int
	recentLen      int
}

// Set holds every alarm of the plant and steps them once per scan. It is a
// pure state machine: no goroutines, no I/O, no clock of its own; time is
// the plant time passed in. It is not safe for concurrent use: the scan
// owns it, and the API reads Active, All and Journal through the scan.
type Set struct {
	cfg    Settings
	alarms []alarm
	byName map[string]int
	now    time.Time // of the last Step

	out []Transition // returned by Step, reused

	journal []Transition // ring
	jNext   int
	jLen    int
	seq     uint64

	raised raises // annunciation times, for the alarm rate (rate.go)
}

// NewSet builds the alarms of a plant from definitions and settings. It
// validates them (without knowing the plant's tags or units: the plant
// file's check does that with ValidateAll) and returns every problem at
// once, joined, each a *drivers.ConfigError.
func NewSet(defs []Definition, settings Settings) (*Set, error) {
	var errs []error
	for _, e := range ValidateAll(defs, nil, nil) {
		errs = append(errs, e)
	}
	for _, e := range settings.Validate() {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg := settings.withDefaults()
	s := &Set{
		cfg:     cfg,
		alarms:  make([]alarm, len(defs)),
		byName:  make(map[string]int, len(defs)),
		out:     make([]Transition, 0, 2*len(defs)),
		journal: make([]Transition, cfg.JournalSize),
	}
	// One backing array for every chatter ring keeps them together in
	// memory and costs one allocation.
	times := make([]time.Time, len(defs)*cfg.ChatterCount)
	for i := range defs {
		a := &s.alarms[i]
		a.def = defs[i]
		a.watched = a.def.Watched()
		a.recent = times[i*cfg.ChatterCount : (i+1)*cfg.ChatterCount : (i+1)*cfg.ChatterCount]
		s.byName[a.def.Name] = i
	}
	return s, nil
}

// Settings returns the settings in force, defaults filled in.
func (s *Set) Settings() Settings { return s.cfg }

// Step evaluates every alarm at plant time now: reads its tag from in,
// applies delays and deadband, expires shelves, suppresses alarms whose
// unit is not running (unitRunning(unit) false; a nil unitRunning means
// every unit runs) and detects chattering. It returns the transitions it
// made, in alarm order; the slice is reused by the next Step. Step does not
// allocate once its buffers have grown, and never when nothing changes.
func (s *Set) Step(now time.Time, in Inputs, unitRunning func(unit string) bool) []Transition {
	s.out = s.out[:0]
	s.now = now
	for i := range s.alarms {
		s.evaluate(&s.alarms[i], now, in, unitRunning)
	}
	return s.out
}

// evaluate is one alarm's part of Step.
func (s *Set) evaluate(a *alarm, now time.Time, in Inputs, unitRunning func(string) bool) {
	a.value, a.quality = in.Get(a.watched)
	a.unitStopped = a.def.Unit != "" && unitRunning != nil && !unitRunning(a.def.Unit)
	if a.chattering && now.Sub(a.lastActivation) >= s.cfg.ChatterQuiet {
		a.chattering = false
		s.out = append(s.out, s.record(a, a.state, ReasonChatteringCleared, "", now))
	}
	switch a.state {
	case OutOfService:
		a.resetCondition()
		return
	case Shelved:
		if !now.Before(a.shelvedUntil) {
			s.out = append(s.out, s.record(a, a.dictated(), ReasonShelfExpired, "", now))
		}
	}
	if a.unitStopped {
		// Stopped equipment: the condition means nothing, and when the unit
		// starts again the on-delay must count from the start, not from a
		// condition that built up while it stood still.
		// An alarm no one has acknowledged stays in the list until someone
		// does (ISA-18.2): an unacknowledged one returns, a returned one
		// waits; only the others are hidden.
		a.resetCondition()
		switch a.state {
		case Unacknowledged:
			s.out = append(s.out, s.record(a, ReturnedUnacknowledged, ReasonUnitStopped, "", now))
		case Normal, Acknowledged:
			s.out = append(s.out, s.record(a, SuppressedByDesign, ReasonUnitStopped, "", now))
		}
		return
	}
	if a.state == SuppressedByDesign {
		s.out = append(s.out, s.record(a, Normal, ReasonUnitRunning, "", now))
	}
	if !a.condition(now) {
		return
	}
	if a.active {
		switch a.state {
		case Normal, ReturnedUnacknowledged:
			s.out = append(s.out, s.record(a, Unacknowledged, ReasonConditionActive, "", now))
		}
		// A shelved alarm still counts: the flag tells the operator whether
		// the reason for shelving it has gone away.
		s.countActivation(a, now)
		return
	}
	switch a.state {
	case Unacknowledged:
		s.out = append(s.out, s.record(a, ReturnedUnacknowledged, ReasonConditionCleared, "", now))
	case Acknowledged:
		s.out = append(s.out, s.record(a, Normal, ReasonConditionCleared, "", now))
	}
}

// condition updates the debounced process condition from the last value
// and quality and reports whether it changed. A limit or digital alarm
// whose input is not good (or NaN) holds its condition and restarts its
// delay: a value that cannot be trusted must neither raise nor clear it; a
// bad_quality alarm on the same tag tells the operator.
func (a *alarm) condition(now time.Time) bool {
	d := &a.def
	v := a.value
	var raw bool
	if d.Kind == KindBadQuality || d.Kind == KindCommLoss {
		raw = !a.quality.Good()
	} else {
		if !a.quality.Good() || math.IsNaN(v) {
			a.pending = false
			return false
		}
		switch d.Kind {
		case KindHigh, KindHighHigh:
			// Hysteresis: once active, it stays so until the value is
			// back at or below limit - deadband.
			if a.active {
				raw = v > d.Limit-d.Deadband
			} else {
				raw = v > d.Limit
			}
		case KindLow, KindLowLow:
			if a.active {
				raw = v < d.Limit+d.Deadband
			} else {
				raw = v < d.Limit
			}
		default: // KindDigital
			raw = v != 0
		}
	}
	if raw == a.active {
		a.pending = false
		return false
	}
	if !a.pending {
		a.pending, a.pendingSince = true, now
	}
	delay := d.OnDelay
	if a.active {
		delay = d.OffDelay
	}
	if now.Sub(a.pendingSince) < delay {
		return false
	}
	a.active, a.pending = raw, false
	if raw {
		a.activeSince = now
	} else {
		a.activeSince = time.Time{}
	}
	return true
}

// resetCondition forgets the process condition while the alarm is not
// evaluated.
func (a *alarm) resetCondition() {
	a.active, a.pending, a.activeSince = false, false, time.Time{}
}

// dictated is the state the process dictates when an operator's hold on
// the alarm (a shelf) ends: suppressed if its unit was stopped at the last
// Step, else unacknowledged if the condition is active, else normal.
func (a *alarm) dictated() State {
	switch {
	case a.unitStopped:
		return SuppressedByDesign
	case a.active:
		return Unacknowledged
	}
	return Normal
}

// countActivation records one activation for chattering detection.
func (s *Set) countActivation(a *alarm, now time.Time) {
	a.activations++
	a.lastActivation = now
	n := len(a.recent)
	a.recent[a.recentNext] = now
	a.recentNext = (a.recentNext + 1) % n
	if a.recentLen < n {
		a.recentLen++
	}
	// When the ring is full, recent[recentNext] is the oldest of the last n
	// activations.
	if !a.chattering && a.recentLen == n && now.Sub(a.recent[a.recentNext]) <= s.cfg.ChatterWindow {
		a.chattering = true
		s.out = append(s.out, s.record(a, a.state, ReasonChattering, "", now))
	}
}

// record moves a to state to (or, for a chattering event, keeps it), writes
// the transition to the journal and returns it. Every state change in this
// package goes through here; the tests check each against the rules.
func (s *Set) record(a *alarm, to State, r Reason, user string, now time.Time) Transition {
	from := a.state
	if from != to {
		a.state, a.since, a.user = to, now, user
		if to == Unacknowledged {
			s.raised.add(now)
		}
		if from == Shelved {
			a.shelvedUntil = time.Time{}
		}
	}
	s.seq++
	t := Transition{
		Seq: s.seq, Time: now, Alarm: a.def.Name, Unit: a.def.Unit, Priority: a.def.Priority, Message: a.def.Message,
		From: from, To: to, Reason: r, User: user, Value: a.value, Quality: a.quality,
		ShelvedUntil: a.shelvedUntil, Chattering: a.chattering,
	}
	s.journal[s.jNext] = t
	s.jNext = (s.jNext + 1) % len(s.journal)
	if s.jLen < len(s.journal) {
		s.jLen++
	}
	return t
}

// find looks up an alarm for an operator operation and checks the user.
func (s *Set) find(op Op, name, user string) (*alarm, error) {
	i, ok := s.byName[name]
	if !ok {
		return nil, &Refusal{Op: op, Alarm: name, Reason: fmt.Sprintf("there is no alarm named %q", name), Err: ErrUnknownAlarm}
	}
	a := &s.alarms[i]
	if user == "" {
		return nil, refuse(op, a, ErrInvalid, "the operation needs the name of the user who asks for it")
	}
	return a, nil
}

func refuse(op Op, a *alarm, err error, format string, args ...any) *Refusal {
	return &Refusal{Op: op, Alarm: a.def.Name, State: a.state, Reason: fmt.Sprintf(format, args...), Err: err}
}

// stamp formats a time for a refusal message.
func stamp(t time.Time) string { return t.Format(time.RFC3339) }

// Ack acknowledges an alarm: unacknowledged becomes acknowledged, returned-
// to-normal unacknowledged becomes normal. Any other state is refused with
// the reason.
func (s *Set) Ack(name, user string, now time.Time) (Transition, error) {
	a, err := s.find(OpAck, name, user)
	if err != nil {
		return Transition{}, err
	}
	switch a.state {
	case Unacknowledged:
		return s.record(a, Acknowledged, ReasonAcknowledged, user, now), nil
	case ReturnedUnacknowledged:
		return s.record(a, Normal, ReasonAcknowledged, user, now), nil
	}
	return Transition{}, s.ackRefusal(OpAck, a)
}

func (s *Set) ackRefusal(op Op, a *alarm) error {
	switch a.state {
	case Normal:
		return refuse(op, a, ErrNotAllowed, "it is normal; there is nothing to acknowledge")
	case Acknowledged:
		return refuse(op, a, ErrNotAllowed, "it was already acknowledged by %s at %s", a.user, stamp(a.since))
	case Shelved:
		return refuse(op, a, ErrNotAllowed, "it is shelved until %s; unshelve it to acknowledge it", stamp(a.shelvedUntil))
	case SuppressedByDesign:
		return refuse(op, a, ErrNotAllowed, "it is suppressed by design while unit %s is stopped; there is nothing to acknowledge", a.def.Unit)
	}
	return refuse(op, a, ErrNotAllowed, "it is out of service; return it to service first")
}

// AckAll acknowledges every alarm waiting for acknowledgement (unacknowledged
// or returned-to-normal unacknowledged) and returns the transitions, in
// alarm order. With none waiting it is refused.
func (s *Set) AckAll(user string, now time.Time) ([]Transition, error) {
	if user == "" {
		return nil, &Refusal{Op: OpAckAll, Reason: "the operation needs the name of the user who asks for it", Err: ErrInvalid}
	}
	var ts []Transition
	for i := range s.alarms {
		a := &s.alarms[i]
		switch a.state {
		case Unacknowledged:
			ts = append(ts, s.record(a, Acknowledged, ReasonAcknowledged, user, now))
		case ReturnedUnacknowledged:
			ts = append(ts, s.record(a, Normal, ReasonAcknowledged, user, now))
		}
	}
	if len(ts) == 0 {
		return nil, &Refusal{Op: OpAckAll, Reason: "no alarm is waiting for acknowledgement", Err: ErrNotAllowed}
	}
	return ts, nil
}

// Shelve hides an alarm from annunciation until the time until, which must
// be after now and at most Settings.MaxShelve away. Only the four states of
// the basic alarm cycle can be shelved. While shelved, the condition is
// still evaluated, so that when the shelf ends (Unshelve or expiry, seen by
// Step) the alarm takes the state the process dictates.
func (s *Set) Shelve(name, user string, until, now time.Time) (Transition, error) {
	a, err := s.find(OpShelve, name, user)
	if err != nil {
		return Transition{}, err
	}
	switch a.state {
	case Shelved:
		return Transition{}, refuse(OpShelve, a, ErrNotAllowed, "it is already shelved by %s until %s; unshelve it first", a.user, stamp(a.shelvedUntil))
	case SuppressedByDesign:
		return Transition{}, refuse(OpShelve, a, ErrNotAllowed, "it is suppressed by design while unit %s is stopped and does not annunciate; there is nothing to shelve", a.def.Unit)
	case OutOfService:
		return Transition{}, refuse(OpShelve, a, ErrNotAllowed, "it is out of service; return it to service before shelving it")
	}
	if !until.After(now) {
		return Transition{}, refuse(OpShelve, a, ErrInvalid, "the shelf expiry %s is not after now (%s)", stamp(until), stamp(now))
	}
	if d := until.Sub(now); d > s.cfg.MaxShelve {
		return Transition{}, refuse(OpShelve, a, ErrInvalid, "shelving for %s exceeds the maximum of %s", d, s.cfg.MaxShelve)
	}
	a.shelvedUntil = until
	return s.record(a, Shelved, ReasonShelved, user, now), nil
}

// Unshelve ends a shelf before its expiry; the alarm takes the state the
// process dictates (see Shelve).
func (s *Set) Unshelve(name, user string, now time.Time) (Transition, error) {
	a, err := s.find(OpUnshelve, name, user)
	if err != nil {
		return Transition{}, err
	}
	if a.state != Shelved {
		return Transition{}, refuse(OpUnshelve, a, ErrNotAllowed, "it is not shelved (it is %s)", a.state)
	}
	return s.record(a, a.dictated(), ReasonUnshelved, user, now), nil
}

// RemoveFromService takes an alarm out of service (an instrument under
// maintenance, say): it is no longer evaluated and never annunciates until
// ReturnToService. Any state but out of service itself can be removed; a
// shelf is dropped.
func (s *Set) RemoveFromService(name, user string, now time.Time) (Transition, error) {
	a, err := s.find(OpRemoveFromService, name, user)
	if err != nil {
		return Transition{}, err
	}
	if a.state == OutOfService {
		return Transition{}, refuse(OpRemoveFromService, a, ErrNotAllowed, "it is already out of service (removed by %s at %s)", a.user, stamp(a.since))
	}
	a.resetCondition()
	return s.record(a, OutOfService, ReasonRemovedFromService, user, now), nil
}

// ReturnToService puts an out-of-service alarm back to normal; the next
// Step evaluates it from scratch, on-delay included.
func (s *Set) ReturnToService(name, user string, now time.Time) (Transition, error) {
	a, err := s.find(OpReturnToService, name, user)
	if err != nil {
		return Transition{}, err
	}
	if a.state != OutOfService {
		return Transition{}, refuse(OpReturnToService, a, ErrNotAllowed, "it is in service (it is %s)", a.state)
	}
	return s.record(a, Normal, ReasonReturnedToService, user, now), nil
}

// status describes one alarm.
func (s *Set) status(a *alarm) Status {
	st := Status{
		Name: a.def.Name, Tag: a.def.Tag, Kind: a.def.Kind, Priority: a.def.Priority, Unit: a.def.Unit, Message: a.def.Message,
		State: a.state, Since: a.since, User: a.user, Value: a.value, Quality: a.quality,
		Active: a.active, ActiveSince: a.activeSince, ShelvedUntil: a.shelvedUntil,
		Chattering: a.chattering, Activations: a.activations,
	}
	for _, t := range a.recent[:a.recentLen] {
		if s.now.Sub(t) <= s.cfg.ChatterWindow {
			st.RecentActivations++
		}
	}
	return st
}

// Active returns the alarms an operator must see or has set aside:
// unacknowledged, acknowledged, returned unacknowledged, shelved and out of
// service (not normal, and not suppressed by design, which would fill the
// list with every alarm of a stopped line). They are sorted by priority,
// most urgent first, then by Since, newest first, then by name.
func (s *Set) Active() []Status {
	var list []Status
	for i := range s.alarms {
		a := &s.alarms[i]
		if a.state != Normal && a.state != SuppressedByDesign {
			list = append(list, s.status(a))
		}
	}
	sort.Slice(list, func(i, j int) bool {
		x, y := &list[i], &list[j]
		if rx, ry := x.Priority.Rank(), y.Priority.Rank(); rx != ry {
			return rx < ry
		}
		if !x.Since.Equal(y.Since) {
			return x.Since.After(y.Since)
		}
		return x.Name < y.Name
	})
	return list
}

// All returns every alarm's status in definition order.
func (s *Set) All() []Status {
	list := make([]Status, len(s.alarms))
	for i := range s.alarms {
		list[i] = s.status(&s.alarms[i])
	}
	return list
}

// Status returns one alarm's status.
func (s *Set) Status(name string) (Status, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Status{}, false
	}
	return s.status(&s.alarms[i]), true
}

// Counts returns how many alarms are in each state and how many chatter.
func (s *Set) Counts() Counts {
	var c Counts
	for i := range s.alarms {
		a := &s.alarms[i]
		switch a.state {
		case Unacknowledged:
			c.Unacknowledged++
		case Acknowledged:
			c.Acknowledged++
		case ReturnedUnacknowledged:
			c.ReturnedUnacknowledged++
		case Shelved:
			c.Shelved++
		case SuppressedByDesign:
			c.SuppressedByDesign++
		case OutOfService:
			c.OutOfService++
		}
		if a.chattering {
			c.Chattering++
		}
	}
	return c
}

// Journal returns the transitions the in-memory journal still holds, oldest
// first (a copy). It keeps the last Settings.JournalSize.
func (s *Set) Journal() []Transition {
	out := make([]Transition, 0, s.jLen)
	start := (s.jNext - s.jLen + len(s.journal)) % len(s.journal)
	for i := 0; i < s.jLen; i++ {
		out = append(out, s.journal[(start+i)%len(s.journal)])
	}
	return out
}
