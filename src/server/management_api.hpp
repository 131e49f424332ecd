#pragma once

// The management REST API under /api/v1 (people and scripts), plus /healthz and /metrics.
// Every /api/v1 route but login needs "Authorization: Bearer TOKEN".

#include <cstdint>
#include <functional>
#include <optional>

#include "server/api_context.hpp"
#include "server/http/http.hpp"

namespace uh::server {

void AddManagementRoutes(http::Router& router, ApiContext& context);

// Runs `handler` with the caller's user id, only for a valid bearer token; 401 otherwise.
using UserHandler = std::function<http::Response(http::Request&, std::int64_t user_id)>;
[[nodiscard]] http::Handler RequireUser(ApiContext& context, UserHandler handler);

// Runs `handler` only for an administrator; 401 without a valid token, 403 for other users.
[[nodiscard]] http::Handler AdminOnly(ApiContext& context, UserHandler handler);

// Runs `handler` only for a caller with a valid bearer token; 401 otherwise.
[[nodiscard]] http::Handler RequireAuth(ApiContext& context, http::Handler handler);

// The same check on a request's head, for RouteOptions::admit: a caller without a valid bearer
// token gets 401 before any of the body is read.
[[nodiscard]] std::function<std::optional<http::Response>(const http::Request&)> AdmitUser(
    ApiContext& context);

}  // namespace uh::server
