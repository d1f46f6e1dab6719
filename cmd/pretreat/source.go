package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/records"
)

// recordSource is where the CLI reads records from: the embedded store,
// a running controller's API, or InfluxDB.
type recordSource interface {
	Batches(ctx context.Context, from, to time.Time) ([]records.Batch, error)
	Deliveries(ctx context.Context, from, to time.Time) ([]records.Delivery, error)
	States(ctx context.Context, from, to time.Time) ([]records.StateSpan, error)
	Events(ctx context.Context, from, to time.Time) ([]records.Event, error)
	// Now is the plant's time now as the source knows it: a running
	// controller's plant clock (a demo runs ahead of the wall clock), the
	// latest record in a store, else the wall clock.
	Now(ctx context.Context) time.Time
	// Where says where the records come from, for messages.
	Where() string
	Close()
}

// sourceFlags are the flags every reading command takes.
type sourceFlags struct {
	data, apiURL string
}

func (f *sourceFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	f.data = "data"
	fs.StringVar(&f.data, "data", "data", "data directory (read through the running controller's API when it holds it)")
	fs.StringVar(&f.apiURL, "api", "", "read through this controller API instead (e.g. http://127.0.0.1:8080)")
}

// open opens the embedded store of the data directory; when a controller
// holds it, the API the controller advertises in the directory.
func (f *sourceFlags) open() (recordSource, error) {
	if f.apiURL != "" {
		return apiSource{c: api.NewClient(f.apiURL)}, nil
	}
	st, err := historian.OpenStore(f.data)
	if err == nil {
		return dataStore{st: st, dir: f.data}, nil
	}
	if !errors.Is(err, historian.ErrInUse) {
		return nil, err
	}
	b, rerr := os.ReadFile(filepath.Join(f.data, APIURLFile))
	if rerr != nil {
		return nil, fmt.Errorf("%w; and the controller holding it advertises no API (%v): pass --api URL", err, rerr)
	}
	return apiSource{c: api.NewClient(strings.TrimSpace(string(b)))}, nil
}

// farFuture bounds "everything" in queries.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

type dataStore struct {
	st  *historian.Store
	dir string
}

func (s dataStore) Where() string { return "embedded store in " + s.dir }
func (s dataStore) Close()        { s.st.Close() }

func (s dataStore) Batches(_ context.Context, from, to time.Time) ([]records.Batch, error) {
	return s.st.BatchesStarted(from, to)
}

func (s dataStore) Deliveries(_ context.Context, from, to time.Time) ([]records.Delivery, error) {
	return s.st.Deliveries(from, to)
}

func (s dataStore) States(_ context.Context, from, to time.Time) ([]records.StateSpan, error) {
	return s.st.States(from, to)
}

func (s dataStore) Events(_ context.Context, from, to time.Time) ([]records.Event, error) {
	return s.st.Events(from, to)
}

type apiSource struct{ c *api.Client }

func (s apiSource) Where() string { return "controller API " + s.c.Base }
func (s apiSource) Close()        {}

func (s apiSource) Batches(ctx context.Context, from, to time.Time) ([]records.Batch, error) {
	return s.c.Batches(ctx, from, to)
}

func (s apiSource) Deliveries(ctx context.Context, from, to time.Time) ([]records.Delivery, error) {
	return s.c.Deliveries(ctx, from, to)
}

func (s apiSource) States(ctx context.Context, from, to time.Time) ([]records.StateSpan, error) {
	return s.c.States(ctx, from, to)
}

func (s apiSource) Events(ctx context.Context, from, to time.Time) ([]records.Event, error) {
	return s.c.Events(ctx, from, to, "")
}

func (s dataStore) Now(context.Context) time.Time {
	now := time.Now()
	if evs, err := s.st.LastEvents(1); err == nil && len(evs) == 1 && evs[0].Time.After(now) {
		return evs[0].Time
	}
	return now
}

func (s apiSource) Now(ctx context.Context) time.Time {
	if st, err := s.c.Status(ctx); err == nil && !st.Time.IsZero() {
		return st.Time
	}
	return time.Now()
}
