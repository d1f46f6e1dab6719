package plant

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func TestSampleIsValid(t *testing.T) {
	f, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatalf("sample plant file does not check: %v", err)
	}
	if got, want := len(f.Devices), 4; got != want {
		t.Errorf("devices = %d, want %d", got, want)
	}
	if f.Unit(KindShredder) == nil {
		t.Error("no shredder unit")
	}
}

func TestErrorsNameLineAndColumn(t *testing.T) {
	cases := []struct {
		name, edit, old string
		want            string
	}{
		{"bad type", "type: int17", "type: float32, order: ABCD", "sample.yaml:41:67: $.devices[0].points[7].type"},
		{"unknown key", "colour: red\nline: line-1", "line: line-1", "sample.yaml:9:1: $.colour: unknown key \"colour\"; allowed here: alarm_settings, alarms, api, devices"},
		{"bad order", "order: BADX", "order: CDAB", "order \"BADX\" is not known"},
		{"unknown tag", "running: press.runing", "running: press.running", "tag \"press.runing\" is not mapped"},
		{"levels not rising", "levels: {low_low: 5, low: 10, high: 30, high_high: 20}", "levels: {low_low: 5, low: 10, high: 30, high_high: 90}", "$.units[1].levels.high_high: level high_high = 20 % must be above high = 30 %"},
		{"unknown level", "levels: {low_low: 5, low: 10, high: 30, hihi: 90}", "levels: {low_low: 5, low: 10, high: 30, high_high: 90}", "level \"hihi\" is not known; allowed: low_low, low, high, high_high"},
		{"tank fed by nothing", "fed_by: [pres]", "fed_by: [press]", "$.units[1].fed_by[0]: fed_by \"pres\" is not a unit with a motor"},
		{"pump without a tank", "suction: press", "suction: filtrate_tank", "$.units[0].suction: suction \"press\" is not a unit of kind tank"},
		{"press with both back-pressure signals", "cone_valve: press.cone_valve, back_pressure_sp: press.cone_valve,", "cone_valve: press.cone_valve,", "a screw_press needs exactly one of back_pressure_sp"},
		{"feed pump set-point out of range", "level_sp: 120", "level_sp: 15", "$.units[2].level_sp: level_sp = 120 % is out of range; allowed: above 0 up to 95 %"},
		{"feed pump min level above its set-point", "min_level: 20", "min_level: 1.5", "$.units[2].min_level: min_level = 20 % is out of range; allowed: above 0 and below level_sp (15 %)"},
		{"feed pump without speed", "signals: {run: press_feed.run_cmd, running: press_feed.running, flow: press_feed.flow}", "signals: {run: press_feed.run_cmd, running: press_feed.running, speed_sp: press_feed.speed_sp, flow: press_feed.flow}", "$.units[2].level_sp: a pump on level control needs signal speed_sp bound"},
		{"capacity on a feeder", "kind: feeder\n    capacity_kg: 10", "kind: feeder", "capacity_kg applies to a pulper or a tank, not a feeder"},
		{"negative capacity", "capacity_kg: -4000", "capacity_kg: 4000", "capacity_kg = -4000 is out of range"},
		{"levels on a feeder", "kind: feeder\n    levels: {low_low: 1, low: 2, high: 3, high_high: 4}", "kind: feeder", "levels apply to a pulper or a tank, not a feeder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(Sample()), c.old, c.edit, 1)
			if src == string(Sample()) {
				t.Fatalf("edit %q not applied", c.old)
			}
			_, err := Parse("sample.yaml", []byte(src))
			var es yamlsrc.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %v, want located errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if es[0].Line < 1 || es[0].Column < 1 {
				t.Errorf("no position in %v", es[0])
			}
		})
	}
}

// TestReferenceExamples checks every YAML example of docs/plant-file.md:
// strict decoding (no unknown key), device validation and the checks on
// devices that share a connection.
func TestReferenceExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plant-file.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")[1:]
	if len(blocks) < 6 {
		t.Fatalf("%d examples in docs/plant-file.md, want one per transport (6)", len(blocks))
	}
	for i, b := range blocks {
		src := b[:strings.Index(b, "```")]
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var devs struct {
				Devices []drivers.DeviceConfig `yaml:"devices"`
			}
			d, err := yamlsrc.Decode(fmt.Sprintf("example %d", i), []byte(src), &devs)
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			f := File{Devices: devs.Devices}
			if len(f.Devices) == 0 {
				t.Fatalf("no device in\n%s", src)
			}
			for j := range f.Devices {
				for _, e := range f.Devices[j].Validate() {
					d.Addf(fmt.Sprintf("$.devices[%d].%s", j, e.Path), "%s", e.Message)
				}
			}
			f.checkDevicesTogether(d.Addf)
			if err := d.Err(); err != nil {
				t.Errorf("%v\n%s", err, src)
			}
		})
	}
}

func TestSharedConnectionChecks(t *testing.T) {
	src := `devices:
  - {name: a, protocol: modbus-tcp, transport: rtu-over-tcp, address: "10.0.0.1:4001", unit_id: 1, timeout: 300ms, points: [{tag: a, table: coil}]}
  - {name: b, protocol: modbus-tcp, transport: rtu-over-tcp, address: "10.0.0.1:4001", unit_id: 1, timeout: 1s, points: [{tag: b, table: coil}]}
  - {name: c, protocol: modbus-tcp, address: "10.0.0.1:4001", unit_id: 1, points: [{tag: c, table: coil}]}
`
	var devs struct {
		Devices []drivers.DeviceConfig `yaml:"devices"`
	}
	d, err := yamlsrc.Decode("shared.yaml", []byte(src), &devs)
	if err != nil {
		t.Fatal(err)
	}
	f := File{Devices: devs.Devices}
	f.checkDevicesTogether(d.Addf)
	err = d.Err()
	for _, want := range []string{
		`shared.yaml:3:`, `$.devices[1].unit_id: unit id 1 at 10.0.0.1:4001 is already device "a"`,
		`$.devices[1].timeout: devices at 10.0.0.1:4001 share one connection and its timeout: 1s here, 300ms on device "a"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
	// Plain TCP at the same address is another connection: no complaint.
	if err != nil && strings.Contains(err.Error(), "devices[2]") {
		t.Errorf("device c (tcp) was checked against the rtu-over-tcp devices: %v", err)
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(string(Sample()), "  - name: analyser\n    protocol: opcua\n",
		"  - name: analyser\n    protocol: opcua\n    security: {policy: Basic256Sha256, mode: Sign, certificate: pki/c.pem, private_key: /abs/c.key, trust: [pki/trusted]}\n", 1)
	path := filepath.Join(dir, "plant.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := f.Point("pulper.ds")
	if dev.Security == nil {
		t.Fatal("security not parsed")
	}
	if got, want := dev.Security.Certificate, filepath.Join(dir, "pki/c.pem"); got != want {
		t.Errorf("certificate %q, want %q", got, want)
	}
	if got := dev.Security.PrivateKey; got != "/abs/c.key" {
		t.Errorf("absolute key path changed to %q", got)
	}
	if got, want := dev.Security.Trust[0], filepath.Join(dir, "pki/trusted"); got != want {
		t.Errorf("trust %q, want %q", got, want)
	}
}
