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
var roleRank = map[string]int{plant.RoleOperator: 1, plant.RoleSupervisor: 2, plant.RoleEngineer: 3}

// commandRole is the least role allowed to send each command.
var commandRole = map[string]string{
	api.CommandStart: plant.RoleOperator, api.CommandHold: plant.RoleOperator, api.CommandUnhold: plant.RoleOperator,
	api.CommandResume: plant.RoleOperator, api.CommandStop: plant.RoleOperator, api.CommandAbort: plant.RoleOperator,
	api.CommandReset: plant.RoleOperator, api.CommandClear: plant.RoleOperator, api.CommandConfirm: plant.RoleOperator,
	api.CommandAck: plant.RoleOperator, api.CommandAckAll: plant.RoleOperator, api.CommandShelve: plant.RoleOperator,
	api.CommandUnshelve: plant.RoleOperator,
	api.CommandOverride: plant.RoleSupervisor, api.CommandOutOfService: plant.RoleSupervisor, api.CommandInService: plant.RoleSupervisor,
}

// authenticator maps bearer tokens to users. With no users configured the
// API is open (loopback by default) and a command names its own user.
type authenticator struct {
	users []plant.User
}

// identify returns the user and role behind a request. In open mode the
// user is the one the command names, with the engineer role.
func (a *authenticator) identify(r *http.Request, claimed string) (user, role string, err error) {
	if len(a.users) == 0 {
		if claimed == "" {
			return "", "", fmt.Errorf("user is required")
		}
		return claimed, plant.RoleEngineer, nil
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", "", fmt.Errorf("a token is required: send Authorization: Bearer <token> (the CLI and HMI read PRETREAT_TOKEN)")
	}
	sum := sha256.Sum256([]byte(tok))
	got := hex.EncodeToString(sum[:])
	for _, u := range a.users {
		if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(u.TokenSHA256))) == 1 {
			if claimed != "" && claimed != u.Name {
				return "", "", fmt.Errorf("the token is %s's, not %s's", u.Name, claimed)
			}
			return u.Name, u.Role, nil
		}
	}
	return "", "", fmt.Errorf("the token is not known")
}

// authorize says whether role may send cmd, and why not.
func authorize(role, cmd string) error {
	need, ok := commandRole[cmd]
	if !ok {
		return nil // unknown commands are refused with their reason by the scan
	}
	if roleRank[role] < roleRank[need] {
		return fmt.Errorf("role %s may not %s; it needs %s or above", role, cmd, need)
	}
	return nil
}
