// ParseJson on untrusted bytes. It must accept only JSON text: a NUL byte is never valid JSON
// (raw control characters are not allowed even inside strings), so a document holding one must
// be refused. Accepted documents must survive PythonJsonDumps: its output parses back to an
// equal value and is a fixed point of dump(parse(.)).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = uh::ParseJson(text);
  if (!json) return 0;
  UH_FUZZ_CHECK(text.find('\0') == std::string_view::npos,
                "ParseJson accepted a document containing a NUL byte");

  const std::string dumped = uh::PythonJsonDumps(*json);
  // \uXXXX escapes make the dump longer than its input: do not let the size limit interfere.
  auto reparsed = uh::ParseJson(dumped, {.max_depth = 32, .max_bytes = dumped.size()});
  if (!reparsed) std::fprintf(stderr, "reparse error: %s\n", reparsed.error().message().c_str());
  UH_FUZZ_CHECK(reparsed.has_value(), "PythonJsonDumps output does not parse");
  UH_FUZZ_CHECK(*reparsed == *json, "PythonJsonDumps output parses to a different value");
  UH_FUZZ_CHECK(uh::PythonJsonDumps(*reparsed) == dumped, "PythonJsonDumps is not a fixed point");
  return 0;
}
