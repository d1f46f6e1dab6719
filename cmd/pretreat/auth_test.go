package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestRolesAndAuditTrail runs a controller with users and roles: commands
// need a token, each role may do only its own, and every command, accepted
// or refused, lands in the audit trail with its user.
func TestRolesAndAuditTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rig and a controller; skipped with -short")
	}
	p, _, dir := startLineWith(t, lineOptions{speed: 20, plant: func(f *plant.File) {
		f.Users = []plant.User{
			{Name: "anna", Role: plant.RoleOperator, TokenSHA256: sha("anna-token")},
			{Name: "sam", Role: plant.RoleSupervisor, TokenSHA256: sha("sam-token")},
		}
	}})
	c := api.NewClient(p.Server.URL())
	waitGood(t, c, time.Minute)
	cases := []struct {
		token string
		cmd   api.Command
		ok    bool
		want  string
	}{
		{"", api.Command{Command: api.CommandReset, User: "anna"}, false, "reset refused: a token is required"},
		{"wrong", api.Command{Command: api.CommandReset}, false, "reset refused: the token is not known"},
		{"anna-token", api.Command{Command: api.CommandReset, User: "sam"}, false, "the token is anna's, not sam's"},
		{"anna-token", api.Command{Command: api.CommandReset}, true, ""},
		{"anna-token", api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 12}, false, "override refused: role operator may not override; it needs supervisor or above"},
		{"anna-token", api.Command{Command: api.CommandStart, Recipe: "catering"}, true, ""},
		{"sam-token", api.Command{Command: api.CommandOverride, Parameter: "press_speed", Value: 12}, true, ""},
		{"sam-token", api.Command{Command: api.CommandAbort}, true, ""},
	}
	for i, tc := range cases {
		c.Token = tc.token
		res, err := c.Send(t.Context(), tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != tc.ok || !strings.Contains(res.Error, tc.want) {
			t.Errorf("case %d %s with %q: got %+v, want ok=%v %q", i, tc.cmd.Command, tc.token, res, tc.ok, tc.want)
		}
		time.Sleep(150 * time.Millisecond) // let Resetting/Starting finish
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := historian.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(time.Time{}, time.Now().Add(24*time.Hour*365))
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range evs {
		if e.Kind == historian.EventCommand && (e.User == "anna" || e.User == "sam" || strings.HasSuffix(e.Name, ":refused")) {
			trail = append(trail, e.User+" "+e.Name)
		}
	}
	want := []string{"anna reset:refused", " reset:refused", "sam reset:refused", "anna reset", "anna override:refused", "anna start", "sam override", "sam abort"}
	if strings.Join(trail, "|") != strings.Join(want, "|") {
		t.Errorf("audit trail\n got %q\nwant %q", trail, want)
	}
	bs, _ := st.Batches()
	if len(bs) != 1 || bs[0].State != "aborted" || len(bs[0].Overrides) != 1 || bs[0].Overrides[0].User != "sam" || bs[0].User != "anna" {
		t.Fatalf("batch record %+v: want aborted, started by anna, one override by sam", bs)
	}
	var acts []string
	for _, a := range bs[0].Actions {
		acts = append(acts, a.User+" "+a.Command)
	}
	if got := strings.Join(acts, "|"); got != "anna start|sam override|sam abort" {
		t.Errorf("operator actions in the batch record: %q", got)
	}
}
