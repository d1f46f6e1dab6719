package testrig

import (
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
}

// unitMap is the point map of one Modbus device (unit id) behind a gateway.
// Register tables map every register address a point covers to the point.
// It is built by New and read-only afterwards.
type unitMap struct {
	device   string
	coils    map[uint16]*servedPoint
	discrete map[uint16]*servedPoint
	holding  map[uint16]*servedPoint
	input    map[uint16]*servedPoint
}

// newUnitMap places the points of one Modbus device, rejecting overlaps.
func newUnitMap(device string, points []*servedPoint) (*unitMap, []*drivers.ConfigError) {
	u := &unitMap{
		device:   device,
		coils:    map[uint16]*servedPoint{},
		discrete: map[uint16]*servedPoint{},
		holding:  map[uint16]*servedPoint{},
		input:    map[uint16]*servedPoint{},
	}
	var errs []*drivers.ConfigError
	for i, p := range points {
		var table map[uint16]*servedPoint
		p.start = p.cfg.Address
		p.words = 1
		switch p.cfg.Table {
		case drivers.TableCoil:
			table = u.coils
		case drivers.TableDiscrete:
			table = u.discrete
		case drivers.TableHolding:
			table, p.words = u.holding, p.typ.Registers()
		case drivers.TableInput:
			table, p.words = u.input, p.typ.Registers()
		}
		for a := int(p.start); a < int(p.start)+p.words; a++ {
			if other := table[uint16(a)]; other != nil {
				errs = append(errs, &drivers.ConfigError{
					Path:    fmt.Sprintf("points[%d].address", i),
					Message: fmt.Sprintf("%s %d of %s overlaps %s", p.cfg.Table, a, p.cfg.Tag, other.cfg.Tag),
				})
				break
			}
			table[uint16(a)] = p
		}
	}
	return u, errs
}

// gateway is one Modbus TCP server: every simulated device configured with
// the same address, told apart by unit id.
type gateway struct {
	rig        *Rig
	configured string             // host:port from the plant file
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
		srv, err := modbus.NewServer(&modbus.ServerConfiguration{
			URL:        "tcp://" + addr,
			Timeout:    modbusIdleTimeout,
			MaxClients: modbusMaxClients,
			Logger:     logger,
		}, g)
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
		eps = append(eps, Endpoint{
			Device:   u.device,
			Protocol: drivers.ProtocolModbusTCP,
			Address:  g.bound,
			URL:      "tcp://" + g.bound,
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
		return nil, g.writeRegisters(u.holding, req.Addr, req.Args)
	}
	return g.readRegisters(u.holding, req.Addr, req.Quantity)
}

// HandleInputRegisters serves read input registers (FC4).
func (g *gateway) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	u, err := g.unit(req.UnitId)
	if err != nil {
		return nil, err
	}
	return g.readRegisters(u.input, req.Addr, req.Quantity)
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
		v, _ := r.line.Get(table[addr+uint16(i)].role)
		res[i] = v != 0
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
		r.line.Set(table[addr+uint16(i)].role, eng)
	}
	return nil
}

func (g *gateway) readRegisters(table map[uint16]*servedPoint, addr, qty uint16) ([]uint16, error) {
	end := int(addr) + int(qty)
	for a := int(addr); a < end; a++ {
		if table[uint16(a)] == nil {
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	res := make([]uint16, qty)
	var buf [4]uint16
	r := g.rig
	r.mu.Lock()
	defer r.mu.Unlock()
	for a := int(addr); a < end; {
		p := table[uint16(a)]
		eng, _ := r.line.Get(p.role)
		encodeRegisters(&p.cfg, p.typ, eng, buf[:p.words])
		// A read may start or end inside a multi-register point; serve
		// the words it asks for.
		for w := a - int(p.start); w < p.words && a < end; w, a = w+1, a+1 {
			res[a-int(addr)] = buf[w]
		}
	}
	return res, nil
}

func (g *gateway) writeRegisters(table map[uint16]*servedPoint, addr uint16, values []uint16) error {
	type write struct {
		role string
		eng  float64
	}
	end := int(addr) + len(values)
	writes := make([]write, 0, len(values))
	for a := int(addr); a < end; {
		p := table[uint16(a)]
		if p == nil || !p.writable || int(p.start) != a || a+p.words > end {
			return modbus.ErrIllegalDataAddress
		}
		eng := decodeRegisters(&p.cfg, p.typ, values[a-int(addr):a-int(addr)+p.words])
		if math.IsNaN(eng) || math.IsInf(eng, 0) {
			return modbus.ErrIllegalDataValue
		}
		writes = append(writes, write{p.role, eng})
		a += p.words
	}
	r := g.rig
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range writes {
		r.line.Set(w.role, w.eng)
	}
	return nil
}
