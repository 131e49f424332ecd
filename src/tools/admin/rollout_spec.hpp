#pragma once

// A rollout definition (RolloutDefinition in src/server/openapi.yaml) from command line flags.
// Plain functions: every malformed flag is a kInvalidArgument error naming it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace uh::admin {

struct RolloutFlags {
  std::string package;
  std::string name;
  std::vector<std::string> stages;      // "10%:soak=1h,success=90,manual", "50", "100%"
  std::string threshold;                // "5%" or a count "3"
  std::int64_t min_attempted = 0;       // 0: the server's default
  std::int64_t rate_per_hour = -1;      // -1: not given
  std::string start_at;                 // RFC 3339, UTC
  std::string window;                   // "01:00-05:00", UTC
  std::vector<std::int64_t> devices;    // explicit device ids
  std::vector<std::string> hardware;    // filter
  std::vector<std::string> versions;    // filter: current versions
  std::vector<std::string> identity;    // filter: KEY=VALUE
  std::vector<std::string> attributes;  // filter: KEY=VALUE
  bool wait_for_devices = false;
};

// "90", "90s", "15m", "1h30m", "2d" as seconds.
[[nodiscard]] Expected<std::int64_t> ParseDuration(std::string_view text);

// One --stage: PERCENT[%][:OPTION,...] with options soak=DURATION, success=PERCENT[%] and
// manual. A bare percentage gives a number, anything else an object.
[[nodiscard]] Expected<nlohmann::json> ParseStage(std::string_view text);

// --threshold: "5%" is {"percent": 5}, "3" is {"count": 3}.
[[nodiscard]] Expected<nlohmann::json> ParseThreshold(std::string_view text);

// --window "01:00-05:00" as {"start": "01:00", "end": "05:00"}.
[[nodiscard]] Expected<nlohmann::json> ParseWindow(std::string_view text);

// "KEY=VALUE" split at the first '='; the key must not be empty.
[[nodiscard]] Expected<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                                          std::string_view flag);

// The creation body for POST /api/v1/products/{product}/rollouts (and .../preview).
[[nodiscard]] Expected<nlohmann::json> RolloutDefinition(const RolloutFlags& flags);

}  // namespace uh::admin
