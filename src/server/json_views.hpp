#pragma once

// How stored records look in the management API.

#include <nlohmann/json.hpp>

#include "server/store/store.hpp"

namespace uh::server {

[[nodiscard]] nlohmann::json ToJson(const Product& product);
[[nodiscard]] nlohmann::json ToJson(const SigningKey& key);
// Without the metadata bytes; callers add them when showing one package.
[[nodiscard]] nlohmann::json ToJson(const Package& package);
[[nodiscard]] nlohmann::json ToJson(const Device& device);
[[nodiscard]] nlohmann::json ToJson(const Report& report);

}  // namespace uh::server
