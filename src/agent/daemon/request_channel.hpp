#pragma once

// Between the local API's thread and the daemon's: the state published for the API, requests
// handed to an idle state, a probe's outcome handed back, Stop, and aborting a download. Every
// wait of the daemon's states that a request or Stop may cut short goes through here.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "agent/api/agent_control.hpp"
#include "agent/daemon/state_machine.hpp"

namespace uh::agent {

// A request of the local API for an idle daemon.
struct DaemonRequest {
  enum class Kind { kProbe, kLocalInstall, kRemoteInstall } kind = Kind::kProbe;
  std::string argument;  // custom server, file or url
};

class RequestChannel {
 public:
  // The run loop.
  // Publishes `state` as the one running now; a request taken by the state before it moved the
  // daemon on.
  void Enter(StateId state);
  [[nodiscard]] StateId state() const { return state_.load(); }
  [[nodiscard]] bool stopping() const;
  // Asks the run loop to return at the next state boundary or wait; aborts a download.
  void Stop();

  // The states.
  // Waits until `deadline` (none: for ever) or a request or Stop; returns the request if one
  // came.
  [[nodiscard]] std::optional<DaemonRequest> WaitForRequest(
      std::optional<std::chrono::steady_clock::time_point> deadline);
  // Waits `delay` unless Stop or an abort of the download comes first; false if one did.
  [[nodiscard]] bool WaitBeforeDownloadRetry(std::chrono::milliseconds delay);
  // Hands the outcome of a probe back to a RequestProbe waiting for it (if any).
  void FinishProbe(ProbeOutcome outcome);
  // A download the local API may abort starts (clearing an earlier abort) or ends.
  void StartDownload();
  void EndDownload() { downloading_ = false; }
  // Set when the download is to stop; the backend watches it.
  [[nodiscard]] std::atomic<bool>& abort_flag() { return abort_download_; }

  // The local API (other threads).
  // Hands a probe request to an idle daemon and waits up to `wait` for its outcome.
  [[nodiscard]] ProbeOutcome AskProbe(std::optional<std::string> custom_server,
                                      std::chrono::milliseconds wait);
  // Hands an install request to an idle daemon.
  [[nodiscard]] InstallOutcome AskInstall(DaemonRequest request);
  // False when nothing is downloading.
  [[nodiscard]] bool AbortDownload();
  // Held while the API reads what the daemon shows (Info).
  [[nodiscard]] std::unique_lock<std::mutex> Lock() const { return std::unique_lock(mutex_); }

 private:
  // Whether the local API may hand the daemon a request now (mutex_ held): idle, and no request
  // pending or being taken up.
  [[nodiscard]] bool AcceptsRequest() const;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<StateId> state_{StateId::kEntryPoint};
  bool stopping_ = false;
  std::optional<DaemonRequest> request_;
  // A request was handed to the state that waited for it, which has not left that state yet:
  // until then the daemon still looks idle (park, poll) but is not. Guarded by mutex_.
  bool request_taken_ = false;
  bool probe_waiting_ = false;
  std::optional<ProbeOutcome> probe_outcome_;
  std::atomic<bool> abort_download_{false};
  std::atomic<bool> downloading_{false};
};

}  // namespace uh::agent
