package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
)

// roleRank orders the roles: each may do what the ones below it may.
var roleRank = map[string]int{plant.RoleViewer: 0, plant.RoleOperator: 1, plant.RoleSupervisor: 2, plant.RoleEngineer: 3}

// commandRole is the least role allowed to send each command.
var commandRole = map[string]string{
	api.CommandStart: plant.RoleOperator, api.CommandHold: plant.RoleOperator, api.CommandUnhold: plant.RoleOperator,
	api.CommandResume: plant.RoleOperator, api.CommandStop: plant.RoleOperator, api.CommandAbort: plant.RoleOperator,
	api.CommandReset: plant.RoleOperator, api.CommandClear: plant.RoleOperator, api.CommandConfirm: plant.RoleOperator,
	api.CommandAck: plant.RoleOperator, api.CommandAckAll: plant.RoleOperator, api.CommandShelve: plant.RoleOperator,
	api.CommandUnshelve: plant.RoleOperator,
	api.CommandOverride: plant.RoleSupervisor, api.CommandOutOfService: plant.RoleSupervisor, api.CommandInService: plant.RoleSupervisor,
}

// authenticator maps bearer tokens to users: a session token (from POST
// /api/v1/login) or a user's API token. With no users configured the API
// is open (loopback by default) and a command names its own user.
type authenticator struct {
	users    []plant.User
	sessions *sessions
}

// bearer returns the request's bearer token, or "".
func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(tok)
}

// tokenUser returns the user whose API token tok is, or nil.
func (a *authenticator) tokenUser(tok string) *plant.User {
	sum := sha256.Sum256([]byte(tok))
	got := hex.EncodeToString(sum[:])
	var found *plant.User
	for i, u := range a.users {
		if u.TokenSHA256 != "" && subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(u.TokenSHA256))) == 1 {
			found = &a.users[i]
		}
	}
	return found
}

// identify returns the user and role behind a request: the user of its
// session or API token. A claimed user (the command's or delivery's) may
// be empty — then it is the token's — or must be the token's own. In open
// mode the user is the one the command names (else the session's), with
// the engineer role.
func (a *authenticator) identify(r *http.Request, claimed string) (user, role string, err error) {
	tok := bearer(r)
	var se *session
	var expired bool
	if tok != "" && a.sessions != nil {
		se, expired = a.sessions.lookup(tok)
	}
	if len(a.users) == 0 {
		switch {
		case claimed != "":
			return claimed, plant.RoleEngineer, nil
		case se != nil:
			return se.user, plant.RoleEngineer, nil
		}
		return "", "", fmt.Errorf("user is required")
	}
	if se != nil {
		if claimed != "" && claimed != se.user {
			return "", "", fmt.Errorf("the session is %s's, not %s's", se.user, claimed)
		}
		return se.user, se.role, nil
	}
	if tok == "" {
		return "", "", fmt.Errorf("a token is required: sign in (POST /api/v1/login) or send Authorization: Bearer <token> (the CLI and HMI read PRETREAT_TOKEN)")
	}
	if expired {
		return "", "", fmt.Errorf("the session has ended (unused too long, or 12 h old); sign in again")
	}
	if u := a.tokenUser(tok); u != nil {
		if claimed != "" && claimed != u.Name {
			return "", "", fmt.Errorf("the token is %s's, not %s's", u.Name, claimed)
		}
		return u.Name, u.Role, nil
	}
	return "", "", fmt.Errorf("the token is not known")
}

// authorize says whether role may send cmd, and why not.
func authorize(role, cmd string) error {
	need, ok := commandRole[cmd]
	if role == plant.RoleViewer {
		if !ok {
			need = plant.RoleOperator
		}
		return fmt.Errorf("role %s may not %s; it needs %s or above", role, cmd, need)
	}
	if !ok {
		return nil // unknown commands are refused with their reason by the scan
	}
	if roleRank[role] < roleRank[need] {
		return fmt.Errorf("role %s may not %s; it needs %s or above", role, cmd, need)
	}
	return nil
}
