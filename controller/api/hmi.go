package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cause is why the line is stopped, held or aborted: the first-out of the
// stop, and whether it is still present. The controller keeps it until the
// line runs again (or is reset), so that an operator who comes to the
// screen later still sees what stopped the line.
type Cause struct {
	// Kind is interlock, alarm, comm_loss, unit_fault, start_failure,
	// operator (a hold, stop or abort command) or other.
	Kind string `json:"kind"`
	// Source names the interlock, alarm, device or unit; Unit the unit it
	// concerns, if any.
	Source string `json:"source,omitempty"`
	Unit   string `json:"unit,omitempty"`
	// Text says it in words, e.g. "filtrate tank level high-high
	// (filtrate_level_hh)".
	Text  string    `json:"text"`
	Since time.Time `json:"since"`
	// Active is true while the cause is still present; false once it has
	// cleared (the line may then be unheld or reset).
	Active bool   `json:"active"`
	User   string `json:"user,omitempty"` // for an operator's command
}

// NextAction is what the operator can do next, in words, and the command
// that does it (empty when the operator must wait or act in the plant).
type NextAction struct {
	Command string `json:"command,omitempty"`
	Text    string `json:"text"`
}

// AlarmCounts counts the alarms that need attention by priority and state.
type AlarmCounts struct {
	Critical       int `json:"critical"`
	High           int `json:"high"`
	Medium         int `json:"medium"`
	Low            int `json:"low"`
	Unacknowledged int `json:"unacknowledged"`
	Shelved        int `json:"shelved"`
	OutOfService   int `json:"out_of_service"`
	// Per10Min is the number of alarms raised (annunciated) in the last 10
	// minutes of plant time; ISA-18.2 aims for at most 10 (Flood is true
	// above that).
	Per10Min int  `json:"per_10min"`
	Flood    bool `json:"flood"`
}

// FlowEdge is one connection of the line's graph: material flows from
// From to To (unit names).
type FlowEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ModuleStatus is a unit's control module state beyond run/stop.
type ModuleStatus struct {
	// JamState is the shredder's jam logic state (normal, reversing,
	// retrying, jammed) and Reversals the reversals in the current
	// window of WindowS seconds; MaxReversals the limit before a trip.
	JamState     string  `json:"jam_state,omitempty"`
	Reversals    int     `json:"reversals,omitempty"`
	MaxReversals int     `json:"max_reversals,omitempty"`
	WindowS      float64 `json:"window_s,omitempty"`
	// PIDOutput is the output (0–100 %) of the unit's loop, if it has one;
	// PIDSetpoint and PIDProcess its setpoint and measurement.
	PIDOutput   *float64 `json:"pid_output,omitempty"`
	PIDSetpoint *float64 `json:"pid_setpoint,omitempty"`
	PIDProcess  *float64 `json:"pid_process,omitempty"`
	// Detail lists other module values as name → text.
	Detail map[string]string `json:"detail,omitempty"`
}

// SetpointStatus is one setpoint of a unit for the running batch: its
// value, its limits and whether a supervisor may override it (with
// Parameter as the override command's parameter).
type SetpointStatus struct {
	Name        string  `json:"name"`
	Parameter   string  `json:"parameter,omitempty"`
	Value       float64 `json:"value"`
	Unit        string  `json:"unit,omitempty"`
	Min         float64 `json:"min"`
	Max         float64 `json:"max"`
	Overridable bool    `json:"overridable"`
}

// Trend is the answer of GET /api/v1/trend: one pen per tag over
// [From, To), in buckets of StepMs.
type Trend struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	StepMs float64   `json:"step_ms"`
	Pens   []Pen     `json:"pens"`
}

// Pen is one tag of a trend. Buckets without a good sample are left out.
type Pen struct {
	Tag       string       `json:"tag"`
	Unit      string       `json:"unit,omitempty"`
	Precision int          `json:"precision"` // decimals to show
	Points    []TrendPoint `json:"points"`
}

// TrendPoint is one bucket of a pen.
type TrendPoint struct {
	Time  time.Time `json:"time"`
	Count int       `json:"count"`
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
}

// JournalEntry is one alarm transition in the alarm journal.
type JournalEntry struct {
	Time     time.Time `json:"time"`
	Alarm    string    `json:"alarm"`
	Priority string    `json:"priority,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Tag      string    `json:"tag,omitempty"`
	// Event is raised, returned, acknowledged, shelved, unshelved,
	// out_of_service or in_service; State the alarm's state after it.
	Event   string  `json:"event"`
	State   string  `json:"state,omitempty"`
	Value   float64 `json:"value"`
	User    string  `json:"user,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Message string  `json:"message,omitempty"`
}

// JournalQuery filters the alarm journal; zero fields do not filter.
// Limit (default 500) keeps the newest entries.
type JournalQuery struct {
	From, To time.Time
	Alarm    string
	Priority string
	Unit     string
	Event    string
	Limit    int
}

// Login is the body of POST /api/v1/login: a user and password, or an API
// token alone.
type Login struct {
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// Session is a signed-in user: the session token to send as bearer token,
// the role, and when the session ends if unused (idle expiry).
type Session struct {
	Token   string    `json:"token"`
	User    string    `json:"user"`
	Role    string    `json:"role"` // viewer, operator, supervisor, engineer
	Expires time.Time `json:"expires"`
	IdleS   float64   `json:"idle_s"` // idle expiry in seconds
	// Open is true when the controller runs without users (open mode):
	// anyone may sign in under any name, as engineer.
	Open bool `json:"open,omitempty"`
}

// Trend fetches tags over [from, to) in at most points buckets.
func (c *Client) Trend(ctx context.Context, tags []string, from, to time.Time, points int) (*Trend, error) {
	q := url.Values{"tag": {strings.Join(tags, ",")}}
	if points > 0 {
		q.Set("points", strconv.Itoa(points))
	}
	var out Trend
	if err := c.getRecords(ctx, "/api/v1/trend"+rangeQuery(from, to, q), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AlarmJournal returns the alarm journal entries matching q, oldest first.
func (c *Client) AlarmJournal(ctx context.Context, q JournalQuery) ([]JournalEntry, error) {
	v := url.Values{}
	for k, s := range map[string]string{"alarm": q.Alarm, "priority": q.Priority, "unit": q.Unit, "event": q.Event} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out []JournalEntry
	err := c.getRecords(ctx, "/api/v1/alarms/journal"+rangeQuery(q.From, q.To, v), &out)
	return out, err
}

// UnitEvents returns the newest events (at most limit) concerning unit.
func (c *Client) UnitEvents(ctx context.Context, unit string, limit int) ([]JournalEventRef, error) {
	var out []JournalEventRef
	err := c.getRecords(ctx, "/api/v1/units/"+url.PathEscape(unit)+"/events?limit="+strconv.Itoa(limit), &out)
	return out, err
}

// JournalEventRef is one event of a unit as the faceplate lists it.
type JournalEventRef struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	User    string    `json:"user,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Login signs in and returns the session. On success the client (and
// every copy of it) keeps the session token and sends it with every later
// request instead of Token, until Logout.
func (c *Client) Login(ctx context.Context, l Login) (*Session, error) {
	body, _ := json.Marshal(l)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	// A login carries no old session or token: the body says who.
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s Session
	if err := decodeAnswer(resp, &s); err != nil {
		return nil, err
	}
	c.setSession(s.Token)
	return &s, nil
}

// Logout ends the client's session.
func (c *Client) Logout(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/api/v1/logout", nil)
	if err != nil {
		return err
	}
	var out map[string]any
	err = c.do(req, &out)
	c.setSession("")
	return err
}

// ErrStreamUnsupported: the controller does not serve the status stream
// (an older controller); poll instead.
var ErrStreamUnsupported = errors.New("the controller serves no status stream")

// Stream subscribes to GET /api/v1/stream (server-sent events) and calls
// fn with every status the controller publishes, until ctx is done or the
// stream breaks; it returns the error that ended it (nil when ctx ended
// it). fn runs on the calling goroutine and should not block for long:
// the controller drops a subscriber that falls too far behind. The
// client's HTTP timeout does not apply to the stream.
func (c *Client) Stream(ctx context.Context, fn func(*Status)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/api/v1/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	c.authorize(req)
	hc := http.Client{Transport: c.HTTP.Transport} // no overall timeout for a stream
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return ErrStreamUnsupported
	case resp.StatusCode != http.StatusOK:
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data []byte
	event := ""
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0: // end of one event
			if len(data) > 0 && (event == "" || event == "status") {
				var st Status
				if err := json.Unmarshal(data, &st); err != nil {
					return fmt.Errorf("status stream: %w", err)
				}
				fn(&st)
			}
			data, event = data[:0], ""
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))...)
		case bytes.HasPrefix(line, []byte("event:")):
			event = strings.TrimSpace(string(line[len("event:"):]))
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("status stream: the controller closed it")
}

// Whoami returns the session (or API token's user) the client signs its
// requests with, as the controller sees it; the token is not repeated.
func (c *Client) Whoami(ctx context.Context) (*Session, error) {
	var s Session
	if err := c.getRecords(ctx, "/api/v1/whoami", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SessionToken is the token of the client's session ("" when not signed
// in with Login).
func (c *Client) SessionToken() string {
	s := c.sessionState()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.token
}
