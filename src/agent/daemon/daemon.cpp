// Daemon: construction, the run loop, waiting, and the requests of the local API. The states
// themselves are in daemon_states.cpp (idle ones) and daemon_update.cpp (the update).

#include "agent/daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace uh::agent {

Daemon::Daemon(AgentConfig config, DaemonOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      callbacks_(config_.firmware.metadata),
      random_(options_.seed) {}

Daemon::~Daemon() = default;

Expected<std::unique_ptr<Daemon>> Daemon::Create(AgentConfig config, DaemonOptions options) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(config), std::move(options)));
  daemon->backend_ = std::move(daemon->options_.backend);
  if (!daemon->backend_) return Fail(Errc::kInvalidArgument, "the daemon needs a backend");
  daemon->bootloader_ = std::move(daemon->options_.bootloader);
  if (!daemon->bootloader_) {
    SlotCommandsOptions slots;
    slots.dir = daemon->config_.update.slot_commands_dir;
    daemon->bootloader_ = std::make_unique<SlotCommands>(std::move(slots));
  }
  auto credentials = LoadDeviceCredentials(daemon->config_.network);
  if (!credentials) return std::unexpected(credentials.error());
  daemon->credentials_ = std::move(*credentials);
  auto runtime = LoadRuntimeSettings(daemon->config_.storage.runtime_settings);
  if (!runtime) return std::unexpected(runtime.error().WithContext("runtime settings"));
  if (runtime->warning) spdlog::warn("{}", *runtime->warning);
  daemon->runtime_ = std::move(runtime->settings);
  // A broken metadata script must not stop the agent for good: each probe tries again.
  if (auto firmware = daemon->ReloadFirmware(); !firmware) {
    spdlog::error("firmware metadata: {}", firmware.error().message());
  }
  return daemon;
}

ClientOptions Daemon::ServerOptions(const std::string& server) const {
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

ClientOptions Daemon::UpdateServerOptions() const {
  return ServerOptions(update_server_.empty() ? config_.network.server_address : update_server_);
}

PackageUidOf Daemon::UidOf() {
  return [this](std::string_view metadata) -> std::optional<std::string> {
    auto uid = backend_->PackageUid(std::string(metadata));
    if (!uid) {
      spdlog::warn("cannot check the saved update's package uid: {}", uid.error().message());
      return std::nullopt;
    }
    return std::move(*uid);
  };
}

Expected<void> Daemon::ReloadFirmware() {
  auto firmware = LoadFirmwareMetadata(config_.firmware.metadata);
  if (!firmware) return std::unexpected(firmware.error());
  firmware_ = std::move(*firmware);
  return {};
}

Expected<void> Daemon::SaveRuntime() {
  if (config_.storage.read_only) return {};
  return SaveRuntimeSettings(config_.storage.runtime_settings, runtime_);
}

void Daemon::Run() {
  StateId current = StateId::kEntryPoint;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    {
      std::lock_guard lock(mutex_);
      state_ = current;
      request_taken_ = false;  // the request (if any) moved the daemon on
    }
    spdlog::debug("state {}", NameOf(current));
    // Waiting for the next probe or request: the backend's worker (and its memory) goes.
    if (current == StateId::kPoll || current == StateId::kPark) backend_->Release();
    running_ = current;
    const Event event = RunState(current);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    auto next = NextState(current, event);
    if (!next) {
      error_ = uh::Error(Errc::kInternal, "no transition from " + std::string(NameOf(current)) +
                                              " on " + std::string(NameOf(event)));
      failed_in_ = current;
      next = StateId::kError;
    }
    spdlog::info("{} --{}--> {}", NameOf(current), NameOf(event), NameOf(*next));
    current = *next;
  }
  backend_->Release();
  // A probe asked through the API must not wait for an answer that will not come.
  FinishProbeRequest(ProbeOutcome::Failed("the agent is stopping"));
}

Event Daemon::RunState(StateId state) {
  switch (state) {
    case StateId::kEntryPoint:
      return EntryPoint();
    case StateId::kPark:
      return Park();
    case StateId::kPoll:
      return Poll();
    case StateId::kProbe:
      return Probe();
    case StateId::kValidation:
      return Validation();
    case StateId::kDownload:
      return Download();
    case StateId::kInstall:
      return Install();
    case StateId::kReboot:
      return Reboot();
    case StateId::kValidate:
      return Validate();
    case StateId::kError:
      return HandleError();
  }
  return Event::kFailed;
}

void Daemon::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  abort_download_ = true;
  wake_.notify_all();
}

std::optional<Daemon::Request> Daemon::WaitForRequest(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  const auto ready = [this] { return stopping_ || request_.has_value(); };
  if (deadline) {
    wake_.wait_until(lock, *deadline, ready);
  } else {
    wake_.wait(lock, ready);
  }
  if (stopping_) return std::nullopt;
  if (request_) request_taken_ = true;
  return std::exchange(request_, std::nullopt);
}

bool Daemon::AcceptsRequest() const {
  const StateId now = state_.load();
  return (now == StateId::kPoll || now == StateId::kPark) && !request_ && !request_taken_;
}

nlohmann::json Daemon::Info() {
  std::lock_guard lock(mutex_);
  return {{"state", NameOf(state_.load())},
          {"version", DefaultUserAgent()},
          {"config", ConfigToInfoJson(config_)},
          {"firmware", firmware_.ToInfoJson()},
          {"runtime_settings", RuntimeSettingsToJson(runtime_, config_.storage.runtime_settings,
                                                     !config_.storage.read_only)}};
}

ProbeOutcome Daemon::RequestProbe(std::optional<std::string> custom_server) {
  std::unique_lock lock(mutex_);
  const StateId now = state_.load();
  if (!AcceptsRequest() || probe_waiting_) return ProbeOutcome::Busy(std::string(NameOf(now)));
  request_ = Request{Request::Kind::kProbe, custom_server.value_or("")};
  probe_waiting_ = true;
  probe_outcome_.reset();
  wake_.notify_all();
  wake_.wait_for(lock, options_.api_probe_wait,
                 [this] { return probe_outcome_.has_value() || stopping_; });
  probe_waiting_ = false;
  if (!probe_outcome_) return ProbeOutcome::Failed("no answer in time");
  return *std::exchange(probe_outcome_, std::nullopt);
}

void Daemon::FinishProbeRequest(ProbeOutcome outcome) {
  std::lock_guard lock(mutex_);
  if (!probe_waiting_ || probe_outcome_) return;
  probe_outcome_ = std::move(outcome);
  wake_.notify_all();
}

InstallOutcome Daemon::RequestLocalInstall(std::filesystem::path file) {
  std::lock_guard lock(mutex_);
  const std::string now(NameOf(state_.load()));
  if (!AcceptsRequest()) return InstallOutcome::Busy(now);
  request_ = Request{Request::Kind::kLocalInstall, file.string()};
  wake_.notify_all();
  return InstallOutcome::Accepted(now);
}

InstallOutcome Daemon::RequestRemoteInstall(std::string url) {
  std::lock_guard lock(mutex_);
  const std::string now(NameOf(state_.load()));
  if (!AcceptsRequest()) return InstallOutcome::Busy(now);
  request_ = Request{Request::Kind::kRemoteInstall, std::move(url)};
  wake_.notify_all();
  return InstallOutcome::Accepted(now);
}

bool Daemon::AbortDownload() {
  if (!downloading_.load()) return false;
  {
    std::lock_guard lock(mutex_);
    abort_download_ = true;
  }
  wake_.notify_all();
  return true;
}

bool Daemon::WaitBeforeDownloadRetry(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_ || abort_download_.load(); });
}

std::chrono::milliseconds Daemon::NextProbeDelay() {
  using std::chrono::milliseconds;
  milliseconds delay{0};
  if (extra_poll_) {
    delay = std::chrono::seconds(std::max<std::int64_t>(*extra_poll_, 0));
    extra_poll_.reset();
  } else if (runtime_.polling.now || !runtime_.polling.last) {
    return milliseconds(0);
  } else if (runtime_.polling.retries > 0) {
    const auto cap = std::min<milliseconds>(config_.polling.interval, std::chrono::hours(1));
    const auto shift = std::min<std::uint64_t>(runtime_.polling.retries - 1, 20);
    delay = std::min<milliseconds>(options_.retry_base * (1LL << shift), cap);
  } else {
    const auto since = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now() -
                                                                *runtime_.polling.last);
    delay = std::max(milliseconds(0),
                     std::chrono::duration_cast<milliseconds>(config_.polling.interval) - since);
  }
  // Jitter: a fleet that booted together must not probe together.
  const auto spread = delay.count() * static_cast<long long>(config_.polling.jitter_percent) / 100;
  if (spread > 0) {
    delay += milliseconds(std::uniform_int_distribution<long long>(-spread, spread)(random_));
  }
  return std::max(delay, milliseconds(0));
}

std::filesystem::path Daemon::ObjectPath(const std::string& sha256) const {
  return config_.update.download_dir / sha256;
}

InstallContext Daemon::ContextFor(const package::Object& object, int active_set) const {
  InstallContext ctx;
  ctx.object_file = ObjectPath(object.sha256sum);
  ctx.target_root = config_.update.target_root;
  ctx.work_dir = config_.update.download_dir / "work";
  ctx.active_set = active_set;
  return ctx;
}

DeliveryPlan Daemon::DecidePlan() const {
  const auto source = update_->remote                 ? ObjectSource::kServer
                      : update_->package_file.empty() ? ObjectSource::kUnpacked
                                                      : ObjectSource::kPackageFile;
  const int active_set = update_->previous_slot;
  return PlanDelivery(ObjectsForSlot(),
                      {.stream_objects = config_.update.stream_objects,
                       .source = source,
                       .in_place = InPlace(),
                       .fits_into_target = [&](const package::Object& object) -> Expected<bool> {
                         auto target = StreamTargetOf(object, ContextFor(object, active_set));
                         if (!target) return std::unexpected(std::move(target.error()));
                         return target->has_value();
                       }});
}

Delivery Daemon::DeliveryOf(const package::Object& object) const {
  return update_ && update_->plan ? update_->plan->Of(object.sha256sum) : Delivery::kDownload;
}

Expected<StreamTarget> Daemon::IntoTargetOf(const package::Object& object) const {
  auto target = StreamTargetOf(object, ContextFor(object, update_->previous_slot));
  if (!target) return std::unexpected(std::move(target.error()));
  if (!*target) {
    return Fail(Errc::kInvalidArgument,
                "planned to be written into its target, which it no longer fits: " +
                    std::string(package::ModeName(object.mode)) + " object '" + object.filename +
                    "'");
  }
  return std::move(**target);
}

bool Daemon::InstalledWhileDownloading(const package::Object& object) const {
  return update_ && std::ranges::count(update_->installed_while_downloading, object.sha256sum) > 0;
}

std::filesystem::path Daemon::RemoteInstallPath() const {
  return config_.update.download_dir / "remote-install.uhupkg";
}

std::filesystem::path Daemon::StreamProgressPath(const std::string& sha256) const {
  return config_.update.download_dir / (sha256 + ".streamed");
}

bool Daemon::InPlace() const { return offer_ && offer_->parsed.sets.size() == 1; }

const std::vector<package::Object>& Daemon::ObjectsForSlot() const {
  const auto& sets = offer_->parsed.sets;
  const auto index = static_cast<std::size_t>(update_ ? update_->target_slot : 1);
  return sets.size() > index ? sets[index] : sets.front();
}

}  // namespace uh::agent
