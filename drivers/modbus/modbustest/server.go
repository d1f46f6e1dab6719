package modbustest

import (
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"time"

	mb "github.com/simonvetter/modbus"
)

// Table names a Modbus data table in a WriteRecord.
type Table string

// Tables that can be written.
const (
	Coils   Table = "coil"
	Holding Table = "holding"
)

// WriteRecord is one write request the server received.
type WriteRecord struct {
	Table    Table
	Addr     uint16
	Quantity uint16 // coils or registers covered by the request
}

// Server is a Modbus TCP server backed by four maps, one per table, served
// to every unit id (except those made to fail with FailUnit). An address
// that is not in the map of its table answers with an illegal data address
// exception, for reads and writes alike. All methods are safe for
// concurrent use.
type Server struct {
	mu       sync.Mutex
	coils    map[uint16]bool
	discrete map[uint16]bool
	holding  map[uint16]uint16
	input    map[uint16]uint16
	ignored  map[uint16]bool  // holding registers that acknowledge writes without storing them
	failing  map[uint16]error // holding registers whose reads answer with an exception
	failLeft map[uint16]int   // reads left to fail per failing register; absent: all
	writes   []WriteRecord
	units    map[uint8]unitFault // per unit id: how a gateway answers for it
	requests uint64              // requests received, for rate checks
	frozen   chan struct{}       // non-nil while requests go unanswered
	addr     string
	srv      *mb.ModbusServer
}

// NewServer returns a stopped server with empty maps.
func NewServer() *Server {
	return &Server{
		coils:    map[uint16]bool{},
		discrete: map[uint16]bool{},
		holding:  map[uint16]uint16{},
		input:    map[uint16]uint16{},
		ignored:  map[uint16]bool{},
		failing:  map[uint16]error{},
		failLeft: map[uint16]int{},
		units:    map[uint8]unitFault{},
	}
}

// unitFault is how the server, acting as a gateway, answers for one unit id.
type unitFault struct {
	delay time.Duration
	err   error
}

// FailUnit makes the server answer every request for unit id after delay
// with the exception for err, as a serial gateway answers for a device that
// stays silent on its line (modbus.ErrGWTargetFailedToRespond after the
// gateway's own timeout). A nil err clears it. Other unit ids are served
// from the maps, so one server stands for a gateway with several devices.
func (s *Server) FailUnit(id uint8, delay time.Duration, err error) {
	s.mu.Lock()
	if err == nil {
		delete(s.units, id)
	} else {
		s.units[id] = unitFault{delay, err}
	}
	s.mu.Unlock()
}

// Requests returns how many requests the server has received.
func (s *Server) Requests() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Start listens on 127.0.0.1. The first start takes a port the OS reports
// free; later starts reuse it, so that a client configured with Addr finds
// the server again after Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	if s.addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		s.addr = l.Addr().String()
		l.Close()
	}
	srv, err := mb.NewServer(&mb.ServerConfiguration{
		URL:        "tcp://" + s.addr,
		MaxClients: 10,
		Logger:     log.New(io.Discard, "", 0),
	}, handler{s})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("modbustest: listen on %s: %w", s.addr, err)
	}
	s.srv = srv
	return nil
}

// Stop closes the listener and every client connection.
func (s *Server) Stop() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Stop()
}

// Addr is host:port of the server, known after the first Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// SetCoil creates or sets coil addr.
func (s *Server) SetCoil(addr uint16, v bool) {
	s.mu.Lock()
	s.coils[addr] = v
	s.mu.Unlock()
}

// SetDiscrete creates or sets discrete input addr.
func (s *Server) SetDiscrete(addr uint16, v bool) {
	s.mu.Lock()
	s.discrete[addr] = v
	s.mu.Unlock()
}

// SetHolding creates or sets holding registers from addr on.
func (s *Server) SetHolding(addr uint16, regs ...uint16) {
	s.mu.Lock()
	for i, r := range regs {
		s.holding[addr+uint16(i)] = r
	}
	s.mu.Unlock()
}

// SetInput creates or sets input registers from addr on.
func (s *Server) SetInput(addr uint16, regs ...uint16) {
	s.mu.Lock()
	for i, r := range regs {
		s.input[addr+uint16(i)] = r
	}
	s.mu.Unlock()
}

// IgnoreWrites makes holding register addr acknowledge writes without
// storing them, like a device that clamps or refuses a setpoint silently.
func (s *Server) IgnoreWrites(addr uint16) {
	s.mu.Lock()
	s.ignored[addr] = true
	s.mu.Unlock()
}

// FailHolding makes every read covering holding register addr answer with
// the exception for err, one of simonvetter/modbus's exception errors such as
// modbus.ErrServerDeviceBusy. A nil err clears it.
func (s *Server) FailHolding(addr uint16, err error) {
	s.mu.Lock()
	delete(s.failLeft, addr)
	if err == nil {
		delete(s.failing, addr)
	} else {
		s.failing[addr] = err
	}
	s.mu.Unlock()
}

// FailHoldingTimes is FailHolding for the next n reads covering addr only,
// as a device that is busy for a moment.
func (s *Server) FailHoldingTimes(addr uint16, err error, n int) {
	s.mu.Lock()
	s.failing[addr] = err
	s.failLeft[addr] = n
	s.mu.Unlock()
}

// Freeze makes the server stop answering, as a hung device does: requests
// are read but answered only after Thaw (too late for a client with a
// timeout). The TCP connection stays open.
func (s *Server) Freeze() {
	s.mu.Lock()
	if s.frozen == nil {
		s.frozen = make(chan struct{})
	}
	s.mu.Unlock()
}

// Thaw lets a frozen server answer again.
func (s *Server) Thaw() {
	s.mu.Lock()
	if s.frozen != nil {
		close(s.frozen)
		s.frozen = nil
	}
	s.mu.Unlock()
}

// lock waits while the server is frozen, then takes the mutex. A request
// for a failing unit id is answered with its exception after its delay,
// without the mutex held.
func (s *Server) lock(unit uint8) error {
	for {
		s.mu.Lock()
		ch := s.frozen
		if ch == nil {
			s.requests++
			if f, ok := s.units[unit]; ok {
				s.mu.Unlock()
				time.Sleep(f.delay)
				return f.err
			}
			return nil
		}
		s.mu.Unlock()
		<-ch
	}
}

// Coil returns coil addr.
func (s *Server) Coil(addr uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.coils[addr]
}

// HoldingRegs returns n holding registers from addr on.
func (s *Server) HoldingRegs(addr uint16, n int) []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]uint16, n)
	for i := range out {
		out[i] = s.holding[addr+uint16(i)]
	}
	return out
}

// Writes returns the write requests received so far.
func (s *Server) Writes() []WriteRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// handler serves the requests of the simonvetter server from the maps.
type handler struct{ s *Server }

// HandleCoils serves FC1, FC5 and FC15.
func (h handler) HandleCoils(req *mb.CoilsRequest) ([]bool, error) {
	s := h.s
	if err := s.lock(req.UnitId); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !hasAll(s.coils, req.Addr, req.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	if req.IsWrite {
		s.writes = append(s.writes, WriteRecord{Coils, req.Addr, req.Quantity})
		for i, v := range req.Args {
			s.coils[req.Addr+uint16(i)] = v
		}
		return nil, nil
	}
	return readAll(s.coils, req.Addr, req.Quantity), nil
}

// HandleDiscreteInputs serves FC2.
func (h handler) HandleDiscreteInputs(req *mb.DiscreteInputsRequest) ([]bool, error) {
	s := h.s
	if err := s.lock(req.UnitId); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !hasAll(s.discrete, req.Addr, req.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	return readAll(s.discrete, req.Addr, req.Quantity), nil
}

// HandleHoldingRegisters serves FC3, FC6 and FC16.
func (h handler) HandleHoldingRegisters(req *mb.HoldingRegistersRequest) ([]uint16, error) {
	s := h.s
	if err := s.lock(req.UnitId); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !hasAll(s.holding, req.Addr, req.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	if req.IsWrite {
		s.writes = append(s.writes, WriteRecord{Holding, req.Addr, req.Quantity})
		for i, v := range req.Args {
			a := req.Addr + uint16(i)
			if !s.ignored[a] {
				s.holding[a] = v
			}
		}
		return nil, nil
	}
	for i := range req.Quantity {
		a := req.Addr + i
		if err := s.failing[a]; err != nil {
			if n, counted := s.failLeft[a]; counted {
				if n <= 1 {
					delete(s.failing, a)
					delete(s.failLeft, a)
				} else {
					s.failLeft[a] = n - 1
				}
			}
			return nil, err
		}
	}
	return readAll(s.holding, req.Addr, req.Quantity), nil
}

// HandleInputRegisters serves FC4.
func (h handler) HandleInputRegisters(req *mb.InputRegistersRequest) ([]uint16, error) {
	s := h.s
	if err := s.lock(req.UnitId); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !hasAll(s.input, req.Addr, req.Quantity) {
		return nil, mb.ErrIllegalDataAddress
	}
	return readAll(s.input, req.Addr, req.Quantity), nil
}

func hasAll[V any](m map[uint16]V, addr, n uint16) bool {
	for i := range n {
		if _, ok := m[addr+i]; !ok {
			return false
		}
	}
	return true
}

func readAll[V any](m map[uint16]V, addr, n uint16) []V {
	out := make([]V, n)
	for i := range n {
		out[i] = m[addr+i]
	}
	return out
}
