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

// rigUsage is the help of `pretreat rig`; the fault kinds and their
// flags come from the rig's table of fault kinds.
var rigUsage = `pretreat rig — the simulated line (test rig)

  pretreat rig [--config FILE] [--speed N] [--seed N] [--class C] [--jams injected|random]
               [--ephemeral] [--control ADDR]
      serve the simulated devices of a plant file over Modbus TCP and OPC UA,
      with the rig control API (faults, model values) on ADDR
  pretreat rig --print-map [--config FILE]
      print the served register map and node ids as a table
` + wrapUsage("  pretreat rig fault inject KIND [--target T]", faultFlagsUsage()+" [--rig URL]", 15) + `
  pretreat rig fault clear ID|--all [--rig URL]
  pretreat rig fault list [--kinds] [--rig URL]
  pretreat rig scenario run FILE... [--junit OUT.xml] [--speed N] [--config FILE]
               [--controller URL --rig URL] [--verbose]
  pretreat rig scenario check FILE...

--rig defaults to $PRETREAT_RIG, else http://127.0.0.1:8471.

Fault kinds (KIND), their targets (--target) and parameters:
` + faultKindsUsage()

// faultMetavar is how the help names a value of a parameter's type.
var faultMetavar = map[testrig.ParamType]string{
	testrig.ParamDuration: "D", testrig.ParamFloat: "X", testrig.ParamInt: "N", testrig.ParamString: "S",
}

// faultFlag is the command-line flag of a fault parameter.
func faultFlag(name string) string { return strings.ReplaceAll(name, "_", "-") }

// faultFlagsUsage lists the flags of every fault parameter: "[--delay D]
// [--code N] …".
func faultFlagsUsage() string {
	var fl []string
	for _, name := range testrig.FaultParamNames() {
		_, ps := testrig.FaultParamKinds(name)
		fl = append(fl, fmt.Sprintf("[--%s %s]", faultFlag(name), faultMetavar[ps[0].Type]))
	}
	return strings.Join(fl, " ")
}

// wrapUsage writes head and the words of rest, wrapped at 100 columns with
// continuation lines indented by indent.
func wrapUsage(head, rest string, indent int) string {
	var b strings.Builder
	line := head
	for _, w := range strings.Fields(rest) {
		if len(line)+1+len(w) > 100 {
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", indent)
		} else {
			line += " "
		}
		line += w
	}
	return b.String() + line
}

// faultKindsUsage describes every fault kind: target, effect and flags.
func faultKindsUsage() string {
	var b strings.Builder
	for _, d := range testrig.FaultKindDescs() {
		fmt.Fprintf(&b, "  %-20s %s\n%23s target: %s\n", d.Kind, d.Doc, "", d.TargetText())
		for _, p := range d.Params {
			fmt.Fprintf(&b, "%23s --%s %s  %s\n", "", faultFlag(p.Name), faultMetavar[p.Type], strings.TrimPrefix(p.Text(), p.Name+" "))
		}
	}
	return b.String()
}

// faultParamFlag sets a fault parameter of spec from the command line.
type faultParamFlag struct {
	p    testrig.FaultParam
	spec *testrig.FaultSpec
	text string
}

func (f *faultParamFlag) String() string { return f.text }

func (f *faultParamFlag) Set(v string) error {
	f.text = v
	return f.p.Set(f.spec, v)
}

// addFaultFlags adds a flag for every fault parameter, setting it in spec.
func addFaultFlags(fs *flag.FlagSet, spec *testrig.FaultSpec) {
	for _, name := range testrig.FaultParamNames() {
		kinds, ps := testrig.FaultParamKinds(name)
		var use []string
		for i, k := range kinds {
			use = append(use, string(k)+": "+ps[i].Text())
		}
		fs.Var(&faultParamFlag{p: ps[0], spec: spec}, faultFlag(name), strings.Join(use, "; "))
	}
}

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
	fs.Usage = func() { fmt.Fprint(fs.Output(), rigUsage) }
	url := fs.String("rig", rigURL(), "rig control API base URL")
	var spec testrig.FaultSpec
	all, kinds := false, false
	switch sub {
	case "inject":
		fs.StringVar(&spec.Target, "target", "", "device, tag, role or unit the fault acts on")
		addFaultFlags(fs, &spec)
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
	rig := fs.String("rig", os.Getenv("PRETREAT_RIG"), "a test rig's control API base URL: the training menu (9) injects and clears its faults (default: $PRETREAT_RIG; empty: no training menu)")
	config := fs.String("config", "", "the rig's plant file, for the training menu's targets (default: the sample plant)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("hmi: unexpected argument %q", fs.Arg(0)))
	}
	// Who sends the commands comes from the sign-in: the HMI asks, or
	// signs in with the token of $PRETREAT_TOKEN.
	opts := hmi.Options{Client: api.NewClient(*url)}
	if *rig != "" {
		cfg, err := loadPlant(*config)
		if err != nil {
			return err
		}
		opts.Trainer = newRigTrainer(testrig.NewControlClient(*rig), cfg)
	}
	if tok := os.Getenv("PRETREAT_TOKEN"); tok != "" {
		opts.Login = &api.Login{Token: tok}
	}
	return hmi.Run(ctx, opts)
}
