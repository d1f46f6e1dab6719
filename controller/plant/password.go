package plant

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Argon2id is a parsed argon2id password hash in PHC form:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> (salt and hash
// in unpadded standard base64).
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// ParseArgon2id parses an argon2id hash in PHC form.
func ParseArgon2id(h string) (*Argon2id, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, fmt.Errorf("not an argon2id hash; allowed: $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("argon2id version %q is not supported; allowed: v=19", parts[2])
	}
	var a Argon2id
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || seen[k] {
			return nil, fmt.Errorf("argon2id parameter %q is not k=number", kv)
		}
		seen[k] = true
		switch k {
		case "m":
			a.Memory = uint32(n)
		case "t":
			a.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("argon2id p=%d is out of range; allowed: 1 to 255", n)
			}
			a.Threads = uint8(n)
		default:
			return nil, fmt.Errorf("argon2id parameter %q is not known; allowed: m, t, p", k)
		}
	}
	switch {
	case a.Time < 1 || a.Threads < 1:
		return nil, fmt.Errorf("argon2id needs t ≥ 1 and p ≥ 1")
	case a.Memory < 8*uint32(a.Threads) || a.Memory > 4<<20:
		return nil, fmt.Errorf("argon2id m=%d KiB is out of range; allowed: 8×p to 4194304", a.Memory)
	}
	var err error
	if a.Salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(a.Salt) < 8 {
		return nil, fmt.Errorf("argon2id salt must be at least 8 bytes in unpadded base64")
	}
	if a.Key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.Key) < 16 {
		return nil, fmt.Errorf("argon2id hash must be at least 16 bytes in unpadded base64")
	}
	return &a, nil
}

// CheckPasswordHash says whether h is a password hash the API can check: a
// bcrypt hash ($2a$, $2b$ or $2y$, cost 4 to 31) or an argon2id one.
func CheckPasswordHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$argon2id$"):
		_, err := ParseArgon2id(h)
		return err
	case strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"):
		// $2b$10$ + 22 characters of salt + 31 of hash.
		if len(h) != 60 || h[6] != '$' {
			return fmt.Errorf("password_hash is not a whole bcrypt hash (60 characters, e.g. $2b$12$…)")
		}
		cost, err := strconv.Atoi(h[4:6])
		if err != nil || cost < 4 || cost > 31 {
			return fmt.Errorf("bcrypt cost %q is out of range; allowed: 04 to 31", h[4:6])
		}
		return nil
	}
	return fmt.Errorf("password_hash is neither bcrypt ($2a$/$2b$…) nor argon2id ($argon2id$v=19$…); the password itself never goes in the plant file")
}
