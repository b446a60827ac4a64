# The folder of the programs a bench runs, as an absolute path: FOOTFALL_BIN_DIR when set (programs built
# already), else the release preset's, after building the targets named.
#   bin=$(release_bin footfall-aggregator aggregator_store_bench)
release_bin() {
  local dir
  if [ -n "${FOOTFALL_BIN_DIR:-}" ]; then
    dir=$FOOTFALL_BIN_DIR
  else
    # A failed build fails the assignment bin=$(release_bin ...), which stops a script under set -e.
    cmake --preset release >/dev/null || return 1
    cmake --build --preset release -j2 --target "$@" >/dev/null || return 1
    dir=build/release/bin
  fi
  (cd "$dir" && pwd)
}
