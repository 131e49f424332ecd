// Daemon states of the update itself: validation, download, install, reboot; and preparing
// an install asked through the local API.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <system_error>

#include "agent/daemon/daemon.hpp"
#include "agent/install/installer.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/version.hpp"

namespace uh::agent {
namespace {

// The distinct objects of a set (two objects may share content).
std::vector<const package::Object*> Distinct(const std::vector<package::Object>& objects) {
  std::vector<const package::Object*> out;
  std::set<std::string> seen;
  for (const auto& object : objects) {
    if (seen.insert(object.sha256sum).second) out.push_back(&object);
  }
  return out;
}

bool ModeAllowed(const std::vector<std::string>& allowed, package::Mode mode) {
  const auto name = package::ModeName(mode);
  return std::ranges::any_of(allowed, [&](const std::string& entry) {
    // Upstream's list names the test mode "dry-run".
    return entry == name || (mode == package::Mode::kTest && entry == "dry-run");
  });
}

}  // namespace

std::optional<Event> Daemon::EnterCallback(std::string_view state) {
  auto action = callbacks_.StateChange(state);
  if (!action) {
    return Failed(action.error().WithContext("state-change-callback " + std::string(state)));
  }
  if (*action == CallbackAction::kCancel) {
    spdlog::info("state-change-callback cancelled {}", state);
    return Event::kCancelled;
  }
  return std::nullopt;
}

void Daemon::Report(const std::string& status) {
  if (!offer_ || !offer_->remote) return;
  ReportRequest report;
  report.status = status;
  report.package_uid = offer_->package_uid;
  if (status == "error" && error_) {
    report.previous_state = std::string(FailedStepOf(failed_in_));
    report.error_message = error_->message();
    if (options_.recent_log) report.current_log = options_.recent_log();
  }
  // After a restart (a resumed update, the first boot of a new slot) the configured server.
  if (auto sent = backend_->Report(UpdateServerOptions(), firmware_.ToProbeJson(), report); !sent) {
    spdlog::warn("report {}: {}", status, sent.error().message());
  }
}

std::string Daemon::BootId() const {
  auto id = ReadFileLimited(config_.update.target_root / "proc/sys/kernel/random/boot_id", 256);
  if (!id) return "";
  std::string text = std::move(*id);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Event Daemon::Failed(const uh::Error& error) {
  error_ = error;
  failed_in_ = running_;
  return Event::kFailed;
}

Expected<void> Daemon::PrepareInstall(const Request& request) {
  std::error_code ec;
  std::filesystem::create_directories(config_.update.download_dir, ec);
  if (ec)
    return Fail(Errc::kIo,
                "creating " + config_.update.download_dir.string() + ": " + ec.message());
  std::filesystem::path file = request.argument;
  if (request.kind == Request::Kind::kRemoteInstall) {
    file = RemoteInstallPath();
    abort_download_ = false;
    downloading_ = true;
    auto fetched = backend_->DownloadUrl(ServerOptions(config_.network.server_address),
                                         request.argument, file, abort_download_, 16ULL << 30);
    downloading_ = false;
    if (!fetched) return std::unexpected(fetched.error().WithContext(request.argument));
  }
  // Streaming: the objects stay in the package file until each goes to its target (the
  // validation plans which are read from it); otherwise they are all unpacked into the download
  // directory first (and a downloaded package goes).
  const bool keep_package = config_.update.stream_objects;
  auto unpacked = keep_package ? backend_->ReadPackage(file)
                               : backend_->UnpackPackage(file, config_.update.download_dir);
  if (request.kind == Request::Kind::kRemoteInstall && (!keep_package || !unpacked)) {
    std::filesystem::remove(file, ec);
  }
  if (!unpacked) return std::unexpected(std::move(unpacked).error());
  auto parsed = package::ParseMetadata(unpacked->metadata);
  if (!parsed) return std::unexpected(parsed.error().WithContext(file.string()));
  offer_ = Offer{std::move(unpacked->metadata),
                 std::move(unpacked->signature),
                 false,
                 std::move(*parsed),
                 std::move(unpacked->package_uid),
                 keep_package ? std::filesystem::absolute(file, ec).string() : ""};
  spdlog::info("installing {} from {}", offer_->parsed.version, request.argument);
  return {};
}

Event Daemon::Validation() {
  const std::string uid = offer_->package_uid;
  const auto& metadata = offer_->parsed;
  // A server's offer refused here was a probe answered with nothing usable: it counts as a
  // failed probe (HandleError saves it), and the next probe backs off.
  const auto invalid = [&](uh::Error error) {
    if (offer_->remote) ++runtime_.polling.retries;
    return Failed(std::move(error).WithContext("package " + uid));
  };
  if (offer_->remote && runtime_.update.applied_package_uid == uid) {
    // The server has not seen the new version yet (or keeps offering it): nothing to do
    // until the next regular poll, as after a probe without an update.
    spdlog::info("package {} is already installed", uid);
    runtime_.polling.retries = 0;
    runtime_.polling.now = false;
    if (auto saved = SaveRuntime(); !saved)
      spdlog::warn("runtime settings: {}", saved.error().message());
    offer_.reset();
    return Event::kAlreadyApplied;
  }
  if (firmware_.public_key) {
    if (offer_->signature.empty()) {
      return invalid(uh::Error(Errc::kSignature, "unsigned, and this device requires signatures"));
    }
    if (auto verified =
            backend_->VerifySignature(*firmware_.public_key, offer_->metadata, offer_->signature);
        !verified) {
      return invalid(verified.error());
    }
  }
  if (metadata.product != firmware_.product_uid) {
    return invalid(uh::Error(
        Errc::kInvalidArgument,
        "made for product " + metadata.product + ", this device is " + firmware_.product_uid));
  }
  if (!metadata.SupportsHardware(firmware_.hardware)) {
    return invalid(uh::Error(Errc::kInvalidArgument,
                             "does not support hardware '" + firmware_.hardware + "'"));
  }
  // The same version is not a downgrade: an offer of what runs is "already installed" above.
  if (config_.update.refuse_downgrades &&
      CompareVersions(metadata.version, firmware_.version) < 0) {
    return invalid(
        uh::Error(Errc::kInvalidArgument, "downgrade refused: the package is version " +
                                              metadata.version + " and this device runs " +
                                              firmware_.version + " (update.refuse_downgrades)"));
  }
  auto active = bootloader_->ActiveSlot();
  if (!active) return invalid(active.error().WithContext("reading the active slot"));
  update_ = UpdateState{.phase = UpdatePhase::kDownloading,
                        .package_uid = uid,
                        .metadata = offer_->metadata,
                        .signature = offer_->signature,
                        .remote = offer_->remote,
                        .target_slot = InPlace() ? *active : 1 - *active,
                        .previous_slot = *active,
                        .package_file = offer_->package_file};
  std::uint64_t needed = 0;
  for (const auto& object : ObjectsForSlot()) {
    if (!ModeAllowed(config_.update.supported_install_modes, object.mode)) {
      update_.reset();
      return invalid(uh::Error(Errc::kUnsupported, "install mode " +
                                                       std::string(package::ModeName(object.mode)) +
                                                       " is not allowed on this device"));
    }
    if (auto ok = backend_->CheckRequirements(object, ContextFor(object, *active)); !ok) {
      update_.reset();
      return invalid(ok.error());
    }
  }
  // Decided once: a resumed update follows this plan whatever the config says by then.
  update_->plan = DecidePlan();
  for (const auto* object : Distinct(ObjectsForSlot())) {
    if (DeliveryOf(*object) != Delivery::kDownload) continue;  // never lands here
    std::error_code ec;
    const auto have = std::filesystem::file_size(ObjectPath(object->sha256sum), ec);
    needed += ec ? object->size : object->size - std::min(object->size, have);
  }
  std::error_code ec;
  std::filesystem::create_directories(config_.update.download_dir, ec);
  if (auto room = CheckFreeSpace(config_.update.download_dir, needed); !room) {
    update_.reset();
    return invalid(room.error());
  }
  if (offer_->remote) runtime_.polling.retries = 0;  // the probe brought a usable offer
  // From here on a restart resumes this update instead of waiting for the next poll.
  if (auto saved = SaveUpdateState(config_.storage.state_file, *update_); !saved) {
    return Failed(saved.error());
  }
  runtime_.polling.now = false;
  if (auto saved = SaveRuntime(); !saved)
    spdlog::warn("runtime settings: {}", saved.error().message());
  return Event::kValid;
}

Event Daemon::Download() {
  if (auto stop = EnterCallback("download")) return *stop;
  if (auto saved = SaveUpdateState(config_.storage.state_file, *update_); !saved) {
    return Failed(saved.error());
  }
  Report("downloading");
  // A resumed update may find it gone (a download directory on tmpfs, after a power cut).
  std::error_code ec;
  std::filesystem::create_directories(config_.update.download_dir, ec);
  abort_download_ = false;
  downloading_ = true;
  for (const auto* object : Distinct(ObjectsForSlot())) {
    if (InstalledWhileDownloading(*object)) {
      spdlog::info("{}: installed as it arrived, before a restart", object->filename);
      continue;
    }
    auto fetched = FetchObject(*object);
    if (!fetched) {
      downloading_ = false;
      if (fetched.error().code() == Errc::kCancelled) {
        spdlog::info(
            "download aborted; what arrived in the download directory is kept for a "
            "later resume");
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return Event::kCancelled;  // resumes on the next start
        }
        (void)ClearUpdateState(config_.storage.state_file);
        offer_.reset();
        update_.reset();
        return Event::kCancelled;
      }
      return Failed(fetched.error().WithContext(object->filename));
    }
  }
  downloading_ = false;
  Report("downloaded");
  return Event::kDownloaded;
}

Expected<void> Daemon::FetchObject(const package::Object& object) {
  const auto path = ObjectPath(object.sha256sum);
  const auto delivery = DeliveryOf(object);
  const auto ctx = ContextFor(object, update_->previous_slot);
  Expected<void> fetched;
  if (!update_->remote && update_->package_file.empty()) {
    return backend_->VerifyObjectFile(path, object);  // unpacked from its package already
  }
  if (!update_->remote) {
    // A package read in place: each object goes from it into its installer, or into the
    // download directory.
    if (delivery == Delivery::kFromPackage) {
      spdlog::info("{}: installing ({}) from {}", object.filename, package::ModeName(object.mode),
                   update_->package_file);
      fetched = backend_->InstallFromPackage(update_->package_file, object, ctx, abort_download_);
    } else {
      fetched = backend_->ExtractObject(update_->package_file, object, path);
    }
  } else {
    ObjectDownload download{offer_->parsed.product, update_->package_uid, object.sha256sum,
                            object.size, path};
    if (delivery == Delivery::kIntoTarget) {
      auto target = IntoTargetOf(object);
      if (!target) return std::unexpected(std::move(target.error()));
      spdlog::info("{}: streaming into {} at offset {}", object.filename, target->device,
                   target->offset);
      download.dest = target->path;
      download.stream =
          ObjectDownload::Stream{target->offset, StreamProgressPath(object.sha256sum)};
    } else if (delivery == Delivery::kPipe) {
      spdlog::info("{}: installing ({}) while it downloads", object.filename,
                   package::ModeName(object.mode));
    }
    const ClientOptions server = UpdateServerOptions();
    auto delay = options_.download_retry_base;
    for (int attempt = 0;; ++attempt) {
      fetched = delivery == Delivery::kPipe
                    ? backend_->StreamInstall(server, download, object, ctx, abort_download_)
                    : backend_->DownloadObject(server, download, abort_download_);
      // Only the network's failures are worth another try; what arrived stays for the resume.
      if (fetched || attempt >= options_.download_retries ||
          (fetched.error().code() != Errc::kIo && fetched.error().code() != Errc::kTimeout)) {
        break;
      }
      spdlog::warn("{}: {}; resuming in {} ms (retry {} of {})", object.filename,
                   fetched.error().message(), delay.count(), attempt + 1,
                   options_.download_retries);
      if (!WaitBeforeDownloadRetry(delay)) {
        return Fail(Errc::kCancelled, "download aborted");
      }
      delay = std::min(delay * 2, options_.download_retry_cap);
    }
  }
  if (fetched && (delivery == Delivery::kPipe || delivery == Delivery::kFromPackage)) {
    update_->installed_while_downloading.push_back(object.sha256sum);
    return SaveUpdateState(config_.storage.state_file, *update_);
  }
  return fetched;
}

Event Daemon::Install() {
  if (auto stop = EnterCallback("install")) return *stop;
  update_->phase = UpdatePhase::kInstalling;
  if (auto saved = SaveUpdateState(config_.storage.state_file, *update_); !saved) {
    return Failed(saved.error());
  }
  Report("installing");
  for (const auto& object : ObjectsForSlot()) {
    const auto ctx = ContextFor(object, update_->previous_slot);
    if (InstalledWhileDownloading(object)) {
      spdlog::info("{}: installed as it arrived", object.filename);
      continue;
    }
    if (DeliveryOf(object) == Delivery::kIntoTarget) {
      auto target = IntoTargetOf(object);
      if (!target) return Failed(target.error().WithContext(object.filename));
      // Written while downloading: what the slot holds is hashed again before it is activated.
      if (auto ok = backend_->VerifyStreamed(object, *target, ctx); !ok) {
        std::error_code ec;
        std::filesystem::remove(StreamProgressPath(object.sha256sum), ec);
        return Failed(ok.error());
      }
      spdlog::info("{}: streamed into {} and verified", object.filename, target->device);
      continue;
    }
    // Again: the files may have been damaged since (a power cut, a full disk).
    if (auto ok = backend_->VerifyObjectFile(ObjectPath(object.sha256sum), object); !ok) {
      return Failed(ok.error());
    }
    auto skip = backend_->AlreadyInstalled(object, ctx);
    if (skip && *skip) {
      spdlog::info("{}: already installed, skipped", object.filename);
      continue;
    }
    spdlog::info("installing {} ({})", object.filename, package::ModeName(object.mode));
    if (auto installed = backend_->Install(object, ctx); !installed) {
      return Failed(installed.error());
    }
  }
  Report("installed");
  if (InPlace()) return FinishInPlace();
  return Event::kInstalled;
}

Event Daemon::FinishInPlace() {
  // Recorded before the update state goes: cut off in between, the agent installs the package
  // again from what it downloaded rather than fetch it again.
  runtime_.update.applied_package_uid = update_->package_uid;
  runtime_.polling.now = true;
  if (auto saved = SaveRuntime(); !saved) {
    spdlog::warn("runtime settings: {}", saved.error().message());
  }
  if (auto cleared = ClearUpdateState(config_.storage.state_file); !cleared) {
    spdlog::error("{}", cleared.error().message());
  }
  RemoveUpdateFiles();
  spdlog::info("{} installed over the running system; no reboot", offer_->parsed.version);
  update_.reset();
  offer_.reset();
  return Event::kInstalledInPlace;
}

void Daemon::RemoveUpdateFiles() {
  std::error_code ec;
  for (const auto* object : Distinct(ObjectsForSlot())) {
    std::filesystem::remove(ObjectPath(object->sha256sum), ec);
    std::filesystem::remove(StreamProgressPath(object->sha256sum), ec);
  }
  std::filesystem::remove(RemoteInstallPath(), ec);
}

Event Daemon::Reboot() {
  if (!std::exchange(reboot_only_, false)) {
    if (auto stop = EnterCallback("reboot")) return *stop;
    update_->phase = UpdatePhase::kRebooting;
    update_->boot_id = BootId();
    if (auto saved = SaveUpdateState(config_.storage.state_file, *update_); !saved) {
      return Failed(saved.error());
    }
    // Switch, then record it for the first boot of the new slot. Cut off in between, the
    // agent finds the update in phase rebooting without the record and does this step again.
    if (auto switched = bootloader_->SetActiveSlot(update_->target_slot); !switched) {
      return Failed(switched.error().WithContext("switching slots"));
    }
    runtime_.update.upgrade_to_installation = update_->target_slot;
    if (auto saved = SaveRuntimeSettings(config_.storage.runtime_settings, runtime_); !saved) {
      return Failed(saved.error());
    }
    Report("rebooting");
    RemoveUpdateFiles();
  }
  backend_->Release();
  spdlog::info("rebooting: {}", fmt::join(config_.update.reboot_command, " "));
  auto rebooted = RunProcess(config_.update.reboot_command);
  if (!rebooted) return Failed(rebooted.error().WithContext("reboot command"));
  if (!rebooted->Succeeded()) {
    return Failed(
        uh::Error(Errc::kIo, "reboot command " + rebooted->Describe() + ": " + rebooted->err));
  }
  // The system takes us down now; waking up here means it did not.
  (void)WaitForRequest(std::chrono::steady_clock::now() + options_.reboot_timeout);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Event::kCancelled;
  }
  return Failed(uh::Error(Errc::kTimeout, "the device did not reboot"));
}

}  // namespace uh::agent
