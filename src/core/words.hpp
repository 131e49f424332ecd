#pragma once

// Space-separated lists of words (scopes, product uids) in a single text column or field.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace uh {

[[nodiscard]] inline std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

// The words of `text`, empty ones (repeated spaces) skipped.
[[nodiscard]] inline std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace uh
