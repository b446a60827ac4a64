#!/usr/bin/env bash
# The soak: PROBES probes replay a simulated mall against one gateway, one mosquitto and one aggregator while
# every FAULT_EVERY_S seconds (on average) one of them is killed with SIGKILL and restarted (a random probe on
# its spool, the gateway on its journal, the aggregator on its store) or mosquitto is restarted (persistence on,
# so queued QoS 1 messages survive). At the end, once everything drained, the counts are compared:
#   1. events: the same captures replayed without faults (footfall-probe presence) against the events the
#      gateway's journal holds per probe (records already consumed are no longer in it: health.json says how
#      many), batch numbers of each spool without a gap, plus what the probes counted as lost;
#   2. visits: no duplicate visit_id in the aggregator's SQLite store; the gateway's and the aggregator's last counters;
#   3. memory: RSS of the gateway and the aggregator (from /proc every 2 s), first quarter against last quarter.
#
#   PROBES=50 SITE_HOURS=2 SPEED=30 FAULT_EVERY_S=10 DURATION=600 bench/soak.sh
# PROBES: probes (beyond the simulator's own, captures are reused under other probe ids); SITE_HOURS: opening
# hours simulated; SPEED: replay speed; FAULT_EVERY_S: mean seconds between faults; DURATION: longest wall
# time of the replay in seconds (faults stop then and the run drains). SEED, OUT (default build/soak) optional.
# FOOTFALL_BIN_DIR=dir uses programs already built there.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -c unlimited 2>/dev/null || true   # a crash leaves a core in OUT for a backtrace

PROBES=${PROBES:-50}
SITE_HOURS=${SITE_HOURS:-2}
SPEED=${SPEED:-30}
FAULT_EVERY_S=${FAULT_EVERY_S:-10}
DURATION=${DURATION:-900}
SEED=${SEED:-7}
out=${OUT:-build/soak}

source bench/lib/release_bin.sh
bin=$(release_bin footfall-sim footfall-probe footfall-gateway footfall-aggregator)
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
for tool in "$mosquitto_bin" sqlite3 jq; do command -v "$tool" >/dev/null || { echo "soak: $tool is missing" >&2; exit 1; }; done

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}"/*
: >"$out/faults.txt"; : >"$out/crashes.txt"
say() { printf 'soak %s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { printf 'soak: FAILED: %s\n' "$*" >&2; exit 1; }

declare -A pid_of=()   # program name (probe-N, gateway, aggregator, mosquitto) -> pid
sampler=
cleanup() {
  local name
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  for name in "${!pid_of[@]}"; do kill -TERM "${pid_of[$name]}" 2>/dev/null || true; done
  for name in "${!pid_of[@]}"; do
    for _ in $(seq 100); do kill -0 "${pid_of[$name]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pid_of[$name]}" 2>/dev/null || true
    wait "${pid_of[$name]}" 2>/dev/null || true
  done
  pid_of=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then echo "$port"; return; fi
  done
  fail "no free loopback port"
}
wait_for() {
  local seconds=$1; shift
  for _ in $(seq $((seconds * 10))); do "$@" && return 0; sleep 0.1; done
  return 1
}

# --- the mall -----------------------------------------------------------------------------------------
say "simulating a mall: ${SITE_HOURS} h of opening time, seed $SEED"
"$bin/footfall-sim" --scenario mall --site mall --seed "$SEED" --start 2026-12-01T09:00:00Z --duration "${SITE_HOURS}h" \
  --radio-clock site --tail 15m --out "$out/site" >"$out/sim.log" 2>&1 || fail "footfall-sim: $(tail -n 3 "$out/sim.log")"
captures=("$out"/site/probe-*.pcap)
[ "${#captures[@]}" -gt 0 ] || fail "the simulator wrote no capture"
capture_of() { echo "${captures[$(( ($1 - 1) % ${#captures[@]} ))]}"; }

# --- broker, gateway, aggregator --------------------------------------------------------------------------
mqtt_port=$(free_port)
mkdir -p "$out/mosquitto"
cat >"$out/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $out/mosquitto/
autosave_interval 1
log_dest file $out/mosquitto.log
EOF
start_mosquitto() {
  "$mosquitto_bin" -c "$out/mosquitto.conf" >/dev/null 2>&1 &
  pid_of[mosquitto]=$!
  wait_for 10 bash -c "ss -Hltn 'sport = :$mqtt_port' | grep -q ." || fail "mosquitto did not start ($out/mosquitto.log)"
}

gateway_port=$(free_port)
probes_json=$(for i in $(seq "$PROBES"); do printf '{"id": "p%02d", "token": "soak-p%02d-token", "zone": "zone-%d"}\n' "$i" "$i" "$(( (i - 1) % ${#captures[@]} + 1 ))"; done | jq -s .)
cat >"$out/gateway.json" <<EOF
{
  "tenant": "soak", "site": "mall",
  "listen": {"address": "127.0.0.1", "port": $gateway_port},
  "probes": $probes_json,
  "journal": {"dir": "$out/gateway/journal", "max_mb": 1024, "fsync": "always"},
  "health": {"interval_s": 1},
  "mqtt": {"uri": "tcp://127.0.0.1:$mqtt_port"},
  "publish": {"interval_ms": 1000, "probes_interval_ms": 1000},
  "outbox": {"dir": "$out/gateway/outbox", "max_mb": 256},
  "privacy": {"key_dir": "$out/gateway/keys", "create_keys": true, "rotation": "30d"},
  "log_level": "info"
}
EOF
start_gateway() {
  local mark
  mark=$(grep -c "listening on" "$out/gateway.log" 2>/dev/null || true)
  (cd "$out" && exec "$bin/footfall-gateway" --config "$out/gateway.json" >>"$out/gateway.log" 2>&1) &
  pid_of[gateway]=$!
  wait_for 30 bash -c "[ \$(grep -c 'listening on' '$out/gateway.log') -gt ${mark:-0} ]" ||
    fail "the gateway did not start: $(tail -n 3 "$out/gateway.log")"
}

cat >"$out/aggregator.json" <<EOF
{
  "mqtt": {"uri": "tcp://127.0.0.1:$mqtt_port", "client_id": "footfall-soak-aggregator"},
  "store": {"path": "$out/aggregator/footfall.db"},
  "publish": {"interval_s": 5},
  "tenants": {"soak": {"sites": {"mall": {"utc_offset_min": 0}}}},
  "log_level": "info"
}
EOF
mkdir -p "$out/aggregator"
start_aggregator() {
  (cd "$out" && exec "$bin/footfall-aggregator" run --config "$out/aggregator.json" >>"$out/aggregator.log" 2>&1) &
  pid_of[aggregator]=$!
}

# A batch carries at most about 5 minutes of site time (as tools/demo): the gateway merges by site time.
batch_age_ms=$(awk -v s="$SPEED" 'BEGIN { a = 300000 / s; if (a > 1000) a = 1000; if (a < 20) a = 20; printf "%d", a }')
for i in $(seq "$PROBES"); do
  id=$(printf 'p%02d' "$i")
  cat >"$out/probe-$id.json" <<EOF
{
  "probe_id": "$id", "token": "soak-$id-token",
  "source": {"file": "$(capture_of "$i")", "speed": $SPEED, "clock": "radio"},
  "gateway": {"host": "127.0.0.1", "port": $gateway_port},
  "spool": {"dir": "$out/probe-$id/spool", "max_mb": 64, "fsync": "group"},
  "batch": {"max_age_ms": $batch_age_ms},
  "uplink": {"backoff_initial_ms": 100, "backoff_max_ms": 2000},
  "heartbeat_s": 1,
  "drain_timeout_s": 120,
  "log_level": "info"
}
EOF
done
start_probe() {
  (cd "$out" && exec "$bin/footfall-probe" run --config "$out/probe-$1.json" >>"$out/probe-$1.log" 2>&1) &
  pid_of[probe-$1]=$!
}

start_mosquitto
start_gateway
start_aggregator
for i in $(seq "$PROBES"); do start_probe "$(printf 'p%02d' "$i")"; done

# RSS of the gateway and the aggregator every 2 s, whichever process holds the name now.
rss_sampler() {
  while :; do
    for name in gateway aggregator; do
      local p
      p=$(pgrep -f -x "$bin/footfall-$name .*" | head -n 1 || true)
      [ -n "$p" ] && awk -v n="$name" -v t="$(date +%s)" '/^VmRSS/ { print t, n, $2 }' "/proc/$p/status" 2>/dev/null
    done
    sleep 2
  done >>"$out/rss.txt"
}
rss_sampler &
sampler=$!

# --- the replay, with faults -------------------------------------------------------------------------------
probe_running() { kill -0 "${pid_of[probe-$1]}" 2>/dev/null; }
running_probes() { local i id; for i in $(seq "$PROBES"); do id=$(printf 'p%02d' "$i"); probe_running "$id" && echo "$id"; done; }
declare -A faults=([probe]=0 [gateway]=0 [aggregator]=0 [broker]=0)
play_s=$(awk -v h="$SITE_HOURS" -v s="$SPEED" 'BEGIN { printf "%d", (h * 3600 + 900) / s }')
say "$PROBES probes replay ${#captures[@]} captures at speed $SPEED (about ${play_s} s); a fault every ~${FAULT_EVERY_S} s"
start=$(date +%s)
next_fault=$(( start + FAULT_EVERY_S / 2 + RANDOM % (FAULT_EVERY_S + 1) ))
crashes=0
# A program that ended by itself (not a probe that finished its file) is a crash: logged, counted, restarted.
check_crashed() {
  local name=$1 status
  kill -0 "${pid_of[$name]}" 2>/dev/null && return 0
  wait "${pid_of[$name]}" 2>/dev/null && status=0 || status=$?
  echo "$(date -u +%T) $name ended by itself, status $status" | tee -a "$out/crashes.txt"
  crashes=$((crashes + 1))
  [ -f "$out/core" ] && mv "$out/core" "$out/core.$name.$crashes"
  case $name in gateway) start_gateway ;; aggregator) start_aggregator ;; mosquitto) start_mosquitto ;; esac
}
while [ -n "$(running_probes)" ] && [ $(( $(date +%s) - start )) -lt "$DURATION" ]; do
  for name in gateway aggregator mosquitto; do check_crashed "$name"; done
  if [ "$(date +%s)" -ge "$next_fault" ]; then
    case $((RANDOM % 4)) in
      0) mapfile -t live < <(running_probes)
         if [ "${#live[@]}" -gt 0 ]; then
           id=${live[$((RANDOM % ${#live[@]}))]}
           kill -KILL "${pid_of[probe-$id]}" 2>/dev/null || true; wait "${pid_of[probe-$id]}" 2>/dev/null || true
           echo "$(date -u +%T) kill -9 probe $id" >>"$out/faults.txt"; faults[probe]=$((faults[probe] + 1))
           start_probe "$id"
         fi ;;
      1) kill -KILL "${pid_of[gateway]}" 2>/dev/null || true; wait "${pid_of[gateway]}" 2>/dev/null || true
         echo "$(date -u +%T) kill -9 gateway" >>"$out/faults.txt"; faults[gateway]=$((faults[gateway] + 1))
         start_gateway ;;
      2) kill -KILL "${pid_of[aggregator]}" 2>/dev/null || true; wait "${pid_of[aggregator]}" 2>/dev/null || true
         echo "$(date -u +%T) kill -9 aggregator" >>"$out/faults.txt"; faults[aggregator]=$((faults[aggregator] + 1))
         start_aggregator ;;
      3) kill -TERM "${pid_of[mosquitto]}" 2>/dev/null || true; wait "${pid_of[mosquitto]}" 2>/dev/null || true
         echo "$(date -u +%T) restart mosquitto" >>"$out/faults.txt"; faults[broker]=$((faults[broker] + 1))
         sleep 1; start_mosquitto ;;
    esac
    next_fault=$(( $(date +%s) + FAULT_EVERY_S / 2 + RANDOM % (FAULT_EVERY_S + 1) ))
  fi
  sleep 0.5
done
say "replay over after $(( $(date +%s) - start )) s; faults: probe ${faults[probe]}, gateway ${faults[gateway]}, aggregator ${faults[aggregator]}, broker ${faults[broker]}"

# --- drain: probes exit once their spool is acked; then the visits settle in the store ------------------------
for _ in $(seq 300); do
  [ -z "$(running_probes)" ] && break
  for name in gateway aggregator mosquitto; do check_crashed "$name"; done
  sleep 1
done
[ -z "$(running_probes)" ] || say "probes still running after 300 s: $(running_probes | tr '\n' ' ')"
visits_stored() { sqlite3 -readonly "$out/aggregator/footfall.db" "select count(*) from visits" 2>/dev/null || echo 0; }
stable=0; last=-1
for _ in $(seq 240); do
  now=$(visits_stored)
  if [ "$now" = "$last" ] && [ "$now" != 0 ]; then stable=$((stable + 1)); else stable=0; fi
  last=$now
  [ "$stable" -ge 20 ] && break
  sleep 0.5
done
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=
cleanup

# --- the figures ----------------------------------------------------------------------------------------
say "figures"
# 1. Events: each capture replayed once without faults gives the events a probe of it should deliver; the
# gateway's journal (read once the gateway stopped) holds what it stored, by probe, spool and batch sequence.
declare -A expected_of=()
for c in "${captures[@]}"; do
  expected_of[$c]=$("$bin/footfall-probe" presence --read "$c" --config "$out/probe-p01.json" 2>/dev/null |
    jq -s length)
done
"$bin/footfall-gateway" journal --config "$out/gateway.json" 2>"$out/journal-dump.err" |
  jq -c 'select(.record == "event") | [.probe, .spool, .probe_seq, .kind]' >"$out/journal-events.jsonl" ||
  fail "footfall-gateway journal: $(tail -n 3 "$out/journal-dump.err")"
jq -rs 'group_by(.[0]) | .[] | [.[0][0], length] | @tsv' "$out/journal-events.jsonl" >"$out/journal-events-by-probe.tsv"
# Batches of one spool are numbered 1, 2, ...: a missing number is a lost batch, a repeated one a duplicate.
jq -rs 'map([.[0], .[1], .[2]]) | unique | group_by([.[0], .[1]]) | .[] |
  [.[0][0], .[0][1], length, (map(.[2]) | max), (map(.[2]) | min)] | @tsv' "$out/journal-events.jsonl" >"$out/journal-spools.tsv"
spools=$(wc -l <"$out/journal-spools.tsv")
seq_gaps=$(awk -F'\t' '{ g += $4 - $5 + 1 - $3 } END { print g + 0 }' "$out/journal-spools.tsv")
events_expected=0; events_stored=0; lost_batches=0; full_drops=0; unacked=0; short=0; over=0
for i in $(seq "$PROBES"); do
  id=$(printf 'p%02d' "$i")
  want=${expected_of[$(capture_of "$i")]}
  got=$(awk -F'\t' -v id="$id" '$1 == id { print $2 }' "$out/journal-events-by-probe.tsv"); got=${got:-0}
  lost=$(grep -o 'batches_lost=[0-9]*' "$out/probe-$id.log" | awk -F= '{ s += $2 } END { print s + 0 }')
  full=$(grep -o 'full_drop_batches=[0-9]*' "$out/probe-$id.log" | tail -n 1 | cut -d= -f2); full=${full:-0}
  left=$(grep -o 'unacked_batches=[0-9]*' "$out/probe-$id.log" | tail -n 1 | cut -d= -f2); left=${left:-none}
  events_expected=$((events_expected + want)); events_stored=$((events_stored + got))
  lost_batches=$((lost_batches + lost)); full_drops=$((full_drops + full))
  [ "$left" = 0 ] || unacked=$((unacked + 1))
  [ "$got" -lt "$want" ] && short=$((short + want - got))
  [ "$got" -gt "$want" ] && over=$((over + got - want))
  printf '%s %s expected=%s stored=%s lost_batches=%s full_drop_batches=%s unacked_at_exit=%s\n' \
    "$id" "$(basename "$(capture_of "$i")")" "$want" "$got" "$lost" "$full" "$left" >>"$out/events.txt"
done
echo "events: expected $events_expected (each capture replayed once without faults), held in the gateway's journal" \
  "$events_stored; per probe fewer than expected: $short in all, more than expected: $over in all"
echo "journal: $spools spools, missing batch numbers $seq_gaps; records consumed (not in the dump):" \
  "$(jq '.journal.last_journal_seq - .journal.held_records' "$out/gateway/journal/health.json"); duplicate batches refused:" \
  "$(jq '.journal.duplicate_batches' "$out/gateway/journal/health.json") (last gateway run)"
echo "probes: batches counted lost $lost_batches, spool-full drops $full_drops; probes whose last run did not end" \
  "with an empty spool: $unacked (per probe: $out/events.txt)"

# 2. Visits: unique in the store, and as many as the gateway's last run made (it merges the whole journal again
# at each start, so its last figures count every visit; republished ones keep their visit_id).
db="$out/aggregator/footfall.db"
visits=$(sqlite3 -readonly "$db" "select count(*) from visits")
distinct=$(sqlite3 -readonly "$db" "select count(distinct visit_id) from visits")
truth=$(jq '.visits | length' "$out/site/truth.json" 2>/dev/null || echo '?')
echo "visits: stored $visits, distinct visit_id $distinct (duplicates $((visits - distinct))); simulator truth $truth visits"
echo "gateway, last figures: $(grep 'info site: records=' "$out/gateway.log" | tail -n 1 | sed 's/.*site: //')"
echo "gateway, last drops line: $(grep 'site: drops by reason' "$out/gateway.log" | tail -n 1 | sed 's/.*reason://')"
echo "aggregator, last lines: $(grep -i 'refus\|duplicate\|ignored' "$out/aggregator.log" | tail -n 2 | tr '\n' ' ')"

# 3. Memory: mean RSS in the first and the last quarter of the samples.
for name in gateway aggregator; do
  awk -v n="$name" '$2 == n { r[++k] = $3 } END {
    if (k < 8) { printf "rss %s: %d samples, too few\n", n, k; exit }
    q = int(k / 4); for (i = 1; i <= q; i++) a += r[i]; for (i = k - q + 1; i <= k; i++) b += r[i];
    printf "rss %s: %d samples, first quarter %.1f MiB, last quarter %.1f MiB, max %.1f MiB\n", n, k, a / q / 1024, b / q / 1024, m / 1024 }
    { if ($2 == n && $3 > m) m = $3 }' "$out/rss.txt"
done
echo "crashes (programs that ended by themselves, restarted): $crashes${crashes:+ (list: $out/crashes.txt)}"
echo "faults injected: $(wc -l <"$out/faults.txt" 2>/dev/null || echo 0) (probe ${faults[probe]}, gateway ${faults[gateway]}," \
  "aggregator ${faults[aggregator]}, broker restarts ${faults[broker]}); list: $out/faults.txt"
