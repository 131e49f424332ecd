#include "server/device_query.hpp"

#include "core/time.hpp"
#include "server/api_util.hpp"

namespace uh::server {
namespace {

constexpr std::string_view kIdentityPrefix = "identity.";
constexpr std::string_view kAttributesPrefix = "attributes.";
// Each is a subquery over the device's JSON.
constexpr std::size_t kMaxJsonConditions = 8;

Error Bad(const std::string& message) { return Error(Errc::kInvalidArgument, message); }

}  // namespace

Expected<DeviceFilter> ParseDeviceQuery(const std::map<std::string, std::string>& query) {
  DeviceFilter filter;
  for (const auto& [key, value] : query) {
    if (key == "product") {
      filter.product_uid = value;
    } else if (key == "hardware") {
      filter.hardware = value;
    } else if (key == "version") {
      filter.version = value;
    } else if (key.starts_with(kIdentityPrefix) && key.size() > kIdentityPrefix.size()) {
      filter.identity.emplace_back(key.substr(kIdentityPrefix.size()), value);
    } else if (key.starts_with(kAttributesPrefix) && key.size() > kAttributesPrefix.size()) {
      filter.attributes.emplace_back(key.substr(kAttributesPrefix.size()), value);
    } else if (key == "seen_before" || key == "seen_after") {
      if (!ParseTime(value)) {
        return std::unexpected(
            Bad("'" + key + "' must be an RFC 3339 UTC time like 2026-01-31T02:00:00Z"));
      }
      (key == "seen_before" ? filter.seen_before : filter.seen_after) = value;
    } else if (key == "rollout_state") {
      if (value != kNoRolloutState && !ParseDeviceState(value)) {
        return std::unexpected(
            Bad("'rollout_state' must be pending, downloading, installing, rebooting, updated, "
                "failed or none"));
      }
      filter.rollout_state = value;
    } else if (key == "after") {
      auto id = ParseId(value);
      if (!id) return std::unexpected(Bad("'after' must be a device id"));
      filter.after_id = *id;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) return std::unexpected(Bad("'limit' must be 1 to 1000"));
      filter.limit = *limit;
    } else {
      return std::unexpected(
          Bad("unknown query parameter '" + key +
              "' (product, hardware, version, identity.KEY, attributes.KEY, seen_before, "
              "seen_after, rollout_state, after, limit)"));
    }
  }
  if (filter.identity.size() + filter.attributes.size() > kMaxJsonConditions) {
    return std::unexpected(Bad("at most " + std::to_string(kMaxJsonConditions) +
                               " identity and attributes conditions"));
  }
  return filter;
}

Expected<HistoryQuery> ParseHistoryQuery(const std::map<std::string, std::string>& query) {
  HistoryQuery out;
  bool paging = false;
  for (const auto& [key, value] : query) {
    std::optional<std::int64_t>* cursor = nullptr;
    if (key == "reports_before") {
      cursor = &out.reports_before;
    } else if (key == "versions_before") {
      cursor = &out.versions_before;
    } else if (key == "rollouts_before") {
      cursor = &out.rollouts_before;
    } else if (key == "limit") {
      auto limit = ParseLimit(value);
      if (!limit) return std::unexpected(Bad("'limit' must be 1 to 1000"));
      out.limit = *limit;
      continue;
    } else {
      return std::unexpected(Bad("unknown query parameter '" + key +
                                 "' (reports_before, versions_before, rollouts_before, limit)"));
    }
    auto id = ParseId(value);
    if (!id || *id == 0) return std::unexpected(Bad("'" + key + "' must be an id of its list"));
    *cursor = *id;
    paging = true;
  }
  if (!paging) out.reports_before = out.versions_before = out.rollouts_before = 0;
  return out;
}

}  // namespace uh::server
