#include "agent/device/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "agent/device/config_keys.hpp"
#include "agent/device/duration.hpp"
#include "agent/device/ini.hpp"
#include "core/fs.hpp"

namespace uh::agent {
using device_internal::HasIniSection;

namespace {

constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

}  // namespace

Expected<std::filesystem::path> UpdateConfig::UnderTargetRoot(
    const std::filesystem::path& target) const {
  if (!target.is_absolute()) {
    return Fail(Errc::kInvalidArgument, "target path '" + target.string() + "' is not absolute");
  }
  // Normalising an absolute path first means ".." stops at "/", so the result stays under root.
  const auto normal = target.lexically_normal();
  if (target_root.empty() || target_root == "/") return normal;
  return (target_root / normal.relative_path()).lexically_normal();
}

Expected<LoadedConfig> ParseConfig(std::string_view text, std::string_view origin) {
  if (!HasIniSection(text, device_internal::LegacySectionNames())) {
    return device_internal::ReadTomlConfig(text, origin);
  }
  // A line such as "[Polling]" marks upstream's v1 INI format, unless it is inside a TOML
  // multi-line string: a file that reads as our TOML is TOML. (v1 sections are capitalised,
  // which the TOML reader refuses, so a v1 file never passes for TOML.)
  auto toml = device_internal::ReadTomlConfig(text, origin);
  if (toml) return toml;
  return device_internal::ReadLegacyIniConfig(text, origin);
}

Expected<LoadedConfig> LoadConfig(const std::filesystem::path& path) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (error) {
    return Fail(Errc::kIo, "config " + path.string() + ": " + error.message());
  }
  if (!exists) return LoadedConfig{};
  auto text = ReadFileLimited(path, kMaxConfigBytes);
  if (!text) return std::unexpected(std::move(text.error()).WithContext("reading config"));
  return ParseConfig(*text, path.string());
}

Expected<void> CheckNamedConfigFile(const std::filesystem::path& path) {
  const std::string what = "config " + path.string() + ": ";
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    return Fail(Errc::kNotFound, what + (error && error != std::errc::no_such_file_or_directory
                                             ? error.message()
                                             : std::string("no such file")));
  }
  if (std::filesystem::is_directory(status)) {
    return Fail(Errc::kInvalidArgument, what + "is a directory, not a file");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(Errc::kIo, what + "cannot be read: " + std::generic_category().message(errno));
  }
  ::close(fd);
  return {};
}

nlohmann::json ConfigToInfoJson(const AgentConfig& config) {
  return {
      {"firmware", {{"metadata", config.firmware.metadata.string()}}},
      {"network",
       {{"server_address", config.network.server_address},
        {"listen_socket", config.network.listen_socket}}},
      {"polling",
       {{"interval", FormatSeconds(config.polling.interval)}, {"enabled", config.polling.enabled}}},
      {"storage",
       {{"read_only", config.storage.read_only},
        {"runtime_settings", config.storage.runtime_settings.string()}}},
      {"update",
       {{"download_dir", config.update.download_dir.string()},
        {"supported_install_modes", config.update.supported_install_modes}}},
  };
}

}  // namespace uh::agent
