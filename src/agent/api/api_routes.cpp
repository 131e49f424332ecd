#include "agent/api/api_routes.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <system_error>
#include <utility>

#include "core/json.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;

// Strings from the daemon are not trusted to be UTF-8: never throw while answering.
ApiResponse Ok(const json& body, int status = 200) { return {status, DumpJson(body), {}}; }

// Parses a request body that must be an object with exactly the string field `field` (upstream
// denies unknown fields too).
Expected<std::string> ParseStringField(std::string_view body, std::string_view field) {
  auto parsed = ParseJson(body, JsonLimits{.max_depth = 8, .max_bytes = kMaxApiBodyBytes});
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json& object = *parsed;
  if (!object.is_object()) {
    return Fail(Errc::kMalformed,
                "the body must be a JSON object, not " + std::string(JsonTypeName(object)));
  }
  for (const auto& [key, value] : object.items()) {
    if (key != field) return Fail(Errc::kMalformed, "unknown field '" + key + "'");
  }
  const auto it = object.find(std::string(field));
  if (it == object.end())
    return Fail(Errc::kMalformed, "missing field '" + std::string(field) + "'");
  if (!it->is_string()) {
    return Fail(Errc::kMalformed, "field '" + std::string(field) + "' must be a string, not " +
                                      std::string(JsonTypeName(*it)));
  }
  return it->get<std::string>();
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

ApiResponse BadRequest(const Error& error) { return ErrorResponse(400, error.message()); }

ApiResponse HandleInfo(const ApiRequest&, AgentControl& control, const LogBuffer&) {
  return Ok(control.Info());
}

ApiResponse HandleLog(const ApiRequest&, AgentControl&, const LogBuffer& log) {
  return Ok(log.ToJson());
}

ApiResponse HandleProbe(const ApiRequest& request, AgentControl& control, const LogBuffer&) {
  auto custom_server = ParseProbeRequest(request.body);
  if (!custom_server) return BadRequest(custom_server.error());
  return ProbeResponse(control.RequestProbe(std::move(*custom_server)));
}

ApiResponse HandleLocalInstall(const ApiRequest& request, AgentControl& control, const LogBuffer&) {
  auto file = ParseLocalInstallRequest(request.body);
  if (!file) return BadRequest(file.error());
  return InstallResponse(control.RequestLocalInstall(std::move(*file)));
}

ApiResponse HandleRemoteInstall(const ApiRequest& request, AgentControl& control,
                                const LogBuffer&) {
  auto url = ParseRemoteInstallRequest(request.body);
  if (!url) return BadRequest(url.error());
  return InstallResponse(control.RequestRemoteInstall(std::move(*url)));
}

ApiResponse HandleAbortDownload(const ApiRequest&, AgentControl& control, const LogBuffer&) {
  return AbortDownloadResponse(control.AbortDownload());
}

struct Route {
  std::string_view path;
  std::string_view method;
  ApiResponse (*handler)(const ApiRequest&, AgentControl&, const LogBuffer&);
  bool calls_agent;
};

constexpr std::array kRoutes{
    Route{"/info", "GET", &HandleInfo, true},
    Route{"/log", "GET", &HandleLog, false},
    Route{"/probe", "POST", &HandleProbe, true},
    Route{"/local_install", "POST", &HandleLocalInstall, true},
    Route{"/remote_install", "POST", &HandleRemoteInstall, true},
    Route{"/update/download/abort", "POST", &HandleAbortDownload, true},
};

std::string_view PathOf(const ApiRequest& request) {
  const std::string_view target = request.target;
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace

ApiResponse ErrorResponse(int status, std::string_view message) {
  return Ok(json{{"error", message}}, status);
}

bool IsHttpUrl(std::string_view text) {
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else {
    return false;
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  const auto host_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, host_end);
  return !authority.empty() && authority.front() != ':' && authority.front() != '@';
}

Expected<std::optional<std::string>> ParseProbeRequest(std::string_view body) {
  if (IsBlank(body)) return std::nullopt;
  auto parsed = ParseJson(body, JsonLimits{.max_depth = 8, .max_bytes = kMaxApiBodyBytes});
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  if (parsed->is_object() && parsed->empty()) return std::nullopt;
  auto server = ParseStringField(body, "custom_server");
  if (!server) return std::unexpected(std::move(server.error()));
  if (!IsHttpUrl(*server)) {
    return Fail(Errc::kInvalidArgument, "custom_server must be an http or https URL");
  }
  return std::optional<std::string>(std::move(*server));
}

Expected<std::filesystem::path> ParseLocalInstallRequest(std::string_view body) {
  auto file = ParseStringField(body, "file");
  if (!file) return std::unexpected(std::move(file.error()));
  // The system calls see the path only up to a NUL: "/a\u0000b" would be checked, and
  // installed, as "/a" while every message names another file.
  if (file->find('\0') != std::string::npos) {
    return Fail(Errc::kInvalidArgument, "file must not contain a NUL character");
  }
  std::filesystem::path path(*file);
  if (!path.is_absolute()) {
    return Fail(Errc::kInvalidArgument, "file must be an absolute path, not '" + *file + "'");
  }
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Fail(Errc::kNotFound, *file + ": no such file");
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Fail(Errc::kInvalidArgument, *file + ": not a regular file");
  }
  return path;
}

Expected<std::string> ParseRemoteInstallRequest(std::string_view body) {
  auto url = ParseStringField(body, "url");
  if (!url) return std::unexpected(std::move(url.error()));
  if (!IsHttpUrl(*url)) return Fail(Errc::kInvalidArgument, "url must be an http or https URL");
  return url;
}

ApiResponse ProbeResponse(const ProbeOutcome& outcome) {
  switch (outcome.kind) {
    case ProbeOutcome::Kind::kUpdating:
      return Ok("updating");
    case ProbeOutcome::Kind::kNoUpdate:
      return Ok("no_update");
    case ProbeOutcome::Kind::kTryAgain:
      return Ok(json{{"try_again", outcome.try_again_in}});
    case ProbeOutcome::Kind::kBusy:
      // Upstream answers a busy probe with 200 and the bare state name.
      return Ok(outcome.detail);
    case ProbeOutcome::Kind::kFailed:
      break;
  }
  return ErrorResponse(500, "probe failed: " + outcome.detail);
}

ApiResponse InstallResponse(const InstallOutcome& outcome) {
  return Ok(outcome.state, outcome.accepted ? 200 : 406);
}

ApiResponse AbortDownloadResponse(bool aborted) {
  if (aborted) return Ok(json{{"message", "request accepted, download aborted"}});
  return ErrorResponse(406, "there is no download to be aborted");
}

bool CallsAgent(const ApiRequest& request) {
  const std::string_view path = PathOf(request);
  for (const Route& route : kRoutes) {
    if (route.path == path && route.method == request.method) return route.calls_agent;
  }
  return false;
}

ApiResponse HandleApiRequest(const ApiRequest& request, AgentControl& control,
                             const LogBuffer& log) {
  const std::string_view path =
      std::string_view(request.target)
          .substr(0, std::string_view(request.target).find_first_of("?#"));
  const Route* path_match = nullptr;
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    path_match = &route;
    if (route.method == request.method) {
      spdlog::debug("local API: {} {}", request.method, path);
      return route.handler(request, control, log);
    }
  }
  if (path_match == nullptr) return ErrorResponse(404, "no such route");
  ApiResponse response = ErrorResponse(405, "method not allowed");
  response.allow = std::string(path_match->method);
  return response;
}

}  // namespace uh::agent
