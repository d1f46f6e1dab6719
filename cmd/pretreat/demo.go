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
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	headless := fs.Bool("headless", false, "no HMI: print a status line now and then")
	speed := fs.Float64("speed", 1, "plant time runs this many times faster than real time")
	duration := fs.Duration("duration", 0, "stop after this much plant time (0: until interrupted or q)")
	data := fs.String("data", filepath.Join(os.TempDir(), "pretreat-demo"), "data directory for the embedded store")
	config := fs.String("config", "", "plant file (default: the sample plant)")
	influx := fs.String("influx-url", "", "also send data to InfluxDB at this URL")
	recipe := fs.String("recipe", "catering", "recipe the automatic operator starts when --deliveries=false")
	auto := fs.Bool("auto", true, "start the next batch by itself after each completed one (demo operator)")
	deliveries := fs.Bool("deliveries", true, "trucks from several suppliers deliver loads that the demo operator processes with the recipe of their class")
	jams := fs.String("jams", "random", "shredder jams: random (hard objects in the waste) or injected (only on demand)")
	seed := fs.Int64("seed", 1, "random seed of the simulated plant")
	lineName := fs.String("line", "", "name of the line (default: the plant file's); several demos with their own names make a site in one InfluxDB")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	jamMode, err := testrig.ParseJamMode(*jams)
	if err != nil {
		return usageError(err.Error())
	}
	if *speed <= 0 || *speed > 1000 {
		return usageError("--speed must be in (0, 1000]")
	}
	var cfg *plant.File
	if *config != "" {
		cfg, err = plant.Load(*config)
	} else {
		cfg, err = plant.Parse("<sample>", plant.Sample())
	}
	if err != nil {
		return err
	}
	if *lineName != "" {
		cfg.Line = *lineName
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	// The HMI owns the terminal: logs go to a file in the data directory.
	var logOut io.Writer = os.Stderr
	if !*headless {
		lf, err := os.Create(filepath.Join(*data, "demo.log"))
		if err != nil {
			return err
		}
		defer lf.Close()
		logOut = lf
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The OPC UA library prints start-up chatter on the standard logger.
	stdlog.SetOutput(logOut)
	if *headless {
		stdlog.SetOutput(io.Discard)
	}
	// Plant time runs ahead of the wall clock at speed > 1; the data
	// directory's persisted plant clock makes a demo started again on it go
	// on from where the last one stopped, so that batch times never run
	// backwards. The rig and the controller run on this one clock.
	clock, err := historian.OpenPlantClock(*data, *speed, log)
	if err != nil {
		return err
	}

	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: clock, Seed: *seed, Jams: jamMode, Ephemeral: true})
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
	p, err := startController(ctx, controllerOptions{Plant: cfg, Clock: clock, PlantClock: clock, DataDir: *data, InfluxURL: *influx, APIAddr: "127.0.0.1:0", Logger: log, ImportShipped: true, AbandonInterrupted: true})
	if err != nil {
		return err
	}
	fmt.Printf("pretreat demo: line %s, speed %gx, data %s\n", cfg.Line, *speed, *data)
	fmt.Printf("  controller API  %s/api/v1/status\n", p.Server.URL())
	fmt.Println("simulated plant (test rig) endpoints:")
	for _, l := range lines {
		fmt.Println(l)
	}
	client := api.NewClient(p.Server.URL())
	runCtx := ctx
	var cancel context.CancelFunc = func() {}
	if *duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, drivers.WallDuration(clock, *duration))
	}
	defer cancel()
	if *auto {
		op := &demoOperator{client: client, recipe: *recipe}
		if *deliveries {
			op.rig = rig
			op.bridge = newWeighbridge(*seed, cfg.Line, plantLocation(cfg))
		}
		go op.run(runCtx)
	}
	var runErr error
	if *headless {
		runErr = headlessLoop(runCtx, client, *duration, clock, cfg)
	} else {
		runErr = hmi.Run(runCtx, hmi.Options{Client: client})
	}
	if err := p.Stop(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		fmt.Printf("pretreat demo: stopped; batch records: pretreat batch list --data %s\n", *data)
	}
	return runErr
}

func headlessLoop(ctx context.Context, c *api.Client, duration time.Duration, clock drivers.Clock, cfg *plant.File) error {
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
			fmt.Println("status:", err)
			continue
		}
		fmt.Println(statusLine(cfg, st, st.Time.Sub(start)))
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
