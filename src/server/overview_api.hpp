#pragma once

// GET /api/v1/overview: the fleet at a glance for the operator dashboard, every number counted
// by the store (GROUP BY), never device by device.

#include "server/api_context.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"

namespace uh::server {

// Needs the scope read; a user limited to some products must name one (?product=UID).
void AddOverviewRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts);

}  // namespace uh::server
