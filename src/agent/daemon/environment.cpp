#include "agent/daemon/environment.hpp"

#include <spdlog/spdlog.h>

#include "core/fs.hpp"

namespace uh::agent {

Environment::Environment(AgentConfig config, DaemonOptions options, RequestChannel& requests)
    : config_(std::move(config)),
      options_(std::move(options)),
      callbacks_(config_.firmware.metadata),
      requests_(requests) {}

Expected<std::unique_ptr<Environment>> Environment::Create(AgentConfig config,
                                                           DaemonOptions options,
                                                           RequestChannel& requests) {
  std::unique_ptr<Environment> env(
      new Environment(std::move(config), std::move(options), requests));
  env->backend_ = std::move(env->options_.backend);
  if (!env->backend_) return Fail(Errc::kInvalidArgument, "the daemon needs a backend");
  env->bootloader_ = std::move(env->options_.bootloader);
  if (!env->bootloader_) {
    SlotCommandsOptions slots;
    slots.dir = env->config_.update.slot_commands_dir;
    env->bootloader_ = std::make_unique<SlotCommands>(std::move(slots));
  }
  auto credentials = LoadDeviceCredentials(env->config_.network);
  if (!credentials) return std::unexpected(credentials.error());
  env->credentials_ = std::move(*credentials);
  auto runtime = LoadRuntimeSettings(env->config_.storage.runtime_settings);
  if (!runtime) return std::unexpected(runtime.error().WithContext("runtime settings"));
  if (runtime->warning) spdlog::warn("{}", *runtime->warning);
  env->runtime_ = std::move(runtime->settings);
  // A broken metadata script must not stop the agent for good: each probe tries again.
  if (auto firmware = env->ReloadFirmware(); !firmware) {
    spdlog::error("firmware metadata: {}", firmware.error().message());
  }
  return env;
}

Expected<void> Environment::SaveRuntime() {
  if (config_.storage.read_only) return {};
  return SaveRuntimeSettings(config_.storage.runtime_settings, runtime_);
}

Expected<void> Environment::ReloadFirmware() {
  auto firmware = LoadFirmwareMetadata(config_.firmware.metadata);
  if (!firmware) return std::unexpected(firmware.error());
  firmware_ = std::move(*firmware);
  return {};
}

void Environment::Report(const UpdateContext& context, std::string_view status) {
  Send(context, status, nullptr);
}

void Environment::ReportFailure(const UpdateContext& context, const Failure& failure) {
  Send(context, "error", &failure);
}

void Environment::Send(const UpdateContext& context, std::string_view status,
                       const Failure* failure) {
  if (!context.offer || !context.offer->remote) return;
  ReportRequest report;
  report.status = std::string(status);
  report.package_uid = context.offer->package_uid;
  if (failure) {
    report.previous_state = std::string(FailedStepOf(failure->state));
    report.error_message = failure->error.message();
    if (options_.recent_log) report.current_log = options_.recent_log();
  }
  // After a restart (a resumed update, the first boot of a new slot) the configured server.
  if (auto sent = backend_->Report(UpdateServerOptions(context), firmware_.ToProbeJson(), report);
      !sent) {
    spdlog::warn("report {}: {}", status, sent.error().message());
  }
}

ClientOptions Environment::ServerOptions(const std::string& server) const {
  ClientOptions options;
  options.server_url = server;
  if (!config_.network.ca_file.empty()) options.ca_file = config_.network.ca_file;
  // The device's secrets go only to the configured server: a probe of another server asked
  // through the local API (`updatehub client probe --server URL`) gets none of them.
  const auto trimmed = [](std::string_view url) {
    while (url.ends_with('/')) url.remove_suffix(1);
    return url;
  };
  if (trimmed(server) != trimmed(config_.network.server_address)) {
    if (!config_.network.product_token.empty() || credentials_.device_token ||
        credentials_.client_certificate) {
      spdlog::info("{} is not the configured server: no token or client certificate sent", server);
    }
  } else {
    if (!config_.network.product_token.empty()) {
      options.product_token = config_.network.product_token;
    }
    options.device_token = credentials_.device_token;
    options.client_certificate = credentials_.client_certificate;
    options.client_key = credentials_.client_key;
  }
  options.download_min_rate = config_.network.download_min_rate;
  options.download_time_allowance = config_.network.download_time_allowance;
  return options;
}

ClientOptions Environment::UpdateServerOptions(const UpdateContext& context) const {
  return ServerOptions(context.server.empty() ? config_.network.server_address : context.server);
}

PackageUidOf Environment::UidOf() {
  return [this](std::string_view metadata) -> std::optional<std::string> {
    auto uid = backend_->PackageUid(std::string(metadata));
    if (!uid) {
      spdlog::warn("cannot check the saved update's package uid: {}", uid.error().message());
      return std::nullopt;
    }
    return std::move(*uid);
  };
}

std::filesystem::path Environment::ObjectPath(const std::string& sha256) const {
  return config_.update.download_dir / sha256;
}

std::filesystem::path Environment::StreamProgressPath(const std::string& sha256) const {
  return config_.update.download_dir / (sha256 + ".streamed");
}

std::filesystem::path Environment::RemoteInstallPath() const {
  return config_.update.download_dir / "remote-install.uhupkg";
}

InstallContext Environment::ContextFor(const package::Object& object, int active_set) const {
  InstallContext ctx;
  ctx.object_file = ObjectPath(object.sha256sum);
  ctx.target_root = config_.update.target_root;
  ctx.work_dir = config_.update.download_dir / "work";
  ctx.active_set = active_set;
  return ctx;
}

std::string Environment::BootId() const {
  auto id = ReadFileLimited(config_.update.target_root / "proc/sys/kernel/random/boot_id", 256);
  if (!id) return "";
  std::string text = std::move(*id);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace uh::agent
