package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
)

// Session and sign-in limits (wall time).
const (
	DefaultSessionIdle = 15 * time.Minute
	sessionMax         = 12 * time.Hour // a session ends this long after sign-in, used or not
	lockAfter          = 5              // consecutive failed sign-ins that lock a user
	lockFor            = 5 * time.Minute
	// A client address may fail ipBurst sign-ins at once, then one every
	// minute/ipPerMinute: a token bucket.
	ipBurst     = 10
	ipPerMinute = 10
	maxReason   = 200 // characters of a command's reason kept
	maxLogin    = 4 << 10
)

// needsReason lists the commands that need a reason, with what it says.
var needsReason = map[string]string{
	api.CommandShelve:       "the alarm is shelved",
	api.CommandOutOfService: "the alarm is taken out of service",
}

// session is one signed-in user. Only the SHA-256 of its token is kept.
type session struct {
	user, role    string
	open          bool
	created, used time.Time
}

// lockState counts a user's consecutive failed sign-ins.
type lockState struct {
	fails int
	until time.Time
}

// bucket is a client address's sign-in failure budget.
type bucket struct {
	tokens float64
	at     time.Time
}

// sessions holds the signed-in sessions, the users' lockouts and the
// client addresses' failure budgets.
type sessions struct {
	mu      sync.Mutex
	idle    time.Duration
	idleSet bool // set by an Option: the plant file does not override it
	now     func() time.Time
	byHash  map[string]*session
	locks   map[string]*lockState
	ips     map[string]*bucket
}

func newSessions() *sessions {
	return &sessions{idle: DefaultSessionIdle, now: time.Now, byHash: map[string]*session{}, locks: map[string]*lockState{}, ips: map[string]*bucket{}}
}

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// expires is when se ends unless used again.
func (ss *sessions) expires(se *session) time.Time {
	end := se.used.Add(ss.idle)
	if abs := se.created.Add(sessionMax); abs.Before(end) {
		end = abs
	}
	return end
}

// lookup returns the live session of tok and refreshes its idle timer;
// expired is true when tok was a session that has ended (it is forgotten
// at a later sign-in).
func (ss *sessions) lookup(tok string) (se *session, expired bool) {
	h := tokenHash(tok)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se = ss.byHash[h]
	if se == nil {
		return nil, false
	}
	now := ss.now()
	if !now.Before(ss.expires(se)) {
		return nil, true
	}
	se.used = now
	cp := *se
	return &cp, false
}

// create starts a session and returns its token.
func (ss *sessions) create(user, role string, open bool) (string, api.Session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", api.Session{}, err
	}
	tok := hex.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for h, se := range ss.byHash { // forget sessions ended an hour ago
		if now.Sub(ss.expires(se)) > time.Hour {
			delete(ss.byHash, h)
		}
	}
	se := &session{user: user, role: role, open: open, created: now, used: now}
	ss.byHash[tokenHash(tok)] = se
	return tok, api.Session{Token: tok, User: user, Role: role, Expires: ss.expires(se), IdleS: ss.idle.Seconds(), Open: open}, nil
}

// end forgets the session of tok; false if there was none.
func (ss *sessions) end(tok string) bool {
	h := tokenHash(tok)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ok := ss.byHash[h]
	delete(ss.byHash, h)
	return ok
}

// describe gives the session of tok as api.Session (without the token).
func (ss *sessions) describe(tok string) (api.Session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se := ss.byHash[tokenHash(tok)]
	if se == nil || !ss.now().Before(ss.expires(se)) {
		return api.Session{}, false
	}
	return api.Session{User: se.user, Role: se.role, Expires: ss.expires(se), IdleS: ss.idle.Seconds(), Open: se.open}, true
}

// allowIP says whether addr may try to sign in now (it has failure budget
// left), and if not, in how many seconds it may.
func (ss *sessions) allowIP(addr string) (bool, int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	b := ss.refill(addr)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, int(math.Ceil((1 - b.tokens) * 60 / ipPerMinute))
}

// failIP spends one of addr's failure budget.
func (ss *sessions) failIP(addr string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	b := ss.refill(addr)
	b.tokens = max(b.tokens-1, 0)
}

func (ss *sessions) refill(addr string) *bucket {
	now := ss.now()
	b := ss.ips[addr]
	if b == nil {
		if len(ss.ips) > 4096 { // forget full buckets: they are as good as new
			for k, o := range ss.ips {
				if o.tokens+now.Sub(o.at).Minutes()*ipPerMinute >= ipBurst {
					delete(ss.ips, k)
				}
			}
		}
		b = &bucket{tokens: ipBurst, at: now}
		ss.ips[addr] = b
	}
	b.tokens = min(b.tokens+now.Sub(b.at).Minutes()*ipPerMinute, ipBurst)
	b.at = now
	return b
}

// locked says whether user is locked out now, and until when.
func (ss *sessions) locked(user string) (bool, time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	l := ss.locks[user]
	if l == nil || l.until.IsZero() {
		return false, time.Time{}
	}
	if ss.now().Before(l.until) {
		return true, l.until
	}
	delete(ss.locks, user) // the lock ran out: the count starts again
	return false, time.Time{}
}

// fail counts a failed sign-in of user; it returns true when this one
// locks the user.
func (ss *sessions) fail(user string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	l := ss.locks[user]
	if l == nil {
		l = &lockState{}
		ss.locks[user] = l
	}
	l.fails++
	if l.fails >= lockAfter {
		l.until = ss.now().Add(lockFor)
		return true
	}
	return false
}

func (ss *sessions) succeed(user string) {
	ss.mu.Lock()
	delete(ss.locks, user)
	ss.mu.Unlock()
}

// dummyHash is checked against when the user is not known, so that a
// sign-in takes as long for an unknown user as for a known one.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
	return h
})

// checkPassword says whether password matches hash (bcrypt or argon2id).
func checkPassword(hash, password string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		a, err := plant.ParseArgon2id(hash)
		if err != nil {
			return false
		}
		key := argon2.IDKey([]byte(password), a.Salt, a.Time, a.Memory, a.Threads, uint32(len(a.Key)))
		return subtle.ConstantTimeCompare(key, a.Key) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// clientAddr is the request's remote host (no port).
func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// refuseLogin audits a refused sign-in under the claimed name (never the
// password or token) and answers code with msg.
func (s *Server) refuseLogin(w http.ResponseWriter, code int, claimed, msg string) {
	s.engine.Audit(api.Command{Command: "login"}, truncate("unauthenticated:"+claimed, 64), "", "login refused: "+msg)
	errJSON(w, code, "%s", msg)
}

// login serves POST /api/v1/login: a user and password, or an API token
// alone, give a session token. In open mode any non-empty name signs in
// as engineer (the password is not checked).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var l api.Login
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLogin))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		errJSON(w, http.StatusBadRequest, "bad login: expected {\"user\": …, \"password\": …} or {\"token\": …}")
		return
	}
	l.User = strings.TrimSpace(l.User)
	ss := s.sessions
	if len(s.auth.users) == 0 {
		if l.User == "" {
			errJSON(w, http.StatusBadRequest, "user is required (open mode: any name signs in, as engineer)")
			return
		}
		s.startSession(w, truncate(l.User, 64), plant.RoleEngineer, true)
		return
	}
	addr := clientAddr(r)
	if ok, wait := ss.allowIP(addr); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		s.refuseLogin(w, http.StatusTooManyRequests, l.User, fmt.Sprintf("too many failed sign-ins from %s; try again in %d s", addr, wait))
		return
	}
	if l.Token != "" {
		u := s.auth.tokenUser(l.Token)
		if u == nil || (l.User != "" && l.User != u.Name) {
			ss.failIP(addr)
			s.refuseLogin(w, http.StatusUnauthorized, l.User, "the token is not known")
			return
		}
		s.startSession(w, u.Name, u.Role, false)
		return
	}
	if l.User == "" || l.Password == "" {
		errJSON(w, http.StatusBadRequest, "give user and password, or token")
		return
	}
	var u *plant.User
	for i := range s.auth.users {
		if s.auth.users[i].Name == l.User {
			u = &s.auth.users[i]
		}
	}
	if u != nil {
		if locked, until := ss.locked(u.Name); locked {
			ss.failIP(addr)
			s.refuseLogin(w, http.StatusForbidden, l.User, fmt.Sprintf("user %s is locked after %d failed sign-ins; try again in %d s", u.Name, lockAfter, int(math.Ceil(until.Sub(ss.now()).Seconds()))))
			return
		}
	}
	ok := false
	if u != nil && u.PasswordHash != "" {
		ok = checkPassword(u.PasswordHash, l.Password)
	} else {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(l.Password))
	}
	if !ok {
		ss.failIP(addr)
		if u != nil && ss.fail(u.Name) {
			s.refuseLogin(w, http.StatusUnauthorized, l.User, fmt.Sprintf("user or password is wrong; user %s is now locked for %s after %d failed sign-ins", u.Name, lockFor, lockAfter))
			return
		}
		s.refuseLogin(w, http.StatusUnauthorized, l.User, "user or password is wrong")
		return
	}
	ss.succeed(u.Name)
	s.startSession(w, u.Name, u.Role, false)
}

func (s *Server) startSession(w http.ResponseWriter, user, role string, open bool) {
	_, sess, err := s.sessions.create(user, role, open)
	if err != nil {
		errJSON(w, http.StatusInternalServerError, "no session: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

// logout serves POST /api/v1/logout: the bearer's session ends.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	if tok == "" || !s.sessions.end(tok) {
		errJSON(w, http.StatusUnauthorized, "no session to end: send the session token as bearer token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// whoami serves GET /api/v1/whoami: the bearer's session (without its
// token), or the user of an API token.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	if tok != "" {
		if _, expired := s.sessions.lookup(tok); !expired {
			if sess, ok := s.sessions.describe(tok); ok {
				writeJSON(w, http.StatusOK, sess)
				return
			}
		}
		if u := s.auth.tokenUser(tok); u != nil {
			writeJSON(w, http.StatusOK, api.Session{User: u.Name, Role: u.Role})
			return
		}
	}
	errJSON(w, http.StatusUnauthorized, "not signed in: sign in (POST /api/v1/login) or send an API token")
}

// touchSession refreshes the idle timer of the session a request carries,
// whatever the route.
func (s *Server) touchSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := bearer(r); tok != "" && len(tok) == 64 {
			s.sessions.lookup(tok)
		}
		next.ServeHTTP(w, r)
	})
}

// SetPlant gives the server the plant file: its points (trend units and
// precision), alarms (journal priorities and tags), units (unit events)
// and api.session_idle (unless WithSessionIdle set it).
func (s *Server) SetPlant(f *plant.File) {
	s.plant = f
	if f != nil && f.API.SessionIdle > 0 && !s.sessions.idleSet {
		s.sessions.mu.Lock()
		s.sessions.idle = f.API.SessionIdle
		s.sessions.mu.Unlock()
	}
}
