#pragma once

// The agent daemon: runs the state machine (state_machine.hpp) on the calling thread, and
// takes requests from the local API on other threads. Everything the daemon touches on the
// device comes through its config: the firmware metadata scripts, the A/B bootloader, the
// download directory, the target root, the reboot command.
//
// How it is built:
//   Daemon          (here) Create, the run loop, Stop and the local API (AgentControl).
//   StateUnits      (states/states.hpp) one small unit per state; each returns an Outcome: the
//                   event for the transition table (state_machine.cpp, the one place that says
//                   what follows what), the error when it failed, a handoff to the next state.
//   UpdateContext   (update_context.hpp) the one thing the states share: the offer, the saved
//                   update state, its server, and the failure the run loop carries to the error
//                   state (recorded with the state it came from, in Run alone).
//   Environment     (environment.hpp) what the device is and has, and the services on it:
//                   config, backend, bootloader, callbacks, runtime settings, firmware, reports.
//   RequestChannel  (request_channel.hpp) requests, Stop and aborts between the API's thread
//                   and the states.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/api/agent_control.hpp"
#include "agent/backend/update_backend.hpp"
#include "agent/client/client.hpp"
#include "agent/daemon/daemon_options.hpp"
#include "agent/daemon/request_channel.hpp"
#include "agent/daemon/state_machine.hpp"
#include "agent/daemon/update_context.hpp"
#include "agent/device/bootloader.hpp"
#include "agent/device/callbacks.hpp"
#include "agent/device/config.hpp"
#include "agent/device/device_credentials.hpp"
#include "agent/device/firmware_metadata.hpp"
#include "agent/device/runtime_settings.hpp"
#include "agent/install/installer.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

class Environment;  // environment.hpp
class StateUnits;   // states/states.hpp

class Daemon final : public AgentControl {
 public:
  [[nodiscard]] static Expected<std::unique_ptr<Daemon>> Create(AgentConfig config,
                                                                DaemonOptions options = {});
  ~Daemon();

  // Runs states until Stop(). Returns when stopped.
  void Run();
  // Asks Run to return at the next state boundary or wait (thread safe).
  void Stop();

  // Local API (thread safe).
  [[nodiscard]] StateId state() const { return requests_.state(); }
  [[nodiscard]] nlohmann::json Info() override;
  // Probes now (with another server when given) and waits for the answer; busy unless idle.
  [[nodiscard]] ProbeOutcome RequestProbe(std::optional<std::string> custom_server) override;
  // Installs a .uhupkg file or URL; busy unless idle.
  [[nodiscard]] InstallOutcome RequestLocalInstall(std::filesystem::path file) override;
  [[nodiscard]] InstallOutcome RequestRemoteInstall(std::string url) override;
  // False when nothing is downloading.
  [[nodiscard]] bool AbortDownload() override;

 private:
  Daemon();

  RequestChannel requests_;  // between the local API and the states
  std::unique_ptr<Environment> env_;
  UpdateContext context_;  // the one thing the states share
  std::unique_ptr<StateUnits> states_;
};

}  // namespace uh::agent
