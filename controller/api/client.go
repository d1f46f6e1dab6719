package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Client talks to a controller's API. It is safe for concurrent use.
type Client struct {
	// Base is the controller's base URL, e.g. http://127.0.0.1:8470.
	Base string
	HTTP *http.Client
	// Token, when set, is sent as a bearer token (a controller with users
	// configured requires one). A session from Login takes its place.
	Token string

	session *sessionToken // set by Login; shared by copies of the client
}

// sessionToken is the token of the client's session, if signed in.
type sessionToken struct {
	mu    sync.RWMutex
	token string
}

// sessionInit guards the lazy creation of Client.session.
var sessionInit sync.Mutex

// sessionState returns the client's session holder, creating it once.
func (c *Client) sessionState() *sessionToken {
	sessionInit.Lock()
	defer sessionInit.Unlock()
	if c.session == nil {
		c.session = &sessionToken{}
	}
	return c.session
}

// authorize sets the bearer token on req: the session's, else Token.
func (c *Client) authorize(req *http.Request) {
	s := c.sessionState()
	s.mu.RLock()
	tok := s.token
	s.mu.RUnlock()
	if tok == "" {
		tok = c.Token
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
}

// setSession replaces the session token ("" ends it).
func (c *Client) setSession(tok string) {
	s := c.sessionState()
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// NewClient returns a client for the controller at base (http://host:port).
// Its token is taken from the environment variable PRETREAT_TOKEN, if set.
func NewClient(base string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 5 * time.Second}, Token: os.Getenv("PRETREAT_TOKEN")}
}

// Status fetches the current line status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	if err := c.get(ctx, "/api/v1/status", &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Recipes lists the recipes the controller can run.
func (c *Client) Recipes(ctx context.Context) ([]RecipeInfo, error) {
	var r []RecipeInfo
	err := c.get(ctx, "/api/v1/recipes", &r)
	return r, err
}

// Send posts a command. A refused command returns a result with OK false and
// the reason, and a nil error; err is for transport failures.
func (c *Client) Send(ctx context.Context, cmd Command) (*CommandResult, error) {
	body, _ := json.Marshal(cmd)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/api/v1/commands", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.authorize(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res CommandResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("command %s: HTTP %d: %w", cmd.Command, resp.StatusCode, err)
	}
	return &res, nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Why asks why a unit cannot start or run now.
func (c *Client) Why(ctx context.Context, unit string) (*WhyNot, error) {
	var w WhyNot
	if err := c.get(ctx, "/api/v1/units/"+unit+"/why", &w); err != nil {
		return nil, err
	}
	return &w, nil
}
