package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/testrig"
	"github.com/pretreat/pretreat/testrig/scenario"
)

// TestEveryFaultKindEverywhere walks the rig's table of fault kinds: every
// kind is in FaultKinds, the command line's help and docs/testrig.md; every
// parameter it declares has a flag and is accepted by the control API's
// JSON and by the scenario parser, and one it does not declare is refused
// by both, naming the parameters it takes.
func TestEveryFaultKindEverywhere(t *testing.T) {
	docs, err := os.ReadFile("../../docs/testrig.md")
	if err != nil {
		t.Fatal(err)
	}
	var spec testrig.FaultSpec
	flags := flag.NewFlagSet("inject", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	addFaultFlags(flags, &spec)

	infos := testrig.FaultKinds()
	for _, d := range testrig.FaultKindDescs() {
		kind := string(d.Kind)
		if !slices.ContainsFunc(infos, func(i testrig.FaultKindInfo) bool { return i.Kind == d.Kind }) {
			t.Errorf("%s: not in FaultKinds()", kind)
		}
		if !strings.Contains(rigUsage, "\n  "+kind+" ") {
			t.Errorf("%s: not in the help of pretreat rig", kind)
		}
		if !strings.Contains(string(docs), "| `"+kind+"` |") {
			t.Errorf("%s: not in docs/testrig.md", kind)
		}
		target := d.TargetDefault
		if target == "" && len(d.Targets) > 0 {
			target = d.Targets[0]
		}
		for _, p := range d.Params {
			if flags.Lookup(faultFlag(p.Name)) == nil || !strings.Contains(rigUsage, "--"+faultFlag(p.Name)+" ") {
				t.Errorf("%s: parameter %s has no flag --%s in the help", kind, p.Name, faultFlag(p.Name))
			}
			val := goodValue(p)
			if err := flags.Parse([]string{"--" + faultFlag(p.Name), val}); err != nil {
				t.Errorf("%s: --%s %s: %v", kind, faultFlag(p.Name), val, err)
			}
			if err := parseJSON(kind, target, p.Name, val, p.Type); err != nil {
				t.Errorf("%s: JSON with %s %s: %v", kind, p.Name, val, err)
			}
			if err := parseScenario(kind, target, p.Name, val); err != nil {
				t.Errorf("%s: scenario with %s %s: %v", kind, p.Name, val, err)
			}
		}
		// A parameter of another kind, and one of none.
		allowed := "allowed: " + d.ParamNames()
		for _, name := range testrig.FaultParamNames() {
			if _, ok := d.Param(name); ok {
				continue
			}
			_, ps := testrig.FaultParamKinds(name)
			val := goodValue(ps[0])
			want := fmt.Sprintf("fault %s: parameter %q does not apply; %s", kind, name, allowed)
			if err := parseJSON(kind, target, name, val, ps[0].Type); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: JSON with %s: %v, want %q", kind, name, err, want)
			}
			if err := parseScenario(kind, target, name, val); err == nil || !strings.Contains(err.Error(), ".inject."+name+": "+want) {
				t.Errorf("%s: scenario with %s: %v, want %q", kind, name, err, want)
			}
			break
		}
		want := fmt.Sprintf("fault %s: parameter %q is not known; %s", kind, "bogus", allowed)
		if err := parseJSON(kind, target, "bogus", "1", testrig.ParamFloat); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: JSON with bogus: %v, want %q", kind, err, want)
		}
		if err := parseScenario(kind, target, "bogus", "1"); err == nil || !strings.Contains(err.Error(), `unknown key "bogus"; allowed here: code, delay, flow, keep, kind`) {
			t.Errorf("%s: scenario with bogus: %v", kind, err)
		}
	}
}

// goodValue is a value of p that its checks accept.
func goodValue(p testrig.FaultParam) string {
	switch {
	case p.Default != "":
		return p.Default
	case len(p.Values) > 0:
		return p.Values[0]
	case p.Type == testrig.ParamDuration:
		return "1s"
	case p.Type == testrig.ParamString:
		return "x"
	}
	return "1"
}

// parseJSON reads a fault spec as the control API does and checks it as
// Inject does before it looks at the rig.
func parseJSON(kind, target, name, val string, typ testrig.ParamType) error {
	if typ == testrig.ParamDuration || typ == testrig.ParamString {
		val = `"` + val + `"`
	}
	var s testrig.FaultSpec
	if err := json.Unmarshal(fmt.Appendf(nil, `{"kind":%q,"target":%q,%q:%s}`, kind, target, name, val), &s); err != nil {
		return err
	}
	if errs := s.Problems(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// parseScenario checks a scenario that injects the fault.
func parseScenario(kind, target, name, val string) error {
	src := fmt.Sprintf("scenario: x\nsteps:\n  - inject: {kind: %s, target: %q, %s: %s}\n", kind, target, name, val)
	_, err := scenario.Parse("x.yaml", []byte(src))
	return err
}
