#pragma once

// Ordering of firmware versions. Upstream's versions are free-form strings, so they are compared
// the way people read them: split into runs of digits and runs of anything else, digit runs
// compared as numbers (1.10 > 1.9, 007 == 7), other runs byte by byte (1.0a < 1.0b). One rule
// for pre-releases: when one version is the other followed by '-' or '~' and a letter
// (2.0.0-rc1 against 2.0.0), the longer one comes first; any other suffix comes after
// (2.0.0.1 and 2.0.0+build3 are after 2.0.0).

#include <string_view>

namespace uh {

// <0 when `a` is older than `b`, 0 when they are the same version, >0 when newer.
[[nodiscard]] int CompareVersions(std::string_view a, std::string_view b);

}  // namespace uh
