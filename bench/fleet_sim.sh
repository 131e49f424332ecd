#!/usr/bin/env bash
# Fleet benchmark: a real updatehub-server (release build) and updatehub-sim with many devices
# through a whole rollout. The script makes a product, a signing key, a package with one small
# raw object (two installation sets) and a staged rollout through the REST API, then runs the
# simulated fleet until every device runs the new version, and prints the simulator's summary,
# the rollout's statistics, and the server's peak RSS and CPU time.
#
#   bench/fleet_sim.sh [DEVICES]          (default 100000)
#
# It builds nothing: BUILD_DIR (default build/release) must hold updatehub-server,
# updatehub-pkg and updatehub-sim (cmake --build build/release --target updatehub-server
# updatehub-pkg updatehub-sim).
#
# Environment (defaults in brackets):
#   BUILD_DIR [build/release]   where the binaries are
#   PORT [18480]                the server listens on 127.0.0.1:PORT
#   DATA_PARENT [$TMPDIR|/tmp]  where the scratch directory (server data, package) goes; the
#                               server fsyncs every write, so the disk under it matters
#   OBJECT_KIB [64]             size of the package's object
#   STAGES ['[10, 50, 100]']    the rollout's stages (JSON)
#   POLL [120]                  seconds between probes of a device
#   JITTER [60]                 the fleet boots within JITTER seconds; waits are POLL +/- JITTER
#   CONNECTIONS [64]            HTTP connections of the simulator
#   TIMEOUT [900]               the simulator gives up after this many seconds
#   PROGRESS [10]               seconds between progress lines
#   SERVER_THREADS [0]          server worker threads (0: one per core)
#   REGISTER [0]                1: every device probes once first (a run of the simulator
#                               until each device was answered), then the rollout takes every
#                               device of the product; 0: the rollout selects by hardware and
#                               devices join it as they first probe
#
# Exits with the simulator's status (0 when every device updated).
set -euo pipefail

devices=${1:-100000}
build=${BUILD_DIR:-build/release}
port=${PORT:-18480}
object_kib=${OBJECT_KIB:-64}
stages=${STAGES:-[10, 50, 100]}
poll=${POLL:-120}
jitter=${JITTER:-60}
connections=${CONNECTIONS:-64}
timeout=${TIMEOUT:-900}
progress=${PROGRESS:-10}
threads=${SERVER_THREADS:-0}
register=${REGISTER:-0}
server_pid=""

fail() {
  echo "fleet_sim.sh: error: $*" >&2
  exit 1
}

[[ $devices =~ ^[1-9][0-9]*$ ]] || fail "DEVICES must be a positive integer"
for tool in curl jq; do command -v "$tool" >/dev/null || fail "$tool not found"; done
server=$build/src/server/updatehub-server
pkg=$build/src/tools/pkg/updatehub-pkg
sim=$build/src/tools/sim/updatehub-sim
for binary in "$server" "$pkg" "$sim"; do
  [[ -x $binary ]] || fail "$binary not found: build it first (see the top of this script)"
done

parent=${DATA_PARENT:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$parent/uh-fleet-bench.XXXXXX")
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

url=http://127.0.0.1:$port
echo "# fleet_sim.sh: $devices devices, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

export UPDATEHUB_ADMIN_PASSWORD=bench-$RANDOM$RANDOM
# Every simulated device comes from 127.0.0.1 and the whole fleet enrols within seconds: the
# per-address limits and the new-device quota, meant for real fleets, are off here.
cat >"$work/server.toml" <<'TOML'
max_connections_per_address = 0
requests_per_second_per_address = 0
new_devices_per_product_per_minute = 0
TOML
"$server" -c "$work/server.toml" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --log-level warn --threads "$threads" >"$work/server.log" 2>&1 &
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
product=$(api POST /api/v1/products -d '{"name": "fleet benchmark"}' | jq -r .uid)

"$pkg" keygen --out "$work/keys" --bits 2048 >/dev/null
api POST "/api/v1/products/$product/keys" \
  -d "$(jq -n --rawfile k "$work/keys/key.pub" '{name: "bench", public_key: $k}')" >/dev/null
head -c $((object_kib * 1024)) /dev/urandom >"$work/rootfs.img"
"$pkg" create --product "$product" --version 2.0 --hardware board-a \
  --object "$work/rootfs.img,mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3" \
  --key "$work/keys/key.pem" -o "$work/update.uhupkg" >/dev/null
package=$(curl -sS --fail-with-body -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/octet-stream' --data-binary "@$work/update.uhupkg" \
  "$url/api/v1/packages" | jq -r .uid)
fleet=("$sim" --server "$url" --devices "$devices" --product "$product" --hardware board-a
  --version 1.0 --key "$work/keys/key.pub" --jitter "$jitter" --connections "$connections"
  --timeout "$timeout" --progress "$progress")
selection='"filter": {"hardware": ["board-a"]},'
if [[ $register == 1 ]]; then
  # Devices at 1.0 are "at the goal" once a probe of theirs was answered.
  echo "# registering the fleet: every device probes once"
  "${fleet[@]}" --poll-interval 86400 --until-version 1.0 >"$work/register.txt" ||
    { cat "$work/register.txt"; fail "not every device could register"; }
  grep '^elapsed' "$work/register.txt"
  selection=""
fi
rollout=$(api POST "/api/v1/products/$product/rollouts" \
  -d "{\"package\": \"$package\", $selection \"stages\": $stages}" | jq -r .id)
echo "# product $product, package $package (${object_kib} KiB object), rollout $rollout"

command=("${fleet[@]}" --poll-interval "$poll" --until-version 2.0 --json)
echo "# ${command[*]}" | sed "s|$work|\$WORK|g"
status=0
/usr/bin/time -f '%e %M %U %S' -o "$work/sim.time" "${command[@]}" >"$work/summary.json" ||
  status=$?

read -r _ _ server_ticks_user server_ticks_system < <(
  awk '{print $1, $2, $14, $15}' "/proc/$server_pid/stat")
ticks=$(getconf CLK_TCK)
server_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
# GNU time writes "Command exited with non-zero status N" first when the goal was missed.
read -r sim_wall sim_hwm sim_user sim_system < <(tail -n 1 "$work/sim.time")

echo "## simulator summary"
jq . "$work/summary.json"
echo "## rollout"
api GET "/api/v1/rollouts/$rollout" |
  jq -c '{state, reason, current_stage, total: .statistics.total,
          states: (.statistics.states | map_values(.count))}'
echo "## resources"
printf 'server: peak RSS %d MiB, CPU %.1f s user + %.1f s system\n' $((server_hwm / 1024)) \
  "$(awk -v t="$server_ticks_user" -v hz="$ticks" 'BEGIN {print t / hz}')" \
  "$(awk -v t="$server_ticks_system" -v hz="$ticks" 'BEGIN {print t / hz}')"
printf 'simulator: peak RSS %d MiB, CPU %.1f s user + %.1f s system, wall %.1f s\n' \
  $((sim_hwm / 1024)) "$sim_user" "$sim_system" "$sim_wall"
echo "server data directory: $(du -sh "$work/data" | cut -f1) (SQLite database and objects)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
