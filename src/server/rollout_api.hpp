#pragma once

// Rollout routes of the management API: create, list, show with statistics, control.

#include "server/api_context.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"

namespace uh::server {

// Rollouts of a product: reading them needs the scope read, creating and controlling them
// rollouts:write, and the caller must be allowed on the rollout's product.
void AddRolloutRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts);

}  // namespace uh::server
