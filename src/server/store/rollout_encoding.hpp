#pragma once

// How the stores keep a rollout's parts that are not plain columns: the selection and the plan
// as JSON text (the model's SelectionJson and PlanJson), and states by name. Shared by every
// backend so that they store the same text.
//
// Encoding checks that the text decodes again, so that a store never writes a rollout it cannot
// read back (kInvalidArgument). Decoding treats the text as damaged data: anything wrong is a
// kInternal error naming the rollout, never a crash.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "server/model/rollout.hpp"

namespace uh::server {

[[nodiscard]] Expected<std::string> EncodeSelection(const Selection& selection);
[[nodiscard]] Expected<std::string> EncodePlan(const Rollout& rollout);

// current_stage must name one of the rollout's stages (kInvalidArgument).
[[nodiscard]] Expected<void> CheckCurrentStage(const Rollout& rollout);

// Fill the parts of `rollout` (whose id names it in errors) from stored text.
[[nodiscard]] Expected<void> DecodeSelection(std::string_view text, Rollout& rollout);
[[nodiscard]] Expected<void> DecodePlan(std::string_view text, Rollout& rollout);
// After DecodePlan: the stored stage must be one of the plan's.
[[nodiscard]] Expected<void> DecodeCurrentStage(std::int64_t stored, Rollout& rollout);
[[nodiscard]] Expected<void> DecodeRolloutState(std::string_view text, Rollout& rollout);
[[nodiscard]] Expected<void> DecodeDeviceState(std::string_view text, RolloutDevice& device);

}  // namespace uh::server
