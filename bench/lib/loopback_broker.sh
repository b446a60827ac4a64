# A throwaway mosquitto on a free loopback port for the MQTT benchmarks, stopped with the script.
# Usage: source bench/lib/loopback_broker.sh; start_loopback_broker WORK_DIR
#   sets broker_port and broker_pid; an EXIT trap stops the broker and removes WORK_DIR.
#   broker_extra_conf="line\nline" adds lines to its config.
broker_pid=
broker_work=
stop_loopback_broker() {
  if [[ -n $broker_pid ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  [[ -n $broker_work ]] && rm -rf "$broker_work"
}

start_loopback_broker() {
  broker_work=$1
  trap stop_loopback_broker EXIT
  broker_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  {
    echo "listener $broker_port 127.0.0.1"
    echo "allow_anonymous true"
    [[ $(id -u) == 0 ]] && echo "user root"
    # Lines the caller adds (e.g. max_queued_messages for a backlog larger than the default 1000).
    if [[ -n ${broker_extra_conf:-} ]]; then printf '%s\n' "$broker_extra_conf"; fi
  } >"$broker_work/mosquitto.conf"
  /usr/sbin/mosquitto -c "$broker_work/mosquitto.conf" >"$broker_work/mosquitto.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "mosquitto did not start on 127.0.0.1:$broker_port ($broker_work/mosquitto.log)" >&2
  return 1
}
