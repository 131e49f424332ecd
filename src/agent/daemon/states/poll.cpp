// park and poll: the idle states. Both wait for a request of the local API (take_request.cpp);
// poll also for the time of the next probe.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/daemon/states/states.hpp"
#include "agent/daemon/states/take_request.hpp"

namespace uh::agent {

Outcome ParkState::Run(UpdateContext& context, const Handoff& /*in*/) {
  auto request = env().requests().WaitForRequest(std::nullopt);
  if (!request) return Event::kCancelled;  // stopping
  return TakeRequest(env(), context, *request);
}

PollState::PollState(Environment& env) : State(env), random_(env.options().seed) {}

Outcome PollState::Run(UpdateContext& context, const Handoff& in) {
  if (!env().config().polling.enabled) return Event::kPollingDisabled;
  const auto delay = NextProbeDelay(in.extra_poll);
  if (delay.count() > 0) spdlog::info("next probe in {} s", delay.count() / 1000);
  auto request = env().requests().WaitForRequest(std::chrono::steady_clock::now() + delay);
  if (!request) return Event::kProbeNow;  // the time came (or stopping: Run stops first)
  return TakeRequest(env(), context, *request);
}

std::chrono::milliseconds PollState::NextProbeDelay(std::optional<std::int64_t> extra_poll) {
  using std::chrono::milliseconds;
  const auto& config = env().config();
  const auto& polling = env().runtime().polling;
  milliseconds delay{0};
  if (extra_poll) {
    delay = std::chrono::seconds(std::max<std::int64_t>(*extra_poll, 0));
  } else if (polling.now || !polling.last) {
    return milliseconds(0);
  } else if (polling.retries > 0) {
    const auto cap = std::min<milliseconds>(config.polling.interval, std::chrono::hours(1));
    const auto shift = std::min<std::uint64_t>(polling.retries - 1, 20);
    delay = std::min<milliseconds>(env().options().retry_base * (1LL << shift), cap);
  } else {
    const auto since =
        std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now() - *polling.last);
    delay = std::max(milliseconds(0),
                     std::chrono::duration_cast<milliseconds>(config.polling.interval) - since);
  }
  // Jitter: a fleet that booted together must not probe together.
  const auto spread = delay.count() * static_cast<long long>(config.polling.jitter_percent) / 100;
  if (spread > 0) {
    delay += milliseconds(std::uniform_int_distribution<long long>(-spread, spread)(random_));
  }
  return std::max(delay, milliseconds(0));
}

}  // namespace uh::agent
