// validate: the first boot into a new slot. The validate-callback keeps it (validated, and a
// probe at once); otherwise the agent rolls back to the old slot, reports the failure itself
// (the update ends here, not in the error state) and reboots.

#include <spdlog/spdlog.h>

#include "agent/daemon/states/states.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

Outcome ValidateState::Run(UpdateContext& context, const Handoff& /*in*/) {
  const auto& config = env().config();
  auto& runtime = env().runtime();
  auto& bootloader = env().bootloader();
  const int target = *runtime.update.upgrade_to_installation;
  auto loaded = LoadUpdateState(config.storage.state_file, env().UidOf());
  if (loaded && loaded->state) {
    context.update = std::move(loaded->state);
    if (auto parsed = package::ParseMetadata(context.update->metadata)) {
      context.offer = OfferOf(*context.update, std::move(*parsed));
    }
  }
  const auto finish = [&] {
    runtime.update.upgrade_to_installation.reset();
    (void)env().SaveRuntime();
  };
  const auto reboot_only = [](Event event) {
    Outcome outcome(event);
    outcome.handoff.reboot_only = true;
    return outcome;
  };
  if (context.update && !context.update->boot_id.empty() &&
      context.update->boot_id == env().BootId()) {
    // The agent was restarted, the device was not: the new slot has not run yet.
    spdlog::warn("restarted without a reboot; rebooting into slot {} again", target);
    return reboot_only(Event::kResumeReboot);
  }
  auto active = bootloader.ActiveSlot();
  if (!active) {
    finish();
    return Failed(active.error().WithContext("reading the active slot"));
  }
  if (*active != target) {
    // The bootloader gave up on the new slot (boot limit) and went back to the old one. Its
    // trial flags would make it switch again at the next boot: the old slot is known good.
    if (auto validated = bootloader.MarkValidated(); !validated) {
      spdlog::error("confirming slot {}: {}", *active, validated.error().message());
    }
    finish();
    return Failed(
        uh::Error(Errc::kIntegrity, "the new slot " + std::to_string(target) +
                                        " did not boot; the bootloader went back to slot " +
                                        std::to_string(*active)));
  }
  if (auto valid = env().callbacks().Validate(); !valid) {
    const int previous = context.update ? context.update->previous_slot : 1 - target;
    spdlog::error("validation of slot {} failed: {}; rolling back to slot {}", target,
                  valid.error().message(), previous);
    // Back to the old slot, confirmed at once: it is known good, and a trial would let the
    // bootloader switch to the failed slot again.
    if (auto back = bootloader.SetActiveSlot(previous); !back) {
      spdlog::error("switching back to slot {}: {}", previous, back.error().message());
    } else if (auto confirmed = bootloader.MarkValidated(); !confirmed) {
      spdlog::error("confirming slot {}: {}", previous, confirmed.error().message());
    }
    if (auto rolled = env().callbacks().Rollback(); !rolled) {
      spdlog::warn("rollback-callback: {}", rolled.error().message());
    }
    // The validate-callback's error already names it.
    const Failure failure{
        uh::Error(valid.error().code(),
                  valid.error().message() + "; rolled back to slot " + std::to_string(previous)),
        StateId::kValidate};
    env().ReportFailure(context, failure);
    (void)env().callbacks().ReportError(failure.error.message());
    // That report went out with the new slot's version: back on the old slot, probe at once so
    // that the server shows what the device runs, as after a successful validation.
    runtime.polling.now = true;
    finish();
    (void)ClearUpdateState(config.storage.state_file);
    return reboot_only(Event::kRolledBack);
  }
  if (auto validated = bootloader.MarkValidated(); !validated) {
    spdlog::warn("marking slot {} validated: {}", target, validated.error().message());
  }
  if (context.update) runtime.update.applied_package_uid = context.update->package_uid;
  runtime.polling.now = true;
  finish();
  (void)ClearUpdateState(config.storage.state_file);
  spdlog::info("slot {} validated", target);
  context.EndUpdate();
  return Event::kValidated;
}

}  // namespace uh::agent
