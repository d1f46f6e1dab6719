package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/hmi"
	"github.com/pretreat/pretreat/testrig"
)

func cmdRig(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rig", flag.ContinueOnError)
	config := fs.String("config", "", "plant file (default: the sample plant)")
	speed := fs.Float64("speed", 1, "plant time runs this many times faster than real time")
	seed := fs.Int64("seed", 1, "random seed")
	class := fs.String("class", "catering", "waste class tipped into the hopper")
	ephemeral := fs.Bool("ephemeral", false, "listen on free ports instead of the plant file's")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	var cfg *plant.File
	var err error
	if *config != "" {
		cfg, err = plant.Load(*config)
	} else {
		cfg, err = plant.Parse("<sample>", plant.Sample())
	}
	if err != nil {
		return err
	}
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Clock: drivers.NewScaledClock(time.Now(), *speed), Seed: *seed, WasteClass: *class, Ephemeral: *ephemeral})
	if err != nil {
		return err
	}
	if err := rig.Start(ctx); err != nil {
		return err
	}
	defer rig.Stop()
	fmt.Printf("pretreat rig: simulating line %s at %gx (seed %d, class %s); Ctrl-C stops\n", cfg.Line, *speed, *seed, *class)
	for _, ep := range rig.Endpoints() {
		fmt.Printf("  %-14s %-10s %s\n", ep.Device, ep.Protocol, ep.URL)
	}
	<-ctx.Done()
	return nil
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
