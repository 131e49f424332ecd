// probe: asks the server (or another one named through the local API) for an update, and hands
// the answer back to a probe request waiting for it.

#include <spdlog/spdlog.h>

#include "agent/daemon/states/states.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

Outcome ProbeState::Run(UpdateContext& context, const Handoff& in) {
  auto& requests = env().requests();
  auto& runtime = env().runtime();
  const std::string& custom = in.probe_server;
  if (auto stop = EnterCallback(env(), "probe")) {
    // Cancelled by the callback: the next probe waits for its time, never at once (even when a
    // probe was due at once, as after a validation), or the callback would run in a loop. A
    // failing callback counts as a failed probe, and the next one backs off.
    runtime.polling.last = std::chrono::system_clock::now();
    runtime.polling.now = false;
    if (stop->event == Event::kFailed) {
      spdlog::warn("{}", stop->error ? stop->error->message() : "state-change-callback failed");
      ++runtime.polling.retries;
    }
    if (auto saved = env().SaveRuntime(); !saved) {
      spdlog::warn("runtime settings: {}", saved.error().message());
    }
    requests.FinishProbe(ProbeOutcome::NoUpdate());
    return Event::kCancelled;
  }
  const std::string server = !custom.empty() ? custom
                             : runtime.polling.custom_server_address
                                 ? *runtime.polling.custom_server_address
                                 : env().config().network.server_address;
  runtime.polling.last = std::chrono::system_clock::now();
  runtime.polling.now = false;
  // Whatever the agent cannot use counts as a failed probe, and the next one backs off: a 200
  // with a captive portal's page or broken metadata must not make a fleet probe in a loop.
  const auto failed = [&](const uh::Error& error) {
    spdlog::warn("probe {}: {}", server, error.message());
    ++runtime.polling.retries;
    (void)env().SaveRuntime();
    requests.FinishProbe(ProbeOutcome::Failed(error.message()));
    return Event::kFailed;
  };
  if (auto reloaded = env().ReloadFirmware(); !reloaded) return failed(reloaded.error());
  context.server = server;
  auto answer = env().backend().Probe(env().ServerOptions(server), env().firmware().ToProbeJson(),
                                      static_cast<int>(runtime.polling.retries));
  if (!answer) return failed(answer.error());
  if (auto* offered = std::get_if<UpdateOffer>(&*answer)) {
    auto parsed = package::ParseMetadata(offered->metadata);
    if (!parsed) return failed(parsed.error().WithContext("the server's metadata"));
    context.offer = Offer{std::move(offered->metadata), offered->signature.value_or(""), true,
                          std::move(*parsed), std::move(offered->package_uid)};
    // Validation settles the retries (an offer it refuses is a failed probe too). Until it
    // has, a cut-off agent probes again at once rather than wait a whole interval.
    runtime.polling.now = true;
    if (auto saved = env().SaveRuntime(); !saved)
      spdlog::warn("runtime settings: {}", saved.error().message());
    requests.FinishProbe(ProbeOutcome::Updating());
    return Event::kUpdate;
  }
  runtime.polling.retries = 0;
  if (auto saved = env().SaveRuntime(); !saved)
    spdlog::warn("runtime settings: {}", saved.error().message());
  if (const auto* extra = std::get_if<ExtraPoll>(&*answer)) {
    requests.FinishProbe(ProbeOutcome::TryAgain(extra->seconds));
    Outcome outcome(Event::kNoUpdate);
    outcome.handoff.extra_poll = extra->seconds;
    return outcome;
  }
  requests.FinishProbe(ProbeOutcome::NoUpdate());
  return Event::kNoUpdate;
}

}  // namespace uh::agent
