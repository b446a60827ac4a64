#!/bin/sh
# Gateway receive throughput: 100 probes on loopback, fsync always vs never in the same run.
# Usage: bench/gateway_receive.sh [build dir, default build/release] [gateway_receive options]
set -eu
build=${1:-build/release}
[ $# -gt 0 ] && shift
cmake --build "$build" --target gateway_receive >/dev/null
exec "$build/bin/gateway_receive" --probes 100 --events 200 --seconds 5 "$@"
