# A throwaway PostgreSQL 15 on a free loopback port for the central-store benchmarks (as tests/support/
# postgres_server.cpp: initdb and pg_ctl as nobody when run as root, trust auth, the data in a temp folder).
# Usage: source bench/lib/loopback_postgres.sh; start_loopback_postgres WORK_DIR
#   sets pg_port and pg_bin; stop_loopback_postgres stops it (call it from the script's EXIT trap).
#   PG_EXTRA_OPTIONS="-c name=value ..." adds server settings.
#   pg_sql DB "SQL" runs one statement with psql and prints the tuples unaligned; pg_cpu_s the server's CPU seconds.
pg_bin=
pg_port=
pg_dir=
pg_as_server_user() {
  if [[ $(id -u) == 0 ]]; then
    (cd "$pg_dir" && setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@")
  else
    (cd "$pg_dir" && "$@")
  fi
}

stop_loopback_postgres() {
  if [[ -n $pg_dir && -f $pg_dir/data/postmaster.pid ]]; then
    pg_as_server_user "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

start_loopback_postgres() {
  pg_dir=$1
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -x $pg_bin/initdb ]] || { echo "no PostgreSQL server programs in /usr/lib/postgresql/*/bin" >&2; return 1; }
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$pg_dir/data" "$pg_dir/socket"
  : >"$pg_dir/server.log"
  # nobody must reach the folder: the work dir from mktemp is 0700.
  chmod 0755 "$(dirname "$pg_dir")" "$pg_dir"
  chmod 0700 "$pg_dir/data"
  [[ $(id -u) == 0 ]] && chown nobody:nogroup "$pg_dir/data" "$pg_dir/socket" "$pg_dir/server.log"
  pg_as_server_user "$pg_bin/initdb" -D "$pg_dir/data" -U footfall -A trust -E UTF8 --no-locale --no-sync \
    >"$pg_dir/initdb.log" 2>&1 || { cat "$pg_dir/initdb.log" >&2; return 1; }
  # Durable settings (fsync on) as a deployment runs them; the buffers sized for a small machine.
  # One line: pg_ctl hands the options to a shell command line.
  local options="-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir/socket"
  options+=" -c max_connections=100 -c shared_buffers=${PG_SHARED_BUFFERS:-512MB} -c max_wal_size=4GB"
  options+=" -c checkpoint_timeout=15min ${PG_EXTRA_OPTIONS:-}"
  pg_as_server_user "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start -o "$options" \
    >/dev/null || { cat "$pg_dir/server.log" >&2; return 1; }
}

pg_conninfo() { echo "host=127.0.0.1 port=$pg_port dbname=$1 user=footfall"; }

pg_createdb() { "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U footfall "$1"; }

pg_sql() { "$pg_bin/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U footfall -d "$1" -c "$2"; }

# CPU seconds used so far by the server: the postmaster, its exited children (reaped by it) and the live ones.
pg_cpu_s() {
  local main ticks pid
  main=$(head -n 1 "$pg_dir/data/postmaster.pid")
  ticks=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$main/stat")
  for pid in $(pgrep -P "$main"); do
    ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
