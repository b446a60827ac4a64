# Installs the Debian packages named in "$@" that are not installed yet. Quick when all are there.
# Sourced by tools/test, tools/demo and bench scripts.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "footfall: missing Debian packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
    return 1
  fi
  echo "footfall: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists of a fresh machine are empty until the first update.
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# What building and testing the project needs.
FOOTFALL_BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libpcap-dev libboost-dev nlohmann-json3-dev libzstd-dev doctest-dev libcli11-dev libspdlog-dev libssl-dev libmbedtls-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev mosquitto mosquitto-clients libsqlite3-dev sqlite3
  libhowardhinnant-date-dev tzdata
  iproute2 openssl dpkg-dev file chromium fonts-liberation zlib1g-dev help2man lintian
  libpq-dev postgresql-15
)
# The dashboard's browser test: puppeteer-core (tests/package.json) drives chromium. Installed only where the
# commands are missing: a machine with another build of Node.js (one that brings its own npm) keeps it.
FOOTFALL_NODE_PACKAGES=(nodejs npm)
