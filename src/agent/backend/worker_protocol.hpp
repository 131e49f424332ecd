#pragma once

// What the daemon and `updatehub-worker` say to each other (worker_backend.hpp). Requests come
// one at a time on the worker's stdin, each one JSON line:
//
//   {"op": "<operation>", "args": {...}}
//
// The worker answers each on stdout with JSON lines: any number of log lines, then one result
// line; then it reads the next request. It exits at the end of its stdin, and after the request
// during which it got SIGTERM (an abort).
//
//   {"log": "<spdlog level>", "msg": "..."}
//   {"ok": <value>}                      (null for operations that return nothing)
//   {"error": {"code": <Errc as a number>, "message": "..."}}
//
// Decoders check every field: a malformed message is a kMalformed error, never an exception.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "agent/backend/update_backend.hpp"

namespace uh::agent::worker {

inline constexpr std::string_view kProbe = "probe";
inline constexpr std::string_view kReport = "report";
inline constexpr std::string_view kDownloadObject = "download-object";
inline constexpr std::string_view kDownloadUrl = "download-url";
inline constexpr std::string_view kPackageUid = "package-uid";
inline constexpr std::string_view kVerifySignature = "verify-signature";
inline constexpr std::string_view kUnpackPackage = "unpack-package";
inline constexpr std::string_view kVerifyObjectFile = "verify-object-file";
inline constexpr std::string_view kCheckRequirements = "check-requirements";
inline constexpr std::string_view kAlreadyInstalled = "already-installed";
inline constexpr std::string_view kInstall = "install";
inline constexpr std::string_view kVerifyStreamed = "verify-streamed";
inline constexpr std::string_view kStreamInstall = "stream-install";
inline constexpr std::string_view kReadPackage = "read-package";
inline constexpr std::string_view kExtractObject = "extract-object";
inline constexpr std::string_view kInstallFromPackage = "install-from-package";

// Largest request or result line taken (metadata is at most 1 MiB, encoded).
inline constexpr std::size_t kMaxMessageBytes = 8 * 1024 * 1024;

[[nodiscard]] nlohmann::json ToJson(const ClientOptions& options);
[[nodiscard]] nlohmann::json ToJson(const ProbeResult& result);
[[nodiscard]] nlohmann::json ToJson(const ReportRequest& report);
[[nodiscard]] nlohmann::json ToJson(const ObjectDownload& download);
[[nodiscard]] nlohmann::json ToJson(const InstallContext& ctx);
[[nodiscard]] nlohmann::json ToJson(const StreamTarget& target);
[[nodiscard]] nlohmann::json ToJson(const UnpackedPackage& package);
[[nodiscard]] nlohmann::json ToJson(const uh::Error& error);

[[nodiscard]] Expected<ClientOptions> ClientOptionsFrom(const nlohmann::json& json);
[[nodiscard]] Expected<ProbeResult> ProbeResultFrom(const nlohmann::json& json);
[[nodiscard]] Expected<ReportRequest> ReportRequestFrom(const nlohmann::json& json);
[[nodiscard]] Expected<ObjectDownload> ObjectDownloadFrom(const nlohmann::json& json);
[[nodiscard]] Expected<InstallContext> InstallContextFrom(const nlohmann::json& json);
[[nodiscard]] Expected<StreamTarget> StreamTargetFrom(const nlohmann::json& json);
[[nodiscard]] Expected<UnpackedPackage> UnpackedPackageFrom(const nlohmann::json& json);
[[nodiscard]] Expected<uh::Error> ErrorFrom(const nlohmann::json& json);

}  // namespace uh::agent::worker
