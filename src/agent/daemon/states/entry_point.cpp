// entry_point: what the agent does on start. The first boot of a new slot is validated; an
// update in progress (the saved update state) resumes where it was; otherwise the agent idles.

#include <spdlog/spdlog.h>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/update_objects.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

Outcome EntryPointState::Run(UpdateContext& context, const Handoff& /*in*/) {
  const auto& config = env().config();
  if (env().runtime().update.upgrade_to_installation) return Event::kFirstBoot;
  auto loaded = LoadUpdateState(config.storage.state_file, env().UidOf());
  if (!loaded) {
    return Failed(loaded.error().WithContext("reading the update state"));
  }
  if (loaded->warning) spdlog::warn("{}", *loaded->warning);
  if (loaded->state) {
    auto parsed = package::ParseMetadata(loaded->state->metadata);
    if (!parsed) {
      spdlog::warn("the update in progress has unreadable metadata; starting over: {}",
                   parsed.error().message());
      (void)ClearUpdateState(config.storage.state_file);
    } else {
      context.update = std::move(loaded->state);
      context.offer = OfferOf(*context.update, std::move(*parsed));
      if (!context.update->plan) {
        // Saved by an agent without delivery plans: the plan it would have followed.
        context.update->plan = DecidePlan(env(), context);
      }
      spdlog::info("resuming the update to {} ({})", context.offer->parsed.version,
                   UpdatePhaseName(context.update->phase));
      switch (context.update->phase) {
        case UpdatePhase::kDownloading:
          return Event::kResumeDownload;
        case UpdatePhase::kInstalling:
          return Event::kResumeInstall;
        case UpdatePhase::kRebooting:
          return Event::kResumeReboot;
      }
    }
  }
  return config.polling.enabled ? Event::kReady : Event::kPollingDisabled;
}

}  // namespace uh::agent
