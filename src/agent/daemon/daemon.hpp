#pragma once

// The agent daemon: runs the state machine (state_machine.hpp) on the calling thread, and
// takes requests from the local API on other threads. Everything the daemon touches on the
// device comes through its config: the firmware metadata scripts, the A/B bootloader, the
// download directory, the target root, the reboot command.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "agent/api/agent_control.hpp"
#include "agent/backend/update_backend.hpp"
#include "agent/client/client.hpp"
#include "agent/daemon/state_machine.hpp"
#include "agent/daemon/update_state.hpp"
#include "agent/device/bootloader.hpp"
#include "agent/device/callbacks.hpp"
#include "agent/device/config.hpp"
#include "agent/device/device_credentials.hpp"
#include "agent/device/firmware_metadata.hpp"
#include "agent/device/runtime_settings.hpp"
#include "agent/install/installer.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

struct DaemonOptions {
  // Does the update's heavy work (server, signatures, packages, installers); required. The
  // updatehub program passes a WorkerBackend, tests mostly the LocalBackend.
  std::unique_ptr<UpdateBackend> backend;
  // The A/B backend; null: the updatehub-active-* commands (config.update.slot_commands_dir).
  std::unique_ptr<Bootloader> bootloader;
  // The recent log, sent with error reports.
  std::function<std::string()> recent_log;
  // How long to wait for the reboot command to take the device down before calling it failed.
  std::chrono::milliseconds reboot_timeout{std::chrono::minutes(10)};
  // First wait after a failed probe; doubles per retry up to min(interval, 1 h).
  std::chrono::milliseconds retry_base{std::chrono::seconds(15)};
  // A download cut by the network (connection refused or reset, a timeout, a 5xx) is resumed
  // after a wait that starts here and doubles up to download_retry_cap, at most
  // download_retries times, before the update fails: a server restarting, or a link going down
  // for a few minutes, does not cost the device its update.
  std::chrono::milliseconds download_retry_base{std::chrono::seconds(2)};
  std::chrono::milliseconds download_retry_cap{std::chrono::seconds(60)};
  int download_retries = 8;
  std::uint64_t seed = std::random_device{}();
  // How long a probe asked through the local API may take.
  std::chrono::milliseconds api_probe_wait{std::chrono::minutes(5)};
};

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
  [[nodiscard]] StateId state() const { return state_.load(); }
  [[nodiscard]] nlohmann::json Info() override;
  // Probes now (with another server when given) and waits for the answer; busy unless idle.
  [[nodiscard]] ProbeOutcome RequestProbe(std::optional<std::string> custom_server) override;
  // Installs a .uhupkg file or URL; busy unless idle.
  [[nodiscard]] InstallOutcome RequestLocalInstall(std::filesystem::path file) override;
  [[nodiscard]] InstallOutcome RequestRemoteInstall(std::string url) override;
  // False when nothing is downloading.
  [[nodiscard]] bool AbortDownload() override;

 private:
  struct Request {
    enum class Kind { kProbe, kLocalInstall, kRemoteInstall } kind = Kind::kProbe;
    std::string argument;  // custom server, file or url
  };
  // The package being handled by validation, download, install.
  struct Offer {
    std::string metadata;
    std::string signature;
    bool remote = true;
    package::Metadata parsed;
    std::string package_uid;  // sha256 of metadata
    // A package read in place (UpdateState::package_file); empty otherwise.
    std::string package_file{};
  };

  explicit Daemon(AgentConfig config, DaemonOptions options);

  // States (daemon_states.cpp and daemon_update.cpp); each returns what happened.
  Event EntryPoint();
  Event Park();
  Event Poll();
  Event Probe();
  Event Validation();
  Event Download();
  // One object of the update, for Download, as its plan says (DeliveryOf): downloaded (with
  // retries), written into its target, piped into its installer from the server or the package
  // file, extracted from the package file, or checked where it was unpacked.
  Expected<void> FetchObject(const package::Object& object);
  Event Install();
  // The end of an update installed over the running system (InPlace): recorded, cleaned up,
  // and a probe at once so the server sees what the device runs.
  Event FinishInPlace();
  Event Reboot();
  Event Validate();
  Event HandleError();
  Event RunState(StateId state);

  // Waits `delay` unless Stop or an abort of the download comes first; false if one did.
  bool WaitBeforeDownloadRetry(std::chrono::milliseconds delay);
  // Waits until `deadline` or a request or Stop; returns the request if one came.
  std::optional<Request> WaitForRequest(
      std::optional<std::chrono::steady_clock::time_point> deadline);
  // What a request of the local API, taken in an idle state, leads to.
  Event TakeRequest(const Request& request);
  // Turns an install request into an offer (the package's objects land in the download dir).
  Expected<void> PrepareInstall(const Request& request);
  // The wait before the next probe, from runtime settings, backoff and jitter.
  std::chrono::milliseconds NextProbeDelay();
  Expected<void> SaveRuntime();
  Expected<void> ReloadFirmware();
  // The state-change-callback for entering `state`; kCancelled, kFailed or nothing.
  std::optional<Event> EnterCallback(std::string_view state);
  void Report(const std::string& status);
  // Records `error` as the failure of the state running now (what an "error" report says of it
  // is derived from that state: FailedStepOf) and returns kFailed.
  Event Failed(const uh::Error& error);
  std::filesystem::path ObjectPath(const std::string& sha256) const;
  // Whether the local API may hand the daemon a request now (mutex_ held): idle, and no request
  // pending or being taken up.
  bool AcceptsRequest() const;
  // An object's install context, with `active_set` the slot running now.
  InstallContext ContextFor(const package::Object& object, int active_set) const;
  // The delivery plan of the update in progress, as validation decides it from the installer
  // table, update.stream_objects and where the objects come from (delivery_plan.hpp).
  DeliveryPlan DecidePlan() const;
  // How `object` travels in the update in progress: its saved plan.
  Delivery DeliveryOf(const package::Object& object) const;
  // Where an object planned kIntoTarget is written.
  Expected<StreamTarget> IntoTargetOf(const package::Object& object) const;
  // Whether the update in progress installed `object` while downloading it.
  bool InstalledWhileDownloading(const package::Object& object) const;
  // Where a package named by URL (remote_install) is downloaded to.
  std::filesystem::path RemoteInstallPath() const;
  // The progress record of a streamed object.
  std::filesystem::path StreamProgressPath(const std::string& sha256) const;
  // The kernel's boot id (under target_root); "" when unknown.
  std::string BootId() const;
  const std::vector<package::Object>& ObjectsForSlot() const;
  // Whether the offer is installed over the running system instead of into the inactive slot.
  // The one rule for it: a package with one installation set has no set per slot, so it holds
  // no system of its own to boot (typically application files): no slot switch, no reboot. A
  // package with two sets installs the inactive slot's set and switches to it.
  bool InPlace() const;
  // Removes what the update left in the download directory (objects, stream records, a package
  // fetched from a URL).
  void RemoveUpdateFiles();
  void FinishProbeRequest(ProbeOutcome outcome);
  // The package uid of metadata, through the backend (nullopt, logged, when it cannot answer).
  PackageUidOf UidOf();
  // How to reach `server` (a URL), with the configured CA file, tokens, client certificate and
  // download deadline.
  ClientOptions ServerOptions(const std::string& server) const;
  // The server of the update in progress (update_server_, or the configured one).
  ClientOptions UpdateServerOptions() const;

  AgentConfig config_;
  DeviceCredentials credentials_;  // read (or the token created) once, by Create
  DaemonOptions options_;
  std::unique_ptr<Bootloader> bootloader_;
  std::unique_ptr<UpdateBackend> backend_;
  Callbacks callbacks_;
  std::mt19937_64 random_;

  std::atomic<StateId> state_{StateId::kEntryPoint};
  RuntimeSettings runtime_;
  FirmwareMetadata firmware_;
  // The server of the update in progress (its reports go there): the one probed last; empty
  // after a restart, when the configured server is used.
  std::string update_server_;

  std::optional<Offer> offer_;
  std::optional<UpdateState> update_;
  int active_slot_ = 0;
  StateId running_ = StateId::kEntryPoint;  // the state whose step runs now
  StateId failed_in_ = StateId::kError;     // the state whose step failed (error_)
  std::optional<uh::Error> error_;
  std::optional<std::int64_t> extra_poll_;  // Add-Extra-Poll from the last probe
  std::string probe_server_;                // a custom server for the next probe, from the API
  bool reboot_only_ = false;  // Reboot only runs the reboot command (rollback, restart)

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Request> request_;
  // A request was handed to the state that waited for it, which has not left that state yet:
  // until then the daemon still looks idle (park, poll) but is not. Guarded by mutex_.
  bool request_taken_ = false;
  bool probe_waiting_ = false;
  std::optional<ProbeOutcome> probe_outcome_;
  std::atomic<bool> abort_download_{false};
  std::atomic<bool> downloading_{false};
};

}  // namespace uh::agent
