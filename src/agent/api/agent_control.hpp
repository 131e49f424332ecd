#pragma once

// What the local HTTP API asks of the daemon. The daemon implements AgentControl; the API server
// validates every request body before calling it, so the daemon only sees well-formed requests.
//
// Threading: the API server calls these methods from a worker thread of its own, one call at a
// time. A call may block (RequestProbe blocks until the probe is over); meanwhile other requests
// for the daemon wait their turn, as with upstream's state machine, which handles one message at
// a time, while GET /log is still answered. Stop the API server before tearing down the object
// that implements this interface; LocalApiServer::Stop waits for a call in progress to return.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace uh::agent {

// State names as upstream writes them in /info and in busy answers: "entry_point", "park",
// "poll", "probe", "validation", "download", "install", "reboot", "direct_download",
// "prepare_local_install", "error".
using StateName = std::string;

struct ProbeOutcome {
  enum class Kind {
    kUpdating,  // an update is available; the daemon goes on validating and installing it
    kNoUpdate,
    kTryAgain,  // the server asked for another probe in `try_again_in` seconds
    kBusy,      // not an idle state: nothing was probed; `detail` is the current state
    kFailed,    // the probe itself failed (server unreachable...); `detail` says why
  };

  Kind kind = Kind::kNoUpdate;
  std::int64_t try_again_in = 0;
  std::string detail;

  [[nodiscard]] static ProbeOutcome Updating() { return {Kind::kUpdating, 0, {}}; }
  [[nodiscard]] static ProbeOutcome NoUpdate() { return {Kind::kNoUpdate, 0, {}}; }
  [[nodiscard]] static ProbeOutcome TryAgain(std::int64_t seconds) {
    return {Kind::kTryAgain, seconds, {}};
  }
  [[nodiscard]] static ProbeOutcome Busy(StateName state) {
    return {Kind::kBusy, 0, std::move(state)};
  }
  [[nodiscard]] static ProbeOutcome Failed(std::string why) {
    return {Kind::kFailed, 0, std::move(why)};
  }
};

struct InstallOutcome {
  bool accepted = false;
  StateName state;  // the state the daemon was in when the request arrived

  [[nodiscard]] static InstallOutcome Accepted(StateName from) { return {true, std::move(from)}; }
  [[nodiscard]] static InstallOutcome Busy(StateName current) {
    return {false, std::move(current)};
  }
};

class AgentControl {
 public:
  virtual ~AgentControl() = default;

  // The whole GET /info body: state, version, config, firmware, runtime_settings.
  [[nodiscard]] virtual nlohmann::json Info() = 0;

  // Probes now (only from an idle state), with `custom_server` instead of the configured server
  // when given (an http(s) URL). Returns once the probe is over.
  [[nodiscard]] virtual ProbeOutcome RequestProbe(std::optional<std::string> custom_server) = 0;

  // Installs a package file: `file` is absolute and was a regular file when the request came.
  [[nodiscard]] virtual InstallOutcome RequestLocalInstall(std::filesystem::path file) = 0;

  // Downloads and installs the package at `url` (http or https).
  [[nodiscard]] virtual InstallOutcome RequestRemoteInstall(std::string url) = 0;

  // Aborts the download in progress: true when one was aborted, false when none was running.
  [[nodiscard]] virtual bool AbortDownload() = 0;
};

}  // namespace uh::agent
