#pragma once

// Rollout routes of the management API: create, list, show with statistics, control.

#include "server/api_context.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"

namespace uh::server {

// `authed` wraps a handler so that it runs only for an authenticated caller.
void AddRolloutRoutes(http::Router& router, ApiContext& context, RolloutService& rollouts,
                      const std::function<http::Handler(http::Handler)>& authed);

}  // namespace uh::server
