package testrig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"math"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

// Modbus server settings. The idle timeout closes a client connection that
// sends nothing for that long (simonvetter's default is 120 s, too); the
// client limit leaves room for a controller, an HMI and a few test tools.
const (
	modbusIdleTimeout = 2 * time.Minute
	modbusMaxClients  = 32
)

// servedPoint is one configured point as the rig serves it.
type servedPoint struct {
	cfg      drivers.PointConfig
	role     string
	typ      drivers.DataType // resolved: never empty
	start    uint16           // first register or bit address (Modbus)
	words    int              // registers spanned (Modbus registers), 1 for bits
	writable bool
	// wd is the device's watchdog (nil without one); wdPoint says
	// whether the point is one the watchdog serves (watchdog.go).
	wd      *watchdog
	wdPoint watchdogPoint
}

// unitMap is the point map of one Modbus device (unit id) behind a gateway.
// Register tables map every register address a point covers to the point;
// a register holding bool points by bit maps to all of them (holdingBits,
// inputBits). It is built by New and read-only afterwards.
type unitMap struct {
	device      string
	coils       map[uint16]*servedPoint
	discrete    map[uint16]*servedPoint
	holding     map[uint16]*servedPoint
	input       map[uint16]*servedPoint
	holdingBits map[uint16][]*servedPoint
	inputBits   map[uint16][]*servedPoint
}

// newUnitMap places the points of one Modbus device, rejecting overlaps. Bit
// points may share a register with other bit points, not with a bit.
func newUnitMap(device string, points []*servedPoint) (*unitMap, []*drivers.ConfigError) {
	u := &unitMap{
		device:      device,
		coils:       map[uint16]*servedPoint{},
		discrete:    map[uint16]*servedPoint{},
		holding:     map[uint16]*servedPoint{},
		input:       map[uint16]*servedPoint{},
		holdingBits: map[uint16][]*servedPoint{},
		inputBits:   map[uint16][]*servedPoint{},
	}
	var errs []*drivers.ConfigError
	for i, p := range points {
		var table map[uint16]*servedPoint
		var bits map[uint16][]*servedPoint
		p.start = p.cfg.Address
		p.words = 1
		switch p.cfg.Table {
		case drivers.TableCoil:
			table = u.coils
		case drivers.TableDiscrete:
			table = u.discrete
		case drivers.TableHolding:
			table, bits, p.words = u.holding, u.holdingBits, p.cfg.Registers()
		case drivers.TableInput:
			table, bits, p.words = u.input, u.inputBits, p.cfg.Registers()
		}
		overlap := func(a int, other string) {
			errs = append(errs, &drivers.ConfigError{
				Path:    fmt.Sprintf("points[%d].address", i),
				Message: fmt.Sprintf("%s %d of %s overlaps %s", p.cfg.Table, a, p.cfg.Tag, other),
			})
		}
		if p.cfg.Bit != nil {
			a := p.start
			if other := table[a]; other != nil {
				overlap(int(a), other.cfg.Tag)
				continue
			}
			for _, other := range bits[a] {
				if *other.cfg.Bit == *p.cfg.Bit {
					overlap(int(a), other.cfg.Tag+" (same bit)")
				}
			}
			bits[a] = append(bits[a], p)
			continue
		}
		for a := int(p.start); a < int(p.start)+p.words; a++ {
			if other := table[uint16(a)]; other != nil {
				overlap(a, other.cfg.Tag)
				break
			}
			if others := bits[uint16(a)]; len(others) > 0 {
				overlap(a, others[0].cfg.Tag)
				break
			}
			table[uint16(a)] = p
		}
	}
	return u, errs
}

// ModbusTLS is the server side of Modbus/TCP Security for the rig: its
// certificate and the pool of CAs (or client certificates) a client's
// certificate must chain to. The rig requires and verifies a client
// certificate, as the Modbus/TCP Security specification does.
type ModbusTLS struct {
	Certificate *tls.Certificate
	ClientCAs   *x509.CertPool
}

// gateway is one Modbus TCP (or TCP over TLS) server: every simulated device
// configured with the same address, told apart by unit id.
type gateway struct {
	rig        *Rig
	configured string // host:port from the plant file
	transport  drivers.ModbusTransport
	tls        *ModbusTLS
	units      map[uint8]*unitMap // read-only after New

	// Set by start, cleared by stop; both run under Rig.lifeMu.
	srv   *modbus.ModbusServer
	bound string
}

// start binds the gateway: on host with an OS-chosen port when host is not
// empty, else on the configured address.
func (g *gateway) start(host string, logger *log.Logger) error {
	var lastErr error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		addr := g.configured
		if host != "" {
			port, err := freePort(host)
			if err != nil {
				return err
			}
			addr = net.JoinHostPort(host, strconv.Itoa(port))
		}
		conf := &modbus.ServerConfiguration{
			URL:        "tcp://" + addr,
			Timeout:    modbusIdleTimeout,
			MaxClients: modbusMaxClients,
			Logger:     logger,
		}
		if g.transport == drivers.TransportTLS {
			conf.URL = "tcp+tls://" + addr
			conf.TLSServerCert, conf.TLSClientCAs = g.tls.Certificate, g.tls.ClientCAs
		}
		srv, err := modbus.NewServer(conf, g)
		if err != nil {
			return err
		}
		if lastErr = srv.Start(); lastErr == nil {
			g.srv, g.bound = srv, addr
			return nil
		}
		if host == "" {
			break // a configured address does not get better by retrying
		}
	}
	return lastErr
}

// stop closes the listener and every client connection. The library does
// not wait for its connection goroutines; they end as soon as their socket
// read fails, which is immediately.
func (g *gateway) stop() error {
	if g.srv == nil {
		return nil
	}
	err := g.srv.Stop()
	g.srv = nil
	return err
}

// endpoints lists the devices behind the gateway.
func (g *gateway) endpoints() []Endpoint {
	var eps []Endpoint
	for id, u := range g.units {
		scheme := "tcp://"
		if g.transport == drivers.TransportTLS {
			scheme = "tcp+tls://"
		}
		eps = append(eps, Endpoint{
			Device:   u.device,
			Protocol: drivers.ProtocolModbusTCP,
			Address:  g.bound,
			URL:      scheme + g.bound,
			UnitID:   id,
		})
	}
	slices.SortFunc(eps, func(a, b Endpoint) int { return int(a.UnitID) - int(b.UnitID) })
	return eps
}

// unit returns the device for a request's unit id. An unknown unit id is
// what a gateway answers when nothing responds behind it.
func (g *gateway) unit(id uint8) (*unitMap, error) {
	u := g.units[id]
	if u == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	// Injected faults of the device's front (fault.go): may hold, delay
	// or refuse the request.
	if err := g.rig.faults.modbusRequest(u.device); err != nil {
		return nil, err
	}
	// The request reaches the device: due watchdogs trip before it is
	// served, and it kicks a comm_timeout watchdog (watchdog.go).
	g.rig.deviceRequest(u.device)
	return u, nil
}

// HandleCoils serves read coils (FC1) and write single/multiple coils (FC5,
// FC15). Every addressed coil must belong to a point; writes need writable
// points and are applied all or nothing.
func (g *gateway) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	u, err := g.unit(req.UnitId)
	if err != nil {
		return nil, err
	}
	if req.IsWrite {
		return nil, g.writeBits(u.coils, req.Addr, req.Args)
	}
	return g.readBits(u.coils, req.Addr, req.Quantity)
}

// HandleDiscreteInputs serves read discrete inputs (FC2).
func (g *gateway) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	u, err := g.unit(req.UnitId)
	if err != nil {
		return nil, err
	}
	return g.readBits(u.discrete, req.Addr, req.Quantity)
}

// HandleHoldingRegisters serves read holding registers (FC3) and write
// single/multiple registers (FC6, FC16). A multi-register point must be
// written whole, in one request. Points with access "write" read back their
// current value, as holding registers of a real drive do.
func (g *gateway) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	u, err := g.unit(req.UnitId)
	if err != nil {
		return nil, err
	}
	if req.IsWrite {
		return nil, g.writeRegisters(u.holding, u.holdingBits, req.Addr, req.Args)
	}
	return g.readRegisters(u.holding, u.holdingBits, req.Addr, req.Quantity)
}

// HandleInputRegisters serves read input registers (FC4).
func (g *gateway) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	u, err := g.unit(req.UnitId)
	if err != nil {
		return nil, err
	}
	return g.readRegisters(u.input, u.inputBits, req.Addr, req.Quantity)
}

func (g *gateway) readBits(table map[uint16]*servedPoint, addr, qty uint16) ([]bool, error) {
	for a := int(addr); a < int(addr)+int(qty); a++ {
		if table[uint16(a)] == nil {
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	res := make([]bool, qty)
	r := g.rig
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range res {
		res[i] = r.readPoint(table[addr+uint16(i)]) != 0
	}
	return res, nil
}

func (g *gateway) writeBits(table map[uint16]*servedPoint, addr uint16, values []bool) error {
	for i := range values {
		p := table[addr+uint16(i)]
		if p == nil || !p.writable {
			return modbus.ErrIllegalDataAddress
		}
	}
	r := g.rig
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, v := range values {
		eng := 0.0
		if v {
			eng = 1
		}
		r.writePoint(table[addr+uint16(i)], eng)
	}
	return nil
}

func (g *gateway) readRegisters(table map[uint16]*servedPoint, bits map[uint16][]*servedPoint, addr, qty uint16) ([]uint16, error) {
	end := int(addr) + int(qty)
	for a := int(addr); a < end; a++ {
		if table[uint16(a)] == nil && len(bits[uint16(a)]) == 0 {
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	res := make([]uint16, qty)
	buf := make([]uint16, 125)
	r := g.rig
	r.mu.Lock()
	defer r.mu.Unlock()
	for a := int(addr); a < end; {
		p := table[uint16(a)]
		if p == nil {
			var w uint16
			for _, b := range bits[uint16(a)] {
				if r.readPoint(b) != 0 {
					w |= bitMask(&b.cfg)
				}
			}
			res[a-int(addr)] = w
			a++
			continue
		}
		words := buf[:p.words]
		if p.typ == drivers.TypeString {
			encodeText(&p.cfg, p.role, words)
		} else {
			encodeRegisters(&p.cfg, p.typ, r.readPoint(p), words)
		}
		// A read may start or end inside a multi-register point; serve
		// the words it asks for.
		for w := a - int(p.start); w < p.words && a < end; w, a = w+1, a+1 {
			res[a-int(addr)] = words[w]
		}
	}
	return res, nil
}

func (g *gateway) writeRegisters(table map[uint16]*servedPoint, bits map[uint16][]*servedPoint, addr uint16, values []uint16) error {
	type write struct {
		p   *servedPoint
		eng float64
	}
	end := int(addr) + len(values)
	writes := make([]write, 0, len(values))
	r := g.rig
	for a := int(addr); a < end; {
		if bps := bits[uint16(a)]; len(bps) > 0 {
			// A register of bits: every writable bit takes its new
			// value; a read-only bit must keep its current one (a
			// read-modify-write writes it back unchanged).
			word := values[a-int(addr)]
			for _, b := range bps {
				v := 0.0
				if word&bitMask(&b.cfg) != 0 {
					v = 1
				}
				if b.writable {
					writes = append(writes, write{b, v})
					continue
				}
				r.mu.Lock()
				cur := r.readPoint(b)
				r.mu.Unlock()
				if (cur != 0) != (v != 0) {
					return modbus.ErrIllegalDataValue
				}
			}
			a++
			continue
		}
		p := table[uint16(a)]
		if p == nil || !p.writable || int(p.start) != a || a+p.words > end || p.typ == drivers.TypeString {
			return modbus.ErrIllegalDataAddress
		}
		eng := decodeRegisters(&p.cfg, p.typ, values[a-int(addr):a-int(addr)+p.words])
		if math.IsNaN(eng) || math.IsInf(eng, 0) || p.refuses(eng) {
			return modbus.ErrIllegalDataValue
		}
		writes = append(writes, write{p, eng})
		a += p.words
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range writes {
		r.writePoint(w.p, w.eng)
	}
	return nil
}
