// The config file's two front ends: TOML (current) and the v1 agents' INI. Both turn text into
// typed values and hand them to the shared key table (config_keys.cpp).

#include <toml++/toml.h>

#include <algorithm>
#include <array>

#include "agent/device/config_keys.hpp"
#include "agent/device/ini.hpp"

namespace uh::agent::device_internal {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string Where(std::string_view origin, int line) {
  return std::string(origin) + ":" + std::to_string(line) + ": ";
}

std::string_view TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// The node as a value of the key's kind, or a message saying why it is not one.
Expected<ConfigValue> TomlValue(const toml::node& node, ValueKind kind) {
  const auto wrong = [&] {
    return Fail(Errc::kInvalidArgument, "must be " + std::string(KindName(kind)) + ", not " +
                                            std::string(TomlTypeName(node)));
  };
  switch (kind) {
    case ValueKind::kString:
      if (!node.is_string()) return wrong();
      return ConfigValue(node.as_string()->get());
    case ValueKind::kBool:
      if (!node.is_boolean()) return wrong();
      return ConfigValue(node.as_boolean()->get());
    case ValueKind::kInteger:
      if (!node.is_integer()) return wrong();
      return ConfigValue(node.as_integer()->get());
    case ValueKind::kStringList: {
      if (!node.is_array()) return wrong();
      std::vector<std::string> items;
      for (const auto& item : *node.as_array()) {
        if (!item.is_string()) {
          return Fail(Errc::kInvalidArgument, "element " + std::to_string(items.size() + 1) +
                                                  " must be a string, not " +
                                                  std::string(TomlTypeName(item)));
        }
        items.push_back(item.as_string()->get());
      }
      return ConfigValue(std::move(items));
    }
  }
  return wrong();
}

// Go's strconv.ParseBool, which the v1 agent used, accepts these.
Expected<bool> IniBool(const std::string& text) {
  constexpr std::array<std::string_view, 6> kTrue = {"1", "t", "T", "true", "TRUE", "True"};
  constexpr std::array<std::string_view, 6> kFalse = {"0", "f", "F", "false", "FALSE", "False"};
  if (std::ranges::find(kTrue, text) != kTrue.end()) return true;
  if (std::ranges::find(kFalse, text) != kFalse.end()) return false;
  return Fail(Errc::kInvalidArgument, "'" + text + "' is not a boolean (true or false)");
}

Expected<ConfigValue> IniValue(const std::string& text, ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool: {
      auto value = IniBool(text);
      if (!value) return std::unexpected(value.error());
      return ConfigValue(*value);
    }
    case ValueKind::kStringList: {
      std::vector<std::string> items;
      std::size_t start = 0;
      while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        const auto item = Trim(std::string_view(text).substr(start, end - start));
        if (!item.empty()) items.emplace_back(item);
        start = end + 1;
      }
      return ConfigValue(std::move(items));
    }
    case ValueKind::kInteger:  // no legacy key has this kind
    case ValueKind::kString:
      break;
  }
  return ConfigValue(text);
}

}  // namespace

Expected<LoadedConfig> ReadTomlConfig(std::string_view text, std::string_view origin) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return Fail(Errc::kInvalidArgument, Where(origin, static_cast<int>(e.source().begin.line)) +
                                            std::string(e.description()));
  }
  LoadedConfig loaded;
  loaded.source = ConfigSource::kToml;
  std::set<std::string> keys_set;
  const auto line_of = [](const toml::node& node) {
    return static_cast<int>(node.source().begin.line);
  };
  for (const auto& [raw_section, section_node] : table) {
    const std::string section(raw_section.str());
    const auto sections = SectionNames();
    if (std::ranges::find(sections, section) == sections.end()) {
      return Fail(Errc::kInvalidArgument, Where(origin, line_of(section_node)) + "'" + section +
                                              "' is not a known section (" + Join(sections) + ")");
    }
    if (!section_node.is_table()) {
      return Fail(Errc::kInvalidArgument, Where(origin, line_of(section_node)) + section +
                                              ": must be a table ([" + section + "])");
    }
    for (const auto& [raw_key, node] : *section_node.as_table()) {
      const std::string name = section + "." + std::string(raw_key.str());
      const auto fail = [&](const std::string& message) {
        return Fail(Errc::kInvalidArgument, Where(origin, line_of(node)) + name + ": " + message);
      };
      const ConfigKey* key = FindKey(section, raw_key.str());
      if (key == nullptr) return fail("not a known key (" + KeyNames(section) + " are)");
      auto value = TomlValue(node, key->kind);
      if (!value) return fail(value.error().message());
      if (auto applied = key->apply(loaded.config, *value); !applied) {
        return fail(applied.error().message());
      }
      keys_set.insert(name);
    }
  }
  if (auto finished = FinishConfig(loaded.config, keys_set); !finished) {
    return Fail(Errc::kInvalidArgument, std::string(origin) + ": " + finished.error().message());
  }
  return loaded;
}

Expected<LoadedConfig> ReadLegacyIniConfig(std::string_view text, std::string_view origin) {
  auto entries = ParseIni(text, origin);
  if (!entries) return Fail(Errc::kInvalidArgument, entries.error().message());
  LoadedConfig loaded;
  loaded.source = ConfigSource::kLegacyIni;
  std::set<std::string> keys_set;
  for (const auto& entry : *entries) {
    const std::string name = entry.section.empty() ? entry.key : entry.section + "." + entry.key;
    const std::string where = Where(origin, entry.line) + name + ": ";
    const ConfigKey* key = FindLegacyKey(entry.section, entry.key);
    if (key == nullptr) {
      loaded.warnings.push_back(where + "not a key this agent knows, ignored");
      continue;
    }
    if (!keys_set.insert(key->FullName()).second) {
      loaded.warnings.push_back(where + "set again; this later value wins");
    }
    auto value = IniValue(entry.value, key->kind);
    if (!value) return Fail(Errc::kInvalidArgument, where + value.error().message());
    if (auto applied = key->apply(loaded.config, *value); !applied) {
      return Fail(Errc::kInvalidArgument, where + applied.error().message());
    }
  }
  if (auto finished = FinishConfig(loaded.config, keys_set); !finished) {
    return Fail(Errc::kInvalidArgument, std::string(origin) + ": " + finished.error().message());
  }
  return loaded;
}

}  // namespace uh::agent::device_internal
