#!/usr/bin/env bash
# The main job, end to end on one machine: a signed update is built, uploaded to the management
# server and rolled out in stages to simulated devices, each a real `updatehub` agent process
# (dist/sim/updatehub-device plays its bootloader). The devices probe, download, install into
# their inactive slot, reboot, validate the new system or roll back, and report every step; the
# rollout's progress is shown live until it ends.
#
# Settings (environment):
#   DEMO_DEVICES=N     simulated devices (default 10)
#   DEMO_FAIL=K        K of them fail the new system's validation: they roll back and report
#                      the error, and the rollout pauses once failures pass its threshold
#   DEMO_THRESHOLD=P   the failure threshold, in percent of the devices attempted (default 25)
#   DEMO_STREAM=1      the devices stream the update into their inactive slot as it downloads
#                      (update.stream_objects): nothing is kept in their download directory
#   DEMO_ONCE=1        no prompt: exit when the rollout ends, with status 0 only when every
#                      device that should update did (for scripts and CI)
#   DEMO_PORT=8080     the server's port on 127.0.0.1
#   DEMO_DIR=demo-data where everything goes (emptied first)
#   DEMO_TIMEOUT=600   seconds to wait for the rollout before giving up
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

devices=${DEMO_DEVICES:-10}
fail=${DEMO_FAIL:-0}
threshold=${DEMO_THRESHOLD:-25}
once=${DEMO_ONCE:-0}
stream=${DEMO_STREAM:-0}
port=${DEMO_PORT:-8080}
work=${DEMO_DIR:-demo-data}
timeout=${DEMO_TIMEOUT:-600}
for setting in devices fail threshold port timeout; do
  case "${!setting}" in
    '' | *[!0-9]*)
      echo "error: DEMO_${setting^^} must be a number, not '${!setting}'" >&2
      exit 2
      ;;
  esac
done
if [ "$devices" -lt 1 ] || [ "$fail" -gt "$devices" ]; then
  echo "error: need 1 <= DEMO_DEVICES and DEMO_FAIL <= DEMO_DEVICES" >&2
  exit 2
fi

bold=""
plain=""
if [ -t 1 ]; then
  bold=$'\033[1m'
  plain=$'\033[0m'
fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
die() {
  echo "error: $*" >&2
  exit 1
}

step "Dependencies and build (release)"
./scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target updatehub-pkg updatehub-server updatehub
bin=$root/build/release/src
pkg=$bin/tools/pkg/updatehub-pkg
server_bin=$bin/server/updatehub-server
export UPDATEHUB_AGENT=$bin/tools/agent/updatehub
device_sim=$root/dist/sim/updatehub-device
for program in "$pkg" "$server_bin" "$UPDATEHUB_AGENT"; do
  [ -x "$program" ] || die "$program was not built"
done

server_url=http://127.0.0.1:$port
if curl -s -o /dev/null --max-time 2 "$server_url/"; then
  die "something already listens on 127.0.0.1:$port: stop it or set DEMO_PORT"
fi

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

# Everything started here stops with the script: devices first (each stops its agent), then
# the server.
pids=()
server_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'echo; echo "stopping..."; exit 130' INT TERM

step "Management server on $server_url (SQLite store in $work/server)"
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
UPDATEHUB_ADMIN_PASSWORD=$password "$server_bin" --listen "127.0.0.1:$port" \
  --data-dir "$work/server" --waiting-poll-seconds 2 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null "$server_url/healthz" && break
  kill -0 "$server_pid" 2>/dev/null || die "the server did not start: $(tail -n 5 "$work/server.log")"
  sleep 0.1
done
curl -sf -o /dev/null "$server_url/healthz" || die "the server does not answer on $server_url"
echo "admin password: $password (also in $work/admin-password)"
echo "$password" >"$work/admin-password"
if curl -sf -o /dev/null "$server_url/ui/"; then
  echo "${bold}dashboard: $server_url/ui/  (sign in as admin with the password above; the rollout below shows there live)${plain}"
else
  echo "note: the server serves no dashboard (was it built? see the README); the API works without it"
fi

# The API's answers are compact JSON with sorted keys (nlohmann::json). These helpers read the
# few fields the demo needs: a string or number at the top level of an answer, or, for the
# last match, the outermost statistics (they come after the per-stage ones).
field() {
  local value
  value=$(grep -o "\"$2\":\"[^\"]*\"" <<<"$1" | head -n 1 | sed 's/^[^:]*:"//; s/"$//' || true)
  [ -n "$value" ] || value=$(grep -o "\"$2\":-\{0,1\}[0-9]*" <<<"$1" | head -n 1 | sed 's/^[^:]*://' || true)
  printf '%s\n' "$value"
}
count_of() { grep -o "\"$2\":{\"count\":[0-9]*" <<<"$1" | tail -n 1 | sed 's/.*://' || true; }
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "$server_url/api/v1$path" "$@"
}
token=""
login=$(curl -sS "$server_url/api/v1/login" -d "{\"username\":\"admin\",\"password\":\"$password\"}")
token=$(field "$login" token)
[ -n "$token" ] || die "login failed: $login"

step "Signing key, product, and the key registered with the server"
"$pkg" keygen --out "$work/keys" --bits 3072
product_json=$(api POST /products -d '{"name":"demo board"}')
product=$(field "$product_json" uid)
[ -n "$product" ] || die "creating the product failed: $product_json"
key_json=$(api POST "/products/$product/keys" \
  -d "{\"public_key\":\"$(awk '{printf "%s\\n", $0}' "$work/keys/key.pub")\"}")
[[ $key_json != *error* ]] || die "registering the key failed: $key_json"
echo "product $product"

step "System images 1.0 (on the devices) and 2.0 (the update)"
# A root file system image: random blocks that end with the line "uh-version X", which is where
# a simulated device reads the version of the system it boots.
image() {
  head -c 2M /dev/urandom >"$2"
  printf '\nuh-version %s\n' "$1" >>"$2"
}
mkdir -p "$work/image/app"
image 1.0 "$work/image/rootfs-1.0.img"
image 2.0 "$work/image/rootfs-2.0.img"
gzip -k -f "$work/image/rootfs-2.0.img"
echo "hello from version 2.0" >"$work/image/app/motd"
tar -C "$work/image/app" -czf "$work/image/app-2.0.tar.gz" .
ls -l "$work/image"

step "Package 2.0: the root file system (raw, gzip) and the application files (tarball), a target per slot"
"$pkg" create --product "$product" --version 2.0 --hardware demo-board \
  --object "$work/image/rootfs-2.0.img.gz,mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3" \
  --object "$work/image/app-2.0.tar.gz,mode=tarball,filesystem=ext4,target=/dev/mmcblk0p5,b.target=/dev/mmcblk0p6,target-path=/" \
  --key "$work/keys/key.pem" -o "$work/demo-2.0.uhupkg"
"$pkg" verify "$work/demo-2.0.uhupkg" --key "$work/keys/key.pub"

step "Upload: the server verifies the signature and every object before storing it"
uploaded=$(api POST /packages --data-binary "@$work/demo-2.0.uhupkg")
package=$(field "$uploaded" uid)
[ -n "$package" ] || die "the upload was refused: $uploaded"
echo "package $package"

step "$devices simulated devices on version 1.0 ($fail of them fail validation)"
for i in $(seq 1 "$devices"); do
  serial=$(printf 'demo-%03d' "$i")
  args=(--server "$server_url" --product "$product" --serial "$serial" --hardware demo-board
    --image "$work/image/rootfs-1.0.img" --dir /dev/mmcblk0p5 --dir /dev/mmcblk0p6
    --key "$work/keys/key.pub")
  [ "$i" -gt $((devices - fail)) ] && args+=(--fail-validation)
  [ "$stream" = 1 ] && args+=(--stream-objects)
  "$device_sim" init "$work/devices/$serial" "${args[@]}" >/dev/null
  "$device_sim" run "$work/devices/$serial" >>"$work/devices/$serial/run.log" 2>&1 &
  pids+=($!)
done
# Each agent probes when it starts: then the server knows the device.
for _ in $(seq 300); do
  known=$(api GET "/devices?product=$product&limit=1000" | grep -o '"serial":"demo-' | wc -l || true)
  [ "$known" -ge "$devices" ] && break
  sleep 0.2
done
echo "$known devices known to the server (agents' logs: $work/devices/*/agent.log)"
[ "$known" -ge "$devices" ] || die "not every device reached the server"

step "Rollout in stages: 20%, 50%, then everyone; it pauses when more than $threshold% of the attempted devices fail"
rollout_json=$(api POST "/products/$product/rollouts" -d "{
  \"package\": \"$package\", \"name\": \"demo 2.0\",
  \"stages\": [{\"percent\": 20, \"success_percent\": 50}, {\"percent\": 50, \"success_percent\": 70}, 100],
  \"failure_threshold\": {\"percent\": $threshold, \"min_attempted\": 3}
}")
rollout=$(field "$rollout_json" id)
[ -n "$rollout" ] || die "creating the rollout failed: $rollout_json"
# The agents poll every hour: ask them to probe now (updatehub client probe, through each agent's
# local API). Devices of later stages are told to ask again every 2 s until their stage starts.
for dir in "$work"/devices/*/; do "$device_sim" probe "$dir" >/dev/null 2>&1 || true; done

# Progress until the rollout finishes, stops, or pauses at its threshold; or until it waits for
# someone: a stage whose devices failed too often to reach its success share holds the rollout
# (nothing moves for 30 s and no device is on its way).
states=(pending downloading installing rebooting updated failed)
last=""
deadline=$((SECONDS + timeout))
moved=$SECONDS
waiting=0
while :; do
  shown=$(api GET "/rollouts/$rollout") || die "the server stopped answering; its log: $work/server.log"
  state=$(field "$shown" state)
  stage=$(field "$shown" current_stage)
  updated=$(count_of "$shown" updated)
  failed=$(count_of "$shown" failed)
  done_count=$((${updated:-0} + ${failed:-0}))
  width=30
  filled=$((done_count * width / devices))
  bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((width - filled)) '' | tr ' ' '.')
  counts=""
  in_flight=0
  for s in "${states[@]}"; do
    count=$(count_of "$shown" "$s")
    counts+=" $s $count"
    case "$s" in downloading | installing | rebooting) in_flight=$((in_flight + ${count:-0})) ;; esac
  done
  line=$(printf '[%s] %d/%d  stage %d/3  %-8s |%s' "$bar" "$done_count" "$devices" \
    $((${stage:-0} + 1)) "$state" "$counts")
  if [ -t 1 ]; then
    printf '\r%s\033[K' "$line"
  elif [ "$line" != "$last" ]; then
    echo "$line"
  fi
  if [ "$line" != "$last" ] || [ "$in_flight" -gt 0 ]; then moved=$SECONDS; fi
  last=$line
  # A paused rollout offers nothing more, but the devices already on their way get to their end.
  case "$state" in
    finished | stopped) break ;;
    paused) [ "$in_flight" -gt 0 ] || break ;;
    running)
      if [ $((SECONDS - moved)) -ge 30 ]; then
        waiting=1
        break
      fi
      ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo
    die "the rollout did not end within ${timeout}s (DEMO_TIMEOUT); server log: $work/server.log"
  fi
  sleep 0.5
done
[ -t 1 ] && echo

# A device whose new system fails its self-test reports the error (the server counts it failed
# then), and only afterwards boots its old system again: wait for those to be back.
for dir in "$work"/devices/*/; do
  [ -e "$dir/fail-validation" ] || continue
  for _ in $(seq 150); do
    [ "$(cat "$dir/run/version" 2>/dev/null)" = 1.0 ] && [ -e "$dir/run/api-port" ] && break
    sleep 0.2
  done
done

step "Result"
for dir in "$work"/devices/*/; do "$device_sim" status "$dir"; done
reason=$(field "$shown" reason)
if [ "$waiting" = 1 ]; then
  reason="stage $((${stage:-0} + 1)) did not reach its success share: advance, stop or pause it"
fi
echo "rollout $rollout: $state${reason:+ ($reason)}: ${updated:-0} updated, ${failed:-0} failed"
errors=$(api GET "/reports?status=error&limit=100" | grep -o '"error_message":"[^"]*"' | sort | uniq -c || true)
[ -z "$errors" ] || printf 'errors reported by devices:\n%s\n' "$errors"

# Every device that should update did (and those meant to fail rolled back).
expected_updated=$((devices - fail))
ok=1
[ "${updated:-0}" -eq "$expected_updated" ] || ok=0
[ "${failed:-0}" -eq "$fail" ] || ok=0
for dir in "$work"/devices/*/; do
  want=2.0
  [ -e "$dir/fail-validation" ] && want=1.0
  [ "$(cat "$dir/run/version" 2>/dev/null)" = "$want" ] || ok=0
done
if [ "$ok" = 1 ]; then
  echo "${bold}every device that should update did: $expected_updated on 2.0, $fail rolled back to 1.0${plain}"
else
  echo "${bold}not every device that should update did${plain} (failures hold a stage back, and the threshold pauses a rollout with too many)"
fi

if [ "$once" = 1 ]; then
  [ "$ok" = 1 ] && exit 0
  exit 1
fi

step "Where to look (the server keeps running until Ctrl-C)"
cat <<EOF
  dashboard: $server_url/ui/  (user admin, password $password)
  API:       $server_url/api/v1  (OpenAPI: $server_url/api/v1/openapi.yaml)
             TOKEN=\$(curl -s $server_url/api/v1/login -d '{"username":"admin","password":"$password"}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
             curl -H "Authorization: Bearer \$TOKEN" $server_url/api/v1/rollouts/$rollout
  metrics:   $server_url/metrics
  devices:   $work/devices/<serial>/ (agent.log, events.log; $device_sim status DIR)
  an agent:  $UPDATEHUB_AGENT client --address 127.0.0.1:\$(cat $work/devices/demo-001/run/api-port) info
EOF
while kill -0 "$server_pid" 2>/dev/null; do sleep 1; done
die "the server stopped; its log: $work/server.log"
