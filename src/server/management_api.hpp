#pragma once

// The management REST API under /api/v1 (people and scripts), plus /healthz and /metrics.
// Every /api/v1 route but login needs "Authorization: Bearer TOKEN".

#include <cstdint>
#include <functional>

#include "server/api_context.hpp"
#include "server/http/http.hpp"

namespace uh::server {

void AddManagementRoutes(http::Router& router, ApiContext& context);

// Runs `handler` with the caller's user id, only for a valid bearer token; 401 otherwise.
using UserHandler = std::function<http::Response(http::Request&, std::int64_t user_id)>;
[[nodiscard]] http::Handler RequireUser(ApiContext& context, UserHandler handler);

// Runs `handler` only for a caller with a valid bearer token; 401 otherwise.
[[nodiscard]] http::Handler RequireAuth(ApiContext& context, http::Handler handler);

}  // namespace uh::server
