package influxtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Database is the database Start creates; Bucket is how the 2.x-compatible
// write API of InfluxDB 1.8 names its default retention policy.
const (
	Database = "plant"
	Bucket   = "plant/autogen"
)

// EnvInfluxd names the environment variable that may point at influxd.
const EnvInfluxd = "PRETREAT_INFLUXD"

// InstallHint says how to get influxd; skip messages include it.
const InstallHint = "GOBIN=$HOME/.cache/pretreat/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10 (or set " + EnvInfluxd + ")"

// startTimeout bounds how long Start waits for /ping to answer.
const startTimeout = 60 * time.Second

// Server is a running influxd. Its methods that change the process (Stop,
// Restart, Pause, Resume) are for one test goroutine at a time.
type Server struct {
	// URL is the HTTP base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Dir holds the server's config, data and log (influxd.log).
	Dir string
	// User and Password are the admin credentials when the server was
	// started with Options.Auth; the 1.8 token is User:Password.
	User, Password string

	http     *http.Client
	bin      string
	confPath string
	logPath  string

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil while stopped
	exited chan struct{} // closed when cmd has been waited for
	err    error         // cmd's exit status, once exited is closed
}

// Options change how Start configures the server.
type Options struct {
	// Auth turns on authentication ([http] auth-enabled) and creates an
	// admin user; Server.Token gives the 1.8 token for it.
	Auth bool
}

// Token returns "user:password" of the admin user, or "" without Auth.
func (s *Server) Token() string {
	if s.User == "" {
		return ""
	}
	return s.User + ":" + s.Password
}

// Find returns the path of influxd, or "" when it is not installed.
func Find() string {
	if p := os.Getenv(EnvInfluxd); p != "" {
		if isExecutable(p) {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath("influxd"); err == nil {
		return p
	}
	var candidates []string
	if d, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(d, "pretreat", "bin", "influxd"))
	}
	candidates = append(candidates, "/root/.cache/pretreat/bin/influxd")
	for _, p := range candidates {
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start starts influxd for t, waits until it answers, and creates Database.
// It skips t when influxd is not installed or under -short, and stops the
// server (only this one) when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the InfluxDB test under -short (it starts influxd)")
	}
	bin := Find()
	if bin == "" {
		if p := os.Getenv(EnvInfluxd); p != "" {
			t.Skipf("influxd not found: %s=%q is not an executable; install with %s", EnvInfluxd, p, InstallHint)
		}
		t.Skipf("influxd not found (not in $%s, on PATH, or in ~/.cache/pretreat/bin); install with %s", EnvInfluxd, InstallHint)
	}
	// A port picked free can be taken by someone else before influxd binds
	// it; try again with fresh ports when influxd exits early.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, o)
		if err == nil {
			if o.Auth {
				// With no user yet, InfluxDB 1.8 lets anyone create the
				// first admin; after that every request needs credentials.
				const user, password = "admin", "pretreat-test-pw"
				if _, err := s.Query("", fmt.Sprintf("CREATE USER %q WITH PASSWORD '%s' WITH ALL PRIVILEGES", user, password)); err != nil {
					t.Fatalf("influxtest: %v", err)
				}
				s.User, s.Password = user, password
			}
			if err := s.CreateDatabase(Database); err != nil {
				t.Fatalf("influxtest: %v", err)
			}
			return s
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatalf("influxtest: %v", lastErr)
	return nil
}

var errExited = errors.New("influxd exited during start")

func start(t testing.TB, bin string, o Options) (*Server, error) {
	dir := t.TempDir()
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	rpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	base, err := exec.Command(bin, "config").Output()
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", bin, err)
	}
	conf, err := editConfig(base, dir, httpPort, rpcPort, o.Auth)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "influxd.conf")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		return nil, err
	}
	s := &Server{
		URL:      "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		Dir:      dir,
		http:     &http.Client{Timeout: 30 * time.Second},
		bin:      bin,
		confPath: confPath,
		logPath:  filepath.Join(dir, "influxd.log"),
	}
	t.Cleanup(s.Kill)
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// run starts the process with the server's config and waits for /ping.
func (s *Server) run() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "run", "-config", s.confPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "INFLUXDB_REPORTING_DISABLED=true")
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			s.mu.Lock()
			err := s.err
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("%w (%v); log:\n%s", errExited, err, tail(s.logPath))
		default:
		}
		if s.ping() {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("influxd did not answer /ping at %s within %v; log:\n%s", s.URL, startTimeout, tail(s.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID returns the process id of the running influxd, 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// signal sends sig to this server's process only, by its handle.
func (s *Server) signal(sig os.Signal) (chan struct{}, error) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil, errors.New("influxtest: influxd is not running")
	}
	return exited, cmd.Process.Signal(sig)
}

// Stop stops influxd the way a service manager does: SIGTERM, then
// SIGKILL if it has not exited within 30 s. Its data stays for Restart.
func (s *Server) Stop() error {
	exited, err := s.signal(syscall.SIGCONT) // a paused process cannot handle SIGTERM
	if err != nil {
		return err
	}
	if _, err := s.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		s.Kill()
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return nil
}

// Kill kills influxd with SIGKILL (if it runs) and waits for it. It is
// registered as the test's cleanup.
func (s *Server) Kill() {
	exited, err := s.signal(syscall.SIGKILL)
	if err != nil {
		return
	}
	<-exited
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

// Restart starts the stopped server again on the same ports with the same
// data, and waits until it answers.
func (s *Server) Restart() error {
	if s.PID() != 0 {
		return errors.New("influxtest: Restart: influxd is still running")
	}
	return s.run()
}

// Pause stops the process with SIGSTOP: it keeps its sockets, the kernel
// still accepts connections, and nothing answers, as when a server hangs.
func (s *Server) Pause() error {
	_, err := s.signal(syscall.SIGSTOP)
	return err
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() error {
	_, err := s.signal(syscall.SIGCONT)
	return err
}

func (s *Server) ping() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/ping", nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

// freePort asks the OS for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// editConfig rewrites the output of `influxd config` for a private test
// server: its directories under dir, both listeners on loopback ports,
// no usage reporting, Flux on, quiet logs and no self-monitoring database.
// It fails when a key it must set is not in the config, so that a changed
// influxd does not silently run with defaults (such as port 8086).
func editConfig(base []byte, dir string, httpPort, rpcPort int, auth bool) ([]byte, error) {
	q := strconv.Quote
	set := map[string]map[string]string{
		"": {
			"reporting-disabled": "true",
			"bind-address":       q(net.JoinHostPort("127.0.0.1", strconv.Itoa(rpcPort))),
		},
		"meta": {"dir": q(filepath.Join(dir, "meta"))},
		"data": {
			"dir":               q(filepath.Join(dir, "data")),
			"wal-dir":           q(filepath.Join(dir, "wal")),
			"query-log-enabled": "false",
		},
		"http": {
			"bind-address": q(net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))),
			"flux-enabled": "true",
			"log-enabled":  "false",
			"auth-enabled": strconv.FormatBool(auth),
		},
		"monitor": {"store-enabled": "false"},
		"logging": {"level": q("warn"), "suppress-logo": "true"},
	}
	required := map[string]bool{
		"/reporting-disabled": true, "/bind-address": true, "meta/dir": true,
		"data/dir": true, "data/wal-dir": true, "http/bind-address": true, "http/flux-enabled": true,
	}
	var out bytes.Buffer
	section := ""
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(base))
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "[[") && strings.HasSuffix(trim, "]]"):
			section = "[[" + strings.Trim(trim, "[]") + "]]" // arrays of tables: left alone
		case strings.HasPrefix(trim, "[") && strings.HasSuffix(trim, "]"):
			section = strings.Trim(trim, "[]")
		default:
			if key, _, ok := strings.Cut(trim, "="); ok {
				key = strings.TrimSpace(key)
				if v, ok := set[section][key]; ok {
					indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
					line = indent + key + " = " + v
					seen[section+"/"+key] = true
				}
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var missing []string
	for k := range required {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("influxd config has no %s to set; this influxd is not the 1.8 this helper knows", strings.Join(missing, ", "))
	}
	return out.Bytes(), nil
}

// tail returns the last lines of a log file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Series is one series of an InfluxQL result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs InfluxQL q against db through the 1.x /query endpoint (POST,
// so that statements which change data are allowed) and returns the series
// of its first statement. Numbers come back as json.Number; times as
// nanoseconds since the epoch.
func (s *Server) Query(db, q string) ([]Series, error) {
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	var r struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d: %s", q, resp.StatusCode, body)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %q: HTTP %d: %s", q, resp.StatusCode, body)
	}
	if len(r.Results) == 0 {
		return nil, nil
	}
	if r.Results[0].Error != "" {
		return nil, fmt.Errorf("query %q: %s", q, r.Results[0].Error)
	}
	return r.Results[0].Series, nil
}

// MustQuery is Query that fails t on error.
func (s *Server) MustQuery(t testing.TB, db, q string) []Series {
	t.Helper()
	series, err := s.Query(db, q)
	if err != nil {
		t.Fatalf("influxtest: %v", err)
	}
	return series
}

// CreateDatabase creates database name (no error if it exists).
func (s *Server) CreateDatabase(name string) error {
	_, err := s.Query("", "CREATE DATABASE "+strconv.Quote(name))
	return err
}

// Count runs a query whose first column after time is a single count (e.g.
// SELECT count("value") FROM "process" WHERE ...) and returns it; no rows
// count as 0.
func (s *Server) Count(t testing.TB, db, q string) int {
	t.Helper()
	series := s.MustQuery(t, db, q)
	if len(series) == 0 || len(series[0].Values) == 0 {
		return 0
	}
	if len(series) != 1 || len(series[0].Values) != 1 || len(series[0].Values[0]) < 2 {
		t.Fatalf("influxtest: %q: want one row with a count, got %+v", q, series)
	}
	num, ok := series[0].Values[0][1].(json.Number)
	n, err := num.Int64()
	if !ok || err != nil {
		t.Fatalf("influxtest: %q: count %v: %v", q, series[0].Values[0][1], err)
	}
	return int(n)
}

// Write posts line protocol to db through the 1.x /write endpoint, with
// the admin credentials when the server has them.
func (s *Server) Write(db, lines string) error {
	form := url.Values{"db": {db}, "precision": {"ns"}}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/write?"+form.Encode(), strings.NewReader(lines))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("write: HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}
