// validation: whether the offer can be installed on this device (signature, product,
// hardware, version, install modes, per-object requirements, free space). A valid offer becomes
// the update in progress, saved with its delivery plan.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/update_objects.hpp"
#include "core/fs.hpp"
#include "core/version.hpp"

namespace uh::agent {
namespace {

bool ModeAllowed(const std::vector<std::string>& allowed, package::Mode mode) {
  const auto name = package::ModeName(mode);
  return std::ranges::any_of(allowed, [&](const std::string& entry) {
    // Upstream's list names the test mode "dry-run".
    return entry == name || (mode == package::Mode::kTest && entry == "dry-run");
  });
}

}  // namespace

Outcome ValidationState::Run(UpdateContext& context, const Handoff& /*in*/) {
  const auto& config = env().config();
  const auto& firmware = env().firmware();
  auto& runtime = env().runtime();
  auto& backend = env().backend();
  const Offer& offer = *context.offer;
  const std::string uid = offer.package_uid;
  context.verified.clear();  // a new update: nothing of it was hashed yet
  const auto& metadata = offer.parsed;
  // A server's offer refused here was a probe answered with nothing usable: it counts as a
  // failed probe (the error state saves it), and the next probe backs off.
  const auto invalid = [&](uh::Error error) {
    if (offer.remote) ++runtime.polling.retries;
    return Failed(std::move(error).WithContext("package " + uid));
  };
  if (offer.remote && runtime.update.applied_package_uid == uid) {
    // The server has not seen the new version yet (or keeps offering it): nothing to do
    // until the next regular poll, as after a probe without an update.
    spdlog::info("package {} is already installed", uid);
    runtime.polling.retries = 0;
    runtime.polling.now = false;
    if (auto saved = env().SaveRuntime(); !saved)
      spdlog::warn("runtime settings: {}", saved.error().message());
    context.offer.reset();
    return Event::kAlreadyApplied;
  }
  if (firmware.public_key) {
    if (offer.signature.empty()) {
      return invalid(uh::Error(Errc::kSignature, "unsigned, and this device requires signatures"));
    }
    if (auto verified =
            backend.VerifySignature(*firmware.public_key, offer.metadata, offer.signature);
        !verified) {
      return invalid(verified.error());
    }
  }
  if (metadata.product != firmware.product_uid) {
    return invalid(uh::Error(
        Errc::kInvalidArgument,
        "made for product " + metadata.product + ", this device is " + firmware.product_uid));
  }
  if (!metadata.SupportsHardware(firmware.hardware)) {
    return invalid(
        uh::Error(Errc::kInvalidArgument, "does not support hardware '" + firmware.hardware + "'"));
  }
  // The same version is not a downgrade: an offer of what runs is "already installed" above.
  if (config.update.refuse_downgrades && CompareVersions(metadata.version, firmware.version) < 0) {
    return invalid(
        uh::Error(Errc::kInvalidArgument, "downgrade refused: the package is version " +
                                              metadata.version + " and this device runs " +
                                              firmware.version + " (update.refuse_downgrades)"));
  }
  auto active = env().bootloader().ActiveSlot();
  if (!active) return invalid(active.error().WithContext("reading the active slot"));
  context.update = UpdateState{.phase = UpdatePhase::kDownloading,
                               .package_uid = uid,
                               .metadata = offer.metadata,
                               .signature = offer.signature,
                               .remote = offer.remote,
                               .target_slot = context.InPlace() ? *active : 1 - *active,
                               .previous_slot = *active,
                               .package_file = offer.package_file};
  std::uint64_t needed = 0;
  for (const auto& object : context.ObjectsForSlot()) {
    if (!ModeAllowed(config.update.supported_install_modes, object.mode)) {
      context.update.reset();
      return invalid(uh::Error(Errc::kUnsupported, "install mode " +
                                                       std::string(package::ModeName(object.mode)) +
                                                       " is not allowed on this device"));
    }
    if (auto ok = backend.CheckRequirements(object, env().ContextFor(object, *active)); !ok) {
      context.update.reset();
      return invalid(ok.error());
    }
  }
  // Decided once: a resumed update follows this plan whatever the config says by then.
  context.update->plan = DecidePlan(env(), context);
  for (const auto* object : Distinct(context.ObjectsForSlot())) {
    const auto delivery = context.DeliveryOf(*object);
    if (delivery != Delivery::kDownload && delivery != Delivery::kDownloadAndTarget) {
      continue;  // never lands here
    }
    std::error_code ec;
    const auto have = std::filesystem::file_size(env().ObjectPath(object->sha256sum), ec);
    needed += ec ? object->size : object->size - std::min(object->size, have);
  }
  std::error_code ec;
  std::filesystem::create_directories(config.update.download_dir, ec);
  if (auto room = CheckFreeSpace(config.update.download_dir, needed); !room) {
    context.update.reset();
    return invalid(room.error());
  }
  if (offer.remote) runtime.polling.retries = 0;  // the probe brought a usable offer
  // From here on a restart resumes this update instead of waiting for the next poll.
  if (auto saved = SaveUpdateState(config.storage.state_file, *context.update); !saved) {
    return Failed(saved.error());
  }
  runtime.polling.now = false;
  if (auto saved = env().SaveRuntime(); !saved)
    spdlog::warn("runtime settings: {}", saved.error().message());
  return Event::kValid;
}

}  // namespace uh::agent
