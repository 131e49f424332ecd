#pragma once

// What a simulated fleet is: how many devices, who they say they are, how they poll, how many
// of them fail, and when the run ends.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "package/signature.hpp"

namespace uh::sim {

using Millis = std::chrono::milliseconds;

struct FleetOptions {
  // Base URLs of the servers: "http://host[:port][/path]" (plain HTTP only). With several, the
  // devices are spread over them as by a load balancer: device i starts on server i mod N, and
  // a device whose server cannot be reached (FailsOver) moves on to the next one in the list.
  std::vector<std::string> servers;
  std::uint32_t devices = 1;
  std::string product_uid;  // 64 lowercase hex
  std::string hardware = "board";
  std::string version = "1.0";        // every device starts here
  std::string serial_prefix = "sim";  // device N is "<prefix>-<N>"

  Millis poll_interval{std::chrono::seconds(60)};
  // The first probe comes within [0, jitter]; later waits are the interval +/- jitter.
  Millis jitter{std::chrono::seconds(5)};
  // First delay after a failed request; doubles up to the poll interval.
  Millis retry_base{std::chrono::seconds(1)};

  // Devices (chosen from the seed) that fail every update, at install or at validation.
  double failure_rate = 0;
  // Chance that a download request is cut after a random number of bytes and resumed.
  double interrupt_rate = 0;
  // Attempts of one object download when the transfer itself fails (timeouts, resets).
  unsigned transfer_attempts = 5;
  std::uint64_t seed = 1;

  unsigned connections = 64;
  Millis request_timeout{std::chrono::seconds(30)};
  std::optional<std::string> product_token;      // sent as UH-Product-Token
  std::optional<package::PublicKey> public_key;  // packages must be signed by it

  std::optional<Millis> duration;  // stop after this long
  // Stop once every device runs this version or has failed.
  std::optional<std::string> until_version;
  std::optional<Millis> timeout;  // give up (the run did not reach its goal)
  Millis progress{0};             // a progress line to stderr this often; 0: never
  bool handle_signals = false;    // SIGINT and SIGTERM end the run with a summary
};

// Checks values that would make no sense (rates outside [0, 1], no devices, a product uid that
// is not 64 hex digits, no server or an https URL...).
[[nodiscard]] Expected<void> ValidateOptions(const FleetOptions& options);

// "http://host:port/base" split up.
struct ServerAddress {
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;  // "" or "/base" without a trailing slash
};
[[nodiscard]] Expected<ServerAddress> ParseServerUrl(const std::string& url);

// The most servers one fleet spreads its devices over.
inline constexpr std::size_t kMaxServers = 64;

}  // namespace uh::sim
