#pragma once

// The UpdateHub device protocol over HTTP: POST /upgrades, object downloads, POST /report.
// Unmodified upstream agents talk to these routes.

#include "server/api_context.hpp"
#include "server/http/http.hpp"
#include "server/rollout_engine.hpp"

namespace uh::server {

void AddDeviceRoutes(http::Router& router, ApiContext& context, RolloutEngine& rollouts);

}  // namespace uh::server
