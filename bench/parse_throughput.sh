#!/usr/bin/env bash
# Parse throughput of footfall-probe on a footfall-sim capture, side by side with tcpdump and tshark doing
# the same extraction of probe requests in the same run. Prints frames/s of each and the ratios.
#   bench/parse_throughput.sh [FRAMES]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages "${FOOTFALL_BUILD_PACKAGES[@]}" tcpdump tshark

frames=${1:-1000000}
cmake --preset release >/dev/null
cmake --build --preset release --target footfall-probe footfall-sim >/dev/null
bin=build/release/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/footfall-sim" --scenario busy-mall --seed 1 --frames "$frames" --out "$work/site" >/dev/null
capture=$(ls -S "$work"/site/probe-*.pcap | head -n 1)
packets=$("$bin/footfall-probe" frames --read "$capture" --format none 2>&1 | sed -n 's/.*packets read[^0-9]*\([0-9]*\).*/\1/p' | head -n 1)
[ -n "$packets" ] || packets=$(tcpdump -r "$capture" -n 2>/dev/null | wc -l)
echo "capture: $capture ($packets packets, $(du -h "$capture" | cut -f1))"

# Best of three runs, in CPU seconds (user + system) of the measured process: a figure that other load on
# the machine does not inflate, unlike wall-clock time.
best() {
  local b="" cpu
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f '%U %S' "$@" >/dev/null 2>&1
    cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$work/time")
    if [ -z "$b" ] || [ "$(echo "$cpu < $b" | bc -l)" = 1 ]; then b=$cpu; fi
  done
  echo "$b"
}
ensure_packages bc time

t_tcpdump=$(best tcpdump -r "$capture" -e -n 'type mgt subtype probe-req')
t_tshark=$(best tshark -n -r "$capture" -Y 'wlan.fc.type_subtype==4' -T fields -e frame.number -e frame.time_epoch -e wlan.sa -e wlan.bssid -e wlan.ssid -e radiotap.dbm_antsignal -e radiotap.channel.freq -e wlan.seq)
t_json=$(best "$bin/footfall-probe" frames --read "$capture")
t_none=$(best "$bin/footfall-probe" frames --read "$capture" --format none)

rate() { echo "$packets / $1" | bc -l | xargs printf '%.0f'; }
ratio() { echo "$2 / $1" | bc -l | xargs printf '%.1f'; }
printf '%-44s %10s %14s %10s\n' "run" "cpu s" "frames/s" "vs tcpdump"
printf '%-44s %10.3f %14s %10s\n' "tcpdump -e -n 'type mgt subtype probe-req'" "$t_tcpdump" "$(rate "$t_tcpdump")" "1.0"
printf '%-44s %10.3f %14s %10s\n' "tshark -Y probe-req -T fields" "$t_tshark" "$(rate "$t_tshark")" "$(ratio "$t_tshark" "$t_tcpdump")"
printf '%-44s %10.3f %14s %10s\n' "footfall-probe frames (JSON to /dev/null)" "$t_json" "$(rate "$t_json")" "$(ratio "$t_json" "$t_tcpdump")"
printf '%-44s %10.3f %14s %10s\n' "footfall-probe frames --format none" "$t_none" "$(rate "$t_none")" "$(ratio "$t_none" "$t_tcpdump")"
