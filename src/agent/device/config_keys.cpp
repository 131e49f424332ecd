#include "agent/device/config_keys.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "agent/device/duration.hpp"

namespace uh::agent::device_internal {
namespace {

const std::string& Text(const ConfigValue& value) { return std::get<std::string>(value); }
const std::vector<std::string>& List(const ConfigValue& value) {
  return std::get<std::vector<std::string>>(value);
}

std::unexpected<Error> Invalid(std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(message));
}

Expected<std::filesystem::path> NonEmptyPath(const ConfigValue& value) {
  if (Text(value).empty()) return Invalid("must not be empty");
  return std::filesystem::path(Text(value));
}

Expected<void> SetServerAddress(AgentConfig& config, const ConfigValue& value) {
  const std::string& url = Text(value);
  const bool http = url.starts_with("http://") && url.size() > 7;
  const bool https = url.starts_with("https://") && url.size() > 8;
  if (!http && !https) return Invalid("'" + url + "' must start with http:// or https://");
  config.network.server_address = url;
  return {};
}

Expected<void> SetListenSocket(AgentConfig& config, const ConfigValue& value) {
  const std::string& socket = Text(value);
  const auto colon = socket.rfind(':');
  unsigned port = 0;
  const char* end = socket.data() + socket.size();
  const bool has_port = colon != std::string::npos && colon + 1 < socket.size() &&
                        std::from_chars(socket.data() + colon + 1, end, port).ptr == end &&
                        port <= 65535;  // 0: any free port (the agent logs which)
  if (!has_port) return Invalid("'" + socket + "' must be HOST:PORT, e.g. \"localhost:8080\"");
  config.network.listen_socket = socket;
  return {};
}

Expected<void> SetCaFile(AgentConfig& config, const ConfigValue& value) {
  config.network.ca_file = Text(value);
  return {};
}

Expected<void> SetProductToken(AgentConfig& config, const ConfigValue& value) {
  // It goes into an HTTP header: a control character would split or corrupt the request.
  if (std::ranges::any_of(Text(value), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return Invalid("must not contain control characters");
  }
  config.network.product_token = Text(value);
  return {};
}

Expected<void> SetDeviceTokenFile(AgentConfig& config, const ConfigValue& value) {
  config.network.device_token_file = Text(value);
  return {};
}

Expected<void> SetClientCertificate(AgentConfig& config, const ConfigValue& value) {
  config.network.client_certificate = Text(value);
  return {};
}

Expected<void> SetClientKey(AgentConfig& config, const ConfigValue& value) {
  config.network.client_key = Text(value);
  return {};
}

Expected<void> SetDownloadMinRate(AgentConfig& config, const ConfigValue& value) {
  const auto rate = std::get<std::int64_t>(value);
  if (rate < 0 || rate > std::numeric_limits<std::uint32_t>::max()) {
    return Invalid(std::to_string(rate) +
                   " is not a rate in bytes per second (0 means no download deadline)");
  }
  config.network.download_min_rate = static_cast<std::uint32_t>(rate);
  return {};
}

Expected<void> SetDownloadTimeAllowance(AgentConfig& config, const ConfigValue& value) {
  auto allowance = ParseDuration(Text(value));
  if (!allowance) return std::unexpected(allowance.error());
  config.network.download_time_allowance = *allowance;
  return {};
}

Expected<void> SetReadOnly(AgentConfig& config, const ConfigValue& value) {
  config.storage.read_only = std::get<bool>(value);
  return {};
}

Expected<void> SetRuntimeSettings(AgentConfig& config, const ConfigValue& value) {
  auto path = NonEmptyPath(value);
  if (!path) return std::unexpected(path.error());
  config.storage.runtime_settings = *path;
  return {};
}

Expected<void> SetStateFile(AgentConfig& config, const ConfigValue& value) {
  auto path = NonEmptyPath(value);
  if (!path) return std::unexpected(path.error());
  config.storage.state_file = *path;
  return {};
}

Expected<void> SetPollingEnabled(AgentConfig& config, const ConfigValue& value) {
  config.polling.enabled = std::get<bool>(value);
  return {};
}

Expected<void> SetInterval(AgentConfig& config, const ConfigValue& value) {
  auto interval = ParseDuration(Text(value));
  if (!interval) return std::unexpected(interval.error());
  if (*interval < kMinPollingInterval) {
    return Invalid("'" + Text(value) + "' is shorter than the minimum of 60s");
  }
  config.polling.interval = *interval;
  return {};
}

Expected<void> SetJitter(AgentConfig& config, const ConfigValue& value) {
  const auto percent = std::get<std::int64_t>(value);
  if (percent < 0 || percent > 50) {
    return Invalid(std::to_string(percent) + " is not a percentage from 0 to 50");
  }
  config.polling.jitter_percent = static_cast<unsigned>(percent);
  return {};
}

Expected<void> SetDownloadDir(AgentConfig& config, const ConfigValue& value) {
  auto path = NonEmptyPath(value);
  if (!path) return std::unexpected(path.error());
  config.update.download_dir = *path;
  return {};
}

Expected<void> SetInstallModes(AgentConfig& config, const ConfigValue& value) {
  for (const auto& mode : List(value)) {
    if (mode.empty()) return Invalid("contains an empty install mode");
  }
  config.update.supported_install_modes = List(value);
  return {};
}

Expected<void> SetTargetRoot(AgentConfig& config, const ConfigValue& value) {
  const std::filesystem::path root(Text(value));
  if (!root.is_absolute()) return Invalid("'" + Text(value) + "' must be an absolute path");
  config.update.target_root = root;
  return {};
}

Expected<void> SetRebootCommand(AgentConfig& config, const ConfigValue& value) {
  if (List(value).empty() || List(value).front().empty()) {
    return Invalid("must name a program, e.g. [\"reboot\"]");
  }
  config.update.reboot_command = List(value);
  return {};
}

Expected<void> SetStreamObjects(AgentConfig& config, const ConfigValue& value) {
  config.update.stream_objects = std::get<bool>(value);
  return {};
}

Expected<void> SetRefuseDowngrades(AgentConfig& config, const ConfigValue& value) {
  config.update.refuse_downgrades = std::get<bool>(value);
  return {};
}

Expected<void> SetSlotCommandsDir(AgentConfig& config, const ConfigValue& value) {
  config.update.slot_commands_dir = Text(value);
  return {};
}

Expected<void> SetMetadata(AgentConfig& config, const ConfigValue& value) {
  auto path = NonEmptyPath(value);
  if (!path) return std::unexpected(path.error());
  config.firmware.metadata = *path;
  return {};
}

using enum ValueKind;
constexpr ConfigKey kKeys[] = {
    {"network", "server_address", "Network", "ServerAddress", kString, SetServerAddress},
    {"network", "listen_socket", "Network", "ListenSocket", kString, SetListenSocket},
    {"network", "ca_file", "", "", kString, SetCaFile},
    {"network", "product_token", "", "", kString, SetProductToken},
    {"network", "device_token_file", "", "", kString, SetDeviceTokenFile},
    {"network", "client_certificate", "", "", kString, SetClientCertificate},
    {"network", "client_key", "", "", kString, SetClientKey},
    {"network", "download_min_rate", "", "", kInteger, SetDownloadMinRate},
    {"network", "download_time_allowance", "", "", kString, SetDownloadTimeAllowance},
    {"storage", "read_only", "Storage", "ReadOnly", kBool, SetReadOnly},
    {"storage", "runtime_settings", "Storage", "RuntimeSettingsPath", kString, SetRuntimeSettings},
    {"storage", "state_file", "", "", kString, SetStateFile},
    {"polling", "enabled", "Polling", "Enabled", kBool, SetPollingEnabled},
    {"polling", "interval", "Polling", "Interval", kString, SetInterval},
    {"polling", "jitter_percent", "", "", kInteger, SetJitter},
    {"update", "download_dir", "Update", "DownloadDir", kString, SetDownloadDir},
    {"update", "supported_install_modes", "Update", "SupportedInstallModes", kStringList,
     SetInstallModes},
    {"update", "target_root", "", "", kString, SetTargetRoot},
    {"update", "reboot_command", "", "", kStringList, SetRebootCommand},
    {"update", "slot_commands_dir", "", "", kString, SetSlotCommandsDir},
    {"update", "stream_objects", "", "", kBool, SetStreamObjects},
    {"update", "refuse_downgrades", "Update", "RefuseDowngrades", kBool, SetRefuseDowngrades},
    {"firmware", "metadata", "Firmware", "MetadataPath", kString, SetMetadata},
};

}  // namespace

std::span<const ConfigKey> ConfigKeys() { return kKeys; }

const ConfigKey* FindKey(std::string_view section, std::string_view name) {
  for (const auto& key : kKeys) {
    if (key.section == section && key.name == name) return &key;
  }
  return nullptr;
}

const ConfigKey* FindLegacyKey(std::string_view section, std::string_view name) {
  for (const auto& key : kKeys) {
    if (!key.legacy_section.empty() && key.legacy_section == section && key.legacy_name == name) {
      return &key;
    }
  }
  return nullptr;
}

std::vector<std::string> SectionNames() {
  std::vector<std::string> names;
  for (const auto& key : kKeys) {
    if (std::ranges::find(names, key.section) == names.end()) names.emplace_back(key.section);
  }
  return names;
}

std::vector<std::string> LegacySectionNames() {
  std::vector<std::string> names;
  for (const auto& key : kKeys) {
    if (!key.legacy_section.empty() &&
        std::ranges::find(names, key.legacy_section) == names.end()) {
      names.emplace_back(key.legacy_section);
    }
  }
  return names;
}

std::string KeyNames(std::string_view section) {
  std::string names;
  for (const auto& key : kKeys) {
    if (key.section != section) continue;
    if (!names.empty()) names += ", ";
    names += key.name;
  }
  return names;
}

std::string_view KindName(ValueKind kind) {
  switch (kind) {
    case kString:
      return "a string";
    case kBool:
      return "a boolean (true or false)";
    case kInteger:
      return "an integer";
    case kStringList:
      return "an array of strings";
  }
  return "a value";
}

Expected<void> FinishConfig(AgentConfig& config, const std::set<std::string>& keys_set) {
  if (!keys_set.contains("storage.state_file")) {
    config.storage.state_file = config.storage.runtime_settings.parent_path() / "state.json";
  }
  if (config.network.client_certificate.empty() != config.network.client_key.empty()) {
    return Invalid(
        "network.client_certificate and network.client_key go together: set both or neither");
  }
  return {};
}

}  // namespace uh::agent::device_internal
