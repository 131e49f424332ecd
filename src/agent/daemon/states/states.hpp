#pragma once

// The daemon's states, one unit each (state.hpp), made once by the daemon and run by its loop;
// the transition table (state_machine.cpp) says which follows which. A unit's data is its own;
// what the states share is the update context.
//
//   entry_point.cpp  what to do on start: resume the saved update, validate a new slot, idle
//   poll.cpp         park and poll: idle until a request of the local API or the next probe
//   take_request.cpp a request taken while idle: a probe, or an install turned into an offer
//   probe.cpp        asks the server for an update
//   validation.cpp   checks an offer and saves the update (its delivery plan decided)
//   download.cpp     brings every object of the update as its plan says
//   install.cpp      installs the objects; an update in place ends there
//   reboot.cpp       switches slots and reboots
//   validate.cpp     the first boot of a new slot: keep it, or roll back
//   error.cpp        reports a failure and cleans up after it

#include <chrono>
#include <random>

#include "agent/daemon/states/state.hpp"

namespace uh::agent {

class EntryPointState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

// Polling disabled: waits for the local API.
class ParkState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

// Waits for the next probe (or a request of the local API).
class PollState final : public State {
 public:
  explicit PollState(Environment& env);
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;

 private:
  // The wait before the next probe: the server's Add-Extra-Poll when it asked for one, else
  // from the runtime settings, backoff and jitter.
  [[nodiscard]] std::chrono::milliseconds NextProbeDelay(std::optional<std::int64_t> extra_poll);

  std::mt19937_64 random_;  // the jitter
};

class ProbeState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

// Signature, product, hardware, modes, per-object requirements, free space; then the update
// state is saved with its delivery plan.
class ValidationState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

class DownloadState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;

 private:
  // One object of the update, as its plan says (DeliveryOf): downloaded (with retries), written
  // into its target, piped into its installer from the server or the package file, extracted
  // from the package file, or checked where it was unpacked.
  [[nodiscard]] Expected<void> FetchObject(UpdateContext& context, const package::Object& object);
};

class InstallState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;

 private:
  // The end of an update installed over the running system (InPlace): recorded, cleaned up,
  // and a probe at once so the server sees what the device runs.
  [[nodiscard]] Outcome FinishInPlace(UpdateContext& context);
};

class RebootState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

// The first boot into a new slot: validate-callback, or roll back.
class ValidateState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

class ErrorState final : public State {
 public:
  using State::State;
  [[nodiscard]] Outcome Run(UpdateContext& context, const Handoff& in) override;
};

// One unit per StateId.
class StateUnits {
 public:
  explicit StateUnits(Environment& env);
  [[nodiscard]] State& Of(StateId state);

 private:
  EntryPointState entry_point_;
  ParkState park_;
  PollState poll_;
  ProbeState probe_;
  ValidationState validation_;
  DownloadState download_;
  InstallState install_;
  RebootState reboot_;
  ValidateState validate_;
  ErrorState error_;
};

}  // namespace uh::agent
