#pragma once

// Who may do what through the management API. A user has a role and may be limited to some
// products; a token carries scopes within its user's role. A request is allowed when the
// token's effective scopes (its own, narrowed to what the user's role allows now) hold the
// route's scope, and, for a route about one product, when the user may act on that product.
//
//   scope            what it allows                                       roles
//   read             every GET of products, packages, devices, rollouts   all
//   packages:write   upload and delete packages                           admin, release-manager
//   rollouts:write   create rollouts and control them                     admin, release-manager
//   devices:write    register, accept and reject devices                  admin
//   products:write   create products, change their settings and device    admin
//                    authentication
//   keys:write       add and delete signing keys                          admin
//   users:write      list, create, change and delete users; other users'   admin
//                    tokens
//   audit:read       read and verify the audit log                        admin
//
// Every signed-in user may see itself, change its password, and list, create and revoke its
// own tokens (a new token never gets more than the token that created it).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "server/store/store.hpp"

namespace uh::server {

enum class Scope : std::uint32_t {
  kRead = 1U << 0,
  kPackagesWrite = 1U << 1,
  kRolloutsWrite = 1U << 2,
  kDevicesWrite = 1U << 3,
  kProductsWrite = 1U << 4,
  kKeysWrite = 1U << 5,
  kUsersWrite = 1U << 6,
  kAuditRead = 1U << 7,
};

// A set of scopes.
using Scopes = std::uint32_t;
inline constexpr Scopes kAllScopes = (1U << 8) - 1;

[[nodiscard]] constexpr Scopes operator|(Scope a, Scope b) {
  return static_cast<Scopes>(a) | static_cast<Scopes>(b);
}
[[nodiscard]] constexpr Scopes operator|(Scopes a, Scope b) { return a | static_cast<Scopes>(b); }

[[nodiscard]] std::string_view ScopeName(Scope scope);
// "read packages:write" and back; an unknown name fails with its name in the message.
[[nodiscard]] std::string FormatScopes(Scopes scopes);
[[nodiscard]] std::vector<std::string> ScopeNames(Scopes scopes);
[[nodiscard]] Expected<Scopes> ParseScopes(const std::vector<std::string>& names);
[[nodiscard]] Expected<Scopes> ParseScopes(std::string_view space_separated);

// "admin", "release-manager", "viewer"; nullopt for anything else.
[[nodiscard]] bool IsRole(std::string_view role);
// What a role allows (nothing for an unknown role).
[[nodiscard]] Scopes RoleScopes(std::string_view role);

// The authenticated caller of a request.
struct Caller {
  User user;
  std::string token_hash;
  std::string token_label;  // "sha256:" and 12 hex digits of its hash: which token, no secret
  Scopes scopes = 0;        // effective: the token's, within the role's

  [[nodiscard]] bool Has(Scope scope) const { return (scopes & static_cast<Scopes>(scope)) != 0; }
  // Whether the user may act on the product (users limited to some products).
  [[nodiscard]] bool MayActOn(std::string_view product_uid) const;
  [[nodiscard]] bool LimitedToProducts() const { return !user.products.empty(); }
};

}  // namespace uh::server
