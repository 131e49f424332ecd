#include "agent/device/device_credentials.hpp"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <system_error>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace uh::agent {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenDigits = 2 * kTokenBytes;

Expected<std::string> RandomToken() {
  std::array<std::byte, kTokenBytes> secret{};
  std::size_t filled = 0;
  while (filled < secret.size()) {
    const ssize_t got = ::getrandom(secret.data() + filled, secret.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return FailErrno("getrandom");
    }
    filled += static_cast<std::size_t>(got);
  }
  return HexEncode(secret);
}

// The token in the text of a token file, lowercased; nothing when it is not one.
std::optional<std::string> ParseToken(std::string text) {
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.size() != kTokenDigits ||
      !std::ranges::all_of(text, [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return std::nullopt;
  }
  std::ranges::transform(text, text.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Expected<std::string> CreateToken(const std::filesystem::path& file) {
  auto token = RandomToken();
  if (!token) return token;
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return Fail(Errc::kIo, "creating " + file.parent_path().string() + ": " + ec.message());
  UH_TRY(WriteFileAtomic(file, *token + "\n", 0600));
  spdlog::info("device token: created {}; the server enrols this device at its first contact",
               file.string());
  return token;
}

Expected<void> MustBeReadable(const std::filesystem::path& file, std::string_view key) {
  auto opened = File::OpenRead(file);
  if (!opened) {
    return Fail(Errc::kInvalidArgument,
                "network." + std::string(key) + ": " + opened.error().message());
  }
  return {};
}

}  // namespace

Expected<std::string> LoadOrCreateDeviceToken(const std::filesystem::path& file) {
  const std::string context = "network.device_token_file " + file.string();
  std::error_code ec;
  const bool exists = std::filesystem::exists(file, ec);
  if (ec) return Fail(Errc::kInvalidArgument, context + ": " + ec.message());
  if (!exists) {
    auto created = CreateToken(file);
    if (!created) return std::unexpected(created.error().WithContext(context));
    return created;
  }
  // A little more than a token and its newline: enough to tell a token from anything else.
  auto text = ReadFileLimited(file, kTokenDigits + 16);
  if (!text && text.error().code() != Errc::kTooLarge) {
    return Fail(Errc::kInvalidArgument, context + ": cannot be read: " + text.error().message());
  }
  auto token = text ? ParseToken(std::move(*text)) : std::nullopt;
  if (!token) {
    return Fail(Errc::kInvalidArgument,
                context + ": must hold exactly 64 hex digits (a trailing newline is allowed)");
  }
  return *token;
}

Expected<DeviceCredentials> LoadDeviceCredentials(const NetworkConfig& network) {
  DeviceCredentials credentials;
  if (!network.device_token_file.empty()) {
    auto token = LoadOrCreateDeviceToken(network.device_token_file);
    if (!token) return std::unexpected(token.error());
    credentials.device_token = std::move(*token);
  }
  if (network.client_certificate.empty() != network.client_key.empty()) {
    return Fail(Errc::kInvalidArgument,
                "network.client_certificate and network.client_key go together: set both or "
                "neither");
  }
  if (!network.client_certificate.empty()) {
    UH_TRY(MustBeReadable(network.client_certificate, "client_certificate"));
    UH_TRY(MustBeReadable(network.client_key, "client_key"));
    credentials.client_certificate = network.client_certificate;
    credentials.client_key = network.client_key;
  }
  return credentials;
}

}  // namespace uh::agent
