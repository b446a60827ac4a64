#!/usr/bin/env bash
# Central load: the visits feeds of SITES sites (DAYS days each, bench/central_feed.py: the micro-batches a
# gateway seals every 5 s, with the daily volumes of malls, stores and sales offices) published through a real
# mosquitto (loopback, one mosquitto_pub per site) into 1, 2 and 3 footfall-aggregator instances of one share
# group on one PostgreSQL 15 (started here, loopback, as nobody), and into one aggregator on SQLite. Each run
# starts on an empty database. Per run:
#   backlog: every message of the DAYS days published as fast as the clients go; visits per second = visits /
#     (time from the first publish until the store holds them all);
#   live: LIVE_MESSAGES messages of the next day paced at LIVE_RATE messages a second, sent_at = the moment
#     each is handed to mosquitto_pub; lag = when the store wrote the batch row - sent_at (a column default
#     on PostgreSQL, a trigger on SQLite, added for the bench).
# Beside them, in the same run: PostgreSQL's own COPY of the same rows (visits and batch ids, dumped from the
# first PostgreSQL run) into an identical empty schema (pg_dump --schema-only of it). Then the publisher's
# recompute: one aggregator with publishing on is started over the full store and the time until the retained
# metrics of every site (hour, day, week, month) are out is divided by the sites.
#   SITES=20 DAYS=2 LIVE_RATE=40 LIVE_MESSAGES=2400 INSTANCES="1 2 3" INGEST_SESSIONS=1 bench/central_load.sh
# LIVE_RATE 40 is about the busiest hour of 1,000 such sites. PG_EXTRA_OPTIONS="-c synchronous_commit=off" and
# the like change the server's settings.
# FOOTFALL_BIN_DIR=dir uses programs already built there; KEEP=1 keeps the work folder (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages "${FOOTFALL_BUILD_PACKAGES[@]}"
source bench/lib/loopback_broker.sh
source bench/lib/loopback_postgres.sh

SITES=${SITES:-20}
DAYS=${DAYS:-2}
LIVE_RATE=${LIVE_RATE:-40}
LIVE_MESSAGES=${LIVE_MESSAGES:-2400}
INSTANCES=${INSTANCES:-1 2 3}
INGEST_SESSIONS=${INGEST_SESSIONS:-1}  # ingest.sessions of each PostgreSQL instance
TIMEOUT_S=${TIMEOUT_S:-1800}

source bench/lib/release_bin.sh
bin=$(release_bin footfall-aggregator)
feed=$PWD/bench/central_feed.py
work=$(mktemp -d /tmp/footfall-central-load.XXXXXX)

declare -a agg_pids=()
stop_aggregators() {
  local pid
  for pid in "${agg_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${agg_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  agg_pids=()
}
cleanup() {
  stop_aggregators
  stop_loopback_postgres
  stop_loopback_broker
  if [[ -n ${KEEP:-} ]]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
now_ms() { date +%s%3N; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
aggregators_cpu() {
  local pid total=0
  for pid in "${agg_pids[@]}"; do total=$(awk -v a="$total" -v b="$(cpu_of "$pid")" 'BEGIN { print a + b }'); done
  echo "$total"
}

echo "generating the feeds of $SITES sites, $DAYS days each, and of the next day ..."
python3 "$feed" generate --sites "$SITES" --days "$DAYS" --out "$work/feed" >"$work/feed.json"
backlog_visits=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backlog"]["visits"])' "$work/feed.json")
backlog_batches=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backlog"]["batches"])' "$work/feed.json")
echo "backlog: $backlog_visits visits in $backlog_batches messages ($(du -sh "$work/feed/backlog" | cut -f1) of JSON)"

mkdir -p "$work/broker"
# The aggregators' sessions hold the whole backlog: no limit on queued messages.
broker_extra_conf=$'max_queued_messages 0\nmax_queued_bytes 0\npersistence false'
start_loopback_broker "$work/broker"
start_loopback_postgres "$work/pg"
trap cleanup EXIT

# count_visits BACKEND DB: the rows the store holds.
count_visits() {
  if [[ $1 == postgresql ]]; then pg_sql "$2" "SELECT count(*) FROM visits"; else sqlite3 "$2" "SELECT count(*) FROM visits"; fi
}
# wait_for_visits BACKEND DB N: polls until the store holds N visits; prints the time it did (ms).
wait_for_visits() {
  local deadline=$(( $(date +%s) + TIMEOUT_S )) n
  while :; do
    n=$(count_visits "$1" "$2" 2>/dev/null || echo 0)
    if [[ $n -ge $3 ]]; then now_ms; return 0; fi
    if [[ $(date +%s) -gt $deadline ]]; then echo "timeout: $n of $3 visits stored" >&2; return 1; fi
    sleep 0.2
  done
}

# write_configs RUN BACKEND INSTANCES PUBLISH: one aggregator.json per instance in $work/RUN.
write_configs() {
  local run=$1 backend=$2 count=$3 publish=$4 k store group=""
  mkdir -p "$work/$run"
  # A group of its own per run: the offline sessions of an earlier run's group must not take a share.
  if [[ $count -gt 1 || ( $backend == postgresql && $INGEST_SESSIONS -gt 1 ) ]]; then group="bench-$run"; fi
  local ingest='"ingest": {"sessions": 1},'
  if [[ $backend == postgresql ]]; then
    store="\"backend\": \"postgresql\", \"postgresql\": {\"conninfo\": \"$(pg_conninfo "$run")\", \"pool_size\": $((INGEST_SESSIONS + 2))}"
    ingest="\"ingest\": {\"sessions\": $INGEST_SESSIONS},"
  else
    store="\"path\": \"$work/$run/store.db\""
  fi
  for k in $(seq 1 "$count"); do
    cat >"$work/$run/agg$k.json" <<JSON
{"mqtt": {"uri": "tcp://127.0.0.1:$broker_port", "client_id": "bench-$run-$k", "share_group": "$group",
          "persist_dir": "$work/$run/agg$k.mqtt"},
 "store": {$store}, $ingest
 "publish": {"enabled": $publish, "interval_s": 60},
 "tenants": {"acme": {"sites": {}}}}
JSON
  done
}

start_aggregators() {  # RUN COUNT
  local k
  for k in $(seq 1 "$2"); do
    "$bin/footfall-aggregator" run --config "$work/$1/agg$k.json" >"$work/$1/agg$k.log" 2>&1 &
    agg_pids+=($!)
  done
  for k in $(seq 1 "$2"); do
    for _ in $(seq 1 300); do grep -q "mqtt: subscribed" "$work/$1/agg$k.log" && break; sleep 0.1; done
    grep -q "mqtt: subscribed" "$work/$1/agg$k.log" || { echo "aggregator $k of $1 did not subscribe:" >&2; cat "$work/$1/agg$k.log" >&2; exit 1; }
  done
}

results=$work/results.txt
: >"$results"
# one_run RUN BACKEND COUNT
one_run() {
  local run=$1 backend=$2 count=$3 db t0 t1 cpu_pg0 cpu_pg1 cpu_agg live_t0 live_visits lags published
  if [[ $backend == postgresql ]]; then
    db=$run
    pg_createdb "$db"
  else
    db=$work/$run/store.db
  fi
  write_configs "$run" "$backend" "$count" false
  "$bin/footfall-aggregator" migrate --config "$work/$run/agg1.json" >/dev/null
  # When each batch row was written: for the lag only, not part of the store's schema.
  if [[ $backend == postgresql ]]; then
    pg_sql "$db" "ALTER TABLE batches ADD COLUMN bench_stored_ms bigint DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
  else
    sqlite3 "$db" "CREATE TABLE bench_stored (batch_id TEXT, at INTEGER);
      CREATE TRIGGER bench_stored_at AFTER INSERT ON batches BEGIN
        INSERT INTO bench_stored VALUES (new.batch_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;"
  fi
  start_aggregators "$run" "$count"
  cpu_pg0=$(pg_cpu_s)
  t0=$(now_ms)
  published=$(python3 "$feed" publish --dir "$work/feed/backlog" --port "$broker_port")
  t1=$(wait_for_visits "$backend" "$db" "$backlog_visits")
  cpu_agg=$(aggregators_cpu)
  cpu_pg1=$(pg_cpu_s)
  [[ $backend == postgresql ]] || cpu_pg1=$cpu_pg0
  live_t0=$(now_ms)
  live=$(python3 "$feed" publish --dir "$work/feed/live" --port "$broker_port" --rate "$LIVE_RATE" --max-messages "$LIVE_MESSAGES")
  live_visits=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["visits"])' "$live")
  wait_for_visits "$backend" "$db" $((backlog_visits + live_visits)) >/dev/null
  if [[ $backend == postgresql ]]; then
    pg_sql "$db" "SELECT bench_stored_ms - sent_at FROM batches WHERE sent_at >= $live_t0" >"$work/$run/lags.txt"
  else
    sqlite3 "$db" "SELECT s.at - b.sent_at FROM batches b JOIN bench_stored s USING (batch_id) WHERE b.sent_at >= $live_t0" >"$work/$run/lags.txt"
  fi
  lags=$(sort -n "$work/$run/lags.txt" | awk '{ a[NR] = $1 } END { printf "%d %d %d %d", a[int(NR * 0.5) + 1], a[int(NR * 0.95) + 1], a[int(NR * 0.99) + 1], a[NR] }')
  stop_aggregators
  local secs rate
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
  rate=$(awk -v n="$backlog_visits" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  printf '%s %s %s %s %s %s %s %s %s\n' "$run" "$secs" "$rate" \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$published")" "$cpu_agg" \
    "$(awk -v a="$cpu_pg0" -v b="$cpu_pg1" 'BEGIN { printf "%.1f", b - a }')" "$live_visits" \
    "$(wc -l <"$work/$run/lags.txt")" "$lags" >>"$results"
  echo "$run: backlog stored in $secs s ($rate visits/s); live lag ms p50/p95/p99/max: $lags"
}

# copy_peer FROM_DB: the rows FROM_DB holds, COPY'd into an identical empty schema; prints rows/s.
copy_peer() {
  local from=$1 t0 t1 cpu0 cpu1 rows
  pg_createdb copy_peer
  "$pg_bin/pg_dump" -h 127.0.0.1 -p "$pg_port" -U footfall --schema-only "$from" |
    "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U footfall -d copy_peer -v ON_ERROR_STOP=1 >/dev/null
  local t
  for t in tenants sites; do
    pg_sql "$from" "COPY $t TO STDOUT" | pg_sql copy_peer "COPY $t FROM STDIN"
  done
  pg_sql "$from" "COPY batches TO STDOUT" >"$work/batches.copy"
  pg_sql "$from" "COPY (SELECT * FROM visits) TO STDOUT" >"$work/visits.copy"
  rows=$(wc -l <"$work/visits.copy")
  cpu0=$(pg_cpu_s)
  t0=$(now_ms)
  "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U footfall -d copy_peer -v ON_ERROR_STOP=1 \
    -c "\\copy batches FROM '$work/batches.copy'" -c "\\copy visits FROM '$work/visits.copy'"
  t1=$(now_ms)
  cpu1=$(pg_cpu_s)
  echo "$rows $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }') $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f", b - a }')"
}

# recompute RUN BACKEND DB: one aggregator with publishing on over the full store; seconds until every site's
# four retained metrics are out, and the CPU it and the server used.
recompute() {
  local run=$1 backend=$2 db=$3 t0 cpu_pg0 sub n
  write_configs "$run" "$backend" 1 true
  sed -i "s/\"client_id\": \"bench-$run-1\"/\"client_id\": \"bench-$run-publisher\"/" "$work/$run/agg1.json"
  # -R: only what is published from now on, not the retained figures of an earlier run.
  mosquitto_sub -h 127.0.0.1 -p "$broker_port" -R -t 'footfall/v1/+/+/metrics/+' -F '%U %t' >"$work/$run/metrics.txt" &
  sub=$!
  sleep 0.5
  cpu_pg0=$(pg_cpu_s)
  t0=$(now_ms)
  "$bin/footfall-aggregator" run --config "$work/$run/agg1.json" >"$work/$run/publisher.log" 2>&1 &
  agg_pids+=($!)
  for _ in $(seq 1 $((TIMEOUT_S * 10))); do
    n=$(wc -l <"$work/$run/metrics.txt")
    [[ $n -ge $((4 * SITES)) ]] && break
    sleep 0.1
  done
  local cpu_agg t_last t_first
  cpu_agg=$(aggregators_cpu)
  local cpu_pg1
  cpu_pg1=$(pg_cpu_s)
  [[ $backend == postgresql ]] || cpu_pg1=$cpu_pg0
  stop_aggregators
  kill "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true
  t_first=$(awk 'NR == 1 { printf "%.0f", $1 * 1000 }' "$work/$run/metrics.txt")
  t_last=$(awk 'END { printf "%.0f", $1 * 1000 }' "$work/$run/metrics.txt")
  echo "$(wc -l <"$work/$run/metrics.txt") $(awk -v a="$t0" -v b="$t_first" 'BEGIN { printf "%.2f", (b - a) / 1000 }') $(awk -v a="$t_first" -v b="$t_last" 'BEGIN { printf "%.2f", (b - a) / 1000 }') $cpu_agg $(awk -v a="$cpu_pg0" -v b="$cpu_pg1" 'BEGIN { printf "%.1f", b - a }')"
}

first_pg=
for count in $INSTANCES; do
  run=pg$count
  one_run "$run" postgresql "$count"
  if [[ -z $first_pg ]]; then
    first_pg=$run
    read -r copy_rows copy_s copy_cpu < <(copy_peer "$run")
    echo "COPY of the same $copy_rows visits into an identical schema: $copy_s s"
    # On disk, tables and indexes: a visit (all its month partitions) and a processed batch id.
    visit_bytes=$(pg_sql "$run" "SELECT (sum(pg_total_relation_size(relid)) / (SELECT count(*) FROM visits))::bigint FROM pg_partition_tree('visits')")
    batch_bytes=$(pg_sql "$run" "SELECT pg_total_relation_size('batches') / count(*) FROM batches")
  fi
done
one_run sqlite1 sqlite 1

total_visits=$(count_visits postgresql "$first_pg")
read -r pg_msgs pg_first pg_span pg_agg_cpu pg_srv_cpu < <(recompute "$first_pg" postgresql "$first_pg")
read -r sq_msgs sq_first sq_span sq_agg_cpu sq_srv_cpu < <(recompute sqlite1 sqlite "$work/sqlite1/store.db")

echo
echo "sites $SITES, days $DAYS (+ live): backlog $backlog_visits visits in $backlog_batches messages ($(awk -v v="$backlog_visits" -v b="$backlog_batches" 'BEGIN { printf "%.2f", v / b }') visits a message)"
printf '%-10s %10s %10s %10s %9s %9s | %8s %8s %8s %8s %8s\n' run "ingest s" "visits/s" "publish s" "agg CPU" "pg CPU" \
  "live n" "lag p50" "p95" "p99" "max ms"
while read -r run secs rate pub cpu_agg cpu_pg live_visits live_n p50 p95 p99 max; do
  printf '%-10s %10s %10s %10s %9s %9s | %8s %8s %8s %8s %8s\n' "$run" "$secs" "$rate" "$pub" "$cpu_agg" "$cpu_pg" \
    "$live_n" "$p50" "$p95" "$p99" "$max"
done <"$results"
copy_rate=$(awk -v n="$copy_rows" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')
printf '%-10s %10s %10s %10s %9s %9s   (%s visits and their batch ids, psql \\copy)\n' "COPY" "$copy_s" "$copy_rate" "-" "-" \
  "$copy_cpu" "$copy_rows"
echo "PostgreSQL on disk (tables and indexes): $visit_bytes B per visit, $batch_bytes B per processed batch id"
while read -r run secs rate _; do
  [[ $run == sqlite1 ]] && continue
  echo "$run / COPY (visits/s): $(awk -v a="$rate" -v b="$copy_rate" 'BEGIN { printf "%.1f %%", 100 * a / b }')"
done <"$results"
echo
echo "publisher recompute at start, all $SITES sites ($total_visits visits in the store, $((total_visits / SITES)) a site on average, all inside the month + look-back):"
printf '%-12s %9s %14s %16s %9s %9s %14s %14s\n' store messages "first out s" "first..last s" "agg CPU" "pg CPU" "ms per site" "CPU ms/site"
for row in "postgresql $pg_msgs $pg_first $pg_span $pg_agg_cpu $pg_srv_cpu" "sqlite $sq_msgs $sq_first $sq_span $sq_agg_cpu $sq_srv_cpu"; do
  read -r name msgs first span acpu scpu <<<"$row"
  # Per site: the span from the first site's figures to the last one's (start-up apart); CPU includes start-up.
  printf '%-12s %9s %14s %16s %9s %9s %14s %14s\n' "$name" "$msgs" "$first" "$span" "$acpu" "$scpu" \
    "$(awk -v s="$span" -v n="$SITES" 'BEGIN { printf "%.0f", s * 1000 / (n > 1 ? n - 1 : 1) }')" \
    "$(awk -v a="$acpu" -v b="$scpu" -v n="$SITES" 'BEGIN { printf "%.0f", (a + b) * 1000 / n }')"
done
