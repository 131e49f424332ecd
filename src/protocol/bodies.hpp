#pragma once

// The JSON bodies a device sends (docs/protocol.md, 1.2, 1.3 and 1.5): the agent's side builds
// them, the server's side parses and checks them. A probe body is the device's fields; a report
// body is the same fields and the report's own.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh::protocol {

// A report as a device sends it.
struct ReportRequest {
  std::string status{};  // downloading, downloaded, installing, installed, rebooting, error
  std::string package_uid{};
  // Set for "error" reports: the status of the step that failed, and what happened.
  std::optional<std::string> previous_state{};
  std::optional<std::string> error_message{};
  std::optional<std::string> current_log{};
};

// JSON text of a request body. Invalid UTF-8 in the device's fields (which come from firmware
// scripts) is replaced rather than thrown on.
[[nodiscard]] Expected<std::string> ProbeBody(const nlohmann::json& device_fields);
[[nodiscard]] Expected<std::string> ReportBody(const nlohmann::json& device_fields,
                                               const ReportRequest& report);

// A device's fields as a server reads them from a probe or report body.
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
};

// Parses a probe body ("product-uid", "version", "hardware", "device-identity",
// "device-attributes"). Unknown top-level keys are ignored, as agents may add some.
[[nodiscard]] Expected<ProbeRequest> ParseProbe(std::string_view body);

// A report as a server reads it: an absent optional field is an empty string, as it is stored.
struct ParsedReport {
  ProbeRequest device;
  std::string status;
  std::string package_uid;
  std::string previous_state;
  std::string error_message;
  std::string current_log;
};

// Statuses agents send: downloading, downloaded, installing, installed, rebooting, updated,
// error (with previous-state and error-message).
[[nodiscard]] Expected<ParsedReport> ParseReport(std::string_view body);

// A device identity given otherwise (the server's pre-provisioning), checked and normalised like
// a probe's "device-identity".
[[nodiscard]] Expected<nlohmann::json> ParseIdentity(const nlohmann::json& identity);

}  // namespace uh::protocol
