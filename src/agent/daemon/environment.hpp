#pragma once

// What every state of the daemon works with besides the update context (update_context.hpp):
// what the device is and has (config, credentials, firmware metadata, runtime settings,
// bootloader, callbacks), the backend that does the heavy work, the request channel to the
// local API, and the services built on them (reports, server options, object paths). It holds
// nothing about the update in progress.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "agent/backend/update_backend.hpp"
#include "agent/client/client.hpp"
#include "agent/daemon/daemon_options.hpp"
#include "agent/daemon/request_channel.hpp"
#include "agent/daemon/update_context.hpp"
#include "agent/device/bootloader.hpp"
#include "agent/device/callbacks.hpp"
#include "agent/device/config.hpp"
#include "agent/device/device_credentials.hpp"
#include "agent/device/firmware_metadata.hpp"
#include "agent/device/runtime_settings.hpp"
#include "agent/install/installer.hpp"

namespace uh::agent {

class Environment {
 public:
  // Takes the backend (required) and the bootloader (default: the slot commands) out of
  // `options`, reads the device credentials and the runtime settings, and loads the firmware
  // metadata (a failure there is only logged: each probe tries again).
  [[nodiscard]] static Expected<std::unique_ptr<Environment>> Create(AgentConfig config,
                                                                     DaemonOptions options,
                                                                     RequestChannel& requests);

  [[nodiscard]] const AgentConfig& config() const { return config_; }
  [[nodiscard]] const DaemonOptions& options() const { return options_; }
  [[nodiscard]] UpdateBackend& backend() { return *backend_; }
  [[nodiscard]] Bootloader& bootloader() { return *bootloader_; }
  [[nodiscard]] const Callbacks& callbacks() const { return callbacks_; }
  [[nodiscard]] RequestChannel& requests() { return requests_; }
  [[nodiscard]] RuntimeSettings& runtime() { return runtime_; }
  [[nodiscard]] const RuntimeSettings& runtime() const { return runtime_; }
  [[nodiscard]] const FirmwareMetadata& firmware() const { return firmware_; }

  // Saves the runtime settings (nothing on a read-only storage).
  [[nodiscard]] Expected<void> SaveRuntime();
  [[nodiscard]] Expected<void> ReloadFirmware();

  // Reports `status` of the offer to the update's server (remote offers only; a failure to send
  // is logged).
  void Report(const UpdateContext& context, std::string_view status);
  // Reports "error": what `failure` says, its previous-state derived from the state it happened
  // in (FailedStepOf), with the recent log.
  void ReportFailure(const UpdateContext& context, const Failure& failure);

  // How to reach `server` (a URL), with the configured CA file, tokens, client certificate and
  // download deadline.
  [[nodiscard]] ClientOptions ServerOptions(const std::string& server) const;
  // The server of the update in progress (context.server, or the configured one).
  [[nodiscard]] ClientOptions UpdateServerOptions(const UpdateContext& context) const;
  // The package uid of metadata, through the backend (nullopt, logged, when it cannot answer).
  [[nodiscard]] PackageUidOf UidOf();

  [[nodiscard]] std::filesystem::path ObjectPath(const std::string& sha256) const;
  // The progress record of a streamed object.
  [[nodiscard]] std::filesystem::path StreamProgressPath(const std::string& sha256) const;
  // Where a package named by URL (remote_install) is downloaded to.
  [[nodiscard]] std::filesystem::path RemoteInstallPath() const;
  // An object's install context, with `active_set` the slot running now.
  [[nodiscard]] InstallContext ContextFor(const package::Object& object, int active_set) const;
  // The kernel's boot id (under target_root); "" when unknown.
  [[nodiscard]] std::string BootId() const;

 private:
  Environment(AgentConfig config, DaemonOptions options, RequestChannel& requests);
  void Send(const UpdateContext& context, std::string_view status, const Failure* failure);

  AgentConfig config_;
  DeviceCredentials credentials_;  // read (or the token created) once, by Create
  DaemonOptions options_;          // without its backend and bootloader, taken from it
  std::unique_ptr<Bootloader> bootloader_;
  std::unique_ptr<UpdateBackend> backend_;
  Callbacks callbacks_;
  RequestChannel& requests_;
  RuntimeSettings runtime_;
  FirmwareMetadata firmware_;
};

}  // namespace uh::agent
