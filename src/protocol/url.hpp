#pragma once

// URLs of the UpdateHub protocol: which base URLs the agent takes and where objects are.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::protocol {

// True for "http://..." and "https://..." (scheme in any case) with something after "//".
[[nodiscard]] bool IsHttpUrl(std::string_view url);

// `base` (with or without a trailing slash) followed by `path` ("/upgrades").
[[nodiscard]] std::string JoinUrl(std::string_view base, std::string_view path);

// "/products/{product}/packages/{package}/objects/{sha256}"; every id must be 64 lowercase hex
// digits, so nothing in them can change the meaning of the URL (kInvalidArgument otherwise).
[[nodiscard]] Expected<std::string> ObjectPath(std::string_view product_uid,
                                               std::string_view package_uid,
                                               std::string_view sha256);

// The value of a Range header asking for an object from byte `start` on: "bytes=START-".
[[nodiscard]] std::string RangeFrom(std::uint64_t start);

}  // namespace uh::protocol
