// install: verifies and installs each object of the set (those installed while downloading are
// done already). An update into the inactive slot goes on to reboot; one installed over the
// running system (InPlace) ends here.

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/update_objects.hpp"

namespace uh::agent {

Outcome InstallState::Run(UpdateContext& context, const Handoff& /*in*/) {
  auto& backend = env().backend();
  if (auto stop = EnterCallback(env(), "install")) return *stop;
  context.update->phase = UpdatePhase::kInstalling;
  if (auto saved = SaveUpdateState(env().config().storage.state_file, *context.update); !saved) {
    return Failed(saved.error());
  }
  env().Report(context, "installing");
  for (const auto& object : context.ObjectsForSlot()) {
    const auto ctx = env().ContextFor(object, context.update->previous_slot);
    if (context.InstalledWhileDownloading(object)) {
      spdlog::info("{}: installed as it arrived", object.filename);
      continue;
    }
    // Hashed by this run as it arrived (context.verified): not read back a second time. After a
    // restart it is, as what was written may have been damaged since.
    const bool verified = context.verified.contains(object.sha256sum);
    if (context.DeliveryOf(object) == Delivery::kIntoTarget) {
      auto target = IntoTargetOf(env(), context, object);
      if (!target) return Failed(target.error().WithContext(object.filename));
      if (verified) {
        spdlog::info("{}: streamed into {} and verified as it arrived", object.filename,
                     target->device);
        continue;
      }
      // Written before a restart: what the slot holds is hashed again before it is activated.
      if (auto ok = backend.VerifyStreamed(object, *target, ctx); !ok) {
        std::error_code ec;
        std::filesystem::remove(env().StreamProgressPath(object.sha256sum), ec);
        return Failed(ok.error());
      }
      spdlog::info("{}: streamed into {} and verified", object.filename, target->device);
      continue;
    }
    if (context.DeliveryOf(object) == Delivery::kDownloadAndTarget) {
      auto target = IntoTargetOf(env(), context, object);
      if (!target) return Failed(target.error().WithContext(object.filename));
      if (verified) {
        spdlog::info("{}: written into {} and verified as it downloaded", object.filename,
                     target->device);
        continue;
      }
      // After a restart: the target is hashed again, and written from the download file (which
      // is hashed first) when it no longer holds the object.
      if (auto ok = backend.VerifyStreamed(object, *target, ctx); ok) {
        spdlog::info("{}: written into {} as it downloaded, and verified", object.filename,
                     target->device);
        continue;
      } else if (ok.error().code() == Errc::kCancelled) {
        return Failed(ok.error());
      } else {
        spdlog::info("{}: {}; installing it from the download file", object.filename,
                     ok.error().message());
      }
    }
    if (!verified) {
      if (auto ok = backend.VerifyObjectFile(env().ObjectPath(object.sha256sum), object); !ok) {
        return Failed(ok.error());
      }
    }
    auto skip = backend.AlreadyInstalled(object, ctx);
    if (skip && *skip) {
      spdlog::info("{}: already installed, skipped", object.filename);
      continue;
    }
    spdlog::info("installing {} ({})", object.filename, package::ModeName(object.mode));
    if (auto installed = backend.Install(object, ctx); !installed) {
      return Failed(installed.error());
    }
  }
  env().Report(context, "installed");
  if (context.InPlace()) return FinishInPlace(context);
  return Event::kInstalled;
}

Outcome InstallState::FinishInPlace(UpdateContext& context) {
  auto& runtime = env().runtime();
  // Recorded before the update state goes: cut off in between, the agent installs the package
  // again from what it downloaded rather than fetch it again.
  runtime.update.applied_package_uid = context.update->package_uid;
  runtime.polling.now = true;
  if (auto saved = env().SaveRuntime(); !saved) {
    spdlog::warn("runtime settings: {}", saved.error().message());
  }
  if (auto cleared = ClearUpdateState(env().config().storage.state_file); !cleared) {
    spdlog::error("{}", cleared.error().message());
  }
  RemoveUpdateFiles(env(), context);
  spdlog::info("{} installed over the running system; no reboot", context.offer->parsed.version);
  context.EndUpdate();
  return Event::kInstalledInPlace;
}

}  // namespace uh::agent
