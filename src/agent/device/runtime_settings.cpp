#include "agent/device/runtime_settings.hpp"

#include <cstdio>
#include <ctime>
#include <system_error>

#include "agent/device/ini.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/time.hpp"

namespace uh::agent {

using device_internal::HasIniSection;
using device_internal::ParseIni;
using device_internal::Trim;

namespace {

using json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

// The file holds a few hundred bytes; anything much larger is not ours.
constexpr std::size_t kMaxBytes = 64 * 1024;
constexpr std::string_view kEpoch = "1970-01-01T00:00:00Z";

std::unexpected<Error> Malformed(std::string message) {
  return Fail(Errc::kMalformed, std::move(message));
}

// Whether `text` starts with digits where "YYYY-MM-DDTHH:MM:SS" has them: sscanf's %d alone
// would also take signs and spaces ("2021-06-01T-1:-1:-1Z").
bool HasRfc3339Digits(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' && (text[i] < '0' || text[i] > '9')) return false;
  }
  return true;
}

// RFC 3339 as other writers produce it: chrono adds fractions of a second, the v1 agent (Go)
// wrote local offsets. Fractions are dropped. Seconds since the epoch, not a time_point: the
// times other agents write for "never" (year 1) are outside what a time_point can hold.
Expected<std::time_t> ParseRfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (!HasRfc3339Digits(text) ||
      std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return Malformed("'" + text + "' is not an RFC 3339 time");
  }
  std::string_view rest = std::string_view(text).substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    if (rest.empty() || rest.front() < '0' || rest.front() > '9') {
      return Malformed("'" + text + "' is not an RFC 3339 time");
    }
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const auto digit = [&](std::size_t i) { return rest[i] >= '0' && rest[i] <= '9'; };
    const auto number = [&](std::size_t i) { return (rest[i] - '0') * 10 + (rest[i + 1] - '0'); };
    if (!digit(1) || !digit(2) || !digit(4) || !digit(5) || number(1) > 23 || number(4) > 59) {
      return Malformed("'" + text + "' has a bad UTC offset");
    }
    const long hours = number(1);
    const long minutes = number(4);
    offset = (rest[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
  } else {
    return Malformed("'" + text + "' is not an RFC 3339 time (no Z or UTC offset)");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm) - offset;
}

// Upstream's "never" is the epoch (Go's was year 1): both read as nullopt. Times past what a
// time_point holds (year 2262) are not times a probe happened.
Expected<std::optional<TimePoint>> ParseLast(const std::string& text) {
  auto seconds = ParseRfc3339(text);
  if (!seconds) return std::unexpected(seconds.error());
  if (*seconds <= 0) return std::optional<TimePoint>{};
  constexpr auto kLatest = std::chrono::floor<std::chrono::seconds>(TimePoint::max());
  if (*seconds > kLatest.time_since_epoch().count()) {
    return Malformed("'" + text + "' is too far in the future");
  }
  return std::optional<TimePoint>(std::chrono::system_clock::from_time_t(*seconds));
}

Expected<std::optional<int>> ParseSlot(const json& value) {
  if (value.is_null()) return std::optional<int>{};
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "a" || text == "A") return std::optional<int>(0);
    if (text == "b" || text == "B") return std::optional<int>(1);
  }
  return Malformed("update.upgrade_to_installation must be \"a\" or \"b\", not " + value.dump());
}

Expected<std::optional<std::string>> ParseServerAddress(const json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "default" || text == "Default") return std::optional<std::string>{};
  } else if (value.is_object() && value.size() == 1) {
    const auto entry = value.begin();
    if ((entry.key() == "custom" || entry.key() == "Custom") && entry->is_string()) {
      return std::optional<std::string>(entry->get<std::string>());
    }
  }
  return Malformed("polling.server_address must be \"default\" or {\"custom\": URL}, not " +
                   value.dump());
}

Expected<void> ReadPolling(const json& polling, RuntimePolling& out) {
  if (!polling.is_object()) return Malformed("polling must be an object");
  for (const auto& [key, value] : polling.items()) {
    if (key == "last") {
      if (value.is_null()) continue;
      if (!value.is_string()) return Malformed("polling.last must be a time string");
      auto last = ParseLast(value.get<std::string>());
      if (!last) return std::unexpected(last.error().WithContext("polling.last"));
      out.last = *last;
    } else if (key == "retries") {
      if (!value.is_number_unsigned()) {
        return Malformed("polling.retries must be a non-negative integer");
      }
      out.retries = value.get<std::uint64_t>();
    } else if (key == "now") {
      if (!value.is_boolean()) return Malformed("polling.now must be true or false");
      out.now = value.get<bool>();
    } else if (key == "server_address") {
      auto address = ParseServerAddress(value);
      if (!address) return std::unexpected(address.error());
      out.custom_server_address = *address;
    }
    // Anything else ("extra_interval" of older agents, future fields) is not ours: ignored.
  }
  return {};
}

Expected<void> ReadUpdate(const json& update, RuntimeUpdate& out) {
  if (!update.is_object()) return Malformed("update must be an object");
  for (const auto& [key, value] : update.items()) {
    if (key == "upgrade_to_installation") {
      auto slot = ParseSlot(value);
      if (!slot) return std::unexpected(slot.error());
      out.upgrade_to_installation = *slot;
    } else if (key == "applied_package_uid") {
      if (value.is_null()) continue;
      if (!value.is_string()) return Malformed("update.applied_package_uid must be a string");
      out.applied_package_uid = value.get<std::string>();
    }
  }
  return {};
}

Expected<RuntimeSettings> ParseJsonSettings(std::string_view text) {
  auto document = ParseJson(text, JsonLimits{.max_depth = 8, .max_bytes = kMaxBytes});
  if (!document) return std::unexpected(document.error());
  if (!document->is_object()) return Malformed("the document is not a JSON object");
  RuntimeSettings settings;
  if (document->contains("polling")) UH_TRY(ReadPolling(document->at("polling"), settings.polling));
  if (document->contains("update")) UH_TRY(ReadUpdate(document->at("update"), settings.update));
  return settings;
}

Expected<RuntimeSettings> ParseLegacySettings(std::string_view text) {
  auto entries = ParseIni(text, "runtime settings");
  if (!entries) return std::unexpected(entries.error());
  RuntimeSettings settings;
  for (const auto& entry : *entries) {
    const std::string name = entry.section + "." + entry.key;
    if (name == "Polling.LastPoll") {
      auto last = ParseLast(entry.value);
      if (!last) return std::unexpected(last.error().WithContext(name));
      settings.polling.last = *last;
    } else if (name == "Polling.Retries") {
      unsigned long long retries = 0;
      int used = 0;
      if (std::sscanf(entry.value.c_str(), "%llu%n", &retries, &used) != 1 ||
          static_cast<std::size_t>(used) != entry.value.size() || entry.value.front() == '-') {
        return Malformed(name + ": '" + entry.value + "' is not a count");
      }
      settings.polling.retries = retries;
    } else if (name == "Polling.ProbeASAP") {
      if (entry.value != "true" && entry.value != "false") {
        return Malformed(name + ": '" + entry.value + "' is not true or false");
      }
      settings.polling.now = entry.value == "true";
    } else if (name == "Update.UpgradeToInstallation") {
      if (entry.value == "0" || entry.value == "1") {
        settings.update.upgrade_to_installation = entry.value == "1" ? 1 : 0;
      } else if (entry.value != "-1") {
        return Malformed(name + ": '" + entry.value + "' is not -1, 0 or 1");
      }
    }
  }
  return settings;
}

}  // namespace

Expected<RuntimeSettings> ParseRuntimeSettings(std::string_view text) {
  const auto content = Trim(text);
  if (!content.empty() && content.front() != '{' && HasIniSection(content, {"Polling", "Update"})) {
    return ParseLegacySettings(content);
  }
  return ParseJsonSettings(text);
}

nlohmann::json RuntimeSettingsToJson(const RuntimeSettings& settings,
                                     const std::filesystem::path& path, bool persistent) {
  const auto& polling = settings.polling;
  json server = "default";
  if (polling.custom_server_address) server = {{"custom", *polling.custom_server_address}};
  json update = json::object();
  if (settings.update.upgrade_to_installation) {
    update["upgrade_to_installation"] = *settings.update.upgrade_to_installation == 1 ? "b" : "a";
  }
  if (settings.update.applied_package_uid) {
    update["applied_package_uid"] = *settings.update.applied_package_uid;
  }
  return {
      {"polling",
       {{"last", polling.last ? FormatTime(*polling.last) : std::string(kEpoch)},
        {"retries", polling.retries},
        {"now", polling.now},
        {"server_address", std::move(server)}}},
      {"update", std::move(update)},
      {"path", path.string()},
      {"persistent", persistent},
  };
}

Expected<LoadedRuntimeSettings> LoadRuntimeSettings(const std::filesystem::path& path) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (error) return Fail(Errc::kIo, "runtime settings " + path.string() + ": " + error.message());
  if (!exists) return LoadedRuntimeSettings{};

  auto text = ReadFileLimited(path, kMaxBytes);
  if (!text && text.error().code() != Errc::kTooLarge) {
    return std::unexpected(std::move(text.error()).WithContext("reading runtime settings"));
  }
  const Expected<RuntimeSettings> parsed =
      text ? ParseRuntimeSettings(*text) : Expected<RuntimeSettings>(std::unexpected(text.error()));
  if (parsed) {
    LoadedRuntimeSettings loaded;
    loaded.settings = *parsed;
    if (!Trim(*text).starts_with("{")) {
      loaded.warning = path.string() + " is in the v1 agent's format; it is rewritten as JSON " +
                       "on the next save";
    }
    return loaded;
  }

  // Corrupt: keep it for a post-mortem, start afresh. The next save writes a good file.
  auto old = path;
  old += ".old";
  std::string warning =
      "runtime settings " + path.string() + " are corrupt (" + parsed.error().message() + "); ";
  std::filesystem::rename(path, old, error);
  if (error) {
    warning += "could not move them to " + old.string() + " (" + error.message() + "); ";
  } else {
    warning += "moved to " + old.string() + "; ";
  }
  warning += "using defaults";
  LoadedRuntimeSettings loaded;
  loaded.warning = std::move(warning);
  return loaded;
}

Expected<void> SaveRuntimeSettings(const std::filesystem::path& path,
                                   const RuntimeSettings& settings) {
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return Fail(Errc::kIo, "creating " + path.parent_path().string() + ": " + error.message());
    }
  }
  const std::string text = RuntimeSettingsToJson(settings, path, true).dump() + "\n";
  UH_TRY_CTX(WriteFileAtomic(path, text), "saving runtime settings");
  return {};
}

}  // namespace uh::agent
