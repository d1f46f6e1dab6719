package main

import (
	"bytes"
	"encoding/json"
	stdlog "log"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretreat/pretreat/testrig"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServesRigControl runs the headless demo in-process: the rig
// control URL it prints (and writes to DATA/rig.url) answers GET
// /rig/v1/faults, and a fault injected there is listed.
func TestDemoServesRigControl(t *testing.T) {
	t.Cleanup(func() { stdlog.SetOutput(os.Stderr) })
	data := t.TempDir()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(t.Context(), []string{"--headless", "--speed", "20", "--duration", "2m", "--data", data, "--jams", "injected"}, &out)
	}()
	re := regexp.MustCompile(`(?m)^  rig control +(http://127\.0\.0\.1:\d+)/rig/v1/faults +e\.g\. pretreat rig fault inject jam --rig (\S+)$`)
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			if m[1] != m[2] {
				t.Errorf("the example names %s, the URL is %s", m[2], m[1])
			}
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended (%v) before printing the rig control URL:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rig control URL printed:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b, err := os.ReadFile(filepath.Join(data, "rig.url")); err != nil || strings.TrimSpace(string(b)) != url {
		t.Errorf("DATA/rig.url: %q, %v; want %s", b, err, url)
	}
	resp, err := http.Get(url + "/rig/v1/faults")
	if err != nil {
		t.Fatal(err)
	}
	var fs []testrig.Fault
	err = json.NewDecoder(resp.Body).Decode(&fs)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || len(fs) != 0 {
		t.Fatalf("GET /rig/v1/faults: HTTP %d, %v, %+v; want 200 and no faults", resp.StatusCode, err, fs)
	}
	c := testrig.NewControlClient(url)
	if _, err := c.Inject(t.Context(), testrig.FaultSpec{Kind: testrig.FaultJam}); err != nil {
		t.Fatal(err)
	}
	if fs, err := c.Faults(t.Context()); err != nil || len(fs) != 1 || fs[0].Spec.Kind != testrig.FaultJam {
		t.Fatalf("faults after injecting a jam: %+v, %v", fs, err)
	}
	if !strings.Contains(out.String(), "starts batches by itself") {
		t.Errorf("the headless demo does not say its operator starts batches:\n%s", out.String())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo still running after its duration")
	}
}

// TestDemoAutoDefault: the demo operator runs batches by itself in the
// headless demo (tests and the reports' demo days rely on it) and leaves
// them to the operator with the HMI, unless --auto says otherwise.
func TestDemoAutoDefault(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"--headless"}, true},
		{nil, false},
		{[]string{"--speed", "10"}, false},
		{[]string{"--headless", "--auto=false"}, false},
		{[]string{"--auto"}, true},
		{[]string{"--auto=true", "--headless"}, true},
	} {
		a, err := parseDemoArgs(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if a.auto != c.want {
			t.Errorf("demo %s: auto %v, want %v", strings.Join(c.args, " "), a.auto, c.want)
		}
	}
}
