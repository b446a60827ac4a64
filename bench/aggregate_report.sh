#!/usr/bin/env bash
# A site-year of visits through report_document (every figure of the report), side by side with SQLite
# computing a subset of the same figures over the same rows: visitors, passers-by, new and returning per day,
# the dwell histogram and the peak hour. Both results are compared line by line.
#   bench/aggregate_report.sh [VISITS]     (default 3000000)
# FOOTFALL_BUILD_DIR=dir builds there (Release) instead of the release preset; FOOTFALL_BIN_DIR=dir uses an
# aggregate_rows already built there.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/packages.sh
ensure_packages "${FOOTFALL_BUILD_PACKAGES[@]}" sqlite3 time

visits=${1:-3000000}
if [ -n "${FOOTFALL_BIN_DIR:-}" ]; then
  bin=$FOOTFALL_BIN_DIR
elif [ -n "${FOOTFALL_BUILD_DIR:-}" ]; then
  cmake -S . -B "$FOOTFALL_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
  cmake --build "$FOOTFALL_BUILD_DIR" -j2 --target aggregate_rows >/dev/null
  bin=$FOOTFALL_BUILD_DIR/bin
else
  cmake --preset release >/dev/null
  cmake --build --preset release --target aggregate_rows >/dev/null
  bin=build/release/bin
fi
work=$(mktemp -d /tmp/footfall-aggregate-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "generating $visits visits (one site, 2024, UTC+1, one key epoch for the year) ..."
"$bin/aggregate_rows" "$visits" "$work" | tee "$work/ours.txt"
echo "CSV: visits.csv $(du -h "$work/visits.csv" | cut -f1), probes.csv $(du -h "$work/probes.csv" | cut -f1)"

cat >"$work/import.sql" <<'SQL'
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE visits(visit INTEGER PRIMARY KEY, epoch INTEGER, device TEXT, arrival INTEGER, departure INTEGER);
CREATE TABLE probes(visit INTEGER, first_seen INTEGER, last_seen INTEGER, rssi_mean REAL);
.import --csv visits.csv visits
.import --csv probes.csv probes
SQL

# The same definitions as docs/metrics.md with the default thresholds: a visitor visit has at least 300 s in the
# union of the spans of probes heard at rssi_mean >= -65; days are local (UTC+1); returning = a visitor visit on
# one of the 30 days before.
cat >"$work/figures.sql" <<'SQL'
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -2000000;
CREATE TEMP TABLE q AS
  WITH loud AS (SELECT visit, first_seen f, max(last_seen, first_seen) l FROM probes WHERE rssi_mean >= -65),
  o AS (SELECT visit, f, l, max(l) OVER (PARTITION BY visit ORDER BY f, l ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) pm FROM loud),
  g AS (SELECT visit, f, l, sum(pm IS NULL OR f > pm) OVER (PARTITION BY visit ORDER BY f, l ROWS UNBOUNDED PRECEDING) grp FROM o),
  isl AS (SELECT visit, min(f) s, max(l) e FROM g GROUP BY visit, grp)
  SELECT visit, sum(e - s) qual FROM isl GROUP BY visit;
CREATE UNIQUE INDEX q_visit ON q(visit);
CREATE TEMP TABLE vv AS
  SELECT v.visit, v.epoch || ':' || v.device dev, (v.arrival + 3600000) / 86400000 day, v.arrival,
         max(v.departure, v.arrival) departure, coalesce(q.qual, -1) >= 300000 is_visitor
  FROM visits v LEFT JOIN q ON q.visit = v.visit;
CREATE TEMP TABLE vd AS SELECT DISTINCT dev, day FROM vv WHERE is_visitor;
CREATE INDEX vd_dev_day ON vd(dev, day);
CREATE TEMP TABLE ret AS
  SELECT day, EXISTS(SELECT 1 FROM vd p WHERE p.dev = vd.dev AND p.day BETWEEN vd.day - 30 AND vd.day - 1) r FROM vd;
.mode tabs
SELECT 'day', date(d.day * 86400, 'unixepoch'), d.aw, d.vis, d.aw - d.vis, coalesce(n.new, 0), coalesce(n.ret, 0)
  FROM (SELECT day, count(DISTINCT dev) aw, count(DISTINCT CASE WHEN is_visitor THEN dev END) vis FROM vv GROUP BY day) d
  LEFT JOIN (SELECT day, sum(1 - r) new, sum(r) ret FROM ret GROUP BY day) n USING (day)
  ORDER BY d.day;
SELECT 'bucket', b, count(*) FROM (
  SELECT CASE WHEN dw < 300000 THEN '<5' WHEN dw < 900000 THEN '5-15' WHEN dw < 1800000 THEN '15-30'
              WHEN dw < 3600000 THEN '30-60' WHEN dw < 7200000 THEN '60-120' ELSE '>120' END b, dw
  FROM (SELECT departure - arrival dw FROM vv WHERE is_visitor)) GROUP BY b ORDER BY min(dw);
SELECT 'peak_hour', ((arrival + 3600000) % 86400000) / 3600000 h FROM vv WHERE is_visitor
  GROUP BY h ORDER BY count(*) DESC, h LIMIT 1;
SQL

cd "$work"
/usr/bin/time -f '%e %U %S' -o import.time sqlite3 site.db <import.sql >/dev/null
/usr/bin/time -f '%e %U %S' -o figures.time sqlite3 site.db <figures.sql >sqlite.tsv
cd - >/dev/null

read -r ours_wall ours_cpu < <(sed -n 's/^report_document: wall \([0-9.]*\) s, cpu \([0-9.]*\) s.*/\1 \2/p' "$work/ours.txt")
read -r imp_wall imp_user imp_sys <"$work/import.time"
read -r sql_wall sql_user sql_sys <"$work/figures.time"
sql_cpu=$(awk -v u="$sql_user" -v s="$sql_sys" 'BEGIN { printf "%.2f", u + s }')
imp_cpu=$(awk -v u="$imp_user" -v s="$imp_sys" 'BEGIN { printf "%.2f", u + s }')

echo
if diff -q "$work/ours.tsv" "$work/sqlite.tsv" >/dev/null; then
  echo "figures: identical ($(grep -c '^day' "$work/ours.tsv") days, dwell histogram, peak hour)"
else
  echo "figures: DIFFERENT ($(diff "$work/ours.tsv" "$work/sqlite.tsv" | grep -c '^<') of $(wc -l <"$work/ours.tsv") lines differ):"
  diff "$work/ours.tsv" "$work/sqlite.tsv" | head -n 10
fi
grep -E '^(bucket|peak_hour)' "$work/ours.tsv" | tr '\t' ' ' | paste -sd ';' | sed 's/^/ours:   /'
grep -E '^(bucket|peak_hour)' "$work/sqlite.tsv" | tr '\t' ' ' | paste -sd ';' | sed 's/^/sqlite: /'
echo
printf '%-72s %9s %9s\n' "run ($visits visits)" "wall s" "CPU s"
printf '%-72s %9s %9s\n' "report_document (every figure of the report, from Visit structs)" "$ours_wall" "$ours_cpu"
printf '%-72s %9s %9s\n' "sqlite3: the subset above, over imported tables (import not counted)" "$sql_wall" "$sql_cpu"
printf '%-72s %9s %9s\n' "sqlite3: .import of the two CSV files (for reference)" "$imp_wall" "$imp_cpu"
echo "ratio sqlite / report_document (CPU): $(awk -v a="$sql_cpu" -v b="$ours_cpu" 'BEGIN { printf "%.1f", a / b }')x"
