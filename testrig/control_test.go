package testrig

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestControlAPI(t *testing.T) {
	t.Parallel()
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	srv := httptest.NewServer(r.ControlHandler())
	t.Cleanup(srv.Close)
	c := NewControlClient(srv.URL)
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Seed != 1 || st.Class != "catering" || st.Jams != JamsInjected || st.Speed != 20 || len(st.Endpoints) != 3 || len(st.Faults) != 0 {
		t.Errorf("status %+v", st)
	}
	kinds, err := c.FaultKinds(ctx)
	if err != nil || len(kinds) != len(FaultKinds()) {
		t.Errorf("fault kinds: %d, %v", len(kinds), err)
	}

	f, err := c.Inject(ctx, FaultSpec{Kind: FaultSlow, Target: "line_io", Delay: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.Spec.Delay != 1500*time.Millisecond || !strings.Contains(f.Description, "1.5s") {
		t.Errorf("injected %+v", f)
	}
	if _, err := c.Inject(ctx, FaultSpec{Kind: FaultSlow, Target: "nowhere"}); err == nil || !strings.Contains(err.Error(), "not a simulated device") {
		t.Errorf("bad target: %v", err)
	}
	if _, err := c.Inject(ctx, FaultSpec{Kind: FaultEStop}); err != nil {
		t.Fatal(err)
	}
	fs, err := c.Faults(ctx)
	if err != nil || len(fs) != 2 || fs[0].ID != f.ID || fs[1].Spec.Kind != FaultEStop {
		t.Errorf("faults %+v, %v", fs, err)
	}
	vals, err := c.Values(ctx, "line.estop_ok", "hopper.mass")
	if err != nil || len(vals) != 2 || vals["line.estop_ok"] != 0 {
		t.Errorf("values %v, %v", vals, err)
	}
	if all, err := c.Values(ctx); err != nil || len(all) != len(r.Roles()) {
		t.Errorf("all values: %d, %v", len(all), err)
	}
	if _, err := c.Values(ctx, "no.such"); err == nil {
		t.Errorf("unknown role read without error")
	}
	if _, err := c.Clear(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Clear(ctx, f.ID); err == nil || !strings.Contains(err.Error(), "no such fault") {
		t.Errorf("clearing twice: %v", err)
	}
	if cleared, err := c.ClearAll(ctx); err != nil || len(cleared) != 1 {
		t.Errorf("clear all: %v, %v", cleared, err)
	}

	if err := c.SetClass(ctx, "bakery", 250); err != nil {
		t.Fatal(err)
	}
	if r.Class() != "bakery" {
		t.Errorf("class %s after setting bakery", r.Class())
	}
	if m := value(t, r, "hopper.mass"); m != 250 {
		t.Errorf("hopper %g kg after tipping 250", m)
	}
	if err := c.SetClass(ctx, "garden", 0); err == nil {
		t.Errorf("unknown class accepted")
	}
	rows, err := c.Map(ctx)
	if err != nil || len(rows) == 0 || rows[0].Device != "shredder_vfd" || !strings.HasPrefix(rows[0].Address, "127.0.0.1:") {
		t.Errorf("map %+v, %v", rows, err)
	}

	// Unknown keys are refused, not ignored.
	resp, err := http.Post(srv.URL+"/rig/v1/faults", "application/json", bytes.NewBufferString(`{"kind":"slow","target":"line_io","dealy":"1s"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("misspelt key: HTTP %d, want 400", resp.StatusCode)
	}
	// A controller's URL (or anything else) gives a clear error.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	if _, err := NewControlClient(other.URL).Status(ctx); err == nil || !strings.Contains(err.Error(), "rig control API") {
		t.Errorf("not a rig: %v", err)
	}
}

func TestWriteMap(t *testing.T) {
	t.Parallel()
	r, err := New(Options{Devices: sampleDevices(t)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteMap(&b, r.ServedMap()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"shredder_vfd  modbus-tcp  127.0.0.1:15020",
		"holding:10+2",
		"CDAB",
		"ns=2;s=Pulper.DS",
		"line.estop_ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("map does not contain %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 1+len(r.ServedMap()) {
		t.Errorf("%d lines, want a header and one per point", n)
	}
}
