#!/usr/bin/env bash
# The probe's pipeline (capture file -> parse -> presence -> batches encoded -> spool) with device linking off
# and on, side by side with tcpdump reading the same file in the same run: CPU seconds and frames/s of each,
# the ratio to tcpdump, and what linking on costs against off in percent; then what linking costs per frame
# (bench/link_cost.cpp) on the same file; then the peak RSS of the whole `footfall-probe run` process
# replaying a capture of 1,000,000 distinct phones (all present at its end).
#   bench/probe_pipeline.sh [FRAMES] [DEVICES] [CAPTURE...]      (defaults 1000000 1000000)
# The first input is a footfall-sim busy-mall capture of FRAMES frames (its phones change their random
# addresses); each CAPTURE (e.g. a real one in ../shared/captures, read where it is) is measured the same way.
# DEVICES 0 skips the memory run.
# REPEAT=n (default 5): each figure is measured n times, the runs of one round interleaved (tcpdump, probe
# off, probe on, ...), and min and median printed: the machine is shared and single runs move by 10-30 %.
# WORST_GATE_DB=x (e.g. 0.01) adds, to every input, the pipeline and link_cost with link_rssi_gate_db x and
# link_rssi_gate_k 0: not the defaults, a gate that refuses most candidates, so that a fingerprint's list grows
# and walks reach link_max_candidates (the linker's worst case per new address). A crowd capture to run it on:
#   build/release/bin/link_cost crowd --devices 10000 --fingerprints 1 --write /tmp/crowd.pcap
# FOOTFALL_BUILD_DIR=dir builds there (Release) instead of the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages tcpdump bc time

frames=${1:-1000000}
devices=${2:-1000000}
shift $(($# < 2 ? $# : 2))
repeat=${REPEAT:-5}
modes=(never.off never.on group.off group.on)
[ -z "${WORST_GATE_DB:-}" ] || modes+=(never.worst)
targets=(probe_pipeline link_cost footfall-probe footfall-sim)
if [ -n "${FOOTFALL_BUILD_DIR:-}" ]; then
  build=$FOOTFALL_BUILD_DIR
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
  cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null
else
  build=build/release
  cmake --preset release >/dev/null
  cmake --build --preset release --target "${targets[@]}" >/dev/null
fi
bin=$build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/footfall-sim" --scenario busy-mall --seed 1 --frames "$frames" --out "$work/site" >/dev/null
sim_capture=$(ls -S "$work"/site/probe-*.pcap)
sim_capture=${sim_capture%%$'\n'*}

# CPU seconds (user + system, ms resolution) of one run of a command.
cpu_of() {
  local TIMEFORMAT='%3U %3S'
  { time "$@" >/dev/null 2>&1; } 2>"$work/time"
  awk '{ printf "%.3f\n", $1 + $2 }' "$work/time"
}
# "min median" of the numbers in a file, one a line.
min_median() {
  sort -g "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f\n", v[1], m }'
}
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
div() { echo "$1 / $2" | bc -l; }

pipeline_table() {
  local capture=$1 what=$2 r mode out first line n_frames="" counts_off="" counts_on="" counts_worst=""
  rm -f "$work"/s.*
  for ((r = 1; r <= repeat; r++)); do
    cpu_of tcpdump -r "$capture" -w /dev/null >>"$work/s.copy"
    cpu_of tcpdump -r "$capture" -e -n 'type mgt subtype probe-req' >>"$work/s.filter"
    for mode in "${modes[@]}"; do
      local args=(run "$capture" --fsync "${mode%.*}" --repeat 1)
      case ${mode#*.} in off) args+=(--no-link) ;; worst) args+=(--gate-db "$WORST_GATE_DB") ;; esac
      out=$("$bin/probe_pipeline" "${args[@]}")
      # First and last line without `head` (under pipefail, head closing the pipe early may kill the writer).
      first=${out%%$'\n'*}
      line=${out##*$'\n'}
      field "$line" cpu_s >>"$work/s.$mode"
      field "$line" wall_s >>"$work/w.$mode"
      n_frames=$(field "$first" frames)
      case ${mode#*.} in off) counts_off=$first ;; on) counts_on=$first ;; worst) counts_worst=$first ;; esac
    done
  done
  echo
  echo "== probe pipeline: $what"
  echo "link off: $counts_off"
  echo "link on:  $counts_on"
  [ -z "$counts_worst" ] || echo "worst:    $counts_worst (link_rssi_gate_db $WORST_GATE_DB, link_rssi_gate_k 0)"
  read -r copy_min copy_med < <(min_median "$work/s.copy")
  read -r filter_min filter_med < <(min_median "$work/s.filter")
  printf '%-66s %9s %9s %9s %12s %9s %9s\n' "run ($repeat runs each, CPU s)" "min" "median" "wall med" "frames/s" \
    "vs -w" "vs filter"
  rate() { if [ "$(echo "$1 > 0" | bc)" = 1 ]; then printf '%.0f' "$(div "$n_frames" "$1")"; else echo "-"; fi; }
  ratio() { if [ "$(echo "$2 > 0" | bc)" = 1 ]; then printf '%.2f' "$(div "$1" "$2")"; else echo "-"; fi; }
  printf '%-66s %9.3f %9.3f %9s %12s %9s %9s\n' "tcpdump -r F -w /dev/null" "$copy_min" "$copy_med" "-" \
    "$(rate "$copy_med")" "1.00" "$(ratio "$filter_med" "$copy_med")"
  printf '%-66s %9.3f %9.3f %9s %12s %9s %9s\n' "tcpdump -r F -e -n 'type mgt subtype probe-req' >/dev/null" \
    "$filter_min" "$filter_med" "-" "$(rate "$filter_med")" "$(ratio "$copy_med" "$filter_med")" "1.00"
  for mode in "${modes[@]}"; do
    read -r mn md < <(min_median "$work/s.$mode")
    read -r _ wmd < <(min_median "$work/w.$mode")
    eval "min_${mode/./_}=$mn med_${mode/./_}=$md"
    local label="linking ${mode#*.}"
    [ "${mode#*.}" != worst ] || label="linking on, gate $WORST_GATE_DB dB"
    printf '%-66s %9.3f %9.3f %9.3f %12s %9s %9s\n' \
      "probe pipeline to spool, spool.fsync ${mode%.*}, $label" "$mn" "$md" "$wmd" "$(rate "$md")" \
      "$(ratio "$copy_med" "$md")" "$(ratio "$filter_med" "$md")"
  done
  echo "(frames/s over the median CPU time; vs: tcpdump's median CPU time / this one's, above 1 = faster than tcpdump)"
  local pair
  for pair in never.on group.on ${WORST_GATE_DB:+never.worst}; do
    local fsync=${pair%.*} on=${pair#*.} on_min on_med off_min off_med
    eval "on_min=\$min_${fsync}_$on on_med=\$med_${fsync}_$on off_min=\$min_${fsync}_off off_med=\$med_${fsync}_off"
    if [ "$(echo "$off_min > 0" | bc)" = 1 ]; then
      printf 'linking %s vs off (spool.fsync %s): CPU time %+.1f %% (median), %+.1f %% (min); frames/s %+.1f %% (median); target: at most 10 %% slower\n' \
        "$on" "$fsync" "$(echo "($on_med - $off_med) * 100 / $off_med" | bc -l)" "$(echo "($on_min - $off_min) * 100 / $off_min" | bc -l)" \
        "$(echo "($off_med / $on_med - 1) * 100" | bc -l)"
    fi
  done
}

link_cost_table() {
  echo
  echo "== linking cost per frame: $2 (bench/link_cost, in memory, $repeat runs each)"
  "$bin/link_cost" capture "$1" --repeat "$repeat"
  if [ -n "${WORST_GATE_DB:-}" ]; then
    echo
    echo "== linking cost per frame, worst case (link_rssi_gate_db $WORST_GATE_DB): $2"
    "$bin/link_cost" capture "$1" --repeat "$repeat" --gate-db "$WORST_GATE_DB"
  fi
  # Where the pipeline's cycles go with linking on: the share of DeviceLinker's functions (perf, when there).
  if command -v perf >/dev/null && perf record -q -o "$work/perf.data" -F 4999 -- \
       "$bin/probe_pipeline" run "$1" --fsync never --repeat 1 >/dev/null 2>&1; then
    perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
      awk '/^ +[0-9.]+%/ { gsub("%", "", $1); all += $1; if ($0 ~ /DeviceLinker|PositionIndex/) link += $1 }
           END { printf "perf: DeviceLinker (with its indexes) %.1f %% of the pipeline'"'"'s samples (spool.fsync never, linking on)\n", link }'
  fi
}

echo "capture: footfall-sim --scenario busy-mall --seed 1 --frames $frames, largest probe file ($(du -h "$sim_capture" | cut -f1))"
pipeline_table "$sim_capture" "footfall-sim busy-mall, seed 1, $frames frames"
link_cost_table "$sim_capture" "footfall-sim busy-mall"
for capture in "$@"; do
  pipeline_table "$capture" "$capture"
  link_cost_table "$capture" "$(basename "$capture")"
done

[ "$devices" -gt 0 ] || exit 0
# Peak RSS of the whole probe process with a presence table of $devices devices.
"$bin/probe_pipeline" devices "$devices" "$work/devices.pcap"
cat >"$work/probe.json" <<JSON
{"probe_id": "bench", "token": "t", "source": {"file": "$work/devices.pcap"},
 "gateway": {"host": "127.0.0.1", "port": 9}, "spool": {"dir": "$work/spool", "max_mb": 1024},
 "presence": {"link_addresses": true}, "drain_timeout_s": 1, "log_level": "info"}
JSON
set +e
/usr/bin/time -o "$work/time" -f '%M %e %U %S' "$bin/footfall-probe" run --config "$work/probe.json" 2>"$work/probe.err"
status=$?
set -e
[ "$status" -le 1 ] || { cat "$work/probe.err"; exit 1; }  # 1: the drain timed out, as it must with no gateway
read -r rss_kb wall user sys < <(tail -n 1 "$work/time")
arrivals=$(grep -o 'arrivals=[0-9]*' "$work/probe.err" | tail -n 1 | cut -d= -f2)
echo
printf 'footfall-probe run (presence.link_addresses true), %s devices present at the end of the file (arrivals %s): peak RSS %.1f MB, %.1f s\n' \
  "$devices" "$arrivals" "$(echo "$rss_kb / 1024" | bc -l)" "$wall"
