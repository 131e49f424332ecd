#pragma once

// People and scripts: passwords hashed with Argon2id, random bearer tokens of which only the
// sha256 is stored, and the first-start admin account.

#include <chrono>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/time.hpp"
#include "server/store/store.hpp"

namespace uh::server {

[[nodiscard]] Expected<std::string> HashPassword(const std::string& password);
[[nodiscard]] bool VerifyPassword(const std::string& password, const std::string& encoded_hash);
// 32 random bytes as 64 hex digits.
[[nodiscard]] std::string NewSecret();
[[nodiscard]] std::string TokenHash(const std::string& secret);

class Auth {
 public:
  explicit Auth(Store& store) : store_(store) {}

  // On an empty store, creates the "admin" user with `password`, or a random password when
  // empty. Returns the generated password (to print once), nullopt when nothing was created.
  [[nodiscard]] Expected<std::optional<std::string>> EnsureAdmin(const std::string& password);

  // Sets the password of `name` (an admin user, created when missing) without the current one,
  // for the operator at the server's console; revokes every token of the user. An empty
  // `password` generates one. Returns the password set.
  [[nodiscard]] Expected<std::string> ResetAdminPassword(const std::string& name,
                                                         const std::string& password);

  // Checks name and password; on success returns a session token secret valid for `ttl`.
  [[nodiscard]] Expected<std::string> Login(const std::string& name, const std::string& password,
                                            std::chrono::seconds ttl = std::chrono::hours(12));
  // A long-lived token for scripts.
  [[nodiscard]] Expected<std::string> CreateApiToken(std::int64_t user_id, const std::string& name);
  // The user id behind an "Authorization: Bearer SECRET" value; fails with kNotFound for a
  // missing, unknown or expired token.
  [[nodiscard]] Expected<std::int64_t> Authenticate(const std::string& authorization_header);
  [[nodiscard]] Expected<bool> Logout(const std::string& authorization_header);

  // A new user; the name is 1 to 64 characters of [A-Za-z0-9._@-].
  [[nodiscard]] Expected<User> CreateUser(const std::string& name, const std::string& password,
                                          bool admin);
  // Checks the current password, stores the new one, revokes every token of the user (other
  // sessions and scripts included) and returns a fresh session token.
  [[nodiscard]] Expected<std::string> ChangePassword(std::int64_t user_id,
                                                     const std::string& current,
                                                     const std::string& replacement);

 private:
  Store& store_;
};

}  // namespace uh::server
