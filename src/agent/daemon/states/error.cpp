// error: where every failed update ends. Reports the failure the run loop carried here (what
// the report says of it is derived from the state it happened in: Environment::ReportFailure),
// goes back to the old slot if it may have been switched, and drops the update and its files.

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "agent/daemon/states/states.hpp"

namespace uh::agent {

Outcome ErrorState::Run(UpdateContext& context, const Handoff& /*in*/) {
  const auto& config = env().config();
  auto& runtime = env().runtime();
  auto& bootloader = env().bootloader();
  const Failure failure = context.failure.value_or(
      Failure{uh::Error(Errc::kInternal, "an unknown error stopped the update"), StateId::kError});
  spdlog::error("update failed: {}", failure.error.message());
  // The callback's own failure is only logged: the report is about the update's.
  if (auto stop = EnterCallback(env(), "error"); stop && stop->event == Event::kFailed) {
    spdlog::warn("state-change-callback error: {}", stop->error->message());
  }
  if (auto called = env().callbacks().ReportError(failure.error.message()); !called) {
    spdlog::warn("error-callback: {}", called.error().message());
  }
  if ((context.offer && context.offer->remote) || (context.update && context.update->remote)) {
    env().ReportFailure(context, failure);
  }
  if (context.update && context.update->phase == UpdatePhase::kRebooting) {
    const int previous = context.update->previous_slot;
    // The slot may have been switched already: never leave an unverified boot behind.
    if (auto back = bootloader.SetActiveSlot(previous); !back) {
      spdlog::error("switching back to slot {}: {}", previous, back.error().message());
    } else if (auto confirmed = bootloader.MarkValidated(); !confirmed) {
      spdlog::error("confirming slot {}: {}", previous, confirmed.error().message());
    }
    runtime.update.upgrade_to_installation.reset();
    (void)env().SaveRuntime();
  }
  if (context.offer) {
    // What was downloaded or unpacked for this package is not kept: it may be what failed.
    for (const auto& set : context.offer->parsed.sets) {
      for (const auto& object : set) {
        std::error_code ec;
        std::filesystem::remove(env().ObjectPath(object.sha256sum), ec);
      }
    }
  }
  if (auto cleared = ClearUpdateState(config.storage.state_file); !cleared) {
    spdlog::error("{}", cleared.error().message());
  }
  // The next probe waits for its time: a failing update must not be retried in a loop.
  runtime.polling.now = false;
  (void)env().SaveRuntime();
  context.EndUpdate();
  context.failure.reset();
  return Event::kRecovered;
}

}  // namespace uh::agent
