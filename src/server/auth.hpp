#pragma once

// People and scripts: passwords hashed with Argon2id, random bearer tokens of which only the
// sha256 is stored, and the first-start admin account.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "server/access.hpp"
#include "server/store/store.hpp"

namespace uh::server {

[[nodiscard]] Expected<std::string> HashPassword(const std::string& password);
[[nodiscard]] bool VerifyPassword(const std::string& password, const std::string& encoded_hash);
// 32 random bytes as 64 hex digits.
[[nodiscard]] std::string NewSecret();
[[nodiscard]] std::string TokenHash(const std::string& secret);

// The password policy: 8 to 1024 bytes; not the user name nor containing it (in any case); not
// one of the most common passwords, one character repeated, or a plain run such as 12345678 or
// abcdefgh. The error says which rule failed.
[[nodiscard]] Expected<void> CheckPasswordPolicy(std::string_view user, std::string_view password);

// Failed logins counted per user name and per client address. After kFreeUserFailures failures
// in a row for a name (kFreeAddressFailures for an address), each further attempt must wait
// 2^k seconds after the last failure (k = 1, 2, ..., at most 15 minutes), even with the right
// password. A success clears the name's count, not the address's (an attacker with an account
// of their own could otherwise clear it between guesses); an hour without failures clears both.
// Memory is bounded: at most kMaxEntries names and addresses each, the stalest dropped first.
class LoginThrottle {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  static constexpr unsigned kFreeUserFailures = 5;
  static constexpr unsigned kFreeAddressFailures = 20;
  static constexpr std::size_t kMaxEntries = 100000;

  explicit LoginThrottle(Clock clock) : clock_(std::move(clock)) {}
  // How long an attempt for `user` from `address` must still wait; zero when it may go ahead.
  [[nodiscard]] std::chrono::seconds Wait(const std::string& user, const std::string& address);
  void Failed(const std::string& user, const std::string& address);
  void Succeeded(const std::string& user);

 private:
  struct Entry {
    unsigned failures = 0;
    std::chrono::system_clock::time_point last;
  };
  using Map = std::unordered_map<std::string, Entry>;
  [[nodiscard]] std::chrono::seconds WaitOf(const Map& map, const std::string& key, unsigned free,
                                            std::chrono::system_clock::time_point now) const;
  void Count(Map& map, const std::string& key, std::chrono::system_clock::time_point now);

  Clock clock_;
  std::mutex mutex_;
  Map users_;
  Map addresses_;
};

class Auth {
 public:
  explicit Auth(Store& store, LoginThrottle::Clock clock = std::chrono::system_clock::now)
      : store_(store), throttle_(std::move(clock)) {}

  // How long a login of `name` from `address` must wait (LoginThrottle); zero: go ahead.
  [[nodiscard]] std::chrono::seconds LoginWait(const std::string& name,
                                               const std::string& address) {
    return throttle_.Wait(name, address);
  }

  // On an empty store, creates the "admin" user with `password`, or a random password when
  // empty. Returns the generated password (to print once), nullopt when nothing was created.
  [[nodiscard]] Expected<std::optional<std::string>> EnsureAdmin(const std::string& password);

  // Sets the password of `name` (an admin user, created when missing) without the current one,
  // for the operator at the server's console; revokes every token of the user. An empty
  // `password` generates one. Returns the password set.
  [[nodiscard]] Expected<std::string> ResetAdminPassword(const std::string& name,
                                                         const std::string& password);

  // Checks name and password; on success returns a session token secret valid for `ttl`. An
  // unknown name costs the same time as a wrong password (a hash is checked either way), so the
  // answer time does not tell which names exist. Failures and successes are counted for the
  // throttle against `address` (the client's).
  [[nodiscard]] Expected<std::string> Login(const std::string& name, const std::string& password,
                                            const std::string& address = "",
                                            std::chrono::seconds ttl = std::chrono::hours(12));
  // A token for scripts, made by `creator`: named, limited to `scopes` (which must be within
  // the creator's own effective scopes, so a token never makes a stronger one), and expiring at
  // `expires_at` (RFC 3339, in the future).
  [[nodiscard]] Expected<std::string> CreateApiToken(const Caller& creator, const std::string& name,
                                                     Scopes scopes, const std::string& expires_at);
  // The caller behind an "Authorization: Bearer SECRET" value: the user as stored now (a
  // changed role applies at once), the token, and its effective scopes. Fails with kNotFound
  // for a missing, unknown or expired token or a deleted user. Records the token's last use
  // (at most once a minute per token).
  [[nodiscard]] Expected<Caller> Identify(const std::string& authorization_header);
  [[nodiscard]] Expected<bool> Logout(const std::string& authorization_header);

  // A new user; the name is 1 to 64 characters of [A-Za-z0-9._@-], unique regardless of case,
  // the password follows CheckPasswordPolicy, the role is one of IsRole's and the products
  // (empty: every product) must exist.
  [[nodiscard]] Expected<User> CreateUser(const std::string& name, const std::string& password,
                                          const std::string& role,
                                          const std::vector<std::string>& products = {});
  // Changes a user's role and products. The last administrator cannot stop being one.
  [[nodiscard]] Expected<User> SetRole(std::int64_t user_id, const std::string& role,
                                       const std::vector<std::string>& products);
  // Checks the current password, stores the new one, revokes every token of the user (other
  // sessions and scripts included) and returns a fresh session token.
  [[nodiscard]] Expected<std::string> ChangePassword(std::int64_t user_id,
                                                     const std::string& current,
                                                     const std::string& replacement);

 private:
  [[nodiscard]] Expected<void> CheckProducts(const std::vector<std::string>& products);
  void NoteUse(const std::string& token_hash);

  Store& store_;
  LoginThrottle throttle_;
  std::mutex used_mutex_;
  // When each token's last use was written; bounded (cleared when it holds too many).
  std::unordered_map<std::string, std::chrono::system_clock::time_point> used_written_;
};

}  // namespace uh::server
