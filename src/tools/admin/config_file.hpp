#pragma once

// Where `updatehub-admin login` keeps the server and the session token:
// $XDG_CONFIG_HOME/updatehub-admin/config.json (~/.config/... without XDG_CONFIG_HOME), the file
// 0600 in a directory 0700. A file that someone else owns or may write is refused rather than
// read: whoever can write it chooses where the token is sent.

#include <filesystem>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace uh::admin {

struct StoredLogin {
  std::string server;
  std::string token;    // empty after logout
  std::string ca_file;  // --cacert given at login, used again for the same server
};

// The config file's path from the environment; kInvalidArgument when neither XDG_CONFIG_HOME nor
// HOME is set.
[[nodiscard]] Expected<std::filesystem::path> ConfigPath();

// The stored login, nullopt when there is no file.
[[nodiscard]] Expected<std::optional<StoredLogin>> LoadLogin(const std::filesystem::path& path);

// Writes the file atomically with mode 0600, creating its directory with mode 0700.
[[nodiscard]] Expected<void> SaveLogin(const std::filesystem::path& path, const StoredLogin& login);

}  // namespace uh::admin
