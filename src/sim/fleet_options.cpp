#include "sim/fleet_options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/hash.hpp"

namespace uh::sim {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char expected, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == expected;
         });
}

Expected<void> Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

}  // namespace

Expected<ServerAddress> ParseServerUrl(const std::string& url) {
  if (StartsWithNoCase(url, "https://")) {
    return Fail(Errc::kUnsupported, "https is not supported by the simulator; use http://");
  }
  if (!StartsWithNoCase(url, "http://")) {
    return Fail(Errc::kInvalidArgument, "the server URL must start with http://: " + url);
  }
  std::string_view rest = std::string_view(url).substr(7);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "the server URL may not have a query: " + url);
  }
  ServerAddress address;
  address.base_path = std::string(path);
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return Fail(Errc::kInvalidArgument, "bad host: " + url);
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return Fail(Errc::kInvalidArgument, "bad host: " + url);
      port = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "the server URL has no usable host: " + url);
  }
  address.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Fail(Errc::kInvalidArgument, "bad port in the server URL: " + url);
    }
    address.port = static_cast<std::uint16_t>(value);
  }
  return address;
}

Expected<void> ValidateOptions(const FleetOptions& options) {
  if (options.servers.empty() || options.servers.size() > kMaxServers) {
    return Invalid("--server must be given between 1 and " + std::to_string(kMaxServers) +
                   " times");
  }
  for (const auto& url : options.servers) {
    if (auto address = ParseServerUrl(url); !address) return std::unexpected(address.error());
  }
  constexpr std::uint32_t kMaxDevices = 10'000'000;
  if (options.devices == 0 || options.devices > kMaxDevices) {
    return Invalid("--devices must be between 1 and " + std::to_string(kMaxDevices));
  }
  if (!IsLowerHexSha256(options.product_uid)) {
    return Invalid("--product must be 64 lowercase hex digits");
  }
  if (options.hardware.empty() || options.version.empty()) {
    return Invalid("--hardware and --version may not be empty");
  }
  if (options.until_version && options.until_version->empty()) {
    return Invalid("--until-version may not be empty");
  }
  if (options.poll_interval.count() <= 0) return Invalid("--poll-interval must be positive");
  if (options.jitter.count() < 0) return Invalid("--jitter may not be negative");
  if (options.retry_base.count() <= 0) return Invalid("the retry delay must be positive");
  for (const double rate : {options.failure_rate, options.interrupt_rate}) {
    if (!(rate >= 0 && rate <= 1)) {
      return Invalid("--failure-rate and --interrupt-rate must be within [0, 1]");
    }
  }
  if (options.connections == 0 || options.connections > 10'000) {
    return Invalid("--connections must be between 1 and 10000");
  }
  if (options.transfer_attempts == 0 || options.transfer_attempts > 100) {
    return Invalid("transfer attempts must be between 1 and 100");
  }
  if (options.request_timeout.count() <= 0) return Invalid("the request timeout must be positive");
  if (options.duration && options.duration->count() <= 0) {
    return Invalid("--duration must be positive");
  }
  if (options.timeout && options.timeout->count() <= 0)
    return Invalid("--timeout must be positive");
  if (options.progress.count() < 0) return Invalid("--progress may not be negative");
  return {};
}

}  // namespace uh::sim
