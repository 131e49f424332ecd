#pragma once

// The names of the UpdateHub device protocol (docs/protocol.md, 1.1 and 1.3 to 1.5), in one
// place: what agents, the simulator and the server put on the wire. HTTP header names are
// case-insensitive; these are spelt as upstream sends them.

#include <string>
#include <string_view>

namespace uh::protocol {

// Request headers.
inline constexpr std::string_view kApiContentTypeHeader = "Api-Content-Type";
inline constexpr std::string_view kApiContentType = "application/vnd.updatehub-v1+json";
inline constexpr std::string_view kJsonContentType = "application/json";
// How many probes in a row failed before this one.
inline constexpr std::string_view kApiRetriesHeader = "Api-Retries";
// The product's shared token and the device's own secret (extensions of this project).
inline constexpr std::string_view kProductTokenHeader = "UH-Product-Token";
inline constexpr std::string_view kDeviceTokenHeader = "UH-Device-Token";

// "updatehub/<version> Linux", the User-Agent of an agent of that version.
[[nodiscard]] inline std::string UserAgent(std::string_view agent_version) {
  return "updatehub/" + std::string(agent_version) + " Linux";
}

// Probe reply headers.
inline constexpr std::string_view kExtraPollHeader = "Add-Extra-Poll";
inline constexpr std::string_view kSignatureHeader = "UH-Signature";

// Paths below the server's base URL; objects are at ObjectPath (url.hpp).
inline constexpr std::string_view kProbePath = "/upgrades";
inline constexpr std::string_view kReportPath = "/report";

}  // namespace uh::protocol
