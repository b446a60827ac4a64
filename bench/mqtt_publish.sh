#!/usr/bin/env bash
# Events/s through the gateway publisher (micro-batches of 500, outbox fsync per batch, QoS 1) versus
# mosquitto_pub -l publishing one QoS 1 message per event, same events, same broker, same run.
# Usage: bench/mqtt_publish.sh [BUILD_BIN_DIR] [EVENTS]
set -euo pipefail
bin_dir=${1:-build/release/bin}
events=${2:-50000}
work=$(mktemp -d /tmp/footfall-mqtt-bench.XXXXXX)
source "$(dirname "$0")/lib/loopback_broker.sh"
start_loopback_broker "$work"
port=$broker_port

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
