#!/usr/bin/env bash
# Events/s through the gateway's site stage on one core (decode journal batches, merge, pseudonymize, publish
# micro-batches through the fsynced outbox, QoS 1, until every batch is PUBACKed) versus mosquitto_pub -l -q 1
# publishing one message per event (the same presence events as JSON lines), same broker, same run.
# Usage: bench/gateway_throughput.sh [BUILD_BIN_DIR] [EVENTS]
set -euo pipefail
bin_dir=${1:-build/release/bin}
events=${2:-240000}
work=$(mktemp -d /tmp/footfall-gw-bench.XXXXXX)
source "$(dirname "$0")/lib/loopback_broker.sh"
start_loopback_broker "$work"
port=$broker_port

# One core for the client under test (the broker runs wherever the scheduler puts it, for both runs).
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# Two figures, both until the broker has PUBACKed every batch:
#  durable:    the outbox fdatasyncs each round of sealed batches (the gateway's default, journal.fsync always);
#  in-process: the outbox does not sync (journal.fsync never): decode, merge, pseudonymize, encode, outbox
#              append, publish; what one core does when the disk is not the limit.
"${pin[@]}" "$bin_dir/gateway_throughput" "tcp://127.0.0.1:$port" "$events" "$work" never >/dev/null  # warm-up
durable=$("${pin[@]}" "$bin_dir/gateway_throughput" "tcp://127.0.0.1:$port" "$events" "$work" always)
echo "durable:    $durable"
inproc=$("${pin[@]}" "$bin_dir/gateway_throughput" "tcp://127.0.0.1:$port" "$events" "$work" never)
echo "in-process: $inproc"
durable_rate=$(sed -n 's/.* events_per_s=\([0-9]*\).*/\1/p' <<<"$durable")
inproc_rate=$(sed -n 's/.* events_per_s=\([0-9]*\).*/\1/p' <<<"$inproc")
stage_rate=$(sed -n 's/.*stage_events_per_cpu_s=\([0-9]*\).*/\1/p' <<<"$inproc")
n=$(wc -l <"$work/events.jsonl")

t0=$(date +%s.%N)
"${pin[@]}" mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -i footfall-bench-peer -t footfall/v1/bench/site-1/peer -l \
  <"$work/events.jsonl"
t1=$(date +%s.%N)
peer_rate=$(python3 -c "print(round($n / ($t1 - $t0)))")
echo "mosquitto_pub_-l_-q_1 events=$n seconds=$(python3 -c "print(round($t1 - $t0, 3))") events_per_s=$peer_rate"
python3 -c "print('ratio durable (outbox fdatasync)/mosquitto_pub = %.1fx' % ($durable_rate / $peer_rate))"
python3 -c "print('ratio in-process (no fsync)/mosquitto_pub = %.1fx' % ($inproc_rate / $peer_rate))"
python3 -c "print('ratio site-stage thread CPU (events per CPU s, no fsync)/mosquitto_pub = %.1fx' % ($stage_rate / $peer_rate))"
"${pin[@]}" "$bin_dir/gateway_throughput" --encoding x x
