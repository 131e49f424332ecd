#pragma once

// `updatehub client install-package` waits for the verdict on its package by reading the
// agent's log (GET /log) from the moment it sent the request: the daemon logs every transition
// of its state machine as "FROM --EVENT--> TO" and a failed update as "update failed: WHY".
//
// The verdict:
//   installed  the package passed validation (signature, product, hardware, install modes) and
//              every object was written: the agent went on to reboot into it (or, for an update
//              installed in place, back to idle from install), or it was already installed;
//   failed     the agent went to its error state (refused at validation, or the download or the
//              install failed), with the reason it logged; or a state-change-callback cancelled.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace uh::agent {

class InstallWatch {
 public:
  enum class Verdict { kPending, kInstalled, kFailed };

  // Reads the agent's next log entry ({"message": ...}); returns what to tell the user about
  // the progress it shows ("validating the package"...), if anything.
  std::optional<std::string> Read(const nlohmann::json& entry);

  [[nodiscard]] Verdict verdict() const { return verdict_; }
  // Whether the verdict is final: a failure is final once its reason was logged.
  [[nodiscard]] bool done() const { return done_; }
  // Why it failed, or how it ended ("already installed").
  [[nodiscard]] const std::string& detail() const { return detail_; }
  // The last state the agent was seen entering (empty before the first transition).
  [[nodiscard]] const std::string& state() const { return state_; }

 private:
  void Decide(Verdict verdict, std::string detail, bool done);

  Verdict verdict_ = Verdict::kPending;
  bool done_ = false;
  std::string detail_;
  std::string state_;
};

}  // namespace uh::agent
