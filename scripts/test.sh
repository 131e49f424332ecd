#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every test twice, once
# optimised (release) and once under AddressSanitizer + UndefinedBehaviorSanitizer (asan).
# Usage: scripts/test.sh [preset...]   (default: release asan)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh

presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan)

for preset in "${presets[@]}"; do
  echo "==> ${preset}: configure and build" >&2
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}"
  echo "==> ${preset}: test" >&2
  ctest --preset "${preset}"
done
