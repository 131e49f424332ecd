// ParseRuntimeSettings on an untrusted runtime settings file (upstream's JSON, or the v1 agents'
// INI; written by another agent, or cut short by a power loss). Errors must be kMalformed (or
// kTooLarge), which LoadRuntimeSettings turns into "corrupt, moved aside". What parses must be
// saved and read back unchanged: otherwise the next save would write a file the next start
// calls corrupt. The times it accepts must be RFC 3339, digits where digits belong.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "agent/device/ini.hpp"
#include "agent/device/runtime_settings.hpp"
#include "fuzz_check.hpp"

namespace {

// YYYY-MM-DD[Tt ]HH:MM:SS[.fraction](Z|z|+HH:MM|-HH:MM)
bool IsRfc3339(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const char c = text[i];
    const bool ok = kShape[i] == 'd'   ? std::isdigit(static_cast<unsigned char>(c)) != 0
                    : kShape[i] == 'T' ? (c == 'T' || c == 't' || c == ' ')
                                       : c == kShape[i];
    if (!ok) return false;
  }
  std::string_view rest = text.substr(kShape.size());
  if (rest.starts_with('.')) {
    rest.remove_prefix(1);
    if (rest.empty() || std::isdigit(static_cast<unsigned char>(rest.front())) == 0) return false;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
      rest.remove_prefix(1);
    }
  }
  if (rest == "Z" || rest == "z") return true;
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
         std::isdigit(static_cast<unsigned char>(rest[1])) != 0 &&
         std::isdigit(static_cast<unsigned char>(rest[2])) != 0 &&
         std::isdigit(static_cast<unsigned char>(rest[4])) != 0 &&
         std::isdigit(static_cast<unsigned char>(rest[5])) != 0;
}

// The time strings of an accepted file: polling.last of the JSON, Polling.LastPoll of the INI.
void CheckTimes(std::string_view text) {
  const auto content = uh::agent::device_internal::Trim(text);
  if (content.starts_with('{')) {
    const auto json = nlohmann::json::parse(content, nullptr, false);
    if (!json.is_object() || !json.contains("polling")) return;
    const auto& polling = json.at("polling");
    if (!polling.contains("last") || !polling.at("last").is_string()) return;
    const auto last = polling.at("last").get<std::string>();
    UH_FUZZ_CHECK(IsRfc3339(last), "polling.last accepted a time that is not RFC 3339");
    return;
  }
  auto entries = uh::agent::device_internal::ParseIni(content, "runtime settings");
  if (!entries) return;
  for (const auto& entry : *entries) {
    if (entry.section == "Polling" && entry.key == "LastPoll") {
      UH_FUZZ_CHECK(IsRfc3339(entry.value),
                    "Polling.LastPoll accepted a time that is not RFC 3339");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto settings = uh::agent::ParseRuntimeSettings(text);
  if (!settings) {
    const auto code = settings.error().code();
    UH_FUZZ_CHECK(code == uh::Errc::kMalformed || code == uh::Errc::kTooLarge,
                  "bad runtime settings are neither kMalformed nor kTooLarge");
    return 0;
  }
  UH_FUZZ_CHECK(!settings->update.upgrade_to_installation ||
                    *settings->update.upgrade_to_installation == 0 ||
                    *settings->update.upgrade_to_installation == 1,
                "upgrade_to_installation is not slot 0 or 1");
  CheckTimes(text);

  // What SaveRuntimeSettings writes.
  std::string saved;
  try {
    saved = uh::agent::RuntimeSettingsToJson(*settings, "/var/lib/updatehub/runtime_settings.conf",
                                             true)
                .dump() +
            "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump: %s\n", e.what());
    UH_FUZZ_CHECK(false, "accepted runtime settings cannot be saved");
  }
  auto reread = uh::agent::ParseRuntimeSettings(saved);
  if (!reread) std::fprintf(stderr, "reread error: %s\n", reread.error().message().c_str());
  UH_FUZZ_CHECK(reread.has_value(), "saved runtime settings do not parse");
  UH_FUZZ_CHECK(*reread == *settings, "saved runtime settings read back different");
  return 0;
}
