package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/line"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian/records"
)

// Outputs are state, not events. The scan owns an outputSet: for every
// commanded point it keeps what the logic wants, what was last sent on
// which connection, and whether the device acknowledged it, and each scan
// it compares the wanted value with the device's read-back. A difference
// (a drive that restarted with its speed reference at zero, a setpoint
// changed by someone else) is written again and counted. A device whose
// connection starts anew has every output written again before its values
// count as good for control, and its commands are held at their safe value
// until the logic itself wants them safe: a comm loss can never start a
// motor by itself. The watchdog points of each device (heartbeat counter,
// comm-loss timeout, fault reset) are written from here too.

// outputKind says who decides an output's value.
type outputKind uint8

const (
	outLogic       outputKind = iota // the line logic (Line.Outputs)
	outHeartbeat                     // the watchdog's heartbeat counter
	outCommTimeout                   // the device's comm-loss timeout, in seconds
	outReset                         // the watchdog's fault reset pulse
)

// Device synchronisation states.
const (
	syncLost      = "lost"      // not connected: values bad, outputs cannot be written
	syncResyncing = "resyncing" // connected anew: outputs being written again
	syncSynced    = "synced"    // every output written on this connection
)

// resultTimeout is how long (wall time) a write may stay without an outcome
// before it is written again: a result dropped by a full channel must not
// stop an output for good.
const resultTimeout = 3 * time.Second

// writeRetry is the wait (wall time) before a refused or failed write is
// tried again.
const writeRetry = time.Second

// resetRetry is how often (wall time) a tripped watchdog is reset while its
// fault stays.
const resetRetry = 2 * time.Second

type outputPoint struct {
	tag      string
	kind     outputKind
	dev      *deviceSync
	snap     int // snapshot index of the read-back, -1 when write-only
	tol      float64
	safe     float64
	hasSafe  bool
	writable drivers.Device

	want     float64
	hasWant  bool // the logic has a value for it (always true for the watchdog's)
	sent     float64
	sentGen  uint64    // connection generation the engine saw when it sent
	sentAt   time.Time // wall
	inflight bool
	ackOK    bool
	ackAt    time.Time // plant time of the acknowledgement
	ackGen   uint64
	retryAt  time.Time // wall
	writes   uint64

	corrections uint64 // read-back differed from the wanted value
	reasserts   uint64 // written again after a reconnect or for a refresh
}

type deviceSync struct {
	name    string
	gens    drivers.Generations // nil: the device does not tell (taken as always connected)
	gen     uint64
	state   string
	since   time.Time // plant time of the last state change
	latched bool      // commands held at their safe values after a comm loss
	reads   []int     // snapshot indexes of the device's readable points
	outs    []*outputPoint
	refresh time.Duration
	wd      *drivers.WatchdogConfig
	// watchdog
	hb        *outputPoint
	hbNext    time.Time // wall
	reset     *outputPoint
	fault     int // snapshot index of the watchdog fault point, -1 for none
	resetNext time.Time
	resets    uint64
	// resetPending: the device lost its connection (or this controller
	// just started), so a fault it shows may be its watchdog's trip, which
	// the controller resets by itself once that cannot start anything. A
	// fault that appears on a healthy connection is left to the operator.
	resetPending bool
	// lost counts the comm losses since start.
	lost uint64
	// connected: the device has connected at least once since start;
	// grace is how long (wall) a device may take to connect at start-up
	// before its comm-loss alarm counts it as lost.
	connected bool
	grace     time.Duration
}

type outputSet struct {
	points  []*outputPoint
	byTag   map[string]*outputPoint
	devs    []*deviceSync
	devOf   map[string]*deviceSync // device of every tag (readable or not)
	events  []line.Event
	line    string
	started time.Time // wall
}

// newOutputSet binds every output of the logic and every watchdog point to
// its device. safe gives the logic's safe value of each command.
func newOutputSet(cfg *plant.File, table *TagTable, devices []drivers.Device, logic map[string]float64, safe map[string]float64) (*outputSet, error) {
	s := &outputSet{byTag: map[string]*outputPoint{}, devOf: map[string]*deviceSync{}, line: cfg.Line, started: time.Now()}
	byName := map[string]drivers.Device{}
	for _, d := range devices {
		byName[d.Name()] = d
	}
	for i := range cfg.Devices {
		dc := &cfg.Devices[i]
		d := byName[dc.Name]
		ds := &deviceSync{name: dc.Name, state: syncLost, refresh: dc.OutputRefreshOrDefault(), wd: dc.Watchdog, fault: -1,
			grace: max(3*time.Second, 3*dc.TimeoutOrDefault())}
		if d != nil {
			ds.gens, _ = d.(drivers.Generations)
		}
		s.devs = append(s.devs, ds)
		for j := range dc.Points {
			p := &dc.Points[j]
			s.devOf[p.Tag] = ds
			idx, _ := table.Index(p.Tag)
			if p.Access.Readable() {
				ds.reads = append(ds.reads, idx)
			}
			if ds.wd != nil && p.Tag == ds.wd.Fault {
				ds.fault = idx
			}
			// Every writable point is an output: the logic's (written
			// once the logic has a value for it) or the watchdog's.
			if !p.Access.Writable() || d == nil {
				continue
			}
			kind := outLogic
			if ds.wd != nil {
				switch p.Tag {
				case ds.wd.Tag:
					kind = outHeartbeat
					if ds.wd.Mode == drivers.WatchdogCommTimeout {
						kind = outCommTimeout
					}
				case ds.wd.Reset:
					kind = outReset
				}
			}
			op := &outputPoint{tag: p.Tag, kind: kind, dev: ds, snap: -1, writable: d, tol: readbackTolerance(p), hasWant: kind != outLogic}
			if p.Access.Readable() {
				op.snap = idx
			}
			if v, ok := safe[p.Tag]; ok && kind == outLogic {
				op.safe, op.hasSafe = v, true
			}
			switch kind {
			case outCommTimeout:
				op.want = ds.wd.Timeout.Seconds()
			case outHeartbeat:
				ds.hb = op
			case outReset:
				ds.reset = op
			}
			ds.outs = append(ds.outs, op)
			s.points = append(s.points, op)
			s.byTag[p.Tag] = op
		}
	}
	for tag := range logic {
		if o, ok := s.byTag[tag]; !ok || o.kind != outLogic {
			return nil, fmt.Errorf("output tag %s is not a writable point of any device", tag)
		}
	}
	return s, nil
}

// readbackTolerance is how far a read-back may be from the wanted value and
// still be equal: half a raw step for an integer register, a millionth for
// floats.
func readbackTolerance(p *drivers.PointConfig) float64 {
	switch p.Type {
	case drivers.TypeFloat32:
		return 1e-6 * math.Max(1, math.Abs(p.Max)) // float32 keeps about 7 digits
	case drivers.TypeFloat64:
		return 1e-9
	case drivers.TypeBool, "":
		return 0.5
	}
	return math.Abs(p.ScaleOrOne()) / 2 * 1.0001
}

func (s *outputSet) emit(now time.Time, name, unit, msg string) {
	s.events = append(s.events, line.Event{Time: now, Kind: records.EventDevice, Line: s.line, Unit: unit, Name: name, Message: msg})
}

// observe follows every device's connection generation and marks, in the
// snapshot, the values of a device that is not synchronised as not good:
// bad:comm_failure while it is lost, bad:resync while its outputs are being
// written again. It must run right after the snapshot is taken (a sample of
// a new connection implies its generation is already visible).
func (s *outputSet) observe(now time.Time, snap []drivers.Sample) {
	for _, d := range s.devs {
		if d.gens == nil {
			d.state = syncSynced
			continue
		}
		g := d.gens.Generation()
		switch {
		case g == 0:
			if d.state != syncLost {
				d.state, d.since, d.latched, d.resetPending = syncLost, now, true, true
				d.lost++
				s.emit(now, "comm_lost", d.name, d.name+" not answering: its values are bad and its commands held off until it is back")
			}
		case g != d.gen:
			was := d.state
			d.state, d.since, d.latched, d.resetPending = syncResyncing, now, true, true
			if was == syncSynced {
				d.lost++ // a stall that resumed without a disconnect: treated as a restart
			}
			s.emit(now, "reconnected", d.name, fmt.Sprintf("%s connected (generation %d): writing its %d outputs again before its values are used", d.name, g, len(d.outs)))
		}
		d.gen = g
		d.connected = d.connected || g != 0
		if d.state == syncResyncing && d.allAcked() {
			d.state, d.since = syncSynced, now
			s.emit(now, "synced", d.name, fmt.Sprintf("%s outputs re-asserted: its values are used again", d.name))
		}
		if d.state == syncSynced {
			continue
		}
		q, reason := drivers.QualityBadResync, d.name+" reconnected: outputs being written again"
		if d.state == syncLost {
			q, reason = drivers.QualityBadCommFailure, d.name+" not answering"
		}
		for _, i := range d.reads {
			if snap[i].Quality.Good() || snap[i].Quality == drivers.QualityUnknown {
				snap[i].Quality, snap[i].Reason = q, reason
			}
		}
	}
}

// allAcked reports whether every output has been acknowledged on the
// current connection.
func (d *deviceSync) allAcked() bool {
	for _, o := range d.outs {
		if o.hasWant && (o.inflight || !o.ackOK || o.ackGen != d.gen) {
			return false
		}
	}
	return true
}

// result takes a write outcome from a device.
func (s *outputSet) result(wall time.Time, r drivers.WriteResult) {
	o := s.byTag[r.Tag]
	if o == nil {
		return
	}
	if r.Corrected {
		// The driver found the read-back different on its poll and wrote
		// the value again by itself, within that poll.
		o.corrections++
		what := "written again by the driver"
		if r.Err != nil {
			what = "rewrite failed: " + r.Err.Error()
		}
		s.emit(r.Time, "output_corrected", o.dev.name, fmt.Sprintf("%s read back %s, wanted %s: %s", o.tag, fmtValue(r.ReadBack), fmtValue(r.Value), what))
		if r.Err == nil && o.ackOK && r.Value == o.sent {
			o.ackAt = r.Time
		}
		return
	}
	if !o.inflight || r.Value != o.sent {
		return // an older write's outcome
	}
	o.inflight = false
	if r.Err != nil {
		o.ackOK, o.retryAt = false, wall.Add(writeRetry)
		return
	}
	o.ackOK, o.ackAt, o.ackGen = true, r.Time, r.Gen
}

// step decides every output's value for this scan and writes what must be
// written: a changed value, a value not yet acknowledged on the current
// connection, a read-back that differs, a write-only point due for its
// refresh, the heartbeat and the watchdog's reset.
func (s *outputSet) step(now, wall time.Time, logic map[string]float64, snap []drivers.Sample) {
	for _, d := range s.devs {
		s.watchdog(now, wall, d, logic, snap)
		if d.latched && d.state == syncSynced {
			// The latch ends once the logic itself wants every command
			// of the device safe (it has seen the loss and held or
			// stopped); an operator's command starts things again.
			safe := true
			for _, o := range d.outs {
				if v, ok := logic[o.tag]; o.hasSafe && ok && v != o.safe {
					safe = false
				}
			}
			if safe {
				d.latched = false
			}
		}
	}
	for _, o := range s.points {
		if o.kind == outLogic {
			o.want, o.hasWant = logic[o.tag]
			if o.dev.latched && o.hasSafe {
				o.want, o.hasWant = o.safe, true
			}
		}
		if o.hasWant {
			s.write(now, wall, o, snap)
		}
	}
}

// watchdog keeps the device's heartbeat going and resets a tripped
// watchdog when that cannot start anything: the device is synchronised and
// every command on it is wanted (and read back) at its safe value.
func (s *outputSet) watchdog(now, wall time.Time, d *deviceSync, logic map[string]float64, snap []drivers.Sample) {
	if d.hb != nil && !wall.Before(d.hbNext) {
		d.hb.want = float64((uint16(d.hb.want) + 1) % 65535)
		if d.hb.want == 0 {
			d.hb.want = 1
		}
		d.hbNext = wall.Add(d.wd.EveryOrDefault())
		if d.hbNext.Before(wall) {
			d.hbNext = wall
		}
	}
	r := d.reset
	if r == nil {
		return
	}
	if r.want == 1 && r.ackOK && r.sent == 1 {
		r.want = 0 // the pulse was delivered
	}
	if d.fault < 0 || d.state != syncSynced || !d.resetPending || d.latched || wall.Before(d.resetNext) {
		return
	}
	if f := snap[d.fault]; !f.Quality.Good() || f.Value < 0.5 {
		if f.Quality.Good() && f.Time.After(d.since) {
			d.resetPending = false // healthy on this connection
		}
		return
	}
	for _, o := range d.outs {
		if !o.hasSafe {
			continue
		}
		if v, ok := logic[o.tag]; ok && v != o.safe {
			return
		}
		if o.snap >= 0 && (!snap[o.snap].Quality.Good() || math.Abs(snap[o.snap].Value-o.safe) > o.tol) {
			return
		}
	}
	r.want = 1
	d.resetNext = wall.Add(resetRetry)
	d.resets++
	s.emit(now, "watchdog_reset", d.name, d.name+" watchdog fault reset by the controller (every command on it is off)")
}

func (s *outputSet) write(now, wall time.Time, o *outputPoint, snap []drivers.Sample) {
	d := o.dev
	if d.gens != nil && d.gen == 0 {
		return // nothing can be written; the reconnect writes it
	}
	if o.inflight {
		if wall.Sub(o.sentAt) < resultTimeout {
			return
		}
		o.inflight = false
	}
	need := o.want != o.sent || o.sentGen != d.gen || o.writes == 0
	if !need && !o.ackOK {
		need = !wall.Before(o.retryAt)
		if !need {
			return
		}
	}
	if !need && o.kind != outHeartbeat && o.kind != outReset {
		switch {
		case o.snap >= 0:
			sm := &snap[o.snap]
			if d.state == syncSynced && sm.Quality.Good() && sm.Time.After(o.ackAt) && math.Abs(sm.Value-o.want) > o.tol {
				o.corrections++
				need = true
				s.emit(now, "output_corrected", d.name, fmt.Sprintf("%s read back %s, wanted %s: written again", o.tag, fmtValue(sm.Value), fmtValue(o.want)))
			}
		case wall.Sub(o.sentAt) >= d.refresh:
			o.reasserts++
			need = true
		}
	}
	if !need {
		return
	}
	if o.writes > 0 && o.sentGen != d.gen {
		o.reasserts++ // written again on a new connection
	}
	if err := o.writable.Write(o.tag, o.want); err != nil {
		o.ackOK, o.retryAt = false, wall.Add(writeRetry)
		return
	}
	o.writes++
	o.sent, o.sentGen, o.sentAt, o.inflight, o.ackOK = o.want, d.gen, wall, true, false
}

func fmtValue(v float64) string { return fmt.Sprintf("%.4g", v) }

// commState answers the comm-loss alarms' inputs: good and 1 while the
// device answers (synchronised, or connected anew and having its outputs
// written), bad:comm_failure while it does not. A device still connecting
// after start-up is given its grace time, so that a start does not raise
// an alarm for every device.
func (s *outputSet) commState(device string) (float64, drivers.Quality, bool) {
	for _, d := range s.devs {
		if d.name == device {
			if d.state != syncLost || (!d.connected && time.Since(s.started) < d.grace) {
				return 1, drivers.QualityGood, true
			}
			return 0, drivers.QualityBadCommFailure, true
		}
	}
	return 0, drivers.QualityBadConfigError, false
}

// status lists every output with its wanted value, read-back and counts.
func (s *outputSet) status(snap []drivers.Sample) []api.OutputStatus {
	out := make([]api.OutputStatus, 0, len(s.points))
	for _, o := range s.points {
		if !o.hasWant {
			continue
		}
		st := api.OutputStatus{Tag: o.tag, Device: o.dev.name, Want: o.want, Acknowledged: o.ackOK && o.ackGen == o.dev.gen,
			Corrections: o.corrections, Reasserts: o.reasserts, Writes: o.writes}
		switch o.kind {
		case outHeartbeat:
			st.Role = "heartbeat"
		case outCommTimeout:
			st.Role = "comm_timeout"
		case outReset:
			st.Role = "watchdog_reset"
		}
		if o.snap >= 0 && snap != nil {
			v, q := snap[o.snap].Value, snap[o.snap].Quality
			st.ReadBack, st.ReadBackQuality = &v, q.String()
		}
		out = append(out, st)
	}
	return out
}

// deviceState is what the status says of a device's synchronisation.
func (s *outputSet) deviceState(name string) (state string, since time.Time, losses, resets uint64, latched bool) {
	for _, d := range s.devs {
		if d.name == name {
			return d.state, d.since, d.lost, d.resets, d.latched
		}
	}
	return "", time.Time{}, 0, 0, false
}
