// PercentDecode on a URL component (a path segment, a query key or value) as a request carries
// it. It accepts exactly what an independent reading accepts (every '%' followed by two hex
// digits, no NUL decoded or given), with the same bytes; errors are kMalformed; what it decodes,
// escaped again, decodes back to itself, in either case of hex digit.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_check.hpp"
#include "server/http/http.hpp"

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 section 2.1, plus the server's rule that no NUL comes out.
std::optional<std::string> Reference(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      out += text[i++];
    } else if (text.size() - i >= 3 && Hex(text[i + 1]) >= 0 && Hex(text[i + 2]) >= 0) {
      out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
      i += 3;
    } else {
      return std::nullopt;
    }
    if (out.back() == '\0') return std::nullopt;
  }
  return out;
}

std::string EscapeAll(std::string_view text, const char* format) {
  std::string out;
  for (const char c : text) {
    char escape[4];
    std::snprintf(escape, sizeof escape, format, static_cast<unsigned char>(c));
    out += escape;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto decoded = uh::server::http::PercentDecode(text);
  const auto expected = Reference(text);
  UH_FUZZ_CHECK(decoded.has_value() == expected.has_value(),
                "accepts what the reference refuses, or the other way round");
  if (!decoded) {
    UH_FUZZ_CHECK(decoded.error().code() == uh::Errc::kMalformed, "an error is not kMalformed");
    return 0;
  }
  UH_FUZZ_CHECK(*decoded == *expected, "decodes to other bytes than the reference");
  for (const char* format : {"%%%02X", "%%%02x"}) {
    auto again = uh::server::http::PercentDecode(EscapeAll(*decoded, format));
    UH_FUZZ_CHECK(again.has_value() && *again == *decoded, "escaped again, decodes differently");
  }
  return 0;
}
