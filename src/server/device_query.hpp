#pragma once

// The device search of GET /api/v1/devices as a plain function: query parameters in, a store
// filter out, every parameter it does not know refused by name.

#include <map>
#include <string>

#include "core/error.hpp"
#include "server/store/store.hpp"

namespace uh::server {

// product, hardware, version, identity.KEY=VALUE, attributes.KEY=VALUE (any number of keys),
// seen_before and seen_after (RFC 3339 UTC), rollout_state (a device state or "none"), after
// and limit. kInvalidArgument names a parameter it does not know or a value it cannot use.
[[nodiscard]] Expected<DeviceFilter> ParseDeviceQuery(
    const std::map<std::string, std::string>& query);

}  // namespace uh::server
