#!/bin/sh
# Builds the dashboard bundle into OUT_DIR with the packages already in web/node_modules
# (installed by scripts/deps.sh, the only step that downloads anything). Called by CMake.
# Usage: web/build.sh OUT_DIR
set -eu
web=$(cd "$(dirname "$0")" && pwd)
out=$1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: the web dashboard needs Node.js and npm: run scripts/deps.sh" >&2
  exit 1
fi
if [ ! -f "$web/node_modules/.package-lock.json" ]; then
  echo "error: $web/node_modules is missing: run scripts/deps.sh (it runs npm ci in web/)," \
    "or configure with -DUH_BUILD_DASHBOARD=OFF to build the server without its dashboard" >&2
  exit 1
fi
if [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "error: $web/node_modules is older than web/package-lock.json: run scripts/deps.sh" >&2
  exit 1
fi

# Into place whole: a half-built bundle is never served.
staged="$out.tmp"
rm -rf "$staged"
cd "$web"
npm_config_update_notifier=false npm run --silent build -- \
  --outDir "$staged" --emptyOutDir --logLevel warn
rm -rf "$out"
mv "$staged" "$out"
