package opcuatest

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
)

// Namespace is the index of the namespace serving the variables.
const Namespace = 2

// Server is an OPC UA server whose variables live in a map keyed by the
// string part of their node id. Values are Go scalars of the types a variant
// holds (float64, float32, int32, bool, ...); a client write must keep the
// type (else Bad_TypeMismatch), as a real server's typed variable does. All
// methods are safe for concurrent use.
type Server struct {
	mu     sync.Mutex
	values map[string]any
	port   int // public port, served by the proxy
	proxy  *proxy
	srv    *server.Server
	cancel context.CancelFunc
}

// NewServer returns a stopped server with the given variables.
func NewServer(values map[string]any) *Server {
	s := &Server{values: map[string]any{}}
	for k, v := range values {
		s.values[k] = v
	}
	return s
}

// Start listens on 127.0.0.1. The first start takes a port the OS reports
// free; later starts reuse it, so that a client configured with Endpoint
// finds the server again after Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	if s.port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
	}
	inner, err := freePort()
	if err != nil {
		return err
	}
	// The server listens on its first endpoint (behind the proxy) and also
	// advertises the public one, which clients name in CreateSession.
	srv := server.New(
		server.EndPoint("127.0.0.1", inner),
		server.EndPoint("127.0.0.1", s.port),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
	)
	// Namespace 1 is the server's own, as on most servers; the plant
	// variables sit in namespace 2.
	server.NewNodeNameSpace(srv, "urn:pretreat:opcuatest:server")
	if got := srv.AddNamespace(&valueSpace{s: s, srv: srv}); got != Namespace {
		return fmt.Errorf("opcuatest: variables registered as namespace %d, want %d", got, Namespace)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		return fmt.Errorf("opcuatest: start on port %d: %w", inner, err)
	}
	px, err := startProxy(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), net.JoinHostPort("127.0.0.1", strconv.Itoa(inner)))
	if err != nil {
		srv.Close()
		cancel()
		return fmt.Errorf("opcuatest: listen on port %d: %w", s.port, err)
	}
	s.srv, s.cancel, s.proxy = srv, cancel, px
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop shuts the server down the way a dying server process does: the
// listener closes and every client connection is cut at once.
func (s *Server) Stop() error {
	s.mu.Lock()
	srv, cancel, px := s.srv, s.cancel, s.proxy
	s.srv, s.cancel, s.proxy = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	px.close()
	err := srv.Close()
	cancel()
	return err
}

// Freeze makes the server stop answering while connections stay open, as a
// hung server or a broken network path does: no byte is forwarded until
// Thaw.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proxy != nil {
		s.proxy.freeze()
	}
}

// Thaw lets a frozen server answer again; held bytes are delivered late.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proxy != nil {
		s.proxy.thaw()
	}
}

// Endpoint is the opc.tcp URL of the server, known after the first Start.
func (s *Server) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "opc.tcp://127.0.0.1:" + strconv.Itoa(s.port)
}

// NodeID returns the node id string of a variable, e.g. "ns=2;s=Pulper.DS".
func NodeID(name string) string { return ua.NewStringNodeID(Namespace, name).String() }

// Set changes a variable and notifies the monitored items watching it.
func (s *Server) Set(name string, v any) {
	srv := s.set(name, v)
	if srv != nil {
		srv.ChangeNotification(ua.NewStringNodeID(Namespace, name))
	}
}

// SetQuietly changes a variable without notifying anyone, as when a server
// samples too slowly to see a change or drops the notification. Only a read
// finds the new value.
func (s *Server) SetQuietly(name string, v any) { s.set(name, v) }

func (s *Server) set(name string, v any) *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = v
	return s.srv
}

// StallSubscriptions makes every subscription that exists now stop
// delivering data changes while it lives on: the server keeps answering its
// publish requests with keep-alives and keeps serving reads, so the client
// still says "connected". Subscriptions created later work normally. This
// is the failure the driver's freshness watchdog is for.
func (s *Server) StallSubscriptions() {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil || srv.MonitoredItemService == nil {
		return
	}
	mis := srv.MonitoredItemService
	mis.Mu.Lock()
	defer mis.Mu.Unlock()
	for key := range mis.Nodes {
		delete(mis.Nodes, key)
	}
}

// Value returns a variable's current value, nil when there is none.
func (s *Server) Value(name string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[name]
}

// valueSpace implements server.NameSpace over the Server's map. The node
// namespaces of gopcua swap a node's value function on write without a lock,
// which races with notifications from another goroutine; this one keeps
// every value behind the Server's mutex.
type valueSpace struct {
	s   *Server
	srv *server.Server
	id  uint16
}

// Name is the namespace URI.
func (ns *valueSpace) Name() string { return "urn:pretreat:opcuatest:plant" }

// AddNode is not supported: variables come from the map.
func (ns *valueSpace) AddNode(n *server.Node) *server.Node { return n }

// Node returns nil: the namespace has no node objects.
func (ns *valueSpace) Node(*ua.NodeID) *server.Node { return nil }

// Objects returns the namespace's objects folder.
func (ns *valueSpace) Objects() *server.Node {
	return server.NewFolderNode(ua.NewNumericNodeID(ns.id, id.ObjectsFolder), ns.Name())
}

// Root returns the namespace's root folder.
func (ns *valueSpace) Root() *server.Node {
	return server.NewFolderNode(ua.NewNumericNodeID(ns.id, id.RootFolder), "Root")
}

// Browse returns no references: tests address variables by node id.
func (ns *valueSpace) Browse(*ua.BrowseDescription) *ua.BrowseResult {
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: []*ua.ReferenceDescription{}}
}

// ID returns the namespace index.
func (ns *valueSpace) ID() uint16 { return ns.id }

// SetID sets the namespace index; the server calls it on AddNamespace.
func (ns *valueSpace) SetID(id uint16) { ns.id = id }

// Attribute answers reads and monitored item samples.
func (ns *valueSpace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	now := time.Now()
	bad := func(sc ua.StatusCode) *ua.DataValue {
		return &ua.DataValue{EncodingMask: ua.DataValueStatusCode | ua.DataValueServerTimestamp, Status: sc, ServerTimestamp: now}
	}
	good := func(v any) *ua.DataValue {
		return &ua.DataValue{
			EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
			Value:           ua.MustVariant(v),
			SourceTimestamp: now,
			ServerTimestamp: now,
		}
	}
	if nid.Type() != ua.NodeIDTypeString {
		return bad(ua.StatusBadNodeIDUnknown)
	}
	name := nid.StringID()
	ns.s.mu.Lock()
	v, ok := ns.s.values[name]
	ns.s.mu.Unlock()
	if !ok {
		return bad(ua.StatusBadNodeIDUnknown)
	}
	switch attr {
	case ua.AttributeIDValue:
		return good(v)
	case ua.AttributeIDDataType:
		return good(ua.NewNumericNodeID(0, uint32(ua.MustVariant(v).Type())))
	case ua.AttributeIDNodeClass:
		return good(int32(ua.NodeClassVariable))
	case ua.AttributeIDBrowseName:
		return good(attrs.BrowseName(name))
	case ua.AttributeIDDisplayName:
		return good(attrs.DisplayName(name, ""))
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		return good(byte(ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite))
	case ua.AttributeIDValueRank:
		return good(int32(-1))
	}
	return bad(ua.StatusBadAttributeIDInvalid)
}

// SetAttribute answers writes: only values, only of the variable's type.
func (ns *valueSpace) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	if attr != ua.AttributeIDValue {
		return ua.StatusBadNotWritable
	}
	if nid.Type() != ua.NodeIDTypeString {
		return ua.StatusBadNodeIDUnknown
	}
	name := nid.StringID()
	ns.s.mu.Lock()
	old, ok := ns.s.values[name]
	switch {
	case !ok:
		ns.s.mu.Unlock()
		return ua.StatusBadNodeIDUnknown
	case dv == nil || dv.Value == nil || reflect.TypeOf(dv.Value.Value()) != reflect.TypeOf(old):
		ns.s.mu.Unlock()
		return ua.StatusBadTypeMismatch
	}
	ns.s.values[name] = dv.Value.Value()
	ns.s.mu.Unlock()
	ns.srv.ChangeNotification(nid)
	return ua.StatusOK
}
