#pragma once

// The device's own credentials for servers that authenticate devices (docs/protocol.md, 1.1):
// a secret sent as `UH-Device-Token`, kept in a file that the agent creates on its first start
// when the operator has not provisioned one, and a client certificate for mutual TLS. Both are
// named in the config's [network] section; they are read once, when the agent starts.

#include <filesystem>
#include <optional>
#include <string>

#include "agent/device/config.hpp"
#include "core/error.hpp"

namespace uh::agent {

struct DeviceCredentials {
  std::optional<std::string> device_token;  // 64 lowercase hex
  std::optional<std::filesystem::path> client_certificate;
  std::optional<std::filesystem::path> client_key;
};

// The secret in `file`: exactly 64 hex digits, a trailing newline allowed (returned lowercase).
// When `file` does not exist, a random secret (32 bytes from the kernel) is written there first,
// atomically and with mode 0600, its directory created if needed; the server enrols the device
// at its first contact. A file holding anything else, or unreadable, is an error naming it.
[[nodiscard]] Expected<std::string> LoadOrCreateDeviceToken(const std::filesystem::path& file);

// What `network` names: the device token (LoadOrCreateDeviceToken) when device_token_file is
// set, and the client certificate and key, which must both exist and be readable.
[[nodiscard]] Expected<DeviceCredentials> LoadDeviceCredentials(const NetworkConfig& network);

}  // namespace uh::agent
