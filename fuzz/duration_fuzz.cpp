// ParseDuration on untrusted text (polling.interval of the config file, in either format).
// Checked against an independent reading of the grammar: one or more NUMBER UNIT groups, unit
// s, m, h or d, the total at most ten years. What it accepts must also survive FormatSeconds,
// the form GET /info shows.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/device/duration.hpp"
#include "fuzz_check.hpp"

namespace {

constexpr std::int64_t kMaxSeconds = 10LL * 366 * 24 * 3600;

// The duration `text` means, or nullopt when it is not one.
std::optional<std::int64_t> Oracle(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const std::size_t start = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      number = number * 10 + (text[pos] - '0');
      if (number > kMaxSeconds) return std::nullopt;
    }
    if (pos == start || pos == text.size()) return std::nullopt;
    std::int64_t unit = 0;
    switch (text[pos++]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += number * unit;
    if (total > kMaxSeconds) return std::nullopt;
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = uh::agent::ParseDuration(text);
  const auto expected = Oracle(text);
  UH_FUZZ_CHECK(parsed.has_value() == expected.has_value(),
                "ParseDuration accepts what the grammar refuses, or the reverse");
  if (!parsed) {
    UH_FUZZ_CHECK(parsed.error().code() == uh::Errc::kInvalidArgument,
                  "a bad duration is not kInvalidArgument");
    UH_FUZZ_CHECK(parsed.error().message().find("is not a duration") != std::string::npos,
                  "the error does not say what is wrong");
    return 0;
  }
  UH_FUZZ_CHECK(parsed->count() == *expected, "ParseDuration gives the wrong number of seconds");

  const auto shown = uh::agent::FormatSeconds(*parsed);
  const auto reparsed = uh::agent::ParseDuration(shown);
  UH_FUZZ_CHECK(reparsed.has_value() && *reparsed == *parsed,
                "FormatSeconds output does not parse back to the same duration");
  return 0;
}
