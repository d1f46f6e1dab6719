package testrig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// Lock order (outermost first):
//
//	Rig.lifeMu  →  gopcua server locks (MonitoredItemService.Mu, …)  →  Rig.mu
//	Rig.lifeMu  →  tcpProxy.mu
//	faultSet.injectMu  →  Rig.lifeMu  (notifying subscribers of a bad status)
//	faultSet.injectMu  →  Rig.mu  (faults of the model)
//	gopcua server locks  →  faultSet.mu  (uaNamespace.Attribute)
//
// Rig.mu, faultSet.mu and tcpProxy.mu are leaves: code holding Rig.mu never
// calls into the Modbus or OPC UA server libraries, because gopcua calls back
// into the rig (uaNamespace.Attribute and SetAttribute) while holding its own
// locks; faultSet.mu is held only to read or change the fault tables, never
// while blocking. The simonvetter server calls the gateway handlers without
// holding a lock. Rig.lifeMu is held only by Start, Stop, Endpoints and
// fault notifications; Stop waits for server goroutines that may take Rig.mu,
// never while holding it. The watchdogs' state (watchdog.go) is guarded by
// Rig.mu too; the Modbus handlers and the OPC UA connections' reads (in the
// proxy goroutines, holding no lock) take it to trip and kick them.

// physicsPeriod is how often, in wall time, the physics goroutine steps the
// model by the plant time elapsed on the clock. The model is stepped in
// whole substeps (physics.MaxSubstep of plant time), so that what it does
// depends only on the plant times at which commands and faults arrive, not
// on the wall-clock jitter of this goroutine: a run repeated with the same
// seed and the same inputs at the same plant times is repeated exactly.
const physicsPeriod = 10 * time.Millisecond

// JamMode says where the shredder's jams come from.
type JamMode string

// Jam modes.
const (
	// JamsInjected (the default, also written as "") jams the shredder
	// only when a jam or jam storm fault is injected, so that tests of
	// other behaviour are not upset by random jams.
	JamsInjected JamMode = "injected"
	// JamsRandom lets hard objects arrive at random at the waste class's
	// rate (physics.ClassProperties.HardObjectsPerTonne), from the seed.
	JamsRandom JamMode = "random"
)

// ParseJamMode returns the mode named s ("" is JamsInjected).
func ParseJamMode(s string) (JamMode, error) {
	switch JamMode(s) {
	case "", JamsInjected:
		return JamsInjected, nil
	case JamsRandom:
		return JamsRandom, nil
	}
	return "", fmt.Errorf("jam mode %q is not known; allowed: injected, random", s)
}

// Options configure a Rig.
type Options struct {
	// Devices is the plant file's device list. Only devices with Simulated
	// true are served; each is served with exactly its point map.
	Devices []drivers.DeviceConfig
	// Clock gives plant time; the model advances by the plant time that
	// passes on it. Nil means drivers.WallClock. Use drivers.NewScaledClock
	// to run the plant N times faster than real time.
	Clock drivers.Clock
	// Seed seeds the model's noise; the same seed and the same commands give
	// the same plant (up to the timing of the wall clock).
	Seed int64
	// WasteClass is the class of waste the trucks tip (see
	// physics.WasteClasses). Empty means "catering". SetClass changes it
	// while the rig runs.
	WasteClass string
	// Jams says whether hard objects jam the shredder at random or only
	// when a fault is injected (the default).
	Jams JamMode
	// Ephemeral makes every server listen on 127.0.0.1 on a port chosen by
	// the operating system instead of the configured address, for tests and
	// the demo. Endpoints tells where they went.
	Ephemeral bool
	// Logger receives the Modbus and OPC UA servers' own log messages. Nil
	// discards them. (gopcua also writes one line to the standard logger
	// when a server starts listening; that cannot be turned off.)
	Logger *slog.Logger
	// ModbusTLS is the server side of simulated devices with transport
	// tls: the rig's certificate and the CAs its clients' certificates
	// must chain to. Required when such a device is simulated.
	ModbusTLS *ModbusTLS
	// Units is the line's layout, as the plant file's units list gives it
	// (name, kind, fed_by, suction). Empty means the sample plant's line
	// (physics.DefaultLayout); the model's roles are then the sample
	// plant's tag names, and on any layout "<unit>.<variable>".
	Units []physics.UnitSpec
}

// Endpoint is where one simulated device is served.
type Endpoint struct {
	// Device is the device name from the plant file.
	Device string
	// Protocol is the device's protocol.
	Protocol drivers.Protocol
	// Address is the host:port actually bound.
	Address string
	// URL is opc.tcp://host:port for OPC UA, and tcp://host:port or
	// tcp+tls://host:port (the forms simonvetter/modbus clients take) for
	// Modbus.
	URL string
	// UnitID is the Modbus unit id the device answers to (0 for OPC UA).
	UnitID uint8
}

type rigState int

const (
	stateNew rigState = iota
	stateRunning
	stateStopped
)

// ErrStarted is returned by Start when the rig has already been started. A
// rig runs once: after Stop, build a new one.
var ErrStarted = errors.New("testrig: rig already started")

// Rig is a simulated pretreatment line served over Modbus TCP and OPC UA.
// Its methods are safe for concurrent use.
type Rig struct {
	clock     drivers.Clock
	logger    *slog.Logger
	ephemeral string // host to bind on OS-chosen ports; "" binds the configured addresses
	seed      int64
	jams      JamMode
	devices   []drivers.DeviceConfig // the simulated devices, as configured
	faults    *faultSet

	// lifeMu serializes Start and Stop and guards the fields below it.
	lifeMu      sync.Mutex
	state       rigState
	stopPhysics chan struct{}
	physicsDone chan struct{}
	endpoints   []Endpoint

	// gateways and uaDevices are built by New and not changed afterwards,
	// apart from the server handles that Start sets before serving.
	gateways  []*gateway
	uaDevices []*uaDevice

	// watchdogs are the simulated devices' watchdogs in plant-file order
	// (watchdog.go), watchdogOf the same by device and cmdWatchdogs by the
	// command roles a trip holds off. Built by New; the watchdogs' state
	// is guarded by mu.
	watchdogs    []*watchdog
	watchdogOf   map[string]*watchdog
	cmdWatchdogs map[string][]*watchdog
	// wallNow is the wall clock the watchdogs run on (time.Now; tests
	// may replace it before Start).
	wallNow func() time.Time

	// mu guards the model and the plant time it has reached. It is a leaf
	// lock (see the lock order above).
	mu       sync.Mutex
	line     *physics.Line
	plantNow time.Time
}

// New checks opts and builds a rig. It makes no network calls. Every problem
// in the simulated devices' configuration is reported, each wrapping a
// *drivers.ConfigError whose Path is relative to the device entry.
//
// The device list also says which equipment the plant has. A writable
// point with the role press.cone_valve runs the model's press with the
// controller positioning the cone valve (physics.BackPressureFromValve:
// press.back_pressure_sp is then ignored); one with the role
// filtrate.pump_cmd puts the filtrate transfer pump under the controller's
// command (physics.FiltratePumpCommanded) instead of its float switches;
// one with the role press_feed.run_cmd puts a press feed pump between
// pulper and press (physics.PressFeedPump: the press draws what the pump
// delivers, up to its capacity) instead of the press drawing straight from
// the pulper. Without them the model runs as before: the cone follows its
// set-point, the pump its floats and the press draws at capacity. On a
// layout with several presses and pumps (Options.Units) each unit's mode
// follows its own roles ("<press>.cone_valve", "<pump>.run_cmd").
func New(opts Options) (*Rig, error) {
	className := opts.WasteClass
	if className == "" {
		className = string(physics.ClassCatering)
	}
	class, err := physics.ParseWasteClass(className)
	if err != nil {
		return nil, fmt.Errorf("testrig: %w", err)
	}
	jams, err := ParseJamMode(string(opts.Jams))
	if err != nil {
		return nil, fmt.Errorf("testrig: %w", err)
	}
	var layout []physics.UnitSpec // nil: the default layout
	if len(opts.Units) > 0 {
		layout = opts.Units
	}
	line, err := physics.NewPlant(opts.Seed, class, layout)
	if err != nil {
		return nil, fmt.Errorf("testrig: %w", err)
	}
	r := &Rig{
		clock:  opts.Clock,
		logger: opts.Logger,
		seed:   opts.Seed,
		jams:   jams,
		line:   line,

		watchdogOf:   map[string]*watchdog{},
		cmdWatchdogs: map[string][]*watchdog{},
		wallNow:      time.Now,
	}
	r.faults = newFaultSet(r)
	if jams == JamsInjected {
		r.line.SetHardObjectRate(0)
	}
	if r.clock == nil {
		r.clock = drivers.WallClock
	}
	if opts.Ephemeral {
		r.ephemeral = "127.0.0.1"
	}

	var errs []error
	addErr := func(dev *drivers.DeviceConfig, path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("testrig: device %q: %w", dev.Name, &drivers.ConfigError{Path: path, Message: fmt.Sprintf(format, args...)}))
	}
	gatewayByAddr := map[string]*gateway{}
	simulated := 0
	// Roles whose mapping on a writable point says which kind of
	// equipment a unit is (physics.Line.ModeSwitch), applied once the
	// configuration is known to be good.
	var modeRoles []string
	modeSet := map[string]func(){}
	for i := range opts.Devices {
		dev := &opts.Devices[i]
		if !dev.Simulated {
			continue
		}
		simulated++
		r.devices = append(r.devices, *dev)
		if cerrs := dev.Validate(); len(cerrs) > 0 {
			for _, e := range cerrs {
				errs = append(errs, fmt.Errorf("testrig: device %q: %w", dev.Name, e))
			}
			continue
		}
		var wd *watchdog
		if dev.Watchdog != nil {
			wd = newWatchdog(dev)
		}
		points := make([]*servedPoint, 0, len(dev.Points))
		bad := false
		for j := range dev.Points {
			p := &dev.Points[j]
			sp := &servedPoint{cfg: *p, role: p.EffectiveRole(), typ: p.Type, writable: p.Access.Writable(), wd: wd}
			if sp.typ == "" {
				// Validate allows an empty type for bits and OPC UA nodes.
				sp.typ = drivers.TypeFloat64
				if p.Table == drivers.TableCoil || p.Table == drivers.TableDiscrete {
					sp.typ = drivers.TypeBool
				}
			}
			path := fmt.Sprintf("points[%d]", j)
			if wd != nil {
				sp.wdPoint = wd.point(p.Tag)
			}
			if sp.wdPoint != wdNone && sp.typ == drivers.TypeString {
				addErr(dev, path+".type", "%q is a point of the device's watchdog, which the rig serves as a number, not a string", p.Tag)
				bad = true
				continue
			}
			switch sp.wdPoint {
			case wdTag, wdReset:
				// Served by the watchdog: no model variable needed.
				points = append(points, sp)
				continue
			case wdFault:
				if _, ok := r.line.Get(sp.role); !ok {
					// Not a model variable: the point reads the trip.
					if sp.writable {
						addErr(dev, path+".access", "%q is the watchdog's fault status, read-only in the rig; allowed: read", p.Tag)
						bad = true
						continue
					}
					points = append(points, sp)
					continue
				}
				wd.faultRole = sp.role // the model's fault, ORed with the trip
			}
			if sp.typ == drivers.TypeString {
				// Text is not simulated: the rig serves the role as
				// constant text (a model name, a firmware version).
				if sp.writable {
					addErr(dev, path+".access", "the rig serves string points read-only; allowed: read")
					bad = true
				}
				points = append(points, sp)
				continue
			}
			if _, ok := r.line.Get(sp.role); !ok {
				addErr(dev, path+".role", "role %q is not simulated by the rig; known roles: %v", sp.role, r.line.Roles())
				bad = true
				continue
			}
			if sp.writable && !r.line.Settable(sp.role) {
				addErr(dev, path+".access", "role %q is a measurement in the rig and cannot be written; allowed: read", sp.role)
				bad = true
				continue
			}
			if fn, ok := r.line.ModeSwitch(sp.role); ok && sp.writable && modeSet[sp.role] == nil {
				modeRoles = append(modeRoles, sp.role)
				modeSet[sp.role] = fn
			}
			points = append(points, sp)
		}
		if bad {
			continue
		}
		if wd != nil {
			wd.addCommands(r.line, points)
			r.watchdogs = append(r.watchdogs, wd)
			r.watchdogOf[dev.Name] = wd
			for _, role := range wd.cmdRoles {
				r.cmdWatchdogs[role] = append(r.cmdWatchdogs[role], wd)
			}
		}
		switch dev.Protocol {
		case drivers.ProtocolModbusTCP:
			transport := dev.TransportOrDefault()
			if transport != drivers.TransportTCP && transport != drivers.TransportTLS {
				addErr(dev, "transport", "the rig serves Modbus over tcp and tls, not %s", transport)
				continue
			}
			if transport == drivers.TransportTLS && opts.ModbusTLS == nil {
				addErr(dev, "transport", "a simulated tls device needs the rig's server certificate (testrig.Options.ModbusTLS)")
				continue
			}
			if _, _, err := net.SplitHostPort(dev.Address); err != nil {
				addErr(dev, "address", "address %q is not host:port: %v", dev.Address, err)
				continue
			}
			g := gatewayByAddr[dev.Address]
			if g == nil {
				g = &gateway{rig: r, configured: dev.Address, transport: transport, tls: opts.ModbusTLS, units: map[uint8]*unitMap{}}
				gatewayByAddr[dev.Address] = g
				r.gateways = append(r.gateways, g)
			}
			if g.transport != transport {
				addErr(dev, "transport", "transport %s at %s differs from the other devices there (%s)", transport, dev.Address, g.transport)
				continue
			}
			if other, dup := g.units[dev.UnitID]; dup {
				addErr(dev, "unit_id", "unit id %d at %s is already used by device %q", dev.UnitID, dev.Address, other.device)
				continue
			}
			u, uerrs := newUnitMap(dev.Name, points)
			for _, e := range uerrs {
				errs = append(errs, fmt.Errorf("testrig: device %q: %w", dev.Name, e))
			}
			if len(uerrs) == 0 {
				g.units[dev.UnitID] = u
			}
		case drivers.ProtocolOPCUA:
			d, derrs := newUADevice(r, dev, points)
			for _, e := range derrs {
				errs = append(errs, fmt.Errorf("testrig: device %q: %w", dev.Name, e))
			}
			if len(derrs) == 0 {
				r.uaDevices = append(r.uaDevices, d)
			}
		}
	}
	if simulated == 0 {
		errs = append(errs, errors.New("testrig: no device is marked simulated: true; the rig has nothing to serve"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, role := range modeRoles {
		modeSet[role]()
	}
	return r, nil
}

// Start binds every listener, starts the Modbus and OPC UA servers and the
// physics goroutine, and returns once all of them are serving. ctx bounds
// start-up only; the rig runs until Stop. If any server fails to start, the
// ones already started are stopped and the error is returned.
func (r *Rig) Start(ctx context.Context) error {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.state != stateNew {
		return ErrStarted
	}
	r.state = stateStopped // until everything is up
	modbusLog := log.New(io.Discard, "", 0)
	if r.logger != nil {
		modbusLog = slog.NewLogLogger(r.logger.Handler(), slog.LevelInfo)
	}

	r.mu.Lock()
	r.plantNow = r.clock.Now()
	r.mu.Unlock()

	var err error
	for _, g := range r.gateways {
		if err = ctx.Err(); err != nil {
			break
		}
		if err = g.start(r.ephemeral, modbusLog); err != nil {
			err = fmt.Errorf("testrig: modbus server for %s: %w", g.configured, err)
			break
		}
	}
	if err == nil {
		for _, d := range r.uaDevices {
			if err = ctx.Err(); err != nil {
				break
			}
			if err = d.start(r.ephemeral, r.logger); err != nil {
				err = fmt.Errorf("testrig: opc ua server for device %q: %w", d.name, err)
				break
			}
		}
	}
	if err != nil {
		r.stopServers()
		return err
	}

	r.endpoints = r.endpoints[:0]
	for _, g := range r.gateways {
		r.endpoints = append(r.endpoints, g.endpoints()...)
	}
	for _, d := range r.uaDevices {
		r.endpoints = append(r.endpoints, d.endpoint())
	}
	r.stopPhysics = make(chan struct{})
	r.physicsDone = make(chan struct{})
	go r.runPhysics(r.stopPhysics, r.physicsDone)
	r.state = stateRunning
	return nil
}

// Endpoints returns where each simulated device is served, in plant-file
// order for Modbus gateways then OPC UA devices. It is empty before Start.
func (r *Rig) Endpoints() []Endpoint {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	return append([]Endpoint(nil), r.endpoints...)
}

// Value returns the model's current reading for role (see physics.Line.Get:
// an injected sensor fault shows) and whether the role exists.
func (r *Rig) Value(role string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.Get(role)
}

// Truth returns the model's value for role, ignoring sensor faults, and
// whether the role exists.
func (r *Rig) Truth(role string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.Truth(role)
}

// Roles returns the names of every model variable, sorted.
func (r *Rig) Roles() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.Roles()
}

// PlantTime returns the plant time the model has reached. It trails the
// clock by less than one physics step (physics.MaxSubstep).
func (r *Rig) PlantTime() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.plantNow
}

// Clock returns the clock the rig runs on.
func (r *Rig) Clock() drivers.Clock { return r.clock }

// Seed returns the seed the model was built with.
func (r *Rig) Seed() int64 { return r.seed }

// Jams returns where the shredder's jams come from.
func (r *Rig) Jams() JamMode { return r.jams }

// BackPressureControl returns what drives the press's cone back-pressure:
// the cone's own set-point, or the controller's cone valve when the device
// list maps press.cone_valve writable (see New).
func (r *Rig) BackPressureControl() physics.BackPressureControl {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.BackPressureControl()
}

// FiltratePumpControl returns what starts the filtrate transfer pump: its
// float switches, or the controller's command when the device list maps
// filtrate.pump_cmd writable (see New).
func (r *Rig) FiltratePumpControl() physics.FiltratePumpControl {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.FiltratePumpControl()
}

// PressFeedControl returns how the model's press is fed: straight from the
// pulper, or by the controller's feed pump.
func (r *Rig) PressFeedControl() physics.PressFeedControl {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.PressFeedControl()
}

// Class returns the class of waste the trucks tip now.
func (r *Rig) Class() physics.WasteClass {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.line.Class()
}

// SetClass changes the class of the waste tipped from now on (the next
// load), and with JamsRandom the rate of hard objects with it. kg > 0 also
// tips that much of it into the hopper at once. It returns an error,
// changing nothing, for an unknown class.
func (r *Rig) SetClass(class string, kg float64) error {
	c, err := physics.ParseWasteClass(class)
	if err != nil {
		return fmt.Errorf("testrig: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.line.SetClass(c); err != nil {
		return fmt.Errorf("testrig: %w", err)
	}
	r.line.Tip(kg)
	return nil
}

// Stop stops the physics goroutine and every server, closing client
// connections, and waits for the goroutines the rig started. It is safe to
// call more than once and before Start.
func (r *Rig) Stop() error {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.state != stateRunning {
		r.state = stateStopped
		return nil
	}
	r.state = stateStopped
	close(r.stopPhysics)
	<-r.physicsDone
	// Release requests held by a stopped-answering or slow device before
	// the servers wait for their connections.
	r.faults.shutdown()
	return r.stopServers()
}

// stopServers stops whatever servers are running. lifeMu must be held.
func (r *Rig) stopServers() error {
	var errs []error
	for _, g := range r.gateways {
		if err := g.stop(); err != nil {
			errs = append(errs, fmt.Errorf("testrig: modbus server %s: %w", g.bound, err))
		}
	}
	for _, d := range r.uaDevices {
		if err := d.stop(); err != nil {
			errs = append(errs, fmt.Errorf("testrig: opc ua server %s: %w", d.bound, err))
		}
	}
	return errors.Join(errs...)
}

// runPhysics steps the model every physicsPeriod of wall time by the plant
// time elapsed on the clock, after tripping the watchdogs that are due,
// then tells the OPC UA servers which values changed.
func (r *Rig) runPhysics(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(physicsPeriod)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := r.clock.Now()
		r.mu.Lock()
		// Watchdogs first: a rig that was paused trips before the model
		// runs on, so its drives stop over the time it was away.
		trips := r.checkWatchdogs(r.wallNow())
		if n := now.Sub(r.plantNow) / physics.MaxSubstep; n > 0 {
			dt := n * physics.MaxSubstep
			r.line.Step(dt)
			r.plantNow = r.plantNow.Add(dt)
		}
		for _, d := range r.uaDevices {
			d.collectChanges()
		}
		r.mu.Unlock()
		r.logTrips(trips)
		// Outside r.mu: gopcua reads the values back through the
		// namespace, which takes r.mu.
		for _, d := range r.uaDevices {
			d.notifyChanges()
		}
	}
}

// freePort asks the operating system for a free TCP port on host. The port
// is released before it is used, so another process may take it first;
// callers retry on a bind failure.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// bindAttempts is how often an ephemeral server is retried on a fresh port
// when another process took the port between freePort and the bind.
const bindAttempts = 5
