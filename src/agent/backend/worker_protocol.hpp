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

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/backend/update_backend.hpp"

namespace uh::agent::worker {

// The operations, one per UpdateBackend call that crosses to the worker. This table is the one
// place an operation is added: its name on the wire is here, the worker's dispatch switches
// over Op (so the compiler names an operation it does not serve), and a test sends every name
// to a real worker.
enum class Op {
  kProbe,
  kReport,
  kDownloadObject,
  kDownloadUrl,
  kPackageUid,
  kVerifySignature,
  kUnpackPackage,
  kVerifyObjectFile,
  kCheckRequirements,
  kAlreadyInstalled,
  kInstall,
  kVerifyStreamed,
  kStreamInstall,
  kReadPackage,
  kExtractObject,
  kInstallFromPackage,
};

struct OpInfo {
  Op op;
  std::string_view name;
};

inline constexpr std::array<OpInfo, 16> kOps = {{
    {Op::kProbe, "probe"},
    {Op::kReport, "report"},
    {Op::kDownloadObject, "download-object"},
    {Op::kDownloadUrl, "download-url"},
    {Op::kPackageUid, "package-uid"},
    {Op::kVerifySignature, "verify-signature"},
    {Op::kUnpackPackage, "unpack-package"},
    {Op::kVerifyObjectFile, "verify-object-file"},
    {Op::kCheckRequirements, "check-requirements"},
    {Op::kAlreadyInstalled, "already-installed"},
    {Op::kInstall, "install"},
    {Op::kVerifyStreamed, "verify-streamed"},
    {Op::kStreamInstall, "stream-install"},
    {Op::kReadPackage, "read-package"},
    {Op::kExtractObject, "extract-object"},
    {Op::kInstallFromPackage, "install-from-package"},
}};

[[nodiscard]] constexpr std::string_view OpName(Op op) {
  for (const auto& info : kOps) {
    if (info.op == op) return info.name;
  }
  return "?";
}

[[nodiscard]] constexpr std::optional<Op> OpFromName(std::string_view name) {
  for (const auto& info : kOps) {
    if (info.name == name) return info.op;
  }
  return std::nullopt;
}

// Every Op has exactly one row, in order.
[[nodiscard]] constexpr bool OpsTableIsComplete() {
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<std::size_t>(kOps[i].op) != i) return false;
  }
  return static_cast<std::size_t>(Op::kInstallFromPackage) + 1 == kOps.size();
}
static_assert(OpsTableIsComplete(), "worker::kOps must list every Op once, in order");

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
