#pragma once

// How stored records look in the management API.

#include <nlohmann/json.hpp>

#include "server/store/store.hpp"

namespace uh::server {

[[nodiscard]] nlohmann::json ToJson(const Product& product);
[[nodiscard]] nlohmann::json ToJson(const SigningKey& key);
// Without the metadata bytes; callers add them when showing one package.
[[nodiscard]] nlohmann::json ToJson(const Package& package);
[[nodiscard]] nlohmann::json ToJson(const Device& device);
[[nodiscard]] nlohmann::json ToJson(const Report& report);
// A report in a device's history: its current_log cut to its last kLogExcerptBytes (at a line
// start when it can), as "log_excerpt" with "log_truncated"; the whole log is in
// GET /api/v1/reports.
inline constexpr std::size_t kLogExcerptBytes = 4096;
[[nodiscard]] nlohmann::json HistoryJson(const Report& report);
[[nodiscard]] nlohmann::json ToJson(const DeviceVersion& version);
[[nodiscard]] nlohmann::json ToJson(const DeviceRollout& rollout);

}  // namespace uh::server
