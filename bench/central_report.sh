#!/usr/bin/env bash
# A site-year report from PostgreSQL against the same from SQLite: aggregator_store_bench writes VISITS visits of
# one site (acme/mall-7, 2024) into a SQLite file, `footfall-aggregator copy-store` carries them into a
# PostgreSQL 15 started here (loopback, as nobody), then `footfall-aggregator report` over the whole of 2024 runs
# from each store, twice. Prints wall and CPU seconds (the report process, and PostgreSQL's server processes for
# the PostgreSQL run) and whether the two report.json files agree.
#   bench/central_report.sh [VISITS]      (default 3000000, a busy mall's year)
# FOOTFALL_BIN_DIR=dir uses programs already built there.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages "${FOOTFALL_BUILD_PACKAGES[@]}" time
source bench/lib/loopback_postgres.sh

visits=${1:-3000000}
source bench/lib/release_bin.sh
bin=$(release_bin footfall-aggregator aggregator_store_bench)
work=$(mktemp -d /tmp/footfall-central-report.XXXXXX)
trap 'stop_loopback_postgres; rm -rf "$work"' EXIT


echo "writing $visits visits of acme/mall-7 (2024) into SQLite with aggregator_store_bench ..."
"$bin/aggregator_store_bench" "$visits" "$work/site-year.db"

start_loopback_postgres "$work/pg"
pg_createdb footfall
printf '{"store": {"path": "%s"}, "tenants": {"acme": {"sites": {"mall-7": {}}}}, "log_level": "warn"}\n' \
  "$work/site-year.db" >"$work/sqlite.json"
printf '{"store": {"backend": "postgresql", "postgresql": {"conninfo": "%s"}}, "tenants": {"acme": {"sites": {"mall-7": {}}}}, "log_level": "warn"}\n' \
  "$(pg_conninfo footfall)" >"$work/pg.json"

echo "copy-store into PostgreSQL ..."
cpu0=$(pg_cpu_s)
/usr/bin/time -f '%e %U %S' -o "$work/copy.time" "$bin/footfall-aggregator" copy-store --from "$work/site-year.db" \
  --to "$work/pg.json" >"$work/copy.out" 2>&1 || { cat "$work/copy.out" >&2; exit 1; }
copy_pg_cpu=$(awk -v a="$cpu0" -v b="$(pg_cpu_s)" 'BEGIN { printf "%.1f", b - a }')
read -r copy_wall copy_user copy_sys <"$work/copy.time"
stored=$(pg_sql footfall "SELECT count(*) FROM visits")
pg_sql footfall "VACUUM ANALYZE" >/dev/null
echo "copied $stored visits in $copy_wall s ($(awk -v n="$stored" -v w="$copy_wall" 'BEGIN { printf "%.0f", n / w }') visits/s); database $(pg_sql footfall "SELECT pg_size_pretty(pg_database_size('footfall'))"), SQLite file $(du -h "$work/site-year.db" | cut -f1)"

run_report() {  # name config round
  local cpu_before cpu_after
  cpu_before=$( [[ $1 == postgresql ]] && pg_cpu_s || echo 0)
  /usr/bin/time -f '%e %U %S' -o "$work/$1-$3.time" "$bin/footfall-aggregator" report --config "$2" --site mall-7 \
    --from 2024-01-01 --to 2024-12-31 --out "$work/report-$1" >/dev/null 2>"$work/$1-$3.err" ||
    { cat "$work/$1-$3.err" >&2; exit 1; }
  sleep 0.5  # the backend of the report's connection exits and is reaped: its CPU is then the postmaster's
  cpu_after=$( [[ $1 == postgresql ]] && pg_cpu_s || echo 0)
  read -r wall user sys <"$work/$1-$3.time"
  printf '%-44s %8s %8s %10s\n' "report from $1 (round $3)" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" \
    "$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')"
}

echo
printf '%-44s %8s %8s %10s\n' "site-year report ($visits visits)" "wall s" "CPU s" "server CPU s"
for round in 1 2; do
  run_report sqlite "$work/sqlite.json" "$round"
  run_report postgresql "$work/pg.json" "$round"
done
printf '%-44s %8s %8s %10s\n' "copy-store SQLite -> PostgreSQL" "$copy_wall" \
  "$(awk -v u="$copy_user" -v s="$copy_sys" 'BEGIN { printf "%.2f", u + s }')" "$copy_pg_cpu"
# Everything but the generation time must agree.
for s in sqlite postgresql; do grep -v '"generated_at"' "$work/report-$s/report.json" >"$work/report-$s.json"; done
if cmp -s "$work/report-sqlite.json" "$work/report-postgresql.json"; then
  echo "report.json: identical from both stores"
else
  echo "report.json: DIFFERENT ($(diff "$work/report-sqlite.json" "$work/report-postgresql.json" | grep -c '^<') lines)"
fi
