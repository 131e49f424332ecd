// Hex helpers of hash.hpp that need no OpenSSL, apart from hash.cpp so that a program can use
// them without linking libcrypto (the agent daemon checks ids in metadata with them).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/hash.hpp"

namespace uh {

bool IsLowerHexSha256(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string HexEncode(std::span<const std::byte> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::byte b : data) {
    const auto v = std::to_integer<unsigned>(b);
    out.push_back(kDigits[v >> 4]);
    out.push_back(kDigits[v & 0xf]);
  }
  return out;
}

}  // namespace uh
