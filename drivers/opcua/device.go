package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// staleIntervals is the freshness watchdog: after this many poll intervals
// without any data notification, Run reads every subscribed node once. A
// server only notifies on change, so a read is how a quiet server is told
// from a subscription that stopped while the client still says "connected"
// (gopcua does not hand keep-alives to its user).
const staleIntervals = 5

// connectTimeouts bounds connecting and subscribing, in request timeouts:
// endpoints, dial and handshake, secure channel, session, subscription.
const connectTimeouts = 4

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
// monitored item per subscribed point, and a read per poll for the points
// that are polled. Create it with New; Run owns the connection.
type Device struct {
	shell *drivers.Shell
	cfg   drivers.DeviceConfig
	sec   *security

	nodes    []*ua.NodeID // per point
	byTag    map[string]int
	readable []int // indices of points that produce samples, in configuration order

	// Owned by the Run goroutine.
	last    []drivers.Sample // last sample per point
	batch   []drivers.Sample // reused for each push to the sink
	varType []ua.TypeID      // variant type the server reported per point; 0 = not known yet
}

// Device is a drivers.Device and reports its health.
var (
	_ drivers.Device         = (*Device)(nil)
	_ drivers.HealthReporter = (*Device)(nil)
	_ drivers.Generations    = (*Device)(nil)
)

// New checks the configuration, parses the node ids and loads the security
// material (certificate and key files, trust list, the password from its
// environment variable). It makes no network calls: a device whose server
// is offline is created and started the same way. Configuration problems
// come back joined; each is a *drivers.ConfigError.
func New(cfg drivers.DeviceConfig, opts Options) (*Device, error) {
	var errs []error
	for _, e := range cfg.Validate() {
		errs = append(errs, e)
	}
	if cfg.Protocol != "" && cfg.Protocol != drivers.ProtocolOPCUA {
		errs = append(errs, &drivers.ConfigError{Path: "protocol",
			Message: fmt.Sprintf("the opcua driver speaks %s, not %q", drivers.ProtocolOPCUA, cfg.Protocol)})
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
	sec, serrs := loadSecurity(&cfg)
	errs = append(errs, serrs...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("opcua device %q: %w", cfg.Name, errors.Join(errs...))
	}

	cfg.Points = slices.Clone(cfg.Points)
	d := &Device{
		shell:   drivers.NewShell("opcua", cfg.Name, opts.Clock, opts.Results, opts.Logger),
		cfg:     cfg,
		sec:     sec,
		nodes:   nodes,
		byTag:   byTag,
		last:    make([]drivers.Sample, len(cfg.Points)),
		varType: make([]ua.TypeID, len(cfg.Points)),
	}
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

// Generation returns the connection generation (drivers.Generations).
func (d *Device) Generation() uint64 { return d.shell.Generation() }

// Health returns a snapshot of the connection's health. Safe from any
// goroutine.
func (d *Device) Health() drivers.Health { return d.shell.Health() }

// Write queues a write of value (engineering units) to tag and returns at
// once. It fails with drivers.ErrUnknownTag, drivers.ErrNotWritable or
// drivers.ErrQueueFull. The outcome arrives on Options.Results. A write
// queued while the device is disconnected fails with drivers.ErrNotConnected
// and is never replayed after a reconnect.
func (d *Device) Write(tag string, value float64) error {
	i, ok := d.byTag[tag]
	if !ok {
		return d.shell.Errorf("%w: %q", drivers.ErrUnknownTag, tag)
	}
	if !d.cfg.Points[i].Access.Writable() {
		return d.shell.Errorf("%w: %q has access %q", drivers.ErrNotWritable, tag, d.cfg.Points[i].Access)
	}
	return d.shell.Enqueue(i, tag, value)
}

// Run connects with the configured security, subscribes to the subscribed
// points, polls the polled ones and pushes the values into sink, serving
// queued writes in between, until ctx is cancelled; then it closes the
// session and returns nil. On any connection error it marks every readable
// point bad:comm_failure (keeping its last value), tears the client down
// and reconnects with backoff, creating the subscription anew; a server
// whose certificate is not trusted is never talked to beyond asking for its
// endpoints, and its points are bad:config_error. Run must not be called
// again while it is running.
func (d *Device) Run(ctx context.Context, sink drivers.Sink) error {
	if err := d.shell.Begin(); err != nil {
		return err
	}
	defer d.shell.End()

	backoff := drivers.Backoff{Start: drivers.BackoffStart, Max: drivers.BackoffMax}
	outageLogged := false
	for {
		cn, err := d.connect(ctx, sink)
		if ctx.Err() != nil {
			if cn != nil {
				d.shell.Disconnected()
				d.close(cn)
			}
			return nil
		}
		if err == nil {
			var served bool
			served, err = d.serve(ctx, cn, sink)
			d.shell.Disconnected()
			if ctx.Err() != nil {
				d.close(cn)
				return nil
			}
			// Points turn bad first: closing a hung session can take
			// a request timeout.
			d.markAll(sink, drivers.QualityBadCommFailure, err.Error())
			d.close(cn)
			if served {
				backoff.Reset()
				outageLogged = false
			}
		} else {
			q := drivers.QualityBadCommFailure
			if errors.Is(err, drivers.ErrUntrustedServer) || errors.Is(err, drivers.ErrBadConfig) {
				q = drivers.QualityBadConfigError
			}
			d.markAll(sink, q, err.Error())
		}
		if !outageLogged {
			d.shell.Log().Warn("opcua server unreachable; reconnecting with backoff", "endpoint", d.cfg.Endpoint, "err", err)
			outageLogged = true
		}
		if !d.shell.Sleep(ctx, backoff.Next()) {
			return nil
		}
	}
}

// conn is one client session with its subscription.
type conn struct {
	client *gopcua.Client
	sub    *gopcua.Subscription
	notifs chan *gopcua.PublishNotificationData
	// stateChanged is signalled (never blocking) on every client state
	// change; Run then checks whether the client is still connected.
	stateChanged chan struct{}
	subscribed   []int // points with a monitored item
	polled       []int // points read every poll interval
}

// connect asks for the endpoints when security or a user token needs them,
// checks the server's certificate, dials, opens a session and subscribes.
// The client's own reconnection is off: Run owns reconnecting, so that it
// knows when points must turn bad and that the subscription is created
// anew.
func (d *Device) connect(ctx context.Context, sink drivers.Sink) (*conn, error) {
	d.shell.CountRequest()
	timeout := d.cfg.TimeoutOrDefault()
	cn := &conn{
		notifs:       make(chan *gopcua.PublishNotificationData, 64),
		stateChanged: make(chan struct{}, 1),
	}
	// Without a deadline the HEL/ACK handshake waits forever on a server
	// that accepts TCP but never answers. Each later step is also bounded by
	// the request timeout; the deadline covers them all.
	cctx, cancel := context.WithTimeout(ctx, connectTimeouts*timeout)
	defer cancel()
	opts := []gopcua.Option{
		gopcua.AutoReconnect(false),
		gopcua.DialTimeout(timeout),
		gopcua.RequestTimeout(timeout),
		gopcua.ApplicationName("pretreat"),
		gopcua.ApplicationURI("urn:pretreat:controller"),
		gopcua.SessionName("pretreat " + d.cfg.Name),
		gopcua.StateChangedFunc(func(gopcua.ConnState) {
			select {
			case cn.stateChanged <- struct{}{}:
			default:
			}
		}),
	}
	secOpts, err := d.securityOptions(cctx)
	if err != nil {
		d.shell.CountFailure(err)
		return nil, err
	}
	opts = append(opts, secOpts...)
	client, err := gopcua.NewClient(d.cfg.Endpoint, opts...)
	if err != nil {
		d.shell.CountFailure(err)
		return nil, fmt.Errorf("opcua client for %s: %w", d.cfg.Endpoint, err)
	}
	if err := client.Connect(cctx); err != nil {
		d.shell.CountFailure(err)
		return nil, fmt.Errorf("connect %s (%s, %s): %w", d.cfg.Endpoint, d.sec.policy, d.sec.mode, classifyConnect(err))
	}
	cn.client = client
	for _, i := range d.readable {
		if d.cfg.Points[i].Mode == drivers.MonitorPoll {
			cn.polled = append(cn.polled, i)
		} else {
			cn.subscribed = append(cn.subscribed, i)
		}
	}
	if len(cn.subscribed) > 0 {
		if err := d.subscribe(cctx, cn, sink); err != nil {
			d.shell.CountFailure(err)
			d.close(cn)
			return nil, err
		}
	}
	d.shell.CountSuccess()
	d.shell.Connected()
	d.shell.Log().Info("opcua server connected", "endpoint", d.cfg.Endpoint, "policy", d.sec.policy, "mode", d.sec.mode,
		"monitored_items", len(cn.subscribed), "polled", len(cn.polled))
	return cn, nil
}

// securityOptions returns the client options for the device's policy, mode
// and user token. When these need the server's endpoints, it fetches them,
// picks the one of the configured policy and mode, and refuses a server
// whose certificate is not trusted.
func (d *Device) securityOptions(ctx context.Context) ([]gopcua.Option, error) {
	s := d.sec
	if !s.needsEndpoints() {
		return []gopcua.Option{
			gopcua.SecurityPolicy(ua.SecurityPolicyURINone),
			gopcua.SecurityMode(ua.MessageSecurityModeNone),
			gopcua.AuthAnonymous(),
		}, nil
	}
	timeout := d.cfg.TimeoutOrDefault()
	eps, err := gopcua.GetEndpoints(ctx, d.cfg.Endpoint, gopcua.DialTimeout(timeout), gopcua.RequestTimeout(timeout), gopcua.AutoReconnect(false))
	if err != nil {
		return nil, fmt.Errorf("%w: get endpoints of %s: %w", drivers.ErrCommFailure, d.cfg.Endpoint, err)
	}
	var ep *ua.EndpointDescription
	var offered []string
	for _, e := range eps {
		offered = append(offered, fmt.Sprintf("%s/%s", strings.TrimPrefix(e.SecurityPolicyURI, "http://opcfoundation.org/UA/SecurityPolicy#"), e.SecurityMode))
		if e.SecurityPolicyURI == s.policyURI && e.SecurityMode == s.mode && ep == nil {
			ep = e
		}
	}
	if ep == nil {
		return nil, fmt.Errorf("%w: %s offers no endpoint with policy %s and mode %s; it offers %s",
			drivers.ErrBadConfig, d.cfg.Endpoint, s.policy, s.mode, strings.Join(offered, ", "))
	}
	if s.policy != drivers.PolicyNone || len(s.trust) > 0 || s.pinned != nil {
		// The library does not check the server's certificate: without
		// this, anyone answering at the address could read the traffic
		// and the password meant for the real server.
		if err := s.verify(ep.ServerCertificate); err != nil {
			return nil, err
		}
	}
	opts := []gopcua.Option{gopcua.SecurityFromEndpoint(ep, s.authType)}
	if s.policy != drivers.PolicyNone {
		opts = append(opts, gopcua.PrivateKey(s.key), gopcua.Certificate(s.cert))
		if s.appURI != "" {
			// Servers check that the application URI matches the
			// certificate's.
			opts = append(opts, gopcua.ApplicationURI(s.appURI))
		}
	}
	switch s.authType {
	case ua.UserTokenTypeUserName:
		opts = append(opts, gopcua.AuthUsername(s.username, s.password))
	case ua.UserTokenTypeCertificate:
		opts = append(opts, gopcua.AuthCertificate(s.userCert), gopcua.AuthPrivateKey(s.userKey))
	default:
		opts = append(opts, gopcua.AuthAnonymous())
	}
	if !hasTokenType(ep, s.authType) {
		return nil, fmt.Errorf("%w: the %s/%s endpoint of %s does not accept %s user tokens",
			drivers.ErrBadConfig, s.policy, s.mode, d.cfg.Endpoint, tokenName(s.authType))
	}
	return opts, nil
}

func hasTokenType(ep *ua.EndpointDescription, t ua.UserTokenType) bool {
	for _, p := range ep.UserIdentityTokens {
		if p.TokenType == t {
			return true
		}
	}
	return false
}

func tokenName(t ua.UserTokenType) string {
	switch t {
	case ua.UserTokenTypeUserName:
		return "user name"
	case ua.UserTokenTypeCertificate:
		return "certificate"
	}
	return "anonymous"
}

// subscribe creates the subscription (publishing interval = poll interval)
// and one monitored item per subscribed point, whose client handle is the
// point's index. A node whose monitored item the server cannot provide is
// polled instead; a node that does not exist is marked.
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
		return fmt.Errorf("%w: create subscription: %w", drivers.ErrCommFailure, err)
	}
	cn.sub = sub
	items := make([]*ua.MonitoredItemCreateRequest, 0, len(cn.subscribed))
	for _, i := range cn.subscribed {
		items = append(items, d.itemRequest(i))
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, items...)
	if err != nil {
		return fmt.Errorf("%w: create monitored items: %w", drivers.ErrCommFailure, err)
	}
	if res.ResponseHeader != nil && !isGood(res.ResponseHeader.ServiceResult) {
		return fmt.Errorf("create monitored items: %w", res.ResponseHeader.ServiceResult)
	}
	if len(res.Results) != len(items) {
		return fmt.Errorf("create monitored items: %d results for %d items", len(res.Results), len(items))
	}
	now := d.shell.Clock().Now()
	d.batch = d.batch[:0]
	monitored := cn.subscribed[:0:0]
	for k, r := range res.Results {
		i := cn.subscribed[k]
		switch {
		case r == nil || isGood(r.StatusCode):
			monitored = append(monitored, i)
		case fallsBackToPolling(r.StatusCode):
			d.shell.Log().Info("opcua node polled: the server cannot monitor it", "node", d.cfg.Points[i].Node, "status", r.StatusCode)
			cn.polled = append(cn.polled, i)
		default:
			d.last[i] = drivers.Sample{Tag: d.cfg.Points[i].Tag, Value: d.last[i].Value, Quality: statusQuality(r.StatusCode),
				Time: now, Reason: fmt.Sprintf("monitor %s: %v", d.cfg.Points[i].Node, r.StatusCode)}
			d.batch = append(d.batch, d.last[i])
		}
	}
	cn.subscribed = monitored
	if len(d.batch) > 0 {
		sink.Update(d.batch)
	}
	return nil
}

// itemRequest builds the monitored item of point i: sampling interval, queue
// size and deadband from the point, the device's poll interval otherwise.
func (d *Device) itemRequest(i int) *ua.MonitoredItemCreateRequest {
	p := &d.cfg.Points[i]
	req := gopcua.NewMonitoredItemCreateRequestWithDefaults(d.nodes[i], ua.AttributeIDValue, uint32(i))
	sampling := p.SamplingInterval
	if sampling <= 0 {
		sampling = d.cfg.PollIntervalOrDefault()
	}
	req.RequestedParameters.SamplingInterval = float64(sampling) / float64(time.Millisecond)
	req.RequestedParameters.QueueSize = max(1, p.QueueSize)
	req.RequestedParameters.DiscardOldest = true
	if p.DeadbandType != "" {
		typ := ua.DeadbandTypeAbsolute
		if p.DeadbandType == drivers.DeadbandPercent {
			typ = ua.DeadbandTypePercent
		}
		req.RequestedParameters.Filter = ua.NewExtensionObject(&ua.DataChangeFilter{
			Trigger:       ua.DataChangeTriggerStatusValue,
			DeadbandType:  uint32(typ),
			DeadbandValue: p.Deadband,
		})
	}
	return req
}

// close ends the session (deleting its subscription on the server) and the
// channel, waiting at most one request timeout for a server that is gone.
func (d *Device) close(cn *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.TimeoutOrDefault())
	defer cancel()
	cn.client.Close(ctx)
}

// serve handles notifications, polls, writes and the freshness watchdog
// until the connection fails (error returned) or ctx is done (nil). served
// reports whether any data came through, which resets the reconnect
// backoff.
func (d *Device) serve(ctx context.Context, cn *conn, sink drivers.Sink) (served bool, err error) {
	poll := d.cfg.PollIntervalOrDefault()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	fresh := time.Now()
	lost := func() error {
		return fmt.Errorf("%w: connection to %s lost (client %v)", drivers.ErrCommFailure, d.cfg.Endpoint, cn.client.State())
	}
	if len(cn.polled) > 0 {
		if err := d.readPoints(ctx, cn, cn.polled, sink); err != nil {
			return false, err
		}
		served = true
	}
	for {
		select {
		case <-ctx.Done():
			return served, nil
		case <-cn.stateChanged:
			if cn.client.State() != gopcua.Connected {
				return served, lost()
			}
		case n := <-cn.notifs:
			if err := d.notification(n, sink); err != nil {
				return served, err
			}
			fresh, served = time.Now(), true
		case w := <-d.shell.Writes():
			if err := d.write(ctx, cn, w); err != nil {
				return served, err
			}
		case <-ticker.C:
			if cn.client.State() != gopcua.Connected {
				return served, lost()
			}
			// Ask the server something every poll interval: the polled
			// points, or else its clock. A subscription alone would
			// notice a dead server only when a publish request times
			// out, up to a keep-alive period later; this keeps the
			// bound of one timeout plus one poll interval.
			if len(cn.polled) > 0 {
				if err := d.readPoints(ctx, cn, cn.polled, sink); err != nil {
					return served, err
				}
				served = true
			} else if err := d.ping(ctx, cn); err != nil {
				return served, err
			}
			if len(cn.subscribed) > 0 && time.Since(fresh) >= staleIntervals*poll {
				if err := d.watchdog(ctx, cn, sink); err != nil {
					return served, err
				}
				fresh, served = time.Now(), true
			}
		}
	}
}

// serverTimeNode is Server_ServerStatus_CurrentTime, which every server has.
var serverTimeNode = ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime)

// ping reads the server's clock, bounded by the request timeout, to tell a
// live server from a dead one.
func (d *Device) ping(ctx context.Context, cn *conn) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.TimeoutOrDefault())
	defer cancel()
	d.shell.CountRequest()
	_, err := cn.client.Read(ctx, &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: serverTimeNode, AttributeID: ua.AttributeIDValue}},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	})
	if err != nil {
		d.shell.CountFailure(err)
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", d.cfg.TimeoutOrDefault())
		}
		return fmt.Errorf("%w: server %s: %w", drivers.ErrCommFailure, d.cfg.Endpoint, err)
	}
	d.shell.CountSuccess()
	return nil
}

// watchdog runs when no notification came for staleIntervals polls. It
// reads the subscribed nodes and pushes what it read: those are fresh
// values from the server, good or not by their own status. A value that
// moved without being notified means the subscription stopped delivering
// while the session lives on (a known failure mode of gopcua and of some
// servers), or that notifications are only late (a loaded client): either
// way the subscription is created anew. Otherwise the server was merely
// quiet. Marking the points stale here instead would hold a plant on data
// the driver has just read.
func (d *Device) watchdog(ctx context.Context, cn *conn, sink drivers.Sink) error {
	samples, err := d.readSamples(ctx, cn, cn.subscribed)
	if err != nil {
		return err
	}
	moved := false
	for k, i := range cn.subscribed {
		moved = moved || d.movedUnnoticed(i, samples[k])
	}
	d.store(cn.subscribed, samples, sink)
	if !moved {
		return nil
	}
	d.shell.Log().Warn("opcua subscription stopped delivering; read the values and resubscribing", "endpoint", d.cfg.Endpoint)
	if cn.sub != nil {
		cctx, cancel := context.WithTimeout(ctx, d.cfg.TimeoutOrDefault())
		_ = cn.sub.Cancel(cctx) // the server may have dropped it already
		cancel()
	}
	cn.notifs = make(chan *gopcua.PublishNotificationData, 64) // leave the old subscription's leftovers behind
	subscribed := cn.subscribed
	cctx, cancel := context.WithTimeout(ctx, connectTimeouts*d.cfg.TimeoutOrDefault())
	defer cancel()
	if err := d.subscribe(cctx, cn, sink); err != nil {
		cn.subscribed = subscribed
		return fmt.Errorf("resubscribe: %w", err)
	}
	return nil
}

// movedUnnoticed reports whether a read sample of a subscribed point
// differs from the last notified one by more than its deadband would hide.
func (d *Device) movedUnnoticed(i int, s drivers.Sample) bool {
	p := &d.cfg.Points[i]
	old := d.last[i]
	if s.Quality != drivers.QualityGood || old.Quality != drivers.QualityGood {
		return false
	}
	switch p.DeadbandType {
	case drivers.DeadbandPercent:
		return false // the range is the server's; a difference proves nothing
	case drivers.DeadbandAbsolute:
		return math.Abs(p.ToRaw(s.Value)-p.ToRaw(old.Value)) > p.Deadband
	}
	return s.Value != old.Value
}

// notification turns one publish notification into samples. Errors and
// status changes of the subscription end the connection: Run builds a new
// one rather than guess what the server still delivers.
func (d *Device) notification(n *gopcua.PublishNotificationData, sink drivers.Sink) error {
	if n == nil {
		return nil
	}
	if n.Error != nil {
		d.shell.CountFailure(n.Error)
		return fmt.Errorf("%w: subscription: %w", drivers.ErrCommFailure, n.Error)
	}
	switch v := n.Value.(type) {
	case *ua.DataChangeNotification:
		d.shell.CountSuccess()
		now := d.shell.Clock().Now()
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
		err := fmt.Errorf("%w: subscription status changed: %w", drivers.ErrCommFailure, v.Status)
		d.shell.CountFailure(err)
		return err
	}
	return nil
}

// readPoints reads the value of the given points once and pushes them.
func (d *Device) readPoints(ctx context.Context, cn *conn, points []int, sink drivers.Sink) error {
	samples, err := d.readSamples(ctx, cn, points)
	if err != nil {
		return err
	}
	d.store(points, samples, sink)
	return nil
}

// readSamples reads the value of the given points once.
func (d *Device) readSamples(ctx context.Context, cn *conn, points []int) ([]drivers.Sample, error) {
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnNeither}
	for _, i := range points {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: d.nodes[i], AttributeID: ua.AttributeIDValue})
	}
	d.shell.CountRequest()
	res, err := cn.client.Read(ctx, req)
	if err == nil && len(res.Results) != len(req.NodesToRead) {
		err = fmt.Errorf("%d results for %d nodes", len(res.Results), len(req.NodesToRead))
	}
	if err != nil {
		d.shell.CountFailure(err)
		return nil, fmt.Errorf("%w: read %d nodes: %w", drivers.ErrCommFailure, len(req.NodesToRead), err)
	}
	d.shell.CountSuccess()
	now := d.shell.Clock().Now()
	samples := make([]drivers.Sample, len(points))
	for k, i := range points {
		samples[k] = d.fromDataValue(i, res.Results[k], now)
	}
	return samples, nil
}

// store makes samples the points' last ones and pushes them.
func (d *Device) store(points []int, samples []drivers.Sample, sink drivers.Sink) {
	for k, i := range points {
		d.last[i] = samples[k]
	}
	sink.Update(samples)
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

// markAll gives every readable point quality q with reason, keeping its last
// value, and pushes them.
func (d *Device) markAll(sink drivers.Sink, q drivers.Quality, reason string) {
	if len(d.readable) == 0 {
		return
	}
	now := d.shell.Clock().Now()
	d.batch = d.batch[:0]
	for _, i := range d.readable {
		d.last[i].Quality = q
		d.last[i].Reason = reason
		d.last[i].Time = now
		d.batch = append(d.batch, d.last[i])
	}
	sink.Update(d.batch)
}

// write executes one queued write with the node's data type, checks the
// status code and reads the value back. It returns an error only when the
// connection failed; every outcome is reported.
func (d *Device) write(ctx context.Context, cn *conn, w drivers.WriteRequest) error {
	if d.shell.RejectStale(w) {
		return nil
	}
	p := &d.cfg.Points[w.Point]
	fail := func(err error) error {
		err = d.shell.Errorf("write %s (%s) = %g: %w", p.Tag, p.Node, w.Value, err)
		d.shell.Report(w, err)
		if isCommError(err) {
			return err
		}
		return nil
	}
	typ := d.varType[w.Point]
	if typ == 0 {
		// Not learned from a notification (a write-only point): ask once.
		dv, err := d.readOne(ctx, cn, w.Point)
		if err != nil {
			return fail(fmt.Errorf("read data type: %w", err))
		}
		if dv != nil && dv.Value != nil && isGood(dv.Status) {
			typ = dv.Value.Type()
			d.varType[w.Point] = typ
		} else {
			typ = typeFromConfig(p.Type)
		}
	}
	v, err := toVariant(typ, p.ToRaw(w.Value))
	if err != nil {
		return fail(err)
	}
	d.shell.CountRequest()
	res, err := cn.client.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      d.nodes[w.Point],
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
	}}})
	if err == nil && len(res.Results) != 1 {
		err = fmt.Errorf("%d results for one node", len(res.Results))
	}
	if err != nil {
		d.shell.CountFailure(err)
		return fail(classifyStatus(err))
	}
	if sc := res.Results[0]; !isGood(sc) {
		d.shell.CountFailure(sc)
		return fail(classifyStatus(sc))
	}
	d.shell.CountSuccess()
	dv, err := d.readOne(ctx, cn, w.Point)
	if err != nil {
		return fail(fmt.Errorf("read-back: %w", classifyStatus(err)))
	}
	if !isGood(dv.Status) {
		return fail(fmt.Errorf("read-back: %w", classifyStatus(dv.Status)))
	}
	want, _ := toFloat(v)
	if got, ok := toFloat(dv.Value); !ok || got != want {
		return fail(fmt.Errorf("%w: wrote %v, read %v", drivers.ErrWriteMismatch, v.Value(), dv.Value))
	}
	d.shell.Report(w, nil)
	return nil
}

// readOne reads the value of one point's node.
func (d *Device) readOne(ctx context.Context, cn *conn, i int) (*ua.DataValue, error) {
	d.shell.CountRequest()
	res, err := cn.client.Read(ctx, &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: d.nodes[i], AttributeID: ua.AttributeIDValue}},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	})
	if err == nil && len(res.Results) != 1 {
		err = fmt.Errorf("%d results for one node", len(res.Results))
	}
	if err != nil {
		d.shell.CountFailure(err)
		return nil, err
	}
	d.shell.CountSuccess()
	return res.Results[0], nil
}
