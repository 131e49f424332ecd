#pragma once

// The local HTTP API without the HTTP: one request in, one answer out. Parsing and validating
// request bodies, calling AgentControl, and mapping its answers to upstream's status codes and
// bodies. The server (local_api.hpp) only moves bytes.
//
// Upstream's answers (UpdateHub/updatehub, updatehub/src/http_api.rs and updatehub-sdk/src/api):
//   GET  /info                   200 AgentControl::Info()
//   GET  /log                    200 {"entries": [...], "first_index": N}
//   POST /probe                  200 "updating" | "no_update" | {"try_again": N} | "STATE" (busy)
//   POST /local_install          200 "STATE" (accepted, the state it came from) | 406 "STATE"
//   POST /remote_install         200 "STATE" | 406 "STATE"
//   POST /update/download/abort  200 {"message": "request accepted, download aborted"}
//                                406 {"error": "there is no download to be aborted"}
// Ours besides: {"error": "..."} with 400 (bad body), 404 (no such route), 405 (wrong method),
// 413 (body too large), 500 (the probe failed).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/agent_control.hpp"
#include "agent/api/log_buffer.hpp"
#include "core/error.hpp"

namespace uh::agent {

inline constexpr std::size_t kMaxApiBodyBytes = 64 * 1024;

struct ApiRequest {
  std::string method;  // "GET", "POST"...
  std::string target;  // "/probe", maybe with a query string (ignored)
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string body;   // JSON
  std::string allow;  // the Allow header of a 405
};

// Routes one request.
[[nodiscard]] ApiResponse HandleApiRequest(const ApiRequest& request, AgentControl& control,
                                           const LogBuffer& log);

// Whether HandleApiRequest would call AgentControl for this request (and so may block).
[[nodiscard]] bool CallsAgent(const ApiRequest& request);

// {"error": message} with `status`.
[[nodiscard]] ApiResponse ErrorResponse(int status, std::string_view message);

// POST /probe bodies: empty or {} (no custom server), or {"custom_server": "http(s)://..."}.
[[nodiscard]] Expected<std::optional<std::string>> ParseProbeRequest(std::string_view body);
// POST /local_install: {"file": "/absolute/path"}; the file must exist and be a regular file.
[[nodiscard]] Expected<std::filesystem::path> ParseLocalInstallRequest(std::string_view body);
// POST /remote_install: {"url": "http(s)://host/..."}.
[[nodiscard]] Expected<std::string> ParseRemoteInstallRequest(std::string_view body);

// An http:// or https:// URL with a host and no spaces or control characters.
[[nodiscard]] bool IsHttpUrl(std::string_view text);

[[nodiscard]] ApiResponse ProbeResponse(const ProbeOutcome& outcome);
[[nodiscard]] ApiResponse InstallResponse(const InstallOutcome& outcome);
[[nodiscard]] ApiResponse AbortDownloadResponse(bool aborted);

}  // namespace uh::agent
