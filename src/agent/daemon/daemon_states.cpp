// Daemon states around the update: entry point, park, poll, probe, first-boot validation and
// error. The update itself (validation, download, install, reboot) is in daemon_update.cpp.

#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

Event Daemon::EntryPoint() {
  if (runtime_.update.upgrade_to_installation) return Event::kFirstBoot;
  auto loaded = LoadUpdateState(config_.storage.state_file, UidOf());
  if (!loaded) {
    return Failed(loaded.error().WithContext("reading the update state"));
  }
  if (loaded->warning) spdlog::warn("{}", *loaded->warning);
  if (loaded->state) {
    auto parsed = package::ParseMetadata(loaded->state->metadata);
    if (!parsed) {
      spdlog::warn("the update in progress has unreadable metadata; starting over: {}",
                   parsed.error().message());
      (void)ClearUpdateState(config_.storage.state_file);
    } else {
      update_ = std::move(loaded->state);
      offer_ = Offer{update_->metadata,  update_->signature,   update_->remote,
                     std::move(*parsed), update_->package_uid, update_->package_file};
      if (!update_->plan) {
        // Saved by an agent without delivery plans: the plan it would have followed.
        update_->plan = DecidePlan();
      }
      spdlog::info("resuming the update to {} ({})", offer_->parsed.version,
                   UpdatePhaseName(update_->phase));
      switch (update_->phase) {
        case UpdatePhase::kDownloading:
          return Event::kResumeDownload;
        case UpdatePhase::kInstalling:
          return Event::kResumeInstall;
        case UpdatePhase::kRebooting:
          return Event::kResumeReboot;
      }
    }
  }
  return config_.polling.enabled ? Event::kReady : Event::kPollingDisabled;
}

Event Daemon::Park() {
  auto request = WaitForRequest(std::nullopt);
  if (!request) return Event::kCancelled;  // stopping
  return TakeRequest(*request);
}

Event Daemon::Poll() {
  if (!config_.polling.enabled) return Event::kPollingDisabled;
  const auto delay = NextProbeDelay();
  if (delay.count() > 0) spdlog::info("next probe in {} s", delay.count() / 1000);
  auto request = WaitForRequest(std::chrono::steady_clock::now() + delay);
  if (!request) return Event::kProbeNow;  // the time came (or stopping: Run stops first)
  return TakeRequest(*request);
}

Event Daemon::TakeRequest(const Request& request) {
  if (request.kind == Request::Kind::kProbe) {
    probe_server_ = request.argument;
    return Event::kProbeNow;
  }
  if (auto prepared = PrepareInstall(request); !prepared) {
    return Failed(prepared.error());
  }
  return Event::kUpdate;
}

Event Daemon::Probe() {
  const std::string custom = std::exchange(probe_server_, "");
  if (auto stop = EnterCallback("probe")) {
    FinishProbeRequest(ProbeOutcome::NoUpdate());
    return *stop == Event::kFailed ? Event::kCancelled : *stop;
  }
  const std::string server = !custom.empty() ? custom
                             : runtime_.polling.custom_server_address
                                 ? *runtime_.polling.custom_server_address
                                 : config_.network.server_address;
  runtime_.polling.last = std::chrono::system_clock::now();
  runtime_.polling.now = false;
  // Whatever the agent cannot use counts as a failed probe, and the next one backs off: a 200
  // with a captive portal's page or broken metadata must not make a fleet probe in a loop.
  const auto failed = [&](const uh::Error& error) {
    spdlog::warn("probe {}: {}", server, error.message());
    ++runtime_.polling.retries;
    (void)SaveRuntime();
    FinishProbeRequest(ProbeOutcome::Failed(error.message()));
    return Event::kFailed;
  };
  if (auto reloaded = ReloadFirmware(); !reloaded) return failed(reloaded.error());
  update_server_ = server;
  auto answer = backend_->Probe(ServerOptions(server), firmware_.ToProbeJson(),
                                static_cast<int>(runtime_.polling.retries));
  if (!answer) return failed(answer.error());
  if (auto* offered = std::get_if<UpdateOffer>(&*answer)) {
    auto parsed = package::ParseMetadata(offered->metadata);
    if (!parsed) return failed(parsed.error().WithContext("the server's metadata"));
    offer_ = Offer{std::move(offered->metadata), offered->signature.value_or(""), true,
                   std::move(*parsed), std::move(offered->package_uid)};
    // Validation settles the retries (an offer it refuses is a failed probe too). Until it
    // has, a cut-off agent probes again at once rather than wait a whole interval.
    runtime_.polling.now = true;
    if (auto saved = SaveRuntime(); !saved)
      spdlog::warn("runtime settings: {}", saved.error().message());
    FinishProbeRequest(ProbeOutcome::Updating());
    return Event::kUpdate;
  }
  runtime_.polling.retries = 0;
  if (auto saved = SaveRuntime(); !saved)
    spdlog::warn("runtime settings: {}", saved.error().message());
  if (const auto* extra = std::get_if<ExtraPoll>(&*answer)) {
    extra_poll_ = extra->seconds;
    FinishProbeRequest(ProbeOutcome::TryAgain(extra->seconds));
    return Event::kNoUpdate;
  }
  FinishProbeRequest(ProbeOutcome::NoUpdate());
  return Event::kNoUpdate;
}

Event Daemon::Validate() {
  const int target = *runtime_.update.upgrade_to_installation;
  auto loaded = LoadUpdateState(config_.storage.state_file, UidOf());
  if (loaded && loaded->state) {
    update_ = std::move(loaded->state);
    if (auto parsed = package::ParseMetadata(update_->metadata)) {
      offer_ = Offer{update_->metadata,  update_->signature,   update_->remote,
                     std::move(*parsed), update_->package_uid, update_->package_file};
    }
  }
  const auto finish = [&] {
    runtime_.update.upgrade_to_installation.reset();
    (void)SaveRuntime();
  };
  if (update_ && !update_->boot_id.empty() && update_->boot_id == BootId()) {
    // The agent was restarted, the device was not: the new slot has not run yet.
    spdlog::warn("restarted without a reboot; rebooting into slot {} again", target);
    reboot_only_ = true;
    return Event::kResumeReboot;
  }
  auto active = bootloader_->ActiveSlot();
  if (!active) {
    finish();
    return Failed(active.error().WithContext("reading the active slot"));
  }
  if (*active != target) {
    // The bootloader gave up on the new slot (boot limit) and went back to the old one. Its
    // trial flags would make it switch again at the next boot: the old slot is known good.
    if (auto validated = bootloader_->MarkValidated(); !validated) {
      spdlog::error("confirming slot {}: {}", *active, validated.error().message());
    }
    finish();
    return Failed(
        uh::Error(Errc::kIntegrity, "the new slot " + std::to_string(target) +
                                        " did not boot; the bootloader went back to slot " +
                                        std::to_string(*active)));
  }
  if (auto valid = callbacks_.Validate(); !valid) {
    const int previous = update_ ? update_->previous_slot : 1 - target;
    spdlog::error("validation of slot {} failed: {}; rolling back to slot {}", target,
                  valid.error().message(), previous);
    error_ = valid.error();  // already names the validate-callback
    // Back to the old slot, confirmed at once: it is known good, and a trial would let the
    // bootloader switch to the failed slot again.
    if (auto back = bootloader_->SetActiveSlot(previous); !back) {
      spdlog::error("switching back to slot {}: {}", previous, back.error().message());
    } else if (auto confirmed = bootloader_->MarkValidated(); !confirmed) {
      spdlog::error("confirming slot {}: {}", previous, confirmed.error().message());
    }
    if (auto rolled = callbacks_.Rollback(); !rolled) {
      spdlog::warn("rollback-callback: {}", rolled.error().message());
    }
    failed_in_ = running_;
    error_ = uh::Error(error_->code(),
                       error_->message() + "; rolled back to slot " + std::to_string(previous));
    Report("error");
    (void)callbacks_.ReportError(error_->message());
    // That report went out with the new slot's version: back on the old slot, probe at once so
    // that the server shows what the device runs, as after a successful validation.
    runtime_.polling.now = true;
    finish();
    (void)ClearUpdateState(config_.storage.state_file);
    reboot_only_ = true;
    return Event::kRolledBack;
  }
  if (auto validated = bootloader_->MarkValidated(); !validated) {
    spdlog::warn("marking slot {} validated: {}", target, validated.error().message());
  }
  if (update_) runtime_.update.applied_package_uid = update_->package_uid;
  runtime_.polling.now = true;
  finish();
  (void)ClearUpdateState(config_.storage.state_file);
  spdlog::info("slot {} validated", target);
  update_.reset();
  offer_.reset();
  return Event::kValidated;
}

Event Daemon::HandleError() {
  const uh::Error error =
      error_.value_or(uh::Error(Errc::kInternal, "an unknown error stopped the update"));
  const StateId failed_in = failed_in_;
  spdlog::error("update failed: {}", error.message());
  if (auto stop = EnterCallback("error"); stop == Event::kFailed) {
    spdlog::warn("state-change-callback error: {}", error_->message());
  }
  // The callback's own failure is only logged: the report is about the update's.
  error_ = error;
  failed_in_ = failed_in;
  if (auto called = callbacks_.ReportError(error.message()); !called) {
    spdlog::warn("error-callback: {}", called.error().message());
  }
  if ((offer_ && offer_->remote) || (update_ && update_->remote)) Report("error");
  if (update_ && update_->phase == UpdatePhase::kRebooting) {
    // The slot may have been switched already: never leave an unverified boot behind.
    if (auto back = bootloader_->SetActiveSlot(update_->previous_slot); !back) {
      spdlog::error("switching back to slot {}: {}", update_->previous_slot,
                    back.error().message());
    } else if (auto confirmed = bootloader_->MarkValidated(); !confirmed) {
      spdlog::error("confirming slot {}: {}", update_->previous_slot, confirmed.error().message());
    }
    runtime_.update.upgrade_to_installation.reset();
    (void)SaveRuntime();
  }
  if (offer_) {
    // What was downloaded or unpacked for this package is not kept: it may be what failed.
    for (const auto& set : offer_->parsed.sets) {
      for (const auto& object : set) {
        std::error_code ec;
        std::filesystem::remove(ObjectPath(object.sha256sum), ec);
      }
    }
  }
  if (auto cleared = ClearUpdateState(config_.storage.state_file); !cleared) {
    spdlog::error("{}", cleared.error().message());
  }
  // The next probe waits for its time: a failing update must not be retried in a loop.
  runtime_.polling.now = false;
  (void)SaveRuntime();
  offer_.reset();
  update_.reset();
  error_.reset();
  failed_in_ = StateId::kError;
  return Event::kRecovered;
}

}  // namespace uh::agent
