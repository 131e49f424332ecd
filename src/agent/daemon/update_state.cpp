#include "agent/daemon/update_state.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

#include "core/fs.hpp"
#include "core/json.hpp"

namespace uh::agent {
namespace {

constexpr std::size_t kMaxStateBytes = 4 * 1024 * 1024;

// 64 lowercase hex digits (core/hash.hpp has this check, but the daemon links no OpenSSL).
bool IsObjectId(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::optional<UpdatePhase> ParsePhase(std::string_view name) {
  for (auto phase :
       {UpdatePhase::kDownloading, UpdatePhase::kInstalling, UpdatePhase::kRebooting}) {
    if (UpdatePhaseName(phase) == name) return phase;
  }
  return std::nullopt;
}

// [{"sha256": "...", "delivery": "pipe"}, ...]
Expected<DeliveryPlan> ParsePlan(const nlohmann::json& json) {
  if (!json.is_array()) return Fail(Errc::kMalformed, "'plan' is not a list");
  std::vector<DeliveryPlan::Entry> entries;
  for (const auto& entry : json) {
    if (!entry.is_object() || !entry.contains("sha256") || !entry["sha256"].is_string() ||
        !IsObjectId(entry["sha256"].get<std::string>()) || !entry.contains("delivery") ||
        !entry["delivery"].is_string()) {
      return Fail(Errc::kMalformed, "'plan' holds something other than a sha256 and a delivery");
    }
    const auto delivery = DeliveryNamed(entry["delivery"].get<std::string>());
    if (!delivery) {
      return Fail(Errc::kMalformed, "'plan' names an unknown delivery '" +
                                        entry["delivery"].get<std::string>() + "'");
    }
    entries.push_back({entry["sha256"].get<std::string>(), *delivery});
  }
  return DeliveryPlan(std::move(entries));
}

nlohmann::json PlanJson(const DeliveryPlan& plan) {
  auto json = nlohmann::json::array();
  for (const auto& entry : plan.entries()) {
    json.push_back({{"sha256", entry.sha256}, {"delivery", DeliveryName(entry.delivery)}});
  }
  return json;
}

Expected<UpdateState> Parse(std::string_view text, const PackageUidOf& uid_of) {
  auto json = ParseJson(text, {.max_depth = 4, .max_bytes = kMaxStateBytes});
  if (!json) return std::unexpected(json.error());
  const auto string_of = [&](const char* key) -> Expected<std::string> {
    if (!json->contains(key) || !(*json)[key].is_string()) {
      return Fail(Errc::kMalformed, std::string("'") + key + "' is missing or not a string");
    }
    return (*json)[key].get<std::string>();
  };
  const auto slot_of = [&](const char* key) -> Expected<int> {
    if (!json->contains(key) || !(*json)[key].is_number_integer()) {
      return Fail(Errc::kMalformed, std::string("'") + key + "' is missing or not a number");
    }
    const auto slot = (*json)[key].get<std::int64_t>();
    if (slot != 0 && slot != 1)
      return Fail(Errc::kMalformed, std::string("'") + key + "' is not 0 or 1");
    return static_cast<int>(slot);
  };
  if (!json->is_object()) return Fail(Errc::kMalformed, "not a JSON object");
  UpdateState state;
  auto phase = string_of("phase");
  if (!phase) return std::unexpected(phase.error());
  auto parsed = ParsePhase(*phase);
  if (!parsed) return Fail(Errc::kMalformed, "unknown phase '" + *phase + "'");
  state.phase = *parsed;
  for (auto [key, field] :
       {std::pair{"package_uid", &state.package_uid}, std::pair{"metadata", &state.metadata},
        std::pair{"signature", &state.signature}}) {
    auto value = string_of(key);
    if (!value) return std::unexpected(value.error());
    *field = std::move(*value);
  }
  if (!json->contains("remote") || !(*json)["remote"].is_boolean()) {
    return Fail(Errc::kMalformed, "'remote' is missing or not a boolean");
  }
  state.remote = (*json)["remote"].get<bool>();
  if (json->contains("boot_id")) {
    if (!(*json)["boot_id"].is_string()) return Fail(Errc::kMalformed, "'boot_id' is not a string");
    state.boot_id = (*json)["boot_id"].get<std::string>();
  }
  if (json->contains("piped")) {
    const auto& piped = (*json)["piped"];
    if (!piped.is_array()) return Fail(Errc::kMalformed, "'piped' is not a list");
    for (const auto& sha : piped) {
      if (!sha.is_string() || !IsObjectId(sha.get<std::string>())) {
        return Fail(Errc::kMalformed, "'piped' holds something other than a sha256");
      }
      state.installed_while_downloading.push_back(sha.get<std::string>());
    }
  }
  if (json->contains("plan")) {
    auto plan = ParsePlan((*json)["plan"]);
    if (!plan) return std::unexpected(plan.error());
    state.plan = std::move(*plan);
  }
  if (json->contains("package_file")) {
    if (!(*json)["package_file"].is_string()) {
      return Fail(Errc::kMalformed, "'package_file' is not a string");
    }
    state.package_file = (*json)["package_file"].get<std::string>();
  }
  auto target = slot_of("target_slot");
  if (!target) return std::unexpected(target.error());
  auto previous = slot_of("previous_slot");
  if (!previous) return std::unexpected(previous.error());
  state.target_slot = *target;
  state.previous_slot = *previous;
  if (auto uid = uid_of(state.metadata); uid && *uid != state.package_uid) {
    return Fail(Errc::kIntegrity, "the metadata does not hash to the package uid");
  }
  return state;
}

}  // namespace

std::string_view UpdatePhaseName(UpdatePhase phase) {
  switch (phase) {
    case UpdatePhase::kDownloading:
      return "downloading";
    case UpdatePhase::kInstalling:
      return "installing";
    case UpdatePhase::kRebooting:
      return "rebooting";
  }
  return "unknown";
}

Expected<LoadedUpdateState> LoadUpdateState(const std::filesystem::path& path,
                                            const PackageUidOf& uid_of) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return LoadedUpdateState{};
  auto text = ReadFileLimited(path, kMaxStateBytes);
  std::optional<Error> problem;
  if (!text) {
    if (text.error().code() != Errc::kTooLarge) return std::unexpected(text.error());
    problem = text.error();
  } else if (auto state = Parse(*text, uid_of)) {
    return LoadedUpdateState{std::move(*state), std::nullopt};
  } else {
    problem = state.error();
  }
  // Corrupt: keep it for a post-mortem, and start over.
  const auto aside = path.string() + ".old";
  std::filesystem::rename(path, aside, ec);
  if (ec) return Fail(Errc::kIo, "moving " + path.string() + " aside: " + ec.message());
  return LoadedUpdateState{std::nullopt, "update state " + path.string() + " was corrupt (" +
                                             problem->message() + "); moved to " + aside};
}

Expected<void> SaveUpdateState(const std::filesystem::path& path, const UpdateState& state) {
  nlohmann::json json = {{"phase", UpdatePhaseName(state.phase)},
                         {"package_uid", state.package_uid},
                         {"metadata", state.metadata},
                         {"signature", state.signature},
                         {"remote", state.remote},
                         {"target_slot", state.target_slot},
                         {"previous_slot", state.previous_slot},
                         {"boot_id", state.boot_id},
                         {"piped", state.installed_while_downloading},
                         {"package_file", state.package_file}};
  if (state.plan) json["plan"] = PlanJson(*state.plan);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::string text;
  try {
    text = json.dump() + "\n";
  } catch (const nlohmann::json::exception& e) {
    // Text from outside (a signature, metadata) that is not UTF-8: an error, not a crash loop.
    return Fail(Errc::kMalformed, "the update cannot be saved: " + std::string(e.what()));
  }
  return WriteFileAtomic(path, text, 0600);
}

Expected<void> ClearUpdateState(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Fail(Errc::kIo, "removing " + path.string() + ": " + ec.message());
  return {};
}

}  // namespace uh::agent
