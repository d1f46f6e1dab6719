package testrig

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/simonvetter/modbus"
)

// uaClient connects an anonymous gopcua client with security policy None.
func uaClient(t testing.TB, url string) *opcua.Client {
	t.Helper()
	c, err := opcua.NewClient(url,
		opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.AuthAnonymous(),
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(5*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	return c
}

func closeClient(c *opcua.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Close(ctx)
}

func readValues(t testing.TB, c *opcua.Client, nodes ...string) []*ua.DataValue {
	t.Helper()
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth}
	for _, n := range nodes {
		req.NodesToRead = append(req.NodesToRead, &ua.ReadValueID{NodeID: ua.MustParseNodeID(n), AttributeID: ua.AttributeIDValue})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Read(ctx, req)
	if err != nil {
		t.Fatalf("read %v: %v", nodes, err)
	}
	if len(resp.Results) != len(nodes) {
		t.Fatalf("read %v: %d results", nodes, len(resp.Results))
	}
	return resp.Results
}

func readDouble(t testing.TB, c *opcua.Client, node string) float64 {
	t.Helper()
	dv := readValues(t, c, node)[0]
	if dv.Status != ua.StatusOK {
		t.Fatalf("read %s: status %v", node, dv.Status)
	}
	v, ok := dv.Value.Value().(float64)
	if !ok {
		t.Fatalf("read %s: value %v is %T, want a Double", node, dv.Value.Value(), dv.Value.Value())
	}
	return v
}

// subscribe connects a client and monitors node's value; each data change
// arrives on the returned channel. stop closes the client and ends the
// goroutine that feeds the channel.
func subscribe(t testing.TB, url, node string) (values <-chan float64, stop func()) {
	t.Helper()
	c := uaClient(t, url)
	notes := make(chan *opcua.PublishNotificationData, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond}, notes)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(ua.MustParseNodeID(node), ua.AttributeIDValue, 42))
	if err != nil || res.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("monitor %s: %v %v", node, err, res)
	}
	out := make(chan float64, 256)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			var n *opcua.PublishNotificationData
			select {
			case <-quit:
				return
			case n = <-notes:
			}
			dc, ok := n.Value.(*ua.DataChangeNotification)
			if n.Error != nil || !ok {
				continue
			}
			for _, item := range dc.MonitoredItems {
				if f, ok := item.Value.Value.Value().(float64); ok && item.ClientHandle == 42 {
					select {
					case out <- f:
					default:
					}
				}
			}
		}
	}()
	return out, func() {
		closeClient(c)
		close(quit)
		<-done
	}
}

func TestOPCUAReadSample(t *testing.T) {
	t.Parallel()
	r := startRig(t, sampleDevices(t), 20)
	c := uaClient(t, endpoint(t, r, "analyser").URL)
	t.Cleanup(func() { closeClient(c) })

	if ds := readDouble(t, c, "ns=2;s=Pulper.DS"); ds != 0 {
		t.Errorf("Pulper.DS of the empty pulper = %g, want 0", ds)
	}
	if ph := readDouble(t, c, "ns=2;s=Pulper.pH"); ph < 4.5 || ph > 5.5 {
		t.Errorf("Pulper.pH = %g, want 4.5..5.5", ph)
	}

	// Fill the pulper over Modbus: door, feeder, shredder.
	io := modbusClient(t, endpoint(t, r, "line_io"))
	shredder := modbusClient(t, endpoint(t, r, "shredder_vfd"))
	if err := shredder.WriteRegisters(0, []uint16{1, 300}); err != nil { // run, 30 rpm
		t.Fatal(err)
	}
	if err := io.WriteRegister(0, 1000); err != nil { // feeder 100 %
		t.Fatal(err)
	}
	if err := io.WriteCoils(3, []bool{true}); err != nil { // door
		t.Fatal(err)
	}
	if err := io.WriteCoil(0, true); err != nil { // feeder run
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "pulper above 50 kg", func() (bool, string) {
		m := value(t, r, "pulper.mass")
		return m > 50, fmt.Sprintf("%g kg", m)
	})
	// Undiluted catering waste: the slurry is at the class DS, 28 %.
	if ds := readDouble(t, c, "ns=2;s=Pulper.DS"); math.Abs(ds-28) > 1e-9 {
		t.Errorf("Pulper.DS = %g %%, want 28 (undiluted catering waste)", ds)
	}
	before := value(t, r, "pulper.level")
	level := readDouble(t, c, "ns=2;s=Pulper.Level")
	after := value(t, r, "pulper.level")
	if level < before || level > after || level <= 0 {
		t.Errorf("Pulper.Level = %g %%, model %g..%g", level, before, after)
	}
	dv := readValues(t, c, "ns=2;s=Pulper.Level")[0]
	if dv.SourceTimestamp.Year() != 2025 {
		t.Errorf("source timestamp %v, want plant time (2025)", dv.SourceTimestamp)
	}
	if st := readValues(t, c, "ns=2;s=No.Such")[0].Status; st != ua.StatusBadNodeIDUnknown {
		t.Errorf("read of an unknown node: status %v, want BadNodeIdUnknown", st)
	}
}

func TestOPCUASubscription(t *testing.T) {
	t.Parallel()
	r := startRig(t, sampleDevices(t), 20)
	values, stop := subscribe(t, endpoint(t, r, "analyser").URL, "ns=2;s=Reception.H2S")
	t.Cleanup(stop)
	var got []float64
	timeout := time.After(10 * time.Second)
	for len(got) < 5 {
		select {
		case v := <-values:
			if len(got) == 0 || v != got[len(got)-1] {
				got = append(got, v)
			}
		case <-timeout:
			t.Fatalf("got %d distinct H2S values in 10 s, want 5: %v", len(got), got)
		}
	}
	for _, v := range got {
		if v < 0 || v > 5 {
			t.Errorf("H2S %g ppm, want low (0..5)", v)
		}
	}
	slices.Sort(got)
	if got[0] == got[len(got)-1] {
		t.Errorf("H2S notifications all equal %g: values do not change", got[0])
	}
}

func TestOPCUAWriteAndBrowse(t *testing.T) {
	t.Parallel()
	r := startRig(t, testDevices(), 1)
	c := uaClient(t, endpoint(t, r, "opc").URL)
	t.Cleanup(func() { closeClient(c) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	write := func(node string, v any) ua.StatusCode {
		t.Helper()
		resp, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
			NodeID:      ua.MustParseNodeID(node),
			AttributeID: ua.AttributeIDValue,
			Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)},
		}}})
		if err != nil {
			t.Fatalf("write %s: %v", node, err)
		}
		return resp.Results[0]
	}
	if st := write("ns=2;s=Feeder.SpeedSP", 62.5); st != ua.StatusOK {
		t.Fatalf("write Feeder.SpeedSP: %v", st)
	}
	if v := value(t, r, "feeder.speed_sp"); v != 62.5 {
		t.Errorf("feeder.speed_sp = %g after the write, want 62.5", v)
	}
	if v := readDouble(t, c, "ns=2;s=Feeder.SpeedSP"); v != 62.5 {
		t.Errorf("read back %g, want 62.5", v)
	}
	// A UInt16 node with scale 0.01: raw 350 is 3.5 bar.
	if st := write("ns=2;i=1001", uint16(350)); st != ua.StatusOK {
		t.Fatalf("write ns=2;i=1001: %v", st)
	}
	if v := value(t, r, "press.back_pressure_sp"); math.Abs(v-3.5) > 1e-9 {
		t.Errorf("back_pressure_sp = %g, want 3.5", v)
	}
	vals := readValues(t, c, "ns=2;i=1001", "ns=1;s=Shredder.Running", "ns=2;s=Pulper.Level")
	if v, ok := vals[0].Value.Value().(uint16); !ok || v != 350 {
		t.Errorf("ns=2;i=1001 = %v (%T), want uint16 350", vals[0].Value.Value(), vals[0].Value.Value())
	}
	if v, ok := vals[1].Value.Value().(bool); !ok || v {
		t.Errorf("Shredder.Running = %v (%T), want bool false", vals[1].Value.Value(), vals[1].Value.Value())
	}
	if _, ok := vals[2].Value.Value().(float32); !ok {
		t.Errorf("Pulper.Level is %T, want float32", vals[2].Value.Value())
	}
	if st := write("ns=2;s=Pulper.Level", float32(50)); st != ua.StatusBadNotWritable {
		t.Errorf("write to a read-only node: %v, want BadNotWritable", st)
	}
	if st := write("ns=2;s=Feeder.SpeedSP", "fast"); st != ua.StatusBadTypeMismatch {
		t.Errorf("write of a string: %v, want BadTypeMismatch", st)
	}
	if st := write("ns=2;s=No.Such", 1.0); st != ua.StatusBadNodeIDUnknown {
		t.Errorf("write to an unknown node: %v, want BadNodeIdUnknown", st)
	}

	// Browse: the Objects folder organizes the device folder, which holds
	// the variables of its namespace.
	browse := func(node string) []*ua.ReferenceDescription {
		t.Helper()
		resp, err := c.Browse(ctx, &ua.BrowseRequest{
			View:                          &ua.ViewDescription{ViewID: ua.NewTwoByteNodeID(0)},
			RequestedMaxReferencesPerNode: 0,
			NodesToBrowse: []*ua.BrowseDescription{{
				NodeID:          ua.MustParseNodeID(node),
				BrowseDirection: ua.BrowseDirectionForward,
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
				IncludeSubtypes: true,
				ResultMask:      uint32(ua.BrowseResultMaskAll),
			}},
		})
		if err != nil || resp.Results[0].StatusCode != ua.StatusOK {
			t.Fatalf("browse %s: %v %v", node, err, resp)
		}
		return resp.Results[0].References
	}
	names := func(refs []*ua.ReferenceDescription) []string {
		var s []string
		for _, r := range refs {
			s = append(s, r.NodeID.NodeID.String())
		}
		return s
	}
	if got := names(browse("i=85")); !slices.Contains(got, "ns=2;i=85") || !slices.Contains(got, "ns=1;i=85") {
		t.Errorf("Objects folder references %v, want ns=1;i=85 and ns=2;i=85", got)
	}
	got := names(browse("ns=2;i=85"))
	want := []string{"ns=2;s=Feeder.SpeedSP", "ns=2;i=1001", "ns=2;s=Pulper.Level"}
	if !slices.Equal(got, want) {
		t.Errorf("ns=2 Objects folder references %v, want %v", got, want)
	}
}

// TestOPCUAAndModbusShareThePlant writes a command over Modbus and watches
// its effect over OPC UA.
func TestOPCUAAndModbusShareThePlant(t *testing.T) {
	t.Parallel()
	r := startRig(t, testDevices(), 20)
	c := uaClient(t, endpoint(t, r, "opc").URL)
	t.Cleanup(func() { closeClient(c) })
	mb := modbusClient(t, endpoint(t, r, "unit1"))
	if err := mb.WriteRegisters(8, []uint16{20, 1}); err != nil { // 20 rpm, run
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "Shredder.Running true over OPC UA", func() (bool, string) {
		v := readValues(t, c, "ns=1;s=Shredder.Running")[0].Value.Value()
		return v == true, fmt.Sprint(v)
	})
	if v, err := mb.ReadRegister(10, modbus.HOLDING_REGISTER); err != nil || v == 0 {
		t.Errorf("shredder speed register = %d, %v; want > 0 once running", v, err)
	}
}

// lockedBuffer is an io.Writer safe for the servers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLoggerReceivesServerLogs(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	r, err := New(Options{Devices: sampleDevices(t), Ephemeral: true, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	c := uaClient(t, endpoint(t, r, "analyser").URL)
	closeClient(c)
	waitFor(t, 5*time.Second, "a log line from the OPC UA server", func() (bool, string) {
		s := buf.String()
		return strings.Contains(s, "device=analyser") && strings.Contains(s, "registered connection"), s
	})
}
