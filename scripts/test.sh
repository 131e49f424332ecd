#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every test twice, once
# optimised (release) and once under AddressSanitizer + UndefinedBehaviorSanitizer (asan), and
# the server's tests (HTTP, store, API) a third time under ThreadSanitizer (tsan).
# Usage: scripts/test.sh [preset...]   (default: release asan tsan)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh

presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan)

# Tests whose point is that upstream's uhu made a package need those packages (the folder
# UH_CONFORMANCE_DIR, by default ../shared/conformance/uhu beside the clone). Without them they
# are skipped, and said so here and at the end; with CI=true they fail instead.
upstream_note() {
  local dir
  dir=$(sed -n 's/^UH_CONFORMANCE_DIR:PATH=//p' "build/$1/CMakeCache.txt" 2>/dev/null || true)
  if [ -n "$dir" ] && [ -f "$dir/signed.uhupkg" ]; then
    upstream="upstream-made packages found in $dir"
    return 0
  fi
  upstream="upstream-made packages missing in ${dir:-?}: the upstream conformance tests are among the skipped"
  if [ "${CI:-}" = true ]; then
    echo "error: upstream-made packages not found in ${dir:-?}: the upstream conformance tests will fail (CI=true)" >&2
  else
    echo "note: upstream-made packages not found in ${dir:-?}: the upstream conformance tests are skipped (set UH_CONFORMANCE_DIR to run them)" >&2
  fi
}

summary=()
upstream=
for preset in "${presets[@]}"; do
  echo "==> ${preset}: configure and build" >&2
  cmake --preset "${preset}" >/dev/null
  upstream_note "${preset}"
  cmake --build --preset "${preset}"
  echo "==> ${preset}: test" >&2
  log="build/${preset}/ctest-output.log"
  ctest --preset "${preset}" 2>&1 | tee "$log"
  skipped=$(grep -c '(Skipped)$' "$log" || true)
  summary+=("${preset}: ${skipped} tests skipped (marked (Skipped) above); ${upstream}")
done
printf '==> %s\n' "${summary[@]}" >&2
