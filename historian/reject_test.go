package historian_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/historian"
	"github.com/pretreat/pretreat/historian/influxtest"
)

// TestBadPointsNeverStall is acceptance 4 of issue 7: samples with NaN,
// +Inf and -Inf, events with no field left (no name, message, user or
// finite value), and a time InfluxDB cannot store are mixed into good
// data. They are refused before the outbox and counted by kind; every good
// point arrives. A point InfluxDB itself refuses (a field type conflict,
// HTTP 400 partial write) is counted as refused and the points after it
// still flow.
func TestBadPointsNeverStall(t *testing.T) {
	t.Parallel() // its own influxd; overlaps the 3-minute outage
	srv := influxtest.Start(t)
	// A string field "current_a" in "event" in the shard of the test's
	// times, so that a float one conflicts.
	if err := srv.Write(influxtest.Database, fmt.Sprintf(`event,kind=alarm,line=L1 current_a="text" %d`, base.Add(-time.Hour).UnixNano())); err != nil {
		t.Fatal(err)
	}
	h, err := historian.Open(historian.Options{Dir: t.TempDir(), Line: "L1", Clock: plantClock{},
		Influx: &historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, BatchSize: 100, FlushInterval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Start(context.Background())

	good, nonFinite := 0, 0
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for i := 0; i < 3000; i++ {
		s := drivers.Sample{Tag: "press.current", Value: float64(i), Quality: drivers.QualityGood, Time: base.Add(time.Duration(i) * time.Second)}
		if i%10 == 3 {
			s.Value = bad[i%3]
			nonFinite++
		} else {
			good++
		}
		h.Samples([]drivers.Sample{s})
		switch i {
		case 500, 1500:
			h.Event(historian.Event{Time: s.Time, Kind: historian.EventCommand}) // nothing to write
			h.Event(historian.Event{Time: s.Time, Kind: historian.EventAlarm, Values: map[string]float64{"x": math.NaN()}})
		case 1000:
			h.Samples([]drivers.Sample{{Tag: "press.current", Value: 1, Quality: drivers.QualityGood, Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}})
		case 2000:
			h.Event(historian.Event{Time: s.Time, Kind: historian.EventAlarm, Name: "overload", Values: map[string]float64{"current_a": 99}})
		}
		if i%500 == 0 {
			time.Sleep(30 * time.Millisecond) // several commits and requests
		}
	}
	waitDrained(t, h, 30*time.Second)
	st := h.Stats()
	in := st.Influx
	t.Logf("rejected: %d non-finite, %d empty, %d bad time; refused by InfluxDB: %d points; written %d; last error %q",
		in.RejectedNonFinite, in.RejectedEmpty, in.RejectedBadTime, in.Refused, in.Written, in.LastError)
	if in.RejectedNonFinite != uint64(nonFinite) || in.RejectedEmpty != 4 || in.RejectedBadTime != 1 || st.SkippedNonFinite != 2 {
		t.Errorf("rejected %d non-finite, %d empty, %d bad time, %d event values skipped; want %d, 4, 1, 2",
			in.RejectedNonFinite, in.RejectedEmpty, in.RejectedBadTime, st.SkippedNonFinite, nonFinite)
	}
	if in.Refused == 0 || !strings.Contains(in.LastError, "field type conflict") {
		t.Errorf("Refused = %d, LastError %q; want the conflicting batch refused and named", in.Refused, in.LastError)
	}
	// A partial write keeps the batch's other points: every good sample is there.
	if n := srv.Count(t, influxtest.Database, `SELECT count("value") FROM "process"`); n != good {
		t.Errorf("samples in InfluxDB = %d, want %d", n, good)
	}
	if in.Outbox.PendingPoints != 0 || in.Dropped != 0 {
		t.Errorf("outbox pending %d, dropped %d: want everything through", in.Outbox.PendingPoints, in.Dropped)
	}
}

// TestTokenFromFileOrEnvNeverLogged runs influxd with authentication on:
// a wrong token is refused (401) and the points wait in the outbox; the
// right one, read from a file or an environment variable, delivers them.
// Neither token appears in the log at debug level or in Stats.
func TestTokenFromFileOrEnvNeverLogged(t *testing.T) {
	t.Parallel() // its own influxd; overlaps the 3-minute outage
	srv := influxtest.StartWith(t, influxtest.Options{Auth: true})
	const wrong = "admin:wrong-s3cret-pw"
	for _, how := range []string{"file", "env"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "token")
			env := "PRETREAT_TEST_INFLUX_TOKEN_" + strings.ToUpper(how)
			opts := historian.InfluxOptions{URL: srv.URL, Bucket: influxtest.Bucket, FlushInterval: 20 * time.Millisecond, MaxRetryDelay: time.Second}
			set := func(token string) {
				if how == "file" {
					if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					opts.TokenFile = tokenFile
				} else {
					// Not t.Setenv, which parallel tests may not use; the
					// name is this test's own.
					os.Setenv(env, token)
					t.Cleanup(func() { os.Unsetenv(env) })
					opts.TokenEnv = env
				}
			}
			var logBuf syncBuffer
			logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			write := func(first int) *historian.Historian {
				h, err := historian.Open(historian.Options{Dir: filepath.Join(dir, "data"), Line: "L-" + how, Clock: plantClock{}, Logger: logger, Influx: &opts})
				if err != nil {
					t.Fatal(err)
				}
				h.Start(context.Background())
				for i := first; i < first+10; i++ {
					h.Samples([]drivers.Sample{{Tag: "pump.flow", Value: float64(i), Quality: drivers.QualityGood, Time: base.Add(time.Duration(i) * time.Second)}})
				}
				logger.Info("options", "influx", opts) // as a careless caller might
				return h
			}

			set(wrong)
			h := write(0)
			waitUntil(t, 10*time.Second, "a refused write", func() bool { return h.Stats().Influx.Errors > 0 })
			in := h.Stats().Influx
			if in.Written != 0 || !strings.Contains(in.LastError, "401") && !strings.Contains(strings.ToLower(in.LastError), "authoriz") {
				t.Errorf("with a wrong token: written %d, last error %q; want nothing written, an authorization error", in.Written, in.LastError)
			}
			stats := fmt.Sprintf("%+v", h.Stats().Influx)
			h.Close()

			set(srv.Token())
			h = write(10)
			waitDrained(t, h, 20*time.Second)
			h.Close()
			if n := srv.Count(t, influxtest.Database, `SELECT count("value") FROM "process" WHERE "line" = 'L-`+how+`'`); n != 20 {
				t.Errorf("points delivered with the right token = %d, want 20 (10 kept from the refused run)", n)
			}
			log := logBuf.String()
			for _, secret := range []string{"wrong-s3cret-pw", srv.Password} {
				if strings.Contains(log, secret) || strings.Contains(stats, secret) {
					t.Errorf("a token shows in the log or Stats:\n%s\n%s", log, stats)
				}
			}
			if !strings.Contains(log, "InfluxDB write failed") {
				t.Errorf("log lacks the failed write:\n%s", log)
			}
		})
	}
}
