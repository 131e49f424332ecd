#include "agent/daemon/states/take_request.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "package/metadata.hpp"

namespace uh::agent {
namespace {

// Turns an install request into the offer.
Expected<void> PrepareInstall(Environment& env, UpdateContext& context,
                              const DaemonRequest& request) {
  const auto& config = env.config();
  std::error_code ec;
  std::filesystem::create_directories(config.update.download_dir, ec);
  if (ec)
    return Fail(Errc::kIo, "creating " + config.update.download_dir.string() + ": " + ec.message());
  std::filesystem::path file = request.argument;
  if (request.kind == DaemonRequest::Kind::kRemoteInstall) {
    file = env.RemoteInstallPath();
    env.requests().StartDownload();
    auto fetched =
        env.backend().DownloadUrl(env.ServerOptions(config.network.server_address),
                                  request.argument, file, env.requests().abort_flag(), 16ULL << 30);
    env.requests().EndDownload();
    if (!fetched) return std::unexpected(fetched.error().WithContext(request.argument));
  }
  // Streaming: the objects stay in the package file until each goes to its target (the
  // validation plans which are read from it); otherwise they are all unpacked into the download
  // directory first (and a downloaded package goes).
  const bool keep_package = config.update.stream_objects;
  auto unpacked = keep_package ? env.backend().ReadPackage(file)
                               : env.backend().UnpackPackage(file, config.update.download_dir);
  if (request.kind == DaemonRequest::Kind::kRemoteInstall && (!keep_package || !unpacked)) {
    std::filesystem::remove(file, ec);
  }
  if (!unpacked) return std::unexpected(std::move(unpacked).error());
  auto parsed = package::ParseMetadata(unpacked->metadata);
  if (!parsed) return std::unexpected(parsed.error().WithContext(file.string()));
  context.offer = Offer{std::move(unpacked->metadata),
                        std::move(unpacked->signature),
                        false,
                        std::move(*parsed),
                        std::move(unpacked->package_uid),
                        keep_package ? std::filesystem::absolute(file, ec).string() : ""};
  spdlog::info("installing {} from {}", context.offer->parsed.version, request.argument);
  return {};
}

}  // namespace

Outcome TakeRequest(Environment& env, UpdateContext& context, const DaemonRequest& request) {
  if (request.kind == DaemonRequest::Kind::kProbe) {
    Outcome outcome(Event::kProbeNow);
    outcome.handoff.probe_server = request.argument;
    return outcome;
  }
  if (auto prepared = PrepareInstall(env, context, request); !prepared) {
    return Failed(prepared.error());
  }
  return Event::kUpdate;
}

}  // namespace uh::agent
