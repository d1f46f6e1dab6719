package testrig

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mbpollRe matches one value line of mbpoll's output, e.g. "[1]: 	123.4".
var mbpollRe = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?[0-9.eE+-]+|nan|-?inf)\s*$`)

// TestMbpoll reads the rig with mbpoll, an independent Modbus client: a
// float32 in input registers with the default word order (ABCD, mbpoll -B)
// and a CDAB float32 in holding registers (mbpoll's default word order).
func TestMbpoll(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("mbpoll")
	if err != nil {
		t.Skip("mbpoll not installed (Debian package mbpoll); skipping the independent Modbus client test")
	}
	r := startRig(t, modbusOnly(sampleDevices(t)), 20)
	io := modbusClient(t, endpoint(t, r, "line_io"))
	if err := io.WriteCoil(3, true); err != nil { // open the door
		t.Fatal(err)
	}
	press := modbusClient(t, endpoint(t, r, "press_vfd"))
	if err := press.WriteRegisters(0, []uint16{1, 150}); err != nil { // run at 15 rpm
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "hopper above 50 kg and press energy above 0", func() (bool, string) {
		h, e := value(t, r, "hopper.weight"), value(t, r, "press.energy")
		return h > 50 && e > 0, fmt.Sprintf("hopper %g kg, press energy %g kWh", h, e)
	})
	if err := io.WriteCoil(3, false); err != nil { // close it: the weight settles
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		ep    Endpoint
		args  []string
		role  string
		slack float64 // the value may move between the read and the check
	}{
		{"hopper.weight input float32 ABCD", endpoint(t, r, "line_io"), []string{"-t", "3:float", "-B", "-r", "0"}, "hopper.weight", 1.5},
		{"press.energy holding float32 CDAB", endpoint(t, r, "press_vfd"), []string{"-t", "4:float", "-r", "10"}, "press.energy", 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := strings.Cut(tc.ep.Address, ":")
			args := append([]string{"-m", "tcp", "-a", strconv.Itoa(int(tc.ep.UnitID)), "-0", "-c", "1", "-1", "-o", "2", "-p", port}, tc.args...)
			args = append(args, host)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("mbpoll %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			m := mbpollRe.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no value in mbpoll output:\n%s", out)
			}
			got, err := strconv.ParseFloat(string(m[2]), 64)
			if err != nil {
				t.Fatalf("mbpoll value %q: %v", m[2], err)
			}
			want := value(t, r, tc.role)
			if math.Abs(got-want) > tc.slack {
				t.Errorf("mbpoll read %g, the model has %g (slack %g)\n%s", got, want, tc.slack, out)
			}
		})
	}

	// mbpoll writes a setpoint (FC6): the press speed, uint16 in tenths.
	t.Run("write press.speed_sp", func(t *testing.T) {
		ep := endpoint(t, r, "press_vfd")
		host, port, _ := strings.Cut(ep.Address, ":")
		args := []string{"-m", "tcp", "-a", strconv.Itoa(int(ep.UnitID)), "-0", "-r", "1", "-t", "4", "-1", "-o", "2", "-p", port, host, "123"}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, path, args...).CombinedOutput(); err != nil {
			t.Fatalf("mbpoll %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if got := value(t, r, "press.speed_sp"); math.Abs(got-12.3) > 1e-9 {
			t.Errorf("press.speed_sp = %g after mbpoll wrote 123 (tenths), want 12.3", got)
		}
	})
}
