#!/usr/bin/env bash
# The project's test command: provisions the real servers the tests use that
# can be had without root, then runs every test with the race detector.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -short     # skip the slow end-to-end tests
#
# influxd 1.8.10 is built once from the Go module proxy into
# ${PRETREAT_TOOLS:-$HOME/.cache/pretreat/bin} (about 1.5 minutes the first time).
# node-opcua (the independent OPC UA server of the driver's interop tests) is
# installed with npm from drivers/opcua/testdata/package-lock.json into
# ${PRETREAT_NODE_OPCUA:-$HOME/.cache/pretreat/node-opcua}, outside the
# repository (about 15 s the first time).
# Debian packages (mbpoll, python3-pymodbus, python3-serial-asyncio, socat)
# are installed by .ci/run; tests that need a program that is missing skip
# with a message naming it.
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

node_opcua="${PRETREAT_NODE_OPCUA:-$HOME/.cache/pretreat/node-opcua}"
lock=drivers/opcua/testdata/package-lock.json
if command -v npm >/dev/null; then
	if [ ! -d "$node_opcua/node_modules/node-opcua-server" ] || ! cmp -s "$lock" "$node_opcua/package-lock.json"; then
		echo "test.sh: installing node-opcua into $node_opcua..."
		mkdir -p "$node_opcua"
		cp drivers/opcua/testdata/package.json "$lock" "$node_opcua/"
		if ! (cd "$node_opcua" && npm ci --no-audit --no-fund --loglevel=error); then
			echo "test.sh: could not install node-opcua; OPC UA interop tests will skip" >&2
		fi
	fi
else
	echo "test.sh: npm not found; OPC UA interop tests will skip" >&2
fi
export PRETREAT_NODE_OPCUA="$node_opcua"

# --- test rig (issue 4): node-opcua-client for the rig's OPC UA interop
# test (testrig/interop_test.go). It comes with node-opcua-server above (a
# dependency of it); install it into the same directory only if it is
# missing, without touching the lock file the block above installs from.
if command -v npm >/dev/null && [ -d "$node_opcua/node_modules" ] && [ ! -d "$node_opcua/node_modules/node-opcua-client" ]; then
	echo "test.sh: installing node-opcua-client into $node_opcua..."
	if ! (cd "$node_opcua" && npm install --no-save --no-audit --no-fund --loglevel=error node-opcua-client@2.186.4); then
		echo "test.sh: could not install node-opcua-client; the rig's OPC UA client interop test will skip" >&2
	fi
fi
# --- end test rig

echo "test.sh: go vet"
go vet ./...
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
	echo "test.sh: gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "test.sh: go test -race -count=1 ./... $*"
go test -race -count=1 -timeout 40m "$@" ./...
# Timing that the race detector would distort, measured in a plain build:
# three HMIs attached to a controller must not move its scan's lateness.
echo "test.sh: go test -count=1 -run 'TestSSELoadThreeHMIsDoNotMoveTheScan' ./cmd/pretreat (no race detector)"
go test -count=1 -timeout 10m -run 'TestSSELoadThreeHMIsDoNotMoveTheScan' ./cmd/pretreat
