package modbus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/certtest"
	"github.com/pretreat/pretreat/testrig"
)

// rigPoints maps one settable role of the test rig (feeder.speed_sp, 0 to
// 100 %) at every numeric type × byte/word order, so that a write through
// any of them must read back through all of them; then bits of a register,
// coils and a string.
func rigPoints() []drivers.PointConfig {
	var pts []drivers.PointConfig
	addr := uint16(0)
	for _, typ := range []drivers.DataType{drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32,
		drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64} {
		for _, order := range allOrders {
			p := drivers.PointConfig{Tag: fmt.Sprintf("sp.%s.%s", typ, order), Role: "feeder.speed_sp", Table: drivers.TableHolding,
				Address: addr, Type: typ, Order: order, Access: drivers.AccessReadWrite, Unit: "%"}
			if typ == drivers.TypeInt16 || typ == drivers.TypeUint16 {
				p.Scale = 0.1 // tenths of a percent, as drives scale setpoints
			}
			pts = append(pts, p)
			addr += uint16(p.Registers())
		}
	}
	bit := func(b uint8) *uint8 { return &b }
	pts = append(pts,
		// Three commands packed in one holding register, one in a
		// byte-swapped one.
		drivers.PointConfig{Tag: "door.bit", Role: "reception.door_cmd", Table: drivers.TableHolding, Address: 200, Type: drivers.TypeBool, Bit: bit(3), Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "mixer.bit", Role: "pulper.mixer_cmd", Table: drivers.TableHolding, Address: 200, Type: drivers.TypeBool, Bit: bit(9), Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "estop.bit", Role: "line.estop_ok", Table: drivers.TableHolding, Address: 200, Type: drivers.TypeBool, Bit: bit(15)},
		drivers.PointConfig{Tag: "water.bit", Role: "pulper.water_cmd", Table: drivers.TableHolding, Address: 201, Type: drivers.TypeBool, Bit: bit(2), Order: drivers.WordOrderBADC, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "feeder.coil", Role: "feeder.run_cmd", Table: drivers.TableCoil, Address: 10, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "estop.di", Role: "line.estop_ok", Table: drivers.TableDiscrete, Address: 0},
		drivers.PointConfig{Tag: "model", Role: "ACME VFD-200 v1.2", Table: drivers.TableInput, Address: 50, Type: drivers.TypeString, Length: 18},
		drivers.PointConfig{Tag: "model.badc", Role: "fw 7", Table: drivers.TableInput, Address: 60, Type: drivers.TypeString, Length: 5, Order: drivers.WordOrderBADC},
		drivers.PointConfig{Tag: "time", Role: "line.time_s", Table: drivers.TableInput, Address: 70, Type: drivers.TypeUint64, Order: drivers.WordOrderDCBA, Unit: "s"},
	)
	return pts
}

// startRigDevices starts the rig serving devs on loopback ports, points devs
// at them and returns the rig.
func startRigDevices(t testing.TB, devs []drivers.DeviceConfig, modbusTLS *testrig.ModbusTLS) *testrig.Rig {
	t.Helper()
	r, err := testrig.New(testrig.Options{Devices: devs, Ephemeral: true, Seed: 1, ModbusTLS: modbusTLS,
		Clock: drivers.NewScaledClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	for _, ep := range r.Endpoints() {
		for i := range devs {
			if devs[i].Name == ep.Device {
				devs[i].Address = ep.Address
			}
		}
	}
	return r
}

// rigRoundTrip writes through every setpoint point in turn and checks the
// rig's model and every other encoding of the same role, then the bits,
// the coil and the strings.
func rigRoundTrip(t *testing.T, r *testrig.Rig, d *Device, sink *testSink, results chan drivers.WriteResult) {
	t.Helper()
	result := func() drivers.WriteResult {
		t.Helper()
		select {
		case res := <-results:
			return res
		case <-time.After(5 * time.Second):
			t.Fatal("no write result within 5s")
			return drivers.WriteResult{}
		}
	}
	var setpoints []string
	for _, p := range d.cfg.Points {
		if p.Role == "feeder.speed_sp" {
			setpoints = append(setpoints, p.Tag)
		}
	}
	for k, tag := range setpoints {
		want := 10 + float64(k) + 0.5 // every type holds it: x.5 at scale 0.1 or as a float
		if i := d.byTag[tag]; d.cfg.Points[i].Scale == 0 && d.cfg.Points[i].Type != drivers.TypeFloat32 && d.cfg.Points[i].Type != drivers.TypeFloat64 {
			want = 10 + float64(k) // integers without scale
		}
		if err := d.Write(tag, want); err != nil {
			t.Fatal(err)
		}
		if res := result(); res.Err != nil {
			t.Fatalf("write %s = %g: %v", tag, want, res.Err)
		}
		if got, _ := r.Value("feeder.speed_sp"); got != want {
			t.Errorf("write %s = %g: the rig holds %g", tag, want, got)
		}
		waitFor(t, 3*time.Second, "every encoding polled back: "+tag, func() bool {
			for _, other := range setpoints {
				s, _ := sink.get(other)
				p := d.cfg.Points[d.byTag[other]]
				exp := want
				if p.Scale == 0 && p.Type != drivers.TypeFloat32 && p.Type != drivers.TypeFloat64 {
					exp = math.Round(want) // an integer register holds the rounded value
				}
				if s.Quality != drivers.QualityGood || math.Abs(s.Value-exp) > 1e-9 {
					return false
				}
			}
			return true
		})
	}
	// Bits: set, clear, and a byte-swapped register.
	for _, w := range []struct {
		tag, role string
		v         float64
	}{{"door.bit", "reception.door_cmd", 1}, {"mixer.bit", "pulper.mixer_cmd", 1}, {"door.bit", "reception.door_cmd", 0}, {"water.bit", "pulper.water_cmd", 1}, {"feeder.coil", "feeder.run_cmd", 1}} {
		if err := d.Write(w.tag, w.v); err != nil {
			t.Fatal(err)
		}
		if res := result(); res.Err != nil {
			t.Fatalf("write %s = %g: %v", w.tag, w.v, res.Err)
		}
		if got, _ := r.Value(w.role); got != w.v {
			t.Errorf("write %s = %g: the rig's %s is %g", w.tag, w.v, w.role, got)
		}
	}
	waitFor(t, 3*time.Second, "bits, coil, strings and the clock polled", func() bool {
		want := map[string]float64{"door.bit": 0, "mixer.bit": 1, "estop.bit": 1, "water.bit": 1, "feeder.coil": 1, "estop.di": 1}
		for tag, v := range want {
			if s, _ := sink.get(tag); s.Quality != drivers.QualityGood || s.Value != v {
				return false
			}
		}
		m, _ := sink.get("model")
		fw, _ := sink.get("model.badc")
		tm, _ := sink.get("time")
		return m.Text == "ACME VFD-200 v1.2" && fw.Text == "fw 7" && tm.Quality == drivers.QualityGood && tm.Value >= 0
	})
}

// TestRigLoopbackTCP polls and writes every type, order, bit and string
// against the test rig over Modbus TCP, with a second unit id behind the
// same address sharing the connection and writing with FC15/FC16.
func TestRigLoopbackTCP(t *testing.T) {
	devs := []drivers.DeviceConfig{
		{Name: "vfd", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
			PollInterval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond, Points: rigPoints()},
		{Name: "io", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 2, Simulated: true,
			PollInterval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond, WriteFunction: drivers.WriteMultiple,
			Points: []drivers.PointConfig{
				{Tag: "press.sp", Role: "press.speed_sp", Table: drivers.TableHolding, Address: 0, Type: drivers.TypeUint16, Scale: 0.1, Access: drivers.AccessReadWrite},
				{Tag: "door", Role: "reception.door_cmd", Table: drivers.TableCoil, Address: 0, Access: drivers.AccessReadWrite},
			}},
	}
	r := startRigDevices(t, devs, nil)
	pool := NewPool()
	results := make(chan drivers.WriteResult, 8)
	d, err := New(devs[0], Options{Results: results, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	ioResults := make(chan drivers.WriteResult, 8)
	io, err := New(devs[1], Options{Results: ioResults, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	sink, ioSink := newTestSink(), newTestSink()
	startDevice(t, d, sink)
	startDevice(t, io, ioSink)
	waitFor(t, 5*time.Second, "both units polled", func() bool {
		return sink.all(drivers.QualityGood, "estop.di") && ioSink.all(drivers.QualityGood, "door")
	})
	pool.mu.Lock()
	links := len(pool.links)
	pool.mu.Unlock()
	if links != 1 {
		t.Errorf("%d connections for two unit ids at one address, want 1", links)
	}
	rigRoundTrip(t, r, d, sink, results)

	// The second unit writes with FC16 and FC15 on the shared connection.
	for _, w := range []struct {
		tag, role string
		v         float64
	}{{"press.sp", "press.speed_sp", 12.3}, {"door", "reception.door_cmd", 1}} {
		if err := io.Write(w.tag, w.v); err != nil {
			t.Fatal(err)
		}
		select {
		case res := <-ioResults:
			if res.Err != nil {
				t.Fatalf("write %s: %v", w.tag, res.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no write result")
		}
		if got, _ := r.Value(w.role); math.Abs(got-w.v) > 1e-9 {
			t.Errorf("%s = %g after writing %g", w.role, got, w.v)
		}
	}
}

// tlsMaterial makes a CA, the rig's server certificate and a client
// certificate, and a second CA that the rig does not trust.
func tlsMaterial(t *testing.T) (rigTLS *testrig.ModbusTLS, client *drivers.TLSFiles, stranger *drivers.TLSFiles) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, dir, "plant-ca")
	server := ca.Issue(t, dir, certtest.Spec{Name: "rig", Hosts: []string{"127.0.0.1", "localhost"}})
	cl := ca.Issue(t, dir, certtest.Spec{Name: "controller"})
	other := certtest.NewCA(t, dir, "other-ca")
	intruder := other.Issue(t, dir, certtest.Spec{Name: "intruder"})
	pair, err := tls.LoadX509KeyPair(server.CertFile, server.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(ca.CertFile)
	pool.AppendCertsFromPEM(pem)
	return &testrig.ModbusTLS{Certificate: &pair, ClientCAs: pool},
		&drivers.TLSFiles{Cert: cl.CertFile, Key: cl.KeyFile, CA: ca.CertFile},
		&drivers.TLSFiles{Cert: intruder.CertFile, Key: intruder.KeyFile, CA: ca.CertFile}
}

// TestRigLoopbackTLS runs the same round trip over Modbus/TCP Security with
// client certificates; a client whose certificate the rig does not trust
// gets no data.
func TestRigLoopbackTLS(t *testing.T) {
	rigTLS, client, stranger := tlsMaterial(t)
	devs := []drivers.DeviceConfig{{Name: "vfd", Protocol: drivers.ProtocolModbusTCP, Transport: drivers.TransportTLS, TLS: client,
		Address: "127.0.0.1:1802", UnitID: 1, Simulated: true, PollInterval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond,
		Points: rigPoints()}}
	r := startRigDevices(t, devs, rigTLS)
	results := make(chan drivers.WriteResult, 8)
	d, err := New(devs[0], Options{Results: results, Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 5*time.Second, "polled over TLS", func() bool { return sink.all(drivers.QualityGood, "estop.di") })
	rigRoundTrip(t, r, d, sink, results)

	bad := devs[0]
	bad.Name, bad.TLS = "intruder", stranger
	bd, err := New(bad, Options{Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	badSink := newTestSink()
	startDevice(t, bd, badSink)
	waitFor(t, 5*time.Second, "an untrusted client certificate refused", func() bool {
		return badSink.all(drivers.QualityBadCommFailure, "estop.di")
	})
	s, _ := badSink.get("estop.di")
	t.Logf("untrusted client: %s", s.Reason)
}
