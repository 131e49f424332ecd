#pragma once

// What a state of the daemon is: a unit that runs over the update context and says what
// happened (an Outcome: the event for the transition table, the error when it failed, and what
// it hands to the state that follows). The run loop (daemon.cpp) records a failure with the
// state it came from, in the context, for the error state; a state never records one itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/daemon/environment.hpp"
#include "agent/daemon/state_machine.hpp"
#include "agent/daemon/update_context.hpp"
#include "core/error.hpp"

namespace uh::agent {

// What a state hands to the one that follows it, beyond the event: read by that state only,
// and gone once it ran.
struct Handoff {
  // park, poll -> probe: another server to probe, asked through the local API ("": the usual).
  std::string probe_server{};
  // probe -> poll: the server's Add-Extra-Poll (seconds), the wait before the next probe.
  std::optional<std::int64_t> extra_poll{};
  // validate -> reboot: only run the reboot command (a rollback, or a restart without reboot).
  bool reboot_only = false;
};

struct Outcome {
  Outcome(Event happened) : event(happened) {}  // NOLINT: a state mostly returns an Event

  Event event;
  // With kFailed: what failed (the error state reports it). None for a failed probe, which is
  // only counted as a retry.
  std::optional<uh::Error> error{};
  Handoff handoff{};
};

// kFailed, because of `error`.
[[nodiscard]] Outcome Failed(uh::Error error);

class State {
 public:
  explicit State(Environment& env) : env_(env) {}
  virtual ~State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Runs the state's step once; `in` is what the state before it handed on.
  [[nodiscard]] virtual Outcome Run(UpdateContext& context, const Handoff& in) = 0;

 protected:
  [[nodiscard]] Environment& env() const { return env_; }

 private:
  Environment& env_;
};

// The state-change-callback for entering `state`: kCancelled, kFailed (with the callback's
// error) or nothing (go on).
[[nodiscard]] std::optional<Outcome> EnterCallback(const Environment& env, std::string_view state);

}  // namespace uh::agent
