#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the demo need, when any is missing,
# and the web dashboard's npm packages (npm ci in web/, the build's only download) when
# web/node_modules is missing or older than web/package-lock.json.
# Idempotent and quiet: a machine that has everything is left untouched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # toolchain
  g++ cmake ninja-build pkgconf git ca-certificates
  # libraries
  libssl-dev libarchive-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libsqlite3-dev libargon2-dev libcurl4-openssl-dev libpq-dev
  # what the static libarchive links against (pkg-config --static libarchive)
  nettle-dev libacl1-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev zlib1g-dev libxml2-dev
  # tools the tests and benchmarks call; PostgreSQL's server for the store's tests (they start
  # their own, in a temporary directory)
  openssl unzip zip gzip xz-utils zstd coreutils procps curl postgresql
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# The web dashboard's build (Node.js 18 and npm 9 on Debian 12) and its browser tests (Chromium).
# Checked as commands: a Node.js installed some other way is used as it is.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v chromium >/dev/null || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's packages, exactly as web/package-lock.json pins them.
web=$root/web
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
  [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "Installing the web dashboard's npm packages (npm ci in web/)" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$web/node_modules/.package-lock.json"
fi
