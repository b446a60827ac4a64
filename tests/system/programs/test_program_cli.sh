#!/usr/bin/env bash
# The three programs behave alike on their command line: --version, exit 2 on a usage error (also after each
# subcommand), one --help-config layout, one log line format, and the journal form chosen from JOURNAL_STREAM
# or --log-format.
#
#   tests/system/programs/test_program_cli.sh BIN_DIR VERSION      exit 0 pass, 1 fail
set -uo pipefail
bin="${1:?BIN_DIR}"
version="${2:?VERSION}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() {  # check "what" command...
  if "${@:2}" >"$work/last.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1"
    sed 's/^/  | /' "$work/last.log" | head -20
  fi
}
exits() {  # exits STATUS command...: the command's exit status is STATUS
  local want="$1"
  shift
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$work/err"; return 1; }
}
subcommands() {  # the names listed under "Commands:" / "Subcommands:" of --help
  "$1" --help | awk '/^(Sub)?[Cc]ommands:/ {on = 1; next} on && /^$/ {on = 0} on && /^  [a-z]/ {print $1}'
}

for program in footfall-probe footfall-gateway footfall-aggregator; do
  p="$bin/$program"
  check "$program --version" bash -c "[ \"\$('$p' --version)\" = '$program $version' ]"
  check "$program --help exits 0" exits 0 "$p" --help
  check "$program: an unknown option exits 2" exits 2 "$p" --no-such-option
  commands="$(subcommands "$p")"
  check "$program lists its subcommands" test -n "$commands"
  for command in $commands; do
    check "$program $command --help exits 0" exits 0 "$p" "$command" --help
    check "$program $command: an unknown option exits 2" exits 2 "$p" "$command" --no-such-option
  done
  check "$program: a bad --log-format exits 2" bash -c \
    "'$p' \$( [ $program = footfall-probe ] && echo run --config x ) --log-format xml; [ \$? -eq 2 ]"

  "$p" --help-config >"$work/$program.table" 2>&1
  check "$program --help-config: the shared heading" \
    grep -qE '^[a-z]+\.json options \(key \| type \| default \| meaning\):$' "$work/$program.table"
  # Every row: two spaces, the key, then type, default and meaning, separated by " | ".
  check "$program --help-config: rows of four columns" bash -c \
    "sed -n '2,/^\$/p' '$work/$program.table' | grep '^  [a-z]' |
     awk -F ' [|] ' 'NF < 4 || \$1 !~ /^  [a-z_.0-9{}]+\$/ {print; bad = 1} END {exit bad}'"
done
check "footfall-probe: an unknown command exits 2" exits 2 "$bin/footfall-probe" no-such-command
check "footfall-gateway: a missing --config exits 2" exits 2 "$bin/footfall-gateway"

# Log lines: a gateway whose journal folder cannot be made logs one critical line and exits 1.
touch "$work/a-file"
cat >"$work/gateway.json" <<JSON
{"tenant": "t", "site": "s", "listen": {"address": "127.0.0.1", "port": 0},
 "probes": [{"id": "a", "token": "0123456789abcdef0123", "zone": "a"}],
 "journal": {"dir": "$work/a-file/journal"}}
JSON
gw="$bin/footfall-gateway"
check "gateway: text log line (time level program message)" bash -c \
  "'$gw' --config '$work/gateway.json' --log-format text 2>&1 >/dev/null | tee /dev/stderr |
   grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} critical footfall-gateway .+'"
check "gateway: journal log line (<2>message, no time)" bash -c \
  "'$gw' --config '$work/gateway.json' --log-format journal 2>&1 >/dev/null | tee /dev/stderr | grep -qE '^<2>[^0-9].+'"
check "gateway: text when standard error is not the journal's stream" bash -c \
  "JOURNAL_STREAM=1:2 '$gw' --config '$work/gateway.json' 2>&1 >/dev/null | tee /dev/stderr | grep -qE '^[0-9]{4}-.* critical footfall-gateway '"
: >"$work/journal-stream"
stream="$(stat -c '%d:%i' "$work/journal-stream")"
JOURNAL_STREAM="$stream" "$gw" --config "$work/gateway.json" 2>>"$work/journal-stream" >/dev/null
check "gateway: journal form when standard error is JOURNAL_STREAM" grep -qE '^<2>[^0-9]' "$work/journal-stream"
check "gateway: --log-format text wins over JOURNAL_STREAM" bash -c \
  "JOURNAL_STREAM='$stream' '$gw' --config '$work/gateway.json' --log-format text 2>>'$work/journal-stream' >/dev/null;
   tail -1 '$work/journal-stream' | grep -qE '^[0-9]{4}-.* critical footfall-gateway '"

echo "program command lines: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
