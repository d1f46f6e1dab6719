package modbus

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

// Reconnect backoff: the first retry comes after backoffStart, each failed
// attempt doubles the wait up to backoffMax.
const (
	backoffStart = 200 * time.Millisecond
	backoffMax   = 5 * time.Second
)

// writeQueueSize bounds the writes waiting for the Run goroutine. The scan
// writes a handful of outputs per period; a full queue means the device is
// stuck, and Write says so instead of blocking the scan.
const writeQueueSize = 64

// Options are the optional collaborators of a Device.
type Options struct {
	// Clock timestamps samples and write results in plant time. Nil means
	// drivers.WallClock. Polling itself runs on wall time: the peer does.
	Clock drivers.Clock
	// Results receives the outcome of each queued write. Sends never block:
	// a result is dropped (and logged) when the channel is full. Nil means
	// outcomes are only logged.
	Results chan<- drivers.WriteResult
	// Logger receives connection changes and write failures. Nil discards.
	Logger *slog.Logger
}

// Device is one Modbus TCP connection (one host:port and unit id) with its
// read plan. Create it with New; Run owns the connection.
type Device struct {
	cfg     drivers.DeviceConfig
	clock   drivers.Clock
	results chan<- drivers.WriteResult
	log     *slog.Logger

	blocks   []readBlock
	byTag    map[string]int
	readable []int // indices of polled points, in configuration order
	writes   chan writeRequest

	// connGen is the generation of the current connection, 0 while
	// disconnected. A write carries the generation it was queued under and
	// is executed only if that connection is still the current one.
	connGen atomic.Uint64
	running atomic.Bool

	// Owned by the Run goroutine.
	last    []drivers.Sample // last sample per point (readable points only)
	batch   []drivers.Sample // reused for each push to the sink
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

// New checks the configuration and builds the read plan. It makes no network
// calls: a device whose peer is offline is created and started the same way.
// Configuration problems come back joined; each is a *drivers.ConfigError.
func New(cfg drivers.DeviceConfig, opts Options) (*Device, error) {
	var errs []error
	for _, e := range cfg.Validate() {
		errs = append(errs, e)
	}
	if cfg.Protocol != "" && cfg.Protocol != drivers.ProtocolModbusTCP {
		errs = append(errs, &drivers.ConfigError{Path: "protocol",
			Message: fmt.Sprintf("the modbus driver speaks %s, not %q", drivers.ProtocolModbusTCP, cfg.Protocol)})
	}
	if cfg.Address != "" {
		if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
			errs = append(errs, &drivers.ConfigError{Path: "address",
				Message: fmt.Sprintf("address %q is not host:port: %v", cfg.Address, err)})
		}
	}
	byTag := make(map[string]int, len(cfg.Points))
	for i, p := range cfg.Points {
		if first, dup := byTag[p.Tag]; dup && p.Tag != "" {
			errs = append(errs, &drivers.ConfigError{Path: fmt.Sprintf("points[%d].tag", i),
				Message: fmt.Sprintf("tag %q is already mapped by points[%d]", p.Tag, first)})
			continue
		}
		byTag[p.Tag] = i
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("modbus device %q: %w", cfg.Name, errors.Join(errs...))
	}

	cfg.Points = slices.Clone(cfg.Points)
	for i := range cfg.Points {
		p := &cfg.Points[i]
		if p.Type == "" {
			p.Type = drivers.TypeBool // only coils and discrete inputs may omit it
		}
		if p.Order == "" {
			p.Order = drivers.WordOrderABCD
		}
	}
	d := &Device{
		cfg:     cfg,
		clock:   opts.Clock,
		results: opts.Results,
		log:     opts.Logger,
		blocks:  planReads(cfg.Points, cfg.ReadGap),
		byTag:   byTag,
		writes:  make(chan writeRequest, writeQueueSize),
		last:    make([]drivers.Sample, len(cfg.Points)),
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
		return fmt.Errorf("modbus device %q: %w: %q", d.cfg.Name, drivers.ErrUnknownTag, tag)
	}
	if !d.cfg.Points[i].Access.Writable() {
		return fmt.Errorf("modbus device %q: %w: %q has access %q", d.cfg.Name, drivers.ErrNotWritable, tag, d.cfg.Points[i].Access)
	}
	select {
	case d.writes <- writeRequest{point: i, value: value, gen: d.connGen.Load()}:
		return nil
	default:
		return fmt.Errorf("modbus device %q: %w (%d pending)", d.cfg.Name, drivers.ErrQueueFull, writeQueueSize)
	}
}

// Run connects, polls every PollIntervalOrDefault and serves queued writes
// between polls until ctx is cancelled; then it closes the connection and
// returns nil. While the peer is unreachable every polled point is
// bad:comm_failure (keeping its last value) and Run reconnects with backoff.
// Run must not be called again while it is running.
func (d *Device) Run(ctx context.Context, sink drivers.Sink) error {
	if !d.running.CompareAndSwap(false, true) {
		return fmt.Errorf("modbus device %q: Run is already running", d.cfg.Name)
	}
	defer d.running.Store(false)

	wait := backoffStart
	outageLogged := false
	for {
		client, err := d.connect(ctx)
		if ctx.Err() != nil {
			if client != nil {
				d.disconnected()
				client.Close()
			}
			return nil
		}
		if err == nil {
			var polled bool
			polled, err = d.serve(ctx, client, sink)
			d.disconnected()
			if ctx.Err() != nil {
				client.Close()
				return nil
			}
			d.commFailure(sink, err)
			client.Close()
			if polled {
				wait = backoffStart
				outageLogged = false
			}
		} else {
			d.commFailure(sink, err)
		}
		if !outageLogged {
			d.log.Warn("modbus device unreachable; reconnecting with backoff", "err", err)
			outageLogged = true
		}
		if !d.sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, backoffMax)
	}
}

// connect opens a new client. simonvetter's Open dials with a fixed 5 s
// timeout and no context, so it runs aside while Run keeps answering ctx and
// failing writes that arrive meanwhile.
func (d *Device) connect(ctx context.Context) (*mb.ModbusClient, error) {
	d.countRequest()
	client, err := mb.NewClient(&mb.ClientConfiguration{
		URL:     "tcp://" + d.cfg.Address,
		Timeout: d.cfg.TimeoutOrDefault(),
		Logger:  log.New(slogWriter{d.log}, "", 0),
	})
	if err != nil {
		d.countFailure(err)
		return nil, fmt.Errorf("modbus client for %s: %w", d.cfg.Address, err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Open() }()
	for {
		select {
		case <-ctx.Done():
			go func() {
				if <-done == nil {
					client.Close()
				}
			}()
			return nil, ctx.Err()
		case w := <-d.writes:
			d.report(w, fmt.Errorf("modbus device %q: %w", d.cfg.Name, drivers.ErrNotConnected))
		case err := <-done:
			if err != nil {
				d.countFailure(err)
				return nil, fmt.Errorf("connect %s: %w", d.cfg.Address, err)
			}
			if err := client.SetUnitId(d.cfg.UnitID); err != nil {
				client.Close()
				d.countFailure(err)
				return nil, fmt.Errorf("set unit id %d: %w", d.cfg.UnitID, err)
			}
			d.countSuccess()
			d.lastGen++
			d.connGen.Store(d.lastGen)
			return client, nil
		}
	}
}

func (d *Device) disconnected() { d.connGen.Store(0) }

// serve polls and writes on an open connection until a communication error
// (returned) or ctx is done (nil). polled reports whether at least one poll
// went through, which resets the reconnect backoff.
func (d *Device) serve(ctx context.Context, client *mb.ModbusClient, sink drivers.Sink) (polled bool, err error) {
	d.log.Info("modbus device connected", "address", d.cfg.Address, "unit_id", d.cfg.UnitID)
	ticker := time.NewTicker(d.cfg.PollIntervalOrDefault())
	defer ticker.Stop()
	if err := d.poll(client, sink); err != nil {
		return false, err
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case w := <-d.writes:
			if err := d.write(client, w); err != nil {
				return true, err
			}
		case <-ticker.C:
			if err := d.poll(client, sink); err != nil {
				return true, err
			}
		}
	}
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
			d.report(w, fmt.Errorf("modbus device %q: %w", d.cfg.Name, drivers.ErrNotConnected))
		case <-timer.C:
			return true
		}
	}
}

// poll reads every block once and pushes one batch of samples. A Modbus
// exception marks the points of its block; any other error is a
// communication failure, returned so that Run reconnects.
func (d *Device) poll(client *mb.ModbusClient, sink drivers.Sink) error {
	now := d.clock.Now()
	for bi := range d.blocks {
		b := &d.blocks[bi]
		bits, regs, err := d.readBlock(client, b)
		if err != nil {
			if !isException(err) {
				return fmt.Errorf("read %s %d+%d: %w", b.table, b.start, b.count, err)
			}
			q := exceptionQuality(err)
			reason := fmt.Sprintf("read %s %d+%d: %v", b.table, b.start, b.count, err)
			for _, i := range b.points {
				d.last[i] = drivers.Sample{Tag: d.cfg.Points[i].Tag, Value: d.last[i].Value, Quality: q, Time: now, Reason: reason}
			}
			continue
		}
		for _, i := range b.points {
			p := &d.cfg.Points[i]
			off := int(p.Address) - int(b.start)
			var raw float64
			if bits != nil {
				if bits[off] {
					raw = 1
				}
			} else {
				raw = decodeRegisters(p.Type, p.Order, regs[off:off+p.Type.Registers()])
			}
			d.last[i] = d.sample(i, raw, now)
		}
	}
	d.push(sink)
	return nil
}

// readBlock issues the one request of a block.
func (d *Device) readBlock(client *mb.ModbusClient, b *readBlock) (bits []bool, regs []uint16, err error) {
	d.countRequest()
	switch b.table {
	case drivers.TableCoil:
		bits, err = client.ReadCoils(b.start, b.count)
	case drivers.TableDiscrete:
		bits, err = client.ReadDiscreteInputs(b.start, b.count)
	case drivers.TableHolding:
		regs, err = client.ReadRegisters(b.start, b.count, mb.HOLDING_REGISTER)
	case drivers.TableInput:
		regs, err = client.ReadRegisters(b.start, b.count, mb.INPUT_REGISTER)
	}
	if err != nil {
		d.countFailure(err)
		return nil, nil, err
	}
	d.countSuccess()
	return bits, regs, nil
}

// sample turns a raw value into a sample in engineering units, checking the
// point's range. A NaN or infinite value keeps the last value: JSON cannot
// carry it and no logic should see it.
func (d *Device) sample(i int, raw float64, now time.Time) drivers.Sample {
	p := &d.cfg.Points[i]
	eng := p.ToEng(raw)
	s := drivers.Sample{Tag: p.Tag, Value: eng, Quality: drivers.QualityGood, Time: now}
	switch {
	case math.IsNaN(eng) || math.IsInf(eng, 0):
		s.Value = d.last[i].Value
		s.Quality = drivers.QualityBadOutOfRange
		s.Reason = fmt.Sprintf("device sent %v", eng)
	case !p.InRange(eng):
		s.Quality = drivers.QualityBadOutOfRange
		s.Reason = fmt.Sprintf("%g %s is outside [%g, %g]", eng, p.Unit, p.Min, p.Max)
	}
	return s
}

// commFailure marks every polled point bad:comm_failure, keeping its last
// value, and pushes them.
func (d *Device) commFailure(sink drivers.Sink, err error) {
	now := d.clock.Now()
	reason := "not connected"
	if err != nil {
		reason = err.Error()
	}
	for _, i := range d.readable {
		d.last[i].Quality = drivers.QualityBadCommFailure
		d.last[i].Reason = reason
		d.last[i].Time = now
	}
	d.push(sink)
}

// push hands the latest sample of every polled point to the sink.
func (d *Device) push(sink drivers.Sink) {
	if len(d.readable) == 0 {
		return
	}
	d.batch = d.batch[:0]
	for _, i := range d.readable {
		d.batch = append(d.batch, d.last[i])
	}
	sink.Update(d.batch)
}

// write executes one queued write, then reads the point back. It returns an
// error only for a communication failure, after which Run reconnects; every
// outcome is reported.
func (d *Device) write(client *mb.ModbusClient, w writeRequest) error {
	if w.gen == 0 || w.gen != d.connGen.Load() {
		d.report(w, fmt.Errorf("modbus device %q: %w when the write was queued", d.cfg.Name, drivers.ErrNotConnected))
		return nil
	}
	p := &d.cfg.Points[w.point]
	raw := p.ToRaw(w.value)
	var err error
	switch p.Table {
	case drivers.TableCoil:
		err = d.writeCoil(client, p, raw)
	case drivers.TableHolding:
		err = d.writeRegisters(client, p, raw)
	default:
		err = fmt.Errorf("%w: %s is read-only", drivers.ErrNotWritable, p.Table)
	}
	if err != nil {
		err = fmt.Errorf("modbus device %q: write %s (%s %d) = %g: %w", d.cfg.Name, p.Tag, p.Table, p.Address, w.value, err)
	}
	d.report(w, err)
	if err != nil && isCommError(err) {
		return err
	}
	return nil
}

func (d *Device) writeCoil(client *mb.ModbusClient, p *drivers.PointConfig, raw float64) error {
	if math.IsNaN(raw) {
		return errNotFinite
	}
	want := raw != 0
	d.countRequest()
	if err := client.WriteCoil(p.Address, want); err != nil { // FC5
		d.countFailure(err)
		return err
	}
	d.countSuccess()
	d.countRequest()
	got, err := client.ReadCoils(p.Address, 1)
	if err != nil {
		d.countFailure(err)
		return fmt.Errorf("read-back: %w", err)
	}
	d.countSuccess()
	if got[0] != want {
		return fmt.Errorf("%w: wrote %t, read %t", drivers.ErrWriteMismatch, want, got[0])
	}
	return nil
}

func (d *Device) writeRegisters(client *mb.ModbusClient, p *drivers.PointConfig, raw float64) error {
	regs, err := encodeRegisters(p.Type, p.Order, raw)
	if err != nil {
		return err
	}
	d.countRequest()
	if len(regs) == 1 {
		err = client.WriteRegister(p.Address, regs[0]) // FC6
	} else {
		err = client.WriteRegisters(p.Address, regs) // FC16
	}
	if err != nil {
		d.countFailure(err)
		return err
	}
	d.countSuccess()
	d.countRequest()
	got, err := client.ReadRegisters(p.Address, uint16(len(regs)), mb.HOLDING_REGISTER)
	if err != nil {
		d.countFailure(err)
		return fmt.Errorf("read-back: %w", err)
	}
	d.countSuccess()
	if !slices.Equal(got, regs) {
		return fmt.Errorf("%w: wrote %04x, read %04x", drivers.ErrWriteMismatch, regs, got)
	}
	return nil
}

// report sends a write outcome without blocking.
func (d *Device) report(w writeRequest, err error) {
	tag := d.cfg.Points[w.point].Tag
	if err != nil {
		d.log.Warn("modbus write failed", "tag", tag, "value", w.value, "err", err)
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

// exceptions are the errors simonvetter returns for a Modbus exception
// reply: the device answered, the connection is fine.
var exceptions = []error{
	mb.ErrIllegalFunction, mb.ErrIllegalDataAddress, mb.ErrIllegalDataValue,
	mb.ErrServerDeviceFailure, mb.ErrAcknowledge, mb.ErrServerDeviceBusy,
	mb.ErrMemoryParityError, mb.ErrGWPathUnavailable, mb.ErrGWTargetFailedToRespond,
}

// isException reports whether err is a Modbus exception reply (or a request
// the library refused to send, which is a configuration matter too).
func isException(err error) bool {
	if errors.Is(err, mb.ErrUnexpectedParameters) {
		return true
	}
	for _, e := range exceptions {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// isCommError reports whether err means the connection can no longer be
// trusted (timeout, closed socket, garbled frame) rather than an answer of
// the device or a value we refused to send.
func isCommError(err error) bool {
	return !isException(err) && !errors.Is(err, errNotFinite) &&
		!errors.Is(err, drivers.ErrWriteMismatch) && !errors.Is(err, drivers.ErrNotWritable)
}

// exceptionQuality maps an exception to the quality of the points it hides:
// an illegal address means the point map is wrong.
func exceptionQuality(err error) drivers.Quality {
	if errors.Is(err, mb.ErrIllegalDataAddress) || errors.Is(err, mb.ErrUnexpectedParameters) {
		return drivers.QualityBadConfigError
	}
	return drivers.QualityBadDeviceException
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

// slogWriter routes simonvetter's log lines into the device logger at debug
// level (the library logs every failed request; Run logs what matters).
type slogWriter struct{ l *slog.Logger }

// Write logs one line of the library's output.
func (w slogWriter) Write(b []byte) (int, error) {
	msg := string(b)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Debug(msg)
	return len(b), nil
}
