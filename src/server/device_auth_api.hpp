#pragma once

// The management side of device authentication (docs/device-authentication.md): a product's
// mode, enrolment and client CA, pre-provisioned devices, accepting and rejecting enrolled
// devices, and issuing a device a new secret.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/api_context.hpp"
#include "server/http/http.hpp"

namespace uh::server {

// PATCH /api/v1/products/{uid} keys handled here.
[[nodiscard]] bool IsDeviceAuthSetting(const std::string& key);

// Checks and stores the "device_auth", "enrolment" and "client_ca" members of a product PATCH
// body, all or none; nullopt when done (or when the body has none of them), else the answer.
[[nodiscard]] std::optional<http::Response> ApplyDeviceAuthSettings(ApiContext& context,
                                                                    const std::string& uid,
                                                                    const nlohmann::json& body);

// POST /api/v1/products/{product}/devices, POST /api/v1/devices/{id}/{accept,reject,token}.
void AddDeviceAuthRoutes(http::Router& router, ApiContext& context);

}  // namespace uh::server
