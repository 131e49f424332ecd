// download: brings every object of the update as its delivery plan says, resumable: what
// arrived stays in the download directory (or the target) for a later resume.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/update_objects.hpp"

namespace uh::agent {

Outcome DownloadState::Run(UpdateContext& context, const Handoff& /*in*/) {
  const auto& config = env().config();
  auto& requests = env().requests();
  if (auto stop = EnterCallback(env(), "download")) return *stop;
  if (auto saved = SaveUpdateState(config.storage.state_file, *context.update); !saved) {
    return Failed(saved.error());
  }
  env().Report(context, "downloading");
  // A resumed update may find it gone (a download directory on tmpfs, after a power cut).
  std::error_code ec;
  std::filesystem::create_directories(config.update.download_dir, ec);
  requests.StartDownload();
  for (const auto* object : Distinct(context.ObjectsForSlot())) {
    if (context.InstalledWhileDownloading(*object)) {
      spdlog::info("{}: installed as it arrived, before a restart", object->filename);
      continue;
    }
    auto fetched = FetchObject(context, *object);
    if (!fetched) {
      requests.EndDownload();
      if (fetched.error().code() == Errc::kCancelled) {
        spdlog::info(
            "download aborted; what arrived in the download directory is kept for a "
            "later resume");
        if (requests.stopping()) return Event::kCancelled;  // resumes on the next start
        (void)ClearUpdateState(config.storage.state_file);
        context.EndUpdate();
        return Event::kCancelled;
      }
      return Failed(fetched.error().WithContext(object->filename));
    }
  }
  requests.EndDownload();
  env().Report(context, "downloaded");
  return Event::kDownloaded;
}

Expected<void> DownloadState::FetchObject(UpdateContext& context, const package::Object& object) {
  auto& update = *context.update;
  auto& backend = env().backend();
  auto& abort = env().requests().abort_flag();
  const auto& options = env().options();
  const auto path = env().ObjectPath(object.sha256sum);
  const auto delivery = context.DeliveryOf(object);
  const auto ctx = env().ContextFor(object, update.previous_slot);
  Expected<void> fetched;
  if (!update.remote && update.package_file.empty()) {
    fetched = backend.VerifyObjectFile(path, object);  // unpacked from its package already
    if (fetched) context.verified.insert(object.sha256sum);
    return fetched;
  }
  if (!update.remote) {
    // A package read in place: each object goes from it into its installer, or into the
    // download directory.
    if (delivery == Delivery::kFromPackage) {
      spdlog::info("{}: installing ({}) from {}", object.filename, package::ModeName(object.mode),
                   update.package_file);
      fetched = backend.InstallFromPackage(update.package_file, object, ctx, abort);
    } else {
      fetched = backend.ExtractObject(update.package_file, object, path);
    }
  } else {
    ObjectDownload download{context.offer->parsed.product, update.package_uid, object.sha256sum,
                            object.size, path};
    if (delivery == Delivery::kIntoTarget) {
      auto target = IntoTargetOf(env(), context, object);
      if (!target) return std::unexpected(std::move(target.error()));
      spdlog::info("{}: streaming into {} at offset {}", object.filename, target->device,
                   target->offset);
      download.dest = target->path;
      download.stream =
          ObjectDownload::Stream{target->offset, env().StreamProgressPath(object.sha256sum)};
    } else if (delivery == Delivery::kDownloadAndTarget) {
      auto target = IntoTargetOf(env(), context, object);
      if (!target) return std::unexpected(std::move(target.error()));
      spdlog::info("{}: downloading, and writing into {} at offset {} as it arrives",
                   object.filename, target->device, target->offset);
      download.copy = ObjectDownload::Copy{target->path, target->offset};
    } else if (delivery == Delivery::kPipe) {
      spdlog::info("{}: installing ({}) while it downloads", object.filename,
                   package::ModeName(object.mode));
    }
    const ClientOptions server = env().UpdateServerOptions(context);
    auto delay = options.download_retry_base;
    for (int attempt = 0;; ++attempt) {
      fetched = delivery == Delivery::kPipe
                    ? backend.StreamInstall(server, download, object, ctx, abort)
                    : backend.DownloadObject(server, download, abort);
      // Only the network's failures are worth another try; what arrived stays for the resume.
      if (fetched || attempt >= options.download_retries ||
          (fetched.error().code() != Errc::kIo && fetched.error().code() != Errc::kTimeout)) {
        break;
      }
      spdlog::warn("{}: {}; resuming in {} ms (retry {} of {})", object.filename,
                   fetched.error().message(), delay.count(), attempt + 1, options.download_retries);
      if (!env().requests().WaitBeforeDownloadRetry(delay)) {
        return Fail(Errc::kCancelled, "download aborted");
      }
      delay = std::min(delay * 2, options.download_retry_cap);
    }
  }
  if (!fetched) return fetched;
  // Each of these calls checked the object's size and sha256 on the bytes it wrote.
  context.verified.insert(object.sha256sum);
  if (delivery == Delivery::kPipe || delivery == Delivery::kFromPackage) {
    update.installed_while_downloading.push_back(object.sha256sum);
    return SaveUpdateState(env().config().storage.state_file, update);
  }
  return fetched;
}

}  // namespace uh::agent
