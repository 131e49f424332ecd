#include "agent/install/owner.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>
#include <vector>

namespace uh::agent {
namespace {

bool AllDigits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

Expected<std::uint32_t> IdNumber(std::int64_t value, const char* field) {
  // (uid_t)-1 means "unchanged" to chown: never a real id.
  if (value < 0 || value >= std::numeric_limits<std::uint32_t>::max()) {
    return Fail(Errc::kMalformed,
                std::string(field) + " " + std::to_string(value) + " is not a valid id");
  }
  return static_cast<std::uint32_t>(value);
}

template <typename Lookup>
Expected<std::uint32_t> ResolveOwner(const package::Owner& owner, const char* field,
                                     Lookup lookup) {
  if (const auto* number = std::get_if<std::int64_t>(&owner)) return IdNumber(*number, field);
  const auto& name = std::get<std::string>(owner);
  if (AllDigits(name)) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (ec != std::errc() ||
        value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Fail(Errc::kMalformed, std::string(field) + " '" + name + "' is not a valid id");
    }
    return IdNumber(static_cast<std::int64_t>(value), field);
  }
  auto id = lookup(name);
  if (!id)
    return Fail(Errc::kInvalidArgument, std::string(field) + " '" + name + "' is unknown here");
  return *id;
}

std::optional<std::uint32_t> UserId(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return found->pw_uid;
}

std::optional<std::uint32_t> GroupId(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

}  // namespace

Expected<FilePermissions> PermissionsOf(const package::Object& object) {
  FilePermissions permissions;
  if (object.target_mode) {
    const auto& text = *object.target_mode;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 07777) {
      return Fail(Errc::kMalformed, "target-mode '" + text + "' is not an octal mode");
    }
    permissions.mode = static_cast<mode_t>(value);
  }
  if (object.target_uid) {
    auto uid = ResolveOwner(*object.target_uid, "target-uid", UserId);
    if (!uid) return std::unexpected(std::move(uid.error()));
    permissions.uid = *uid;
  }
  if (object.target_gid) {
    auto gid = ResolveOwner(*object.target_gid, "target-gid", GroupId);
    if (!gid) return std::unexpected(std::move(gid.error()));
    permissions.gid = *gid;
  }
  return permissions;
}

}  // namespace uh::agent
