package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pretreat/pretreat/historian/records"
)

// ErrTicketExists: a delivery with this weighbridge ticket is already
// recorded (the API answers 409).
var ErrTicketExists = errors.New("a delivery with this ticket is already recorded")

// APIError is a refusal by the API: its HTTP status and message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// Is makes a 409 match ErrTicketExists.
func (e *APIError) Is(target error) bool {
	return target == ErrTicketExists && e.Status == http.StatusConflict
}

// rangeQuery encodes from and to (zero: open) as RFC 3339 query parameters.
func rangeQuery(from, to time.Time, extra url.Values) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339Nano))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Batches returns the batch records that started in [from, to) (a zero
// time leaves that end open), oldest first.
func (c *Client) Batches(ctx context.Context, from, to time.Time) ([]records.Batch, error) {
	var out []records.Batch
	err := c.getRecords(ctx, "/api/v1/batches"+rangeQuery(from, to, nil), &out)
	return out, err
}

// Batch returns one batch record.
func (c *Client) Batch(ctx context.Context, id string) (*records.Batch, error) {
	var b records.Batch
	if err := c.getRecords(ctx, "/api/v1/batches/"+url.PathEscape(id), &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Deliveries returns the deliveries received in [from, to), oldest first.
func (c *Client) Deliveries(ctx context.Context, from, to time.Time) ([]records.Delivery, error) {
	var out []records.Delivery
	err := c.getRecords(ctx, "/api/v1/deliveries"+rangeQuery(from, to, nil), &out)
	return out, err
}

// States returns the line's state spans that overlap [from, to).
func (c *Client) States(ctx context.Context, from, to time.Time) ([]records.StateSpan, error) {
	var out []records.StateSpan
	err := c.getRecords(ctx, "/api/v1/states"+rangeQuery(from, to, nil), &out)
	return out, err
}

// Events returns the events in [from, to), of one kind when kind is not
// empty (batch, phase, alarm, command, device).
func (c *Client) Events(ctx context.Context, from, to time.Time, kind string) ([]records.Event, error) {
	var extra url.Values
	if kind != "" {
		extra = url.Values{"kind": {kind}}
	}
	var out []records.Event
	err := c.getRecords(ctx, "/api/v1/events"+rangeQuery(from, to, extra), &out)
	return out, err
}

// Audit returns the command events (accepted and refused) in [from, to).
func (c *Client) Audit(ctx context.Context, from, to time.Time) ([]records.Event, error) {
	var out []records.Event
	err := c.getRecords(ctx, "/api/v1/audit"+rangeQuery(from, to, nil), &out)
	return out, err
}

// AddDelivery records a delivery (a weighbridge ticket). The controller
// fills its time (now), net mass (gross − tare) and operator (the
// authenticated user) when not given, and returns it as recorded. A
// refusal is an *APIError (400: a field is wrong; 409: the ticket exists,
// matching ErrTicketExists).
func (c *Client) AddDelivery(ctx context.Context, d records.Delivery) (*records.Delivery, error) {
	body, _ := json.Marshal(d)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/api/v1/deliveries", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var out records.Delivery
	if err := c.do(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) getRecords(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, v)
}

// do sends req with the token and decodes a 2xx answer into v; any other
// answer becomes an *APIError with the server's message.
func (c *Client) do(req *http.Request, v any) error {
	c.authorize(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, v)
}

// decodeAnswer decodes a 2xx answer into v; any other answer becomes an
// *APIError with the server's message.
func decodeAnswer(resp *http.Response, v any) error {
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
