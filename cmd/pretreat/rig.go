package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/hmi"
	"github.com/pretreat/pretreat/testrig"
)

const rigUsage = `pretreat rig — the simulated line (test rig)

  pretreat rig [--config FILE] [--speed N] [--seed N] [--class C] [--jams injected|random]
               [--ephemeral] [--control ADDR]
      serve the simulated devices of a plant file over Modbus TCP and OPC UA,
      with the rig control API (faults, model values) on ADDR
  pretreat rig --print-map [--config FILE]
      print the served register map and node ids as a table
  pretreat rig fault inject KIND [--target T] [--delay D] [--code N] [--status S]
               [--value V] [--per-minute R] [--sd S] [--per-tonne R] [--reversals N]
               [--flow F] [--rig URL]
  pretreat rig fault clear ID|--all [--rig URL]
  pretreat rig fault list [--kinds] [--rig URL]
  pretreat rig scenario run FILE... [--junit OUT.xml] [--speed N] [--config FILE]
               [--controller URL --rig URL] [--verbose]
  pretreat rig scenario check FILE...

--rig defaults to $PRETREAT_RIG, else http://127.0.0.1:8471.
`

// defaultControlAddr is where `pretreat rig` serves its control API.
const defaultControlAddr = "127.0.0.1:8471"

func cmdRig(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "fault":
			return cmdRigFault(ctx, args[1:])
		case "scenario":
			return cmdRigScenario(ctx, args[1:])
		case "help", "-h", "--help":
			fmt.Print(rigUsage)
			return nil
		}
	}
	fs := flag.NewFlagSet("rig", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), rigUsage) }
	config := fs.String("config", "", "plant file (default: the sample plant)")
	speed := fs.Float64("speed", 1, "plant time runs this many times faster than real time")
	seed := fs.Int64("seed", 1, "random seed")
	class := fs.String("class", "catering", "waste class tipped into the hopper")
	jams := fs.String("jams", "injected", "injected: the shredder jams only when a fault is injected; random: hard objects at the class's rate")
	ephemeral := fs.Bool("ephemeral", false, "listen on free ports instead of the plant file's (the control API too)")
	control := fs.String("control", defaultControlAddr, "address of the rig control API (loopback); empty turns it off")
	printMap := fs.Bool("print-map", false, "print the served map as a table and exit")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("rig: unexpected argument %q (subcommands: fault, scenario)", fs.Arg(0)))
	}
	if *speed <= 0 || *speed > 1000 {
		return usageError("--speed must be in (0, 1000]")
	}
	cfg, err := loadPlant(*config)
	if err != nil {
		return err
	}
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: drivers.NewScaledClock(time.Now(), *speed), Seed: *seed,
		WasteClass: *class, Jams: testrig.JamMode(*jams), Ephemeral: *ephemeral})
	if err != nil {
		return err
	}
	if *printMap {
		return testrig.WriteMap(os.Stdout, rig.ServedMap())
	}
	if err := rig.Start(ctx); err != nil {
		return err
	}
	defer rig.Stop()
	ctlURL := ""
	if *control != "" {
		addr := *control
		if *ephemeral {
			addr = "127.0.0.1:0"
		}
		url, stop, err := serveControl(rig, addr)
		if err != nil {
			return err
		}
		defer stop()
		ctlURL = url
	}
	fmt.Printf("pretreat rig: simulating line %s at %gx (seed %d, class %s, jams %s); Ctrl-C stops\n", cfg.Line, *speed, *seed, *class, rig.Jams())
	for _, ep := range rig.Endpoints() {
		fmt.Printf("  %-14s %-10s %s\n", ep.Device, ep.Protocol, ep.URL)
	}
	if ctlURL != "" {
		fmt.Printf("  control API    %s/rig/v1/status   (pretreat rig fault … --rig %s)\n", ctlURL, ctlURL)
	}
	<-ctx.Done()
	return nil
}

func loadPlant(path string) (*plant.File, error) {
	if path != "" {
		return plant.Load(path)
	}
	return plant.Parse("<sample>", plant.Sample())
}

// serveControl serves the rig control API on addr (loopback) and returns
// its base URL and a function that stops it.
func serveControl(rig *testrig.Rig, addr string) (string, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("control address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// The API has no authentication: it stays on this machine.
		return "", nil, fmt.Errorf("control address %q: the rig control API listens on loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("control API listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: rig.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// rigURL is --rig's default: $PRETREAT_RIG, else the default control
// address.
func rigURL() string {
	if u := os.Getenv("PRETREAT_RIG"); u != "" {
		return u
	}
	return "http://" + defaultControlAddr
}

// parseInterleaved parses flags that may come before and after positional
// arguments ("inject jam --target shredder") and returns the positional
// ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdRigFault(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("rig fault: inject, clear or list\n\n" + rigUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("rig fault "+sub, flag.ContinueOnError)
	url := fs.String("rig", rigURL(), "rig control API base URL")
	var spec testrig.FaultSpec
	var value float64
	var valueSet bool
	all, kinds := false, false
	switch sub {
	case "inject":
		fs.StringVar(&spec.Target, "target", "", "device, tag, role or unit the fault acts on")
		fs.DurationVar(&spec.Delay, "delay", 0, "slow: extra response time (wall)")
		fs.IntVar(&spec.Code, "code", 0, "exception: Modbus exception code")
		fs.StringVar(&spec.Status, "status", "", "bad_status: OPC UA status name or number")
		fs.Func("value", "sensor_stuck, sensor_out_of_range: the reading", func(s string) error {
			_, err := fmt.Sscanf(s, "%g", &value)
			valueSet = err == nil
			return err
		})
		fs.Float64Var(&spec.PerMinute, "per-minute", 0, "sensor_drift: units per minute")
		fs.Float64Var(&spec.SD, "sd", 0, "sensor_noise: standard deviation")
		fs.Float64Var(&spec.PerTonne, "per-tonne", 0, "jam_storm: hard objects per tonne")
		fs.IntVar(&spec.Reversals, "reversals", 0, "jam: reversals needed to free it (0: random)")
		fs.Float64Var(&spec.Flow, "flow", 0, "level_hh on the pulper: stuck water flow, kg/s")
	case "clear":
		fs.BoolVar(&all, "all", false, "clear every active fault")
	case "list":
		fs.BoolVar(&kinds, "kinds", false, "list the fault kinds instead of the active faults")
	default:
		return usageError(fmt.Sprintf("rig fault: unknown subcommand %q; allowed: inject, clear, list", sub))
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError(err.Error())
	}
	c := testrig.NewControlClient(*url)
	switch sub {
	case "inject":
		if len(pos) != 1 {
			return usageError("rig fault inject: name one fault kind (pretreat rig fault list --kinds)")
		}
		spec.Kind = testrig.FaultKind(pos[0])
		if valueSet {
			spec.Value = &value
		}
		f, err := c.Inject(ctx, spec)
		if err != nil {
			return err
		}
		fmt.Printf("%s injected: %s\n", f.ID, f.Description)
	case "clear":
		if all {
			if len(pos) != 0 {
				return usageError("rig fault clear: give IDs or --all, not both")
			}
			fs, err := c.ClearAll(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("%d fault(s) cleared\n", len(fs))
			return nil
		}
		if len(pos) == 0 {
			return usageError("rig fault clear: name the fault IDs to clear, or --all")
		}
		var errs []error
		for _, id := range pos {
			f, err := c.Clear(ctx, id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Printf("%s cleared: %s\n", f.ID, f.Description)
		}
		return errors.Join(errs...)
	case "list":
		if len(pos) != 0 {
			return usageError("rig fault list takes no arguments")
		}
		if kinds {
			ks, err := c.FaultKinds(ctx)
			if err != nil {
				return err
			}
			for _, k := range ks {
				fmt.Printf("%-20s target: %s\n%20s %s", k.Kind, k.Target, "", k.Doc)
				if k.Params != "" {
					fmt.Printf("; %s", k.Params)
				}
				fmt.Println()
			}
			return nil
		}
		fs, err := c.Faults(ctx)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			fmt.Println("no active faults")
		}
		for _, f := range fs {
			fmt.Printf("%-4s %-20s %-16s since %s  %s\n", f.ID, f.Spec.Kind, dashIfEmpty(f.Spec.Target), f.Since.Format(time.TimeOnly), f.Description)
		}
	}
	return nil
}

func dashIfEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func cmdHMI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hmi", flag.ContinueOnError)
	url := fs.String("api", "http://127.0.0.1:8470", "controller API base URL")
	user := fs.String("user", "operator", "user name recorded with commands")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	return hmi.Run(ctx, hmi.Options{Client: api.NewClient(*url), User: *user})
}
