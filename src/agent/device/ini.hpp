#pragma once

// The INI dialect of the legacy v1 agent (Go's go-ini, Rust's serde_ini): "[Section]" headers,
// "Key = Value" lines, comments starting with ';' or '#'. Used to read v1 config files and v1
// runtime settings so that devices upgraded from the old agent keep working.

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace uh::agent::device_internal {

struct IniEntry {
  std::string section;  // empty before the first header
  std::string key;
  std::string value;  // trimmed, one level of matching quotes removed
  int line = 0;
};

// Fails (kMalformed) on a line that is neither a header, a key=value pair, a comment nor blank:
// "ORIGIN:3: 'garbage' is not [Section] or Key=Value".
[[nodiscard]] Expected<std::vector<IniEntry>> ParseIni(std::string_view text,
                                                       std::string_view origin);

// True when some line is exactly "[NAME]" for one of `sections`: how a legacy file is told
// apart from TOML, whose sections are lowercase.
[[nodiscard]] bool HasIniSection(std::string_view text, const std::vector<std::string>& sections);

// Whitespace (space, tab, CR, LF) removed from both ends.
[[nodiscard]] std::string_view Trim(std::string_view text);

}  // namespace uh::agent::device_internal
