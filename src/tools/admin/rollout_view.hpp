#pragma once

// How a rollout (GET /api/v1/rollouts/{id}) reads in a terminal: its summary with the hold
// reason, a table of its stages, and the live frame of `rollouts watch`.

#include <nlohmann/json.hpp>
#include <string>

namespace uh::admin {

// "id: 3", "state: running", "hold: stage 1 of 3 soaks until ..."... and the stages table.
[[nodiscard]] std::string RolloutSummary(const nlohmann::json& rollout);

// One line per stage with a bar of its devices updated (and failed), then the totals and the
// hold reason: what `rollouts watch` redraws. `width` is the bar's width in characters.
[[nodiscard]] std::string RolloutFrame(const nlohmann::json& rollout, int width = 30);

// Whether the rollout will not change any more (finished or stopped).
[[nodiscard]] bool RolloutEnded(const nlohmann::json& rollout);

// The rollouts list as a table.
[[nodiscard]] std::string RolloutTable(const nlohmann::json& rollouts);

}  // namespace uh::admin
