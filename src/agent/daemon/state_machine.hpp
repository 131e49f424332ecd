#pragma once

// The agent's states and every transition between them, in one table (state_machine.cpp).
// A state runs, then names what happened (an Event); the table says where that leads. A pair
// missing from the table is a bug caught by the tests, and sends the agent to kError.
//
//   entry_point ─┬─ first boot of a new slot ─> validate ─ validated ─> probe
//                ├─ update in progress ───────> download / install / reboot
//                ├─ polling disabled ─────────> park
//                └─ ready ────────────────────> poll ─ time ─> probe ─ update ─> validation
//   validation ─ valid ─> download ─ done ─> install ─ done ─> reboot ─ (the device reboots)
//                                             install ─ done in place (one set) ─> poll (now)
//   any failure ─> error ─> poll;  probe: no update / cancelled / failed ─> poll

#include <optional>
#include <string_view>

namespace uh::agent {

enum class StateId {
  kEntryPoint,
  kPark,  // polling disabled: waits for the local API
  kPoll,  // waits for the next probe
  kProbe,
  kValidation,  // signature, product, hardware, modes, per-object requirements
  kDownload,
  kInstall,
  kReboot,
  kValidate,  // the first boot into a new slot: validate-callback, or roll back
  kError,
};

enum class Event {
  kReady,
  kPollingDisabled,
  kFirstBoot,
  kResumeDownload,
  kResumeInstall,
  kResumeReboot,
  kProbeNow,  // the time came, or the local API asked
  kNoUpdate,
  kUpdate,  // the server (or a local install) offers a package
  kAlreadyApplied,
  kValid,
  kDownloaded,
  kInstalled,
  kInstalledInPlace,  // a one-set package, installed over the running system: nothing to boot
  kValidated,         // the new slot is good
  kRolledBack,        // the new slot failed validation: back to the old one, reboot
  kCancelled,         // a state-change-callback said cancel, or the download was aborted
  kFailed,
  kRecovered,  // the error state did its reporting
};

[[nodiscard]] std::string_view NameOf(StateId state);
[[nodiscard]] std::string_view NameOf(Event event);
// Where `event` in `state` leads; nullopt when the table has no such transition.
[[nodiscard]] std::optional<StateId> NextState(StateId state, Event event);
// The states that accept local API requests (probe, installs): the idle ones.
[[nodiscard]] bool IsIdle(StateId state);

// What a report says of a failure in `state` (its previous-state): the report status of that
// state's step ("downloading", "installing", "rebooting", ...), "validation" for a refused
// package, "entry_point" for an update state that cannot be read, "" for a local install that
// could not start. The one place that maps a failure to the wire.
[[nodiscard]] std::string_view FailedStepOf(StateId state);

}  // namespace uh::agent
