package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/pretreat/pretreat/controller/line"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pretreat/pretreat/controller"
	"github.com/pretreat/pretreat/controller/httpapi"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/recipes"
)

// controllerOptions are what `run` and `demo` share.
type controllerOptions struct {
	Plant     *plant.File
	Clock     drivers.Clock
	DataDir   string
	InfluxURL string // overrides the plant file's historian url when set
	// InfluxTokenFile, when set, holds the InfluxDB token (instead of the
	// plant file's token_env variable).
	InfluxTokenFile string
	APIAddr         string // overrides the plant file's api listen address when set
	Logger          *slog.Logger
	// ImportShipped imports and approves the shipped recipes into the data
	// directory's store (the demo; a real plant approves its own).
	ImportShipped bool
	// AbandonInterrupted closes a batch interrupted by the last shutdown as
	// aborted instead of taking it up Held (the demo: its simulated plant
	// starts empty, so the old batch's material no longer exists).
	AbandonInterrupted bool
	// PlantClock, when set, is the data directory's persisted plant clock
	// (normally also Clock). startController starts its saver once the
	// historian holds the data directory, and Stop closes it last.
	PlantClock *historian.PlantClock
	// Pacer, when set, paces the scan (tests measure its lateness with
	// one); nil: the engine's wall-clock timer.
	Pacer controller.Pacer
}

// controllerProcess is a running controller: devices, scan, historian, API.
type controllerProcess struct {
	Engine    *controller.Engine
	Server    *httpapi.Server
	Historian *historian.Historian
	clock     *historian.PlantClock // may be nil
	urlFile   string                // api.url in the data directory, removed at Stop

	cancelScan, cancelIO, cancelAPI context.CancelFunc
	scanDone, ioDone, apiDone       sync.WaitGroup
	stopOnce                        sync.Once
	stopErr                         error
}

// startController wires and starts a controller. It returns once the API
// is listening; devices connect in the background and show bad quality
// until they answer.
func startController(ctx context.Context, o controllerOptions) (*controllerProcess, error) {
	cfg := o.Plant
	log := o.Logger
	store := recipes.OpenStore(o.DataDir)
	if o.ImportShipped {
		if err := importShipped(store, line.Limits(cfg), "pretreat-demo"); err != nil {
			return nil, fmt.Errorf("shipped recipes: %w", err)
		}
	}
	var err error
	var tags []string
	for _, d := range cfg.Devices {
		for _, p := range d.Points {
			tags = append(tags, p.Tag)
		}
	}
	table := controller.NewTagTable(tags)
	results := make(chan drivers.WriteResult, 256)
	var devs []drivers.Device
	for _, dc := range cfg.Devices {
		d, err := drivers.New(dc, drivers.BuildOptions{Clock: o.Clock, Results: results, Logger: log, CorrectOutputs: true})
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	hopts := historian.Options{Dir: o.DataDir, Line: cfg.Line, Logger: log, Clock: o.Clock}
	url := cfg.Historian.Influx.URL
	if o.InfluxURL != "" {
		url = o.InfluxURL
	}
	if url != "" {
		tokenEnv := cfg.Historian.Influx.TokenEnv
		if tokenEnv == "" {
			tokenEnv = "PRETREAT_INFLUX_TOKEN"
		}
		// The historian reads the token itself (file, else environment
		// variable) so that it never passes through here or a log.
		hopts.Influx = &historian.InfluxOptions{URL: url, Org: cfg.Historian.Influx.Org, Bucket: cfg.Historian.Influx.Bucket,
			TokenEnv: tokenEnv, TokenFile: o.InfluxTokenFile}
	}
	hist, err := historian.Open(hopts)
	if err != nil {
		return nil, err
	}
	// closeAll undoes the start on a later failure.
	closeAll := func() {
		hist.Close()
		if o.PlantClock != nil {
			o.PlantClock.Close()
		}
	}
	// The historian holds the data directory's lock now: the plant clock
	// may write its file (a second process on the directory fails above
	// and must not overwrite it).
	if o.PlantClock != nil {
		if err := o.PlantClock.Start(context.WithoutCancel(ctx)); err != nil {
			closeAll()
			return nil, fmt.Errorf("plant clock: %w", err)
		}
	}
	bs, err := hist.Store().Batches()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("reading batch records: %w", err)
	}
	resume := interruptedBatch(bs)
	if resume != nil && o.AbandonInterrupted {
		rec := *resume
		rec.State, rec.End, rec.Context = "aborted", o.Clock.Now(), nil
		hist.Event(historian.Event{Time: rec.End, Kind: historian.EventBatch, Line: cfg.Line, BatchID: rec.ID, Name: "aborted",
			Message: "the demo restarted with a fresh simulated plant; the interrupted batch cannot be taken up"})
		hist.SaveBatch(rec)
		resume = nil
	}
	if err := closeStaleSpans(hist, cfg.Line, o.Clock.Now(), log); err != nil {
		closeAll()
		return nil, fmt.Errorf("reading line states: %w", err)
	}
	// Deliveries not yet fully processed go to the next batches.
	delivs, err := hist.Store().Deliveries(time.Unix(0, 0), recordsEnd)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	// Batch IDs stay unique for the life of the data directory: the line
	// numbers its batches above every sequence number already used.
	eng, err := controller.NewEngine(controller.EngineOptions{Plant: cfg, Clock: o.Clock, Table: table, Devices: devs,
		Results: results, Recorder: hist, Recipes: storeSource{store}, Logger: log, Resume: resume,
		LastBatchSeq: historian.LastBatchSeq(bs), HistorianStats: func() any { return hist.Stats() }, Deliveries: delivs, Pacer: o.Pacer})
	if err != nil {
		closeAll()
		return nil, err
	}
	srv := httpapi.New(eng, cfg.Users)
	// The records (and trends) come from the embedded store; the plant
	// file gives the trends' units, the journal's priorities and the
	// sessions' idle time.
	srv.SetRecords(httpapi.StoreRecords{Store: hist.Store()})
	srv.SetPlant(cfg)
	srv.SetCalendar(calendarOf(cfg))
	addr := cfg.API.Listen
	if o.APIAddr != "" {
		addr = o.APIAddr
	}
	if err := srv.Listen(addr); err != nil {
		closeAll()
		return nil, fmt.Errorf("API listen %s: %w", addr, err)
	}
	p := &controllerProcess{Engine: eng, Server: srv, Historian: hist, clock: o.PlantClock}
	// A CLI finds the running controller through the data directory.
	p.urlFile = filepath.Join(o.DataDir, APIURLFile)
	if err := os.WriteFile(p.urlFile, []byte(srv.URL()+"\n"), 0o644); err != nil {
		log.Warn("cannot write the API's URL to the data directory", "file", p.urlFile, "err", err)
		p.urlFile = ""
	}
	hist.Start(context.WithoutCancel(ctx))
	ioCtx, cancelIO := context.WithCancel(context.WithoutCancel(ctx))
	scanCtx, cancelScan := context.WithCancel(context.WithoutCancel(ctx))
	apiCtx, cancelAPI := context.WithCancel(context.WithoutCancel(ctx))
	p.cancelIO, p.cancelScan, p.cancelAPI = cancelIO, cancelScan, cancelAPI
	for _, d := range devs {
		p.ioDone.Add(1)
		go func() {
			defer p.ioDone.Done()
			if err := d.Run(ioCtx, table); err != nil {
				log.Error("device stopped", "device", d.Name(), "err", err)
			}
		}()
	}
	p.scanDone.Add(1)
	go func() {
		defer p.scanDone.Done()
		_ = eng.Run(scanCtx)
	}()
	p.apiDone.Add(1)
	go func() {
		defer p.apiDone.Done()
		if err := srv.Serve(apiCtx); err != nil {
			log.Error("API server", "err", err)
		}
	}()
	// Shift and daily reports into the site's reports folder (a relative
	// one, e.g. the sample plant's, is inside the data directory).
	if rc := cfg.Reports(); rc.Dir != "" && (rc.Shift || rc.Daily) {
		dir := rc.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(o.DataDir, dir)
		}
		sched := &reportSchedule{dir: dir, shift: rc.Shift, daily: rc.Daily, cal: calendarOf(cfg), store: hist.Store(),
			clock: o.Clock, line: cfg.Line, tolerance: 5, log: log, settle: 2 * time.Minute}
		p.apiDone.Add(1)
		go func() {
			defer p.apiDone.Done()
			sched.run(apiCtx)
		}()
	}
	return p, nil
}

// APIURLFile is the file in the data directory that holds the running
// controller's API URL (one line); it is removed at a clean stop.
const APIURLFile = "api.url"

// recordsEnd is the open end of a read of every record.
var recordsEnd = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)

// closeStaleSpans closes the line's state spans a controller that did not
// stop cleanly left open: each ends at the last event recorded after it
// started (the last thing known to have happened), or at its own start
// when none was, and never after now.
func closeStaleSpans(hist *historian.Historian, lineName string, now time.Time, log *slog.Logger) error {
	spans, err := hist.Store().States(time.Unix(0, 0), recordsEnd)
	if err != nil {
		return err
	}
	for _, sp := range spans {
		if !sp.End.IsZero() || sp.Line != lineName {
			continue
		}
		end := sp.Start
		if evs, err := hist.Store().Events(sp.Start, now.Add(time.Nanosecond)); err == nil && len(evs) > 0 {
			end = evs[len(evs)-1].Time
		}
		if end.After(now) {
			end = now
		}
		sp.End = end
		log.Warn("line state span left open by the last run closed at the last recorded event", "state", sp.State, "start", sp.Start, "end", end)
		hist.SaveState(sp)
	}
	return nil
}

// interruptedBatch returns the most recent of the batch records bs (as
// Store.Batches gives them) if it had not ended when the controller last
// stopped (running, held or interrupted), or nil.
func interruptedBatch(bs []historian.BatchRecord) *historian.BatchRecord {
	if len(bs) == 0 {
		return nil
	}
	last := bs[len(bs)-1]
	switch last.State {
	case "running", "held", "interrupted":
		return &last
	}
	return nil
}

// Stop shuts down in the safe order: the scan first (it commands every
// output off and saves the batch record), a moment for the drivers to write
// that, then the devices, the API and the historian, and last the plant
// clock (its final save is after every time stamped into the data
// directory). Stop may be called more than once.
func (p *controllerProcess) Stop() error {
	p.stopOnce.Do(func() {
		p.cancelScan()
		p.scanDone.Wait()
		time.Sleep(300 * time.Millisecond)
		p.cancelIO()
		p.ioDone.Wait()
		p.cancelAPI()
		p.apiDone.Wait()
		if p.urlFile != "" {
			_ = os.Remove(p.urlFile)
		}
		p.stopErr = p.Historian.Close()
		if p.clock != nil {
			if err := p.clock.Close(); err != nil && p.stopErr == nil {
				p.stopErr = fmt.Errorf("plant clock: %w", err)
			}
		}
	})
	return p.stopErr
}

func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	config := fs.String("config", "", "plant file (required)")
	data := fs.String("data", "data", "data directory for the embedded store")
	influx := fs.String("influx-url", "", "InfluxDB URL; overrides the plant file's historian url")
	tokenFile := fs.String("influx-token-file", "", "file holding the InfluxDB token (default: the plant file's token_env variable)")
	api := fs.String("api", "", "API listen address; overrides the plant file")
	speed := fs.Float64("speed", 1, "plant time runs this many times faster (only against the test rig at the same speed)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *config == "" {
		return usageError("run needs --config FILE (see 'pretreat config sample')")
	}
	cfg, err := plant.Load(*config)
	if err != nil {
		return err
	}
	if !(*speed > 0 && *speed <= 1000) {
		return usageError("--speed must be in (0, 1000]")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Plant time is persisted in the data directory so that it never runs
	// backwards across a restart, at any speed (at speed 1 it is normally
	// the wall clock itself).
	clock, err := historian.OpenPlantClock(*data, *speed, log)
	if err != nil {
		return err
	}
	p, err := startController(ctx, controllerOptions{Plant: cfg, Clock: clock, PlantClock: clock, DataDir: *data, InfluxURL: *influx, InfluxTokenFile: *tokenFile, APIAddr: *api, Logger: log})
	if err != nil {
		return err
	}
	log.Info("controller running", "line", cfg.Line, "api", p.Server.URL(), "data", *data)
	<-ctx.Done()
	err = p.Stop()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
