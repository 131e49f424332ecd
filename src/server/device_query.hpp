#pragma once

// The device search of GET /api/v1/devices as a plain function: query parameters in, a store
// filter out, every parameter it does not know refused by name.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "server/store/store.hpp"

namespace uh::server {

// product, hardware, version, identity.KEY=VALUE, attributes.KEY=VALUE (any number of keys),
// seen_before and seen_after (RFC 3339 UTC), rollout_state (a device state or "none"), after
// and limit. kInvalidArgument names a parameter it does not know or a value it cannot use.
[[nodiscard]] Expected<DeviceFilter> ParseDeviceQuery(
    const std::map<std::string, std::string>& query);

// GET /api/v1/devices/{id}/history: which sections to show from where, and how many of each.
struct HistoryQuery {
  // Where each section starts (an id of its rows: it lists smaller ones); nullopt leaves the
  // section out, 0 starts it at the newest.
  std::optional<std::int64_t> reports_before;
  std::optional<std::int64_t> versions_before;
  std::optional<std::int64_t> rollouts_before;
  std::size_t limit = 20;  // rows of each section
};
// limit, and reports_before, versions_before, rollouts_before (the next_* of the page before).
// Without any of the three every section starts at the newest; with some, only those
// sections are listed (paging one of them). kInvalidArgument names what is wrong.
[[nodiscard]] Expected<HistoryQuery> ParseHistoryQuery(
    const std::map<std::string, std::string>& query);

}  // namespace uh::server
