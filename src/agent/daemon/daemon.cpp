// Daemon: construction, the run loop, and the requests of the local API. The states are units
// of their own (states/), run over the update context; the run loop dispatches to them, follows
// the transition table, and records a failure with the state it came from.

#include "agent/daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "agent/daemon/environment.hpp"
#include "agent/daemon/states/states.hpp"

namespace uh::agent {

Daemon::Daemon() = default;

Daemon::~Daemon() = default;

Expected<std::unique_ptr<Daemon>> Daemon::Create(AgentConfig config, DaemonOptions options) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  auto env = Environment::Create(std::move(config), std::move(options), daemon->requests_);
  if (!env) return std::unexpected(std::move(env).error());
  daemon->env_ = std::move(*env);
  daemon->states_ = std::make_unique<StateUnits>(*daemon->env_);
  return daemon;
}

void Daemon::Run() {
  StateId current = StateId::kEntryPoint;
  Handoff handoff;  // from the state that ran last to the one that runs next
  while (!requests_.stopping()) {
    requests_.Enter(current);
    spdlog::debug("state {}", NameOf(current));
    // Waiting for the next probe or request: the backend's worker (and its memory) goes.
    if (current == StateId::kPoll || current == StateId::kPark) env_->backend().Release();
    Outcome outcome = states_->Of(current).Run(context_, handoff);
    if (requests_.stopping()) break;
    // The one place a failure is recorded: the error state reports it, as of this state.
    if (outcome.error) context_.failure = Failure{*std::move(outcome.error), current};
    auto next = NextState(current, outcome.event);
    if (!next) {
      context_.failure =
          Failure{uh::Error(Errc::kInternal, "no transition from " + std::string(NameOf(current)) +
                                                 " on " + std::string(NameOf(outcome.event))),
                  current};
      next = StateId::kError;
    }
    spdlog::info("{} --{}--> {}", NameOf(current), NameOf(outcome.event), NameOf(*next));
    handoff = std::move(outcome.handoff);
    current = *next;
  }
  env_->backend().Release();
  // A probe asked through the API must not wait for an answer that will not come.
  requests_.FinishProbe(ProbeOutcome::Failed("the agent is stopping"));
}

void Daemon::Stop() { requests_.Stop(); }

nlohmann::json Daemon::Info() {
  const auto lock = requests_.Lock();
  const auto& config = env_->config();
  return {
      {"state", NameOf(requests_.state())},
      {"version", DefaultUserAgent()},
      {"config", ConfigToInfoJson(config)},
      {"firmware", env_->firmware().ToInfoJson()},
      {"runtime_settings", RuntimeSettingsToJson(env_->runtime(), config.storage.runtime_settings,
                                                 !config.storage.read_only)}};
}

ProbeOutcome Daemon::RequestProbe(std::optional<std::string> custom_server) {
  return requests_.AskProbe(std::move(custom_server), env_->options().api_probe_wait);
}

InstallOutcome Daemon::RequestLocalInstall(std::filesystem::path file) {
  return requests_.AskInstall(DaemonRequest{DaemonRequest::Kind::kLocalInstall, file.string()});
}

InstallOutcome Daemon::RequestRemoteInstall(std::string url) {
  return requests_.AskInstall(DaemonRequest{DaemonRequest::Kind::kRemoteInstall, std::move(url)});
}

bool Daemon::AbortDownload() { return requests_.AbortDownload(); }

}  // namespace uh::agent
