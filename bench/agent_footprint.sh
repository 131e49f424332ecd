#!/usr/bin/env bash
# Agent footprint: the stripped size of the `updatehub` binary, its resident memory when idle
# (polling, nothing to install) and while it downloads and installs a 256 MiB raw image into a
# file standing in for a partition, with baselines measured in the same run: `sleep` and a
# minimal C++ program as the floor of idle RSS, `curl` fetching the same object from the same
# server, and `dd` writing the same image to the same kind of target. Prints markdown tables.
#
#   bench/agent_footprint.sh [BUILD_DIR] [WORK_DIR]
#
#   BUILD_DIR  a configured build directory (default build/release); the targets updatehub,
#              updatehub-server and updatehub-pkg are built in it when missing
#   WORK_DIR   where to make the scratch directory (default $TMPDIR or /tmp); it needs about
#              5 x the image size free, and the scratch directory is removed at exit
#
# Environment:
#   UH_RUNSTAT         the uh_runstat helper (default BUILD_DIR/bench/uh_runstat; compiled from
#                      bench/runstat.cpp into the scratch directory when absent)
#   UH_BENCH_SIZE_MIB  image size in MiB (default 256)
#   UH_BENCH_STREAM    1: the agent streams the image into the slot while downloading it
#                      (update.stream_objects), with no copy in its download directory;
#                      piped: the package holds the image gzip-compressed (gzip -1), which the
#                      agent pipes into the raw installer while downloading it; the pipeline
#                      baseline is then `curl | gzip -dc | dd` (otherwise `curl | dd`)
#
# Memory figures are the kernel's: VmRSS and VmHWM (peak) from /proc/PID/status, or ru_maxrss
# for commands run under uh_runstat. While the agent installs, VmRSS is also sampled every
# 50 ms. Exits non-zero if a step fails, not when a target is missed (the tables say so).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
size_mib=${UH_BENCH_SIZE_MIB:-256}
stream=${UH_BENCH_STREAM:-0}
product=$(printf '%064d' 0 | tr 0 b)
pids=()

fail() {
  echo "agent_footprint.sh: error: $*" >&2
  exit 1
}

[[ $size_mib =~ ^[1-9][0-9]*$ ]] || fail "UH_BENCH_SIZE_MIB must be a positive integer"
[[ $stream == 0 || $stream == 1 || $stream == piped ]] || fail "UH_BENCH_STREAM must be 0, 1 or piped"
stream_objects=false
[[ $stream != 0 ]] && stream_objects=true
for tool in curl strip size stat cmp g++ objdump ldd pgrep gzip; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
agent=$build/src/tools/agent/updatehub
worker=$build/src/tools/agent/updatehub-worker
server=$build/src/server/updatehub-server
pkg=$build/src/tools/pkg/updatehub-pkg
if [[ ! -x $agent || ! -x $worker || ! -x $server || ! -x $pkg ]]; then
  [[ -f $build/build.ninja || -f $build/Makefile ]] || fail "$build is not a configured build"
  echo "Building updatehub, updatehub-worker, updatehub-server, updatehub-pkg in $build ..." >&2
  cmake --build "$build" --target updatehub updatehub-worker updatehub-server updatehub-pkg >&2
fi

parent=${2:-${TMPDIR:-/tmp}}
mkdir -p "$parent"
work=$(mktemp -d "$parent/uh-footprint.XXXXXX")
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

need_kib=$(((5 * size_mib + 64) * 1024))
free_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
((free_kib >= need_kib)) || fail "$work has $((free_kib / 1024)) MiB free, needs $((need_kib / 1024))"

runstat=${UH_RUNSTAT:-$build/bench/uh_runstat}
if [[ ! -x $runstat ]]; then
  runstat=$work/uh_runstat
  g++ -O2 -std=c++2b -o "$runstat" "$repo/bench/runstat.cpp" || fail "cannot compile runstat.cpp"
fi

# status_kib PID FIELD: a field of /proc/PID/status (VmRSS, VmHWM) in KiB.
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# rollup_kib PID FIELD: a field of /proc/PID/smaps_rollup (Pss, Private_Dirty...) in KiB.
rollup_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# wait_log FILE TEXT SECONDS [PID]: waits until FILE contains TEXT (while PID lives).
wait_log() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    [[ -z ${4:-} ]] || kill -0 "$4" 2>/dev/null || break
    sleep 0.1
  done
  echo "--- $1:" >&2
  tail -n 30 "$1" >&2
  fail "'$2' did not appear in $1 within $3 s"
}
# log_time FILE TEXT: the time stamp (seconds) of the first line of FILE containing TEXT.
log_time() {
  local stamp
  stamp=$(grep -F -m1 -- "$2" "$1" | cut -d' ' -f1)
  [[ -n $stamp ]] || fail "no '$2' in $1"
  date -d "$stamp" +%s.%N
}
# stat_field FILE FIELD: one value of a uh_runstat line.
stat_field() { sed -n "s/.*\<$2=\([0-9.]*\).*/\1/p" "$1"; }

# --- Binary size --------------------------------------------------------------------------
# The stripped copies run, side by side as installed: what a device would ship.
mkdir -p "$work/bin"
strip -o "$work/bin/updatehub" "$agent"
strip -o "$work/bin/updatehub-worker" "$worker"
binary_bytes=$(stat -c %s "$work/bin/updatehub")
worker_bytes=$(stat -c %s "$work/bin/updatehub-worker")
read -r text_bytes data_bytes bss_bytes _ < <(size "$work/bin/updatehub" | awk 'NR == 2')
shared_libs=$(ldd "$agent" | grep -c '=>' || true)
worker_libs=$(ldd "$worker" | grep -c '=>' || true)

# --- Idle floors: sleep, and a C++ program that links libstdc++ and waits --------------------
sleep 600 &
sleep_pid=$!
pids+=("$sleep_pid")
printf '#include <iostream>\n#include <unistd.h>\nint main() { std::cout << "ready" << std::endl; pause(); }\n' \
  >"$work/hello.cpp"
g++ -O2 -o "$work/hello" "$work/hello.cpp"
"$work/hello" >"$work/hello.out" &
hello_pid=$!
pids+=("$hello_pid")
# The same program with the agent's own shared libraries (and so all they pull in) loaded,
# relocated and initialised: what the agent's libraries cost before any agent code runs.
needed=$(objdump -p "$agent" | awk '$1 == "NEEDED" { printf "%s ", $2 }')
LD_PRELOAD=$needed "$work/hello" >"$work/libs.out" &
libs_pid=$!
pids+=("$libs_pid")
wait_log "$work/hello.out" ready 10
wait_log "$work/libs.out" ready 10
sleep 0.5
sleep_rss=$(status_kib "$sleep_pid" VmRSS)
hello_rss=$(status_kib "$hello_pid" VmRSS)
libs_rss=$(status_kib "$libs_pid" VmRSS)

# --- Server, product, key --------------------------------------------------------------------
export UPDATEHUB_ADMIN_PASSWORD=footprint-bench-password
"$server" --listen 127.0.0.1:0 --data-dir "$work/server" --threads 2 >"$work/server.log" 2>&1 &
pids+=("$!")
wait_log "$work/server.log" "(port " 30 "${pids[-1]}"
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n1)
base=http://127.0.0.1:$port
token=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$UPDATEHUB_ADMIN_PASSWORD\"}" "$base/api/v1/login" |
  sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
[[ -n $token ]] || fail "cannot log in to the server"
# api METHOD PATH [JSON]: a management API call; prints the body, fails on a non-2xx status.
api() {
  curl -sf -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$base$2" || fail "$1 $2 failed"
}
"$pkg" keygen --out "$work" --bits 2048 >/dev/null
api POST /api/v1/products "{\"uid\":\"$product\",\"name\":\"footprint\"}" >/dev/null
pem=$(awk '{ printf "%s\\n", $0 }' "$work/key.pub")
api POST "/api/v1/products/$product/keys" "{\"name\":\"bench\",\"public_key\":\"$pem\"}" >/dev/null

# --- A device: metadata, stand-in slots, file-backed A/B env ---------------------------------
dev=$work/device
mkdir -p "$dev/metadata/device-identity.d" "$dev/root/dev" "$dev/var"
script() { printf '#!/bin/sh\n%s\n' "$2" >"$1" && chmod +x "$1"; }
script "$dev/metadata/product-uid" "echo $product"
script "$dev/metadata/version" "echo 1.0"
script "$dev/metadata/hardware" "echo board-a"
script "$dev/metadata/device-identity.d/serial" "echo serial=footprint-1"
cp "$work/key.pub" "$dev/metadata/key.pub"
: >"$dev/root/dev/slot0"
: >"$dev/root/dev/slot1"
cat >"$dev/updatehub.conf" <<EOF
[network]
server_address = "$base"
listen_socket = "127.0.0.1:0"  # any free port; the agent logs which
[storage]
runtime_settings = "$dev/var/runtime_settings.conf"
state_file = "$dev/var/state.json"
[polling]
enabled = true
interval = "1h"
jitter_percent = 0
[update]
download_dir = "$dev/download"
supported_install_modes = ["raw"]
target_root = "$dev/root"
reboot_command = ["true"]
slot_commands_dir = "$repo/dist/ab/file"
stream_objects = $stream_objects
[firmware]
metadata = "$dev/metadata"
EOF

echo "Idle: agent polling a server with nothing to install ..." >&2
UPDATEHUB_AB_ENV=$dev/abenv "$work/bin/updatehub" daemon -c "$dev/updatehub.conf" -v info >"$dev/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_log "$dev/agent.log" "probe --no update--> poll" 30 "$agent_pid"
api_port=$(sed -n 's/.*local API on port \([0-9]*\).*/\1/p' "$dev/agent.log" | head -n1)
sleep 3
idle_rss=$(status_kib "$agent_pid" VmRSS)
idle_hwm=$(status_kib "$agent_pid" VmHWM)
idle_anon=$(status_kib "$agent_pid" RssAnon)
idle_file=$(status_kib "$agent_pid" RssFile)
idle_pss=$(rollup_kib "$agent_pid" Pss)
idle_private=$(($(rollup_kib "$agent_pid" Private_Clean) + $(rollup_kib "$agent_pid" Private_Dirty)))
idle_threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$agent_pid/status")
# Where the idle RSS is: resident KiB per mapped file ([heap], [stack], anonymous included).
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]" }
     $1 == "Rss:" { rss[name] += $2 }
     END { for (n in rss) if (rss[n] > 0) printf "%d %s\n", rss[n], n }' \
  "/proc/$agent_pid/smaps" | sort -rn >"$work/idle-mappings"

# --- The update: a raw image into a file target ----------------------------------------------
echo "Preparing a ${size_mib} MiB raw package ..." >&2
image=$work/image.bin
head -c "${size_mib}M" /dev/urandom >"$image"
shipped=$image
if [[ $stream == piped ]]; then
  shipped=$work/image.bin.gz
  gzip -1 -c "$image" >"$shipped"
fi
created=$("$pkg" create --product "$product" --version 2.0 --hardware board-a \
  --object "$shipped,mode=raw,target=/dev/slot0,b.target=/dev/slot1" --key "$work/key.pem" \
  -o "$work/update.uhupkg")
uid=$(sed -n 's/^uid: *\([0-9a-f]*\).*/\1/p' <<<"$created")
[[ -n $uid ]] || fail "no uid in updatehub-pkg's output: $created"
object=$(sha256sum "$shipped" | cut -d' ' -f1)
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
  --upload-file "$work/update.uhupkg" "$base/api/v1/packages" >/dev/null || fail "upload failed"
rm -f "$work/update.uhupkg"
api POST "/api/v1/products/$product/rollouts" "{\"package\":\"$uid\"}" >/dev/null

# While installing, the agent is two processes: the daemon and an updatehub-worker (one per
# step: probe, download, install...; any child of the daemon is counted). Sampled every 50 ms: the daemon's VmRSS, the worker's
# VmRSS and VmHWM, their sum (shared library pages counted twice), and the sum of their PSS
# (shared pages counted once: what the two take from the device's RAM).
echo "Installing: the agent downloads and installs $size_mib MiB, memory sampled every 50 ms ..." >&2
(
  peak_sum=0 peak_daemon=0 peak_worker=0 peak_worker_hwm=0 peak_pss=0 samples=0 workers=0
  while [[ ! -e $work/stop-sampling ]] && [[ -e /proc/$agent_pid/status ]]; do
    daemon_rss=$(status_kib "$agent_pid" VmRSS)
    daemon_pss=$(rollup_kib "$agent_pid" Pss)
    worker_rss=0 worker_hwm=0 worker_pss=0
    for child in $(pgrep -P "$agent_pid" || true); do
      rss=$(status_kib "$child" VmRSS 2>/dev/null || true)
      hwm=$(status_kib "$child" VmHWM 2>/dev/null || true)
      pss=$(rollup_kib "$child" Pss 2>/dev/null || true)
      worker_rss=$((worker_rss + ${rss:-0}))
      worker_pss=$((worker_pss + ${pss:-0}))
      ((${hwm:-0} > worker_hwm)) && worker_hwm=${hwm:-0}
      workers=$((workers + 1))
    done
    sum=$((${daemon_rss:-0} + worker_rss))
    pss_sum=$((${daemon_pss:-0} + worker_pss))
    ((sum > peak_sum)) && peak_sum=$sum
    ((${daemon_rss:-0} > peak_daemon)) && peak_daemon=${daemon_rss:-0}
    ((worker_rss > peak_worker)) && peak_worker=$worker_rss
    ((worker_hwm > peak_worker_hwm)) && peak_worker_hwm=$worker_hwm
    ((pss_sum > peak_pss)) && peak_pss=$pss_sum
    samples=$((samples + 1))
    echo "$peak_sum $peak_daemon $peak_worker $peak_worker_hwm $peak_pss $samples $workers" >"$work/sampled"
    sleep 0.05
  done
) &
sampler_pid=$!
pids+=("$sampler_pid")
# Every measured step starts with nothing dirty in the page cache: an fsync on ext4 (data=ordered)
# also writes out other files' pending data, and the set-up above left hundreds of MiB of it.
sync
"$work/bin/updatehub" client --daemon-address "127.0.0.1:$api_port" probe >"$work/probe.out" 2>&1 ||
  fail "updatehub client probe: $(cat "$work/probe.out")"
wait_log "$dev/agent.log" "install --installed--> reboot" 900 "$agent_pid"
touch "$work/stop-sampling"
wait "$sampler_pid"
read -r peak_sum peak_daemon peak_worker peak_worker_hwm peak_pss samples worker_samples <"$work/sampled"
((worker_samples > 0)) || fail "no updatehub-worker was seen while installing"
install_hwm=$(status_kib "$agent_pid" VmHWM)
kill "$agent_pid"
wait "$agent_pid" || true
cmp -s "$image" "$dev/root/dev/slot1" || fail "slot1 does not hold the image after the install"

t_download=$(log_time "$dev/agent.log" "--valid--> download")
t_install=$(log_time "$dev/agent.log" "download --downloaded--> install")
t_end=$(log_time "$dev/agent.log" "install --installed--> reboot")
agent_download_s=$(awk -v a="$t_download" -v b="$t_install" 'BEGIN { printf "%.2f", b - a }')
agent_install_s=$(awk -v a="$t_install" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }')
if [[ $stream == 1 ]]; then
  # Written and hashed while downloading; the install step has nothing left to do.
  grep -qF "streamed into /dev/slot1 and verified" "$dev/agent.log" || fail "the image was not streamed"
  [[ ! -e $dev/download/$object ]] || fail "a streamed object has a copy in the download directory"
  agent_verify_s=$agent_install_s
  agent_write_s="during the download"
elif [[ $stream == piped ]]; then
  grep -qF "installed as it arrived" "$dev/agent.log" || fail "the image was not piped"
  [[ ! -e $dev/download/$object ]] || fail "a piped object has a copy in the download directory"
  agent_verify_s="during the download"
  agent_write_s="during the download"
else
  # Downloaded into the download directory and, as it arrived, into the slot too: the install
  # step finds it there, hashed as it was written.
  grep -qF "written into /dev/slot1 and verified as it downloaded" "$dev/agent.log" ||
    fail "the downloaded image was not written into the slot as it arrived"
  agent_verify_s="during the download"
  agent_write_s="during the download"
fi

# --- Baselines on the same files: curl fetching the object, dd writing the image -------------
object_url=$base/products/$product/packages/$uid/objects/$object
sync
"$runstat" --output "$work/curl.stat" -- curl -sf -o "$work/curl-object" "$object_url" ||
  fail "curl download failed"
rm -f "$work/curl-object"
: >"$work/dd-target"
sync
"$runstat" --output "$work/dd.stat" -- dd if="$image" of="$work/dd-target" bs=128k conv=fsync \
  status=none || fail "dd failed"
# What a user would script instead of the agent: fetch and write in one pipeline.
: >"$work/dd-target"
if [[ $stream == piped ]]; then
  pipeline='set -o pipefail; curl -sf "$1" | gzip -dc | dd of="$2" bs=128k conv=fsync status=none'
  pipeline_name='curl OBJECT | gzip -dc | dd of=TARGET bs=128k conv=fsync'
else
  pipeline='set -o pipefail; curl -sf "$1" | dd of="$2" bs=128k conv=fsync status=none'
  pipeline_name='curl OBJECT | dd of=TARGET bs=128k conv=fsync'
fi
sync
"$runstat" --output "$work/pipe.stat" -- bash -c "$pipeline" _ "$object_url" "$work/dd-target" ||
  fail "$pipeline_name failed"
cmp -s "$image" "$work/dd-target" || fail "the piped baseline did not write the image"
"$runstat" --output "$work/sha.stat" -- sha256sum "$image" >/dev/null || fail "sha256sum failed"

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v / 1024 < t) ? "met" : "MISSED" }'; }

echo
echo "Agent $agent; image ${size_mib} MiB of random data$([[ $stream == piped ]] && echo ", shipped gzip -1 ($(stat -c %s "$shipped") bytes)"); streamed into the slot: $stream ($stream_objects); $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| binary | bytes | MiB |"
echo "|---|---:|---:|"
echo "| updatehub (the daemon), stripped | $binary_bytes | $(mib $((binary_bytes / 1024))) |"
echo "| updatehub: text / data / bss | $text_bytes / $data_bytes / $bss_bytes | |"
echo "| updatehub-worker, stripped | $worker_bytes | $(mib $((worker_bytes / 1024))) |"
echo "| shared libraries they link (ldd): updatehub / updatehub-worker | $shared_libs / $worker_libs | |"
echo
echo "| memory | MiB | target |"
echo "|---|---:|---|"
echo "| floor: \`sleep\` VmRSS | $(mib "$sleep_rss") | |"
echo "| floor: C++ hello (libstdc++, waiting) VmRSS | $(mib "$hello_rss") | |"
echo "| floor: the same, with the agent's libraries loaded (LD_PRELOAD of its NEEDED) | $(mib "$libs_rss") | |"
echo "| agent idle in poll: VmRSS | $(mib "$idle_rss") | < 6 MiB: $(verdict "$idle_rss" 6) |"
echo "| agent idle in poll: VmHWM (peak since start) | $(mib "$idle_hwm") | |"
echo "| agent idle: RssAnon (heap, stacks of $idle_threads threads) / RssFile (mapped code) | $(mib "$idle_anon") / $(mib "$idle_file") | |"
echo "| agent idle: PSS / private (USS) | $(mib "$idle_pss") / $(mib "$idle_private") | |"
echo "| installing: daemon + worker, sum of VmRSS, peak of $samples samples | $(mib "$peak_sum") | < 16 MiB: $(verdict "$peak_sum" 16) |"
echo "| installing: daemon + worker, sum of PSS, peak | $(mib "$peak_pss") | < 16 MiB: $(verdict "$peak_pss" 16) |"
echo "| installing: daemon VmHWM (peak since start) / peak of its VmRSS samples | $(mib "$install_hwm") / $(mib "$peak_daemon") | |"
echo "| installing: worker, peak of VmRSS samples / of its VmHWM | $(mib "$peak_worker") / $(mib "$peak_worker_hwm") | |"
echo "| baseline \`curl -o\` of the object: max RSS | $(mib "$(stat_field "$work/curl.stat" max_rss_kib)") | |"
echo "| baseline \`dd bs=128k conv=fsync\`: max RSS | $(mib "$(stat_field "$work/dd.stat" max_rss_kib)") | |"
echo
echo "Largest parts of the idle agent's RSS (/proc/PID/smaps):"
echo
echo "| mapping | KiB |"
echo "|---|---:|"
head -n 12 "$work/idle-mappings" | awk '{ printf "| %s | %d |\n", $2, $1 }'
echo
echo "| time | seconds |"
echo "|---|---:|"
echo "| agent download (log: valid -> downloaded; fetch, hash, write, fsync the slot) | $agent_download_s |"
echo "| baseline \`curl -o\` of the same object from the same server | $(stat_field "$work/curl.stat" wall_s) |"
echo "| agent install (log: downloaded -> installed) | $agent_install_s |"
echo "| of which: verifying the object again (sha256) | $agent_verify_s |"
echo "| of which: writing the target and fsync | $agent_write_s |"
echo "| baseline \`dd if=IMAGE of=TARGET bs=128k conv=fsync\` | $(stat_field "$work/dd.stat" wall_s) |"
echo "| baseline \`sha256sum IMAGE\` | $(stat_field "$work/sha.stat" wall_s) |"
pipe_s=$(stat_field "$work/pipe.stat" wall_s)
echo "| baseline \`$pipeline_name\` | $pipe_s |"
# The speed target: the agent's download and install together at least 0.8 x as fast as the
# pipeline (its time at most 1.25 x the pipeline's), every byte still verified.
echo "| agent download + install | $(awk -v a="$agent_download_s" -v b="$agent_install_s" 'BEGIN { printf "%.2f", a + b }') |"
echo "| speed against the pipeline (pipeline time / agent time; target >= 0.8) | $(awk -v a="$agent_download_s" -v b="$agent_install_s" -v p="$pipe_s" 'BEGIN { r = p / (a + b); printf "%.2f: %s", r, (r >= 0.8 ? "met" : "MISSED") }') |"
echo
echo "Pipeline baseline's max RSS (largest process of the pipeline): $(mib "$(stat_field "$work/pipe.stat" max_rss_kib)") MiB"
