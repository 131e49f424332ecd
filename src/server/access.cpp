#include "server/access.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/words.hpp"

namespace uh::server {
namespace {

constexpr std::array<std::pair<Scope, std::string_view>, 8> kScopeNames = {{
    {Scope::kRead, "read"},
    {Scope::kPackagesWrite, "packages:write"},
    {Scope::kRolloutsWrite, "rollouts:write"},
    {Scope::kDevicesWrite, "devices:write"},
    {Scope::kProductsWrite, "products:write"},
    {Scope::kKeysWrite, "keys:write"},
    {Scope::kUsersWrite, "users:write"},
    {Scope::kAuditRead, "audit:read"},
}};

}  // namespace

std::string_view ScopeName(Scope scope) {
  for (const auto& [value, name] : kScopeNames) {
    if (value == scope) return name;
  }
  return "?";
}

std::vector<std::string> ScopeNames(Scopes scopes) {
  std::vector<std::string> out;
  for (const auto& [value, name] : kScopeNames) {
    if ((scopes & static_cast<Scopes>(value)) != 0) out.emplace_back(name);
  }
  return out;
}

std::string FormatScopes(Scopes scopes) { return JoinWords(ScopeNames(scopes)); }

Expected<Scopes> ParseScopes(const std::vector<std::string>& names) {
  Scopes out = 0;
  for (const auto& name : names) {
    const auto* found =
        std::ranges::find_if(kScopeNames, [&](const auto& entry) { return entry.second == name; });
    if (found == kScopeNames.end()) {
      std::string known;
      for (const auto& entry : kScopeNames)
        known += (known.empty() ? "" : ", ") + std::string(entry.second);
      return Fail(Errc::kInvalidArgument, "unknown scope '" + name + "' (scopes: " + known + ")");
    }
    out |= static_cast<Scopes>(found->first);
  }
  return out;
}

Expected<Scopes> ParseScopes(std::string_view space_separated) {
  return ParseScopes(SplitWords(space_separated));
}

bool IsRole(std::string_view role) {
  return role == "admin" || role == "release-manager" || role == "viewer";
}

Scopes RoleScopes(std::string_view role) {
  if (role == "admin") return kAllScopes;
  if (role == "release-manager")
    return Scope::kRead | Scope::kPackagesWrite | Scope::kRolloutsWrite;
  if (role == "viewer") return static_cast<Scopes>(Scope::kRead);
  return 0;
}

bool Caller::MayActOn(std::string_view product_uid) const {
  return user.products.empty() ||
         std::ranges::find(user.products, product_uid) != user.products.end();
}

}  // namespace uh::server
