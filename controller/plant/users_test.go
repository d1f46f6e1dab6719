package plant

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/pretreat/pretreat/internal/yamlsrc"
)

const (
	testBcrypt   = "$2a$04$B5vdsK0lQ0aOQv5bqRZ5uuMDH5Jd9qB9mFSxoxVbC/MS1dZ2iP4bS"
	testArgon2id = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$TnHkOtHCvLw0GqfYmj6ygVJ2gEjD3qGPrbwmwQwVIcA"
)

func withUsers(users string) []byte {
	return []byte(strings.Replace(string(Sample()), "line: line-1", "users:\n"+users+"line: line-1", 1))
}

// A viewer with only a password hash, and users with either kind of hash
// or a token, are accepted.
func TestUsersViewerAndPasswordHashes(t *testing.T) {
	src := withUsers("  - {name: vera, role: viewer, password_hash: \"" + testBcrypt + "\"}\n" +
		"  - {name: olga, role: operator, password_hash: \"" + testArgon2id + "\"}\n" +
		"  - {name: sam, role: supervisor, token_sha256: " + strings.Repeat("ab", 32) + "}\n")
	f, err := Parse("sample.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Users) != 3 || f.Users[0].Role != RoleViewer || f.Users[1].PasswordHash != testArgon2id {
		t.Fatalf("users = %+v", f.Users)
	}
	if f.API.SessionIdle.Minutes() != 15 {
		t.Errorf("session_idle default = %v, want 15m", f.API.SessionIdle)
	}
}

// A user with neither a password hash nor a token, a hash of an unknown
// kind, and an unknown role are refused at their place in the file.
func TestUsersRefusedWithLineAndColumn(t *testing.T) {
	cases := []struct{ users, want string }{
		{"  - {name: nobody, role: operator}\n", `user "nobody" can never sign in: give it password_hash`},
		{"  - {name: olga, role: operator, password_hash: secret}\n", "$.users[0].password_hash: password_hash is neither bcrypt"},
		{"  - {name: olga, role: operator, password_hash: \"$2b$99$B5vdsK0lQ0aOQv5bqRZ5uuMDH5Jd9qB9mFSxoxVbC/MS1dZ2iP4bS\"}\n", "bcrypt cost \"99\" is out of range"},
		{"  - {name: olga, role: operator, password_hash: \"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$eA\"}\n", "argon2id salt must be at least 8 bytes"},
		{"  - {name: olga, role: guest, password_hash: \"" + testBcrypt + "\"}\n", `role "guest" is not known; allowed: viewer, operator, supervisor, engineer`},
	}
	loc := regexp.MustCompile(`^sample\.yaml:\d+:\d+: \$\.users\[0\]`)
	for _, c := range cases {
		_, err := Parse("sample.yaml", withUsers(c.users))
		var es yamlsrc.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("%q: got %v, want located errors", c.users, err)
		}
		if !strings.Contains(err.Error(), c.want) || !loc.MatchString(err.Error()) {
			t.Errorf("%q:\n got %v\nwant file:line:column: $.users[0]… %q", c.users, err, c.want)
		}
	}
	src := strings.Replace(string(Sample()), "  listen: 127.0.0.1:8470", "  listen: 127.0.0.1:8470\n  session_idle: 10s", 1)
	if _, err := Parse("sample.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "session_idle 10s is out of range") {
		t.Errorf("session_idle 10s: got %v", err)
	}
}
