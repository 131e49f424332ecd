#include "agent/daemon/state_machine.hpp"

#include <array>

namespace uh::agent {
namespace {

struct Transition {
  StateId from;
  Event event;
  StateId to;
};

using S = StateId;
using E = Event;

// The whole behaviour of the agent, at a glance.
constexpr std::array kTransitions = {
    Transition{S::kEntryPoint, E::kReady, S::kPoll},
    Transition{S::kEntryPoint, E::kPollingDisabled, S::kPark},
    Transition{S::kEntryPoint, E::kFirstBoot, S::kValidate},
    Transition{S::kEntryPoint, E::kResumeDownload, S::kDownload},
    Transition{S::kEntryPoint, E::kResumeInstall, S::kInstall},
    Transition{S::kEntryPoint, E::kResumeReboot, S::kReboot},
    Transition{S::kEntryPoint, E::kFailed, S::kError},

    Transition{S::kValidate, E::kValidated, S::kProbe},
    Transition{S::kValidate, E::kRolledBack, S::kReboot},
    Transition{S::kValidate, E::kResumeReboot, S::kReboot},  // restarted, not rebooted
    Transition{S::kValidate, E::kFailed, S::kError},

    Transition{S::kPark, E::kProbeNow, S::kProbe},
    Transition{S::kPark, E::kUpdate, S::kValidation},
    Transition{S::kPark, E::kReady, S::kPoll},
    Transition{S::kPark, E::kFailed, S::kError},  // an install request that could not start

    Transition{S::kPoll, E::kProbeNow, S::kProbe},
    Transition{S::kPoll, E::kUpdate, S::kValidation},
    Transition{S::kPoll, E::kPollingDisabled, S::kPark},
    Transition{S::kPoll, E::kFailed, S::kError},

    Transition{S::kProbe, E::kUpdate, S::kValidation},
    Transition{S::kProbe, E::kNoUpdate, S::kPoll},
    Transition{S::kProbe, E::kCancelled, S::kPoll},
    Transition{S::kProbe, E::kFailed, S::kPoll},  // counted as a retry, backs off

    Transition{S::kValidation, E::kValid, S::kDownload},
    Transition{S::kValidation, E::kAlreadyApplied, S::kPoll},
    Transition{S::kValidation, E::kCancelled, S::kPoll},
    Transition{S::kValidation, E::kFailed, S::kError},

    Transition{S::kDownload, E::kDownloaded, S::kInstall},
    Transition{S::kDownload, E::kCancelled, S::kPoll},
    Transition{S::kDownload, E::kFailed, S::kError},

    Transition{S::kInstall, E::kInstalled, S::kReboot},
    Transition{S::kInstall, E::kInstalledInPlace, S::kPoll},  // which probes at once
    Transition{S::kInstall, E::kCancelled, S::kPoll},
    Transition{S::kInstall, E::kFailed, S::kError},

    Transition{S::kReboot, E::kCancelled, S::kPoll},
    Transition{S::kReboot, E::kFailed, S::kError},

    Transition{S::kError, E::kRecovered, S::kPoll},
};

}  // namespace

std::string_view NameOf(StateId state) {
  switch (state) {
    case S::kEntryPoint:
      return "entry_point";
    case S::kPark:
      return "park";
    case S::kPoll:
      return "poll";
    case S::kProbe:
      return "probe";
    case S::kValidation:
      return "validation";
    case S::kDownload:
      return "download";
    case S::kInstall:
      return "install";
    case S::kReboot:
      return "reboot";
    case S::kValidate:
      return "validate";
    case S::kError:
      return "error";
  }
  return "unknown";
}

std::string_view NameOf(Event event) {
  switch (event) {
    case E::kReady:
      return "ready";
    case E::kPollingDisabled:
      return "polling disabled";
    case E::kFirstBoot:
      return "first boot";
    case E::kResumeDownload:
      return "resume download";
    case E::kResumeInstall:
      return "resume install";
    case E::kResumeReboot:
      return "resume reboot";
    case E::kProbeNow:
      return "probe now";
    case E::kNoUpdate:
      return "no update";
    case E::kUpdate:
      return "update";
    case E::kAlreadyApplied:
      return "already applied";
    case E::kValid:
      return "valid";
    case E::kDownloaded:
      return "downloaded";
    case E::kInstalled:
      return "installed";
    case E::kInstalledInPlace:
      return "installed in place";
    case E::kValidated:
      return "validated";
    case E::kRolledBack:
      return "rolled back";
    case E::kCancelled:
      return "cancelled";
    case E::kFailed:
      return "failed";
    case E::kRecovered:
      return "recovered";
  }
  return "unknown";
}

std::optional<StateId> NextState(StateId state, Event event) {
  for (const auto& transition : kTransitions) {
    if (transition.from == state && transition.event == event) return transition.to;
  }
  return std::nullopt;
}

bool IsIdle(StateId state) {
  return state == S::kEntryPoint || state == S::kPark || state == S::kPoll || state == S::kProbe ||
         state == S::kValidation;
}

std::string_view FailedStepOf(StateId state) {
  switch (state) {
    case StateId::kEntryPoint:
      return "entry_point";
    case StateId::kPark:
    case StateId::kPoll:
      return "";
    case StateId::kProbe:
      return "probe";
    case StateId::kValidation:
      return "validation";
    case StateId::kDownload:
      return "downloading";
    case StateId::kInstall:
      return "installing";
    case StateId::kReboot:
    case StateId::kValidate:
      return "rebooting";
    case StateId::kError:
      return "error";
  }
  return "";
}

}  // namespace uh::agent
