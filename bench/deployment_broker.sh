#!/usr/bin/env bash
# Checks the broker configuration of docs/deployment.md on a real mosquitto: the blocks marked
# <!-- check: NAME --> there (footfall.conf, footfall.acl, bridge.conf) are extracted as they are, the listener
# moved to a free loopback port without TLS and the paths to a temporary folder, then:
#   a gateway's visits reach an aggregator subscribed as $share/agg/...; the same gateway publishing on another
#   site's, another tenant's or the figures' topic is refused and nothing reaches an observer subscribed to
#   everything; a gateway cannot read another site's feed; a tenant's reader gets its figures and not another
#   tenant's; a regional broker with the bridge section forwards a gateway's visits and gets the figures back.
#   bench/deployment_broker.sh          (exit 0 when every check passes)
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/deployment.md
work=$(mktemp -d /tmp/footfall-deployment-broker.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() {  # description, then a command that succeeds when the check holds
  local what=$1
  shift
  if "$@"; then echo "ok:     $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# The fenced block after "<!-- check: NAME -->".
block() {
  awk -v name="$1" '
    $0 == "<!-- check: " name " -->" { armed = 1; next }
    armed && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$doc"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

central=$(free_port)
regional=$(free_port)
block footfall.acl >"$work/footfall.acl"
block footfall.conf |
  sed -e "s|^listener 8883$|listener $central 127.0.0.1|" -e '/^\(certfile\|keyfile\|cafile\) /d' \
      -e "s|/etc/mosquitto/|$work/|g" -e "s|/var/lib/mosquitto/|$work/central-data/|" >"$work/central.conf"
[[ $(id -u) == 0 ]] && echo "user root" >>"$work/central.conf"
mkdir -p "$work/central-data" "$work/regional-data"
for f in footfall.acl central.conf; do [[ -s $work/$f ]] || { echo "no block for $f in $doc" >&2; exit 1; }; done

# Users of the ACL, and the bridge of the regional broker (a user the central ACL must be given).
: >"$work/footfall.passwd"
for user in aggregator gw-acme-mall-7 gw-acme-office-2 pos-acme-mall-7 reader-acme reader-beta observer bridge-eu-1; do
  mosquitto_passwd -b "$work/footfall.passwd" "$user" "pw-$user"
done
{
  echo
  echo "user observer"
  echo "topic read #"
  echo "user bridge-eu-1"
  for feed in visits presence probes status sales; do echo "topic write footfall/v1/+/+/$feed"; done
  echo "topic read footfall/v1/+/+/metrics/+"
  echo "topic read footfall/v1/+/+/alerts"
  echo "user reader-beta"
  echo "topic read footfall/v1/beta/+/metrics/+"
} >>"$work/footfall.acl"

/usr/sbin/mosquitto -c "$work/central.conf" >"$work/central.log" 2>&1 &
pids+=($!)
wait_port "$central" || { cat "$work/central.log" >&2; exit 1; }

sub() {  # NAME USER TOPIC...: a subscriber in the background, its output in $work/NAME.out
  local name=$1 user=$2 topics=()
  shift 2
  local t
  for t in "$@"; do topics+=(-t "$t"); done
  mosquitto_sub -p "$central" -u "$user" -P "pw-$user" -V mqttv5 -v "${topics[@]}" >"$work/$name.out" 2>&1 &
  pids+=($!)
}
pub() {  # USER TOPIC MESSAGE [PORT]: MQTT 5, so that a refusal comes back as a reason code
  mosquitto_pub -p "${4:-$central}" -u "$1" -P "pw-$1" -V mqttv5 -q 1 -t "$2" -m "$3" 2>&1
}
sub agg aggregator '$share/agg/footfall/v1/+/+/visits' 'footfall/v1/+/+/sales'
sub observer observer '#'
sub gwspy gw-acme-mall-7 'footfall/v1/acme/office-2/visits'
sub reader reader-acme 'footfall/v1/+/+/metrics/+'
sub readerb reader-beta 'footfall/v1/+/+/metrics/+'
sleep 0.5

own=$(pub gw-acme-mall-7 footfall/v1/acme/mall-7/visits own-site)
other_site=$(pub gw-acme-mall-7 footfall/v1/acme/office-2/visits other-site)
other_tenant=$(pub gw-acme-mall-7 footfall/v1/beta/mall-7/visits other-tenant)
fake_figures=$(pub gw-acme-mall-7 footfall/v1/acme/mall-7/metrics/day fake-figures)
office=$(pub gw-acme-office-2 footfall/v1/acme/office-2/visits office-own)
sale=$(pub pos-acme-mall-7 footfall/v1/acme/mall-7/sales sale-own)
pub aggregator footfall/v1/acme/mall-7/metrics/day figures-acme >/dev/null
pub aggregator footfall/v1/beta/mall-1/metrics/day figures-beta >/dev/null
sleep 1

check "the gateway's own visits are accepted" test -z "$own"
check "its visits reach the aggregator's shared subscription" grep -q '^footfall/v1/acme/mall-7/visits own-site$' "$work/agg.out"
check "another site's topic is refused (Not authorized)" grep -q 'Not authorized' <<<"$other_site"
check "another tenant's topic is refused (Not authorized)" grep -q 'Not authorized' <<<"$other_tenant"
check "a gateway cannot publish figures" grep -q 'Not authorized' <<<"$fake_figures"
check "nothing refused reaches a subscriber of #" bash -c "! grep -q -e other-site -e other-tenant -e fake-figures '$work/observer.out'"
check "the other gateway publishes its own site" bash -c "test -z '$office' && grep -q office-own '$work/agg.out'"
check "a gateway cannot read another site's feed" bash -c "! grep -q office-own '$work/gwspy.out'"
check "the point of sale publishes its site's sales" bash -c "test -z '$sale' && grep -q sale-own '$work/agg.out'"
check "the tenant's reader gets its figures" grep -q 'figures-acme' "$work/reader.out"
check "and not another tenant's" bash -c "! grep -q figures-beta '$work/reader.out'"
check "the other tenant's reader gets only its own" bash -c "grep -q figures-beta '$work/readerb.out' && ! grep -q figures-acme '$work/readerb.out'"

# A regional broker: the gateway logs in there, the bridge forwards to the central broker.
block bridge.conf |
  sed -e "s|^address .*|address 127.0.0.1:$central|" -e '/^bridge_\(cafile\|certfile\|keyfile\) /d' \
      -e "s|^remote_password .*|remote_password pw-bridge-eu-1|" >"$work/bridge.conf"
[[ -s $work/bridge.conf ]] || { echo "no block for bridge.conf in $doc" >&2; exit 1; }
{
  echo "listener $regional 127.0.0.1"
  echo "allow_anonymous true"
  [[ $(id -u) == 0 ]] && echo "user root"
  cat "$work/bridge.conf"
} >"$work/regional.conf"
/usr/sbin/mosquitto -c "$work/regional.conf" >"$work/regional.log" 2>&1 &
pids+=($!)
wait_port "$regional" || { cat "$work/regional.log" >&2; exit 1; }
mosquitto_sub -p "$regional" -V mqttv5 -v -t 'footfall/v1/+/+/metrics/+' >"$work/regional-reader.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q "bridge-eu-1" "$work/central.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
mosquitto_pub -p "$regional" -q 1 -t footfall/v1/acme/mall-7/visits -m via-bridge
pub aggregator footfall/v1/acme/mall-7/metrics/hour figures-back >/dev/null
sleep 1.5
check "the bridge forwards a gateway's visits to the central aggregators" grep -q via-bridge "$work/agg.out"
check "and brings the figures back to the regional broker" grep -q figures-back "$work/regional-reader.out"

echo
if [[ $failures -eq 0 ]]; then echo "all checks passed (mosquitto $(/usr/sbin/mosquitto -h | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p'))"; else echo "$failures checks FAILED"; exit 1; fi
