package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/controller/plant"
)

// TestConfigCheckLocatesDeviceErrors breaks the sample plant file in the
// ways an integrator does when mapping a device: a wrong type, order,
// address or range. `pretreat config check` must name file:line:column and
// the key for each.
func TestConfigCheckLocatesDeviceErrors(t *testing.T) {
	edits := []struct {
		old, new string
		key      string // the key whose value the error must point at
		want     string // the YAML path and message
	}{
		{"{tag: shredder.energy, table: holding, address: 10, type: float32, order: ABCD, unit: kWh}",
			"{tag: shredder.energy, table: holding, address: 10, type: float33, order: ABCD, unit: kWh}",
			"type", `$.devices[0].points[7].type: type "float33" is not known`},
		{"{tag: press.energy, table: holding, address: 10, type: float32, order: CDAB, unit: kWh}",
			"{tag: press.energy, table: holding, address: 10, type: float32, order: CDBA, unit: kWh}",
			"order", `$.devices[1].points[8].order: order "CDBA" is not known; allowed: ABCD, CDAB, BADC, DCBA`},
		{"{tag: filtrate.total, table: input, address: 8, type: float32, unit: kg}",
			"{tag: filtrate.total, table: input, address: 65535, type: float32, unit: kg}",
			"address", "$.devices[2].points[21].address: address 65535 + 2 registers runs past 65535"},
		{"{tag: hopper.weight, table: input, address: 0, type: float32, unit: kg, min: -50, max: 20000}",
			"{tag: hopper.weight, table: input, address: 0, type: float32, unit: kg, min: 50, max: -20000}",
			"max", "$.devices[2].points[17].max: max -20000 is below min 50"},
	}
	src := string(plant.Sample())
	var wants []string
	for _, e := range edits {
		if !strings.Contains(src, e.old) {
			t.Fatalf("sample has no %q to break", e.old)
		}
		src = strings.Replace(src, e.old, e.new, 1)
		// Locate the bad value in the edited source: line and column,
		// 1-based, of the value after the key.
		for n, line := range strings.Split(src, "\n") {
			if strings.Contains(line, e.new) {
				col := strings.Index(line, " "+e.key+": ") + len(" "+e.key+": ") + 1
				wants = append(wants, fmt.Sprintf("plant.yaml:%d:%d: %s", n+1, col, e.want))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "plant.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err := configCheck(path, &stdout, &stderr)
	if err == nil {
		t.Fatalf("config check passed a broken file:\n%s", stdout.String())
	}
	out := stderr.String()
	for _, w := range wants {
		if !strings.Contains(out, filepath.Dir(path)+"/"+w) {
			t.Errorf("config check output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(err.Error(), "4 problem(s)") {
		t.Errorf("summary %q, want 4 problems", err)
	}

	// The sample itself checks.
	if err := os.WriteFile(path, plant.Sample(), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := configCheck(path, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), ": ok: line line-1") {
		t.Errorf("sample: %v, %q", err, stdout.String())
	}
}

// Files and secrets the devices name are checked too: a missing client
// certificate and an unset password variable are located at their keys.
func TestConfigCheckReadsDeviceFiles(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(string(plant.Sample()), "  - name: analyser\n    protocol: opcua\n",
		"  - name: analyser\n    protocol: opcua\n"+
			"    security: {policy: Basic256Sha256, mode: SignAndEncrypt, certificate: pki/missing.pem, private_key: pki/missing.key, server_thumbprint: \"00112233445566778899aabbccddeeff00112233\"}\n"+
			"    auth: {type: username, username: op, password_env: PRETREAT_TEST_UNSET_PASSWORD}\n", 1)
	path := filepath.Join(dir, "plant.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("PRETREAT_TEST_UNSET_PASSWORD")
	var stdout, stderr strings.Builder
	if err := configCheck(path, &stdout, &stderr); err == nil {
		t.Fatalf("config check passed with missing files:\n%s", stdout.String())
	}
	for _, want := range []string{
		"$.devices[3].security.certificate: open " + filepath.Join(dir, "pki/missing.pem"),
		"$.devices[3].security.private_key:",
		"$.devices[3].auth.password_env: environment variable PRETREAT_TEST_UNSET_PASSWORD (the password of user op) is not set",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "plant.yaml:") {
		t.Errorf("no file:line:column in\n%s", stderr.String())
	}
}

// TestConfigCheckLocatesWatchdogAndCommAlarmErrors: a watchdog with an
// unknown mode, a tag that cannot be written and a too-short timeout, and a
// comm_loss alarm on a device that does not exist are each located at
// their key, with what is allowed.
func TestConfigCheckLocatesWatchdogAndCommAlarmErrors(t *testing.T) {
	src := string(plant.Sample())
	for _, r := range [][2]string{
		{"watchdog: {mode: comm_timeout, tag: shredder.comm_timeout, timeout: 1s,", "watchdog: {mode: comm_timout, tag: shredder.comm_timeout, timeout: 1s,"},
		{"watchdog: {mode: heartbeat, tag: press.heartbeat, every: 200ms, timeout: 1s,", "watchdog: {mode: heartbeat, tag: press.current, every: 200ms, timeout: 1s,"},
		{"tag: line_io.heartbeat, every: 200ms, timeout: 1s,", "tag: line_io.heartbeat, every: 20ms, timeout: 50ms,"},
		{"kind: comm_loss, device: analyser,", "kind: comm_loss, device: analyzer,"},
	} {
		if !strings.Contains(src, r[0]) {
			t.Fatalf("sample has no %q", r[0])
		}
		src = strings.Replace(src, r[0], r[1], 1)
	}
	path := filepath.Join(t.TempDir(), "plant.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if err := configCheck(path, &stdout, &stderr); err == nil {
		t.Fatal("config check passed a broken file")
	}
	out := stderr.String()
	for _, want := range []string{
		`$.devices[0].watchdog.mode: watchdog mode "comm_timout" is not known; allowed: heartbeat, comm_timeout`,
		`$.devices[1].watchdog.tag: "press.current" is not a writable point of this device`,
		`$.devices[2].watchdog.timeout: watchdog timeout 50ms is too short; allowed: 100ms or more`,
		`device "analyzer" is not a device of this plant`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, path+":") || strings.Count(line, ":") < 3 {
			t.Errorf("not located as file:line:column: %q", line)
		}
	}
	t.Logf("\n%s", out)
}
