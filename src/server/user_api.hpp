#pragma once

// People: users (admins create and delete them), password changes, and the reports listing.

#include "server/api_context.hpp"
#include "server/http/http.hpp"

namespace uh::server {

void AddUserRoutes(http::Router& router, ApiContext& context);

}  // namespace uh::server
