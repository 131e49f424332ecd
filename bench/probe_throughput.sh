#!/usr/bin/env bash
# Device probes against nginx: a real updatehub-server (release build) on SQLite or PostgreSQL
# with DEVICES simulated devices registered (updatehub-sim: every device probes once) and a
# 3-stage rollout running, then wrk sends probes (POST /upgrades, bench/probe.lua: a random
# registered device each, the body updatehub-sim sends) for DURATION. The baseline, in the same
# run and with the same wrk settings: nginx serving a static 1.3 KB file.
#
#   STORE=sqlite|postgresql DEVICES=100000 DURATION=30s bench/probe_throughput.sh
#
# It builds nothing: BUILD_DIR (default build/release) must hold updatehub-server,
# updatehub-pkg and updatehub-sim. wrk and nginx-light are installed from Debian when missing
# (as root or with sudo, saying so).
#
# Environment (defaults in brackets):
#   STORE [sqlite]              sqlite (in the scratch directory) or postgresql (a throwaway
#                               server, tests/support/postgres_cluster.sh)
#   DEVICES [100000]            the fleet registered before the probes
#   DURATION [30s]              each wrk run (wrk's syntax: 30s, 2m)
#   WARMUP [5s]                 an uncounted wrk run before each measured one
#   THREADS [2]  CONNECTIONS [64]   wrk's -t and -c
#   SERVER_THREADS [0]          the server's --threads (0: one per core)
#   BUILD_DIR [build/release]   where the binaries are
#   PORT [18494]                the server listens on 127.0.0.1:PORT, nginx on PORT+1
#   DATA_PARENT [$TMPDIR|/tmp]  where the scratch directory goes
#   PERF [0]                    1: record the server's CPU profile (perf) during the probes and
#                               print its top functions
#   PERF_OUT []                 with PERF=1: also copy the profile (perf.data) to this path
#
# Prints a markdown table; the targets are throughput >= 0.5 x nginx's and p99 under 10 ms
# (SQLite) or 20 ms (PostgreSQL). Exits non-zero when a step fails, not when a target is missed
# (the table says so).
set -euo pipefail

store=${STORE:-sqlite}
devices=${DEVICES:-100000}
duration=${DURATION:-30s}
warmup=${WARMUP:-5s}
wrk_threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
server_threads=${SERVER_THREADS:-0}
build=${BUILD_DIR:-build/release}
port=${PORT:-18494}
nginx_port=$((port + 1))
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
server_pid="" nginx_pid="" pg_state=""

fail() {
  echo "probe_throughput.sh: error: $*" >&2
  exit 1
}

case $store in
  sqlite) p99_target=10 ;;
  postgresql) p99_target=20 ;;
  *) fail "STORE must be sqlite or postgresql" ;;
esac
[[ $devices =~ ^[1-9][0-9]*$ ]] || fail "DEVICES must be a positive integer"
[[ $duration =~ ^[1-9][0-9]*[smh]?$ ]] || fail "DURATION must be like 30s"
[[ $warmup =~ ^[0-9]+[smh]?$ ]] || fail "WARMUP must be like 5s (0 for none)"
[[ $server_threads =~ ^[0-9]+$ ]] || fail "SERVER_THREADS must be a number"

# wrk and nginx from Debian, as scripts/deps.sh installs packages.
need=()
command -v wrk >/dev/null || need+=(wrk)
[[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "# installing ${need[*]} (apt-get)" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || fail "not root and no sudo; install: ${need[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start nginx's own service (port 80) where services start on install; this
  # script needs only the program.
  if [[ " ${need[*]} " == *" nginx-light "* && -s /run/nginx.pid ]]; then
    "${sudo[@]}" /usr/sbin/nginx -s quit || true
  fi
fi
for tool in curl jq awk wrk psql; do
  [[ $tool == psql && $store != postgresql ]] && continue
  command -v "$tool" >/dev/null || fail "$tool not found"
done
server=$build/src/server/updatehub-server
pkg=$build/src/tools/pkg/updatehub-pkg
sim=$build/src/tools/sim/updatehub-sim
for binary in "$server" "$pkg" "$sim"; do
  [[ -x $binary ]] || fail "$binary not found: build it first (cmake --build $build)"
done

parent=${DATA_PARENT:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$parent/uh-probe-bench.XXXXXX")
stop() {  # stop PID: ends one process this script started, and waits for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  [[ -n $nginx_pid ]] && stop "$nginx_pid"
  [[ -n $server_pid ]] && stop "$server_pid"
  [[ -n $pg_state ]] && { "$root/tests/support/postgres_cluster.sh" stop "$pg_state" || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The store.
database=()
if [[ $store == postgresql ]]; then
  pg_state=$work/postgres
  "$root/tests/support/postgres_cluster.sh" start "$pg_state" 2>"$work/postgres.log" ||
    { cat "$work/postgres.log" >&2; fail "PostgreSQL did not start"; }
  pg_host=$(cat "$pg_state/host")
  psql -q -h "$pg_host" -U uh postgres -c 'CREATE DATABASE bench' >/dev/null ||
    fail "cannot create the database"
  database=(--database "postgresql:///bench?host=$pg_host&user=uh")
fi

# The server. The whole simulated fleet comes from 127.0.0.1: the per-address limits and the
# new-device quota, meant for real fleets, are off here.
url=http://127.0.0.1:$port
export UPDATEHUB_ADMIN_PASSWORD=bench-$RANDOM$RANDOM
cat >"$work/server.toml" <<'TOML'
max_connections_per_address = 0
requests_per_second_per_address = 0
new_devices_per_product_per_minute = 0
TOML
threads_option=()
[[ $server_threads -gt 0 ]] && threads_option=(--threads "$server_threads")
"$server" -c "$work/server.toml" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  "${database[@]}" "${threads_option[@]}" --log-level warn --no-access-log \
  >"$work/server.log" 2>&1 &
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
product=$(api POST /api/v1/products -d '{"name": "probe benchmark"}' | jq -r .uid)
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

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# probe_throughput.sh: $store, $devices devices, $(nproc) cores, load average $(load)" >&2
echo "# registering the fleet: every device probes once" >&2
start=$(date +%s.%N)
"$sim" --server "$url" --devices "$devices" --product "$product" --hardware board-a \
  --version 1.0 --key "$work/keys/key.pub" --connections 64 --poll-interval 86400 --jitter 5 \
  --until-version 1.0 --timeout 900 >"$work/register.txt" ||
  { cat "$work/register.txt" >&2; fail "not every device could register"; }
registered_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
device_total() { api GET "/api/v1/devices?limit=1" | jq -r '.total // empty'; }
total=$(device_total)
[[ $total == "$devices" ]] || fail "the server counts ${total:-no} devices, not $devices"
rollout=$(api POST "/api/v1/products/$product/rollouts" \
  -d "{\"package\": \"$package\", \"stages\": [10, 50, 100], \"failure_threshold\": {\"percent\": 50}}" |
  jq -r .id)
[[ $rollout =~ ^[0-9]+$ ]] || fail "no rollout created"

# nginx: a scratch configuration, its files and its pid in the scratch directory.
mkdir -p "$work/nginx/html" "$work/nginx/tmp"
awk 'BEGIN { for (i = 0; i < 1300; i++) printf "%c", 97 + i % 26 }' >"$work/nginx/html/file.txt"
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"  # the files are in a directory only we can read
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/html;
  }
}
CONF
/usr/sbin/nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port/file.txt
for _ in $(seq 50); do
  curl -sf -o /dev/null "$nginx_url" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/error.log" >&2; fail "nginx exited"; }
  sleep 0.1
done
[[ $(curl -sf "$nginx_url" | wc -c) -eq 1300 ]] || fail "nginx does not serve $nginx_url"

# cpu_ticks PID: user + system clock ticks of a process so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# busy_ticks: ticks all CPUs spent, and ticks in all, so far (/proc/stat).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# store_ticks: the same for PostgreSQL's processes (its pooled backends, its writers); 0 on SQLite.
store_ticks() {
  local postmaster
  [[ -n $pg_state ]] || { echo 0; return; }
  postmaster=$(head -1 "$(cat "$pg_state/host")/data/postmaster.pid")
  # Fields after the command name, which may hold spaces: state, ppid, ..., utime, stime.
  awk -v p="$postmaster" '{ pid = $1; sub(/.*\) /, ""); split($0, f, " ") }
    pid == p || f[2] == p { t += f[12] + f[13] } END { print t + 0 }' /proc/[0-9]*/stat \
    2>/dev/null || true
}
hz=$(getconf CLK_TCK)

# measure NAME URL [probe]: warm-up, then the measured wrk run; writes $work/NAME.summary (the
# wrk-summary line), NAME.wrk (wrk's output) and NAME.cpu (the cores the server and PostgreSQL
# used, the machine's busy share, the load average at the end).
measure() {
  local name=$1 target=$2 probing=${3:-}
  local -a env=(env PROBE_PRODUCT=)
  [[ -n $probing ]] && env=(env PROBE_PRODUCT="$product" PROBE_DEVICES="$devices")
  local -a run=(wrk -t"$wrk_threads" -c"$connections" --latency -s "$here/probe.lua")
  if [[ $warmup != 0* ]]; then
    "${env[@]}" "${run[@]}" -d "$warmup" "$target" >"$work/$name.warmup" ||
      { cat "$work/$name.warmup" >&2; fail "wrk failed ($name, warm-up)"; }
  fi
  local server_before store_before busy_before start_ns perf_pid=""
  server_before=$(cpu_ticks "$server_pid")
  store_before=$(store_ticks)
  busy_before=$(busy_ticks)
  start_ns=$(date +%s%N)
  if [[ ${PERF:-0} == 1 && -n $probing ]] && command -v perf >/dev/null; then
    perf record -q -F 499 -g -p "$server_pid" -o "$work/perf.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  "${env[@]}" "${run[@]}" -d "$duration" "$target" >"$work/$name.wrk" ||
    { cat "$work/$name.wrk" >&2; fail "wrk failed ($name)"; }
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  grep '^wrk-summary ' "$work/$name.wrk" >"$work/$name.summary" ||
    { cat "$work/$name.wrk" >&2; fail "no summary from wrk ($name)"; }
  awk -v s0="$server_before" -v s1="$(cpu_ticks "$server_pid")" -v d0="$store_before" \
    -v d1="$(store_ticks)" -v b0="$busy_before" -v b1="$(busy_ticks)" -v t0="$start_ns" \
    -v t1="$(date +%s%N)" -v hz="$hz" -v load="$(load)" \
    'BEGIN { split(b0, a); split(b1, b); secs = (t1 - t0) / 1e9
             printf "server_cores=%.2f store_cores=%.2f machine_busy=%.0f load=\"%s\"\n",
                    (s1 - s0) / hz / secs, (d1 - d0) / hz / secs,
                    100 * (b[1] - a[1]) / (b[2] - a[2]), load }' >"$work/$name.cpu"
}

echo "# probes: wrk -t$wrk_threads -c$connections -d $duration --latency -s bench/probe.lua $url/upgrades" >&2
measure server "$url/upgrades" probe
echo "# baseline: the same wrk against nginx, $nginx_url" >&2
measure nginx "$nginx_url"
after=$(device_total)
[[ $after == "$devices" ]] || fail "the server counts ${after:-no} devices after the probes, not $devices: the probes were not of the registered devices"

field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$work/$1"; }
for name in server nginx; do
  [[ $(field "$name.summary" socket_errors) == 0 ]] ||
    echo "# warning: $name: $(field "$name.summary" socket_errors) socket errors (wrk)" >&2
done
[[ $(field server.summary status_other) == 0 ]] ||
  fail "$(field server.summary status_other) probes answered neither 200 nor 404 (see $work/server.log)"
[[ $(field nginx.summary status_other) == 0 ]] || fail "nginx answered errors"
probed=$(field server.summary requests)
offered=$(field server.summary status_200)
[[ $offered -gt 0 ]] || fail "no probe was offered the package: the rollout is not in the path"

ratio=$(awk -v a="$(field server.summary rps)" -v b="$(field nginx.summary rps)" 'BEGIN { printf "%.2f", a / b }')
p99=$(field server.summary p99_ms)
verdict() { awk -v ok="$1" 'BEGIN { print ok ? "met" : "MISSED" }'; }

echo
echo "$store, $devices devices (registered in ${registered_s} s), a rollout of stages [10, 50, 100]" \
  "at its first stage; wrk -t$wrk_threads -c$connections -d $duration; $(nproc) CPUs;" \
  "$(date -u +%Y-%m-%dT%H:%MZ)"
echo
server_cpu() {  # the server's cores during a run, and PostgreSQL's
  [[ $1 == server ]] || { echo -; return; }
  echo "$(field server.cpu server_cores)$([[ -n $pg_state ]] && echo " + PostgreSQL $(field server.cpu store_cores)")"
}
echo "| target | requests/s | p50 ms | p99 ms | answers | server CPU (cores) | machine busy | load average after |"
echo "|---|---:|---:|---:|---|---:|---:|---|"
for name in server nginx; do
  if [[ $name == server ]]; then
    label="updatehub-server \`POST /upgrades\` ($store)"
    answers="$offered offered (200), $(field server.summary status_404) nothing (404)"
  else
    label="nginx, static 1.3 KB file"
    answers="$(field nginx.summary status_200) x 200"
  fi
  printf '| %s | %.0f | %s | %s | %s | %s | %s %% | %s |\n' "$label" \
    "$(field "$name.summary" rps)" "$(field "$name.summary" p50_ms)" \
    "$(field "$name.summary" p99_ms)" "$answers" \
    "$(server_cpu "$name")" \
    "$(field "$name.cpu" machine_busy)" "$(sed 's/.*load="\(.*\)"/\1/' "$work/$name.cpu")"
done
echo
echo "| target | measured | |"
echo "|---|---:|---|"
echo "| throughput >= 0.5 x nginx | ${ratio} x | $(verdict "$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5) }')") |"
echo "| p99 < $p99_target ms ($store) | $p99 ms | $(verdict "$(awk -v p="$p99" -v t="$p99_target" 'BEGIN { print (p < t) }')") |"
echo
echo "The device total stayed $after over $probed probes."

if [[ -f $work/perf.data ]]; then
  [[ -z ${PERF_OUT:-} ]] || cp "$work/perf.data" "$PERF_OUT"
  echo
  echo "The server's CPU during the probes (perf, self time): by library, then the top functions"
  echo '```'
  for sort in dso:8 symbol:25; do
    perf report -i "$work/perf.data" --no-children --sort "${sort%:*}" --stdio 2>/dev/null |
      awk '/^ +[0-9.]+%/ { $1 = $1; sub(/ - -$/, ""); print substr($0, 1, 110) }' |
      head -"${sort#*:}"
  done
  echo '```'
fi
