package testrig

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

const integratorPlant = "testdata/integrator-plant.yaml"

// integratorDevices reads the devices of the integrator-style plant file:
// its own tag names bound to the rig's model by role, other addresses,
// every word and byte order, two unit ids behind one gateway, bits in a
// status word, scaled integers, a string, and an OPC UA server with
// numeric and string node ids in namespaces 1 and 3.
func integratorDevices(t testing.TB) []drivers.DeviceConfig {
	t.Helper()
	b, err := os.ReadFile(integratorPlant)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Devices []drivers.DeviceConfig `yaml:"devices"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", integratorPlant, err)
	}
	return p.Devices
}

// wordsBE returns the value's bytes ABCD… as the wire order places them:
// an independent reading of the orders, for checking the rig (ABCD as is;
// CDAB words reversed; BADC bytes of each word swapped; DCBA both).
func wordsToBytes(order string, words []uint16) []byte {
	n := len(words)
	out := make([]byte, 0, 2*n)
	for i := range n {
		w := words[i]
		if order == "CDAB" || order == "DCBA" {
			w = words[n-1-i]
		}
		hi, lo := byte(w>>8), byte(w)
		if order == "BADC" || order == "DCBA" {
			hi, lo = lo, hi
		}
		out = append(out, hi, lo)
	}
	return out
}

var mbpollValue = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(\S+)\s*$`)

// mbpoll runs mbpoll once against ep (unit id from ep) and returns the
// values it printed, in order. Arguments after "--" are values to write
// (mbpoll takes them after the host).
func mbpoll(t *testing.T, path string, ep Endpoint, args ...string) []string {
	t.Helper()
	host, port, _ := strings.Cut(ep.Address, ":")
	var write []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, write = args[:i], args[i+1:]
	}
	full := append([]string{"-m", "tcp", "-a", strconv.Itoa(int(ep.UnitID)), "-0", "-1", "-o", "2", "-p", port}, args...)
	full = append(full, host)
	full = append(full, write...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	var vals []string
	for _, m := range mbpollValue.FindAllSubmatch(out, -1) {
		vals = append(vals, string(m[2]))
	}
	return vals
}

func hexWords(t *testing.T, vals []string) []uint16 {
	t.Helper()
	var ws []uint16
	for _, v := range vals {
		n, err := strconv.ParseUint(v, 0, 16)
		if err != nil {
			t.Fatalf("mbpoll hex value %q: %v", v, err)
		}
		ws = append(ws, uint16(n))
	}
	return ws
}

// integratorRig starts the rig on the integrator's map and runs the
// shredder and press over Modbus, so that values move.
func integratorRig(t *testing.T) *Rig {
	t.Helper()
	r := startRig(t, integratorDevices(t), 20)
	shr, prs, io := modbusClient(t, endpoint(t, r, "SHR-VFD")), modbusClient(t, endpoint(t, r, "PRS-VFD")), modbusClient(t, endpoint(t, r, "IO-RACK"))
	shr.SetEncoding(modbus.LITTLE_ENDIAN, modbus.HIGH_WORD_FIRST) // BADC
	prs.SetEncoding(modbus.BIG_ENDIAN, modbus.LOW_WORD_FIRST)     // CDAB
	for _, err := range []error{
		shr.WriteFloat32(102, 20), shr.WriteRegister(100, 1),
		prs.WriteUint32(0, 15000), prs.WriteCoil(10, true),
		io.WriteCoil(1001, true), io.WriteCoil(1002, true),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "shredder at speed, energy counting, 100 kg in the hopper", func() (bool, string) {
		s, e, h := value(t, r, "shredder.speed"), value(t, r, "shredder.energy"), value(t, r, "hopper.mass")
		return s == 20 && e > 0.001 && h > 100, fmt.Sprintf("%g rpm, %g kWh, %g kg", s, e, h)
	})
	if err := io.WriteCoil(1001, false); err != nil { // door shut: the weight settles
		t.Fatal(err)
	}
	return r
}

// TestMbpollIntegratorMap reads the integrator-style map with mbpoll (an
// independent Modbus client, Debian package mbpoll) the way the map
// documents it, decodes the raw words independently of the rig's codec,
// and checks each against the model; and writes through it.
func TestMbpollIntegratorMap(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("mbpoll")
	if err != nil {
		t.Skip("mbpoll not installed (Debian package mbpoll); skipping the independent Modbus client test")
	}
	r := integratorRig(t)
	shr, prs, io := endpoint(t, r, "SHR-VFD"), endpoint(t, r, "PRS-VFD"), endpoint(t, r, "IO-RACK")
	if shr.Address != prs.Address || shr.UnitID != 17 || prs.UnitID != 42 || io.UnitID != 3 {
		t.Fatalf("endpoints %+v %+v %+v: want units 17 and 42 behind one gateway, 3 on its own", shr, prs, io)
	}
	f32 := func(order string) func(t *testing.T, v []string) float64 {
		return func(t *testing.T, v []string) float64 {
			return float64(math.Float32frombits(binary.BigEndian.Uint32(wordsToBytes(order, hexWords(t, v)))))
		}
	}
	num := func(scale, offset float64) func(t *testing.T, v []string) float64 {
		return func(t *testing.T, v []string) float64 {
			x, err := strconv.ParseFloat(v[0], 64)
			if err != nil {
				t.Fatal(err)
			}
			return x*scale + offset
		}
	}
	tests := []struct {
		name   string
		ep     Endpoint
		args   []string
		decode func(t *testing.T, v []string) float64
		role   string
		slack  float64
	}{
		{"SHR_SPEED_SP holding 102 float32 BADC", shr, []string{"-t", "4:hex", "-r", "102", "-c", "2"}, f32("BADC"), "shredder.speed_sp", 0},
		{"SHR_SPEED holding 110 float32 DCBA", shr, []string{"-t", "4:hex", "-r", "110", "-c", "2"}, f32("DCBA"), "shredder.speed", 0},
		{"SHR_I input 200 int16 ×0.01", shr, []string{"-t", "3", "-r", "200"}, func(t *testing.T, v []string) float64 {
			n, _ := strconv.ParseInt(v[0], 10, 32)
			return float64(int16(n)) * 0.01
		}, "shredder.current", 0.5},
		{"SHR_KWH input 202 float64 CDAB", shr, []string{"-t", "3:hex", "-r", "202", "-c", "4"}, func(t *testing.T, v []string) float64 {
			return math.Float64frombits(binary.BigEndian.Uint64(wordsToBytes("CDAB", hexWords(t, v))))
		}, "shredder.energy", 0.01},
		{"SHR_RUNNING input 201 bit 0", shr, []string{"-t", "3:hex", "-r", "201"}, func(t *testing.T, v []string) float64 { return float64(hexWords(t, v)[0] & 1) }, "shredder.running", 0},
		{"SHR_GUARD input 201 bit 7", shr, []string{"-t", "3:hex", "-r", "201"}, func(t *testing.T, v []string) float64 { return float64(hexWords(t, v)[0] >> 7 & 1) }, "shredder.guard_closed", 0},
		{"SHR_FLT input 201 bit 3", shr, []string{"-t", "3:hex", "-r", "201"}, func(t *testing.T, v []string) float64 { return float64(hexWords(t, v)[0] >> 3 & 1) }, "shredder.fault", 0},
		{"PRS_SPEED_SP holding 0 uint32 CDAB ×0.001 (mbpoll's word order)", prs, []string{"-t", "4:int", "-r", "0"}, num(0.001, 0), "press.speed_sp", 1e-9},
		{"PRS_I input 0 uint32 CDAB ×0.001", prs, []string{"-t", "3:int", "-r", "0"}, num(0.001, 0), "press.current", 0.5},
		{"PRS_RUNNING discrete 5", prs, []string{"-t", "1", "-r", "5"}, num(1, 0), "press.running", 0},
		{"ESTOP_OK discrete 2000", io, []string{"-t", "1", "-r", "2000"}, num(1, 0), "line.estop_ok", 0},
		{"MIX_RUN coil 1002", io, []string{"-t", "0", "-r", "1002"}, num(1, 0), "pulper.mixer_cmd", 0},
		{"HOPPER_KG input 3000 float32 ABCD offset −2.5", io, []string{"-t", "3:float", "-B", "-r", "3000"}, num(1, -2.5), "hopper.weight", 1.5},
		{"WATER_KG input 3002 float32 CDAB", io, []string{"-t", "3:float", "-r", "3002"}, num(1, 0), "pulper.water_total", 0.01},
		{"CAKE_KG input 3004 float32 DCBA", io, []string{"-t", "3:hex", "-r", "3004", "-c", "2"}, f32("DCBA"), "cake_bin.weight", 1.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.decode(t, mbpoll(t, path, tc.ep, tc.args...))
			want := value(t, r, tc.role)
			if math.Abs(got-want) > tc.slack+1e-6*math.Abs(want) {
				t.Errorf("mbpoll read %g, the model has %g (slack %g)", got, want, tc.slack)
			}
		})
	}
	t.Run("SHR_MODEL holding 300 string of 10", func(t *testing.T) {
		b := wordsToBytes("ABCD", hexWords(t, mbpoll(t, path, shr, "-t", "4:hex", "-r", "300", "-c", "5")))
		if got := strings.TrimRight(string(b), "\x00"); got != "ACS580-01" {
			t.Errorf("model string %q, want ACS580-01", got)
		}
	})
	t.Run("write PRS_BP_SP holding 2 int32 ABCD ×0.001", func(t *testing.T) {
		mbpoll(t, path, prs, "-t", "4:int", "-B", "-r", "2", "--", "3500")
		if got := value(t, r, "press.back_pressure_sp"); got != 3.5 {
			t.Errorf("press.back_pressure_sp = %g after mbpoll wrote 3500 (×0.001), want 3.5", got)
		}
	})
	t.Run("write FDR_RUN coil 1000", func(t *testing.T) {
		mbpoll(t, path, io, "-t", "0", "-r", "1000", "--", "1")
		if got := value(t, r, "feeder.run_cmd"); got != 1 {
			t.Errorf("feeder.run_cmd = %g after mbpoll wrote the coil, want 1", got)
		}
	})
}

// nodeModules is where scripts/test.sh installs node-opcua (the drivers'
// interop tests share it); PRETREAT_NODE_OPCUA overrides it.
func nodeModules() string {
	if d := os.Getenv("PRETREAT_NODE_OPCUA"); d != "" {
		return filepath.Join(d, "node_modules")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "pretreat", "node-opcua", "node_modules")
}

// nodeClientResult is what testdata/node-opcua-client.js prints.
type nodeClientResult struct {
	Browse []struct {
		NodeID     string `json:"nodeId"`
		BrowseName string `json:"browseName"`
		NodeClass  string `json:"nodeClass"`
		Parent     string `json:"parent"`
	} `json:"browse"`
	Read []struct {
		NodeID string   `json:"nodeId"`
		Value  *float64 `json:"value"`
		Status string   `json:"status"`
	} `json:"read"`
	Notifications []float64 `json:"notifications"`
	Write         string    `json:"write"`
}

// TestNodeOPCUAClientIntegratorMap has node-opcua's client (npm
// node-opcua-client, an independent OPC UA stack) browse the integrator's
// OPC UA server from the Objects folder, read its nodes, write one and
// subscribe to one.
func TestNodeOPCUAClientIntegratorMap(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("node-opcua interop takes seconds; skipped under -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node (Node.js) is not installed; skipping the node-opcua client interop test")
	}
	modules := nodeModules()
	if _, err := os.Stat(filepath.Join(modules, "node-opcua-client")); err != nil {
		t.Skipf("node-opcua-client is not installed in %s (scripts/test.sh installs it with npm); skipping the node-opcua client interop test", modules)
	}
	r := integratorRig(t)
	cfg, _ := json.Marshal(map[string]any{
		"pkiDir":      t.TempDir(),
		"url":         endpoint(t, r, "LAB").URL,
		"read":        []string{"ns=3;i=5001", "ns=3;s=PULPER/LVL", "ns=1;i=42", "ns=3;i=5100"},
		"write":       map[string]any{"nodeId": "ns=3;i=5100", "value": 2.75},
		"subscribe":   "ns=3;s=PULPER/LVL",
		"subscribeMs": 2500,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/node-opcua-client.js", string(cfg))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	// The level rises while the client subscribes: a full hopper, the
	// feeder at full speed, the press stopped.
	if err := r.SetClass("catering", 3000); err != nil {
		t.Fatal(err)
	}
	io, prs := modbusClient(t, endpoint(t, r, "IO-RACK")), modbusClient(t, endpoint(t, r, "PRS-VFD"))
	for _, err := range []error{io.WriteRegister(1000, 1000), io.WriteCoil(1000, true), prs.WriteCoil(10, false)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node-opcua client: %v\n%s", err, stderr.String())
	}
	// node-opcua may print warnings first; the result is the last line.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res nodeClientResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("node-opcua client output %q: %v", out, err)
	}

	// Browse: the device folder under Objects, organizing every node of
	// the plant file under its browse name.
	found := map[string]string{}
	folder := ""
	for _, b := range res.Browse {
		if b.Parent == "ns=0;i=85" && b.BrowseName == "LAB" {
			folder = b.NodeID
		}
		found[b.NodeID] = b.BrowseName + " " + b.NodeClass + " in " + b.Parent
	}
	if folder == "" {
		t.Fatalf("no LAB folder under Objects in the browse: %+v", res.Browse)
	}
	for _, n := range []string{"ns=3;i=5001", "ns=3;s=PULPER/LVL", "ns=1;i=42", "ns=3;i=5100"} {
		if f, ok := found[n]; !ok || !strings.Contains(f, "Variable") {
			t.Errorf("browse did not find variable %s (found %v)", n, found)
		}
	}

	// Read: each node's value as the model has it, in engineering units
	// after the map's scale.
	roles := map[string]struct {
		role  string
		scale float64
		slack float64
	}{
		"ns=3;i=5001": {"pulper.ds", 1, 1e-3}, "ns=1;i=42": {"reception.h2s", 0.01, 1}, "ns=3;i=5100": {"pulper.water_flow_sp", 1, 0},
	}
	for _, rd := range res.Read {
		want := roles[rd.NodeID]
		if rd.Status != "Good" || rd.Value == nil {
			t.Errorf("read %s: status %s value %v", rd.NodeID, rd.Status, rd.Value)
			continue
		}
		switch rd.NodeID {
		case "ns=3;i=5100":
			continue // read before the write; checked below
		case "ns=3;s=PULPER/LVL":
			// The pulper fills while the client runs: read earlier, the
			// level is above zero and not above the model's now.
			if model := value(t, r, "pulper.level"); !(*rd.Value > 0 && *rd.Value <= model) {
				t.Errorf("read %s = %g, want in (0, %g] (the model's level now)", rd.NodeID, *rd.Value, model)
			}
			continue
		}
		if got, model := *rd.Value*want.scale, value(t, r, want.role); math.Abs(got-model) > want.slack {
			t.Errorf("read %s = %g (×%g), the model's %s is %g", rd.NodeID, *rd.Value, want.scale, want.role, model)
		}
	}
	if res.Write != "Good" || value(t, r, "pulper.water_flow_sp") != 2.75 {
		t.Errorf("write of 2.75 to ns=3;i=5100: status %s, model pulper.water_flow_sp %g", res.Write, value(t, r, "pulper.water_flow_sp"))
	}

	// Subscribe: notifications as the level rises.
	distinct := slices.Compact(slices.Clone(res.Notifications))
	if len(distinct) < 3 {
		t.Errorf("subscription delivered %v, want at least 3 distinct levels", res.Notifications)
	}
	if !slices.IsSorted(distinct) {
		t.Errorf("level notifications %v, want rising as the pulper fills", distinct)
	}
	t.Logf("browse found %d nodes; read %d; %d notifications; write %s", len(res.Browse), len(res.Read), len(res.Notifications), res.Write)
}
