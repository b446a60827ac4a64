#!/usr/bin/env bash
# The publisher's recompute of one busy site with a full window: a mall (8,000 visits a day, bench/central_feed.py)
# with DAYS days up to today is loaded into PostgreSQL and into SQLite (`footfall-aggregator ingest-file`, 500
# visits a batch), then an aggregator with publishing on is started over each store; at start it computes the
# current hour, day, week and month of the site from one read of the month so far and the 4-week look-back.
# Prints the time from its start until the four retained metrics are out, against the same for an empty store
# (the start-up), and the CPU it and PostgreSQL used.
#   DAYS=40 bench/central_recompute.sh      (the window is the month so far plus the 31-day look-back)
# FOOTFALL_BIN_DIR=dir uses programs already built there.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages "${FOOTFALL_BUILD_PACKAGES[@]}"
source bench/lib/loopback_broker.sh
source bench/lib/loopback_postgres.sh

DAYS=${DAYS:-40}
source bench/lib/release_bin.sh
bin=$(release_bin footfall-aggregator)
work=$(mktemp -d /tmp/footfall-central-recompute.XXXXXX)
agg=
mkdir -p "$work/broker"
start_loopback_broker "$work/broker"
start_loopback_postgres "$work/pg"
cleanup() {
  [[ -n $agg ]] && { kill -TERM "$agg" 2>/dev/null || true; wait "$agg" 2>/dev/null || true; }
  stop_loopback_postgres
  stop_loopback_broker
  rm -rf "$work"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

echo "generating a mall with $DAYS days up to today ..."
python3 bench/central_feed.py generate --sites 1 --days "$DAYS" --pack 500 --out "$work/feed" >/dev/null
sent=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
cat "$work/feed/backlog/site-0001.jsonl" "$work/feed/live/site-0001.jsonl" |
  sed -e 's|^[0-9]*\t|footfall/v1/acme/site-0001/visits\t|' -e "s|@SENT_AT@|$sent|" >"$work/feed.tsv"

pg_createdb footfall
pg_createdb empty
config() {  # NAME STORE-JSON: a config with publishing on, written to $work/NAME.json
  cat >"$work/$1.json" <<JSON
{"mqtt": {"uri": "tcp://127.0.0.1:$broker_port", "client_id": "recompute-$1", "persist_dir": "$work/$1.mqtt"},
 "store": {$2}, "publish": {"enabled": true, "interval_s": 60},
 "tenants": {"acme": {"sites": {"site-0001": {"utc_offset_min": 60}}}}}
JSON
}
config postgresql "\"backend\": \"postgresql\", \"postgresql\": {\"conninfo\": \"$(pg_conninfo footfall)\"}"
config sqlite "\"path\": \"$work/store.db\""
config empty-postgresql "\"backend\": \"postgresql\", \"postgresql\": {\"conninfo\": \"$(pg_conninfo empty)\"}"
config empty-sqlite "\"path\": \"$work/empty.db\""
for store in postgresql sqlite; do
  "$bin/footfall-aggregator" ingest-file --config "$work/$store.json" "$work/feed.tsv" >/dev/null
done
visits=$(pg_sql footfall "SELECT count(*) FROM visits")
# What the start-up read covers: from the local month's start (UTC+1) less the 31-day look-back, to the future.
window_from=$(python3 -c 'import time, calendar
t = time.gmtime(time.time() + 3600)
print((calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)) - 3600 - 31 * 86400) * 1000)')
read_visits=$(pg_sql footfall "SELECT count(*) FROM visits WHERE arrival >= $window_from")
# An empty store publishes nothing: its start-up is timed until the subscription.
measure() {  # NAME: seconds until the site's four metrics are out, CPU of the aggregator and of PostgreSQL
  local name=$1 t0 sub n cpu_pg0 cpu_agg t_last
  mosquitto_sub -h 127.0.0.1 -p "$broker_port" -R -t 'footfall/v1/+/+/metrics/+' -F '%U %t' >"$work/$name.metrics" &
  sub=$!
  sleep 0.5
  cpu_pg0=$(pg_cpu_s)
  t0=$(now_ms)
  "$bin/footfall-aggregator" run --config "$work/$name.json" >"$work/$name.log" 2>&1 &
  agg=$!
  for _ in $(seq 1 3000); do
    if [[ $name == empty-* ]]; then
      grep -q "mqtt: subscribed" "$work/$name.log" 2>/dev/null && break
    else
      n=$(wc -l <"$work/$name.metrics")
      [[ $n -ge 4 ]] && break
    fi
    sleep 0.05
  done
  t_last=$(now_ms)
  cpu_agg=$(cpu_of "$agg")
  printf '%-20s %10s %10s %10s\n' "$name" "$(awk -v a="$t0" -v b="$t_last" 'BEGIN { printf "%.2f", (b - a) / 1000 }')" \
    "$cpu_agg" "$(awk -v a="$cpu_pg0" -v b="$(pg_cpu_s)" 'BEGIN { printf "%.2f", b - a }')"
  kill -TERM "$agg"; wait "$agg" 2>/dev/null || true; agg=
  kill "$sub" 2>/dev/null || true; wait "$sub" 2>/dev/null || true
}
echo "$visits visits of one mall ($DAYS days and today) in each store, $read_visits of them in the window read"
printf '%-20s %10s %10s %10s\n' "aggregator start" "wall s" "CPU s" "server CPU s"
for round in 1 2; do
  for name in empty-postgresql postgresql empty-sqlite sqlite; do measure "$name"; done
done
