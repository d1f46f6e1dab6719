package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig"
)

// cmdBench measures the scan: execution time and lateness (p50/p99/max)
// for the sample plant and for one ten times larger, at 100 ms and 10 ms
// periods, each over --duration of wall time against the rig on loopback,
// with the historian writing and an API client reading the status.
func cmdBench(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "scan" {
		return usageError("usage: pretreat bench scan [--duration 30s]")
	}
	fs := flag.NewFlagSet("bench scan", flag.ContinueOnError)
	duration := fs.Duration("duration", 30*time.Second, "wall time per configuration")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	const row = "%-5s %6s %6s %6s %11s %11s %11s %11s %11s %11s %8s %12s\n"
	fmt.Printf(row, "plant", "points", "period", "scans", "exec p50 µs", "exec p99 µs", "exec max µs", "late p50 ms", "late p99 ms", "late max ms", "overruns", "status reads")
	for _, size := range []int{1, 10} {
		for _, period := range []time.Duration{100 * time.Millisecond, 10 * time.Millisecond} {
			r, err := benchOne(ctx, size, period, *duration)
			if err != nil {
				return err
			}
			s := r.scan
			f0 := func(v float64) string { return fmt.Sprintf("%.0f", v) }
			f2 := func(v float64) string { return fmt.Sprintf("%.2f", v) }
			fmt.Printf(row, fmt.Sprintf("%dx", size), fmt.Sprint(r.points), period, fmt.Sprint(s.Count), f0(s.ExecP50Us), f0(s.ExecP99Us), f0(s.MaxExecUs),
				f2(s.LatenessP50Ms), f2(s.LatenessP99Ms), f2(s.MaxLatenessMs), fmt.Sprint(s.Overruns), fmt.Sprint(r.reads))
		}
	}
	return nil
}

type benchResult struct {
	scan   api.ScanStats
	points int
	reads  int
}

// scaledPlant returns the sample plant with its devices repeated n times
// (copies serve the same simulated values under their own tags).
func scaledPlant(n int) (*plant.File, error) {
	cfg, err := plant.Parse("<sample>", plant.Sample())
	if err != nil {
		return nil, err
	}
	base := cfg.Devices
	for k := 2; k <= n; k++ {
		for _, d := range base {
			c := d
			c.Name = fmt.Sprintf("%s_%d", d.Name, k)
			// Distinct configured addresses (the rig binds free ports anyway).
			if c.Address != "" {
				c.Address = fmt.Sprintf("127.0.0.1:%d", 20000+100*k+len(cfg.Devices))
			}
			if c.Endpoint != "" {
				c.Endpoint = fmt.Sprintf("opc.tcp://127.0.0.1:%d", 20000+100*k+len(cfg.Devices))
			}
			c.Points = nil
			for _, p := range d.Points {
				q := p
				q.Role = p.EffectiveRole()
				q.Tag = fmt.Sprintf("%s_%d", p.Tag, k)
				q.Access = drivers.AccessRead // copies are watched, not driven
				c.Points = append(c.Points, q)
			}
			cfg.Devices = append(cfg.Devices, c)
		}
	}
	return cfg, nil
}

func benchOne(ctx context.Context, size int, period, d time.Duration) (*benchResult, error) {
	cfg, err := scaledPlant(size)
	if err != nil {
		return nil, err
	}
	cfg.ScanPeriod = period
	points := 0
	for _, dv := range cfg.Devices {
		points += len(dv.Points)
	}
	clock := drivers.NewScaledClock(time.Now(), 1)
	rig, err := testrig.New(testrig.Options{Devices: cfg.Devices, Units: rigUnits(cfg), Clock: clock, Seed: 1, Ephemeral: true})
	if err != nil {
		return nil, err
	}
	if err := rig.Start(ctx); err != nil {
		return nil, err
	}
	defer rig.Stop()
	for _, ep := range rig.Endpoints() {
		for i := range cfg.Devices {
			if cfg.Devices[i].Name == ep.Device {
				if ep.Protocol == drivers.ProtocolOPCUA {
					cfg.Devices[i].Endpoint = ep.URL
				} else {
					cfg.Devices[i].Address = ep.Address
				}
			}
		}
	}
	dir, err := os.MkdirTemp("", "pretreat-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := startController(ctx, controllerOptions{Plant: cfg, Clock: clock, DataDir: dir, APIAddr: "127.0.0.1:0", Logger: log, ImportShipped: true})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	c := api.NewClient(p.Server.URL())
	// A batch runs during the measurement, as in production.
	time.Sleep(2 * time.Second)
	c.Send(ctx, api.Command{Command: api.CommandReset, User: "bench"})
	time.Sleep(200 * time.Millisecond)
	c.Send(ctx, api.Command{Command: api.CommandStart, Recipe: "catering", User: "bench"})
	res := &benchResult{points: points}
	start := p.Engine.Status().Scan
	end := time.Now().Add(d)
	for time.Now().Before(end) { // an HMI-like client: the status every 200 ms
		if _, err := c.Status(ctx); err == nil {
			res.reads++
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	res.scan = p.Engine.Status().Scan
	res.scan.Count -= start.Count
	return res, nil
}
