// Package influxtest starts a real InfluxDB 1.8 server (influxd) for tests:
// one per call, on free loopback ports, with its data in the test's temp
// directory, stopped when the test ends. It belongs to tests only; no
// production code imports it.
//
// The influxd binary is looked up in $PRETREAT_INFLUXD, then on PATH, then
// at ~/.cache/pretreat/bin/influxd (and /root/.cache/pretreat/bin/influxd).
// When none exists the test is skipped with a message saying how to get it:
//
//	GOBIN=$HOME/.cache/pretreat/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
package influxtest
