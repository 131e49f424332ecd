#pragma once

// What the server keeps of a device's probe and report: the protocol's parsed bodies
// (protocol/bodies.hpp) turned into the store's records. No HTTP here; see device_api for the
// handlers.

#include <string>

#include "protocol/bodies.hpp"
#include "server/store/store.hpp"

namespace uh::server {

// A report as the rollout engine sees it.
using ReportRequest = protocol::ParsedReport;

// Pre-provisioned identities (the management API) are checked as a probe's.
using protocol::ParseIdentity;

// The store's record of a device as it described itself at `seen_at`.
[[nodiscard]] DeviceProbe ToDeviceProbe(const protocol::ProbeRequest& device,
                                        const std::string& seen_at);

}  // namespace uh::server
