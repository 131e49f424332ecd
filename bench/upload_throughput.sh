#!/usr/bin/env bash
# Package upload and object download against plain tools: a real updatehub-server (release
# build) on a scratch data directory, a product with a registered key, and a package of one
# random raw object of SIZE_MIB made by updatehub-pkg. Then, in the same run and for REPEAT
# rounds each: `sha256sum` of the package file; the upload (POST /api/v1/packages with curl,
# verified and stored, 201); the object's download as devices fetch it (GET
# /products/P/packages/U/objects/S); and nginx (sendfile on) serving the same object file. The
# package is deleted after each round, so that every upload stores its object anew (the same
# package again would only be checked: 200, nothing stored).
#
#   SIZE_MIB=256 REPEAT=3 bench/upload_throughput.sh
#
# It builds nothing: BUILD_DIR (default build/release) must hold updatehub-server and
# updatehub-pkg. nginx-light is installed from Debian when missing (as root or with sudo,
# saying so).
#
# Environment (defaults in brackets):
#   SIZE_MIB [256]              the object's size
#   REPEAT [3]                  rounds; the table gives the median of each step
#   BUILD_DIR [build/release]   where the binaries are
#   PORT [18496]                the server listens on 127.0.0.1:PORT, nginx on PORT+1
#   DATA_PARENT [$TMPDIR|/tmp]  where the scratch directory goes (the server fsyncs what it
#                               stores, so the disk under it matters)
#   PERF [0]                    1: one more upload under `perf record -g`, and its top functions
#   PERF_DATA []                with PERF=1: keep the profile (perf.data) at this path
#
# Prints a markdown table; the target is an upload at >= 0.5 x the throughput of sha256sum.
# Exits non-zero when a step fails, not when the target is missed (the table says so).
set -euo pipefail

size_mib=${SIZE_MIB:-256}
repeat=${REPEAT:-3}
build=${BUILD_DIR:-build/release}
port=${PORT:-18496}
nginx_port=$((port + 1))
server_pid="" nginx_pid=""

fail() {
  echo "upload_throughput.sh: error: $*" >&2
  exit 1
}

[[ $size_mib =~ ^[1-9][0-9]*$ ]] || fail "SIZE_MIB must be a positive integer"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || fail "REPEAT must be a positive integer"

if [[ ! -x /usr/sbin/nginx ]]; then
  echo "# installing nginx-light (apt-get)" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || fail "not root and no sudo; install: nginx-light"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  # The package may start nginx's own service (port 80); this script needs only the program.
  [[ -s /run/nginx.pid ]] && { "${sudo[@]}" /usr/sbin/nginx -s quit || true; }
fi
for tool in curl jq awk sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
server=$build/src/server/updatehub-server
pkg=$build/src/tools/pkg/updatehub-pkg
for binary in "$server" "$pkg"; do
  [[ -x $binary ]] || fail "$binary not found: build it first (cmake --build $build)"
done

parent=${DATA_PARENT:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$parent/uh-upload-bench.XXXXXX")
stop() {  # stop PID: ends one process this script started, and waits for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  [[ -n $nginx_pid ]] && stop "$nginx_pid"
  [[ -n $server_pid ]] && stop "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server: one client on 127.0.0.1, so the per-address limits are off.
url=http://127.0.0.1:$port
export UPDATEHUB_ADMIN_PASSWORD=bench-$RANDOM$RANDOM
cat >"$work/server.toml" <<'TOML'
max_connections_per_address = 0
requests_per_second_per_address = 0
TOML
"$server" -c "$work/server.toml" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --log-level warn --no-access-log >"$work/server.log" 2>&1 &
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
product=$(api POST /api/v1/products -d '{"name": "upload benchmark"}' | jq -r .uid)
"$pkg" keygen --out "$work/keys" --bits 2048 >/dev/null
api POST "/api/v1/products/$product/keys" \
  -d "$(jq -n --rawfile k "$work/keys/key.pub" '{name: "bench", public_key: $k}')" >/dev/null

mkdir -p "$work/nginx/html" "$work/nginx/tmp"
object_file=$work/nginx/html/rootfs.img
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$object_file"
"$pkg" create --product "$product" --version 2.0 --hardware board-a \
  --object "$object_file,mode=raw,target=/dev/mmcblk0p2" \
  --key "$work/keys/key.pem" -o "$work/update.uhupkg" >/dev/null
package_bytes=$(stat -c %s "$work/update.uhupkg")
object=$(sha256sum "$object_file" | cut -d' ' -f1)

# nginx: a scratch configuration, its files and its pid in the scratch directory.
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"  # the files are in a directory only we can read
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/html;
  }
}
CONF
/usr/sbin/nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port/rootfs.img
for _ in $(seq 50); do
  curl -sf -o /dev/null -r 0-0 "$nginx_url" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/error.log" >&2; fail "nginx exited"; }
  sleep 0.1
done
curl -sf -o /dev/null -r 0-0 "$nginx_url" || fail "nginx does not serve $nginx_url"

load() { cut -d' ' -f1-3 /proc/loadavg; }
seconds() {  # seconds COMMAND...: runs it, prints its wall-clock time
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}
upload() {  # upload: POST the package; fails unless it is stored anew (201)
  local status
  status=$(curl -sS -o "$work/upload.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/octet-stream' -X POST -T "$work/update.uhupkg" \
    "$url/api/v1/packages")
  [[ $status == 201 ]] || fail "upload answered $status: $(cat "$work/upload.json")"
}
download() {  # download URL: GET it whole, failing on HTTP errors, and check its size
  local got
  got=$(curl -sS --fail -o /dev/null -w '%{size_download}' "$1")
  [[ $got == $((size_mib * 1024 * 1024)) ]] || fail "$1: $got bytes"
}

echo "# upload_throughput.sh: a ${size_mib} MiB object, package $package_bytes bytes," \
  "$repeat rounds, $(nproc) cores, load average $(load)" >&2
: >"$work/times"
for round in $(seq "$repeat"); do
  echo "sha256sum $(seconds sha256sum "$work/update.uhupkg")" >>"$work/times"
  echo "upload $(seconds upload)" >>"$work/times"
  uid=$(jq -r .uid "$work/upload.json")
  [[ -f $work/data/objects/${object:0:2}/$object ]] || fail "the object is not in the store"
  echo "download $(seconds download "$url/products/$product/packages/$uid/objects/$object")" \
    >>"$work/times"
  echo "nginx $(seconds download "$nginx_url")" >>"$work/times"
  api DELETE "/api/v1/packages/$uid" >/dev/null
  echo "# round $round: $(awk -v r="$round" '{ n[$1]++; if (n[$1] == r) printf "%s %s s  ", $1, $2 }' \
    "$work/times")" >&2
done
load_after=$(load)

median() {  # median STEP: of its rounds
  awk -v s="$1" '$1 == s { print $2 }' "$work/times" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sha=$(median sha256sum)
up=$(median upload)
down=$(median download)
ngx=$(median nginx)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb_s() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.0f", bytes / s / 1e6 }'; }
upload_ratio=$(ratio "$sha" "$up")
object_bytes=$((size_mib * 1024 * 1024))

echo
echo "A ${size_mib} MiB random raw object, package $package_bytes bytes; median of $repeat rounds;" \
  "$(nproc) CPUs; load average after $load_after; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| step | median s | MB/s | relative |"
echo "|---|---:|---:|---|"
echo "| \`sha256sum\` of the package | $sha | $(mb_s "$package_bytes" "$sha") | 1 |"
echo "| upload, verified and stored (201) | $up | $(mb_s "$package_bytes" "$up") | $upload_ratio x the throughput of \`sha256sum\` |"
echo "| nginx (sendfile), the object file | $ngx | $(mb_s "$object_bytes" "$ngx") | 1 |"
echo "| object download from the server | $down | $(mb_s "$object_bytes" "$down") | $(ratio "$ngx" "$down") x the throughput of nginx |"
echo
verdict=$(awk -v r="$upload_ratio" 'BEGIN { print (r >= 0.5) ? "met" : "MISSED" }')
echo "Target: upload >= 0.5 x the throughput of \`sha256sum\`: $upload_ratio x, $verdict."

if [[ ${PERF:-0} == 1 ]] && command -v perf >/dev/null; then
  perf record -q -F 999 -g -p "$server_pid" -o "$work/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
  upload
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  echo
  echo "The server's CPU during one more upload (perf, self time): by library, then the top functions"
  echo '```'
  for sort in dso:8 symbol:25; do
    # awk reads all of perf's output (head would end it early: SIGPIPE, and pipefail).
    perf report -i "$work/perf.data" --no-children --sort "${sort%:*}" --stdio 2>/dev/null |
      awk -v n="${sort#*:}" '/^ +[0-9.]+%/ && shown++ < n {
        $1 = $1; sub(/ - -$/, ""); print substr($0, 1, 110) }'
  done
  echo '```'
  if [[ -n ${PERF_DATA:-} ]]; then cp "$work/perf.data" "$PERF_DATA"; fi
fi
