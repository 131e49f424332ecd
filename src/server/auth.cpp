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

// The most common passwords of 8 characters or more in public breach corpora, lower case.
constexpr std::array<std::string_view, 64> kCommonPasswords = {
    "password",   "12345678",    "123456789",  "1234567890", "qwertyuiop", "password1",
    "password12", "password123", "iloveyou",   "sunshine",   "princess",   "football",
    "baseball",   "welcome1",    "welcome123", "admin123",   "admin1234",  "administrator",
    "letmein1",   "trustno1",    "1q2w3e4r",   "1qaz2wsx",   "zaq12wsx",   "abc12345",
    "abcd1234",   "qwer1234",    "1234qwer",   "q1w2e3r4",   "qwerty12",   "qwerty123",
    "qwertyui",   "asdfghjk",    "asdfghjkl",  "zxcvbnm1",   "superman",   "starwars",
    "dragon12",   "monkey12",    "changeme",   "passw0rd",   "p@ssw0rd",   "p@ssword",
    "master12",   "shadow12",    "michael1",   "jennifer",   "computer",   "internet",
    "whatever",   "11223344",    "12341234",   "123123123",  "987654321",  "87654321",
    "123qweasd",  "qweasdzxc",   "1q2w3e4r5t", "default1",   "secret12",   "updatehub",
    "firmware",   "raspberry",   "letmeinnow", "iloveyou1"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// 12345678, 87654321, abcdefgh...: each byte one more (or one less) than the one before.
bool IsPlainRun(std::string_view text) {
  if (text.size() < 2) return true;
  const int step = static_cast<unsigned char>(text[1]) - static_cast<unsigned char>(text[0]);
  if (step != 1 && step != -1 && step != 0) return false;
  for (std::size_t i = 2; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) - static_cast<unsigned char>(text[i - 1]) != step) {
      return false;
    }
  }
  return true;
}

std::string BearerSecret(const std::string& header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size() || header.compare(0, kPrefix.size(), kPrefix) != 0) {
    return {};
  }
  return header.substr(kPrefix.size());
}

}  // namespace

Expected<void> CheckPasswordPolicy(std::string_view user, std::string_view password) {
  if (password.size() < 8) {
    return Fail(Errc::kInvalidArgument, "passwords need 8 characters or more");
  }
  if (password.size() > kMaxPasswordBytes) return Fail(Errc::kInvalidArgument, "password too long");
  const std::string lower = Lower(password);
  const std::string name = Lower(user);
  if (!name.empty() &&
      (lower.find(name) != std::string::npos || name.find(lower) != std::string::npos)) {
    return Fail(Errc::kInvalidArgument, "the password must not contain the user name");
  }
  if (std::ranges::find(kCommonPasswords, lower) != kCommonPasswords.end()) {
    return Fail(Errc::kInvalidArgument,
                "that password is one of the most common ones: choose another");
  }
  if (IsPlainRun(lower)) {
    return Fail(Errc::kInvalidArgument,
                "the password is one character repeated or a plain run: choose another");
  }
  return {};
}

std::chrono::seconds LoginThrottle::WaitOf(const Map& map, const std::string& key, unsigned free,
                                           std::chrono::system_clock::time_point now) const {
  const auto found = map.find(key);
  if (found == map.end() || found->second.failures < free) return std::chrono::seconds(0);
  const unsigned over = std::min(found->second.failures - free + 1, 10u);
  const auto delay = std::min(std::chrono::seconds(1ll << over), std::chrono::seconds(900));
  const auto until = found->second.last + delay;
  if (until <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(until - now);
}

std::chrono::seconds LoginThrottle::Wait(const std::string& user, const std::string& address) {
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  return std::max(WaitOf(users_, Lower(user), kFreeUserFailures, now),
                  WaitOf(addresses_, address, kFreeAddressFailures, now));
}

void LoginThrottle::Count(Map& map, const std::string& key,
                          std::chrono::system_clock::time_point now) {
  if (map.size() >= kMaxEntries && !map.contains(key)) {
    // Full: drop what is an hour old, else the stalest entry.
    std::erase_if(
        map, [now](const auto& item) { return now - item.second.last > std::chrono::hours(1); });
    if (map.size() >= kMaxEntries) {
      map.erase(std::ranges::min_element(map, {}, [](const auto& item) {
                  return item.second.last;
                })->first);
    }
  }
  Entry& entry = map[key];
  if (now - entry.last > std::chrono::hours(1)) entry.failures = 0;
  ++entry.failures;
  entry.last = now;
}

void LoginThrottle::Failed(const std::string& user, const std::string& address) {
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  Count(users_, Lower(user), now);
  Count(addresses_, address, now);
}

void LoginThrottle::Succeeded(const std::string& user) {
  std::lock_guard lock(mutex_);
  users_.erase(Lower(user));
}

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
  if (!password.empty()) {
    UH_TRY_CTX(CheckPasswordPolicy("admin", password), "UPDATEHUB_ADMIN_PASSWORD");
  }
  const std::string chosen = password.empty() ? NewSecret().substr(0, 24) : password;
  auto hash = HashPassword(chosen);
  if (!hash) return std::unexpected(hash.error().WithContext("admin password"));
  User admin;
  admin.name = "admin";
  admin.password_hash = *hash;
  admin.role = "admin";
  auto created = store_.CreateUser(admin);
  if (!created) return std::unexpected(created.error());
  return password.empty() ? std::optional<std::string>(chosen) : std::optional<std::string>();
}

Expected<std::string> Auth::ResetAdminPassword(const std::string& name,
                                               const std::string& password) {
  if (!password.empty()) {
    UH_TRY_CTX(CheckPasswordPolicy(name, password), "UPDATEHUB_ADMIN_PASSWORD");
  }
  const std::string chosen = password.empty() ? NewSecret().substr(0, 24) : password;
  auto hash = HashPassword(chosen);
  if (!hash) return std::unexpected(hash.error().WithContext("admin password"));
  auto user = store_.FindUser(name);
  if (!user) return std::unexpected(user.error());
  if (!*user) {
    User admin;
    admin.name = name;
    admin.password_hash = *hash;
    admin.role = "admin";
    auto created = store_.CreateUser(admin);
    if (!created) return std::unexpected(created.error());
    return chosen;
  }
  if (!(*user)->IsAdmin()) return Fail(Errc::kInvalidArgument, "user " + name + " is not an admin");
  auto changed = store_.SetUserPassword((*user)->id, *hash);
  if (!changed) return std::unexpected(changed.error());
  UH_TRY(store_.DeleteUserTokens((*user)->id));
  return chosen;
}

Expected<std::string> Auth::Login(const std::string& name, const std::string& password,
                                  const std::string& address, std::chrono::seconds ttl) {
  // What an unknown name is checked against: a hash made once, of a password nobody has.
  static const std::string decoy = [] {
    auto hash = HashPassword("decoy " + NewSecret());
    return hash ? *hash : std::string();
  }();
  auto user = store_.FindUser(name);
  if (!user) return std::unexpected(user.error());
  const bool verified = *user ? VerifyPassword(password, (*user)->password_hash)
                              : (static_cast<void>(VerifyPassword(password, decoy)), false);
  if (!verified) {
    throttle_.Failed(name, address);
    return Fail(Errc::kNotFound, "wrong user name or password");
  }
  throttle_.Succeeded(name);
  const std::string secret = NewSecret();
  const auto now = std::chrono::system_clock::now();
  UH_TRY(store_.InsertToken({TokenHash(secret), (*user)->id, "session", "", FormatTime(now + ttl),
                             FormatTime(now), "", ""}));
  return secret;
}

Expected<std::string> Auth::CreateApiToken(const Caller& creator, const std::string& name,
                                           Scopes scopes, const std::string& expires_at) {
  if (name.empty() || name.size() > 100) {
    return Fail(Errc::kInvalidArgument, "a token's name is 1 to 100 characters");
  }
  if (scopes == 0) return Fail(Errc::kInvalidArgument, "a token needs at least one scope");
  if ((scopes & ~creator.scopes) != 0) {
    return Fail(Errc::kForbidden, "a token cannot have scopes its creator lacks: " +
                                      FormatScopes(scopes & ~creator.scopes));
  }
  const std::string now = FormatTime(std::chrono::system_clock::now());
  if (expires_at <= now) return Fail(Errc::kInvalidArgument, "the expiry must be in the future");
  const std::string secret = NewSecret();
  Token token;
  token.token_hash = TokenHash(secret);
  token.user_id = creator.user.id;
  token.kind = "api";
  token.name = name;
  token.expires_at = expires_at;
  token.created_at = now;
  token.scopes = FormatScopes(scopes);
  UH_TRY(store_.InsertToken(token));
  return secret;
}

Expected<Caller> Auth::Identify(const std::string& authorization_header) {
  const std::string secret = BearerSecret(authorization_header);
  if (secret.empty()) return Fail(Errc::kNotFound, "missing bearer token");
  const std::string hash = TokenHash(secret);
  auto token = store_.FindToken(hash, FormatTime(std::chrono::system_clock::now()));
  if (!token) return std::unexpected(token.error());
  if (!*token) return Fail(Errc::kNotFound, "invalid or expired token");
  auto user = store_.GetUser((*token)->user_id);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(Errc::kNotFound, "invalid or expired token");
  Caller caller;
  caller.user = std::move(**user);
  caller.token_hash = hash;
  // "sha256:" and 12 hex digits of the hash: which token, without anything a reader could use.
  caller.token_label = "sha256:" + hash.substr(0, 12);
  caller.scopes = RoleScopes(caller.user.role);
  if (!(*token)->scopes.empty()) {
    // Scopes stored by this server parse; an unknown one (a newer server's) grants nothing.
    caller.scopes &= ParseScopes((*token)->scopes).value_or(0);
  }
  NoteUse(hash);
  return caller;
}

void Auth::NoteUse(const std::string& token_hash) {
  constexpr std::size_t kMaxRemembered = 100000;
  const auto now = std::chrono::system_clock::now();
  {
    std::lock_guard lock(used_mutex_);
    auto found = used_written_.find(token_hash);
    if (found != used_written_.end() && now - found->second < std::chrono::minutes(1)) return;
    if (used_written_.size() >= kMaxRemembered) used_written_.clear();
    used_written_[token_hash] = now;
  }
  // Bookkeeping: a failure to write it must not refuse the request.
  (void)store_.TouchToken(token_hash, FormatTime(now));
}

Expected<bool> Auth::Logout(const std::string& authorization_header) {
  const std::string secret = BearerSecret(authorization_header);
  if (secret.empty()) return false;
  return store_.DeleteToken(TokenHash(secret));
}

Expected<void> Auth::CheckProducts(const std::vector<std::string>& products) {
  for (const auto& uid : products) {
    auto product = store_.GetProduct(uid);
    if (!product) return std::unexpected(product.error());
    if (!*product) return Fail(Errc::kInvalidArgument, "unknown product '" + uid + "'");
  }
  return {};
}

Expected<User> Auth::CreateUser(const std::string& name, const std::string& password,
                                const std::string& role, const std::vector<std::string>& products) {
  if (!IsRole(role)) {
    return Fail(Errc::kInvalidArgument, "the role is admin, release-manager or viewer");
  }
  UH_TRY(CheckProducts(products));
  const bool valid_name =
      !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
               c == '@' || c == '-';
      });
  if (!valid_name) {
    return Fail(Errc::kInvalidArgument, "user names are 1 to 64 letters, digits or any of . _ @ -");
  }
  auto existing = store_.ListUsers();
  if (!existing) return std::unexpected(existing.error());
  for (const User& other : *existing) {
    if (Lower(other.name) == Lower(name)) {
      return Fail(Errc::kAlreadyExists, "user '" + other.name + "' already exists");
    }
  }
  UH_TRY(CheckPasswordPolicy(name, password));
  auto hash = HashPassword(password);
  if (!hash) return std::unexpected(hash.error());
  User user;
  user.name = name;
  user.password_hash = *hash;
  user.role = role;
  user.products = products;
  return store_.CreateUser(user);
}

Expected<User> Auth::SetRole(std::int64_t user_id, const std::string& role,
                             const std::vector<std::string>& products) {
  if (!IsRole(role)) {
    return Fail(Errc::kInvalidArgument, "the role is admin, release-manager or viewer");
  }
  UH_TRY(CheckProducts(products));
  auto user = store_.GetUser(user_id);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(Errc::kNotFound, "unknown user");
  if ((*user)->IsAdmin() && (role != "admin" || !products.empty())) {
    auto users = store_.ListUsers();
    if (!users) return std::unexpected(users.error());
    const auto admins = std::ranges::count_if(*users, [&](const User& other) {
      return other.IsAdmin() && other.products.empty() && other.id != user_id;
    });
    if (admins == 0) {
      return Fail(Errc::kInvalidArgument,
                  "this is the last administrator of every product: make another one first");
    }
  }
  auto set = store_.SetUserRole(user_id, role, products);
  if (!set) return std::unexpected(set.error());
  if (!*set) return Fail(Errc::kNotFound, "unknown user");
  (*user)->role = role;
  (*user)->products = products;
  return std::move(**user);
}

Expected<std::string> Auth::ChangePassword(std::int64_t user_id, const std::string& current,
                                           const std::string& replacement) {
  auto user = store_.GetUser(user_id);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(Errc::kNotFound, "unknown user");
  if (!VerifyPassword(current, (*user)->password_hash)) {
    return Fail(Errc::kInvalidArgument, "the current password is wrong");
  }
  UH_TRY(CheckPasswordPolicy((*user)->name, replacement));
  auto hash = HashPassword(replacement);
  if (!hash) return std::unexpected(hash.error());
  auto changed = store_.SetUserPassword(user_id, *hash);
  if (!changed) return std::unexpected(changed.error());
  UH_TRY(store_.DeleteUserTokens(user_id));
  return Login((*user)->name, replacement);  // no address: a success, nothing to count
}

}  // namespace uh::server
