package testrig

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaultKindTable checks the table of fault kinds itself: every entry
// complete, every parameter bound to a FaultSpec field of its type, every
// range readable, every default allowed by its own checks, and every
// parameter field of FaultSpec taken by some kind.
func TestFaultKindTable(t *testing.T) {
	goType := map[ParamType]reflect.Type{
		ParamDuration: reflect.TypeFor[time.Duration](), ParamFloat: reflect.TypeFor[float64](),
		ParamInt: reflect.TypeFor[int](), ParamString: reflect.TypeFor[string](),
	}
	seen := map[FaultKind]bool{}
	types := map[string]ParamType{}
	for _, d := range FaultKindDescs() {
		if seen[d.Kind] {
			t.Errorf("kind %s twice", d.Kind)
		}
		seen[d.Kind] = true
		if d.prepare == nil || d.Doc == "" || d.Target == "" || !slices.Contains([]FaultGroup{GroupDevice, GroupSensor, GroupPlant}, d.Group) {
			t.Errorf("kind %s: incomplete descriptor %+v", d.Kind, d)
		}
		if d.TargetDefault != "" && d.Targets != nil && !slices.Contains(d.Targets, d.TargetDefault) {
			t.Errorf("kind %s: default target %q is not one of %v", d.Kind, d.TargetDefault, d.Targets)
		}
		for _, p := range d.Params {
			i, ok := specParamFields[p.Name]
			if !ok {
				t.Errorf("kind %s: parameter %s has no FaultSpec field (yaml tag)", d.Kind, p.Name)
				continue
			}
			ft := reflect.TypeFor[FaultSpec]().Field(i).Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if goType[p.Type] != ft {
				t.Errorf("kind %s: parameter %s is a %s, its field a %v", d.Kind, p.Name, p.Type, ft)
			}
			if pt, ok := types[p.Name]; ok && pt != p.Type {
				t.Errorf("parameter %s is a %s in one kind, a %s in another", p.Name, pt, p.Type)
			}
			types[p.Name] = p.Type
			if p.Doc == "" {
				t.Errorf("kind %s: parameter %s has no doc", d.Kind, p.Name)
			}
			if p.Range != "" {
				if _, err := p.parseRange(); err != nil {
					t.Errorf("kind %s: %v", d.Kind, err)
				}
			}
			for _, v := range append(slices.Clone(p.Values), p.Default) {
				if v == "" {
					continue
				}
				var s FaultSpec
				if err := p.Set(&s, v); err != nil {
					t.Errorf("kind %s: parameter %s: %q: %v", d.Kind, p.Name, v, err)
				} else if err := p.check(&s); err != nil {
					t.Errorf("kind %s: parameter %s: %q refused by its own checks: %v", d.Kind, p.Name, v, err)
				}
			}
		}
	}
	for _, name := range FaultParamNames() {
		if kinds, _ := FaultParamKinds(name); len(kinds) == 0 {
			t.Errorf("FaultSpec field %s is no kind's parameter", name)
		}
	}
	if len(FaultKinds()) != len(FaultKindDescs()) {
		t.Errorf("FaultKinds has %d kinds, the table %d", len(FaultKinds()), len(FaultKindDescs()))
	}
	d, _ := LookupFaultKind(FaultException)
	p, _ := d.Param("code")
	if len(p.Values) != len(modbusExceptions) {
		t.Errorf("allowed codes %v, Modbus exceptions served %d", p.Values, len(modbusExceptions))
	}
	for code := range modbusExceptions {
		if !slices.Contains(p.Values, strconv.Itoa(code)) {
			t.Errorf("Modbus exception %d is not among the allowed codes %v", code, p.Values)
		}
	}
}

// TestFaultSpecChecks checks the table's checks of a spec: defaults filled
// in, ranges, allowed values, fixed targets and misplaced parameters.
func TestFaultSpecChecks(t *testing.T) {
	v := 1.0
	tests := []struct {
		spec FaultSpec
		want string // "" for none
	}{
		{FaultSpec{Kind: FaultSlow, Target: "x"}, ""},
		{FaultSpec{Kind: FaultSlow, Delay: time.Hour}, "fault slow: delay 1h0m0s must be in (0, 10m]"},
		{FaultSpec{Kind: FaultSlow, Delay: -time.Second}, "must be in (0, 10m]"},
		{FaultSpec{Kind: FaultException, Code: 7}, "code 7 is not a Modbus exception; allowed: 1, 2, 3, 4, 5, 6, 8, 10, 11"},
		{FaultSpec{Kind: FaultBadStatus, Status: "Good"}, "is good"},
		{FaultSpec{Kind: FaultJam, Reversals: -1}, "reversals -1 must be ≥ 0"},
		{FaultSpec{Kind: FaultJam, PerTonne: 3}, `fault jam: parameter "per_tonne" does not apply; allowed: reversals`},
		{FaultSpec{Kind: FaultEStop, Value: &v}, `fault estop: parameter "value" does not apply; allowed: none`},
		{FaultSpec{Kind: FaultEStop, Target: "x"}, "no target"},
		{FaultSpec{Kind: FaultJamStorm, PerTonne: -1}, "per_tonne -1 objects/t must be > 0"},
		{FaultSpec{Kind: FaultLevelHH, Flow: 101}, "flow 101 kg/s must be in (0, 100]"},
		{FaultSpec{Kind: FaultLevelHH, Target: "filtrate", Flow: 5}, `parameter "flow" applies to target pulper, not filtrate`},
		{FaultSpec{Kind: FaultLevelHH, Target: "filtrate"}, ""},
		{FaultSpec{Kind: "earthquake"}, `kind "earthquake" is not known; allowed: stop_answering,`},
	}
	for _, tc := range tests {
		errs := tc.spec.Problems()
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%+v: %v, want no problem", tc.spec, errs)
		case tc.want != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.spec, errs, tc.want)
		}
	}
	s := FaultSpec{Kind: FaultLevelHH}
	if d, errs := normalize(&s); d == nil || len(errs) > 0 || s.Target != "pulper" || s.Flow != 20 {
		t.Errorf("level_hh defaults: %+v, %v", s, errs)
	}
}

// TestFaultSpecJSON checks the wire format: the keys in FaultSpec's order,
// zero parameters left out, durations as strings, and the errors of a
// misspelt or misplaced key.
func TestFaultSpecJSON(t *testing.T) {
	zero := 0.0
	for spec, want := range map[*FaultSpec]string{
		{Kind: FaultSlow, Target: "line_io", Delay: 1500 * time.Millisecond}: `{"kind":"slow","target":"line_io","delay":"1.5s"}`,
		{Kind: FaultSensorStuck, Target: "a<b", Value: &zero}:                `{"kind":"sensor_stuck","target":"a\u003cb","value":0}`,
		{Kind: FaultLevelHH, Flow: 2.5}:                                      `{"kind":"level_hh","flow":2.5}`,
		{Kind: FaultJam, Reversals: 2, PerTonne: 1}:                          `{"kind":"jam","per_tonne":1,"reversals":2}`,
	} {
		b, err := json.Marshal(spec)
		if err != nil || string(b) != want {
			t.Errorf("%+v: %s, %v; want %s", *spec, b, err, want)
		}
		var back FaultSpec
		if err := json.Unmarshal(b, &back); spec.Kind != FaultJam && (err != nil || !reflect.DeepEqual(back, *spec)) {
			t.Errorf("%s read back as %+v, %v", b, back, err)
		}
	}
	for in, want := range map[string]string{
		`{"kind":"slow","dealy":"1s"}`:             `fault slow: parameter "dealy" is not known; allowed: delay`,
		`{"kind":"jam","per_tonne":3}`:             `fault jam: parameter "per_tonne" does not apply; allowed: reversals`,
		`{"kind":"slow","delay":"soon"}`:           `delay "soon"`,
		`{"kind":"exception","code":"4"}`:          `code: json: cannot unmarshal`,
		`{"kind":"nope","bogus":1}`:                `parameter "bogus" is not known; allowed: delay, code, status, value, per_minute, sd, per_tonne, reversals, flow`,
		`{"kind":"sensor_drift","per_minute":"x"}`: `per_minute: json: cannot unmarshal`,
	} {
		var s FaultSpec
		if err := json.Unmarshal([]byte(in), &s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", in, err, want)
		}
	}
}
