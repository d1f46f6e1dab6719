package modbus

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/testrig"
)

// countingSink counts the batches a device pushes.
type countingSink struct{ batches atomic.Int64 }

func (s *countingSink) Update([]drivers.Sample) { s.batches.Add(1) }

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPollThroughput polls a 100-point device on the test rig over
// loopback as fast as it answers: first with a bare simonvetter client (one
// 100-register read per request), then with the driver (one planned
// request per poll, decoded, scaled, range-checked and pushed as 100
// samples), on the same server in the same run. It reports both request
// rates, their ratio (driver/raw) and the process CPU time per 1,000
// points polled for each; the rig runs in this process, so the difference
// between the two CPU figures is the driver's own cost.
//
//	go test -run '^$' -bench PollThroughput -benchtime 3s ./drivers/modbus
func BenchmarkPollThroughput(b *testing.B) {
	const points = 100
	roles := []string{"hopper.weight", "cake_bin.weight", "pulper.level", "press.speed", "shredder.current", "line.time_s"}
	cfg := drivers.DeviceConfig{Name: "bench", Protocol: drivers.ProtocolModbusTCP, Address: "127.0.0.1:1502", UnitID: 1, Simulated: true,
		PollInterval: time.Nanosecond, Timeout: time.Second}
	for i := range points {
		cfg.Points = append(cfg.Points, drivers.PointConfig{Tag: fmt.Sprintf("p%d", i), Role: roles[i%len(roles)],
			Table: drivers.TableHolding, Address: uint16(i), Type: drivers.TypeUint16, Scale: 0.1, Max: 10000})
	}
	devs := []drivers.DeviceConfig{cfg}
	startRigDevices(b, devs, (*testrig.ModbusTLS)(nil))
	cfg = devs[0]

	// The raw client: the ceiling a driver can reach on this server.
	c, err := mb.NewClient(&mb.ClientConfiguration{URL: "tcp://" + cfg.Address, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Open(); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	cpu0, t0 := cpuTime(b), time.Now()
	for range b.N {
		if _, err := c.ReadRegisters(0, points, mb.HOLDING_REGISTER); err != nil {
			b.Fatal(err)
		}
	}
	rawWall, rawCPU := time.Since(t0), cpuTime(b)-cpu0
	c.Close()

	// The driver, polling back to back (poll interval 1 ns).
	d, err := New(cfg, Options{Pool: NewPool()})
	if err != nil {
		b.Fatal(err)
	}
	if len(d.blocks) != 1 {
		b.Fatalf("plan has %d requests, want 1", len(d.blocks))
	}
	sink := &countingSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sink) }()
	for sink.batches.Load() < 2 { // connected and polling
		time.Sleep(time.Millisecond)
	}
	start := sink.batches.Load()
	cpu0, t0 = cpuTime(b), time.Now()
	for sink.batches.Load()-start < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	polls := sink.batches.Load() - start
	drvWall, drvCPU := time.Since(t0), cpuTime(b)-cpu0
	b.StopTimer()
	cancel()
	<-done

	rawRate := float64(b.N) / rawWall.Seconds()
	drvRate := float64(polls) / drvWall.Seconds()
	b.ReportMetric(rawRate, "raw-req/s")
	b.ReportMetric(drvRate, "driver-req/s")
	b.ReportMetric(drvRate/rawRate, "driver/raw")
	b.ReportMetric(float64(rawCPU.Microseconds())/(float64(b.N)*points/1000), "raw-cpu-µs/1000pts")
	b.ReportMetric(float64(drvCPU.Microseconds())/(float64(polls)*points/1000), "driver-cpu-µs/1000pts")
}
