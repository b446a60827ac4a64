#!/usr/bin/env bash
# Footprint of the probe on each target: the stripped size of the static footfall-probe, and its peak memory
# (max RSS) reading a busy-mall capture with `footfall-probe presence --read` under qemu-user, beside an idle
# run (a 1-packet capture: qemu and the program's start) and the same command on the build machine.
#
#   bench/cross_footprint.sh [--no-build] [--duration 1h] [ARCH...]     ARCH: aarch64 armhf mipsel (default: all)
#
# Without --no-build each ARCH is first built and tested by tools/cross-test. Max RSS is the kernel's count for
# the qemu process (getrusage of the child): it includes qemu's own memory and its translation cache, so the
# busy-minus-idle difference is the figure that grows with the capture; the native run is the reference.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
duration=1h
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --duration) duration="$2"; shift 2 ;;
    aarch64|armhf|mipsel) arches+=("$1"); shift ;;
    *) sed -n '6p' "$0" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(aarch64 armhf mipsel)

if [ "$build" -eq 1 ]; then
  for arch in "${arches[@]}"; do tools/cross-test "$arch"; done
fi

# Native programs of the build machine: the simulator (made by tools/cross-test) and the probe.
sim=build/cross-host/bin/footfall-sim
[ -x "$sim" ] || { echo "bench/cross_footprint.sh: $sim is missing: run tools/cross-test ARCH first" >&2; exit 1; }
if [ ! -f build/cross-host/build.ninja ]; then
  # tools/cross-test copied footfall-sim from build/release instead of configuring build/cross-host.
  cmake -S . -B build/cross-host -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOOTFALL_PROBE_ONLY=ON \
    -DFOOTFALL_BUILD_TESTS=OFF >/dev/null
fi
cmake --build build/cross-host --target footfall-probe -j 2 >/dev/null
native_probe=build/cross-host/bin/footfall-probe

site="build/cross-footprint/busy-mall-$duration"
if [ ! -f "$site/truth.json" ]; then
  mkdir -p "$site"
  "$sim" --scenario busy-mall --seed 1 --duration "$duration" --out "$site" >/dev/null
fi
capture="$(ls -S "$site"/probe-*.pcap | head -1)"  # the busiest probe
idle="build/cross-footprint/one-packet.pcap"
[ -f "$idle" ] || head -c $((24 + 16 + $(od -An -tu4 -j 32 -N4 "$capture" | tr -d ' '))) "$capture" >"$idle"
packets="$("$native_probe" frames --read "$capture" --format none 2>&1 >/dev/null | grep -oE '[0-9]+ packets' | head -1 || true)"

# max RSS (KiB) and wall seconds of a command, from getrusage of the finished child
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t
if r.returncode != 0:
    sys.exit(f"exit status {r.returncode}: {' '.join(sys.argv[1:])}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, f"{wall:.1f}")
PY
}

echo "capture: $capture ($(stat -c %s "$capture") bytes${packets:+, $packets}), busy-mall seed 1, $duration"
printf '%-8s %12s %14s %14s %12s %8s\n' target stripped_B maxrss_busy_KiB maxrss_idle_KiB busy-idle_KiB wall_s
read -r rss wall < <(measure "$native_probe" presence --read "$capture")
read -r rss0 _ < <(measure "$native_probe" presence --read "$idle")
printf '%-8s %12s %14s %14s %12s %8s\n' "native" "-" "$rss" "$rss0" "$((rss - rss0))" "$wall"
for arch in "${arches[@]}"; do
  case "$arch" in
    aarch64) triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
    armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm ;;
    mipsel) triplet=mipsel-linux-gnu qemu=qemu-mipsel ;;
  esac
  probe="build/cross-$arch/bin/footfall-probe"
  [ -x "$probe" ] || { echo "$arch: $probe is missing (tools/cross-test $arch)"; continue; }
  "$triplet-strip" -o "build/cross-$arch/footfall-probe.stripped" "$probe"
  size="$(stat -c %s "build/cross-$arch/footfall-probe.stripped")"
  run=("$qemu" -L "build/cross-sysroot-$arch" "$probe" presence --read)
  read -r rss wall < <(measure "${run[@]}" "$capture")
  read -r rss0 _ < <(measure "${run[@]}" "$idle")
  printf '%-8s %12s %14s %14s %12s %8s\n' "$arch" "$size" "$rss" "$rss0" "$((rss - rss0))" "$wall"
done
