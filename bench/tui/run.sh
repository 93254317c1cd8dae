#!/bin/sh
# TUI benchmark: the shipped ring-buffer panes vs an unbounded slice, side by side in one run.
# A fake container writes LINES lines at RATE lines/s through the real stream batching into the
# real model; keys are pressed every 50 ms; prints keypress-to-frame latency and RSS.
# Usage: bench/tui/run.sh [LINES] [RATE]   (defaults: 10000000 50000 — about 7 minutes in all)
set -eu
cd "$(dirname "$0")/../.."
LINES=${1:-10000000}
RATE=${2:-50000}
bin=$(mktemp -d)/tui-bench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/tui
echo "## $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, go $(go env GOVERSION), $LINES lines at $RATE lines/s"
for store in ring slice; do
	echo
	"$bin" -store "$store" -lines "$LINES" -rate "$RATE"
done
echo
go test -run '^$' -bench . -benchtime 2000x ./bench/tui
