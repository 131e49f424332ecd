#pragma once

// Durations as the config file writes them: "1d", "90m", "60s", or Go-style compounds such as
// "1h30m" (the legacy v1 agent wrote its interval with Go's time.Duration).

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::agent {

// One or more NUMBER UNIT groups, unit one of s, m, h, d; fails (kInvalidArgument) on anything
// else, with a message that quotes the text: "'5x' is not a duration (...)".
[[nodiscard]] Expected<std::chrono::seconds> ParseDuration(std::string_view text);

// The way upstream's /info shows a duration: whole seconds with an "s" ("86400s").
[[nodiscard]] std::string FormatSeconds(std::chrono::seconds duration);

}  // namespace uh::agent
