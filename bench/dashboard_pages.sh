#!/usr/bin/env bash
# Dashboard page loads at fleet size: a real updatehub-server (release build) with DEVICES
# simulated devices registered (updatehub-sim: every device probes once) and a staged rollout
# under way (the fleet runs for a while, some devices failing), then the REST requests each
# dashboard page makes are timed, one page after the other, RUNS times. A page's time is the sum
# of its requests made one after the other (the browser makes them at once, so this is the
# worse case). The baseline, measured in the same run and the same way, is the server's
# /healthz: what any request costs on this machine, before any work.
#
#   bench/dashboard_pages.sh [DEVICES]          (default 100000)
#
# It builds nothing: BUILD_DIR (default build/release) must hold updatehub-server,
# updatehub-pkg and updatehub-sim.
#
# Environment (defaults in brackets):
#   BUILD_DIR [build/release]   where the binaries are
#   PORT [18490]                the server listens on 127.0.0.1:PORT
#   DATA_PARENT [$TMPDIR|/tmp]  where the scratch directory goes
#   RUNS [30]                   loads of each page
#   ROLLOUT_SECONDS [30]        how long the fleet runs the rollout before the pages are timed
#
# Prints a markdown table; the target is every page under 300 ms at the 95th percentile. Exits
# non-zero when a step fails, not when a target is missed (the table says so).
set -euo pipefail

devices=${1:-100000}
build=${BUILD_DIR:-build/release}
port=${PORT:-18490}
runs=${RUNS:-30}
rollout_seconds=${ROLLOUT_SECONDS:-30}
server_pid=""

fail() {
  echo "dashboard_pages.sh: error: $*" >&2
  exit 1
}

[[ $devices =~ ^[1-9][0-9]*$ ]] || fail "DEVICES must be a positive integer"
[[ $runs =~ ^[1-9][0-9]*$ ]] || fail "RUNS must be a positive integer"
for tool in curl jq awk sort; do command -v "$tool" >/dev/null || fail "$tool not found"; done
server=$build/src/server/updatehub-server
pkg=$build/src/tools/pkg/updatehub-pkg
sim=$build/src/tools/sim/updatehub-sim
for binary in "$server" "$pkg" "$sim"; do
  [[ -x $binary ]] || fail "$binary not found: build it first (cmake --build $build)"
done

parent=${DATA_PARENT:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$parent/uh-dashboard-bench.XXXXXX")
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

url=http://127.0.0.1:$port
export UPDATEHUB_ADMIN_PASSWORD=bench-$RANDOM$RANDOM
# The whole simulated fleet comes from 127.0.0.1 within seconds: the per-address limits and the
# new-device quota, meant for real fleets, are off here.
cat >"$work/server.toml" <<'TOML'
max_connections_per_address = 0
requests_per_second_per_address = 0
new_devices_per_product_per_minute = 0
TOML
"$server" -c "$work/server.toml" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server exited"; }
  sleep 0.1
done
curl -sf "$url/healthz" >/dev/null || fail "the server does not answer on $url"

api() {  # api METHOD PATH [curl args...]: the JSON answer; fails on HTTP errors
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' "$url$path" "$@"
}
token=$(curl -sS --fail-with-body "$url/api/v1/login" \
  -d "$(jq -n --arg p "$UPDATEHUB_ADMIN_PASSWORD" '{username: "admin", password: $p}')" |
  jq -r .token)
product=$(api POST /api/v1/products -d '{"name": "dashboard benchmark"}' | jq -r .uid)
"$pkg" keygen --out "$work/keys" --bits 2048 >/dev/null
api POST "/api/v1/products/$product/keys" \
  -d "$(jq -n --rawfile k "$work/keys/key.pub" '{name: "bench", public_key: $k}')" >/dev/null
head -c 65536 /dev/urandom >"$work/rootfs.img"
"$pkg" create --product "$product" --version 2.0 --hardware board-a \
  --object "$work/rootfs.img,mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3" \
  --key "$work/keys/key.pem" -o "$work/update.uhupkg" >/dev/null
package=$(curl -sS --fail-with-body -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/octet-stream' --data-binary "@$work/update.uhupkg" \
  "$url/api/v1/packages" | jq -r .uid)
fleet=("$sim" --server "$url" --devices "$devices" --product "$product" --hardware board-a
  --version 1.0 --key "$work/keys/key.pub" --connections 64)

echo "# dashboard_pages.sh: $devices devices, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# registering the fleet: every device probes once" >&2
start=$(date +%s.%N)
"${fleet[@]}" --poll-interval 86400 --jitter 5 --until-version 1.0 --timeout 900 \
  >"$work/register.txt" || { cat "$work/register.txt" >&2; fail "not every device could register"; }
registered_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
rollout=$(api POST "/api/v1/products/$product/rollouts" \
  -d "{\"package\": \"$package\", \"stages\": [10, 50, 100], \"failure_threshold\": {\"percent\": 50}}" |
  jq -r .id)
echo "# rollout $rollout: the fleet runs it for ${rollout_seconds} s (5 % of devices fail)" >&2
"${fleet[@]}" --poll-interval 20 --jitter 10 --failure-rate 0.05 --seed 7 \
  --duration "$rollout_seconds" >"$work/rollout.txt" 2>&1 || true
statistics=$(api GET "/api/v1/rollouts/$rollout/statistics" | jq -c '.states // . | map_values(.count? // .)' 2>/dev/null || echo '{}')
total=$(api GET "/api/v1/devices?limit=1" | jq -r '.total // empty')
[[ $total == "$devices" ]] || fail "the server counts ${total:-no} devices, not $devices"
device=$(api GET "/api/v1/devices?identity.serial=sim-$((devices / 2))" | jq -r '.devices[0].id')
[[ $device =~ ^[0-9]+$ ]] || fail "no device sim-$((devices / 2))"

# The requests of each page, as the dashboard makes them (web/src/pages) for the product chosen
# at its top: the device list with no filter, filtered by rollout state, and searched by an
# identity value are three loads of its one list request.
declare -A pages
pages[overview]="/api/v1/overview?product=$product"
pages[devices]="/api/v1/devices?product=$product&limit=50"
pages[devices-failed]="/api/v1/devices?rollout_state=failed&product=$product&limit=50"
pages[devices-serial]="/api/v1/devices?identity.serial=sim-$((devices - 1))&product=$product&limit=50"
pages[rollout]="/api/v1/rollouts/$rollout /api/v1/rollouts/$rollout/devices?state=failed&limit=100 /api/v1/rollouts/$rollout/devices?limit=100"
pages[device]="/api/v1/devices/$device /api/v1/devices/$device/history"
pages[baseline]="/healthz"
order=(baseline overview devices devices-failed devices-serial rollout device)

# time_page NAME: the seconds of one load of the page (its requests one after the other); each
# request's own time is appended to $work/request-N.times (N: its place in the page's list).
time_page() {
  local total=0 path seconds n=0
  for path in ${pages[$1]}; do
    seconds=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $token" "$url$path")
    [[ ${seconds%% *} == 200 ]] || fail "GET $path answered ${seconds%% *}"
    echo "${seconds#* }" >>"$work/$1-request-$n.times"
    total=$(awk -v a="$total" -v b="${seconds#* }" 'BEGIN { print a + b }')
    n=$((n + 1))
  done
  echo "$total"
}
for page in "${order[@]}"; do time_page "$page" >/dev/null; done  # warm up
rm -f "$work"/*-request-*.times
for ((i = 0; i < runs; i++)); do
  for page in "${order[@]}"; do time_page "$page" >>"$work/$page.times"; done
done

# stat FILE Q: the Q quantile (0..1) of the numbers in FILE, in milliseconds.
stat() { sort -g "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(q * NR + 0.999); if (i < 1) i = 1; printf "%.1f", v[i] * 1000 }'; }

echo
echo "$devices devices registered (in ${registered_s} s), rollout statistics $statistics;" \
  "$runs loads of each page; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| page | requests | median ms | p95 ms | max ms | target p95 < 300 ms |"
echo "|---|---|---:|---:|---:|---|"
for page in "${order[@]}"; do
  p95=$(stat "$work/$page.times" 0.95)
  verdict=$(awk -v v="$p95" 'BEGIN { print (v < 300) ? "met" : "MISSED" }')
  [[ $page == baseline ]] && verdict="(baseline)"
  list=${pages[$page]//$product/P}
  echo "| $page | \`${list// /\` \`}\` | $(stat "$work/$page.times" 0.5) | $p95 | $(stat "$work/$page.times" 1) | $verdict |" |
    sed "s|/api/v1/rollouts/$rollout|/api/v1/rollouts/ID|g; s|/api/v1/devices/$device|/api/v1/devices/ID|g"
done
echo
echo "| request | median ms | p95 ms | max ms |"
echo "|---|---:|---:|---:|"
for page in "${order[@]}"; do
  n=0
  for path in ${pages[$page]}; do
    echo "| \`${path//$product/P}\` | $(stat "$work/$page-request-$n.times" 0.5) | $(stat "$work/$page-request-$n.times" 0.95) | $(stat "$work/$page-request-$n.times" 1) |" |
      sed "s|/api/v1/rollouts/$rollout|/api/v1/rollouts/ID|g; s|/api/v1/devices/$device|/api/v1/devices/ID|g"
    n=$((n + 1))
  done
done
