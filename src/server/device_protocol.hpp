#pragma once

// The device side of the UpdateHub protocol as plain functions: parsing and validating what
// agents send (probe and report bodies). No HTTP here; see device_api for the handlers.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct ProbeRequest {
  std::string product_uid;
  std::string version;
  std::string hardware;
  // Objects of key -> string or array of strings. Arrays are sorted, so that the same device
  // reporting its values in another order is the same device.
  nlohmann::json identity;
  nlohmann::json attributes;

  // Canonical JSON of the identity: the device's key within its product.
  [[nodiscard]] std::string CanonicalIdentity() const;
  [[nodiscard]] DeviceProbe ToDeviceProbe(const std::string& seen_at) const;
};

// Parses a probe body ("product-uid", "version", "hardware", "device-identity",
// "device-attributes"). Unknown top-level keys are ignored, as agents may add some.
[[nodiscard]] Expected<ProbeRequest> ParseProbe(std::string_view body);

struct ReportRequest {
  ProbeRequest device;
  std::string status;
  std::string package_uid;
  std::string previous_state;
  std::string error_message;
  std::string current_log;
};

// A device identity given through the management API (pre-provisioning), checked and
// normalised like a probe's "device-identity".
[[nodiscard]] Expected<nlohmann::json> ParseIdentity(const nlohmann::json& identity);

// Statuses agents send: downloading, downloaded, installing, installed, rebooting, updated,
// error (with previous-state and error-message).
[[nodiscard]] Expected<ReportRequest> ParseReport(std::string_view body);

}  // namespace uh::server
