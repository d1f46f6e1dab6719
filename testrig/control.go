package testrig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The rig control API: a small HTTP+JSON interface, on loopback, through
// which people, scripts and scenarios inject and clear faults, read the
// model and change the waste class while the rig runs. Endpoints:
//
//	GET    /rig/v1/status        -> ControlStatus (with the devices' watchdogs)
//	GET    /rig/v1/faults        -> []Fault (active, in injection order)
//	GET    /rig/v1/faults/kinds  -> []FaultKindInfo
//	POST   /rig/v1/faults        FaultSpec -> Fault (201), or ControlError (400)
//	DELETE /rig/v1/faults/{id}   -> Fault, or ControlError (404)
//	DELETE /rig/v1/faults        -> []Fault cleared
//	GET    /rig/v1/values[?role=R&role=…] -> map role -> reading (every role when none is named)
//	POST   /rig/v1/class         ClassChange -> ControlStatus
//	GET    /rig/v1/map           -> []MapRow (the served register map and node ids)
//
// Errors come as ControlError with an HTTP status of 400 (bad request), 404
// (no such fault or role) or 405.

// ControlStatus is the rig's state as the control API reports it.
type ControlStatus struct {
	// PlantTime is the plant time the model has reached.
	PlantTime time.Time `json:"plant_time"`
	// Speed is how many times faster than real time the plant runs.
	Speed     float64    `json:"speed"`
	Seed      int64      `json:"seed"`
	Class     string     `json:"class"`
	Jams      JamMode    `json:"jams"`
	Endpoints []Endpoint `json:"endpoints"`
	Faults    []Fault    `json:"faults"`
	// BackPressureControl is "setpoint" (the cone follows
	// press.back_pressure_sp) or "cone_valve" (the controller positions
	// press.cone_valve); FiltratePumpControl is "floats" or "commanded"
	// (filtrate.pump_cmd). The device list chooses them (see New).
	BackPressureControl string `json:"back_pressure_control"`
	FiltratePumpControl string `json:"filtrate_pump_control"`
	// Watchdogs is the state of the simulated devices' watchdogs (see
	// Rig.Watchdogs), in plant-file order; empty when none has one.
	Watchdogs []WatchdogStatus `json:"watchdogs"`
}

// ClassChange asks the rig to tip another class of waste from now on, and
// optionally to tip Kg of it into the hopper at once.
type ClassChange struct {
	Class string  `json:"class"`
	Kg    float64 `json:"kg,omitempty"`
}

// ControlError is the body of a refused control request.
type ControlError struct {
	Error string `json:"error"`
}

// ControlHandler returns the HTTP handler of the rig control API. Serve it
// on loopback: the API has no authentication, like the rig's Modbus and
// OPC UA fronts.
func (r *Rig) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rig/v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.controlStatus())
	})
	mux.HandleFunc("GET /rig/v1/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(r.Faults()))
	})
	mux.HandleFunc("GET /rig/v1/faults/kinds", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, FaultKinds())
	})
	mux.HandleFunc("POST /rig/v1/faults", func(w http.ResponseWriter, req *http.Request) {
		var spec FaultSpec
		if err := decodeBody(req, &spec); err != nil {
			msg := "bad fault: " + err.Error()
			if se := (*SpecError)(nil); errors.As(err, &se) {
				msg = "testrig: " + se.Error() // as Inject words it
			}
			writeJSON(w, http.StatusBadRequest, ControlError{Error: msg})
			return
		}
		f, err := r.Inject(spec)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, ControlError{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, f)
	})
	mux.HandleFunc("DELETE /rig/v1/faults/{id}", func(w http.ResponseWriter, req *http.Request) {
		f, err := r.Clear(req.PathValue("id"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, ControlError{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("DELETE /rig/v1/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(r.ClearAll()))
	})
	mux.HandleFunc("GET /rig/v1/values", func(w http.ResponseWriter, req *http.Request) {
		roles := req.URL.Query()["role"]
		if len(roles) == 0 {
			roles = r.Roles()
		}
		out := make(map[string]float64, len(roles))
		for _, role := range roles {
			v, ok := r.Value(role)
			if !ok {
				writeJSON(w, http.StatusNotFound, ControlError{Error: fmt.Sprintf("role %q is not simulated", role)})
				return
			}
			out[role] = v
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /rig/v1/class", func(w http.ResponseWriter, req *http.Request) {
		var c ClassChange
		if err := decodeBody(req, &c); err != nil {
			writeJSON(w, http.StatusBadRequest, ControlError{Error: "bad class change: " + err.Error()})
			return
		}
		if c.Kg < 0 || c.Kg > 100000 {
			writeJSON(w, http.StatusBadRequest, ControlError{Error: fmt.Sprintf("kg %g must be in [0, 100000]", c.Kg)})
			return
		}
		if err := r.SetClass(c.Class, c.Kg); err != nil {
			writeJSON(w, http.StatusBadRequest, ControlError{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, r.controlStatus())
	})
	mux.HandleFunc("GET /rig/v1/map", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(r.ServedMap()))
	})
	return mux
}

func (r *Rig) controlStatus() ControlStatus {
	return ControlStatus{
		PlantTime: r.PlantTime(), Speed: r.clock.Speed(), Seed: r.seed, Class: string(r.Class()), Jams: r.jams,
		Endpoints: nonNil(r.Endpoints()), Faults: nonNil(r.Faults()),
		BackPressureControl: r.BackPressureControl().String(), FiltratePumpControl: r.FiltratePumpControl().String(),
		Watchdogs: nonNil(r.Watchdogs()),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody decodes a JSON request body strictly: unknown keys are errors.
func decodeBody(req *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(req.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ControlClient talks to a rig's control API. It is safe for concurrent
// use.
type ControlClient struct {
	// Base is the API's base URL, e.g. http://127.0.0.1:8471.
	Base string
	HTTP *http.Client
}

// NewControlClient returns a client for the control API at base.
func NewControlClient(base string) *ControlClient {
	return &ControlClient{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Status returns the rig's state.
func (c *ControlClient) Status(ctx context.Context) (*ControlStatus, error) {
	var st ControlStatus
	return &st, c.do(ctx, http.MethodGet, "/rig/v1/status", nil, &st)
}

// Faults returns the active faults.
func (c *ControlClient) Faults(ctx context.Context) ([]Fault, error) {
	var fs []Fault
	return fs, c.do(ctx, http.MethodGet, "/rig/v1/faults", nil, &fs)
}

// FaultKinds returns the fault kinds the rig knows.
func (c *ControlClient) FaultKinds(ctx context.Context) ([]FaultKindInfo, error) {
	var ks []FaultKindInfo
	return ks, c.do(ctx, http.MethodGet, "/rig/v1/faults/kinds", nil, &ks)
}

// Inject injects a fault.
func (c *ControlClient) Inject(ctx context.Context, spec FaultSpec) (Fault, error) {
	var f Fault
	return f, c.do(ctx, http.MethodPost, "/rig/v1/faults", spec, &f)
}

// Clear clears the fault with id.
func (c *ControlClient) Clear(ctx context.Context, id string) (Fault, error) {
	var f Fault
	return f, c.do(ctx, http.MethodDelete, "/rig/v1/faults/"+id, nil, &f)
}

// ClearAll clears every active fault.
func (c *ControlClient) ClearAll(ctx context.Context) ([]Fault, error) {
	var fs []Fault
	return fs, c.do(ctx, http.MethodDelete, "/rig/v1/faults", nil, &fs)
}

// Values reads model variables by role (all of them when roles is empty).
func (c *ControlClient) Values(ctx context.Context, roles ...string) (map[string]float64, error) {
	path := "/rig/v1/values"
	for i, r := range roles {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		path += sep + "role=" + r
	}
	out := map[string]float64{}
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// SetClass changes the class of the waste tipped from now on and tips kg of
// it at once when kg > 0.
func (c *ControlClient) SetClass(ctx context.Context, class string, kg float64) error {
	return c.do(ctx, http.MethodPost, "/rig/v1/class", ClassChange{Class: class, Kg: kg}, nil)
}

// Map returns the served map.
func (c *ControlClient) Map(ctx context.Context) ([]MapRow, error) {
	var rows []MapRow
	return rows, c.do(ctx, http.MethodGet, "/rig/v1/map", nil, &rows)
}

func (c *ControlClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var ce ControlError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(b, &ce) == nil && ce.Error != "" {
			return errors.New(ce.Error)
		}
		return fmt.Errorf("%s %s: HTTP %d (is %s a rig control API? `pretreat rig` prints its URL)", method, path, resp.StatusCode, c.Base)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
