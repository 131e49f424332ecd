#pragma once

#include <string>

namespace uh::server {

// The current time as the store writes it: RFC 3339 UTC to the second, "2026-11-22T12:00:00Z".
// Strings of this form sort chronologically.
[[nodiscard]] std::string CurrentUtcTime();

}  // namespace uh::server
