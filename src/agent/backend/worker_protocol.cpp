#include "agent/backend/worker_protocol.hpp"

#include <type_traits>
#include <utility>

namespace uh::agent::worker {
namespace {

using nlohmann::json;

// Runs a decoder; the json library's exceptions (missing field, wrong type) become kMalformed.
template <typename F>
auto Decode(std::string_view what, F&& decode) -> Expected<std::invoke_result_t<F>> {
  try {
    return std::forward<F>(decode)();
  } catch (const json::exception& e) {
    return Fail(Errc::kMalformed, "worker message (" + std::string(what) + "): " + e.what());
  }
}

template <typename T>
void PutOptional(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

template <typename T>
std::optional<T> GetOptional(const json& in, const char* key) {
  const auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}

}  // namespace

json ToJson(const ClientOptions& options) {
  json out = {{"server_url", options.server_url},
              {"connect_timeout_ms", options.connect_timeout.count()},
              {"low_speed_limit", options.low_speed_limit},
              {"low_speed_time_s", options.low_speed_time.count()},
              {"request_timeout_ms", options.request_timeout.count()},
              {"download_min_rate", options.download_min_rate},
              {"download_time_allowance_ms", options.download_time_allowance.count()},
              {"user_agent", options.user_agent},
              {"max_metadata_bytes", options.max_metadata_bytes}};
  if (options.ca_file) out["ca_file"] = options.ca_file->string();
  PutOptional(out, "product_token", options.product_token);
  PutOptional(out, "device_token", options.device_token);
  if (options.client_certificate) out["client_certificate"] = options.client_certificate->string();
  if (options.client_key) out["client_key"] = options.client_key->string();
  return out;
}

Expected<ClientOptions> ClientOptionsFrom(const json& in) {
  return Decode("server", [&] {
    ClientOptions options;
    options.server_url = in.at("server_url").get<std::string>();
    options.connect_timeout = std::chrono::milliseconds(in.at("connect_timeout_ms").get<long>());
    options.low_speed_limit = in.at("low_speed_limit").get<std::uint32_t>();
    options.low_speed_time = std::chrono::seconds(in.at("low_speed_time_s").get<long>());
    options.request_timeout = std::chrono::milliseconds(in.at("request_timeout_ms").get<long>());
    options.download_min_rate = in.at("download_min_rate").get<std::uint32_t>();
    options.download_time_allowance =
        std::chrono::milliseconds(in.at("download_time_allowance_ms").get<long>());
    options.user_agent = in.at("user_agent").get<std::string>();
    options.max_metadata_bytes = in.at("max_metadata_bytes").get<std::size_t>();
    if (auto ca = GetOptional<std::string>(in, "ca_file")) options.ca_file = *ca;
    options.product_token = GetOptional<std::string>(in, "product_token");
    options.device_token = GetOptional<std::string>(in, "device_token");
    if (auto cert = GetOptional<std::string>(in, "client_certificate")) {
      options.client_certificate = *cert;
    }
    if (auto key = GetOptional<std::string>(in, "client_key")) options.client_key = *key;
    return options;
  });
}

json ToJson(const ProbeResult& result) {
  if (const auto* extra = std::get_if<ExtraPoll>(&result)) {
    return {{"kind", "extra-poll"}, {"seconds", extra->seconds}};
  }
  if (const auto* offer = std::get_if<UpdateOffer>(&result)) {
    json out = {
        {"kind", "update"}, {"metadata", offer->metadata}, {"package_uid", offer->package_uid}};
    PutOptional(out, "signature", offer->signature);
    return out;
  }
  return {{"kind", "none"}};
}

Expected<ProbeResult> ProbeResultFrom(const json& in) {
  auto decoded = Decode("probe", [&]() -> std::optional<ProbeResult> {
    const auto kind = in.at("kind").get<std::string>();
    if (kind == "none") return ProbeResult(NoUpdate{});
    if (kind == "extra-poll") return ProbeResult(ExtraPoll{in.at("seconds").get<std::int64_t>()});
    if (kind == "update") {
      UpdateOffer offer;
      offer.metadata = in.at("metadata").get<std::string>();
      offer.signature = GetOptional<std::string>(in, "signature");
      offer.package_uid = in.at("package_uid").get<std::string>();
      return ProbeResult(std::move(offer));
    }
    return std::nullopt;
  });
  if (!decoded) return std::unexpected(std::move(decoded).error());
  if (!*decoded) return Fail(Errc::kMalformed, "worker message (probe): unknown kind");
  return std::move(**decoded);
}

json ToJson(const ReportRequest& report) {
  json out = {{"status", report.status}, {"package_uid", report.package_uid}};
  PutOptional(out, "previous_state", report.previous_state);
  PutOptional(out, "error_message", report.error_message);
  PutOptional(out, "current_log", report.current_log);
  return out;
}

Expected<ReportRequest> ReportRequestFrom(const json& in) {
  return Decode("report", [&] {
    ReportRequest report;
    report.status = in.at("status").get<std::string>();
    report.package_uid = in.at("package_uid").get<std::string>();
    report.previous_state = GetOptional<std::string>(in, "previous_state");
    report.error_message = GetOptional<std::string>(in, "error_message");
    report.current_log = GetOptional<std::string>(in, "current_log");
    return report;
  });
}

json ToJson(const ObjectDownload& download) {
  json out = {{"product_uid", download.product_uid},
              {"package_uid", download.package_uid},
              {"sha256", download.sha256},
              {"size", download.size},
              {"dest", download.dest.string()}};
  if (download.stream) {
    out["stream"] = {{"offset", download.stream->offset},
                     {"progress_file", download.stream->progress_file.string()},
                     {"checkpoint_bytes", download.stream->checkpoint_bytes}};
  }
  if (download.copy) {
    out["copy"] = {{"path", download.copy->path.string()}, {"offset", download.copy->offset}};
  }
  return out;
}

Expected<ObjectDownload> ObjectDownloadFrom(const json& in) {
  return Decode("object download", [&] {
    ObjectDownload download;
    download.product_uid = in.at("product_uid").get<std::string>();
    download.package_uid = in.at("package_uid").get<std::string>();
    download.sha256 = in.at("sha256").get<std::string>();
    download.size = in.at("size").get<std::uint64_t>();
    download.dest = in.at("dest").get<std::string>();
    if (const auto it = in.find("stream"); it != in.end() && !it->is_null()) {
      ObjectDownload::Stream stream;
      stream.offset = it->at("offset").get<std::uint64_t>();
      stream.progress_file = it->at("progress_file").get<std::string>();
      stream.checkpoint_bytes = it->at("checkpoint_bytes").get<std::uint64_t>();
      download.stream = std::move(stream);
    }
    if (const auto it = in.find("copy"); it != in.end() && !it->is_null()) {
      download.copy = ObjectDownload::Copy{it->at("path").get<std::string>(),
                                           it->at("offset").get<std::uint64_t>()};
    }
    return download;
  });
}

json ToJson(const InstallContext& ctx) {
  json out = {{"object_file", ctx.object_file.string()},
              {"target_root", ctx.target_root.string()},
              {"work_dir", ctx.work_dir.string()},
              {"tool_path", ctx.tool_path},
              {"tool_timeout_ms", ctx.tool_timeout.count()}};
  PutOptional(out, "active_set", ctx.active_set);
  return out;
}

Expected<InstallContext> InstallContextFrom(const json& in) {
  return Decode("install context", [&] {
    InstallContext ctx;
    ctx.object_file = in.at("object_file").get<std::string>();
    ctx.target_root = in.at("target_root").get<std::string>();
    ctx.work_dir = in.at("work_dir").get<std::string>();
    ctx.tool_path = in.at("tool_path").get<std::string>();
    ctx.tool_timeout = std::chrono::milliseconds(in.at("tool_timeout_ms").get<long>());
    ctx.active_set = GetOptional<int>(in, "active_set");
    return ctx;
  });
}

json ToJson(const StreamTarget& target) {
  return {{"device", target.device}, {"path", target.path.string()}, {"offset", target.offset}};
}

Expected<StreamTarget> StreamTargetFrom(const json& in) {
  return Decode("stream target", [&] {
    return StreamTarget{in.at("device").get<std::string>(), in.at("path").get<std::string>(),
                        in.at("offset").get<std::uint64_t>()};
  });
}

json ToJson(const UnpackedPackage& package) {
  return {{"metadata", package.metadata},
          {"signature", package.signature},
          {"package_uid", package.package_uid}};
}

Expected<UnpackedPackage> UnpackedPackageFrom(const json& in) {
  return Decode("package", [&] {
    return UnpackedPackage{in.at("metadata").get<std::string>(),
                           in.at("signature").get<std::string>(),
                           in.at("package_uid").get<std::string>()};
  });
}

json ToJson(const uh::Error& error) {
  return {{"code", static_cast<int>(error.code())}, {"message", error.message()}};
}

Expected<uh::Error> ErrorFrom(const json& in) {
  auto decoded = Decode("error", [&] {
    return std::pair(in.at("code").get<int>(), in.at("message").get<std::string>());
  });
  if (!decoded) return std::unexpected(std::move(decoded).error());
  const auto [code, message] = std::move(*decoded);
  if (code < 0 || code > static_cast<int>(Errc::kInternal)) {
    return Fail(Errc::kMalformed, "worker message (error): unknown code " + std::to_string(code));
  }
  return uh::Error(static_cast<Errc>(code), message);
}

}  // namespace uh::agent::worker
