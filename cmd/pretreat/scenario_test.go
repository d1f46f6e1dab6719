package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/testrig"
	"github.com/pretreat/pretreat/testrig/scenario"
)

// TestShippedScenarios runs every shipped scenario (testrig/scenarios)
// against the rig and a controller, each on its own plant and on every
// plant it also holds on, each at its own speed (all ≥ 20×), as `pretreat
// rig scenario run` does, and fails on every expectation that fails. A
// scenario's wall time is its plant time over its speed, not CPU, so they
// run side by side, as many at once as -parallel allows (GOMAXPROCS). With PRETREAT_SCENARIO_JUNIT set it also
// writes the JUnit report there, for CI systems.
// knownFailing are shipped scenarios that fail some of the time for a
// reason not yet found; they are reported, not hidden: each says why.
var knownFailing = map[string]string{
	"two-lane-shredder-fault": "after shredder_a's lane drops, shredder_b is sometimes found stopped " +
		"(2 of 4 CI runs on 2026-12-08): " +
		"a defect of the one-lane run-on or of the scenario's timing, not yet diagnosed",
}

func TestShippedScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every shipped scenario (about 8 minutes); skipped with -short")
	}
	files, err := filepath.Glob("../../testrig/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios: %v", err)
	}
	var (
		mu      sync.Mutex
		results []*scenario.Result
	)
	started := time.Now()
	var runs []*scenario.File
	for _, path := range files {
		f, err := scenario.Load(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		// Each scenario on its own plant, then on every other plant it
		// also holds on (its units renamed).
		runs = append(runs, f)
		for _, name := range slices.Sorted(maps.Keys(f.Also)) {
			g, _ := f.OnPlant(name)
			runs = append(runs, g)
		}
	}
	// The group returns once every parallel scenario has finished.
	t.Run("all", func(t *testing.T) {
		for _, f := range runs {
			path := f.Name()
			t.Run(f.Scenario, func(t *testing.T) {
				t.Parallel()
				if why, ok := knownFailing[f.Scenario]; ok && os.Getenv("PRETREAT_KNOWN_FAILING") == "" {
					t.Skipf("known failing (PRETREAT_KNOWN_FAILING=1 runs it): %s", why)
				}
				if f.Speed < 20 {
					t.Fatalf("%s runs at %g×; shipped scenarios must run at ≥ 20× (set speed)", path, f.Speed)
				}
				o := scenarioOptions{}
				if testing.Verbose() {
					o.Log = t.Output()
				}
				res, err := runScenario(t.Context(), f, o)
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
				for _, s := range res.Steps {
					if !s.Passed {
						t.Errorf("step %d (%s) %s: %s", s.Index, s.Kind, s.Name, s.Message)
					}
				}
				if res.Err != nil {
					t.Errorf("cut short: %v", res.Err)
				}
				t.Logf("%d steps, %v plant time in %v wall (%.0f×)", len(res.Steps), res.Plant.Round(time.Second), res.Wall.Round(10*time.Millisecond), res.Plant.Seconds()/res.Wall.Seconds())
			})
		}
	})
	t.Logf("%d scenarios in %v", len(results), time.Since(started).Round(time.Second))

	var junit bytes.Buffer
	if err := scenario.WriteJUnit(&junit, results); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &parsed); err != nil || len(parsed.Suites) != len(results) {
		t.Errorf("JUnit report: %v, %d suites for %d scenarios", err, len(parsed.Suites), len(results))
	}
	if out := os.Getenv("PRETREAT_SCENARIO_JUNIT"); out != "" {
		if err := os.WriteFile(out, junit.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// TestRigScenarioCommand runs the command line on a short scenario:
// report, JUnit file, exit status, and check's verdict on a bad file.
func TestRigScenarioCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rig and a controller; skipped with -short")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "short.yaml")
	if err := os.WriteFile(good, []byte(`scenario: short
speed: 40
steps:
  - command: reset
  - expect: {state: Idle, within: 30s}
  - inject: {kind: estop}
  - expect: {alarm: estop_pressed, within: 20s}
  - expect: {tag: line.estop_ok, equals: 1, within: 5s}   # fails: the e-stop is pressed
`), 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "out.xml")
	out, code := runCommandLine(t, "rig", "scenario", "run", good, "--junit", junit)
	if code != 1 || !strings.Contains(out, "PASS  04 within 20s: alarm estop_pressed raised") || !strings.Contains(out, "FAIL  05 within 5s: tag line.estop_ok = 1") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	b, err := os.ReadFile(junit)
	if err != nil || !bytes.Contains(b, []byte(`<testsuite name="short"`)) || !bytes.Contains(b, []byte(`failures="1"`)) {
		t.Errorf("JUnit file (%v):\n%s", err, b)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("scenario: bad\nsteps:\n  - expect: {state: Runing}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runCommandLine(t, "rig", "scenario", "check", good, bad)
	if code != 1 || !strings.Contains(out, `bad.yaml:3:21: $.steps[0].expect.state: state "Runing" is not a PackML state`) {
		t.Errorf("check: exit %d, output:\n%s", code, out)
	}
}

// runCommandLine runs the pretreat command line in this process and returns what
// it wrote to stdout and stderr, and its exit code.
func runCommandLine(t *testing.T, args ...string) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	code := run(t.Context(), args)
	os.Stdout, os.Stderr = oldOut, oldErr
	w.Close()
	return string(<-done), code
}

// TestRigFaultCommand drives the rig control API from the command line:
// list the kinds, inject with parameters given after the kind, list,
// clear one and all, and the errors a person sees.
func TestRigFaultCommand(t *testing.T) {
	cfg, err := loadPlant("")
	if err != nil {
		t.Fatal(err)
	}
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.Stop() })
	url, stop, err := serveControl(rig, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"list", "--kinds"}, 0, "jam_storm"},
		{[]string{"inject", "slow", "--target", "line_io", "--delay", "250ms"}, 0, "f1 injected: line_io answers 250ms late"},
		{[]string{"inject", "sensor_stuck", "--target", "pulper.level", "--value", "42"}, 0, "f2 injected: pulper.level sticks at 42"},
		{[]string{"inject", "exception", "--target", "analyser"}, 1, "OPC UA device"},
		{[]string{"inject"}, 2, "name one fault kind"},
		{[]string{"list"}, 0, "f2   sensor_stuck"},
		{[]string{"clear", "f1"}, 0, "f1 cleared"},
		{[]string{"clear", "f1"}, 1, "no such fault"},
		{[]string{"clear", "--all"}, 0, "1 fault(s) cleared"},
		{[]string{"list"}, 0, "no active faults"},
	}
	for _, s := range steps {
		args := append([]string{"rig", "fault"}, s.args...)
		args = append(args, "--rig", url)
		out, code := runCommandLine(t, args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Errorf("pretreat %s: exit %d, want %d with %q; output:\n%s", strings.Join(args, " "), code, s.code, s.want, out)
		}
	}
	if v, _ := rig.Value("pulper.level"); v == 42 {
		t.Errorf("pulper.level still stuck after clear --all")
	}
	out, code := runCommandLine(t, "rig", "--print-map")
	if code != 0 || !strings.Contains(out, "ns=2;s=Pulper.Level") || !strings.Contains(out, "holding:10+2") {
		t.Errorf("rig --print-map: exit %d\n%s", code, out)
	}
}
