#pragma once

// Small ASCII helpers shared by the HTTP code (header names are case-insensitive ASCII).

#include <algorithm>
#include <string>
#include <string_view>

namespace uh::server::http {

[[nodiscard]] inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] inline std::string ToLower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), AsciiLower);
  return out;
}

[[nodiscard]] inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

// The value of a hexadecimal digit, or -1.
[[nodiscard]] inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[nodiscard]] inline std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace uh::server::http
