#include "server/store/rollout_encoding.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace uh::server {
namespace {

using nlohmann::json;

// An explicit selection may list up to a million device ids.
constexpr JsonLimits kStoredJsonLimits{.max_depth = 32, .max_bytes = 64 * 1024 * 1024};

Error Corrupt(const Rollout& rollout, std::string_view what, std::string_view why) {
  return Error(Errc::kInternal, "rollout " + std::to_string(rollout.id) + ": the stored " +
                                    std::string(what) + " is damaged: " + std::string(why));
}

// Serialises `value`, once `reads_back(value)` has shown that the model accepts it.
template <typename ReadsBack>
Expected<std::string> Encode(const json& value, std::string_view what, ReadsBack reads_back) {
  try {
    if (auto decoded = reads_back(value); !decoded) {
      return Fail(Errc::kInvalidArgument,
                  "invalid " + std::string(what) + ": " + decoded.error().message());
    }
    return value.dump();
  } catch (const json::exception& error) {  // dump: strings that are not UTF-8
    return Fail(Errc::kInvalidArgument,
                "invalid " + std::string(what) + ": " + std::string(error.what()));
  }
}

// Parses stored text and hands it to `apply`, which reports the model's errors.
template <typename Apply>
Expected<void> Decode(std::string_view text, const Rollout& rollout, std::string_view what,
                      Apply apply) {
  auto value = ParseJson(text, kStoredJsonLimits);
  if (!value) return std::unexpected(Corrupt(rollout, what, value.error().message()));
  try {
    if (auto decoded = apply(*value); !decoded) {
      return std::unexpected(Corrupt(rollout, what, decoded.error().message()));
    }
  } catch (const json::exception& error) {
    return std::unexpected(Corrupt(rollout, what, error.what()));
  }
  return {};
}

}  // namespace

Expected<std::string> EncodeSelection(const Selection& selection) {
  return Encode(SelectionJson(selection), "selection", [](const json& value) -> Expected<void> {
    auto decoded = SelectionFromJson(value);
    if (!decoded) return std::unexpected(std::move(decoded.error()));
    return {};
  });
}

Expected<std::string> EncodePlan(const Rollout& rollout) {
  return Encode(PlanJson(rollout), "plan", [](const json& value) {
    Rollout scratch;
    return PlanFromJson(value, scratch);
  });
}

Expected<void> CheckCurrentStage(const Rollout& rollout) {
  if (rollout.current_stage < 0 ||
      static_cast<std::size_t>(rollout.current_stage) >= rollout.stages.size()) {
    return Fail(Errc::kInvalidArgument, "current stage " + std::to_string(rollout.current_stage) +
                                            " is not one of the " +
                                            std::to_string(rollout.stages.size()) + " stages");
  }
  return {};
}

Expected<void> DecodeSelection(std::string_view text, Rollout& rollout) {
  return Decode(text, rollout, "selection", [&](const json& value) -> Expected<void> {
    auto decoded = SelectionFromJson(value);
    if (!decoded) return std::unexpected(std::move(decoded.error()));
    rollout.selection = std::move(*decoded);
    return {};
  });
}

Expected<void> DecodePlan(std::string_view text, Rollout& rollout) {
  return Decode(text, rollout, "plan",
                [&](const json& value) { return PlanFromJson(value, rollout); });
}

Expected<void> DecodeCurrentStage(std::int64_t stored, Rollout& rollout) {
  if (stored < 0 || static_cast<std::uint64_t>(stored) >= rollout.stages.size()) {
    return std::unexpected(Corrupt(rollout, "current stage",
                                   std::to_string(stored) + " is not one of the " +
                                       std::to_string(rollout.stages.size()) + " stages"));
  }
  rollout.current_stage = static_cast<int>(stored);
  return {};
}

Expected<void> DecodeRolloutState(std::string_view text, Rollout& rollout) {
  auto state = ParseRolloutState(text);
  if (!state) return std::unexpected(Corrupt(rollout, "state", "'" + std::string(text) + "'"));
  rollout.state = *state;
  return {};
}

Expected<void> DecodeDeviceState(std::string_view text, RolloutDevice& device) {
  auto state = ParseDeviceState(text);
  if (!state) {
    return Fail(Errc::kInternal, "rollout " + std::to_string(device.rollout_id) + ", device " +
                                     std::to_string(device.device_id) +
                                     ": the stored state is damaged: '" + std::string(text) + "'");
  }
  device.state = *state;
  return {};
}

}  // namespace uh::server
