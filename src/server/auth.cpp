#include "server/auth.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "core/hash.hpp"

namespace uh::server {
namespace {

// OWASP's Argon2id baseline: 19 MiB, 2 iterations, 1 lane.
constexpr std::uint32_t kTimeCost = 2;
constexpr std::uint32_t kMemoryKiB = 19 * 1024;
constexpr std::uint32_t kLanes = 1;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kMaxPasswordBytes = 1024;

std::string BearerSecret(const std::string& header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size() || header.compare(0, kPrefix.size(), kPrefix) != 0) {
    return {};
  }
  return header.substr(kPrefix.size());
}

}  // namespace

Expected<std::string> HashPassword(const std::string& password) {
  if (password.size() < 8)
    return Fail(Errc::kInvalidArgument, "passwords need 8 characters or more");
  if (password.size() > kMaxPasswordBytes) return Fail(Errc::kInvalidArgument, "password too long");
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), salt.size()) != 1) return Fail(Errc::kInternal, "no randomness");
  const std::size_t length =
      argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(length, '\0');
  const int rc =
      argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(),
                            salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Fail(Errc::kInternal, argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(const std::string& password, const std::string& encoded_hash) {
  if (password.size() > kMaxPasswordBytes || encoded_hash.empty()) return false;
  return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string NewSecret() {
  std::array<std::byte, 32> bytes{};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size()) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return HexEncode(bytes);
}

std::string TokenHash(const std::string& secret) { return Sha256Hex(secret); }

Expected<std::optional<std::string>> Auth::EnsureAdmin(const std::string& password) {
  auto count = store_.CountUsers();
  if (!count) return std::unexpected(count.error());
  if (*count > 0) return std::optional<std::string>();
  const std::string chosen = password.empty() ? NewSecret().substr(0, 24) : password;
  auto hash = HashPassword(chosen);
  if (!hash) return std::unexpected(hash.error().WithContext("admin password"));
  User admin;
  admin.name = "admin";
  admin.password_hash = *hash;
  admin.admin = true;
  auto created = store_.CreateUser(admin);
  if (!created) return std::unexpected(created.error());
  return password.empty() ? std::optional<std::string>(chosen) : std::optional<std::string>();
}

Expected<std::string> Auth::ResetAdminPassword(const std::string& name,
                                               const std::string& password) {
  const std::string chosen = password.empty() ? NewSecret().substr(0, 24) : password;
  auto hash = HashPassword(chosen);
  if (!hash) return std::unexpected(hash.error().WithContext("admin password"));
  auto user = store_.FindUser(name);
  if (!user) return std::unexpected(user.error());
  if (!*user) {
    User admin;
    admin.name = name;
    admin.password_hash = *hash;
    admin.admin = true;
    auto created = store_.CreateUser(admin);
    if (!created) return std::unexpected(created.error());
    return chosen;
  }
  if (!(*user)->admin) return Fail(Errc::kInvalidArgument, "user " + name + " is not an admin");
  auto changed = store_.SetUserPassword((*user)->id, *hash);
  if (!changed) return std::unexpected(changed.error());
  UH_TRY(store_.DeleteUserTokens((*user)->id));
  return chosen;
}

Expected<std::string> Auth::Login(const std::string& name, const std::string& password,
                                  std::chrono::seconds ttl) {
  auto user = store_.FindUser(name);
  if (!user) return std::unexpected(user.error());
  if (!*user || !VerifyPassword(password, (*user)->password_hash)) {
    return Fail(Errc::kNotFound, "wrong user name or password");
  }
  const std::string secret = NewSecret();
  const auto now = std::chrono::system_clock::now();
  UH_TRY(store_.InsertToken(
      {TokenHash(secret), (*user)->id, "session", "", FormatTime(now + ttl), FormatTime(now)}));
  return secret;
}

Expected<std::string> Auth::CreateApiToken(std::int64_t user_id, const std::string& name) {
  const std::string secret = NewSecret();
  UH_TRY(store_.InsertToken(
      {TokenHash(secret), user_id, "api", name, "", FormatTime(std::chrono::system_clock::now())}));
  return secret;
}

Expected<std::int64_t> Auth::Authenticate(const std::string& authorization_header) {
  const std::string secret = BearerSecret(authorization_header);
  if (secret.empty()) return Fail(Errc::kNotFound, "missing bearer token");
  auto token = store_.FindToken(TokenHash(secret), FormatTime(std::chrono::system_clock::now()));
  if (!token) return std::unexpected(token.error());
  if (!*token) return Fail(Errc::kNotFound, "invalid or expired token");
  return (*token)->user_id;
}

Expected<bool> Auth::Logout(const std::string& authorization_header) {
  const std::string secret = BearerSecret(authorization_header);
  if (secret.empty()) return false;
  return store_.DeleteToken(TokenHash(secret));
}

Expected<User> Auth::CreateUser(const std::string& name, const std::string& password, bool admin) {
  const bool valid_name =
      !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
               c == '@' || c == '-';
      });
  if (!valid_name) {
    return Fail(Errc::kInvalidArgument, "user names are 1 to 64 letters, digits or any of . _ @ -");
  }
  auto existing = store_.FindUser(name);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return Fail(Errc::kAlreadyExists, "user '" + name + "' already exists");
  auto hash = HashPassword(password);
  if (!hash) return std::unexpected(hash.error());
  User user;
  user.name = name;
  user.password_hash = *hash;
  user.admin = admin;
  return store_.CreateUser(user);
}

Expected<std::string> Auth::ChangePassword(std::int64_t user_id, const std::string& current,
                                           const std::string& replacement) {
  auto user = store_.GetUser(user_id);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(Errc::kNotFound, "unknown user");
  if (!VerifyPassword(current, (*user)->password_hash)) {
    return Fail(Errc::kInvalidArgument, "the current password is wrong");
  }
  auto hash = HashPassword(replacement);
  if (!hash) return std::unexpected(hash.error());
  auto changed = store_.SetUserPassword(user_id, *hash);
  if (!changed) return std::unexpected(changed.error());
  UH_TRY(store_.DeleteUserTokens(user_id));
  return Login((*user)->name, replacement);
}

}  // namespace uh::server
