#!/bin/sh
# Writes the man pages of one program and of each of its subcommands with help2man, from the program's own
# --help (and the config file's options table, --help-config), so the pages cannot drift from the program.
# The subcommands are read from the "Commands:" / "Subcommands:" list of --help: a new one gets its page.
#
#   make-man-pages.sh PROGRAM_PATH VERSION OUT_DIR      writes OUT_DIR/<program>[-<command>].1.gz
set -eu
program_path="$1"
version="$2"
out="$3"
program="$(basename "$program_path")"
work="$out/.work-$program"
rm -rf "$work"
mkdir -p "$work" "$out"

# help2man names a page after its executable: one small wrapper per subcommand.
wrapper() {  # wrapper NAME ARGS...
  name="$1"
  shift
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$program_path" "$*" >"$work/$name"
  chmod +x "$work/$name"
}

# The summary of a page: the first line of --help after "<name>: ".
summary() { "$@" --help | head -1 | sed 's/^[^:]*: *//'; }

page() {  # page NAME INCLUDE_FILE
  name="$1"
  help2man --no-info --section=1 --version-string="$version" --source="footfall $version" \
    --manual="footfall" --name="$(summary "$work/$name")" --include="$2" \
    --output="$work/$name.1" "$work/$name"
  gzip -9n <"$work/$name.1" >"$out/$name.1.gz"
}

commands="$("$program_path" --help | awk '/^(Sub)?[Cc]ommands:/ {on = 1; next} on && /^$/ {on = 0} on && /^  [a-z]/ {print $1}')"

wrapper "$program"
{
  printf '[SEE ALSO]\n'
  for command in $commands; do printf '.BR %s-%s (1)\n' "$program" "$command"; done
  printf '\nThe documentation in /usr/share/doc/footfall-*/ (README.md and docs/).\n'
  if "$program_path" --help-config >"$work/table" 2>/dev/null; then
    printf '\n[CONFIGURATION]\nEvery key of the config file, as printed by \\fB%s --help-config\\fR:\n.PP\n.nf\n' "$program"
    sed 's/\\/\\e/g' "$work/table"
    printf '.fi\n'
  fi
} >"$work/$program.include"
page "$program" "$work/$program.include"

for command in $commands; do
  wrapper "$program-$command" "$command"
  printf '[SEE ALSO]\n.BR %s (1)\n' "$program" >"$work/$program-$command.include"
  page "$program-$command" "$work/$program-$command.include"
done
rm -rf "$work"
