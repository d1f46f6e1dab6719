package modbus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

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
	// CorrectOutputs turns on outputs as state in the driver: a poll that
	// reads back another value than the controller last wrote to a point
	// on this connection writes that value again within the same poll and
	// reports it as a Corrected write result. The controller turns it on;
	// it assumes no two writable points alias one value of the device.
	CorrectOutputs bool
	// Pool shares one connection among the devices (unit ids) at the same
	// transport and address. Nil means the package's default pool, which is
	// what a controller wants; tests and benchmarks may use their own.
	Pool *Pool
}

// Device is one Modbus device: a unit id at a transport address, with its
// read plan. Create it with New; Run attaches it to the connection its
// address shares with other unit ids, whose goroutine polls it.
type Device struct {
	shell *drivers.Shell
	cfg   drivers.DeviceConfig
	key   linkKey
	conf  mb.ClientConfiguration // transport settings for a new connection
	pool  *Pool

	blocks   []readBlock
	byTag    map[string]int
	readable []int // indices of polled points, in configuration order
	retryGap time.Duration

	// Owned by the link goroutine while the device is attached.
	sink      drivers.Sink
	last      []drivers.Sample // last sample per point (readable points only)
	batch     []drivers.Sample // reused for each push to the sink
	nextPoll  time.Time        // wall time of the next poll
	skipUntil time.Time        // wall time before which the unit is not asked (it stopped answering)
	unitWait  drivers.Backoff
	failing   bool // the unit's last exchange failed (timeout, garbled frame, gateway says silent)
	// Outputs as state: the value the controller last wrote successfully
	// to each writable point, and on which connection. A poll that reads
	// another value back on that same connection writes it again at once
	// (a drive that restarted between two polls, a set-point changed by
	// another master). Never across connections: after a reconnect the
	// controller decides what to write.
	desired    []float64
	desiredGen []uint64 // 0: nothing written on any connection
	noCorrect  []bool   // the watchdog's heartbeat and reset: changing by design
	correctOn  bool     // Options.CorrectOutputs
}

// Device is a drivers.Device and reports its health.
var (
	_ drivers.Device         = (*Device)(nil)
	_ drivers.HealthReporter = (*Device)(nil)
	_ drivers.Generations    = (*Device)(nil)
)

// New checks the configuration, loads the TLS files of a tls device and
// builds the read plan. It makes no network calls: a device whose peer is
// offline is created and started the same way. Configuration problems come
// back joined; each is a *drivers.ConfigError.
func New(cfg drivers.DeviceConfig, opts Options) (*Device, error) {
	var errs []error
	addErr := func(path, format string, args ...any) {
		errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for _, e := range cfg.Validate() {
		errs = append(errs, e)
	}
	if cfg.Protocol != "" && cfg.Protocol != drivers.ProtocolModbusTCP {
		addErr("protocol", "the modbus driver speaks %s, not %q", drivers.ProtocolModbusTCP, cfg.Protocol)
	}
	byTag := make(map[string]int, len(cfg.Points))
	for i, p := range cfg.Points {
		if first, dup := byTag[p.Tag]; dup && p.Tag != "" {
			addErr(fmt.Sprintf("points[%d].tag", i), "tag %q is already mapped by points[%d]", p.Tag, first)
			continue
		}
		byTag[p.Tag] = i
		if p.Type == drivers.TypeString && p.Access.Writable() {
			addErr(fmt.Sprintf("points[%d].access", i), "string points are read-only; allowed: read")
		}
	}
	conf, cerrs := clientConfig(&cfg)
	errs = append(errs, cerrs...)
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
		shell:    drivers.NewShell("modbus", cfg.Name, opts.Clock, opts.Results, opts.Logger),
		cfg:      cfg,
		key:      linkKey{transport: cfg.TransportOrDefault(), address: cfg.Address},
		conf:     conf,
		pool:     opts.Pool,
		blocks:   devicePlan(&cfg),
		byTag:    byTag,
		last:     make([]drivers.Sample, len(cfg.Points)),
		unitWait: drivers.Backoff{Start: drivers.BackoffStart, Max: drivers.BackoffMax},
		// A busy device is asked again after a short pause, never longer
		// than a fifth of the poll so that the retries fit in it.
		retryGap: min(20*time.Millisecond, cfg.PollIntervalOrDefault()/5),
	}
	if d.pool == nil {
		d.pool = defaultPool
	}
	d.correctOn = opts.CorrectOutputs
	d.desired = make([]float64, len(cfg.Points))
	d.desiredGen = make([]uint64, len(cfg.Points))
	d.noCorrect = make([]bool, len(cfg.Points))
	for i := range cfg.Points {
		if cfg.Points[i].Access.Readable() {
			d.readable = append(d.readable, i)
		}
		d.last[i] = drivers.Sample{Tag: cfg.Points[i].Tag}
		if w := cfg.Watchdog; w != nil && (cfg.Points[i].Tag == w.Reset || (w.Mode == drivers.WatchdogHeartbeat && cfg.Points[i].Tag == w.Tag)) {
			d.noCorrect[i] = true
		}
	}
	return d, nil
}

// clientConfig builds the simonvetter client configuration of a device,
// reading its TLS files.
func clientConfig(cfg *drivers.DeviceConfig) (mb.ClientConfiguration, []error) {
	conf := mb.ClientConfiguration{Timeout: cfg.TimeoutOrDefault()}
	var errs []error
	switch cfg.TransportOrDefault() {
	case drivers.TransportTCP:
		conf.URL = "tcp://" + cfg.Address
	case drivers.TransportRTUOverTCP:
		conf.URL = "rtuovertcp://" + cfg.Address
	case drivers.TransportRTU:
		conf.URL = "rtu://" + cfg.Address
		s := drivers.SerialConfig{}
		if cfg.Serial != nil {
			s = *cfg.Serial
		}
		conf.Speed, conf.DataBits, conf.StopBits = s.Baud, s.DataBits, s.StopBits
		if conf.Speed == 0 {
			conf.Speed = 19200
		}
		if conf.DataBits == 0 {
			conf.DataBits = 8
		}
		switch s.Parity {
		case drivers.ParityNone:
			conf.Parity = mb.PARITY_NONE
		case drivers.ParityOdd:
			conf.Parity = mb.PARITY_ODD
		default: // the Modbus default
			conf.Parity = mb.PARITY_EVEN
		}
		if conf.StopBits == 0 {
			conf.StopBits = 1
			if conf.Parity == mb.PARITY_NONE {
				conf.StopBits = 2
			}
		}
	case drivers.TransportTLS:
		conf.URL = "tcp+tls://" + cfg.Address
		if cfg.TLS == nil || cfg.TLS.Cert == "" || cfg.TLS.Key == "" || cfg.TLS.CA == "" {
			break // Validate reported it
		}
		cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			errs = append(errs, &drivers.ConfigError{Path: "tls.cert", Message: fmt.Sprintf("client certificate and key: %v", err)})
		} else {
			conf.TLSClientCert = &cert
		}
		pem, err := os.ReadFile(cfg.TLS.CA)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			errs = append(errs, &drivers.ConfigError{Path: "tls.ca", Message: err.Error()})
		case !pool.AppendCertsFromPEM(pem):
			errs = append(errs, &drivers.ConfigError{Path: "tls.ca", Message: fmt.Sprintf("%s holds no PEM certificate", cfg.TLS.CA)})
		default:
			conf.TLSRootCAs = pool
		}
	}
	return conf, errs
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
	if err := d.shell.Enqueue(i, tag, value); err != nil {
		return err
	}
	d.pool.wake(d.key)
	return nil
}

// Run attaches the device to its connection (opening it if this is the
// first device at that address) until ctx is cancelled, then detaches and
// returns nil. The connection's goroutine polls the device every
// PollIntervalOrDefault, pushes its samples into sink and serves its queued
// writes; while the peer is unreachable every polled point is
// bad:comm_failure (keeping its last value). Once Run has returned, sink is
// not called again. Run must not be called again while it is running.
func (d *Device) Run(ctx context.Context, sink drivers.Sink) error {
	if err := d.shell.Begin(); err != nil {
		return err
	}
	defer d.shell.End()
	l := d.pool.attach(d, sink)
	<-ctx.Done()
	d.pool.detach(l, d)
	return nil
}

// poll reads every block of the device once and pushes one batch of
// samples. An exception marks the points of its block and polling goes on;
// a unit or link failure marks every point bad:comm_failure and is returned
// with its kind.
func (d *Device) poll(c *mb.ModbusClient) (error, failure) {
	now := d.shell.Clock().Now()
	for bi := range d.blocks {
		b := &d.blocks[bi]
		bits, regs, err, kind := d.readBlock(c, b)
		if err != nil {
			err = fmt.Errorf("read %s %d+%d: %w", b.table, b.start, b.count, err)
			reason := err.Error()
			if kind != failException {
				d.commFailure(reason)
				return err, kind
			}
			q := qualityOf(err)
			for _, i := range b.points {
				d.last[i] = drivers.Sample{Tag: d.cfg.Points[i].Tag, Value: d.last[i].Value, Text: d.last[i].Text, Quality: q, Time: now, Reason: reason}
			}
			continue
		}
		for _, i := range b.points {
			p := &d.cfg.Points[i]
			off := int(p.Address) - int(b.start)
			switch {
			case bits != nil:
				raw := 0.0
				if bits[off] {
					raw = 1
				}
				d.last[i] = d.sample(i, raw, now)
			case p.Type == drivers.TypeString:
				d.last[i] = drivers.Sample{Tag: p.Tag, Text: decodeText(p, regs[off:off+p.Registers()]), Quality: drivers.QualityGood, Time: now}
			default:
				d.last[i] = d.sample(i, decodeRegisters(p, regs[off:off+p.Registers()]), now)
			}
		}
	}
	if err, kind := d.correct(c); err != nil {
		return err, kind
	}
	d.push()
	return nil, failException
}

// correct writes again, at once, every writable point whose read-back in
// this poll differs from what the controller last wrote on this same
// connection, and reports each as a Corrected write result. The sample
// pushed is then the value written (verified by its read-back).
func (d *Device) correct(c *mb.ModbusClient) (error, failure) {
	if !d.correctOn {
		return nil, failException
	}
	gen := d.shell.Generation()
	for _, i := range d.readable {
		p := &d.cfg.Points[i]
		if !p.Access.Writable() || d.noCorrect[i] || d.desiredGen[i] == 0 || d.desiredGen[i] != gen || !d.last[i].Quality.Good() {
			continue
		}
		want, got := d.desired[i], d.last[i].Value
		if sameOutput(p, want, got) {
			continue
		}
		w := drivers.WriteRequest{Point: i, Tag: p.Tag, Value: want, Gen: gen, Corrected: true, ReadBack: got}
		err, kind := d.write(c, w)
		if err != nil {
			return err, kind
		}
		if d.desiredGen[i] == gen { // written and read back
			d.last[i].Value = want
		}
	}
	return nil, failException
}

// sameOutput reports whether a read-back equals the value written, to the
// resolution of the point's encoding.
func sameOutput(p *drivers.PointConfig, want, got float64) bool {
	switch p.Type {
	case drivers.TypeBool:
		return (want != 0) == (got >= 0.5)
	case drivers.TypeFloat32:
		return math.Abs(want-got) <= 1e-6*math.Max(1, math.Abs(want))
	case drivers.TypeFloat64:
		return math.Abs(want-got) <= 1e-12*math.Max(1, math.Abs(want))
	}
	return math.Abs(want-got) <= math.Abs(p.ScaleOrOne())/2
}

// readBlock issues the one request of a block, asking again up to Retries
// times while the device says it is busy.
func (d *Device) readBlock(c *mb.ModbusClient, b *readBlock) (bits []bool, regs []uint16, err error, kind failure) {
	for attempt := 0; ; attempt++ {
		d.shell.CountRequest()
		switch b.table {
		case drivers.TableCoil:
			bits, err = c.ReadCoils(b.start, b.count) // FC1
		case drivers.TableDiscrete:
			bits, err = c.ReadDiscreteInputs(b.start, b.count) // FC2
		case drivers.TableHolding:
			regs, err = c.ReadRegisters(b.start, b.count, mb.HOLDING_REGISTER) // FC3
		case drivers.TableInput:
			regs, err = c.ReadRegisters(b.start, b.count, mb.INPUT_REGISTER) // FC4
		}
		if err == nil {
			d.shell.CountSuccess()
			return bits, regs, nil, failException
		}
		err, kind = classify(err)
		d.shell.CountFailure(err)
		if !errors.Is(err, drivers.ErrDeviceBusy) || attempt >= d.cfg.Retries {
			if attempt > 0 {
				err = fmt.Errorf("%w (after %d retries)", err, attempt)
			}
			return nil, nil, err, kind
		}
		time.Sleep(d.retryGap)
	}
}

// sample turns a raw value into a sample in engineering units, checking the
// point's range. A NaN or infinite value keeps the last value: JSON cannot
// carry it and no logic should see it.
func (d *Device) sample(i int, raw float64, now time.Time) drivers.Sample {
	p := &d.cfg.Points[i]
	eng := p.ToEng(raw)
	if p.Type == drivers.TypeBool {
		eng = raw // a bit is 0 or 1 whatever the scale
	}
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
func (d *Device) commFailure(reason string) {
	now := d.shell.Clock().Now()
	for _, i := range d.readable {
		d.last[i].Quality = drivers.QualityBadCommFailure
		d.last[i].Reason = reason
		d.last[i].Time = now
	}
	d.push()
}

// push hands the latest sample of every polled point to the sink.
func (d *Device) push() {
	if len(d.readable) == 0 || d.sink == nil {
		return
	}
	d.batch = d.batch[:0]
	for _, i := range d.readable {
		d.batch = append(d.batch, d.last[i])
	}
	d.sink.Update(d.batch)
}

// write executes one queued write, then reads the point back. Every outcome
// is reported; the error returned (with its kind) is the failure of the
// unit or link that the connection's goroutine must handle, nil otherwise.
func (d *Device) write(c *mb.ModbusClient, w drivers.WriteRequest) (error, failure) {
	if d.shell.RejectStale(w) {
		return nil, failException
	}
	p := &d.cfg.Points[w.Point]
	raw := p.ToRaw(w.Value)
	if p.Type == drivers.TypeBool {
		raw = w.Value // a bit is set by any non-zero value, whatever the scale
	}
	var err error
	switch p.Table {
	case drivers.TableCoil:
		err = d.writeCoil(c, p, raw)
	case drivers.TableHolding:
		err = d.writeRegisters(c, p, raw)
	default:
		err = fmt.Errorf("%w: %s is read-only", drivers.ErrNotWritable, p.Table)
	}
	kind := failException
	var libErr *libError
	if errors.As(err, &libErr) {
		err, kind = libErr.err, libErr.kind
	}
	if err != nil {
		err = d.shell.Errorf("write %s (%s %d) = %g: %w", p.Tag, p.Table, p.Address, w.Value, err)
		d.desiredGen[w.Point] = 0 // unknown now: the controller writes again
	} else {
		d.desired[w.Point], d.desiredGen[w.Point] = w.Value, w.Gen
	}
	d.shell.Report(w, err)
	if kind == failException {
		return nil, kind
	}
	return err, kind
}

// libError carries a classified library error out of a write step.
type libError struct {
	err  error
	kind failure
}

func (e *libError) Error() string { return e.err.Error() }
func (e *libError) Unwrap() error { return e.err }

// do runs one request, counting it and classifying its error.
func (d *Device) do(step string, f func() error) error {
	d.shell.CountRequest()
	err := f()
	if err == nil {
		d.shell.CountSuccess()
		return nil
	}
	err, kind := classify(err)
	d.shell.CountFailure(err)
	if step != "" {
		err = fmt.Errorf("%s: %w", step, err)
	}
	return &libError{err: err, kind: kind}
}

func (d *Device) writeCoil(c *mb.ModbusClient, p *drivers.PointConfig, raw float64) error {
	want := raw != 0
	err := d.do("", func() error {
		if d.cfg.WriteFunction == drivers.WriteMultiple {
			return c.WriteCoils(p.Address, []bool{want}) // FC15
		}
		return c.WriteCoil(p.Address, want) // FC5
	})
	if err != nil {
		return err
	}
	var got []bool
	if err := d.do("read-back", func() (err error) { got, err = c.ReadCoils(p.Address, 1); return }); err != nil {
		return err
	}
	if got[0] != want {
		return fmt.Errorf("%w: wrote %t, read %t", drivers.ErrWriteMismatch, want, got[0])
	}
	return nil
}

func (d *Device) writeRegisters(c *mb.ModbusClient, p *drivers.PointConfig, raw float64) error {
	var old uint16
	if p.Bit != nil {
		// Read-modify-write: Modbus has no portable way to write one bit
		// of a register (FC22 is rarely implemented), so the other bits
		// are written back as read. The read-back then catches a change
		// that raced with ours.
		var got []uint16
		if err := d.do("read before setting a bit", func() (err error) {
			got, err = c.ReadRegisters(p.Address, 1, mb.HOLDING_REGISTER)
			return
		}); err != nil {
			return err
		}
		old = got[0]
	}
	regs, err := encodeRegisters(p, raw, old)
	if err != nil {
		return err
	}
	err = d.do("", func() error {
		if len(regs) == 1 && d.cfg.WriteFunction != drivers.WriteMultiple {
			return c.WriteRegister(p.Address, regs[0]) // FC6
		}
		return c.WriteRegisters(p.Address, regs) // FC16
	})
	if err != nil {
		return err
	}
	var got []uint16
	if err := d.do("read-back", func() (err error) {
		got, err = c.ReadRegisters(p.Address, uint16(len(regs)), mb.HOLDING_REGISTER)
		return
	}); err != nil {
		return err
	}
	if p.Bit != nil {
		if decodeRegisters(p, got) != decodeRegisters(p, regs) {
			return fmt.Errorf("%w: bit %d of %04x is not %g", drivers.ErrWriteMismatch, *p.Bit, got[0], raw)
		}
		return nil
	}
	if !slices.Equal(got, regs) {
		return fmt.Errorf("%w: wrote %04x, read %04x", drivers.ErrWriteMismatch, regs, got)
	}
	return nil
}
