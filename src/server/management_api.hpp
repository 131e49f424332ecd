#pragma once

// The management REST API under /api/v1 (people and scripts), plus /healthz and /metrics.
// Every /api/v1 route but login needs "Authorization: Bearer TOKEN" whose effective scopes hold
// the route's scope (server/access.hpp); routes about one product also need a user allowed on
// that product.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "server/access.hpp"
#include "server/api_context.hpp"
#include "server/http/http.hpp"

namespace uh::server {

void AddManagementRoutes(http::Router& router, ApiContext& context);

using CallerHandler = std::function<http::Response(http::Request&, const Caller& caller)>;

// Runs `handler` only for a caller with a valid bearer token whose scopes hold `scope` (any
// valid token when nullopt); 401 without a valid token, 403 without the scope.
[[nodiscard]] http::Handler Allow(ApiContext& context, std::optional<Scope> scope,
                                  CallerHandler handler);

// The same check on a request's head, for RouteOptions::admit: a caller without a valid token
// or without the scope is refused before any of the body is read.
[[nodiscard]] std::function<std::optional<http::Response>(const http::Request&)> AdmitScope(
    ApiContext& context, Scope scope);

// 403 when the caller may not act on the product.
[[nodiscard]] std::optional<http::Response> DenyProduct(const Caller& caller,
                                                        std::string_view product_uid);

// 403 for a caller limited to some products on a listing that spans every product, unless the
// listing is narrowed to one of its products by `product` (a query parameter).
[[nodiscard]] std::optional<http::Response> DenyUnlessProductNamed(
    const Caller& caller, const std::optional<std::string>& product);

// Allow for a route naming its product in the path ({product}): 403 for a caller who may not act
// on that product.
[[nodiscard]] http::Handler AllowForProduct(ApiContext& context, Scope scope,
                                            http::Handler handler);

}  // namespace uh::server
