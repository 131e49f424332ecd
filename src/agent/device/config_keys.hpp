#pragma once

// Private to the config reader: one table of every config key, shared by the TOML and the
// legacy INI front ends. A front end turns the text into a typed ConfigValue of the key's kind;
// the key's `apply` checks its meaning and stores it.

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/device/config.hpp"

namespace uh::agent::device_internal {

enum class ValueKind { kString, kBool, kInteger, kStringList };
using ConfigValue = std::variant<std::string, bool, std::int64_t, std::vector<std::string>>;

struct ConfigKey {
  std::string_view section;         // TOML table: "polling"
  std::string_view name;            // TOML key: "interval"
  std::string_view legacy_section;  // v1 INI section: "Polling"; empty when not in v1
  std::string_view legacy_name;     // v1 INI key: "Interval"
  ValueKind kind;
  // Fails with a message about the value only; the front end adds file, line and key.
  Expected<void> (*apply)(AgentConfig& config, const ConfigValue& value);

  [[nodiscard]] std::string FullName() const {
    return std::string(section) + "." + std::string(name);
  }
};

[[nodiscard]] std::span<const ConfigKey> ConfigKeys();
[[nodiscard]] const ConfigKey* FindKey(std::string_view section, std::string_view name);
[[nodiscard]] const ConfigKey* FindLegacyKey(std::string_view section, std::string_view name);
[[nodiscard]] std::vector<std::string> SectionNames();
[[nodiscard]] std::vector<std::string> LegacySectionNames();
// "section.a, section.b, ..." for messages about unknown keys.
[[nodiscard]] std::string KeyNames(std::string_view section);
[[nodiscard]] std::string_view KindName(ValueKind kind);

// Values derived from others once every key is read (the state file's default directory), and
// the rules that tie keys together (a client certificate needs its key). Errors name keys only;
// the front end adds the file.
[[nodiscard]] Expected<void> FinishConfig(AgentConfig& config,
                                          const std::set<std::string>& keys_set);

// The two front ends (config_readers.cpp); `origin` names the file in messages.
[[nodiscard]] Expected<LoadedConfig> ReadTomlConfig(std::string_view text, std::string_view origin);
[[nodiscard]] Expected<LoadedConfig> ReadLegacyIniConfig(std::string_view text,
                                                         std::string_view origin);

}  // namespace uh::agent::device_internal
