package testrig

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig/physics"
)

// faultDevices is the sample plant's Modbus devices plus the points an
// integrator would map for the faults' effects, each added unless the
// sample maps it already: the shredder's reverse command (holding 6, as the
// sample binds it), and on line_io the guard door and the pulper and
// filtrate tank levels, after the sample's own points (tests find them with
// servedAt).
func faultDevices(t testing.TB) []drivers.DeviceConfig {
	devs := modbusOnly(sampleDevices(t))
	has := func(d *drivers.DeviceConfig, tag string) bool {
		return slices.ContainsFunc(d.Points, func(p drivers.PointConfig) bool { return p.Tag == tag })
	}
	// next is the first address of table after every point d has there.
	next := func(d *drivers.DeviceConfig, table drivers.Table) uint16 {
		var n uint16
		for _, p := range d.Points {
			if p.Table == table {
				n = max(n, p.Address+uint16(p.Registers()))
			}
		}
		return n
	}
	for i := range devs {
		d := &devs[i]
		switch d.Name {
		case "shredder_vfd":
			if !has(d, "shredder.reverse_cmd") {
				d.Points = append(d.Points, drivers.PointConfig{Tag: "shredder.reverse_cmd", Table: drivers.TableHolding, Address: 6, Type: drivers.TypeUint16, Access: drivers.AccessReadWrite})
			}
		case "line_io":
			for _, p := range []drivers.PointConfig{
				{Tag: "shredder.guard_closed", Table: drivers.TableDiscrete, Type: drivers.TypeBool},
				{Tag: "pulper.level", Table: drivers.TableInput, Type: drivers.TypeFloat32, Min: -5, Max: 110},
				{Tag: "filtrate.level", Table: drivers.TableInput, Type: drivers.TypeFloat32, Min: -5, Max: 110},
			} {
				if !has(d, p.Tag) {
					p.Address = next(d, p.Table)
					d.Points = append(d.Points, p)
				}
			}
		}
	}
	return devs
}

// servedAt returns the served map's row for tag, failing the test when the
// rig does not serve it.
func servedAt(t testing.TB, r *Rig, tag string) MapRow {
	t.Helper()
	for _, row := range r.ServedMap() {
		if row.Tag == tag {
			return row
		}
	}
	t.Fatalf("the rig serves no point tagged %q", tag)
	return MapRow{}
}

// setConeFor3Bar sets the press's cone for about 3 bar running full, as a
// controller would: the back-pressure set-point where the plant maps one,
// else the cone valve at 40 % (0.075 bar/% with the screw full). Both are
// single holding registers.
func setConeFor3Bar(t testing.TB, r *Rig, press *modbus.ModbusClient) error {
	t.Helper()
	tag, eng := "press.back_pressure_sp", 3.0
	if r.BackPressureControl() == physics.BackPressureFromValve {
		tag, eng = physics.RoleConeValve, 40
	}
	row := servedAt(t, r, tag)
	return press.WriteRegister(row.Register, uint16(math.Round((eng-row.Offset)/row.Scale)))
}

func inject(t testing.TB, r *Rig, spec FaultSpec) Fault {
	t.Helper()
	f, err := r.Inject(spec)
	if err != nil {
		t.Fatalf("inject %+v: %v", spec, err)
	}
	return f
}

func clear(t testing.TB, r *Rig, f Fault) {
	t.Helper()
	if _, err := r.Clear(f.ID); err != nil {
		t.Fatalf("clear %s: %v", f.ID, err)
	}
}

// timedRead reads one holding register with a fresh client whose timeout
// is timeout, and returns how long it took.
func timedRead(ep Endpoint, timeout time.Duration) (time.Duration, error) {
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: ep.URL, Timeout: timeout})
	if err != nil {
		return 0, err
	}
	if err := c.Open(); err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetUnitId(ep.UnitID)
	start := time.Now()
	_, err = c.ReadRegisters(0, 2, modbus.HOLDING_REGISTER)
	return time.Since(start), err
}

// TestModbusFrontFaults shows each fault of a Modbus device front on the
// wire, and normal service once it is cleared.
func TestModbusFrontFaults(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	ep := endpoint(t, r, "press_vfd")
	other := endpoint(t, r, "shredder_vfd") // another device: unaffected
	normal := func(t *testing.T) {
		t.Helper()
		waitFor(t, 5*time.Second, "normal reads after clearing", func() (bool, string) {
			d, err := timedRead(ep, time.Second)
			return err == nil && d < 300*time.Millisecond, fmt.Sprintf("%v in %v", err, d)
		})
	}

	t.Run("stop_answering", func(t *testing.T) {
		held := modbusClient(t, ep) // connected before the fault
		f := inject(t, r, FaultSpec{Kind: FaultStopAnswering, Target: "press_vfd"})
		d, err := timedRead(ep, 300*time.Millisecond)
		if !errors.Is(err, modbus.ErrRequestTimedOut) {
			t.Errorf("read from a device that stopped answering: %v after %v, want a timeout", err, d)
		}
		if _, err := held.ReadRegisters(0, 1, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrRequestTimedOut) {
			t.Errorf("read on a connection opened before the fault: %v, want a timeout", err)
		}
		if _, err := timedRead(other, time.Second); err != nil {
			t.Errorf("another device: %v, want it unaffected", err)
		}
		clear(t, r, f)
		// The connection whose request was held is closed when the device
		// comes back (no stale answer arrives on it); a reconnect is served.
		if v, err := held.ReadRegisters(0, 1, modbus.HOLDING_REGISTER); err == nil {
			t.Errorf("the connection held during the fault answered %v after it; want it closed", v)
		}
		normal(t)
	})
	t.Run("disconnect", func(t *testing.T) {
		f := inject(t, r, FaultSpec{Kind: FaultDisconnect, Target: "press_vfd"})
		d, err := timedRead(ep, 2*time.Second)
		if err == nil || errors.Is(err, modbus.ErrRequestTimedOut) || d > time.Second {
			t.Errorf("read from a device closing connections: %v after %v, want the connection closed at once", err, d)
		}
		clear(t, r, f)
		normal(t)
	})
	t.Run("slow", func(t *testing.T) {
		f := inject(t, r, FaultSpec{Kind: FaultSlow, Target: "press_vfd", Delay: 400 * time.Millisecond})
		d, err := timedRead(ep, 2*time.Second)
		if err != nil || d < 400*time.Millisecond {
			t.Errorf("slow device: %v after %v, want an answer after ≥ 400ms", err, d)
		}
		if _, err := timedRead(ep, 200*time.Millisecond); !errors.Is(err, modbus.ErrRequestTimedOut) {
			t.Errorf("slow device with a 200ms client timeout: %v, want a timeout", err)
		}
		clear(t, r, f)
		normal(t)
	})
	t.Run("exception", func(t *testing.T) {
		for code, want := range map[int]error{0: modbus.ErrServerDeviceFailure, 6: modbus.ErrServerDeviceBusy, 11: modbus.ErrGWTargetFailedToRespond} {
			f := inject(t, r, FaultSpec{Kind: FaultException, Target: "press_vfd", Code: code})
			if _, err := timedRead(ep, time.Second); !errors.Is(err, want) {
				t.Errorf("exception fault code %d: read %v, want %v", code, err, want)
			}
			clear(t, r, f)
		}
		normal(t)
	})
}

// uaValues subscribes to node and delivers every notification's data value
// (bad ones included).
func uaValues(t testing.TB, c *opcua.Client, node string) <-chan *ua.DataValue {
	t.Helper()
	notes := make(chan *opcua.PublishNotificationData, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond}, notes)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(ua.MustParseNodeID(node), ua.AttributeIDValue, 7))
	if err != nil || res.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("monitor %s: %v %v", node, err, res)
	}
	out := make(chan *ua.DataValue, 256)
	go func() {
		for n := range notes {
			if dc, ok := n.Value.(*ua.DataChangeNotification); ok && n.Error == nil {
				for _, item := range dc.MonitoredItems {
					select {
					case out <- item.Value:
					default:
					}
				}
			}
		}
	}()
	return out
}

// uaRead reads node with a fresh anonymous client within timeout.
func uaRead(url, node string, timeout time.Duration) (*ua.DataValue, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	c, err := opcua.NewClient(url, opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.AuthAnonymous(), opcua.AutoReconnect(false), opcua.RequestTimeout(timeout))
	if err != nil {
		return nil, 0, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, time.Since(start), err
	}
	defer closeClient(c)
	resp, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.MustParseNodeID(node), AttributeID: ua.AttributeIDValue}}})
	if err != nil {
		return nil, time.Since(start), err
	}
	return resp.Results[0], time.Since(start), nil
}

// TestOPCUAFrontFaults shows each fault of an OPC UA device front on the
// wire, and normal service once it is cleared.
func TestOPCUAFrontFaults(t *testing.T) {
	t.Parallel()
	r := startRig(t, sampleDevices(t), 20)
	url := endpoint(t, r, "analyser").URL
	const node = "ns=2;s=Reception.H2S"
	normal := func(t *testing.T) {
		t.Helper()
		waitFor(t, 10*time.Second, "a good read after clearing", func() (bool, string) {
			dv, _, err := uaRead(url, node, 3*time.Second)
			return err == nil && dv.Status == ua.StatusOK, fmt.Sprintf("%v %v", dv, err)
		})
	}

	t.Run("stop_answering", func(t *testing.T) {
		held := uaClient(t, url)
		defer closeClient(held)
		f := inject(t, r, FaultSpec{Kind: FaultStopAnswering, Target: "analyser"})
		if _, d, err := uaRead(url, node, time.Second); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
			t.Errorf("connecting to a device that stopped answering: %v after %v, want a timeout", err, d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := held.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.MustParseNodeID(node), AttributeID: ua.AttributeIDValue}}})
		cancel()
		if err == nil {
			t.Errorf("a connected client still reads from a device that stopped answering")
		}
		clear(t, r, f)
		normal(t)
	})
	t.Run("disconnect", func(t *testing.T) {
		held := uaClient(t, url)
		defer closeClient(held)
		f := inject(t, r, FaultSpec{Kind: FaultDisconnect, Target: "analyser"})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		_, err := held.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: ua.MustParseNodeID(node), AttributeID: ua.AttributeIDValue}}})
		cancel()
		if err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("read on a connection the device closed: %v after %v, want a connection error at once", err, time.Since(start))
		}
		if _, d, err := uaRead(url, node, 3*time.Second); err == nil || d > 2*time.Second {
			t.Errorf("new connection to a device closing connections: %v after %v, want refused at once", err, d)
		}
		clear(t, r, f)
		normal(t)
	})
	t.Run("slow", func(t *testing.T) {
		f := inject(t, r, FaultSpec{Kind: FaultSlow, Target: "analyser", Delay: 300 * time.Millisecond})
		// A session takes several exchanges; each answer is 300 ms late.
		if _, d, err := uaRead(url, node, 10*time.Second); err != nil || d < time.Second {
			t.Errorf("slow device: %v after %v, want an answer after several delays", err, d)
		}
		clear(t, r, f)
		normal(t)
		if _, d, err := uaRead(url, node, 10*time.Second); err != nil || d > time.Second {
			t.Errorf("after clearing: %v after %v, want a quick answer", err, d)
		}
	})
	t.Run("bad_status", func(t *testing.T) {
		c := uaClient(t, url)
		defer closeClient(c)
		values := uaValues(t, c, "ns=2;s=Pulper.pH")
		waitStatus := func(want ua.StatusCode) {
			t.Helper()
			timeout := time.After(5 * time.Second)
			for {
				select {
				case dv := <-values:
					if dv.Status == want {
						return
					}
				case <-timeout:
					t.Fatalf("no notification with status %v within 5 s", want)
				}
			}
		}
		waitStatus(ua.StatusOK)
		f := inject(t, r, FaultSpec{Kind: FaultBadStatus, Target: "analyser", Status: "BadSensorFailure"})
		dv := readValues(t, c, "ns=2;s=Pulper.pH")[0]
		if dv.Status != ua.StatusBadSensorFailure {
			t.Errorf("read with a bad_status fault: status %v, want BadSensorFailure", dv.Status)
		}
		waitStatus(ua.StatusBadSensorFailure)
		clear(t, r, f)
		waitStatus(ua.StatusOK)

		// One node only, by tag; a number for the status.
		f = inject(t, r, FaultSpec{Kind: FaultBadStatus, Target: "pulper.ph", Status: "0x80050000"})
		dvs := readValues(t, c, "ns=2;s=Pulper.pH", "ns=2;s=Pulper.DS")
		if dvs[0].Status != ua.StatusBadCommunicationError || dvs[1].Status != ua.StatusOK {
			t.Errorf("one-node bad status: pH %v, DS %v; want BadCommunicationError, Good", dvs[0].Status, dvs[1].Status)
		}
		clear(t, r, f)
		if dv := readValues(t, c, "ns=2;s=Pulper.pH")[0]; dv.Status != ua.StatusOK {
			t.Errorf("after clearing: %v", dv.Status)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || err != nil && strings.Contains(err.Error(), "timeout")
}

// readReg reads holding or input registers and decodes them like the
// point at that place.
func readFloat32(t testing.TB, c *modbus.ModbusClient, addr uint16) float64 {
	t.Helper()
	v, err := c.ReadFloat32(addr, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatalf("read input %d: %v", addr, err)
	}
	return float64(v)
}

// TestSensorFaultsOnTheWire shows each sensor fault in what a Modbus client
// reads, and the true reading back once cleared.
func TestSensorFaultsOnTheWire(t *testing.T) {
	t.Parallel()
	r := startRig(t, faultDevices(t), 50)
	io := modbusClient(t, endpoint(t, r, "line_io"))
	if err := io.WriteCoil(3, true); err != nil { // trucks tip: the hopper weight climbs
		t.Fatal(err)
	}
	v42 := 42.0
	tests := []struct {
		spec  FaultSpec
		check func(t *testing.T, wire, truth []float64)
	}{
		{FaultSpec{Kind: FaultSensorStuck, Target: "hopper.weight"}, func(t *testing.T, wire, truth []float64) {
			if wire[0] != wire[len(wire)-1] || truth[len(truth)-1]-truth[0] < 20 {
				t.Errorf("stuck: wire %g..%g while the hopper went %g..%g kg", wire[0], wire[len(wire)-1], truth[0], truth[len(truth)-1])
			}
		}},
		{FaultSpec{Kind: FaultSensorStuck, Target: "hopper.weight", Value: &v42}, func(t *testing.T, wire, _ []float64) {
			if wire[0] != 42 {
				t.Errorf("stuck at 42: wire %g", wire[0])
			}
		}},
		{FaultSpec{Kind: FaultSensorDrift, Target: "hopper.weight", PerMinute: 600}, func(t *testing.T, wire, truth []float64) {
			n := len(wire) - 1
			if d0, d1 := wire[0]-truth[0], wire[n]-truth[n]; d1-d0 < 10 {
				t.Errorf("drift: wire−truth went %g → %g kg, want growing at 10 kg/s", d0, d1)
			}
		}},
		{FaultSpec{Kind: FaultSensorNoise, Target: "hopper.weight", SD: 50}, func(t *testing.T, wire, truth []float64) {
			var ss float64
			for i := range wire {
				ss += (wire[i] - truth[i]) * (wire[i] - truth[i])
			}
			if sd := math.Sqrt(ss / float64(len(wire))); sd < 20 {
				t.Errorf("noise: sd %g kg on the wire, want about 50", sd)
			}
		}},
		{FaultSpec{Kind: FaultSensorOutOfRange, Target: "hopper.weight"}, func(t *testing.T, wire, _ []float64) {
			if wire[0] <= 20000 {
				t.Errorf("out of range: wire %g, want above the point's max 20000", wire[0])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.spec.Kind), func(t *testing.T) {
			f := inject(t, r, tc.spec)
			var wire, truth []float64
			for range 10 {
				time.Sleep(60 * time.Millisecond)
				tv, _ := r.Truth("hopper.weight")
				wire, truth = append(wire, readFloat32(t, io, 0)), append(truth, tv)
			}
			tc.check(t, wire, truth)
			clear(t, r, f)
			w := readFloat32(t, io, 0)
			tv, _ := r.Truth("hopper.weight")
			if math.Abs(w-tv) > 20 { // the hopper fills between the read and the truth
				t.Errorf("after clearing: wire %g kg, truth %g kg", w, tv)
			}
		})
	}
}

// processLine starts a line of the fault devices with the shredder,
// press, mixer and feeder running on a full hopper, commanded over Modbus
// as a controller would.
func processLine(t *testing.T) (*Rig, *modbus.ModbusClient, *modbus.ModbusClient, *modbus.ModbusClient) {
	t.Helper()
	r := startRig(t, faultDevices(t), 50)
	if err := r.SetClass("catering", 1500); err != nil {
		t.Fatal(err)
	}
	shr, press, io := modbusClient(t, endpoint(t, r, "shredder_vfd")), modbusClient(t, endpoint(t, r, "press_vfd")), modbusClient(t, endpoint(t, r, "line_io"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(press.WriteRegisters(0, []uint16{1, 150})) // run at 15 rpm
	must(setConeFor3Bar(t, r, press))
	must(shr.WriteRegisters(0, []uint16{1, 200})) // run at 20 rpm
	must(io.WriteRegister(0, 800))                // feeder 80 %
	must(io.WriteCoils(0, []bool{true, true}))    // feeder, mixer
	if r.FiltratePumpControl() == physics.FiltratePumpCommanded {
		must(io.WriteCoil(servedAt(t, r, physics.RoleFiltratePumpCmd).Register, true))
	}
	if r.PressFeedControl() == physics.PressFeedPump { // the press feed pump flat out: the press draws as it would without one
		must(io.WriteRegister(servedAt(t, r, "press_feed.speed_sp").Register, 1000))
		must(io.WriteCoil(servedAt(t, r, physics.RolePressFeedRunCmd).Register, true))
	}
	waitFor(t, 5*time.Second, "every motor running", func() (bool, string) {
		s, _ := shr.ReadRegister(4, modbus.HOLDING_REGISTER)
		p, _ := press.ReadRegister(4, modbus.HOLDING_REGISTER)
		d, _ := io.ReadDiscreteInputs(0, 2)
		return s == 1 && p == 1 && len(d) == 2 && d[0] && d[1], fmt.Sprintf("shredder %d press %d feeder/mixer %v", s, p, d)
	})
	return r, shr, press, io
}

func holding(t testing.TB, c *modbus.ModbusClient, addr uint16) uint16 {
	t.Helper()
	v, err := c.ReadRegister(addr, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatalf("read holding %d: %v", addr, err)
	}
	return v
}

func discrete(t testing.TB, c *modbus.ModbusClient, addr uint16) bool {
	t.Helper()
	v, err := c.ReadDiscreteInput(addr)
	if err != nil {
		t.Fatalf("read discrete %d: %v", addr, err)
	}
	return v
}

// restart drops a run command and raises it again, as a controller does to
// restart a drive after a trip or e-stop.
func restart(t testing.TB, c *modbus.ModbusClient, addr uint16, coil bool) {
	t.Helper()
	var err error
	if coil {
		err = errors.Join(c.WriteCoil(addr, false), func() error { time.Sleep(50 * time.Millisecond); return c.WriteCoil(addr, true) }())
	} else {
		err = errors.Join(c.WriteRegister(addr, 0), func() error { time.Sleep(50 * time.Millisecond); return c.WriteRegister(addr, 1) }())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestProcessFaultsOnTheWire shows each fault of the plant in what a
// controller reads over Modbus, and normal service once it is cleared.
func TestProcessFaultsOnTheWire(t *testing.T) {
	t.Parallel()
	const jamLimitA = 1.2 * 41 // the highest recipe jam limit, 120 % FLA
	t.Run("jam", func(t *testing.T) {
		t.Parallel()
		r, shr, _, _ := processLine(t)
		f := inject(t, r, FaultSpec{Kind: FaultJam, Reversals: 1})
		waitFor(t, 2*time.Second, "shredder current above 120 % FLA on the wire", func() (bool, string) {
			i := float64(holding(t, shr, 3)) / 10
			return i > jamLimitA, fmt.Sprintf("%g A", i)
		})
		// One reversal over the wire frees it: stop, reverse, forwards.
		if err := shr.WriteRegister(0, 0); err != nil {
			t.Fatal(err)
		}
		if err := shr.WriteRegister(6, 1); err != nil {
			t.Fatal(err)
		}
		if err := shr.WriteRegister(0, 1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "one reversal", func() (bool, string) {
			v, _ := r.Value("shredder.reversals")
			return v >= 1, fmt.Sprintf("%g reversals", v)
		})
		if v, _ := r.Value("shredder.jammed"); v != 0 {
			t.Errorf("still jammed after the reversal that should free it")
		}
		if err := shr.WriteRegister(6, 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "cutting forwards below FLA", func() (bool, string) {
			i := float64(holding(t, shr, 3)) / 10
			th, _ := r.Value("shredder.throughput")
			return i < 41 && th > 0, fmt.Sprintf("%g A, %g kg/s", i, th)
		})
		clear(t, r, f) // nothing left to free
	})
	t.Run("jam_storm", func(t *testing.T) {
		t.Parallel()
		r, shr, _, _ := processLine(t)
		f := inject(t, r, FaultSpec{Kind: FaultJamStorm})
		for n := range 3 {
			waitFor(t, 5*time.Second, fmt.Sprintf("jam %d: current above 120 %% FLA", n+1), func() (bool, string) {
				i := float64(holding(t, shr, 3)) / 10
				return i > jamLimitA, fmt.Sprintf("%g A", i)
			})
			// Reverse until freed, then forwards again: the storm jams it anew.
			for v, _ := r.Value("shredder.jammed"); v == 1; v, _ = r.Value("shredder.jammed") {
				before, _ := r.Value("shredder.reversals")
				if err := errors.Join(shr.WriteRegister(6, 1), shr.WriteRegister(0, 0), shr.WriteRegister(0, 1)); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 5*time.Second, "a reversal", func() (bool, string) {
					v, _ := r.Value("shredder.reversals")
					return v > before, fmt.Sprintf("%g", v)
				})
			}
			if err := errors.Join(shr.WriteRegister(6, 0), shr.WriteRegister(0, 0), shr.WriteRegister(0, 1)); err != nil {
				t.Fatal(err)
			}
		}
		clear(t, r, f)
		time.Sleep(100 * time.Millisecond)
		if err := errors.Join(shr.WriteRegister(6, 0), shr.WriteRegister(0, 0), shr.WriteRegister(0, 1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // 50 s of plant time cutting
		if i := float64(holding(t, shr, 3)) / 10; i > 41 {
			t.Errorf("after the storm cleared: %g A, want normal cutting below FLA", i)
		}
		if v, _ := r.Value("shredder.jammed"); v != 0 {
			t.Errorf("jammed again after the storm cleared")
		}
	})
	t.Run("overload_trip", func(t *testing.T) {
		t.Parallel()
		r, shr, _, _ := processLine(t)
		f := inject(t, r, FaultSpec{Kind: FaultOverloadTrip, Target: "shredder"})
		waitFor(t, 2*time.Second, "fault 1, running 0", func() (bool, string) {
			fault, run := holding(t, shr, 5), holding(t, shr, 4)
			return fault == 1 && run == 0, fmt.Sprintf("fault %d running %d", fault, run)
		})
		clear(t, r, f)
		restart(t, shr, 0, false)
		waitFor(t, 2*time.Second, "fault 0, running 1", func() (bool, string) {
			fault, run := holding(t, shr, 5), holding(t, shr, 4)
			return fault == 0 && run == 1, fmt.Sprintf("fault %d running %d", fault, run)
		})
	})
	t.Run("vfd_fault", func(t *testing.T) {
		t.Parallel()
		r, _, press, _ := processLine(t)
		f := inject(t, r, FaultSpec{Kind: FaultVFDFault, Target: "press"})
		waitFor(t, 2*time.Second, "press fault 1, running 0", func() (bool, string) {
			fault, run := holding(t, press, 5), holding(t, press, 4)
			return fault == 1 && run == 0, fmt.Sprintf("fault %d running %d", fault, run)
		})
		clear(t, r, f)
		restart(t, press, 0, false)
		waitFor(t, 2*time.Second, "press fault 0, running 1", func() (bool, string) {
			fault, run := holding(t, press, 5), holding(t, press, 4)
			return fault == 0 && run == 1, fmt.Sprintf("fault %d running %d", fault, run)
		})
	})
	t.Run("estop", func(t *testing.T) {
		t.Parallel()
		r, shr, press, io := processLine(t)
		f := inject(t, r, FaultSpec{Kind: FaultEStop})
		waitFor(t, 2*time.Second, "estop_ok 0 and every drive stopped", func() (bool, string) {
			ok, s, p, d := discrete(t, io, 2), holding(t, shr, 4), holding(t, press, 4), discrete(t, io, 0)
			return !ok && s == 0 && p == 0 && !d, fmt.Sprintf("estop_ok %v shredder %d press %d feeder %v", ok, s, p, d)
		})
		clear(t, r, f)
		time.Sleep(100 * time.Millisecond)
		if !discrete(t, io, 2) || holding(t, shr, 4) != 0 {
			t.Errorf("after the release: estop_ok %v, shredder running %d; want true, 0 (no restart without a new command)", discrete(t, io, 2), holding(t, shr, 4))
		}
		restart(t, shr, 0, false)
		restart(t, press, 0, false)
		restart(t, io, 0, true)
		waitFor(t, 2*time.Second, "running again after new run commands", func() (bool, string) {
			s, p, d := holding(t, shr, 4), holding(t, press, 4), discrete(t, io, 0)
			return s == 1 && p == 1 && d, fmt.Sprintf("shredder %d press %d feeder %v", s, p, d)
		})
	})
	t.Run("guard_open", func(t *testing.T) {
		t.Parallel()
		r, shr, press, io := processLine(t)
		guard := servedAt(t, r, "shredder.guard_closed").Register
		f := inject(t, r, FaultSpec{Kind: FaultGuardOpen})
		waitFor(t, 2*time.Second, "guard 0, shredder and feeder stopped, press running", func() (bool, string) {
			g, s, p, d := discrete(t, io, guard), holding(t, shr, 4), holding(t, press, 4), discrete(t, io, 0)
			return !g && s == 0 && p == 1 && !d, fmt.Sprintf("guard %v shredder %d press %d feeder %v", g, s, p, d)
		})
		clear(t, r, f)
		restart(t, shr, 0, false)
		restart(t, io, 0, true)
		waitFor(t, 2*time.Second, "guard closed, running again", func() (bool, string) {
			g, s, d := discrete(t, io, guard), holding(t, shr, 4), discrete(t, io, 0)
			return g && s == 1 && d, fmt.Sprintf("guard %v shredder %d feeder %v", g, s, d)
		})
	})
	t.Run("level_hh", func(t *testing.T) {
		t.Parallel()
		r, _, _, io := processLine(t)
		pulperLevel, filtrateLevel := servedAt(t, r, "pulper.level").Register, servedAt(t, r, "filtrate.level").Register
		f := inject(t, r, FaultSpec{Kind: FaultLevelHH})
		waitFor(t, 10*time.Second, "pulper level above 90 % on the wire", func() (bool, string) {
			lvl := readFloat32(t, io, pulperLevel)
			return lvl > 90, fmt.Sprintf("%g %%", lvl)
		})
		if err := io.WriteCoil(2, false); err != nil { // water off: the stuck valve does not care
			t.Fatal(err)
		}
		if fl, _ := io.ReadRegister(4, modbus.INPUT_REGISTER); fl < 1500 {
			t.Errorf("water flow %g kg/s with the valve commanded shut, want the stuck 20 kg/s", float64(fl)/100)
		}
		clear(t, r, f)
		waitFor(t, 5*time.Second, "water flow 0 after clearing", func() (bool, string) {
			fl, err := io.ReadRegister(4, modbus.INPUT_REGISTER)
			return err == nil && fl == 0, fmt.Sprintf("%d (×0.01 kg/s)", fl)
		})
		f = inject(t, r, FaultSpec{Kind: FaultLevelHH, Target: "filtrate"})
		waitFor(t, 20*time.Second, "filtrate tank above 90 % on the wire", func() (bool, string) {
			lvl := readFloat32(t, io, filtrateLevel)
			return lvl > 90, fmt.Sprintf("%g %%", lvl)
		})
		clear(t, r, f)
		if r.FiltratePumpControl() == physics.FiltratePumpCommanded {
			// A commanded pump that failed restarts on a new command.
			restart(t, io, servedAt(t, r, physics.RoleFiltratePumpCmd).Register, true)
		}
		waitFor(t, 20*time.Second, "filtrate tank pumped down", func() (bool, string) {
			lvl := readFloat32(t, io, filtrateLevel)
			return lvl < 30, fmt.Sprintf("%g %%", lvl)
		})
	})
}

func TestInjectRefusals(t *testing.T) {
	t.Parallel()
	r, err := New(Options{Devices: sampleDevices(t), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	v := 5.0
	tests := []struct {
		spec FaultSpec
		want string
	}{
		{FaultSpec{Kind: "earthquake"}, "not known"},
		{FaultSpec{Kind: FaultStopAnswering, Target: "nope"}, "not a simulated device"},
		{FaultSpec{Kind: FaultException, Target: "analyser"}, "OPC UA device"},
		{FaultSpec{Kind: FaultBadStatus, Target: "line_io"}, "Modbus device"},
		{FaultSpec{Kind: FaultBadStatus, Target: "analyser", Status: "Good"}, "is good"},
		{FaultSpec{Kind: FaultBadStatus, Target: "analyser", Status: "BadWhatever"}, "not an OPC UA status"},
		{FaultSpec{Kind: FaultException, Target: "line_io", Code: 7}, "not a Modbus exception"},
		{FaultSpec{Kind: FaultSlow, Target: "line_io", Code: 3}, `fault slow: parameter "code" does not apply; allowed: delay`},
		{FaultSpec{Kind: FaultSensorStuck, Target: "shredder.run_cmd"}, "not a measured"},
		{FaultSpec{Kind: FaultSensorOutOfRange, Target: "pulper.level", Value: &v}, "inside"},
		{FaultSpec{Kind: FaultOverloadTrip, Target: "hopper"}, `target "hopper" has no motor to trip; allowed (this line): shredder, press, feeder, mixer`},
		{FaultSpec{Kind: FaultVFDFault, Target: "feeder"}, "no VFD"},
		{FaultSpec{Kind: FaultEStop, Target: "x"}, "no target"},
		{FaultSpec{Kind: FaultLevelHH, Target: "hopper"}, "allowed: pulper, filtrate"},
		{FaultSpec{Kind: FaultJam, Target: "press"}, `target "press": this fault acts on a shredder; allowed (this line): shredder`},
	}
	for _, tc := range tests {
		if _, err := r.Inject(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Inject(%+v) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
	f := inject(t, r, FaultSpec{Kind: FaultEStop})
	if _, err := r.Inject(FaultSpec{Kind: FaultEStop}); err == nil || !strings.Contains(err.Error(), "already active as "+f.ID) {
		t.Errorf("second e-stop: %v, want already active", err)
	}
	inject(t, r, FaultSpec{Kind: FaultSensorNoise, Target: "pulper.level"})
	if _, err := r.Inject(FaultSpec{Kind: FaultSensorStuck, Target: "pulper.level"}); err == nil {
		t.Errorf("two sensor faults on one reading accepted")
	}
	if n := len(r.ClearAll()); n != 2 {
		t.Errorf("ClearAll cleared %d, want 2", n)
	}
	if _, err := r.Clear("f1"); !errors.Is(err, ErrFaultNotFound) {
		t.Errorf("clearing a cleared fault: %v", err)
	}
}

// TestStopWhileNotAnswering stops a rig while its devices hold requests
// (stop_answering) and delay answers (slow): Stop must release them and
// return promptly.
func TestStopWhileNotAnswering(t *testing.T) {
	t.Parallel()
	r, err := New(Options{Devices: sampleDevices(t), Ephemeral: true, Clock: drivers.NewScaledClock(time.Now(), 20)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	inject(t, r, FaultSpec{Kind: FaultStopAnswering, Target: "line_io"})
	inject(t, r, FaultSpec{Kind: FaultSlow, Target: "press_vfd", Delay: 10 * time.Minute})
	inject(t, r, FaultSpec{Kind: FaultStopAnswering, Target: "analyser"})
	done := make(chan struct{})
	for _, dev := range []string{"line_io", "press_vfd"} {
		go func() { timedRead(endpoint(t, r, dev), 30*time.Second); done <- struct{}{} }()
	}
	go func() { uaRead(endpoint(t, r, "analyser").URL, "ns=2;s=Pulper.DS", 30*time.Second); done <- struct{}{} }()
	time.Sleep(300 * time.Millisecond) // the requests are held
	start := time.Now()
	if err := r.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v with held requests, want it prompt", d)
	}
	for range 3 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a client held by a fault was not released by Stop")
		}
	}
}
