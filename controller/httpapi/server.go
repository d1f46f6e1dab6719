package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/historian/records"
	"github.com/pretreat/pretreat/historian/report"
)

// Controller is what the server needs of the controller (controller.Engine
// implements it): the last published status, the recipes that may run,
// command submission to the scan, and the audit trail for refusals.
type Controller interface {
	Status() *api.Status
	Recipes() ([]api.RecipeInfo, error)
	Submit(ctx context.Context, c api.Command) api.CommandResult
	Audit(c api.Command, user, role, msg string)
	// AddDelivery hands a checked delivery to the scan; it fills the
	// time (plant clock) and line, and returns the delivery as recorded.
	// A ticket already known gives an error matching api.ErrTicketExists.
	AddDelivery(ctx context.Context, d records.Delivery) (records.Delivery, error)
}

// Server serves the controller API (see package api) over HTTP+JSON.
type Server struct {
	engine   Controller
	records  Records
	calendar report.Calendar // the plant's time zone and shifts, for the report route
	auth     authenticator
	srv      *http.Server
	ln       net.Listener

	hub      *hub          // the status stream's subscribers (stream.go)
	done     chan struct{} // closed when Serve's context ends: streams end
	plant    *plant.File   // points and alarms for trends and the journal; may be nil
	sessions *sessions     // signed-in sessions, lockouts (session.go)
}

// Option configures a Server.
type Option func(*Server)

// WithMaxStreams caps the open status streams (default DefaultMaxStreams;
// n < 1 keeps it); one more is answered 503.
func WithMaxStreams(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.hub.max = n
		}
	}
}

// WithSessionIdle sets how long a session may go unused before it ends
// (default 15 min, or the plant file's api.session_idle through SetPlant).
func WithSessionIdle(d time.Duration) Option {
	return func(s *Server) { s.sessions.idle, s.sessions.idleSet = d, true }
}

// New returns an API server for the controller, with the plant file's
// users (none: the open mode); Listen binds it.
func New(e Controller, users []plant.User, opts ...Option) *Server {
	s := &Server{engine: e, hub: newHub(DefaultMaxStreams), done: make(chan struct{}), sessions: newSessions()}
	s.auth = authenticator{users: users, sessions: s.sessions}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/recipes", s.recipes)
	mux.HandleFunc("POST /api/v1/commands", s.command)
	mux.HandleFunc("GET /api/v1/units/{name}/why", s.why)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /api/v1/batches", s.withRecords(s.batches))
	mux.HandleFunc("GET /api/v1/batches/{id}", s.withRecords(s.batch))
	mux.HandleFunc("GET /api/v1/deliveries", s.withRecords(s.deliveries))
	mux.HandleFunc("POST /api/v1/deliveries", s.addDelivery)
	mux.HandleFunc("GET /api/v1/states", s.withRecords(s.states))
	mux.HandleFunc("GET /api/v1/events", s.withRecords(s.events))
	mux.HandleFunc("GET /api/v1/audit", s.withRecords(s.audit))
	mux.HandleFunc("GET /api/v1/report", s.withRecords(s.report))
	mux.HandleFunc("GET /api/v1/stream", s.stream)
	mux.HandleFunc("GET /api/v1/trend", s.trend)
	mux.HandleFunc("GET /api/v1/alarms/journal", s.withRecords(s.journal))
	mux.HandleFunc("GET /api/v1/units/{name}/events", s.unitEvents)
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("GET /api/v1/whoami", s.whoami)
	s.srv = &http.Server{Handler: s.touchSession(mux), ReadHeaderTimeout: 5 * time.Second}
	return s
}

// Listen binds addr (host:port; port 0 picks a free one).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL clients use.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Serve serves until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	hctx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	go s.hub.run(hctx, s.engine)
	go func() {
		<-ctx.Done()
		close(s.done) // status streams end; Shutdown does not wait for them
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(sctx)
	}()
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.engine.Status())
}

// why answers "why can this unit not start": the unmet permissives and
// active trips that keep it from running, as of the last scan.
func (s *Server) why(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, u := range s.engine.Status().Units {
		if u.Name == name {
			res := api.WhyNot{Unit: name, CanStart: len(u.Why) == 0, Reasons: u.Why}
			if res.Reasons == nil {
				res.Reasons = []string{}
			}
			writeJSON(w, http.StatusOK, res)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "unit " + name + " is not defined"})
}

// metrics serves the scan figures and the line state in the Prometheus
// text exposition format.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	st := s.engine.Status()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	sc := st.Scan
	line := strconv.Quote(st.Line)
	fmt.Fprintf(w, "# HELP pretreat_scan_period_seconds Configured scan period.\n# TYPE pretreat_scan_period_seconds gauge\npretreat_scan_period_seconds{line=%s} %g\n", line, sc.PeriodMs/1e3)
	fmt.Fprintf(w, "# HELP pretreat_scans_total Scans run since start.\n# TYPE pretreat_scans_total counter\npretreat_scans_total{line=%s} %d\n", line, sc.Count)
	fmt.Fprintf(w, "# HELP pretreat_scan_overruns_total Scans that ended after the next was due.\n# TYPE pretreat_scan_overruns_total counter\npretreat_scan_overruns_total{line=%s} %d\n", line, sc.Overruns)
	fmt.Fprintf(w, "# HELP pretreat_scan_exec_seconds Scan execution time.\n# TYPE pretreat_scan_exec_seconds gauge\n")
	for _, q := range []struct {
		name string
		v    float64
	}{{"0.5", sc.ExecP50Us / 1e6}, {"0.99", sc.ExecP99Us / 1e6}, {"1", sc.MaxExecUs / 1e6}} {
		fmt.Fprintf(w, "pretreat_scan_exec_seconds{line=%s,quantile=%q} %g\n", line, q.name, q.v)
	}
	fmt.Fprintf(w, "# HELP pretreat_scan_lateness_seconds How late the scan woke.\n# TYPE pretreat_scan_lateness_seconds gauge\n")
	for _, q := range []struct {
		name string
		v    float64
	}{{"0.5", sc.LatenessP50Ms / 1e3}, {"0.99", sc.LatenessP99Ms / 1e3}, {"1", sc.MaxLatenessMs / 1e3}} {
		fmt.Fprintf(w, "pretreat_scan_lateness_seconds{line=%s,quantile=%q} %g\n", line, q.name, q.v)
	}
	fmt.Fprintf(w, "# HELP pretreat_line_state Line PackML state (1 for the current one).\n# TYPE pretreat_line_state gauge\npretreat_line_state{line=%s,state=%q} 1\n", line, st.State)
	fmt.Fprintf(w, "# HELP pretreat_alarms_active Alarms needing attention.\n# TYPE pretreat_alarms_active gauge\npretreat_alarms_active{line=%s} %d\n", line, st.AlarmCounts.Critical+st.AlarmCounts.High+st.AlarmCounts.Medium+st.AlarmCounts.Low)
	good := 0
	for _, t := range st.Tags {
		if t.Quality.Good() {
			good++
		}
	}
	fmt.Fprintf(w, "# HELP pretreat_output_corrections_total Read-backs that differed from what the controller wants and were written again.\n# TYPE pretreat_output_corrections_total counter\n")
	for _, o := range st.Outputs {
		fmt.Fprintf(w, "pretreat_output_corrections_total{line=%s,device=%q,tag=%q} %d\n", line, o.Device, o.Tag, o.Corrections)
	}
	fmt.Fprintf(w, "# HELP pretreat_output_reasserts_total Outputs written again after a reconnect, or for a write-only point's refresh.\n# TYPE pretreat_output_reasserts_total counter\n")
	for _, o := range st.Outputs {
		fmt.Fprintf(w, "pretreat_output_reasserts_total{line=%s,device=%q,tag=%q} %d\n", line, o.Device, o.Tag, o.Reasserts)
	}
	fmt.Fprintf(w, "# HELP pretreat_device_synced 1 while the device answers and every output is written on its connection.\n# TYPE pretreat_device_synced gauge\n")
	for _, d := range st.Devices {
		v := 0
		if d.Sync == "synced" {
			v = 1
		}
		fmt.Fprintf(w, "pretreat_device_synced{line=%s,device=%q} %d\n", line, d.Name, v)
	}
	fmt.Fprintf(w, "# HELP pretreat_device_comm_losses_total Times the device stopped answering or started a new connection.\n# TYPE pretreat_device_comm_losses_total counter\n")
	for _, d := range st.Devices {
		fmt.Fprintf(w, "pretreat_device_comm_losses_total{line=%s,device=%q} %d\n", line, d.Name, d.CommLosses)
	}
	fmt.Fprintf(w, "# HELP pretreat_tags_good Tags with good quality.\n# TYPE pretreat_tags_good gauge\npretreat_tags_good{line=%s} %d\npretreat_tags_total{line=%s} %d\n", line, good, line, len(st.Tags))
}

func (s *Server) recipes(w http.ResponseWriter, r *http.Request) {
	list, err := s.engine.Recipes()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	var c api.Command
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeJSON(w, http.StatusBadRequest, api.CommandResult{Error: "bad command: " + err.Error()})
		return
	}
	user, role, err := s.auth.identify(r, c.User)
	if err != nil {
		msg := c.Command + " refused: " + err.Error()
		s.engine.Audit(c, c.User, "", msg)
		writeJSON(w, http.StatusUnauthorized, api.CommandResult{Error: msg})
		return
	}
	c.User = user
	if err := authorize(role, c.Command); err != nil {
		msg := c.Command + " refused: " + err.Error()
		s.engine.Audit(c, user, role, msg)
		writeJSON(w, http.StatusForbidden, api.CommandResult{Error: msg})
		return
	}
	c.Reason = truncate(strings.TrimSpace(c.Reason), maxReason)
	if what, ok := needsReason[c.Command]; ok && c.Reason == "" {
		msg := fmt.Sprintf("%s refused: a reason is required: say why %s (reason, up to %d characters)", c.Command, what, maxReason)
		s.engine.Audit(c, user, role, msg)
		writeJSON(w, http.StatusBadRequest, api.CommandResult{Error: msg})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	res := s.engine.Submit(ctx, c)
	code := http.StatusOK
	if !res.OK {
		code = http.StatusConflict
	}
	writeJSON(w, code, res)
}
