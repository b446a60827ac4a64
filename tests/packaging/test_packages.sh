#!/usr/bin/env bash
# Builds the packages of BUILD_DIR with cpack into a temporary folder and checks them without installing
# anything on this machine: lintian on the .debs (any error or warning fails; overrides: none), the .debs
# unpacked with dpkg -x into a throwaway root, their control files read with dpkg-deb -I, their maintainer
# scripts run against that root (DPKG_ROOT) with adduser, chown, deb-systemd-helper and the like replaced by
# stand-ins that record their calls, their units checked with systemd-analyze verify (against the unpacked
# programs), and the probe bundle's install.sh run with --root into another throwaway root.
#
#   tests/packaging/test_packages.sh BUILD_DIR SOURCE_DIR      exit 0 pass, 1 fail, 77 skipped (reason printed)
set -uo pipefail
build="${1:?BUILD_DIR}"
source_dir="${2:?SOURCE_DIR}"

for tool in cpack dpkg-deb dpkg; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() {  # check "what" command...
  local what="$1"
  shift
  if "$@" >"$work/last.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what"
    sed 's/^/  | /' "$work/last.log" | head -30
  fi
}
has_line() { grep -qxF -- "$2" "$1"; }
has_match() { grep -qE -- "$2" "$1"; }

components="$(sed -n 's/^ *set(CPACK_COMPONENTS_ALL \(.*\))$/\1/p' "$build/packaging/cpack-components.cmake" | head -1)"

# --- .debs -------------------------------------------------------------------------------------------------
if [ -z "$components" ]; then
  echo "skipped .debs: this build has neither footfall-gateway nor footfall-aggregator (FOOTFALL_PROBE_ONLY?)"
elif ! command -v dpkg-shlibdeps >/dev/null; then
  echo "skipped .debs: dpkg-shlibdeps is missing (Debian package dpkg-dev)"
else
  if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/debs" >"$work/cpack-deb.log" 2>&1; then
    echo "FAIL: cpack -G DEB"; tail -30 "$work/cpack-deb.log"; exit 1
  fi
  for service in ${components//;/ }; do
    pkg="footfall-$service"
    deb="$(ls "$work/debs/${pkg}_"*.deb 2>/dev/null | head -1)"
    check "$pkg: .deb built" test -f "$deb"
    [ -f "$deb" ] || continue
    dpkg-deb -I "$deb" >"$work/$pkg.info"
    dpkg-deb -c "$deb" >"$work/$pkg.contents"
    check "$pkg: package name" has_match "$work/$pkg.info" "^ Package: $pkg\$"
    check "$pkg: depends on adduser and its libraries" has_match "$work/$pkg.info" "^ Depends: .*adduser.*libc6"
    for script in postinst prerm postrm conffiles; do
      check "$pkg: control has $script" has_match "$work/$pkg.info" "lines +\\*? +$script( |\$)"
    done

    root="$work/root-$pkg"
    mkdir -p "$root"
    check "$pkg: dpkg -x" dpkg -x "$deb" "$root"
    check "$pkg: program in /usr/bin" test -x "$root/usr/bin/$pkg"
    check "$pkg: program is stripped" bash -c "! file '$root/usr/bin/$pkg' | grep -q 'not stripped'"
    check "$pkg: default config" test -f "$root/etc/footfall/$service.json"
    check "$pkg: default config is JSON" python3 -m json.tool "$root/etc/footfall/$service.json"
    check "$pkg: systemd unit" test -f "$root/lib/systemd/system/$pkg.service"

    dpkg-deb -e "$deb" "$root/DEBIAN"
    check "$pkg: conffiles lists the config" has_line "$root/DEBIAN/conffiles" "/etc/footfall/$service.json"
    for script in postinst prerm postrm; do
      check "$pkg: $script is valid sh" sh -n "$root/DEBIAN/$script"
      check "$pkg: $script is executable" test -x "$root/DEBIAN/$script"
    done
    check "$pkg: postinst creates the system user" has_match "$root/DEBIAN/postinst" "adduser --system"
    for script in postinst prerm postrm; do
      # dh_installsystemd's snippets: deb-systemd-helper / deb-systemd-invoke, systemctl only for daemon-reload.
      check "$pkg: $script calls systemctl only for daemon-reload" bash -c \
        "grep -E '(^|[;&|[:space:]])systemctl[[:space:]]' '$root/DEBIAN/$script' | grep -vE 'systemctl --system daemon-reload|^[[:space:]]*echo ' | (! grep .)"
    done

    # The maintainer scripts against the throwaway root, with stand-ins that record each call.
    shims="$work/shims-$pkg"
    mkdir -p "$shims"
    for tool in addgroup adduser chown chmod deb-systemd-helper deb-systemd-invoke systemctl; do
      printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$work/calls-$pkg" >"$shims/$tool"
      chmod +x "$shims/$tool"
    done
    printf '#!/bin/sh\nexit 2\n' >"$shims/getent"  # no user footfall yet
    # A first install: deb-systemd-helper knows nothing of the unit (debian-installed, was-enabled: false).
    printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s"\ncase "$1" in debian-installed|--quiet) exit 1;; esac\n' \
      "$work/calls-$pkg" >"$shims/deb-systemd-helper"
    chmod +x "$shims/getent" "$shims/deb-systemd-helper"
    : >"$work/calls-$pkg"
    check "$pkg: postinst configure (first install) succeeds" \
      env DPKG_ROOT="$root" PATH="$shims:$PATH" sh "$root/DEBIAN/postinst" configure
    calls="$work/calls-$pkg"
    check "$pkg: postinst adds the system group" has_line "$calls" "addgroup --system --quiet footfall"
    check "$pkg: postinst adds the system user" has_match "$calls" "^adduser --system .*--ingroup footfall .* footfall\$"
    check "$pkg: postinst gives the config to group footfall" \
      has_line "$calls" "chown root:footfall $root/etc/footfall $root/etc/footfall/$service.json"
    check "$pkg: postinst makes the config 0640" has_line "$calls" "chmod 0640 $root/etc/footfall/$service.json"
    check "$pkg: postinst records the unit's state (dh_installsystemd)" has_line "$calls" "deb-systemd-helper update-state $pkg.service"
    check "$pkg: postinst neither enables nor starts the unit" bash -c \
      "! grep -E '^(deb-systemd-helper enable|deb-systemd-invoke|systemctl (start|enable))' '$calls'"
    check "$pkg: postinst leaves the host's systemd alone in a throwaway root" bash -c "! grep -q '^systemctl' '$calls'"
    : >"$calls"
    check "$pkg: prerm remove succeeds" env DPKG_ROOT="$root" PATH="$shims:$PATH" sh "$root/DEBIAN/prerm" remove
    check "$pkg: postrm purge succeeds" env DPKG_ROOT="$root" PATH="$shims:$PATH" sh "$root/DEBIAN/postrm" purge
    check "$pkg: prerm stops nothing in a throwaway root" bash -c "! grep -q '^deb-systemd-invoke' '$calls'"

    doc="$root/usr/share/doc/$pkg"
    check "$pkg: copyright file" test -f "$doc/copyright"
    check "$pkg: copyright names the maintainer" has_match "$doc/copyright" "^Upstream-Contact: .+@"
    check "$pkg: Debian changelog" bash -c "zcat '$doc/changelog.gz' | head -1 | grep -qE '^$pkg \([0-9.]+\) '"
    check "$pkg: README in /usr/share/doc" test -f "$doc/README.md"
    check "$pkg: maintainer is not a placeholder" bash -c "! grep -qE '^ Maintainer: .*@(localhost|example)' '$work/$pkg.info'"
    check "$pkg: --version" bash -c "'$root/usr/bin/$pkg' --version | grep -qE '^$pkg [0-9]+\.[0-9]+\.[0-9]+\$'"
    # A man page for the program and for each subcommand its --help lists.
    check "$pkg: man page" test -f "$root/usr/share/man/man1/$pkg.1.gz"
    for command in $("$root/usr/bin/$pkg" --help | awk '/^(Sub)?[Cc]ommands:/ {on = 1; next} on && /^$/ {on = 0} on && /^  [a-z]/ {print $1}'); do
      check "$pkg: man page of $command" test -f "$root/usr/share/man/man1/$pkg-$command.1.gz"
    done
    check "$pkg: man page carries the config table" bash -c \
      "zcat '$root/usr/share/man/man1/$pkg.1.gz' | grep -qF '$service.json options (key | type | default | meaning):'"

    unit="$root/lib/systemd/system/$pkg.service"
    check "$pkg: runs as footfall" has_line "$unit" "User=footfall"
    check "$pkg: no capabilities" has_line "$unit" "CapabilityBoundingSet="
    check "$pkg: no new privileges" has_line "$unit" "NoNewPrivileges=yes"
    check "$pkg: sets its open-file limit" has_match "$unit" "^LimitNOFILE=[0-9]+\$"
    check "$pkg: unit starts the packaged program with the packaged config" \
      has_match "$unit" "^ExecStart=/usr/bin/$pkg .*--config /etc/footfall/$service.json\$"
    check "$pkg: the program runs (--help)" "$root/usr/bin/$pkg" --help
    if [ "$pkg" = footfall-gateway ]; then
      check "$pkg: systemctl reload sends SIGHUP" has_line "$unit" 'ExecReload=/bin/kill -HUP $MAINPID'
      # The packaged config's tokens are placeholders: one line saying so, exit 2, nothing started.
      "$root/usr/bin/$pkg" --config "$root/etc/footfall/gateway.json" >"$work/placeholder.out" 2>&1
      check "$pkg: refuses the example's placeholder tokens (exit 2)" test $? -eq 2
      check "$pkg: ... in one line naming the token" bash -c \
        "[ \$(wc -l <'$work/placeholder.out') -eq 1 ] && grep -q 'probes\[0\]\.token: still the example.s placeholder' '$work/placeholder.out'"
    fi

    if command -v systemd-analyze >/dev/null; then
      # verify checks that ExecStart's program exists: point it at the unpacked one.
      mkdir -p "$work/units"
      sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$unit" >"$work/units/$pkg.service"
      check "$pkg: systemd-analyze verify" bash -c \
        "systemd-analyze verify '$work/units/$pkg.service' 2>&1 | grep -v -e 'Failed to open /dev/tty' -e 'multi-user.target' | tee /dev/stderr | (! grep -q .)"
    else
      echo "skipped systemd-analyze verify for $pkg: systemd-analyze is not installed (Debian package systemd)"
    fi
  done
fi

# --- lintian: Debian's checks on the .debs --------------------------------------------------------------------
if [ -n "$components" ] && ls "$work/debs/"*.deb >/dev/null 2>&1; then
  if command -v lintian >/dev/null; then
    # Overrides: none. Any error (E:) or warning (W:) fails; the informational tags (I:) are printed.
    lintian --tag-display-limit 0 --info --fail-on error,warning "$work/debs/"*.deb >"$work/lintian.log" 2>&1
    lintian_status=$?
    grep -E '^[EWI]: ' "$work/lintian.log" | sed 's/^/  lintian /'
    check "lintian ran (exit $lintian_status)" bash -c "[ $lintian_status -le 1 ] || { cat '$work/lintian.log'; false; }"
    check "lintian: no error and no warning" bash -c "! grep -E '^[EW]: ' '$work/lintian.log'"
  else
    echo "skipped lintian: it is not installed (Debian package lintian; tools/test installs it)"
  fi
fi

# --- the probe bundle --------------------------------------------------------------------------------------
if ! cpack --config "$build/CPackConfig.cmake" -G TGZ -B "$work/bundle" >"$work/cpack-tgz.log" 2>&1; then
  echo "FAIL: cpack -G TGZ"; tail -30 "$work/cpack-tgz.log"; exit 1
fi
tarball="$(ls "$work/bundle/"footfall-probe-*.tar.gz 2>/dev/null | head -1)"
check "probe bundle built" test -f "$tarball"
if [ -f "$tarball" ]; then
  tar -xzf "$tarball" -C "$work/bundle"
  top="$work/bundle/$(basename "$tarball" .tar.gz)"
  for f in bin/footfall-probe etc/footfall/probe.json systemd/footfall-probe.service openwrt/footfall-probe.init \
           openwrt/footfall-probe.capabilities.json install.sh; do
    check "bundle has $f" test -f "$top/$f"
  done
  check "bundle: install.sh is valid sh" sh -n "$top/install.sh"
  check "bundle: procd script is valid sh" sh -n "$top/openwrt/footfall-probe.init"
  check "bundle: capabilities file is JSON" python3 -m json.tool "$top/openwrt/footfall-probe.capabilities.json"
  check "bundle: probe unit keeps only the capture capabilities" \
    has_line "$top/systemd/footfall-probe.service" "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN"

  sysd="$work/board-systemd"
  check "install.sh --root (systemd board)" sh "$top/install.sh" --root "$sysd"
  check "  program installed" test -x "$sysd/usr/bin/footfall-probe"
  check "  config installed" test -f "$sysd/etc/footfall/probe.json"
  check "  unit installed" test -f "$sysd/etc/systemd/system/footfall-probe.service"
  echo '{"probe_id": "kept"}' >"$sysd/etc/footfall/probe.json"
  check "install.sh again keeps the board's config" sh "$top/install.sh" --root "$sysd"
  check "  config kept" grep -q kept "$sysd/etc/footfall/probe.json"
  check "  new default beside it" test -f "$sysd/etc/footfall/probe.json.new"

  owrt="$work/board-openwrt"
  mkdir -p "$owrt/etc" && echo "DISTRIB_ID='OpenWrt'" >"$owrt/etc/openwrt_release"
  check "install.sh --root (OpenWrt board)" sh "$top/install.sh" --root "$owrt"
  check "  procd script installed" test -x "$owrt/etc/init.d/footfall-probe"
  check "  capabilities installed" test -f "$owrt/etc/capabilities/footfall-probe.json"
  check "  no systemd unit" test ! -e "$owrt/etc/systemd/system/footfall-probe.service"
  if command -v systemd-analyze >/dev/null; then
    sed "s|^ExecStart=/usr/bin/|ExecStart=$sysd/usr/bin/|" "$top/systemd/footfall-probe.service" \
      >"$work/footfall-probe.service"
    check "bundle: systemd-analyze verify" bash -c \
      "systemd-analyze verify '$work/footfall-probe.service' 2>&1 | grep -v -e 'Failed to open /dev/tty' -e 'multi-user.target' | tee /dev/stderr | (! grep -q .)"
  else
    echo "skipped systemd-analyze verify for the probe unit: systemd-analyze is not installed (Debian package systemd)"
  fi
fi

echo "packages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
