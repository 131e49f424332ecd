#include "agent/device/duration.hpp"

#include <cstdint>

namespace uh::agent {
namespace {

// Ten years: longer intervals are typos, and the cap keeps the arithmetic far from overflow.
constexpr std::int64_t kMaxSeconds = 10LL * 366 * 24 * 3600;

std::int64_t UnitSeconds(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    default:
      return 0;
  }
}

}  // namespace

Expected<std::chrono::seconds> ParseDuration(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Fail(Errc::kInvalidArgument,
                "'" + std::string(text) + "' is not a duration (" + std::string(why) + ")");
  };
  if (text.empty()) return bad("it is empty; write e.g. \"1d\", \"6h\" or \"90m\"");
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const std::size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      number = number * 10 + (text[pos] - '0');
      if (number > kMaxSeconds) return bad("it is too long");
      ++pos;
    }
    if (pos == digits_start) return bad("expected a whole number followed by s, m, h or d");
    if (pos == text.size()) return bad("the number has no unit; use s, m, h or d");
    const std::int64_t unit = UnitSeconds(text[pos]);
    if (unit == 0) return bad("the unit must be s, m, h or d");
    ++pos;
    total += number * unit;
    if (total > kMaxSeconds) return bad("it is too long");
  }
  return std::chrono::seconds(total);
}

std::string FormatSeconds(std::chrono::seconds duration) {
  return std::to_string(duration.count()) + "s";
}

}  // namespace uh::agent
