#include "agent/device/ini.hpp"

#include <algorithm>

namespace uh::agent::device_internal {
namespace {

// Calls `visit(line_number, trimmed_line)` for each line of `text`.
template <typename Visit>
Expected<void> ForEachLine(std::string_view text, Visit&& visit) {
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++number;
    UH_TRY(visit(number, Trim(text.substr(start, end - start))));
    start = end + 1;
  }
  return {};
}

std::string Unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

std::string Shorten(std::string_view text) {
  constexpr std::size_t kMax = 60;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

}  // namespace

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Expected<std::vector<IniEntry>> ParseIni(std::string_view text, std::string_view origin) {
  std::vector<IniEntry> entries;
  std::string section;
  auto result = ForEachLine(text, [&](int number, std::string_view line) -> Expected<void> {
    if (line.empty() || line.front() == ';' || line.front() == '#') return {};
    const auto at = [&](std::string_view message) {
      return Fail(Errc::kMalformed,
                  std::string(origin) + ":" + std::to_string(number) + ": " + std::string(message));
    };
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return at("'" + Shorten(line) + "' is not a [Section] header");
      }
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      return {};
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || Trim(line.substr(0, eq)).empty()) {
      return at("'" + Shorten(line) + "' is not [Section] or Key=Value");
    }
    entries.push_back(IniEntry{.section = section,
                               .key = std::string(Trim(line.substr(0, eq))),
                               .value = Unquote(Trim(line.substr(eq + 1))),
                               .line = number});
    return {};
  });
  if (!result) return std::unexpected(std::move(result.error()));
  return entries;
}

bool HasIniSection(std::string_view text, const std::vector<std::string>& sections) {
  bool found = false;
  (void)ForEachLine(text, [&](int, std::string_view line) -> Expected<void> {
    if (line.size() >= 3 && line.front() == '[' && line.back() == ']') {
      const auto name = Trim(line.substr(1, line.size() - 2));
      found = found || std::ranges::find(sections, name) != sections.end();
    }
    return {};
  });
  return found;
}

}  // namespace uh::agent::device_internal
