#!/usr/bin/env bash
# Bytes on the probe -> gateway link per sighting and per event, on a busy-mall capture, against the bytes a
# sensor forwarding whole frames would send (the capture's own records), in the same run.
#   bench/link_bytes.sh [FRAMES]      (default 1000000)
# FOOTFALL_BUILD_DIR=dir builds there (Release) instead of the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."

frames=${1:-1000000}
if [ -n "${FOOTFALL_BUILD_DIR:-}" ]; then
  build=$FOOTFALL_BUILD_DIR
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
  cmake --build "$build" -j2 --target link_bytes footfall-sim >/dev/null
else
  build=build/release
  cmake --preset release >/dev/null
  cmake --build --preset release --target link_bytes footfall-sim >/dev/null
fi
bin=$build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/footfall-sim" --scenario busy-mall --seed 1 --frames "$frames" --out "$work/site" >/dev/null
capture=$(ls -S "$work"/site/probe-*.pcap | head -n 1)
echo "capture: footfall-sim --scenario busy-mall --seed 1 --frames $frames, largest probe file ($(du -h "$capture" | cut -f1))"
"$bin/link_bytes" "$capture"
echo
echo "the same with 10 s batches (batch.max_age_ms 10000): per-batch tables spread over more sightings"
"$bin/link_bytes" "$capture" 10000
