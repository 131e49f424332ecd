#pragma once

// Times as the project writes them: RFC 3339 UTC to the second, "2026-11-22T12:00:00Z". Strings
// of this form sort chronologically, so stores compare them as text.

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace uh {

[[nodiscard]] std::string FormatTime(std::chrono::system_clock::time_point time);
// Accepts exactly the form FormatTime writes.
[[nodiscard]] Expected<std::chrono::system_clock::time_point> ParseTime(const std::string& text);

}  // namespace uh
