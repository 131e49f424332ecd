#pragma once

// Rollout routes of the management API: create, list, show with statistics, progress over
// time, control.

#include <nlohmann/json.hpp>
#include <vector>

#include "server/api_context.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"

namespace uh::server {

// Rollouts of a product: reading them needs the scope read, creating and controlling them
// rollouts:write, and the caller must be allowed on the rollout's product.
void AddRolloutRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts);

// A rollout as every answer shows it: its definition and state, "hold_reason" (why it waits,
// null when it does not: rollout_rules.hpp HoldReason) and "statistics".
[[nodiscard]] Expected<nlohmann::json> RolloutJson(RolloutService& rollouts,
                                                   const Rollout& rollout);
// The same for a list (a JSON array), with the statistics and the counts hold_reason needs
// read in one query each rather than one per rollout.
[[nodiscard]] Expected<nlohmann::json> RolloutListJson(RolloutService& rollouts,
                                                       const std::vector<Rollout>& list);

}  // namespace uh::server
