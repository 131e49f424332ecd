// ParseConfig on an untrusted /etc/updatehub.conf, TOML or the v1 agents' INI. Errors must be
// kInvalidArgument naming the file. A config that parses is written back as TOML with every key
// (the way a tool migrating a v1 file would) and must parse to the same values: both front ends
// and the key table agree, and nothing a file sets is lost. Target paths of a package must land
// under the configured target root, and the /info view must serialise.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/device/config.hpp"
#include "agent/device/duration.hpp"
#include "fuzz_check.hpp"
#include "fuzz_support.hpp"

namespace {

using uh::fuzz::TomlString;

using uh::agent::AgentConfig;

constexpr std::string_view kOrigin = "/etc/updatehub.conf";

std::string TomlList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) out += (out.size() > 1 ? ", " : "") + TomlString(item);
  return out + "]";
}

std::string TomlBool(bool value) { return value ? "true" : "false"; }

std::string ToToml(const AgentConfig& config) {
  const auto& network = config.network;
  const auto& storage = config.storage;
  const auto& polling = config.polling;
  const auto& update = config.update;
  return "[network]\nserver_address = " + TomlString(network.server_address) +
         "\nlisten_socket = " + TomlString(network.listen_socket) +
         "\nca_file = " + TomlString(network.ca_file.string()) +
         "\nproduct_token = " + TomlString(network.product_token) +
         "\n[storage]\nread_only = " + TomlBool(storage.read_only) +
         "\nruntime_settings = " + TomlString(storage.runtime_settings.string()) +
         "\nstate_file = " + TomlString(storage.state_file.string()) +
         "\n[polling]\nenabled = " + TomlBool(polling.enabled) +
         "\ninterval = " + TomlString(uh::agent::FormatSeconds(polling.interval)) +
         "\njitter_percent = " + std::to_string(polling.jitter_percent) +
         "\n[update]\ndownload_dir = " + TomlString(update.download_dir.string()) +
         "\nsupported_install_modes = " + TomlList(update.supported_install_modes) +
         "\ntarget_root = " + TomlString(update.target_root.string()) +
         "\nreboot_command = " + TomlList(update.reboot_command) +
         "\nslot_commands_dir = " + TomlString(update.slot_commands_dir.string()) +
         "\n[firmware]\nmetadata = " + TomlString(config.firmware.metadata.string()) + "\n";
}

// Every string the config holds, for the UTF-8 check.
std::vector<std::string> Strings(const AgentConfig& config) {
  std::vector<std::string> all = {config.network.server_address,
                                  config.network.listen_socket,
                                  config.network.ca_file.string(),
                                  config.network.product_token,
                                  config.storage.runtime_settings.string(),
                                  config.storage.state_file.string(),
                                  config.update.download_dir.string(),
                                  config.update.target_root.string(),
                                  config.update.slot_commands_dir.string(),
                                  config.firmware.metadata.string()};
  all.insert(all.end(), config.update.supported_install_modes.begin(),
             config.update.supported_install_modes.end());
  all.insert(all.end(), config.update.reboot_command.begin(), config.update.reboot_command.end());
  return all;
}

bool Same(const AgentConfig& a, const AgentConfig& b) {
  return a.network.server_address == b.network.server_address &&
         a.network.listen_socket == b.network.listen_socket &&
         a.network.ca_file == b.network.ca_file &&
         a.network.product_token == b.network.product_token &&
         a.storage.read_only == b.storage.read_only &&
         a.storage.runtime_settings == b.storage.runtime_settings &&
         a.storage.state_file == b.storage.state_file && a.polling.enabled == b.polling.enabled &&
         a.polling.interval == b.polling.interval &&
         a.polling.jitter_percent == b.polling.jitter_percent &&
         a.update.download_dir == b.update.download_dir &&
         a.update.supported_install_modes == b.update.supported_install_modes &&
         a.update.target_root == b.update.target_root &&
         a.update.reboot_command == b.update.reboot_command &&
         a.update.slot_commands_dir == b.update.slot_commands_dir &&
         a.firmware.metadata == b.firmware.metadata;
}

void CheckTargetRoot(const uh::agent::UpdateConfig& update) {
  const auto root = update.target_root.lexically_normal();
  for (const char* target : {"/dev/mmcblk0p2", "/../../etc/passwd", "/a/./b/../../../c", "/"}) {
    auto rooted = update.UnderTargetRoot(target);
    UH_FUZZ_CHECK(rooted.has_value(), "an absolute target path is refused");
    const auto relative = rooted->lexically_relative(root);
    UH_FUZZ_CHECK(!relative.empty() && *relative.begin() != "..",
                  "a target path escapes the target root");
  }
  UH_FUZZ_CHECK(!update.UnderTargetRoot("dev/sda"), "a relative target path is accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = uh::agent::ParseConfig(text, kOrigin);
  if (!loaded) {
    UH_FUZZ_CHECK(loaded.error().code() == uh::Errc::kInvalidArgument,
                  "a bad config is not kInvalidArgument");
    UH_FUZZ_CHECK(loaded.error().message().starts_with(std::string(kOrigin) + ":"),
                  "a config error does not name the file and line");
    return 0;
  }
  UH_FUZZ_CHECK(loaded->source != uh::agent::ConfigSource::kDefaults,
                "parsed text claims to be the defaults");
  const AgentConfig& config = loaded->config;
  UH_FUZZ_CHECK(config.polling.interval >= uh::agent::kMinPollingInterval,
                "an interval under the minimum is accepted");
  UH_FUZZ_CHECK(config.polling.jitter_percent <= 50, "a jitter over 50% is accepted");
  UH_FUZZ_CHECK(!uh::fuzz::HasControl(config.network.product_token),
                "a product token with control characters is accepted");
  (void)uh::agent::ConfigToInfoJson(config).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
  CheckTargetRoot(config.update);

  // TOML holds UTF-8 only; a legacy INI file may hold anything.
  for (const auto& value : Strings(config)) {
    if (!uh::fuzz::IsValidUtf8(value)) return 0;
  }
  const std::string toml = ToToml(config);
  auto reparsed = uh::agent::ParseConfig(toml, kOrigin);
  if (!reparsed) std::fprintf(stderr, "reparse error: %s\n", reparsed.error().message().c_str());
  UH_FUZZ_CHECK(reparsed.has_value(), "the config written back as TOML does not parse");
  UH_FUZZ_CHECK(reparsed->source == uh::agent::ConfigSource::kToml, "TOML read as legacy INI");
  UH_FUZZ_CHECK(Same(reparsed->config, config), "the config written back has other values");
  return 0;
}
