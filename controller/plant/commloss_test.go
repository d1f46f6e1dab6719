package plant

import (
	"strings"
	"testing"

	"github.com/pretreat/pretreat/controller/alarm"
)

// withoutCommLossAlarms is the sample plant file with its comm_loss alarms
// taken out, as an integrator might write it.
func withoutCommLossAlarms(t *testing.T) []byte {
	t.Helper()
	var out []string
	for _, ln := range strings.Split(string(Sample()), "\n") {
		if strings.Contains(ln, "kind: comm_loss") {
			continue
		}
		out = append(out, ln)
	}
	return []byte(strings.Join(out, "\n"))
}

// Every device gets a comm_loss alarm: the file's own where it has one, a
// default one (<device>_comm_loss, high, "<device> not answering") where
// it has none.
func TestEveryDeviceHasACommLossAlarm(t *testing.T) {
	f, err := Parse("sample.yaml", withoutCommLossAlarms(t))
	if err != nil {
		t.Fatal(err)
	}
	byDevice := map[string]alarm.Definition{}
	for _, a := range f.Alarms {
		if a.Kind == alarm.KindCommLoss {
			byDevice[a.Device] = a
		}
	}
	for _, d := range f.Devices {
		a, ok := byDevice[d.Name]
		if !ok {
			t.Errorf("device %s has no comm_loss alarm", d.Name)
			continue
		}
		if a.Name != d.Name+"_comm_loss" || a.Priority != alarm.PriorityHigh || a.Message != d.Name+" not answering" {
			t.Errorf("device %s: default alarm %+v", d.Name, a)
		}
	}
	if _, err := alarm.NewSet(f.Alarms, f.AlarmSettings); err != nil {
		t.Errorf("the alarms with the defaults do not build: %v", err)
	}
	// The file's own are kept as written, and not doubled.
	f, err = Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range f.Alarms {
		if a.Kind == alarm.KindCommLoss {
			n++
			if a.Device == "line_io" && a.Priority != alarm.PriorityCritical {
				t.Errorf("line_io_comm_loss priority %s, want the file's critical", a.Priority)
			}
		}
	}
	if n != len(f.Devices) {
		t.Errorf("%d comm_loss alarms for %d devices", n, len(f.Devices))
	}
}
