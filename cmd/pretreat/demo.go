package main

import (
	"context"
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
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/hmi"
	"github.com/pretreat/pretreat/testrig"
)

func cmdDemo(ctx context.Context, args []string) error {
	return runDemo(ctx, args, os.Stdout)
}

// runDemo runs the demo, printing to out what the terminal shows (the
// headless status lines too).
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	a, err := parseDemoArgs(args)
	if err != nil {
		return err
	}
	jamMode, err := testrig.ParseJamMode(a.jams)
	if err != nil {
		return usageError(err.Error())
	}
	if a.speed <= 0 || a.speed > 1000 {
		return usageError("--speed must be in (0, 1000]")
	}
	var cfg *plant.File
	if a.config != "" {
		cfg, err = plant.Load(a.config)
	} else {
		cfg, err = plant.Parse("<sample>", plant.Sample())
	}
	if err != nil {
		return err
	}
	if a.lineName != "" {
		cfg.Line = a.lineName
	}
	if err := os.MkdirAll(a.data, 0o755); err != nil {
		return err
	}
	// The HMI owns the terminal: logs go to a file in the data directory.
	var logOut io.Writer = os.Stderr
	if !a.headless {
		lf, err := os.Create(filepath.Join(a.data, "demo.log"))
		if err != nil {
			return err
		}
		defer lf.Close()
		logOut = lf
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The OPC UA library prints start-up chatter on the standard logger.
	stdlog.SetOutput(logOut)
	if a.headless {
		stdlog.SetOutput(io.Discard)
	}
	// Plant time runs ahead of the wall clock at speed > 1; the data
	// directory's persisted plant clock makes a demo started again on it go
	// on from where the last one stopped, so that batch times never run
	// backwards. The rig and the controller run on this one clock.
	clock, err := historian.OpenPlantClock(a.data, a.speed, log)
	if err != nil {
		return err
	}

	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: clock, Seed: a.seed, Jams: jamMode, Ephemeral: true})
	if err != nil {
		return err
	}
	rigCtx, cancelRig := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRig()
	if err := rig.Start(rigCtx); err != nil {
		return err
	}
	defer rig.Stop()
	// Point the controller at the ports the rig actually bound.
	var lines []string
	for _, ep := range rig.Endpoints() {
		for i := range cfg.Devices {
			d := &cfg.Devices[i]
			if d.Name != ep.Device {
				continue
			}
			switch d.Protocol {
			case drivers.ProtocolModbusTCP:
				d.Address = ep.Address
				lines = append(lines, fmt.Sprintf("  %-14s modbus tcp  %s unit %d   e.g. mbpoll -m tcp -a %d -t 4 -r 1 -c 8 -1 -p %s %s",
					d.Name, ep.Address, d.UnitID, d.UnitID, port(ep.Address), host(ep.Address)))
			case drivers.ProtocolOPCUA:
				d.Endpoint = ep.URL
				lines = append(lines, fmt.Sprintf("  %-14s opc ua      %s", d.Name, ep.URL))
			}
		}
	}
	p, err := startController(ctx, controllerOptions{Plant: cfg, Clock: clock, PlantClock: clock, DataDir: a.data, InfluxURL: a.influx, APIAddr: "127.0.0.1:0", Logger: log, ImportShipped: true, AbandonInterrupted: true})
	if err != nil {
		return err
	}
	// The rig control API, for the HMI's training menu and for
	// `pretreat rig fault …` from another terminal.
	rigURL, stopControl, err := serveControl(rig, "127.0.0.1:0")
	if err != nil {
		_ = p.Stop()
		return err
	}
	defer stopControl()
	if err := os.WriteFile(filepath.Join(a.data, "rig.url"), []byte(rigURL+"\n"), 0o644); err != nil {
		_ = p.Stop()
		return err
	}
	fmt.Fprintf(out, "pretreat demo: line %s, speed %gx, data %s\n", cfg.Line, a.speed, a.data)
	fmt.Fprintf(out, "  controller API  %s/api/v1/status\n", p.Server.URL())
	fmt.Fprintf(out, "  rig control     %s/rig/v1/faults   e.g. pretreat rig fault inject jam --rig %s\n", rigURL, rigURL)
	if a.auto {
		fmt.Fprintln(out, "  demo operator   starts batches by itself (--auto)")
	} else {
		fmt.Fprintln(out, "  demo operator   books deliveries only: start batches from the HMI (s), or run with --auto")
	}
	fmt.Fprintln(out, "simulated plant (test rig) endpoints:")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	client := api.NewClient(p.Server.URL())
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if a.duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, drivers.WallDuration(clock, a.duration))
	}
	defer cancel()
	// The demo operator books the weighbridge's loads and, with --auto,
	// runs the line; without, a person runs it from the HMI.
	if a.auto || a.deliveries {
		op := &demoOperator{client: client, recipe: a.recipe, manual: !a.auto}
		if a.deliveries {
			op.rig = rig
			op.bridge = newWeighbridge(a.seed, cfg.Line, plantLocation(cfg))
		}
		go op.run(runCtx)
	}
	var runErr error
	if a.headless {
		runErr = headlessLoop(runCtx, out, client, a.duration, clock, cfg)
	} else {
		trainer := newRigTrainer(testrig.NewControlClient(rigURL), cfg)
		runErr = hmi.Run(runCtx, hmi.Options{Client: client, Trainer: trainer})
	}
	if err := p.Stop(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		fmt.Fprintf(out, "pretreat demo: stopped; batch records: pretreat batch list --data %s\n", a.data)
	}
	return runErr
}

// demoArgs are the demo's command-line options.
type demoArgs struct {
	headless, auto, deliveries         bool
	speed                              float64
	duration                           time.Duration
	data, config, influx, recipe, jams string
	seed                               int64
	lineName                           string
}

// parseDemoArgs reads the demo's command line; --auto is resolved by
// demoAuto.
func parseDemoArgs(args []string) (demoArgs, error) {
	var a demoArgs
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.BoolVar(&a.headless, "headless", false, "no HMI: print a status line now and then")
	fs.Float64Var(&a.speed, "speed", 1, "plant time runs this many times faster than real time")
	fs.DurationVar(&a.duration, "duration", 0, "stop after this much plant time (0: until interrupted or q)")
	fs.StringVar(&a.data, "data", filepath.Join(os.TempDir(), "pretreat-demo"), "data directory for the embedded store")
	fs.StringVar(&a.config, "config", "", "plant file (default: the sample plant)")
	fs.StringVar(&a.influx, "influx-url", "", "also send data to InfluxDB at this URL")
	fs.StringVar(&a.recipe, "recipe", "catering", "recipe the automatic operator starts when --deliveries=false")
	fs.BoolVar(&a.auto, "auto", false, "the demo operator starts the next batch by itself after each completed one, and unholds a line the controller held (default: off with the HMI, on with --headless)")
	fs.BoolVar(&a.deliveries, "deliveries", true, "trucks from several suppliers deliver loads, booked at the weighbridge; with --auto the demo operator processes them with the recipe of their class")
	fs.StringVar(&a.jams, "jams", "random", "shredder jams: random (hard objects in the waste) or injected (only on demand)")
	fs.Int64Var(&a.seed, "seed", 1, "random seed of the simulated plant")
	fs.StringVar(&a.lineName, "line", "", "name of the line (default: the plant file's); several demos with their own names make a site in one InfluxDB")
	if err := fs.Parse(args); err != nil {
		return a, usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return a, usageError(fmt.Sprintf("demo: unexpected argument %q", fs.Arg(0)))
	}
	a.auto = demoAuto(a.headless, flagSet(fs, "auto"), a.auto)
	return a, nil
}

// demoAuto resolves --auto: given on the command line it wins; otherwise
// the headless demo runs batches by itself (tests and the reports' demo
// days rely on it) and the demo with the HMI leaves them to the operator.
func demoAuto(headless, given, value bool) bool {
	if given {
		return value
	}
	return headless
}

// flagSet says whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func headlessLoop(ctx context.Context, out io.Writer, c *api.Client, duration time.Duration, clock drivers.Clock, cfg *plant.File) error {
	every := 2 * time.Second
	t := time.NewTicker(every)
	defer t.Stop()
	start := clock.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := c.Status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintln(out, "status:", err)
			continue
		}
		fmt.Fprintln(out, statusLine(cfg, st, st.Time.Sub(start)))
	}
}

// statusLine is one line of the headless demo: the line's state, the
// batch, the hopper, the pulper's level and every shredder's current.
func statusLine(cfg *plant.File, st *api.Status, elapsed time.Duration) string {
	get := func(tag string) string {
		for _, t := range st.Tags {
			if t.Tag == tag {
				if !t.Quality.Good() {
					return t.Quality.String()
				}
				return fmt.Sprintf("%.1f", t.Value)
			}
		}
		return "?"
	}
	b := "no batch"
	if st.Batch != nil {
		b = fmt.Sprintf("batch %s %s/%s in %.0f kg cake %.0f kg", st.Batch.Recipe, st.Batch.Phase, st.Batch.Step, st.Batch.KgReceived, st.Batch.KgCake)
	} else if st.LastBatch != nil {
		b = fmt.Sprintf("last batch %s %s", st.LastBatch.ID, st.LastBatch.Phase)
	}
	line := fmt.Sprintf("t+%-8s %-8s %s | hopper %s kg, pulper %s %%", elapsed.Truncate(time.Second), st.State, b,
		get(cfg.Unit(plant.KindReception).Signals["weight"]), get(cfg.Unit(plant.KindPulper).Signals["level"]))
	for _, u := range cfg.UnitsOf(plant.KindShredder) {
		if tag := u.Signals["current"]; tag != "" {
			line += fmt.Sprintf(", %s %s A", u.Name, get(tag))
		}
	}
	return line
}

func host(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	return addr
}

func port(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return ""
}
