#include "protocol/url.hpp"

#include <algorithm>
#include <cctype>

#include "core/hash.hpp"

namespace uh::protocol {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char expected, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == expected;
         });
}

}  // namespace

bool IsHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWithNoCase(url, scheme)) return url.size() > scheme.size();
  }
  return false;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

Expected<std::string> ObjectPath(std::string_view product_uid, std::string_view package_uid,
                                 std::string_view sha256) {
  if (!IsLowerHexSha256(product_uid)) {
    return Fail(Errc::kInvalidArgument, "product uid is not 64 lowercase hex digits");
  }
  if (!IsLowerHexSha256(package_uid)) {
    return Fail(Errc::kInvalidArgument, "package uid is not 64 lowercase hex digits");
  }
  if (!IsLowerHexSha256(sha256)) {
    return Fail(Errc::kInvalidArgument, "object sha256 is not 64 lowercase hex digits");
  }
  return "/products/" + std::string(product_uid) + "/packages/" + std::string(package_uid) +
         "/objects/" + std::string(sha256);
}

std::string RangeFrom(std::uint64_t start) { return "bytes=" + std::to_string(start) + "-"; }

}  // namespace uh::protocol
