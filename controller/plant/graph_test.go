package plant

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGraphErrorsGolden: plants whose fed_by graph is wrong are refused
// with file:line:column and what is allowed; the messages are the product,
// so they are golden files (testdata/graph/NAME.golden, -update rewrites).
func TestGraphErrorsGolden(t *testing.T) {
	cases := []struct {
		name string
		edit [][2]string // old, new, applied to the sample in turn
	}{
		{"cycle", [][2]string{{"    fed_by: [reception]\n", "    fed_by: [pulper]\n"}}},
		{"unknown-feeder", [][2]string{{"    fed_by: [shredder]\n", "    fed_by: [shreder]\n"}}},
		{"detached-cycle", [][2]string{{"  - name: filtrate_tank\n    kind: tank\n    fed_by: [press]\n", "  - name: filtrate_tank\n    kind: tank\n    fed_by: [filtrate_pump]\n"}}},
		{"no-fed-by", [][2]string{{"    kind: pulper\n    fed_by: [shredder]\n", "    kind: pulper\n"}}},
		{"missing-signal", [][2]string{{"signals: {run: feeder.run_cmd, running: feeder.running, speed_sp: feeder.speed_sp}", "signals: {run: feeder.run_cmd, speed_sp: feeder.speed_sp}"}}},
		{"reception-fed", [][2]string{{"    kind: reception\n", "    kind: reception\n    fed_by: [feeder]\n"}}},
		{"feed-not-to-pulper", [][2]string{{"    kind: shredder\n    fed_by: [feeder]\n", "    kind: shredder\n    fed_by: [reception]\n"}}},
		{"press-not-from-pulper", [][2]string{{"    kind: screw_press\n    fed_by: [press_feed]\n", "    kind: screw_press\n    fed_by: [shredder]\n"}}},
		{"second-pulper", [][2]string{{"  - name: shredder\n", "  - name: pulper2\n    kind: pulper\n    fed_by: [shredder]\n    signals: {run: pulper.mixer_cmd, running: pulper.mixer_running, water: pulper.water_cmd, water_flow_sp: pulper.water_flow_sp, level: pulper.level, water_total: pulper.water_total}\n  - name: shredder\n"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := string(Sample())
			for _, e := range c.edit {
				if !strings.Contains(src, e[0]) {
					t.Fatalf("sample has no %q", e[0])
				}
				src = strings.Replace(src, e[0], e[1], 1)
			}
			_, err := Parse("plant.yaml", []byte(src))
			if err == nil {
				t.Fatal("a broken graph was accepted")
			}
			got := err.Error() + "\n"
			golden := filepath.Join("testdata", "graph", c.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestFlowOrderIsUpstreamFirst(t *testing.T) {
	f, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range f.FlowOrder() {
		names = append(names, u.Name)
	}
	want := "reception feeder shredder pulper press_feed press filtrate_tank filtrate_pump"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("flow order %q, want %q", got, want)
	}
}

// TestShippedPlantsCheck: every shipped plant file passes the check, and
// the two-lane plant's graph is as drawn.
func TestShippedPlantsCheck(t *testing.T) {
	for name, src := range Shipped() {
		f, err := Parse(name+".yaml", src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name != "two-lane" {
			continue
		}
		if got := strings.Join(f.Upstream("depackager"), " "); got != "conveyor shredder_a shredder_b feeder_a feeder_b reception" {
			t.Errorf("upstream of the depackager: %q", got)
		}
		if got := strings.Join(f.Feeders("press_feed_b"), " "); got != "pulper" {
			t.Errorf("press_feed_b draws from %q, want pulper", got)
		}
	}
}
