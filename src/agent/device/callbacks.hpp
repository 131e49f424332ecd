#pragma once

// The device's hooks into the update cycle: optional executables in the metadata directory.
//   state-change-callback STATE  before a state runs; prints "cancel" to skip it, nothing to go
//                                on; other output or a non-zero exit is an error
//   validate-callback            on the first boot into a new slot; exit 0 keeps the slot
//   rollback-callback            after a failed validation switched back to the old slot
//   error-callback MESSAGE       when an update fails (v1 agents); its output is ignored
// An absent callback means "go on" / "valid". Each runs with a deadline.

#include <chrono>
#include <filesystem>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace uh::agent {

namespace device_internal {
struct ScriptOptions;  // script_runner.hpp
}  // namespace device_internal

enum class CallbackAction { kContinue, kCancel };

struct CallbackOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
};

class Callbacks {
 public:
  explicit Callbacks(std::filesystem::path metadata_dir, CallbackOptions options = {})
      : dir_(std::move(metadata_dir)), options_(options) {}

  // state-change-callback STATE.
  [[nodiscard]] Expected<CallbackAction> StateChange(std::string_view state) const;
  // validate-callback. Succeeds when the new slot is good; fails, saying why, when it must be
  // rolled back: the callback exited non-zero, timed out or could not run.
  [[nodiscard]] Expected<void> Validate() const;
  // rollback-callback. Fails when it exits non-zero.
  [[nodiscard]] Expected<void> Rollback() const;
  // error-callback MESSAGE. Fails when it exits non-zero.
  [[nodiscard]] Expected<void> ReportError(std::string_view message) const;

 private:
  [[nodiscard]] bool Present(std::string_view name) const;
  // Options for the callbacks whose output is ignored.
  [[nodiscard]] device_internal::ScriptOptions Quiet() const;

  std::filesystem::path dir_;
  CallbackOptions options_;
};

}  // namespace uh::agent
