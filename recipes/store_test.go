package recipes

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func catering(t *testing.T) []byte {
	t.Helper()
	files, err := ShippedFiles()
	if err != nil {
		t.Fatal(err)
	}
	return files["catering.yaml"]
}

func TestImportIsIdempotentAndVersioned(t *testing.T) {
	st := OpenStore(t.TempDir())
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	src := catering(t)
	v1, created, err := st.Import("catering.yaml", src, "ann", sampleLimits, now)
	if err != nil || !created || v1.Version != 1 || v1.State != StateDraft {
		t.Fatalf("first import: %+v created=%v err=%v", v1, created, err)
	}
	// The same content again, with other comments and no version line: one version.
	again := "# re-saved by an editor\n" + strings.Replace(string(src), "version: 1\n", "", 1)
	v, created, err := st.Import("copy.yaml", []byte(again), "bob", sampleLimits, now)
	if err != nil || created || v.Version != 1 {
		t.Fatalf("second import: %+v created=%v err=%v, want the existing version 1", v, created, err)
	}
	// One value changed: a new version, and diff shows exactly that value.
	changed := strings.Replace(strings.Replace(string(src), "version: 1\n", "version: 2\n", 1), "press_back_pressure: {value: 3.2, unit: bar}", "press_back_pressure: {value: 3.5, unit: bar}", 1)
	v2, created, err := st.Import("catering-v2.yaml", []byte(changed), "bob", sampleLimits, now.Add(time.Hour))
	if err != nil || !created || v2.Version != 2 {
		t.Fatalf("changed import: %+v created=%v err=%v", v2, created, err)
	}
	a, _, err := st.Get("catering", 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := st.Get("catering", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := Diff(a, b)
	if len(d) != 1 || d[0].Key != "parameters.press_back_pressure" || d[0].A != "3.2 bar" || d[0].B != "3.5 bar" {
		t.Fatalf("diff = %+v, want exactly parameters.press_back_pressure 3.2 bar -> 3.5 bar", d)
	}
	// A file claiming a taken version with other content is refused.
	clash := strings.Replace(string(src), "{value: 60, unit: s}", "{value: 70, unit: s}", 1)
	if _, _, err := st.Import("clash.yaml", []byte(clash), "eve", sampleLimits, now); err == nil || !strings.Contains(err.Error(), "version 1 already exists with different content") {
		t.Fatalf("clash import err = %v", err)
	}
	list, err := st.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func TestOnlyApprovedVersionsResolve(t *testing.T) {
	st := OpenStore(t.TempDir())
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if _, err := st.Resolve("catering", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	if _, _, err := st.Import("catering.yaml", catering(t), "ann", sampleLimits, now); err != nil {
		t.Fatal(err)
	}
	_, err := st.Resolve("catering", 0)
	if !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "pretreat recipe approve catering@1") {
		t.Fatalf("draft resolved: %v", err)
	}
	if _, err := st.Resolve("catering", 1); !errors.Is(err, ErrNotApproved) {
		t.Fatalf("draft version 1 resolved: %v", err)
	}
	info, err := st.Approve("catering", 1, "carol", now.Add(time.Minute))
	if err != nil || info.State != StateApproved || info.ApprovedBy != "carol" {
		t.Fatalf("approve: %+v %v", info, err)
	}
	r, err := st.Resolve("catering", 0)
	if err != nil || r.Version != 1 || r.Name != "catering" {
		t.Fatalf("resolve after approval: %+v %v", r, err)
	}
	if _, err := st.Approve("catering", 9, "carol", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("approve missing version: %v", err)
	}
	log, err := st.Audit()
	if err != nil || len(log) != 2 || log[0].Action != "import" || log[0].User != "ann" || log[1].Action != "approve" || log[1].User != "carol" {
		t.Fatalf("audit = %+v %v", log, err)
	}
}

func TestImportRefusesInvalidRecipe(t *testing.T) {
	st := OpenStore(t.TempDir())
	bad := strings.Replace(string(catering(t)), "press_speed: {value: 15, unit: rpm}", "press_speed: {value: 45, unit: rpm}", 1)
	_, _, err := st.Import("bad.yaml", []byte(bad), "ann", sampleLimits, time.Now())
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:") {
		t.Fatalf("err = %v, want a located validation error", err)
	}
	if list, _ := st.List(); len(list) != 0 {
		t.Fatalf("invalid recipe stored: %+v", list)
	}
}
