package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// Reconnect backoff: the first retry comes after backoffStart, each failed
// attempt doubles the wait up to backoffMax.
const (
	backoffStart = 200 * time.Millisecond
	backoffMax   = 5 * time.Second
)

// writeQueueSize bounds the writes waiting for the Run goroutine; a full
// queue means the device is stuck and Write says so instead of blocking.
const writeQueueSize = 64

// staleIntervals is the freshness watchdog: after this many poll intervals
// without any data notification, Run reads every node once. A server only
// notifies on change, so a read is how a quiet server is told from a dead
// one (and how a lost notification is made good).
const staleIntervals = 5

// connectTimeouts bounds connecting and subscribing, in request timeouts:
// dial and handshake, secure channel, session, namespaces, subscription.
const connectTimeouts = 3

// Options are the optional collaborators of a Device.
type Options struct {
	// Clock timestamps samples and write results in plant time. Nil means
	// drivers.WallClock. The subscription itself runs on wall time.
	Clock drivers.Clock
	// Results receives the outcome of each queued write. Sends never block:
	// a result is dropped (and logged) when the channel is full.
	Results chan<- drivers.WriteResult
	// Logger receives connection changes and write failures. Nil discards.
	Logger *slog.Logger
}

// Device is one OPC UA server connection with one subscription carrying a
// monitored item per readable point. Create it with New; Run owns the
// connection.
type Device struct {
	cfg     drivers.DeviceConfig
	clock   drivers.Clock
	results chan<- drivers.WriteResult
	log     *slog.Logger

	nodes    []*ua.NodeID // per point
	byTag    map[string]int
	readable []int // indices of subscribed points, in configuration order
	writes   chan writeRequest

	// connGen is the generation of the current session, 0 while
	// disconnected. A write runs only on the session it was queued under.
	connGen atomic.Uint64
	running atomic.Bool

	// Owned by the Run goroutine.
	last    []drivers.Sample // last sample per point
	batch   []drivers.Sample // reused for each push to the sink
	varType []ua.TypeID      // variant type the server reported per point; 0 = not known yet
	lastGen uint64

	mu     sync.Mutex // guards health
	health drivers.Health
}

// Device is a drivers.Device and reports its health.
var (
	_ drivers.Device         = (*Device)(nil)
	_ drivers.HealthReporter = (*Device)(nil)
)

type writeRequest struct {
	point int
	value float64
	gen   uint64
}

// New checks the configuration and parses the node ids. It makes no network
// calls: a device whose server is offline is created and started the same
// way. Configuration problems come back joined; each is a
// *drivers.ConfigError.
func New(cfg drivers.DeviceConfig, opts Options) (*Device, error) {
	var errs []error
	for _, e := range cfg.Validate() {
		errs = append(errs, e)
	}
	if cfg.Protocol != "" && cfg.Protocol != drivers.ProtocolOPCUA {
		errs = append(errs, &drivers.ConfigError{Path: "protocol",
			Message: fmt.Sprintf("the opcua driver speaks %s, not %q", drivers.ProtocolOPCUA, cfg.Protocol)})
	}
	if cfg.Endpoint != "" && !strings.HasPrefix(cfg.Endpoint, "opc.tcp://") {
		errs = append(errs, &drivers.ConfigError{Path: "endpoint",
			Message: fmt.Sprintf("endpoint %q must start with opc.tcp://", cfg.Endpoint)})
	}
	nodes := make([]*ua.NodeID, len(cfg.Points))
	byTag := make(map[string]int, len(cfg.Points))
	for i, p := range cfg.Points {
		if p.Node != "" {
			id, err := ua.ParseNodeID(p.Node)
			if err != nil {
				errs = append(errs, &drivers.ConfigError{Path: fmt.Sprintf("points[%d].node", i),
					Message: fmt.Sprintf("node id %q does not parse (want e.g. ns=2;s=Pulper.DS): %v", p.Node, err)})
			}
			nodes[i] = id
		}
		if first, dup := byTag[p.Tag]; dup && p.Tag != "" {
			errs = append(errs, &drivers.ConfigError{Path: fmt.Sprintf("points[%d].tag", i),
				Message: fmt.Sprintf("tag %q is already mapped by points[%d]", p.Tag, first)})
			continue
		}
		byTag[p.Tag] = i
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("opcua device %q: %w", cfg.Name, errors.Join(errs...))
	}

	cfg.Points = slices.Clone(cfg.Points)
	d := &Device{
		cfg:     cfg,
		clock:   opts.Clock,
		results: opts.Results,
		log:     opts.Logger,
		nodes:   nodes,
		byTag:   byTag,
		writes:  make(chan writeRequest, writeQueueSize),
		last:    make([]drivers.Sample, len(cfg.Points)),
		varType: make([]ua.TypeID, len(cfg.Points)),
	}
	if d.clock == nil {
		d.clock = drivers.WallClock
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("device", cfg.Name)
	for i := range cfg.Points {
		if cfg.Points[i].Access.Readable() {
			d.readable = append(d.readable, i)
		}
		d.last[i] = drivers.Sample{Tag: cfg.Points[i].Tag}
	}
	return d, nil
}

// Name returns the device name from the plant file.
func (d *Device) Name() string { return d.cfg.Name }

// Health returns a snapshot of the connection's health. Safe from any
// goroutine.
func (d *Device) Health() drivers.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.health
	h.Connected = d.connGen.Load() != 0
	return h
}

// Write queues a write of value (engineering units) to tag and returns at
// once. It fails with drivers.ErrUnknownTag, drivers.ErrNotWritable or
// drivers.ErrQueueFull. The outcome arrives on Options.Results. A write
// queued while the device is disconnected fails with drivers.ErrNotConnected
// and is never replayed after a reconnect.
func (d *Device) Write(tag string, value float64) error {
	i, ok := d.byTag[tag]
	if !ok {
		return fmt.Errorf("opcua device %q: %w: %q", d.cfg.Name, drivers.ErrUnknownTag, tag)
	}
	if !d.cfg.Points[i].Access.Writable() {
		return fmt.Errorf("opcua device %q: %w: %q has access %q", d.cfg.Name, drivers.ErrNotWritable, tag, d.cfg.Points[i].Access)
	}
	select {
	case d.writes <- writeRequest{point: i, value: value, gen: d.connGen.Load()}:
		return nil
	default:
		return fmt.Errorf("opcua device %q: %w (%d pending)", d.cfg.Name, drivers.ErrQueueFull, writeQueueSize)
	}
}

// Run connects (security policy None, anonymous), subscribes to every
// readable point and pushes the notifications into sink, serving queued
// writes in between, until ctx is cancelled; then it closes the session and
// returns nil. On any connection error it marks every readable point
// bad:comm_failure (keeping its last value), tears the client down and
// reconnects with backoff, creating the subscription anew. Run must not be
// called again while it is running.
func (d *Device) Run(ctx context.Context, sink drivers.Sink) error {
	if !d.running.CompareAndSwap(false, true) {
		return fmt.Errorf("opcua device %q: Run is already running", d.cfg.Name)
	}
	defer d.running.Store(false)

	wait := backoffStart
	outageLogged := false
	for {
		cn, err := d.connect(ctx, sink)
		if ctx.Err() != nil {
			if cn != nil {
				d.connGen.Store(0)
				d.close(cn)
			}
			return nil
		}
		if err == nil {
			var served bool
			served, err = d.serve(ctx, cn, sink)
			d.connGen.Store(0)
			if ctx.Err() != nil {
				d.close(cn)
				return nil
			}
			// Points turn bad first: closing a hung session can take
			// a request timeout.
			d.commFailure(sink, err)
			d.close(cn)
			if served {
				wait = backoffStart
				outageLogged = false
			}
		} else {
			d.commFailure(sink, err)
		}
		if !outageLogged {
			d.log.Warn("opcua server unreachable; reconnecting with backoff", "endpoint", d.cfg.Endpoint, "err", err)
			outageLogged = true
		}
		if !d.sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, backoffMax)
	}
}

// conn is one client session with its subscription.
type conn struct {
	client *gopcua.Client
	notifs chan *gopcua.PublishNotificationData
	// stateChanged is signalled (never blocking) on every client state
	// change; Run then checks whether the client is still connected.
	stateChanged chan struct{}
}

// connect dials, opens a session and subscribes. The client's own
// reconnection is off: Run owns reconnecting, so that it knows when points
// must turn bad and that the subscription is created anew.
func (d *Device) connect(ctx context.Context, sink drivers.Sink) (*conn, error) {
	d.countRequest()
	timeout := d.cfg.TimeoutOrDefault()
	cn := &conn{
		notifs:       make(chan *gopcua.PublishNotificationData, 64),
		stateChanged: make(chan struct{}, 1),
	}
	client, err := gopcua.NewClient(d.cfg.Endpoint,
		gopcua.SecurityPolicy(ua.SecurityPolicyURINone),
		gopcua.SecurityMode(ua.MessageSecurityModeNone),
		gopcua.AutoReconnect(false),
		gopcua.DialTimeout(timeout),
		gopcua.RequestTimeout(timeout),
		gopcua.ApplicationName("pretreat"),
		gopcua.ApplicationURI("urn:pretreat:controller"),
		gopcua.SessionName("pretreat "+d.cfg.Name),
		gopcua.StateChangedFunc(func(gopcua.ConnState) {
			select {
			case cn.stateChanged <- struct{}{}:
			default:
			}
		}),
	)
	if err != nil {
		d.countFailure(err)
		return nil, fmt.Errorf("opcua client for %s: %w", d.cfg.Endpoint, err)
	}
	// Without a deadline the HEL/ACK handshake waits forever on a server
	// that accepts TCP but never answers. Each later step is also bounded by
	// the request timeout; the deadline covers them all.
	cctx, cancel := context.WithTimeout(ctx, connectTimeouts*timeout)
	defer cancel()
	if err := client.Connect(cctx); err != nil {
		d.countFailure(err)
		return nil, fmt.Errorf("connect %s: %w", d.cfg.Endpoint, err)
	}
	cn.client = client
	if len(d.readable) > 0 {
		if err := d.subscribe(cctx, cn, sink); err != nil {
			d.countFailure(err)
			d.close(cn)
			return nil, err
		}
	}
	d.countSuccess()
	d.lastGen++
	d.connGen.Store(d.lastGen)
	d.log.Info("opcua server connected", "endpoint", d.cfg.Endpoint, "monitored_items", len(d.readable))
	return cn, nil
}

// subscribe creates the subscription (publishing interval = poll interval)
// and one monitored item per readable point, whose client handle is the
// point's index. An item the server refuses marks its point.
func (d *Device) subscribe(ctx context.Context, cn *conn, sink drivers.Sink) error {
	poll := d.cfg.PollIntervalOrDefault()
	// The server answers a waiting publish request with a keep-alive after
	// MaxKeepAliveCount quiet intervals, and the client gives up on that
	// request after max(count × interval, request timeout). Keep the
	// keep-alive well inside the request timeout so that no publish request
	// times out while the server still holds it: the server would later
	// answer it with data that nobody is waiting for.
	keepAlive := max(1, int(d.cfg.TimeoutOrDefault()/poll)-2)
	sub, err := cn.client.Subscribe(ctx, &gopcua.SubscriptionParameters{
		Interval:          poll,
		MaxKeepAliveCount: uint32(keepAlive),
		LifetimeCount:     uint32(max(60, 3*keepAlive)),
	}, cn.notifs)
	if err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	items := make([]*ua.MonitoredItemCreateRequest, 0, len(d.readable))
	for _, i := range d.readable {
		req := gopcua.NewMonitoredItemCreateRequestWithDefaults(d.nodes[i], ua.AttributeIDValue, uint32(i))
		req.RequestedParameters.SamplingInterval = float64(poll) / float64(time.Millisecond)
		req.RequestedParameters.QueueSize = 1
		items = append(items, req)
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items...)
	if err != nil {
		return fmt.Errorf("create monitored items: %w", err)
	}
	if res.ResponseHeader != nil && !isGood(res.ResponseHeader.ServiceResult) {
		return fmt.Errorf("create monitored items: %w", res.ResponseHeader.ServiceResult)
	}
	if len(res.Results) != len(items) {
		return fmt.Errorf("create monitored items: %d results for %d items", len(res.Results), len(items))
	}
	now := d.clock.Now()
	d.batch = d.batch[:0]
	for k, r := range res.Results {
		if r == nil || isGood(r.StatusCode) {
			continue
		}
		i := d.readable[k]
		d.last[i] = drivers.Sample{Tag: d.cfg.Points[i].Tag, Value: d.last[i].Value, Quality: statusQuality(r.StatusCode),
			Time: now, Reason: fmt.Sprintf("monitor %s: %v", d.cfg.Points[i].Node, r.StatusCode)}
		d.batch = append(d.batch, d.last[i])
	}
	if len(d.batch) > 0 {
		sink.Update(d.batch)
	}
	return nil
}

// close ends the session (deleting its subscription on the server) and the
// channel, waiting at most one request timeout for a server that is gone.
func (d *Device) close(cn *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.TimeoutOrDefault())
	defer cancel()
	cn.client.Close(ctx)
}

// serve handles notifications, writes and the freshness watchdog until the
// connection fails (error returned) or ctx is done (nil). served reports
// whether any data came through, which resets the reconnect backoff.
func (d *Device) serve(ctx context.Context, cn *conn, sink drivers.Sink) (served bool, err error) {
	poll := d.cfg.PollIntervalOrDefault()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	fresh := time.Now()
	for {
		select {
		case <-ctx.Done():
			return served, nil
		case <-cn.stateChanged:
			if st := cn.client.State(); st != gopcua.Connected {
				return served, fmt.Errorf("connection to %s lost (client %v)", d.cfg.Endpoint, st)
			}
		case n := <-cn.notifs:
			if err := d.notification(n, sink); err != nil {
				return served, err
			}
			fresh, served = time.Now(), true
		case w := <-d.writes:
			if err := d.write(ctx, cn, w); err != nil {
				return served, err
			}
		case <-ticker.C:
			if st := cn.client.State(); st != gopcua.Connected {
				return served, fmt.Errorf("connection to %s lost (client %v)", d.cfg.Endpoint, st)
			}
			if len(d.readable) > 0 && time.Since(fresh) >= staleIntervals*poll {
				if err := d.readAll(ctx, cn, sink); err != nil {
					return served, err
				}
				fresh, served = time.Now(), true
			}
		}
	}
}

// notification turns one publish notification into samples. Errors and
// status changes of the subscription end the connection: Run builds a new
// one rather than guess what the server still delivers.
func (d *Device) notification(n *gopcua.PublishNotificationData, sink drivers.Sink) error {
	if n == nil {
		return nil
	}
	if n.Error != nil {
		d.countFailure(n.Error)
		return fmt.Errorf("subscription: %w", n.Error)
	}
	switch v := n.Value.(type) {
	case *ua.DataChangeNotification:
		d.countSuccess()
		now := d.clock.Now()
		d.batch = d.batch[:0]
		for _, item := range v.MonitoredItems {
			if item == nil {
				continue
			}
			i := int(item.ClientHandle)
			if i >= len(d.cfg.Points) || !d.cfg.Points[i].Access.Readable() {
				continue
			}
			d.last[i] = d.fromDataValue(i, item.Value, now)
			d.batch = append(d.batch, d.last[i])
		}
		if len(d.batch) > 0 {
			sink.Update(d.batch)
		}
	case *ua.StatusChangeNotification:
		err := fmt.Errorf("subscription status changed: %w", v.Status)
		d.countFailure(err)
		return err
	}
	return nil
}

// readAll reads the value of every readable node once and pushes them all.
func (d *Device) readAll(ctx context.Context, cn *conn, sink drivers.Sink) error {
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, i := range d.readable {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: d.nodes[i], AttributeID: ua.AttributeIDValue})
	}
	d.countRequest()
	res, err := cn.client.Read(ctx, req)
	if err == nil && len(res.Results) != len(req.NodesToRead) {
		err = fmt.Errorf("%d results for %d nodes", len(res.Results), len(req.NodesToRead))
	}
	if err != nil {
		d.countFailure(err)
		return fmt.Errorf("read %d nodes: %w", len(req.NodesToRead), err)
	}
	d.countSuccess()
	now := d.clock.Now()
	d.batch = d.batch[:0]
	for k, i := range d.readable {
		d.last[i] = d.fromDataValue(i, res.Results[k], now)
		d.batch = append(d.batch, d.last[i])
	}
	sink.Update(d.batch)
	return nil
}

// fromDataValue turns a server's data value into a sample. The sample time
// is plant time now: the controller works in plant time, not in the
// server's clock.
func (d *Device) fromDataValue(i int, dv *ua.DataValue, now time.Time) drivers.Sample {
	p := &d.cfg.Points[i]
	bad := func(q drivers.Quality, reason string) drivers.Sample {
		return drivers.Sample{Tag: p.Tag, Value: d.last[i].Value, Quality: q, Time: now, Reason: reason}
	}
	if dv == nil {
		return bad(drivers.QualityBadDeviceException, "server sent no data value")
	}
	if !isGood(dv.Status) {
		return bad(statusQuality(dv.Status), fmt.Sprintf("server status: %v", dv.Status))
	}
	raw, ok := toFloat(dv.Value)
	if !ok {
		return bad(drivers.QualityBadDeviceException, fmt.Sprintf("value %v is not a number or bool", dv.Value))
	}
	d.varType[i] = dv.Value.Type()
	eng := p.ToEng(raw)
	s := drivers.Sample{Tag: p.Tag, Value: eng, Quality: drivers.QualityGood, Time: now}
	switch {
	case math.IsNaN(eng) || math.IsInf(eng, 0):
		s.Value = d.last[i].Value
		s.Quality = drivers.QualityBadOutOfRange
		s.Reason = fmt.Sprintf("server sent %v", eng)
	case !p.InRange(eng):
		s.Quality = drivers.QualityBadOutOfRange
		s.Reason = fmt.Sprintf("%g %s is outside [%g, %g]", eng, p.Unit, p.Min, p.Max)
	}
	return s
}

// commFailure marks every readable point bad:comm_failure, keeping its last
// value, and pushes them.
func (d *Device) commFailure(sink drivers.Sink, err error) {
	if len(d.readable) == 0 {
		return
	}
	now := d.clock.Now()
	reason := "not connected"
	if err != nil {
		reason = err.Error()
	}
	d.batch = d.batch[:0]
	for _, i := range d.readable {
		d.last[i].Quality = drivers.QualityBadCommFailure
		d.last[i].Reason = reason
		d.last[i].Time = now
		d.batch = append(d.batch, d.last[i])
	}
	sink.Update(d.batch)
}

// sleep waits for the backoff, failing writes that arrive meanwhile. It
// returns false when ctx is done.
func (d *Device) sleep(ctx context.Context, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case w := <-d.writes:
			d.report(w, fmt.Errorf("opcua device %q: %w", d.cfg.Name, drivers.ErrNotConnected))
		case <-timer.C:
			return true
		}
	}
}

// write executes one queued write with the node's data type, checks the
// status code and reads the value back. It returns an error only when the
// connection failed; every outcome is reported.
func (d *Device) write(ctx context.Context, cn *conn, w writeRequest) error {
	if w.gen == 0 || w.gen != d.connGen.Load() {
		d.report(w, fmt.Errorf("opcua device %q: %w when the write was queued", d.cfg.Name, drivers.ErrNotConnected))
		return nil
	}
	p := &d.cfg.Points[w.point]
	fail := func(err error) error {
		err = fmt.Errorf("opcua device %q: write %s (%s) = %g: %w", d.cfg.Name, p.Tag, p.Node, w.value, err)
		d.report(w, err)
		if isCommError(err) {
			return err
		}
		return nil
	}
	typ := d.varType[w.point]
	if typ == 0 {
		// Not learned from a notification (a write-only point): ask once.
		dv, err := d.readOne(ctx, cn, w.point)
		if err != nil {
			return fail(fmt.Errorf("read data type: %w", err))
		}
		if dv != nil && dv.Value != nil && isGood(dv.Status) {
			typ = dv.Value.Type()
			d.varType[w.point] = typ
		} else {
			typ = typeFromConfig(p.Type)
		}
	}
	v, err := toVariant(typ, p.ToRaw(w.value))
	if err != nil {
		d.report(w, fmt.Errorf("opcua device %q: write %s (%s) = %g: %w", d.cfg.Name, p.Tag, p.Node, w.value, err))
		return nil
	}
	d.countRequest()
	res, err := cn.client.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      d.nodes[w.point],
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
	}}})
	if err == nil && len(res.Results) != 1 {
		err = fmt.Errorf("%d results for one node", len(res.Results))
	}
	if err != nil {
		d.countFailure(err)
		return fail(err)
	}
	if sc := res.Results[0]; !isGood(sc) {
		d.countFailure(sc)
		return fail(sc)
	}
	d.countSuccess()
	dv, err := d.readOne(ctx, cn, w.point)
	if err != nil {
		return fail(fmt.Errorf("read-back: %w", err))
	}
	if !isGood(dv.Status) {
		return fail(fmt.Errorf("read-back: %w", dv.Status))
	}
	want, _ := toFloat(v)
	if got, ok := toFloat(dv.Value); !ok || got != want {
		return fail(fmt.Errorf("%w: wrote %v, read %v", drivers.ErrWriteMismatch, v.Value(), dv.Value))
	}
	d.report(w, nil)
	return nil
}

// readOne reads the value of one point's node.
func (d *Device) readOne(ctx context.Context, cn *conn, i int) (*ua.DataValue, error) {
	d.countRequest()
	res, err := cn.client.Read(ctx, &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: d.nodes[i], AttributeID: ua.AttributeIDValue}},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	})
	if err == nil && len(res.Results) != 1 {
		err = fmt.Errorf("%d results for one node", len(res.Results))
	}
	if err != nil {
		d.countFailure(err)
		return nil, err
	}
	d.countSuccess()
	return res.Results[0], nil
}

// report sends a write outcome without blocking.
func (d *Device) report(w writeRequest, err error) {
	tag := d.cfg.Points[w.point].Tag
	if err != nil {
		d.log.Warn("opcua write failed", "tag", tag, "value", w.value, "err", err)
	}
	if d.results == nil {
		return
	}
	select {
	case d.results <- drivers.WriteResult{Tag: tag, Value: w.value, Err: err, Time: d.clock.Now()}:
	default:
		d.log.Warn("write result dropped: results channel full", "tag", tag)
	}
}

func (d *Device) countRequest() {
	d.mu.Lock()
	d.health.Requests++
	d.mu.Unlock()
}

func (d *Device) countSuccess() {
	now := d.clock.Now()
	d.mu.Lock()
	d.health.LastOK = now
	d.mu.Unlock()
}

func (d *Device) countFailure(err error) {
	d.mu.Lock()
	d.health.Failures++
	d.health.LastError = err.Error()
	d.mu.Unlock()
}
