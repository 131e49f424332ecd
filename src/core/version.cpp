#include "core/version.hpp"

#include <cctype>

namespace uh {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// The run starting at `at`: all digits or all non-digits.
std::string_view Run(std::string_view text, std::size_t at) {
  std::size_t end = at;
  const bool digits = IsDigit(text[at]);
  while (end < text.size() && IsDigit(text[end]) == digits) ++end;
  return text.substr(at, end - at);
}

int CompareNumbers(std::string_view a, std::string_view b) {
  while (a.size() > 1 && a.front() == '0') a.remove_prefix(1);
  while (b.size() > 1 && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int order = a.compare(b);
  return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

// A remainder that marks a pre-release of what came before it.
bool IsPreRelease(std::string_view rest) {
  return rest.size() >= 2 && (rest[0] == '-' || rest[0] == '~') && IsAlpha(rest[1]);
}

}  // namespace

int CompareVersions(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const auto left = Run(a, i);
    const auto right = Run(b, j);
    const bool left_digits = IsDigit(left.front());
    const bool right_digits = IsDigit(right.front());
    if (left_digits && right_digits) {
      if (const int order = CompareNumbers(left, right); order != 0) return order;
    } else if (left_digits != right_digits) {
      // 1.0.1 against 1.0a: a number sorts after anything else at the same place.
      return left_digits ? 1 : -1;
    } else if (left != right) {
      // Runs of other characters: a pre-release marker against the rest of a version.
      const auto rest_a = a.substr(i);
      const auto rest_b = b.substr(j);
      if (IsPreRelease(rest_a) != IsPreRelease(rest_b)) return IsPreRelease(rest_a) ? -1 : 1;
      return left < right ? -1 : 1;
    }
    i += left.size();
    j += right.size();
  }
  const auto rest_a = a.substr(i);
  const auto rest_b = b.substr(j);
  if (rest_a.empty() && rest_b.empty()) return 0;
  if (rest_a.empty()) return IsPreRelease(rest_b) ? 1 : -1;
  return IsPreRelease(rest_a) ? -1 : 1;
}

}  // namespace uh
