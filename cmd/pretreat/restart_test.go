package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/testrig"
)

// childEnv makes the test binary run the pretreat command line instead of
// the tests, so that a test can start a real controller process and kill it.
const childEnv = "PRETREAT_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, strings.Split(args, "\x1f"))
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// startChild starts `pretreat args…` as a separate process.
func startChild(t *testing.T, logName string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
	out, err := os.Create(filepath.Join(t.TempDir(), logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // only the process this test started
			cmd.Wait()
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("%s:\n%s", logName, b)
		}
	})
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitAPI(t *testing.T, c *api.Client) *api.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := c.Status(t.Context()); err == nil {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("controller API never answered")
	return nil
}

// TestKill9MidBatchComesBackHeld kills the controller process with SIGKILL
// in the middle of a batch while the motors run, starts it again on the
// same data directory, and checks that the line comes back Held with the
// batch context and record intact, every output commanded off and kept off
// until an operator unholds, and that the batch then completes.
func TestKill9MidBatchComesBackHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two controller processes and a batch; skipped with -short")
	}
	const speed = 20
	rig, dir, plantFile := rigLine(t, speed, 3)
	addr := freeAddr(t)
	args := []string{"run", "--config", plantFile, "--data", dir, "--api", addr, "--speed", fmt.Sprint(speed)}
	first := startChild(t, "first.log", args...)
	c := api.NewClient("http://" + addr)
	waitAPI(t, c)
	waitGood(t, c, time.Minute)
	st := waitState(t, c, "Stopped", 10*time.Second) // a controller powers up Stopped
	_ = st
	send(t, c, api.Command{Command: api.CommandReset, User: "op"})
	waitState(t, c, "Idle", 10*time.Second)
	send(t, c, api.Command{Command: api.CommandStart, Recipe: "catering", User: "op"})
	// Wait until the line is feeding: every motor running.
	var id string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := c.Status(t.Context())
		if err == nil && st.Batch != nil && st.Batch.Phase == "shred" && st.Batch.Step == "feeding" {
			id = st.Batch.ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reached feeding: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // let it feed a while (30 s plant)
	runCmds := []string{"press.run_cmd", "pulper.mixer_cmd", "shredder.run_cmd", "feeder.run_cmd"}
	for _, r := range runCmds {
		if v, _ := rig.Value(r); v != 1 {
			t.Fatalf("before the kill %s = %v, want 1", r, v)
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	// With no controller, the devices' watchdogs (1 s) stop everything.
	killed := time.Now()
	for {
		on := ""
		for _, r := range append(runCmds, "reception.door_cmd", "pulper.water_cmd") {
			if v, _ := rig.Value(r); v != 0 {
				on = r
			}
		}
		if on == "" {
			break
		}
		if time.Since(killed) > 1500*time.Millisecond {
			t.Fatalf("%s still on %s after the kill: the device watchdog did not stop it", on, time.Since(killed))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("every command off %s after the kill (device watchdogs)", time.Since(killed).Round(time.Millisecond))

	second := startChild(t, "second.log", args...)
	st = waitAPI(t, c)
	st = waitState(t, c, "Held", 10*time.Second)
	if st.Batch == nil || st.Batch.ID != id || st.Batch.Phase != "shred" {
		t.Fatalf("after restart batch %+v, want %s in shred", st.Batch, id)
	}
	if !strings.Contains(st.Message, "controller restarted during batch "+id) {
		t.Errorf("message %q does not explain the hold", st.Message)
	}
	// Every run command goes off and stays off while nobody acts.
	offBy := time.Now().Add(3 * time.Second)
	for {
		on := ""
		for _, r := range append(runCmds, "reception.door_cmd", "pulper.water_cmd") {
			if v, _ := rig.Value(r); v != 0 {
				on = r
			}
		}
		if on == "" {
			break
		}
		if time.Now().After(offBy) {
			t.Fatalf("%s still on 3 s after the restart", on)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 30; i++ { // 3 s wall = 60 s of plant time
		for _, r := range runCmds {
			if v, _ := rig.Value(r); v != 0 {
				t.Fatalf("%s commanded on without an operator after the restart", r)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _ := c.Status(t.Context()); st.State != "Held" {
		t.Fatalf("state %s, want still Held", st.State)
	}
	// The operator unholds (accepted once the controller has reset the
	// drives' watchdog trips): the batch continues to the end.
	unholdBy := time.Now().Add(10 * time.Second)
	for {
		res, err := c.Send(t.Context(), api.Command{Command: api.CommandUnhold, User: "op"})
		if err == nil && res.OK {
			break
		}
		if time.Now().After(unholdBy) {
			t.Fatalf("unhold never accepted: %v %+v", err, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st = waitState(t, c, "Complete", 3*time.Minute)
	if st.LastBatch == nil || st.LastBatch.ID != id {
		t.Fatalf("completed batch %+v, want %s", st.LastBatch, id)
	}
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()
	hs, err := historian.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	bs, err := hs.Batches()
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches %d (%v), want the one batch", len(bs), err)
	}
	b := bs[0]
	if b.ID != id || b.State != "complete" || b.KgReceived < 395 || len(b.Phases) < 3 {
		t.Fatalf("record %s %s kg %.1f phases %d", b.ID, b.State, b.KgReceived, len(b.Phases))
	}
	// 28 % -> 10 % DS: 1.8 kg of water per kg; restarting must not dose twice.
	if ratio := b.KgWater / b.KgReceived; ratio < 1.7 || ratio > 1.9 {
		t.Errorf("water %.1f kg for %.1f kg waste (%.2f t/t), want about 1.8", b.KgWater, b.KgReceived, ratio)
	}
	t.Logf("batch %s: killed in shred, restarted Held, unheld, completed: %.1f kg in, %.1f kg water, %.1f kg cake", b.ID, b.KgReceived, b.KgWater, b.KgCake)
}

func send(t *testing.T, c *api.Client, cmd api.Command) {
	t.Helper()
	res, err := c.Send(t.Context(), cmd)
	if err != nil || !res.OK {
		t.Fatalf("%s: %v %+v", cmd.Command, err, res)
	}
}

func waitState(t *testing.T, c *api.Client, state string, limit time.Duration) *api.Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last *api.Status
	for time.Now().Before(deadline) {
		if st, err := c.Status(t.Context()); err == nil {
			last = st
			if st.State == state {
				return st
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("state never %s; last %+v", state, last)
	return nil
}

// rigLine starts the sample plant's rig in this process at speed, writes a
// plant file pointing at its ports into a fresh data directory, and
// imports and approves the catering recipe there, as on a real plant.
func rigLine(t *testing.T, speed float64, seed int64) (rig *testrig.Rig, dir, plantFile string) {
	t.Helper()
	src := string(plant.Sample())
	cfg, err := plant.Parse("<sample>", plant.Sample())
	if err != nil {
		t.Fatal(err)
	}
	rig, err = testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: drivers.NewScaledClock(time.Now(), speed), Seed: seed, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.Stop() })
	for _, ep := range rig.Endpoints() {
		for _, d := range cfg.Devices {
			if d.Name == ep.Device {
				if ep.Protocol == drivers.ProtocolOPCUA {
					src = strings.Replace(src, d.Endpoint, ep.URL, 1)
				} else {
					src = strings.Replace(src, "address: "+d.Address, "address: "+ep.Address, 1)
				}
			}
		}
	}
	dir = t.TempDir()
	plantFile = filepath.Join(dir, "plant.yaml")
	if err := os.WriteFile(plantFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	approveCatering(t, dir)
	return rig, dir, plantFile
}

// approveCatering imports the shipped catering recipe into dir's store
// and approves it (two people, as the store requires).
func approveCatering(t *testing.T, dir string) {
	t.Helper()
	if code, errs := runCLI(t, "recipe", "import", "--data", dir, "--user", "ann", "../../recipes/shipped/catering.yaml"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	if code, errs := runCLI(t, "recipe", "approve", "--data", dir, "--user", "carol", "catering@1"); code != 0 {
		t.Fatalf("approve: %s", errs)
	}
}
