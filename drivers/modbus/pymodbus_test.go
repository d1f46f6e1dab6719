package modbus

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/certtest"
)

// pythonWithPymodbus finds a Python that imports pymodbus: Debian's
// python3-pymodbus installs it for /usr/bin/python3, which may not be the
// python3 first on PATH.
func pythonWithPymodbus(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("pymodbus interop starts a Python server; skipped under -short")
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import pymodbus.server.async_io").Run() == nil {
			return path
		}
	}
	t.Skip("pymodbus is not installed (Debian package python3-pymodbus); skipping the pymodbus interop test")
	return ""
}

// pyServer is a pymodbus server process started by a test.
type pyServer struct {
	t      testing.TB
	python string
	cfg    map[string]any

	mu  sync.Mutex
	cmd *exec.Cmd
}

// pyPoint is a point preset in the pymodbus server, encoded there.
type pyPoint struct {
	Table   drivers.Table     `json:"table"`
	Address uint16            `json:"address"`
	Type    drivers.DataType  `json:"type,omitempty"`
	Order   drivers.WordOrder `json:"order,omitempty"`
	Value   float64           `json:"value"`
	Text    string            `json:"text,omitempty"`
	Length  int               `json:"length,omitempty"`
}

func startPyServer(t testing.TB, python string, cfg map[string]any) *pyServer {
	t.Helper()
	s := &pyServer{t: t, python: python, cfg: cfg}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start runs the server and waits for READY.
func (s *pyServer) start() {
	s.t.Helper()
	arg, _ := json.Marshal(s.cfg)
	cmd := exec.Command(s.python, "testdata/pymodbus_server.py", string(arg))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		s.t.Fatalf("pymodbus server not ready within 20s:\n%s", stderr.String())
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
}

// kill ends the process with SIGKILL, by its PID, as a crash does.
func (s *pyServer) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
}

// freeLoopbackPort asks the OS for a free port; pymodbus 3.0 cannot report
// the port it bound to, so the port is chosen here and handed over.
func freeLoopbackPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// interopPoints is a map of every numeric type and order plus bits, coils,
// a discrete input and a string, with the values pymodbus presets.
func interopPoints() ([]pyPoint, []drivers.PointConfig) {
	var py []pyPoint
	var pts []drivers.PointConfig
	addr := uint16(0)
	values := map[drivers.DataType]float64{
		drivers.TypeInt16: -1234, drivers.TypeUint16: 54321, drivers.TypeInt32: -70000, drivers.TypeUint32: 4000000000,
		drivers.TypeInt64: -1234567890123, drivers.TypeUint64: 9007199254740993 - 1, drivers.TypeFloat32: 1500.5, drivers.TypeFloat64: -0.1,
	}
	for _, typ := range []drivers.DataType{drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32,
		drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32, drivers.TypeFloat64} {
		for _, order := range allOrders {
			tag := string(typ) + "." + string(order)
			p := drivers.PointConfig{Tag: tag, Table: drivers.TableHolding, Address: addr, Type: typ, Order: order, Access: drivers.AccessReadWrite}
			pts = append(pts, p)
			py = append(py, pyPoint{Table: drivers.TableHolding, Address: addr, Type: typ, Order: order, Value: values[typ]})
			addr += uint16(p.Registers())
		}
	}
	bit := func(b uint8) *uint8 { return &b }
	py = append(py,
		pyPoint{Table: drivers.TableInput, Address: 0, Type: drivers.TypeUint16, Value: 0b1000_0000_0000_0101},
		pyPoint{Table: drivers.TableInput, Address: 1, Type: drivers.TypeString, Text: "pymodbus", Length: 8},
		pyPoint{Table: drivers.TableCoil, Address: 3, Value: 1},
		pyPoint{Table: drivers.TableDiscrete, Address: 4, Value: 1},
	)
	pts = append(pts,
		drivers.PointConfig{Tag: "bit0", Table: drivers.TableInput, Address: 0, Type: drivers.TypeBool, Bit: bit(0)},
		drivers.PointConfig{Tag: "bit1", Table: drivers.TableInput, Address: 0, Type: drivers.TypeBool, Bit: bit(1)},
		drivers.PointConfig{Tag: "bit15", Table: drivers.TableInput, Address: 0, Type: drivers.TypeBool, Bit: bit(15)},
		drivers.PointConfig{Tag: "name", Table: drivers.TableInput, Address: 1, Type: drivers.TypeString, Length: 8},
		drivers.PointConfig{Tag: "coil", Table: drivers.TableCoil, Address: 3, Access: drivers.AccessReadWrite},
		drivers.PointConfig{Tag: "di", Table: drivers.TableDiscrete, Address: 4},
	)
	return py, pts
}

// checkInterop polls the preset values and writes through a few points.
func checkInterop(t *testing.T, cfg drivers.DeviceConfig, py []pyPoint) {
	t.Helper()
	results := make(chan drivers.WriteResult, 8)
	d, err := New(cfg, Options{Results: results, Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	if !waitUntil(10*time.Second, func() bool { return sink.all(drivers.QualityGood, "di") }) {
		s, _ := sink.get("di")
		t.Fatalf("no good poll within 10s: %s (%s)", s.Quality, s.Reason)
	}
	for _, p := range py {
		for _, pc := range cfg.Points {
			if pc.Table != p.Table || pc.Address != p.Address || pc.Type != p.Type || pc.Order != p.Order || p.Type == drivers.TypeString || p.Table != drivers.TableHolding {
				continue
			}
			s, _ := sink.get(pc.Tag)
			if s.Quality != drivers.QualityGood || s.Value != p.Value {
				t.Errorf("%s = %v %s (%s), want %v", pc.Tag, s.Value, s.Quality, s.Reason, p.Value)
			}
		}
	}
	for tag, want := range map[string]float64{"bit0": 1, "bit1": 0, "bit15": 1, "coil": 1, "di": 1} {
		if s, _ := sink.get(tag); s.Quality != drivers.QualityGood || s.Value != want {
			t.Errorf("%s = %v %s (%s), want %v", tag, s.Value, s.Quality, s.Reason, want)
		}
	}
	if s, _ := sink.get("name"); s.Text != "pymodbus" {
		t.Errorf("name = %q (%s), want pymodbus", s.Text, s.Reason)
	}
	for _, w := range []struct {
		tag string
		v   float64
	}{{"int16.BADC", -321}, {"float32.CDAB", 2.75}, {"float64.DCBA", 1e-3}, {"uint64.ABCD", 123456789}, {"coil", 0}} {
		if err := d.Write(w.tag, w.v); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-results:
			if r.Err != nil {
				t.Errorf("write %s = %g: %v", w.tag, w.v, r.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no result for write %s", w.tag)
		}
		waitFor(t, 2*time.Second, "written value polled: "+w.tag, func() bool {
			s, _ := sink.get(w.tag)
			return s.Quality == drivers.QualityGood && math.Abs(s.Value-w.v) < 1e-12
		})
	}
}

// waitUntil polls cond until it holds (true) or budget is spent (false).
func waitUntil(budget time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(budget)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// TestPymodbusInterop reads and writes every type and order against
// pymodbus, an independent implementation, over Modbus TCP, RTU over TCP
// and Modbus/TCP Security (TLS with a client certificate).
func TestPymodbusInterop(t *testing.T) {
	python := pythonWithPymodbus(t)
	py, pts := interopPoints()
	dir := t.TempDir()
	ca := certtest.NewCA(t, dir, "ca")
	server := ca.Issue(t, dir, certtest.Spec{Name: "pymodbus", Hosts: []string{"127.0.0.1"}})
	client := ca.Issue(t, dir, certtest.Spec{Name: "controller"})
	for _, tc := range []struct {
		transport drivers.ModbusTransport
		tls       *drivers.TLSFiles
	}{
		{drivers.TransportTCP, nil},
		{drivers.TransportRTUOverTCP, nil},
		{drivers.TransportTLS, &drivers.TLSFiles{Cert: client.CertFile, Key: client.KeyFile, CA: ca.CertFile}},
	} {
		t.Run(string(tc.transport), func(t *testing.T) {
			t.Parallel()
			port := freeLoopbackPort(t)
			startPyServer(t, python, map[string]any{"transport": tc.transport, "port": port, "units": []int{1, 3}, "points": py,
				"tls": map[string]string{"cert": server.CertFile, "key": server.KeyFile, "ca": ca.CertFile}})
			cfg := drivers.DeviceConfig{Name: "py", Protocol: drivers.ProtocolModbusTCP, Transport: tc.transport, TLS: tc.tls,
				Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), UnitID: 3, PollInterval: 50 * time.Millisecond,
				Timeout: time.Second, Points: pts}
			checkInterop(t, cfg, py)
		})
	}
}

// TestPymodbusKilledMidPoll kills the pymodbus server process (SIGKILL)
// while it is being polled: the points turn bad:comm_failure within one
// timeout plus one poll interval and come back once a new process serves
// the port.
func TestPymodbusKilledMidPoll(t *testing.T) {
	python := pythonWithPymodbus(t)
	py, pts := interopPoints()
	port := freeLoopbackPort(t)
	srv := startPyServer(t, python, map[string]any{"transport": "tcp", "port": port, "units": []int{1}, "points": py})
	cfg := drivers.DeviceConfig{Name: "py", Protocol: drivers.ProtocolModbusTCP, Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		UnitID: 1, PollInterval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond, Points: pts}
	d, err := New(cfg, Options{Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newTestSink()
	startDevice(t, d, sink)
	waitFor(t, 10*time.Second, "good", func() bool { return sink.all(drivers.QualityGood, "di", "int16.ABCD") })
	srv.kill()
	bound := cfg.TimeoutOrDefault() + cfg.PollIntervalOrDefault()
	took := waitFor(t, bound+500*time.Millisecond, "bad after the kill", func() bool { return sink.all(drivers.QualityBadCommFailure, "di", "int16.ABCD") })
	s, _ := sink.get("di")
	t.Logf("bad:comm_failure %v after SIGKILL (bound %v): %s", took.Round(time.Millisecond), bound, s.Reason)
	srv.start()
	back := waitFor(t, 10*time.Second, "good after the restart", func() bool { return sink.all(drivers.QualityGood, "di", "int16.ABCD") })
	t.Logf("good again %v after the new process served", back.Round(time.Millisecond))
}

// TestSerialRTU runs Modbus RTU over a pseudo-terminal pair made by socat:
// pymodbus serves one end as a serial RTU device, the driver opens the
// other as its serial port (19200 baud, 8N1). What a pty cannot show: baud
// rate and stop bits are accepted but not enforced, parity cannot even be
// set on this machine's ptys (tcsetattr answers EINVAL for even parity),
// and line noise or inter-character timing never happen; those need a real
// port and device.
func TestSerialRTU(t *testing.T) {
	python := pythonWithPymodbus(t)
	if exec.Command(python, "-c", "import serial_asyncio").Run() != nil {
		t.Skip("pyserial-asyncio is not installed (Debian package python3-serial-asyncio); skipping the serial RTU test")
	}
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat is not installed (Debian package socat); skipping the serial RTU test")
	}
	dir := t.TempDir()
	devA, devB := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, socat, "pty,raw,echo=0,link="+devA, "pty,raw,echo=0,link="+devB)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	waitFor(t, 5*time.Second, "socat's ptys", func() bool {
		_, errA := os.Stat(devA)
		_, errB := os.Stat(devB)
		return errA == nil && errB == nil
	})
	py, pts := interopPoints()
	startPyServer(t, python, map[string]any{"transport": "rtu", "port": devA, "units": []int{5}, "points": py, "baud": 19200, "parity": "N", "stop_bits": 1})
	cfg := drivers.DeviceConfig{Name: "serial", Protocol: drivers.ProtocolModbusTCP, Transport: drivers.TransportRTU, Address: devB,
		Serial: &drivers.SerialConfig{Baud: 19200, Parity: drivers.ParityNone, StopBits: 1}, UnitID: 5, PollInterval: 100 * time.Millisecond,
		Timeout: time.Second, MaxReadRegisters: 60, Points: pts}
	checkInterop(t, cfg, py)
}
