package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
)

// fakeClock is a settable wall clock for the sessions.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func bcryptOf(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argon2Of(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	b := base64.RawStdEncoding
	return "$argon2id$v=19$m=64,t=1,p=1$" + b.EncodeToString(salt) + "$" + b.EncodeToString(key)
}

// authServer runs a server with users olga (operator, bcrypt password and
// a token), sam (supervisor, argon2id password) and vera (viewer).
func authServer(t *testing.T, opts ...Option) (*Server, *pubController, *fakeClock) {
	t.Helper()
	users := []plant.User{
		{Name: "olga", Role: plant.RoleOperator, PasswordHash: bcryptOf(t, "olga-pw"), TokenSHA256: sha("olga-token")},
		{Name: "sam", Role: plant.RoleSupervisor, PasswordHash: argon2Of("sam-pw")},
		{Name: "vera", Role: plant.RoleViewer, PasswordHash: bcryptOf(t, "vera-pw")},
	}
	pc := newPubController()
	s := New(pc, users, opts...)
	clk := &fakeClock{t: time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)}
	s.sessions.now = clk.now
	serve(t, s)
	return s, pc, clk
}

// whoami asks GET /api/v1/whoami with c's token.
func whoami(t *testing.T, c *api.Client, v *api.Session) error {
	s, err := c.Whoami(t.Context())
	if s != nil {
		*v = *s
	}
	return err
}

func apiStatus(err error) int {
	var ae *api.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Password sign-in with either hash kind, or a token alone, gives a
// session; whoami tells it; commands run as its user; logout ends it.
func TestLoginPasswordsTokenWhoamiLogout(t *testing.T) {
	s, pc, _ := authServer(t)
	ctx := t.Context()
	for _, l := range []api.Login{{User: "olga", Password: "olga-pw"}, {User: "sam", Password: "sam-pw"}, {Token: "olga-token"}} {
		c := api.NewClient(s.URL())
		c.Token = ""
		se, err := c.Login(ctx, l)
		if err != nil {
			t.Fatalf("login %s: %v", l.User, err)
		}
		if len(se.Token) != 64 || c.SessionToken() != se.Token || se.Open || se.IdleS != DefaultSessionIdle.Seconds() {
			t.Errorf("session %+v", se)
		}
		var who api.Session
		if err := whoami(t, c, &who); err != nil || who.User != se.User || who.Role != se.Role || who.Token != "" {
			t.Errorf("whoami: %+v %v", who, err)
		}
		res, err := c.Send(ctx, api.Command{Command: api.CommandReset})
		if err != nil || !res.OK || pc.lastCommand().User != se.User {
			t.Errorf("reset with the session of %s: %+v %v, ran as %q", se.User, res, err, pc.lastCommand().User)
		}
		if err := c.Logout(ctx); err != nil {
			t.Errorf("logout: %v", err)
		}
		c.Token = se.Token
		if err := whoami(t, c, &who); apiStatus(err) != http.StatusUnauthorized {
			t.Errorf("whoami after logout: %v", err)
		}
		if res, _ := c.Send(ctx, api.Command{Command: api.CommandReset}); res.OK {
			t.Error("a command with an ended session ran")
		}
	}
	// The API token itself, as bearer: whoami names its user.
	c := api.NewClient(s.URL())
	c.Token = "olga-token"
	var who api.Session
	if err := whoami(t, c, &who); err != nil || who.User != "olga" || who.Role != plant.RoleOperator {
		t.Errorf("whoami with the API token: %+v %v", who, err)
	}
	// Wrong passwords and tokens.
	for _, l := range []api.Login{{User: "olga", Password: "nope"}, {User: "nobody", Password: "x"}, {Token: "nope"}, {User: "sam", Token: "olga-token"}} {
		c.Token = ""
		if _, err := c.Login(ctx, l); apiStatus(err) != http.StatusUnauthorized {
			t.Errorf("login %+v: %v, want 401", l, err)
		}
	}
	for _, a := range pc.audits() {
		if strings.Contains(a, "nope") || strings.Contains(a, "olga-token") {
			t.Errorf("audit echoes a secret: %q", a)
		}
	}
}

// Regression: `PRETREAT_TOKEN=… pretreat hmi` without --user sent every
// command with a default user and was refused ("the token is olga's, not
// operator's"). A command with no user runs as the token's (or session's)
// user; one naming someone else is refused.
func TestAuthEmptyUserWithTokenIsTheTokensUser(t *testing.T) {
	s, pc, _ := authServer(t)
	c := api.NewClient(s.URL())
	c.Token = "olga-token"
	res, err := c.Send(t.Context(), api.Command{Command: api.CommandAck, Alarm: "a1"})
	if err != nil || !res.OK || pc.lastCommand().User != "olga" {
		t.Fatalf("ack with the token and no user: %+v %v, ran as %q", res, err, pc.lastCommand().User)
	}
	res, _ = c.Send(t.Context(), api.Command{Command: api.CommandAck, Alarm: "a1", User: "operator"})
	if res.OK || !strings.Contains(res.Error, "the token is olga's, not operator's") {
		t.Errorf("a claimed user that is not the token's: %+v", res)
	}
	if _, err := c.Login(t.Context(), api.Login{User: "olga", Password: "olga-pw"}); err != nil {
		t.Fatal(err)
	}
	res, _ = c.Send(t.Context(), api.Command{Command: api.CommandAck, Alarm: "a1"})
	if !res.OK || pc.lastCommand().User != "olga" {
		t.Errorf("ack with the session and no user: %+v", res)
	}
	res, _ = c.Send(t.Context(), api.Command{Command: api.CommandAck, Alarm: "a1", User: "sam"})
	if res.OK || !strings.Contains(res.Error, "the session is olga's, not sam's") {
		t.Errorf("a claimed user that is not the session's: %+v", res)
	}
}

// A viewer signs in and reads but sends no command.
func TestAuthViewerMayNotCommand(t *testing.T) {
	s, _, _ := authServer(t)
	c := api.NewClient(s.URL())
	if _, err := c.Login(t.Context(), api.Login{User: "vera", Password: "vera-pw"}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{api.CommandStart, api.CommandAck, "frobnicate"} {
		res, _ := c.Send(t.Context(), api.Command{Command: cmd, Recipe: "catering"})
		want := "role viewer may not " + cmd + "; it needs operator or above"
		if res.OK || !strings.Contains(res.Error, want) {
			t.Errorf("%s: %+v, want %q", cmd, res, want)
		}
	}
	if _, err := c.Status(t.Context()); err != nil {
		t.Errorf("status: %v", err)
	}
}

// Shelving and taking out of service need a reason, kept to 200
// characters.
func TestAuthShelveAndOutOfServiceNeedAReason(t *testing.T) {
	s, pc, _ := authServer(t)
	c := api.NewClient(s.URL())
	if _, err := c.Login(t.Context(), api.Login{User: "sam", Password: "sam-pw"}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{api.CommandShelve, api.CommandOutOfService} {
		res, _ := c.Send(t.Context(), api.Command{Command: cmd, Alarm: "a1", Value: 600, Reason: "  "})
		if res.OK || !strings.Contains(res.Error, cmd+" refused: a reason is required") {
			t.Errorf("%s without a reason: %+v", cmd, res)
		}
		res, _ = c.Send(t.Context(), api.Command{Command: cmd, Alarm: "a1", Value: 600, Reason: strings.Repeat("é", 300)})
		if !res.OK || pc.lastCommand().Reason != strings.Repeat("é", 200) {
			t.Errorf("%s with a long reason: %+v, reason %d characters", cmd, res, len([]rune(pc.lastCommand().Reason)))
		}
	}
}

// Five wrong passwords in a row lock the user for five minutes (even the
// right one is refused), audited under "unauthenticated:<name>".
func TestLoginLockoutAfterFiveFailures(t *testing.T) {
	s, pc, clk := authServer(t)
	c := api.NewClient(s.URL())
	for i := range 5 {
		_, err := c.Login(t.Context(), api.Login{User: "olga", Password: "Wr0ngPass"})
		if apiStatus(err) != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		if i == 4 && !strings.Contains(err.Error(), "now locked") {
			t.Errorf("fifth failure: %v", err)
		}
	}
	_, err := c.Login(t.Context(), api.Login{User: "olga", Password: "olga-pw"})
	if apiStatus(err) != http.StatusForbidden || !strings.Contains(err.Error(), "user olga is locked after 5 failed sign-ins") {
		t.Fatalf("right password while locked: %v", err)
	}
	clk.add(lockFor + time.Second)
	if _, err := c.Login(t.Context(), api.Login{User: "olga", Password: "olga-pw"}); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	aud := strings.Join(pc.audits(), "\n")
	if strings.Count(aud, "unauthenticated:olga | login refused") != 6 || !strings.Contains(aud, "is locked") || strings.Contains(aud, "Wr0ngPass") || strings.Contains(aud, "olga-pw") {
		t.Errorf("audits:\n%s", aud)
	}
	// A long claimed name is cut to 64 characters in the audit.
	c.Login(t.Context(), api.Login{User: strings.Repeat("m", 100), Password: "x"})
	a := pc.audits()
	if got := a[len(a)-1]; !strings.HasPrefix(got, "unauthenticated:"+strings.Repeat("m", 48)+" |") {
		t.Errorf("long name audited as %q", got)
	}
}

// A client address that fails ten times is refused with 429 until its
// budget refills (one a minute per ten).
func TestLoginRateLimitPerAddress(t *testing.T) {
	s, _, clk := authServer(t)
	c := api.NewClient(s.URL())
	for i := range ipBurst {
		if _, err := c.Login(t.Context(), api.Login{Token: "bad"}); apiStatus(err) != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := c.Login(t.Context(), api.Login{Token: "olga-token"}); apiStatus(err) != http.StatusTooManyRequests || !strings.Contains(err.Error(), "too many failed sign-ins") {
		t.Fatalf("after %d failures: %v", ipBurst, err)
	}
	clk.add(6 * time.Second)
	if _, err := c.Login(t.Context(), api.Login{Token: "olga-token"}); err != nil {
		t.Fatalf("after the budget refilled: %v", err)
	}
}

// A session ends when unused for the idle time (each request refreshes
// it), and 12 h after sign-in whatever happens.
func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	s, _, clk := authServer(t, WithSessionIdle(time.Hour))
	c := api.NewClient(s.URL())
	se, err := c.Login(t.Context(), api.Login{User: "olga", Password: "olga-pw"})
	if err != nil || se.IdleS != 3600 || !se.Expires.Equal(clk.now().Add(time.Hour)) {
		t.Fatalf("session %+v %v", se, err)
	}
	// Any authenticated request keeps it alive, reads included.
	for range 13 { // to 11 h 55 min after sign-in
		clk.add(55 * time.Minute)
		if _, err := c.Status(t.Context()); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+se.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var who api.Session
	if err := whoami(t, c, &who); err != nil || !who.Expires.Equal(se.Expires.Add(-time.Hour).Add(sessionMax)) {
		t.Fatalf("after 11 h 55 min of use: %+v %v, want it to end 12 h after sign-in", who, err)
	}
	clk.add(6 * time.Minute) // 12 h 1 min after sign-in
	res, _ := c.Send(t.Context(), api.Command{Command: api.CommandReset})
	if res.OK || !strings.Contains(res.Error, "the session has ended") {
		t.Errorf("after 12 h: %+v", res)
	}
	// Unused for longer than the idle time.
	se, _ = c.Login(t.Context(), api.Login{User: "olga", Password: "olga-pw"})
	clk.add(time.Hour + time.Second)
	if err := whoami(t, c, &who); apiStatus(err) != http.StatusUnauthorized {
		t.Errorf("whoami after the idle time: %+v %v", who, err)
	}
}

// The plant file's api.session_idle sets the idle time.
func TestSessionIdleFromThePlantFile(t *testing.T) {
	s, _, _ := authServer(t)
	s.SetPlant(&plant.File{API: plant.APIConfig{SessionIdle: 5 * time.Minute}})
	c := api.NewClient(s.URL())
	se, err := c.Login(t.Context(), api.Login{Token: "olga-token"})
	if err != nil || se.IdleS != 300 {
		t.Fatalf("%+v %v", se, err)
	}
}

// Open mode: any name signs in as engineer (Open), an empty one is
// refused, and commands naming their own user still run without a token
// (the CLI).
func TestLoginOpenMode(t *testing.T) {
	pc := newPubController()
	s := New(pc, nil)
	serve(t, s)
	c := api.NewClient(s.URL())
	if _, err := c.Login(t.Context(), api.Login{}); apiStatus(err) != http.StatusBadRequest {
		t.Errorf("empty name: %v", err)
	}
	se, err := c.Login(t.Context(), api.Login{User: "kim", Password: "anything"})
	if err != nil || !se.Open || se.Role != plant.RoleEngineer || se.User != "kim" {
		t.Fatalf("open login: %+v %v", se, err)
	}
	if res, _ := c.Send(t.Context(), api.Command{Command: api.CommandReset}); !res.OK || pc.lastCommand().User != "kim" {
		t.Errorf("command with the open session: %+v as %q", res, pc.lastCommand().User)
	}
	cli := api.NewClient(s.URL())
	cli.Token = ""
	if res, _ := cli.Send(t.Context(), api.Command{Command: api.CommandReset, User: "cli-user"}); !res.OK || pc.lastCommand().User != "cli-user" {
		t.Errorf("CLI command naming its user: %+v", res)
	}
	if res, _ := cli.Send(t.Context(), api.Command{Command: api.CommandReset}); res.OK {
		t.Error("open mode: a command with no user and no session ran")
	}
}

// A login body that is not a login is refused.
func TestLoginBadBody(t *testing.T) {
	s, _, _ := authServer(t)
	resp, err := http.Post(s.URL()+"/api/v1/login", "application/json", bytes.NewReader([]byte(`{"user":"olga","pass":"x"}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e map[string]string
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(e["error"], `"pass"`) {
		t.Errorf("%d %v", resp.StatusCode, e)
	}
}
