// Base64Decode on untrusted text (a package's signature member, the UH-Signature header). The
// decoder is documented as strict, so what it accepts must be canonical: encoding the decoded
// bytes gives the input back (once a trailing line ending, which it ignores, is removed).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/hash.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = uh::Base64Decode(text);
  if (!decoded) return 0;

  if (text.ends_with('\n') || text.ends_with('\r')) return 0;
  const std::string encoded = uh::Base64Encode(std::as_bytes(std::span(*decoded)));
  UH_FUZZ_CHECK(encoded == text, "Base64Encode(Base64Decode(text)) != text");
  return 0;
}
