#pragma once

// GET /api/v1/openapi.yaml: the OpenAPI 3 description of the REST API, built into the binary.

#include "server/http/http.hpp"

namespace uh::server {

void AddOpenApiRoute(http::Router& router);

}  // namespace uh::server
