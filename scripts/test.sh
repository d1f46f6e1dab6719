#!/usr/bin/env bash
# The project's test command: provisions the real servers the tests use that
# can be had without root, then runs every test with the race detector.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -short     # skip the slow end-to-end tests
#
# influxd 1.8.10 is built once from the Go module proxy into
# ${PRETREAT_TOOLS:-$HOME/.cache/pretreat/bin} (about 1.5 minutes the first time).
# Debian packages (mbpoll, python3-pymodbus) are installed by .ci/run; tests
# that need a program that is missing skip with a message naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${PRETREAT_TOOLS:-$HOME/.cache/pretreat/bin}"
mkdir -p "$tools"
if [ ! -x "$tools/influxd" ]; then
	echo "test.sh: building influxd 1.8.10 into $tools (once)..."
	if ! (cd /tmp && GOBIN="$tools" GOFLAGS=-mod=mod go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10); then
		echo "test.sh: could not build influxd; InfluxDB tests will skip" >&2
	fi
fi
export PRETREAT_INFLUXD="$tools/influxd"

echo "test.sh: go vet"
go vet ./...
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
	echo "test.sh: gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "test.sh: go test -race -count=1 ./... $*"
go test -race -count=1 -timeout 20m "$@" ./...
