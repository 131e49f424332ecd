-- wrk script for bench/probe_throughput.sh: device probes (POST /upgrades) from a registered
-- fleet, one random device per request, with the headers and the body updatehub-sim sends
-- (src/sim/fleet.cpp DeviceFields, src/protocol/bodies.cpp ProbeBody: compact JSON, keys in
-- order). Responses are counted by status. Without PROBE_PRODUCT the requests are wrk's own
-- (GET of the URL): the same summary for the static baseline.
--
-- Environment: PROBE_PRODUCT (the product UID), PROBE_DEVICES (the fleet's size: devices
-- PREFIX-0 to PREFIX-(N-1)), PROBE_SERIAL_PREFIX [sim], PROBE_HARDWARE [board-a],
-- PROBE_VERSION [1.0].
--
-- done() prints one line for the script to read:
--   wrk-summary requests=N seconds=S rps=R p50_ms=A p99_ms=B status_200=N status_404=N
--   status_other=N socket_errors=N

local product = os.getenv("PROBE_PRODUCT") or ""
local probing = product ~= ""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

if probing then
  local devices = tonumber(os.getenv("PROBE_DEVICES") or "")
  if not devices or devices < 1 then error("PROBE_DEVICES must be a positive integer") end
  local prefix = os.getenv("PROBE_SERIAL_PREFIX") or "sim"
  local hardware = os.getenv("PROBE_HARDWARE") or "board-a"
  local version = os.getenv("PROBE_VERSION") or "1.0"
  local headers = {
    ["Content-Type"] = "application/json",
    ["Api-Content-Type"] = "application/vnd.updatehub-v1+json",
    ["User-Agent"] = "updatehub/2.0 Linux",
  }
  local body_head = '{"device-attributes":{},"device-identity":{"serial":"' .. prefix .. '-'
  local body_tail = '"},"hardware":"' .. hardware .. '","product-uid":"' .. product ..
      '","version":"' .. version .. '"}'

  function init(args)
    math.randomseed(os.time() * 100 + id)
    ok, not_found, other = 0, 0, 0
  end

  function request()
    local body = body_head .. math.random(0, devices - 1) .. body_tail
    return wrk.format("POST", wrk.path, headers, body)
  end

  function response(status, headers, body)
    if status == 200 then
      ok = ok + 1
    elseif status == 404 then
      not_found = not_found + 1
    else
      other = other + 1
    end
  end
end

function done(summary, latency, requests)
  local counts = {ok = 0, not_found = 0, other = 0}
  for _, thread in ipairs(threads) do
    for name in pairs(counts) do counts[name] = counts[name] + (thread:get(name) or 0) end
  end
  if not probing then  -- no response() hook: wrk's own count of non-2xx/3xx answers
    counts.other = summary.errors.status
    counts.ok = summary.requests - summary.errors.status
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
      "wrk-summary requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f status_200=%d " ..
      "status_404=%d status_other=%d socket_errors=%d\n",
      summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, counts.ok, counts.not_found, counts.other,
      errors.connect + errors.read + errors.write + errors.timeout))
end
