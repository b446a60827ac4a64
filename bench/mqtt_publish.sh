#!/usr/bin/env bash
# Events/s through the gateway publisher (micro-batches of 500, outbox fsync per batch, QoS 1) versus
# mosquitto_pub -l publishing one QoS 1 message per event, same events, same broker, same run.
# Usage: bench/mqtt_publish.sh [BUILD_BIN_DIR] [EVENTS]
set -euo pipefail
bin_dir=${1:-build/release/bin}
events=${2:-50000}
work=$(mktemp -d /tmp/footfall-mqtt-bench.XXXXXX)
broker_pid=
cleanup() {
  if [[ -n $broker_pid ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  echo "listener $port 127.0.0.1"
  echo "allow_anonymous true"
  [[ $(id -u) == 0 ]] && echo "user root"
} >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

"$bin_dir/mqtt_publish" "tcp://127.0.0.1:$port" "$events" "$work/events.jsonl" "$work/outbox-nosync" 500 never 2>/dev/null
ours=$("$bin_dir/mqtt_publish" "tcp://127.0.0.1:$port" "$events" "$work/events.jsonl" "$work/outbox" 500 always 2>/dev/null)
echo "$ours"
ours_rate=$(sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p' <<<"$ours")

t0=$(date +%s.%N)
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -i footfall-bench-peer -t footfall/v1/bench/site-1/peer -l <"$work/events.jsonl"
t1=$(date +%s.%N)
peer_rate=$(python3 -c "print(round($events / ($t1 - $t0)))")
echo "mosquitto_pub_-l events=$events seconds=$(python3 -c "print(round($t1 - $t0, 3))") events_per_s=$peer_rate"
python3 -c "print('ratio footfall/mosquitto_pub = %.1fx' % ($ours_rate / $peer_rate))"
