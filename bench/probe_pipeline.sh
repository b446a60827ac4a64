#!/usr/bin/env bash
# The probe's pipeline (capture file -> parse -> presence -> batches encoded -> spool) in frames/s and events/s,
# side by side with tcpdump reading the same file in the same run; then the peak RSS of the whole
# `footfall-probe run` process replaying a capture of 1,000,000 distinct phones (all present at its end).
#   bench/probe_pipeline.sh [FRAMES] [DEVICES]      (defaults 1000000 1000000)
# FOOTFALL_BUILD_DIR=dir builds there (Release) instead of the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages tcpdump bc time

frames=${1:-1000000}
devices=${2:-1000000}
if [ -n "${FOOTFALL_BUILD_DIR:-}" ]; then
  build=$FOOTFALL_BUILD_DIR
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
  cmake --build "$build" -j2 --target probe_pipeline footfall-probe footfall-sim >/dev/null
else
  build=build/release
  cmake --preset release >/dev/null
  cmake --build --preset release --target probe_pipeline footfall-probe footfall-sim >/dev/null
fi
bin=$build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/footfall-sim" --scenario busy-mall --seed 1 --frames "$frames" --out "$work/site" >/dev/null
capture=$(ls -S "$work"/site/probe-*.pcap | head -n 1)
echo "capture: footfall-sim --scenario busy-mall --seed 1 --frames $frames, largest probe file ($(du -h "$capture" | cut -f1))"

# Best of three, CPU seconds (user + system) of the measured process.
best() {
  local b="" cpu
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f '%U %S' "$@" >/dev/null 2>&1
    cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$work/time")
    if [ -z "$b" ] || [ "$(echo "$cpu < $b" | bc -l)" = 1 ]; then b=$cpu; fi
  done
  echo "$b"
}
t_copy=$(best tcpdump -r "$capture" -w /dev/null)
t_filter=$(best tcpdump -r "$capture" -e -n 'type mgt subtype probe-req')
out_group=$("$bin/probe_pipeline" run "$capture" --fsync group --repeat 3)
read -r _ n_frames _ _ _ n_events _ n_batches _ _ < <(echo "$out_group" | head -n 1)
group=$(echo "$out_group" | tail -n 1)
never=$("$bin/probe_pipeline" run "$capture" --fsync never --repeat 3 | tail -n 1)
# The same without device linking (one device per address): what linking costs per frame.
unlinked=$("$bin/probe_pipeline" run "$capture" --fsync never --repeat 3 --no-link | tail -n 1)
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }

rate() { echo "$n_frames / $1" | bc -l | xargs printf '%.0f'; }
echo "frames $n_frames, presence events $n_events, batches $n_batches (probe defaults: 1 s batches, events only)"
printf '%-58s %9s %9s %12s %12s %10s\n' "run" "cpu s" "wall s" "frames/s" "events/s" "vs tcpdump -w"
printf '%-58s %9.3f %9s %12s %12s %10s\n' "tcpdump -r F -w /dev/null" "$t_copy" "-" "$(rate "$t_copy")" "-" "1.0"
printf '%-58s %9.3f %9s %12s %12s %10.1f\n' "tcpdump -r F -e -n 'type mgt subtype probe-req' >/dev/null" "$t_filter" "-" \
  "$(rate "$t_filter")" "-" "$(echo "$t_copy / $t_filter" | bc -l)"
for mode in group never unlinked; do
  case $mode in group) line=$group; what="spool.fsync group" ;; never) line=$never; what="spool.fsync never" ;;
    unlinked) line=$unlinked; what="spool.fsync never, no device linking" ;; esac
  cpu=$(field "$line" cpu_s)
  printf '%-58s %9.3f %9.3f %12.0f %12.0f %10.1f\n' "probe pipeline to spool ($what)" "$cpu" "$(field "$line" wall_s)" \
    "$(field "$line" frames_per_s_cpu)" "$(field "$line" events_per_s_cpu)" "$(echo "$t_copy / $cpu" | bc -l)"
done
echo "(frames/s and events/s over CPU time; wall time includes the spool's fdatasync waits)"

# Peak RSS of the whole probe process with a presence table of $devices devices.
"$bin/probe_pipeline" devices "$devices" "$work/devices.pcap"
cat >"$work/probe.json" <<JSON
{"probe_id": "bench", "token": "t", "source": {"file": "$work/devices.pcap"},
 "gateway": {"host": "127.0.0.1", "port": 9}, "spool": {"dir": "$work/spool", "max_mb": 1024},
 "drain_timeout_s": 1, "log_level": "info"}
JSON
set +e
/usr/bin/time -o "$work/time" -f '%M %e %U %S' "$bin/footfall-probe" run --config "$work/probe.json" 2>"$work/probe.err"
status=$?
set -e
[ "$status" -le 1 ] || { cat "$work/probe.err"; exit 1; }  # 1: the drain timed out, as it must with no gateway
read -r rss_kb wall user sys < <(tail -n 1 "$work/time")
peak=$(grep -o 'peak_devices=[0-9]*' "$work/probe.err" | tail -n 1 | cut -d= -f2 || true)
arrivals=$(grep -o 'arrivals=[0-9]*' "$work/probe.err" | tail -n 1 | cut -d= -f2)
printf 'footfall-probe run, %s devices present at the end of the file (arrivals %s): peak RSS %.1f MB, %.1f s\n' \
  "$devices" "$arrivals" "$(echo "$rss_kb / 1024" | bc -l)" "$wall"
