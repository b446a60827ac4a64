#!/bin/sh
# Installs the footfall-probe bundle on a board: the static program, its default config (kept when one is
# already there), and the service for the board's init: a systemd unit, or a procd init script on OpenWrt.
#
#   ./install.sh                 install on this board and enable the service (as root)
#   ./install.sh --root DIR      only copy the files under DIR (an image being built, a test); no service calls
#
# The service runs as the user footfall with CAP_NET_RAW and CAP_NET_ADMIN only (capture, monitor mode).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    -h|--help) sed -n '5,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or use --root DIR)" >&2
  exit 1
fi

if [ -f "$root/etc/openwrt_release" ] || { [ -z "$root" ] && [ -x /sbin/procd ]; }; then
  init=procd
else
  init=systemd
fi

install -d "$root/usr/bin" "$root/etc/footfall" "$root/var/lib/footfall"
install -m 0755 "$here/bin/footfall-probe" "$root/usr/bin/footfall-probe"
if [ -f "$root/etc/footfall/probe.json" ]; then
  echo "install.sh: keeping $root/etc/footfall/probe.json (the new default is probe.json.new)"
  install -m 0640 "$here/etc/footfall/probe.json" "$root/etc/footfall/probe.json.new"
else
  install -m 0640 "$here/etc/footfall/probe.json" "$root/etc/footfall/probe.json"
fi

if [ "$init" = procd ]; then
  install -d "$root/etc/init.d" "$root/etc/capabilities"
  install -m 0755 "$here/openwrt/footfall-probe.init" "$root/etc/init.d/footfall-probe"
  install -m 0644 "$here/openwrt/footfall-probe.capabilities.json" "$root/etc/capabilities/footfall-probe.json"
else
  install -d "$root/etc/systemd/system"
  install -m 0644 "$here/systemd/footfall-probe.service" "$root/etc/systemd/system/footfall-probe.service"
fi
echo "install.sh: installed for $init under ${root:-/}"
[ -n "$root" ] && exit 0

# The user footfall: shadow's useradd, busybox's adduser, or OpenWrt's user_add.
if ! grep -q '^footfall:' /etc/passwd; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/footfall --no-create-home --shell /sbin/nologin footfall
  elif [ -f /lib/functions.sh ] && . /lib/functions.sh && command -v user_add >/dev/null 2>&1; then
    group_add footfall 470 && user_add footfall 470 470 footfall /var/lib/footfall /bin/false
  else
    adduser -S -D -H -h /var/lib/footfall footfall
  fi
fi
chown root:footfall /etc/footfall /etc/footfall/probe.json
chmod 0750 /etc/footfall
chown footfall:footfall /var/lib/footfall

if [ "$init" = procd ]; then
  /etc/init.d/footfall-probe enable
  echo "install.sh: edit /etc/footfall/probe.json, then: /etc/init.d/footfall-probe start"
else
  systemctl daemon-reload
  systemctl enable footfall-probe.service
  echo "install.sh: edit /etc/footfall/probe.json, then: systemctl start footfall-probe"
fi
