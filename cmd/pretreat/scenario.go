package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig"
	"github.com/pretreat/pretreat/testrig/scenario"
)

// scenarioOptions are how `pretreat rig scenario run` runs scenarios.
type scenarioOptions struct {
	// Speed overrides each scenario's speed when > 0.
	Speed float64
	// Plant is the plant file the rig and the controller use (default:
	// the sample plant).
	Plant string
	// Controller and Rig, when both set, are the base URLs of a running
	// controller and rig to run against instead of starting them.
	Controller, Rig string
	// Log receives progress lines and the controller's warnings; nil
	// discards them.
	Log io.Writer
}

func cmdRigScenario(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("rig scenario: run or check\n\n" + rigUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("rig scenario "+sub, flag.ContinueOnError)
	var o scenarioOptions
	junit := ""
	verbose := false
	switch sub {
	case "run":
		fs.StringVar(&junit, "junit", "", "write a JUnit XML report to this file")
		fs.Float64Var(&o.Speed, "speed", 0, "plant time × real time for every scenario (default: each scenario's, else 20)")
		fs.StringVar(&o.Plant, "config", "", "plant file for the rig and the controller (default: the sample plant)")
		fs.StringVar(&o.Controller, "controller", "", "run against this controller API instead of starting one (needs --rig)")
		fs.StringVar(&o.Rig, "rig", "", "run against this rig control API instead of starting one (needs --controller)")
		fs.BoolVar(&verbose, "verbose", false, "log every step and the controller's warnings")
	case "check":
	default:
		return usageError(fmt.Sprintf("rig scenario: unknown subcommand %q; allowed: run, check", sub))
	}
	files, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError(err.Error())
	}
	if len(files) == 0 {
		return usageError("rig scenario " + sub + ": name at least one scenario file")
	}
	var scenarios []*scenario.File
	var errs []error
	for _, path := range files {
		f, err := scenario.Load(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		scenarios = append(scenarios, f)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if sub == "check" {
		for _, f := range scenarios {
			fmt.Printf("%s: scenario %s, %d steps: ok\n", f.Name(), f.Scenario, len(f.Steps))
		}
		return nil
	}
	if (o.Controller == "") != (o.Rig == "") {
		return usageError("rig scenario run: --controller and --rig go together")
	}
	if o.Speed != 0 && (o.Speed < 1 || o.Speed > 1000) {
		return usageError("--speed must be in [1, 1000]")
	}
	if verbose {
		o.Log = os.Stderr
	} else {
		// gopcua prints its start-up chatter on the standard logger.
		stdlog.SetOutput(io.Discard)
	}
	var results []*scenario.Result
	for _, f := range scenarios {
		if ctx.Err() != nil {
			break
		}
		res, err := runScenario(ctx, f, o)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		results = append(results, res)
		if err := scenario.WriteReport(os.Stdout, []*scenario.Result{res}); err != nil {
			return err
		}
	}
	if junit != "" {
		out, err := os.Create(junit)
		if err != nil {
			return err
		}
		if err := scenario.WriteJUnit(out, results); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	failed := 0
	for _, r := range results {
		if r.Failed() > 0 || r.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scenario(s) failed", failed, len(results))
	}
	fmt.Printf("%d scenario(s) passed\n", len(results))
	return nil
}

// runScenario runs one scenario: against the controller and rig named in
// o, or against a rig and a controller it starts for the scenario alone
// (on loopback, free ports, a temporary data directory, the shipped recipes
// imported and approved), stopped afterwards. The error is for what kept
// the scenario from running at all; failed steps are in the result.
func runScenario(ctx context.Context, f *scenario.File, o scenarioOptions) (*scenario.Result, error) {
	logf := func(string, ...any) {}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.Log != nil {
		logf = func(format string, args ...any) { fmt.Fprintf(o.Log, "scenario: "+format+"\n", args...) }
		logger = slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.Controller != "" {
		runner, err := scenario.NewRunner(scenario.Options{Line: api.NewClient(o.Controller), Plant: testrig.NewControlClient(o.Rig), Log: logf})
		if err != nil {
			return nil, err
		}
		return runner.Run(ctx, f), nil
	}

	cfg, err := scenarioPlant(f, o.Plant)
	if err != nil {
		return nil, err
	}
	speed := o.Speed
	if speed == 0 {
		speed = f.Speed
	}
	if speed == 0 {
		speed = scenario.DefaultSpeed
	}
	seed := f.Rig.Seed
	if seed == 0 {
		seed = 1
	}
	clock := drivers.NewScaledClock(time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC), speed)
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: clock, Seed: seed, WasteClass: f.Rig.Class,
		Jams: testrig.JamMode(f.Rig.Jams), Ephemeral: true})
	if err != nil {
		return nil, err
	}
	if err := rig.Start(ctx); err != nil {
		return nil, err
	}
	defer rig.Stop()
	ctlURL, stopControl, err := serveControl(rig, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer stopControl()
	pointAtRig(cfg, rig)
	dir, err := os.MkdirTemp("", "pretreat-scenario-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := startController(ctx, controllerOptions{Plant: cfg, Clock: clock, DataDir: dir, APIAddr: "127.0.0.1:0", Logger: logger, ImportShipped: true})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	logf("%s: rig seed %d class %s jams %s at %gx; controller %s; rig control %s", f.Scenario, seed, rig.Class(), rig.Jams(), speed, p.Server.URL(), ctlURL)
	runner, err := scenario.NewRunner(scenario.Options{Line: api.NewClient(p.Server.URL()), Plant: testrig.NewControlClient(ctlURL), Clock: clock, Log: logf})
	if err != nil {
		return nil, err
	}
	return runner.Run(ctx, f), nil
}

// scenarioPlant is the plant a scenario runs on: the command line's
// --config, else the scenario's plant (a shipped plant's name, or a path
// relative to the scenario file), else the sample.
func scenarioPlant(f *scenario.File, override string) (*plant.File, error) {
	switch {
	case override != "" || f.Plant == "":
		return loadPlant(override)
	case plant.Shipped()[f.Plant] != nil:
		return plant.Parse("<"+f.Plant+">", plant.Shipped()[f.Plant])
	}
	path := f.Plant
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(f.Name()), path)
	}
	return plant.Load(path)
}

// pointAtRig points the plant file's simulated devices at the ports the rig
// bound.
func pointAtRig(cfg *plant.File, rig *testrig.Rig) {
	for _, ep := range rig.Endpoints() {
		for i := range cfg.Devices {
			d := &cfg.Devices[i]
			if d.Name != ep.Device {
				continue
			}
			if ep.Protocol == drivers.ProtocolOPCUA {
				d.Endpoint = ep.URL
			} else {
				d.Address = ep.Address
			}
		}
	}
}
