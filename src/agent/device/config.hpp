#pragma once

// The agent's config file, /etc/updatehub.conf: TOML with upstream's sections, keys and
// defaults, or the legacy v1 INI format (sections Polling, Storage, Update, Network, Firmware
// with CamelCase keys), which is still read so that old devices keep working.
//
// Upstream keys (TOML name / legacy v1 INI name, default):
//   [network]  server_address  / Network.ServerAddress       "https://api.updatehub.io"
//              listen_socket   / Network.ListenSocket        "localhost:8080"
//   [storage]  read_only       / Storage.ReadOnly            false
//              runtime_settings / Storage.RuntimeSettingsPath
//                              "/var/lib/updatehub/runtime_settings.conf"
//   [polling]  enabled         / Polling.Enabled             true
//              interval        / Polling.Interval            "1d" (units s m h d; at least 60 s)
//   [update]   download_dir    / Update.DownloadDir          "/tmp/updatehub"
//              supported_install_modes / Update.SupportedInstallModes (comma separated in INI)
//                              ["dry-run","copy","flash","imxkobs","raw","tarball","ubifs"]
//   [firmware] metadata        / Firmware.MetadataPath       "/usr/share/updatehub"
//
// Our extensions (TOML only; upstream agents reject them as unknown keys):
//   [network]  ca_file           CA bundle for https instead of the system's; "" = system
//              product_token     sent to servers that authenticate devices per product; "" = none
//              device_token_file "": the device's own secret (64 hex digits), sent as
//                                UH-Device-Token; created with a random one at start when
//                                missing (mode 0600); "" = none
//              client_certificate, client_key  "": PEM files presented for mutual TLS to the
//                                server; both or neither, and they must exist at start
//              download_min_rate 8192 (bytes/s) and download_time_allowance "5m": a download
//                                is cut (and resumed at the next attempt) once it has taken
//                                longer than the allowance plus its size at this rate;
//                                a rate of 0 means no such deadline
//   [storage]  state_file        the in-progress update state; default: "state.json" in the
//                                directory of runtime_settings
//   [polling]  jitter_percent    0..50, default 10: each wait is randomly up to this much
//                                shorter or longer, so that a fleet rebooted together does not
//                                probe together
//   [update]   target_root       "/": prefix for every target path (simulated devices, tests)
//              reboot_command    ["reboot"]: argv run without a shell to reboot
//              slot_commands_dir "": where updatehub-active-{get,set,validated} are; "" = PATH
//              stream_objects    false: raw objects written whole and uncompressed go straight
//                                into the inactive slot while they download, instead of through
//                                download_dir (for devices without room for an image there)
//              refuse_downgrades false: an offer (from the server or a local or remote install)
//                                whose version is older than the running firmware's
//                                (uh::CompareVersions) is refused at validation. Also read from
//                                a legacy INI file as Update.RefuseDowngrades: v1 agents ignore
//                                unknown INI keys, so such a file still works on them.
//
// As upstream does, unknown TOML sections or keys are errors; missing ones take their default
// (upstream requires every section; accepting fewer breaks nothing). In a legacy INI file
// unknown keys are only warnings, as they were for the v1 agents.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace uh::agent {

struct NetworkConfig {
  std::string server_address = "https://api.updatehub.io";
  std::string listen_socket = "localhost:8080";
  std::filesystem::path ca_file;
  std::string product_token;
  std::filesystem::path device_token_file;
  std::filesystem::path client_certificate;
  std::filesystem::path client_key;
  // As ClientOptions' defaults, where the reasons are.
  std::uint32_t download_min_rate = 8 * 1024;
  std::chrono::seconds download_time_allowance = std::chrono::minutes(5);
};

struct StorageConfig {
  bool read_only = false;
  std::filesystem::path runtime_settings = "/var/lib/updatehub/runtime_settings.conf";
  std::filesystem::path state_file = "/var/lib/updatehub/state.json";
};

struct PollingConfig {
  bool enabled = true;
  std::chrono::seconds interval = std::chrono::days(1);
  unsigned jitter_percent = 10;
};

struct UpdateConfig {
  std::filesystem::path download_dir = "/tmp/updatehub";
  std::vector<std::string> supported_install_modes = {"dry-run", "copy",    "flash", "imxkobs",
                                                      "raw",     "tarball", "ubifs"};
  std::filesystem::path target_root = "/";
  std::vector<std::string> reboot_command = {"reboot"};
  std::filesystem::path slot_commands_dir;
  bool stream_objects = false;
  bool refuse_downgrades = false;

  // `target` (a device or file path from a package) under target_root. Fails when the path is
  // relative or climbs out of target_root with "..".
  [[nodiscard]] Expected<std::filesystem::path> UnderTargetRoot(
      const std::filesystem::path& target) const;
};

struct FirmwareConfig {
  std::filesystem::path metadata = "/usr/share/updatehub";
};

struct AgentConfig {
  NetworkConfig network;
  StorageConfig storage;
  PollingConfig polling;
  UpdateConfig update;
  FirmwareConfig firmware;
};

// The smallest polling interval accepted, as upstream.
inline constexpr std::chrono::seconds kMinPollingInterval{60};

enum class ConfigSource {
  kDefaults,   // the file does not exist
  kToml,       // the current format
  kLegacyIni,  // the v1 agents' format
};

struct LoadedConfig {
  AgentConfig config;
  ConfigSource source = ConfigSource::kDefaults;
  // Things ignored in a legacy file, each "FILE:LINE: Section.Key: why".
  std::vector<std::string> warnings;
};

// Reads the config file; a missing file means defaults. Errors name the file, the line and the
// key: "/etc/updatehub.conf:7: polling.interval: '5x' is not a duration (...)".
[[nodiscard]] Expected<LoadedConfig> LoadConfig(const std::filesystem::path& path);

// A config file named on the command line (`updatehub daemon -c FILE`) must be there: only the
// default path may be missing (and then means defaults). An error when `path` does not exist, is
// a directory or cannot be opened for reading: "config /x.conf: no such file".
[[nodiscard]] Expected<void> CheckNamedConfigFile(const std::filesystem::path& path);

// The same from text; `origin` names it in messages.
[[nodiscard]] Expected<LoadedConfig> ParseConfig(std::string_view text, std::string_view origin);

// The "settings" object of upstream's GET /info, exactly upstream's fields (its SDK rejects
// others), so our extensions, and the product token, are not shown.
[[nodiscard]] nlohmann::json ConfigToInfoJson(const AgentConfig& config);

}  // namespace uh::agent
