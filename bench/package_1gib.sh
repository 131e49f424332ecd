#!/usr/bin/env bash
# End-to-end package benchmark: creates and verifies a package holding one 1 GiB object of random
# data, and hashes the same file with sha256sum in the same run as the baseline. Prints a
# markdown table of wall time, throughput, peak RSS and throughput relative to sha256sum.
#
#   bench/package_1gib.sh [UPDATEHUB_PKG] [WORK_DIR]
#
#   UPDATEHUB_PKG  default build/release/src/tools/pkg/updatehub-pkg
#   WORK_DIR       where to make the scratch directory (default $TMPDIR or /tmp); it needs
#                  2 GiB free, and the scratch directory is removed at exit
#
# Environment:
#   UH_RUNSTAT         the uh_runstat helper (default: bench/uh_runstat in the build directory
#                      that holds UPDATEHUB_PKG)
#   UH_BENCH_SIZE_MIB  object size in MiB (default 1024)
#
# The random file has just been written, so every step reads it from the page cache: the steps
# compare hashing and copying speed, not the disk. Exits non-zero if any step fails.
set -euo pipefail

pkg_tool=${1:-build/release/src/tools/pkg/updatehub-pkg}
size_mib=${UH_BENCH_SIZE_MIB:-1024}

fail() {
  echo "package_1gib.sh: error: $*" >&2
  exit 1
}

[[ -x $pkg_tool ]] || fail "$pkg_tool is not an executable (build updatehub-pkg first)"
[[ $size_mib =~ ^[1-9][0-9]*$ ]] || fail "UH_BENCH_SIZE_MIB must be a positive integer"
# updatehub-pkg lives in BUILD/src/tools/pkg; the helper in BUILD/bench.
runstat=${UH_RUNSTAT:-$(dirname "$pkg_tool")/../../../bench/uh_runstat}
[[ -x $runstat ]] || fail "$runstat not found: build the uh_runstat target or set UH_RUNSTAT"
command -v sha256sum >/dev/null || fail "sha256sum not found (coreutils)"

parent=${2:-${TMPDIR:-/tmp}}
mkdir -p "$parent"
work=$(mktemp -d "$parent/uh-bench.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

need_kib=$(((2 * size_mib + 64) * 1024))
free_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
((free_kib >= need_kib)) || fail "$work has $((free_kib / 1024)) MiB free, needs $((need_kib / 1024))"

image=$work/image.bin
package=$work/package.uhupkg
product=$(printf '%064d' 0 | tr 0 a)

# run_step NAME COMMAND...: runs the command under uh_runstat, keeps its stats in NAME.stat.
run_step() {
  local name=$1
  shift
  if ! "$runstat" --output "$work/$name.stat" -- "$@" >"$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    fail "step '$name' failed: $*"
  fi
}

# stat_field NAME FIELD: one value of a step's stat line (wall_s, max_rss_kib...).
stat_field() {
  sed -n "s/.*\<$2=\([0-9.]*\).*/\1/p" "$work/$1.stat"
}

echo "Preparing a ${size_mib} MiB random file and a signing key in $work ..." >&2
"$pkg_tool" keygen --out "$work" --bits 2048 >/dev/null || fail "keygen failed"
head -c "${size_mib}M" /dev/urandom >"$image" || fail "cannot write $image"
[[ $(stat -c %s "$image") -eq $((size_mib * 1024 * 1024)) ]] || fail "$image is short"

echo "Running sha256sum, create, verify ..." >&2
run_step sha256sum sha256sum "$image"
# A second baseline when available: OpenSSL's SHA-256, the code updatehub-pkg hashes with.
steps=(sha256sum)
if command -v openssl >/dev/null; then
  run_step openssl openssl dgst -sha256 "$image"
  steps+=(openssl)
fi
steps+=(create verify)
run_step create "$pkg_tool" create --product "$product" --version 1.0 --single-set \
  --object "$image,mode=raw,target=/dev/x" --key "$work/key.pem" -o "$package"
run_step verify "$pkg_tool" verify "$package" --key "$work/key.pub"

# The package must hold the object that sha256sum saw.
expected=$(cut -d' ' -f1 "$work/sha256sum.out")
grep -q "^$package: OK" "$work/verify.out" || fail "verify did not report OK"
unzip_list=$(unzip -Z1 "$package" 2>/dev/null || true)
if [[ -n $unzip_list ]] && ! grep -qx "$expected" <<<"$unzip_list"; then
  fail "the package has no member named $expected"
fi

baseline=$(stat_field sha256sum wall_s)
echo
echo "Object: ${size_mib} MiB of random data; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
# CPU seconds (user + sys) tell a CPU-bound step from one waiting for the disk or for a CPU
# that another process holds.
echo "| step | seconds | MiB/s | peak RSS MiB | throughput vs sha256sum | CPU seconds |"
echo "|---|---:|---:|---:|---:|---:|"
for step in "${steps[@]}"; do
  awk -v step="$step" -v wall="$(stat_field "$step" wall_s)" \
    -v user="$(stat_field "$step" user_s)" -v sys="$(stat_field "$step" sys_s)" \
    -v rss="$(stat_field "$step" max_rss_kib)" -v size="$size_mib" -v base="$baseline" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.1f | %.2fx | %.2f |\n",
             step, wall, size / wall, rss / 1024, base / wall, user + sys }'
done
