// reboot: switches to the new slot, records it for the first boot there, and runs the reboot
// command. After a rollback or a restart without a reboot (validate's handoff) it only runs the
// command.

#include <spdlog/spdlog.h>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/update_objects.hpp"
#include "core/process.hpp"

namespace uh::agent {

Outcome RebootState::Run(UpdateContext& context, const Handoff& in) {
  const auto& config = env().config();
  if (!in.reboot_only) {
    if (auto stop = EnterCallback(env(), "reboot")) return *stop;
    auto& update = *context.update;
    update.phase = UpdatePhase::kRebooting;
    update.boot_id = env().BootId();
    if (auto saved = SaveUpdateState(config.storage.state_file, update); !saved) {
      return Failed(saved.error());
    }
    // Switch, then record it for the first boot of the new slot. Cut off in between, the
    // agent finds the update in phase rebooting without the record and does this step again.
    if (auto switched = env().bootloader().SetActiveSlot(update.target_slot); !switched) {
      return Failed(switched.error().WithContext("switching slots"));
    }
    env().runtime().update.upgrade_to_installation = update.target_slot;
    if (auto saved = SaveRuntimeSettings(config.storage.runtime_settings, env().runtime());
        !saved) {
      return Failed(saved.error());
    }
    env().Report(context, "rebooting");
    RemoveUpdateFiles(env(), context);
  }
  env().backend().Release();
  spdlog::info("rebooting: {}", fmt::join(config.update.reboot_command, " "));
  auto rebooted = RunProcess(config.update.reboot_command);
  if (!rebooted) return Failed(rebooted.error().WithContext("reboot command"));
  if (!rebooted->Succeeded()) {
    return Failed(
        uh::Error(Errc::kIo, "reboot command " + rebooted->Describe() + ": " + rebooted->err));
  }
  // The system takes us down now; waking up here means it did not.
  (void)env().requests().WaitForRequest(std::chrono::steady_clock::now() +
                                        env().options().reboot_timeout);
  if (env().requests().stopping()) return Event::kCancelled;
  return Failed(uh::Error(Errc::kTimeout, "the device did not reboot"));
}

}  // namespace uh::agent
