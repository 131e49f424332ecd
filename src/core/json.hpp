#pragma once

// JSON for untrusted input and for byte-exact output.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh {

struct JsonLimits {
  std::size_t max_depth = 32;
  std::size_t max_bytes = 1024 * 1024;
};

// Parses untrusted JSON: fails (kMalformed) on syntax errors, invalid UTF-8, nesting deeper
// than `max_depth`, duplicate object keys (parsers disagree on them, so a signed document with
// duplicates could mean different things to the server and to the device), and (kTooLarge) on
// documents larger than `max_bytes`.
[[nodiscard]] Expected<nlohmann::json> ParseJson(std::string_view text, JsonLimits limits = {});

// Serialises like Python's `json.dumps(value, sort_keys=True)`, which is how uhu writes package
// metadata: sorted keys, ", " and ": " separators, ASCII only (\uXXXX escapes, lowercase hex).
[[nodiscard]] std::string PythonJsonDumps(const nlohmann::json& value);

// Serialises without ever throwing: bytes in strings that are not UTF-8 are replaced (U+FFFD),
// where nlohmann::json's dump() would throw. `indent` as dump()'s: -1 for one line.
[[nodiscard]] std::string DumpJson(const nlohmann::json& value, int indent = -1);

// A short human description of a JSON value's type: "string", "integer", "array"...
[[nodiscard]] std::string_view JsonTypeName(const nlohmann::json& value);

}  // namespace uh
