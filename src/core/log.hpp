#pragma once

// Logging goes through spdlog; programs call SetupLogging once at start.

#include <spdlog/spdlog.h>

#include <string_view>

#include "core/error.hpp"

namespace uh {

// `level` is one of trace, debug, info, warn, error, critical, off.
[[nodiscard]] Expected<void> SetupLogging(std::string_view level);

}  // namespace uh
