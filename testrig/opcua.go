package testrig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// notifyHeadroom is how many free slots a subscription's notification
// channel must have before the rig announces a change to it. gopcua's
// MonitoredItemService.ChangeNotification sends on that channel (capacity
// 100) while holding its lock; if a subscription stops draining it, an
// unconditional send would block the physics goroutine, and with it Stop.
// Skipping an announcement loses nothing: the subscription publishes the
// latest value, which it reads back on the next change.
const notifyHeadroom = 10

// uaVar is one served OPC UA variable.
type uaVar struct {
	id     *ua.NodeID
	key    string // id.String(), the lookup key gopcua uses too
	browse string // browse and display name
	pt     *servedPoint

	// Owned by the physics goroutine.
	last      float64 // raw value last announced
	announced bool
}

// uaDevice is one simulated OPC UA device: a gopcua server whose address
// space holds the device's points under the node ids of the plant file.
type uaDevice struct {
	rig   *Rig
	name  string
	host  string // configured endpoint host
	port  int    // configured endpoint port
	vars  []*uaVar
	maxNS uint16 // highest namespace index used by the points

	// Set by start before the physics goroutine starts and cleared by stop
	// after it has ended, both under Rig.lifeMu.
	srv    *server.Server
	cancel context.CancelFunc
	proxy  *tcpProxy
	bound  string // public host:port

	changed []*uaVar // scratch for the physics goroutine
}

// newUADevice checks the OPC UA specifics of dev: endpoint URL and node ids.
func newUADevice(r *Rig, dev *drivers.DeviceConfig, points []*servedPoint) (*uaDevice, []*drivers.ConfigError) {
	var errs []*drivers.ConfigError
	d := &uaDevice{rig: r, name: dev.Name}
	u, err := url.Parse(dev.Endpoint)
	if err == nil && u.Scheme != "opc.tcp" {
		err = fmt.Errorf("scheme %q is not opc.tcp", u.Scheme)
	}
	if err == nil {
		d.host = u.Hostname()
		d.port, err = strconv.Atoi(u.Port())
		if err == nil && (d.port <= 0 || d.port > 65535) {
			err = fmt.Errorf("port %d out of range", d.port)
		}
	}
	if err != nil {
		errs = append(errs, &drivers.ConfigError{Path: "endpoint", Message: fmt.Sprintf("endpoint %q is not opc.tcp://host:port: %v", dev.Endpoint, err)})
	}
	seen := map[string]string{}
	for i, p := range points {
		path := fmt.Sprintf("points[%d].node", i)
		nid, err := ua.ParseNodeID(p.cfg.Node)
		if err != nil {
			errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf("node id %q does not parse: %v", p.cfg.Node, err)})
			continue
		}
		ns := nid.Namespace()
		if ns == 0 {
			errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf("node id %q is in namespace 0, which belongs to the OPC UA standard; use ns=1 or higher", p.cfg.Node)})
			continue
		}
		key := nid.String()
		if isNumericNodeID(nid) && nid.IntID() == id.ObjectsFolder {
			errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf("node id %q is reserved for the namespace's Objects folder", p.cfg.Node)})
			continue
		}
		if other, dup := seen[key]; dup {
			errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf("node id %q is already used by %s", p.cfg.Node, other)})
			continue
		}
		seen[key] = p.cfg.Tag
		browse := p.cfg.Tag
		if nid.Type() == ua.NodeIDTypeString {
			browse = nid.StringID()
		}
		d.vars = append(d.vars, &uaVar{id: nid, key: key, browse: browse, pt: p})
		d.maxNS = max(d.maxNS, ns)
	}
	return d, errs
}

func isNumericNodeID(n *ua.NodeID) bool {
	switch n.Type() {
	case ua.NodeIDTypeTwoByte, ua.NodeIDTypeFourByte, ua.NodeIDTypeNumeric:
		return true
	}
	return false
}

// start binds the device's public address (host with an OS-chosen port when
// host is not empty, else the configured endpoint), starts the gopcua server
// on a private loopback port and forwards the public address to it.
//
// The server advertises both URLs, the private one first because gopcua
// listens on its first endpoint. Clients only see the public one: gopcua
// answers GetEndpoints and CreateSession with the endpoints matching the URL
// the client asked for.
func (d *uaDevice) start(host string, logger *slog.Logger) error {
	pubHost, pubAddr := d.host, net.JoinHostPort(d.host, strconv.Itoa(d.port))
	if host != "" {
		pubHost, pubAddr = host, net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", pubAddr)
	if err != nil {
		return err
	}
	// Injected faults of the device's front (fault.go) act on its client
	// connections.
	ln = d.rig.faults.wrapListener(d.name, ln)
	pubPort := ln.Addr().(*net.TCPAddr).Port
	var lastErr error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		privPort, err := freePort(privateHost)
		if err != nil {
			lastErr = err
			break
		}
		srv, err := d.newServer(privPort, pubHost, pubPort, logger)
		if err != nil {
			lastErr = err
			break
		}
		// The server's goroutines live until stop cancels this context;
		// Start's own ctx only bounds start-up.
		ctx, cancel := context.WithCancel(context.Background())
		if lastErr = srv.Start(ctx); lastErr == nil {
			d.srv, d.cancel = srv, cancel
			d.proxy = startProxy(ln, net.JoinHostPort(privateHost, strconv.Itoa(privPort)))
			d.bound = net.JoinHostPort(pubHost, strconv.Itoa(pubPort))
			return nil
		}
		cancel()
		_ = srv.Close()
	}
	ln.Close()
	return lastErr
}

// privateHost is where the gopcua servers listen behind their proxies.
const privateHost = "127.0.0.1"

// newServer builds a gopcua server listening on privateHost:privPort and
// advertising opc.tcp://pubHost:pubPort too, with security policy None and
// anonymous login, and registers namespaces 1..maxNS holding the device's
// variables.
func (d *uaDevice) newServer(privPort int, pubHost string, pubPort int, logger *slog.Logger) (*server.Server, error) {
	opts := []server.Option{
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.EndPoint(privateHost, privPort),
		server.EndPoint(pubHost, pubPort),
		server.ServerName("pretreat test rig: " + d.name),
		server.ManufacturerName("pretreat"),
		server.ProductName("pretreat test rig"),
	}
	if logger != nil {
		opts = append(opts, server.SetLogger(uaLogger{logger.With("device", d.name)}))
	}
	srv := server.New(opts...)
	root, err := srv.Namespace(0)
	if err != nil {
		return nil, err
	}
	for idx := uint16(1); idx <= d.maxNS; idx++ {
		ns := newUANamespace(d, srv, idx)
		if got := srv.AddNamespace(ns); got != int(idx) {
			return nil, fmt.Errorf("namespace %s registered at index %d, want %d", ns.uri, got, idx)
		}
		if len(ns.order) > 0 {
			root.Objects().AddRef(ns.objects, id.Organizes, true)
		}
	}
	return srv, nil
}

// stop closes every client connection, then the server and its goroutines,
// and deletes its subscriptions, whose publishing goroutines would otherwise
// live until their lifetime count runs out.
func (d *uaDevice) stop() error {
	if d.srv == nil {
		return nil
	}
	// The proxy first: with the client connections closed, every channel
	// goroutine of the server reads EOF and ends. Then Close, which waits
	// for those goroutines; they may be handing a last message to the
	// dispatch loop, which the context keeps alive until cancel.
	err := d.proxy.close()
	err = errors.Join(err, d.srv.Close())
	d.cancel()
	// gopcua's DeleteSubscription takes its locks in the opposite order to
	// CreateMonitoredItems; by now the dispatch loop that runs the latter
	// has been told to end and every client connection is closed.
	if ss := d.srv.SubscriptionService; ss != nil {
		ss.Mu.Lock()
		ids := make([]uint32, 0, len(ss.Subs))
		for subID := range ss.Subs {
			ids = append(ids, subID)
		}
		ss.Mu.Unlock()
		for _, subID := range ids {
			ss.DeleteSubscription(subID)
		}
	}
	d.srv, d.cancel, d.proxy = nil, nil, nil
	return err
}

func (d *uaDevice) endpoint() Endpoint {
	return Endpoint{
		Device:   d.name,
		Protocol: drivers.ProtocolOPCUA,
		Address:  d.bound,
		URL:      "opc.tcp://" + d.bound,
	}
}

// collectChanges records which variables' raw values differ from what was
// last announced. It runs on the physics goroutine with Rig.mu held.
func (d *uaDevice) collectChanges() {
	d.changed = d.changed[:0]
	for _, v := range d.vars {
		raw := engToRaw(&v.pt.cfg, v.pt.typ, d.rig.readPoint(v.pt))
		if !v.announced || math.Float64bits(raw) != math.Float64bits(v.last) {
			v.last, v.announced = raw, true
			d.changed = append(d.changed, v)
		}
	}
}

// notifyChanges announces the collected changes to gopcua, which reads the
// new values back through the namespace for every monitored item. It runs
// on the physics goroutine without Rig.mu.
func (d *uaDevice) notifyChanges() {
	for _, v := range d.changed {
		notify(d.srv, v)
	}
}

// notify tells srv that v changed, unless nobody monitors it or a
// subscription is not keeping up (see notifyHeadroom).
func notify(srv *server.Server, v *uaVar) {
	mis := srv.MonitoredItemService
	if mis == nil {
		return
	}
	mis.Mu.Lock()
	items := mis.Nodes[v.key]
	ok := len(items) > 0
	for _, it := range items {
		if it != nil && it.Sub != nil && cap(it.Sub.NotifyChannel)-len(it.Sub.NotifyChannel) < notifyHeadroom {
			ok = false
		}
	}
	mis.Mu.Unlock()
	if ok {
		srv.ChangeNotification(v.id)
	}
}

// uaNamespace implements gopcua's server.NameSpace for one namespace index
// of a simulated device. Values are read from and written to the model on
// every request, so they are always current; there is no copy to keep in
// step. Only the Value attribute of writable points can be written.
type uaNamespace struct {
	dev     *uaDevice
	srv     *server.Server
	uri     string
	id      uint16 // set by AddNamespace before the server starts
	objects *server.Node
	vars    map[string]*uaVar
	order   []*uaVar                // plant-file order, for Browse
	nodes   map[string]*server.Node // static descriptions for server.Node lookups
}

func newUANamespace(d *uaDevice, srv *server.Server, idx uint16) *uaNamespace {
	uri := "urn:pretreat:testrig:" + d.name
	if idx > 1 {
		uri += ":ns" + strconv.Itoa(int(idx))
	}
	ns := &uaNamespace{dev: d, srv: srv, uri: uri, vars: map[string]*uaVar{}, nodes: map[string]*server.Node{}}
	ns.objects = server.NewNode(
		ua.NewNumericNodeID(idx, id.ObjectsFolder),
		server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: idx, Name: d.name}),
			ua.AttributeIDDisplayName: server.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: d.name}),
			ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.FolderType)),
		},
		nil, nil,
	)
	ns.nodes[ns.objects.ID().String()] = ns.objects
	for _, v := range d.vars {
		if v.id.Namespace() != idx {
			continue
		}
		ns.vars[v.key] = v
		ns.order = append(ns.order, v)
		ns.nodes[v.key] = server.NewNode(v.id, server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: idx, Name: v.browse}),
			ua.AttributeIDDisplayName: server.DataValueFromValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: v.browse}),
			ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.BaseDataVariableType)),
		}, nil, nil)
	}
	return ns
}

// Name returns the namespace URI.
func (ns *uaNamespace) Name() string { return ns.uri }

// AddNode is not supported: the address space is the plant file's. It
// returns n unchanged, as gopcua's map namespace does.
func (ns *uaNamespace) AddNode(n *server.Node) *server.Node { return n }

// Node returns a static description (class, names, type) of a node, or nil.
func (ns *uaNamespace) Node(nid *ua.NodeID) *server.Node {
	if nid == nil {
		return nil
	}
	return ns.nodes[nid.String()]
}

// Objects returns the namespace's Objects folder, which organizes the
// device's variables.
func (ns *uaNamespace) Objects() *server.Node { return ns.objects }

// Root returns nil: only namespace 0 has a root folder.
func (ns *uaNamespace) Root() *server.Node { return nil }

// ID returns the namespace index.
func (ns *uaNamespace) ID() uint16 { return ns.id }

// SetID is called by the server when the namespace is registered.
func (ns *uaNamespace) SetID(idx uint16) { ns.id = idx }

// Browse lists the references of the Objects folder (its variables) or of
// a variable (its type definition and parent), filtered as asked.
func (ns *uaNamespace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	if bd == nil || bd.NodeID == nil {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDInvalid}
	}
	key := bd.NodeID.String()
	var refs []*ua.ReferenceDescription
	switch v := ns.vars[key]; {
	case key == ns.objects.ID().String():
		refs = append(refs, newRef(id.Organizes, false, ua.NewNumericNodeID(0, id.ObjectsFolder), 0, "Objects", ua.NodeClassObject, id.FolderType))
		for _, v := range ns.order {
			refs = append(refs, newRef(id.HasComponent, true, v.id, ns.id, v.browse, ua.NodeClassVariable, id.BaseDataVariableType))
		}
	case v != nil:
		refs = append(refs,
			newRef(id.HasTypeDefinition, true, ua.NewNumericNodeID(0, id.BaseDataVariableType), 0, "BaseDataVariableType", ua.NodeClassVariableType, id.BaseDataVariableType),
			newRef(id.HasComponent, false, ns.objects.ID(), ns.id, ns.dev.name, ua.NodeClassObject, id.FolderType))
	default:
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	out := refs[:0]
	for _, r := range refs {
		if directionMatches(bd.BrowseDirection, r.IsForward) &&
			refTypeMatches(bd.ReferenceTypeID, r.ReferenceTypeID.IntID(), bd.IncludeSubtypes) &&
			(bd.NodeClassMask == 0 || bd.NodeClassMask&uint32(r.NodeClass) != 0) {
			out = append(out, r)
		}
	}
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: out}
}

func newRef(refType uint32, forward bool, target *ua.NodeID, nsIdx uint16, name string, class ua.NodeClass, typeDef uint32) *ua.ReferenceDescription {
	return &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, refType),
		IsForward:       forward,
		NodeID:          ua.NewExpandedNodeID(target, "", 0),
		BrowseName:      &ua.QualifiedName{NamespaceIndex: nsIdx, Name: name},
		DisplayName:     &ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: name},
		NodeClass:       class,
		TypeDefinition:  ua.NewNumericExpandedNodeID(0, typeDef),
	}
}

func directionMatches(dir ua.BrowseDirection, forward bool) bool {
	switch dir {
	case ua.BrowseDirectionBoth:
		return true
	case ua.BrowseDirectionForward:
		return forward
	case ua.BrowseDirectionInverse:
		return !forward
	}
	return false
}

// refSupertypes lists, for each reference type the rig uses, the reference
// types it is a subtype of (OPC UA Part 5).
var refSupertypes = map[uint32][]uint32{
	id.HasComponent:      {id.Aggregates, id.HasChild, id.HierarchicalReferences, id.References},
	id.Organizes:         {id.HierarchicalReferences, id.References},
	id.HasTypeDefinition: {id.NonHierarchicalReferences, id.References},
}

func refTypeMatches(want *ua.NodeID, have uint32, subtypes bool) bool {
	if want == nil || (isNumericNodeID(want) && want.Namespace() == 0 && want.IntID() == 0) {
		return true // no filter
	}
	if !isNumericNodeID(want) || want.Namespace() != 0 {
		return false
	}
	if want.IntID() == have {
		return true
	}
	return subtypes && slices.Contains(refSupertypes[have], want.IntID())
}

// dataTypeIDs maps point types to OPC UA built-in data type ids.
var dataTypeIDs = map[drivers.DataType]uint32{
	drivers.TypeBool:    id.Boolean,
	drivers.TypeInt16:   id.Int16,
	drivers.TypeUint16:  id.UInt16,
	drivers.TypeInt32:   id.Int32,
	drivers.TypeUint32:  id.UInt32,
	drivers.TypeInt64:   id.Int64,
	drivers.TypeUint64:  id.UInt64,
	drivers.TypeFloat32: id.Float,
	drivers.TypeFloat64: id.Double,
}

// variant wraps a raw value in the variant type of the point's data type.
func variant(typ drivers.DataType, raw float64) *ua.Variant {
	switch typ {
	case drivers.TypeBool:
		return ua.MustVariant(raw != 0)
	case drivers.TypeInt16:
		return ua.MustVariant(int16(raw))
	case drivers.TypeUint16:
		return ua.MustVariant(uint16(raw))
	case drivers.TypeInt32:
		return ua.MustVariant(int32(raw))
	case drivers.TypeUint32:
		return ua.MustVariant(uint32(raw))
	case drivers.TypeInt64:
		if raw >= 0x1p63 {
			return ua.MustVariant(int64(math.MaxInt64))
		}
		return ua.MustVariant(int64(raw))
	case drivers.TypeUint64:
		if raw >= 0x1p64 {
			return ua.MustVariant(uint64(math.MaxUint64))
		}
		return ua.MustVariant(uint64(raw))
	case drivers.TypeFloat32:
		return ua.MustVariant(float32(raw))
	}
	return ua.MustVariant(raw)
}

func attrValue(v any) *ua.DataValue {
	return &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)}
}

func badValue(status ua.StatusCode) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueServerTimestamp | ua.DataValueStatusCode,
		ServerTimestamp: time.Now(),
		Status:          status,
	}
}

// Attribute reads one attribute. The Value of a variable comes from the
// model, stamped with the plant time the model has reached as source time.
func (ns *uaNamespace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	if nid == nil {
		return badValue(ua.StatusBadNodeIDInvalid)
	}
	key := nid.String()
	if key == ns.objects.ID().String() {
		switch attr {
		case ua.AttributeIDNodeID:
			return attrValue(ns.objects.ID())
		case ua.AttributeIDNodeClass:
			return attrValue(int32(ua.NodeClassObject))
		case ua.AttributeIDBrowseName:
			return attrValue(&ua.QualifiedName{NamespaceIndex: ns.id, Name: ns.dev.name})
		case ua.AttributeIDDisplayName, ua.AttributeIDDescription:
			return attrValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: ns.dev.name})
		case ua.AttributeIDEventNotifier:
			return attrValue(byte(0))
		}
		return badValue(ua.StatusBadAttributeIDInvalid)
	}
	v := ns.vars[key]
	if v == nil {
		return badValue(ua.StatusBadNodeIDUnknown)
	}
	switch attr {
	case ua.AttributeIDValue:
		r := ns.dev.rig
		if st := r.faults.uaStatus(ns.dev.name, v.pt.cfg.Tag); st != ua.StatusOK {
			return badValue(st) // an injected bad_status fault (fault.go)
		}
		r.mu.Lock()
		eng := r.readPoint(v.pt)
		plantNow := r.plantNow
		r.mu.Unlock()
		return &ua.DataValue{
			EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
			Value:           variant(v.pt.typ, engToRaw(&v.pt.cfg, v.pt.typ, eng)),
			SourceTimestamp: plantNow,
			ServerTimestamp: time.Now(),
		}
	case ua.AttributeIDNodeID:
		return attrValue(v.id)
	case ua.AttributeIDNodeClass:
		return attrValue(int32(ua.NodeClassVariable))
	case ua.AttributeIDBrowseName:
		return attrValue(&ua.QualifiedName{NamespaceIndex: ns.id, Name: v.browse})
	case ua.AttributeIDDisplayName:
		return attrValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: v.browse})
	case ua.AttributeIDDescription:
		text := v.pt.cfg.Tag
		if v.pt.cfg.Unit != "" {
			text += " [" + v.pt.cfg.Unit + "]"
		}
		return attrValue(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: text})
	case ua.AttributeIDDataType:
		return attrValue(ua.NewNumericNodeID(0, dataTypeIDs[v.pt.typ]))
	case ua.AttributeIDValueRank:
		return attrValue(int32(-1)) // scalar
	case ua.AttributeIDArrayDimensions:
		return attrValue([]uint32{})
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		level := ua.AccessLevelTypeCurrentRead
		if v.pt.writable {
			level |= ua.AccessLevelTypeCurrentWrite
		}
		return attrValue(byte(level))
	case ua.AttributeIDMinimumSamplingInterval:
		return attrValue(float64(physicsPeriod / time.Millisecond))
	case ua.AttributeIDHistorizing:
		return attrValue(false)
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

// SetAttribute writes the Value of a writable variable to the model. Any
// numeric or boolean variant is accepted and converted like a Modbus write:
// eng = raw*scale + offset.
func (ns *uaNamespace) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	if nid == nil {
		return ua.StatusBadNodeIDInvalid
	}
	v := ns.vars[nid.String()]
	switch {
	case v == nil && nid.String() == ns.objects.ID().String():
		return ua.StatusBadNotWritable
	case v == nil:
		return ua.StatusBadNodeIDUnknown
	case attr != ua.AttributeIDValue || !v.pt.writable:
		return ua.StatusBadNotWritable
	case dv == nil || dv.Value == nil:
		return ua.StatusBadTypeMismatch
	}
	raw, ok := variantFloat(dv.Value.Value())
	if !ok {
		return ua.StatusBadTypeMismatch
	}
	eng := v.pt.cfg.ToEng(raw)
	if v.pt.typ == drivers.TypeBool {
		eng = 0
		if raw != 0 {
			eng = 1
		}
	}
	r := ns.dev.rig
	r.mu.Lock()
	ok = !v.pt.refuses(eng) && r.writePoint(v.pt, eng)
	r.mu.Unlock()
	if !ok {
		return ua.StatusBadOutOfRange
	}
	notify(ns.srv, v)
	return ua.StatusOK
}

// variantFloat converts a numeric or boolean variant value to float64.
func variantFloat(x any) (float64, bool) {
	switch v := x.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int8:
		return float64(v), true
	case uint8:
		return float64(v), true
	case int16:
		return float64(v), true
	case uint16:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// uaLogger adapts slog to gopcua's printf-style server.Logger.
type uaLogger struct{ l *slog.Logger }

// Debug logs a printf-style message at debug level.
func (u uaLogger) Debug(msg string, args ...any) { u.l.Debug(fmt.Sprintf(msg, args...)) }

// Info logs a printf-style message at info level.
func (u uaLogger) Info(msg string, args ...any) { u.l.Info(fmt.Sprintf(msg, args...)) }

// Warn logs a printf-style message at warning level.
func (u uaLogger) Warn(msg string, args ...any) { u.l.Warn(fmt.Sprintf(msg, args...)) }

// Error logs a printf-style message at error level.
func (u uaLogger) Error(msg string, args ...any) { u.l.Error(fmt.Sprintf(msg, args...)) }
