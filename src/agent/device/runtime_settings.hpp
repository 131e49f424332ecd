#pragma once

// What the agent remembers between runs (storage.runtime_settings): when it last probed, how
// many probes failed, and which slot an update is booting into. The file is upstream's JSON,
// field for field, so that a device can move between upstream's agent and ours:
//
//   {"polling": {"last": "2026-01-02T03:04:05Z", "retries": 0, "now": false,
//                "server_address": "default" | {"custom": "https://..."}},
//    "update": {"upgrade_to_installation": "a" | "b", "applied_package_uid": "..."},
//    "path": "/var/lib/updatehub/runtime_settings.conf", "persistent": true}
//
// Upstream writes "last" = the epoch when it never probed; we read that as "never". The v1
// agents' INI form ([Polling] LastPoll, Retries, ProbeASAP; [Update] UpgradeToInstallation) is
// read too and rewritten as JSON on the next save.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::agent {

struct RuntimePolling {
  std::optional<std::chrono::system_clock::time_point> last;  // nullopt: never probed
  std::uint64_t retries = 0;                                  // consecutive failed probes
  bool now = false;                                           // probe at once at start
  std::optional<std::string> custom_server_address;           // nullopt: the configured one
  bool operator==(const RuntimePolling&) const = default;
};

struct RuntimeUpdate {
  std::optional<int> upgrade_to_installation;  // slot being booted into: 0 ("a") or 1 ("b")
  std::optional<std::string> applied_package_uid;
  bool operator==(const RuntimeUpdate&) const = default;
};

struct RuntimeSettings {
  RuntimePolling polling;
  RuntimeUpdate update;
  bool operator==(const RuntimeSettings&) const = default;
};

struct LoadedRuntimeSettings {
  RuntimeSettings settings;
  // Something the caller should log: the file was corrupt and moved aside, or was legacy.
  std::optional<std::string> warning;
};

// Reads the file; a missing file means defaults. A corrupt one (not JSON, truncated, wrong
// types, too large) is renamed to "<path>.old" and defaults are returned with a warning. Only
// an I/O error (unreadable file) fails.
[[nodiscard]] Expected<LoadedRuntimeSettings> LoadRuntimeSettings(
    const std::filesystem::path& path);

// Writes atomically (temporary file, fsync, rename, fsync of the directory), creating the
// directory when needed.
[[nodiscard]] Expected<void> SaveRuntimeSettings(const std::filesystem::path& path,
                                                 const RuntimeSettings& settings);

// Parses the JSON (or legacy INI) text; fails with kMalformed saying what is wrong.
[[nodiscard]] Expected<RuntimeSettings> ParseRuntimeSettings(std::string_view text);

// Upstream's JSON, as saved to the file and shown by GET /info.
[[nodiscard]] nlohmann::json RuntimeSettingsToJson(const RuntimeSettings& settings,
                                                   const std::filesystem::path& path,
                                                   bool persistent);

}  // namespace uh::agent
