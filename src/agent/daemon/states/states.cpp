#include "agent/daemon/states/states.hpp"

#include <spdlog/spdlog.h>

namespace uh::agent {

Outcome Failed(uh::Error error) {
  Outcome outcome(Event::kFailed);
  outcome.error = std::move(error);
  return outcome;
}

std::optional<Outcome> EnterCallback(const Environment& env, std::string_view state) {
  auto action = env.callbacks().StateChange(state);
  if (!action) {
    return Failed(action.error().WithContext("state-change-callback " + std::string(state)));
  }
  if (*action == CallbackAction::kCancel) {
    spdlog::info("state-change-callback cancelled {}", state);
    return Outcome(Event::kCancelled);
  }
  return std::nullopt;
}

StateUnits::StateUnits(Environment& env)
    : entry_point_(env),
      park_(env),
      poll_(env),
      probe_(env),
      validation_(env),
      download_(env),
      install_(env),
      reboot_(env),
      validate_(env),
      error_(env) {}

State& StateUnits::Of(StateId state) {
  switch (state) {
    case StateId::kEntryPoint:
      return entry_point_;
    case StateId::kPark:
      return park_;
    case StateId::kPoll:
      return poll_;
    case StateId::kProbe:
      return probe_;
    case StateId::kValidation:
      return validation_;
    case StateId::kDownload:
      return download_;
    case StateId::kInstall:
      return install_;
    case StateId::kReboot:
      return reboot_;
    case StateId::kValidate:
      return validate_;
    case StateId::kError:
      return error_;
  }
  return error_;
}

}  // namespace uh::agent
