#include "server/server_app.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "server/dashboard.hpp"
#include "server/device_api.hpp"
#include "server/device_auth_api.hpp"
#include "server/management_api.hpp"
#include "server/openapi.hpp"
#include "server/overview_api.hpp"
#include "server/rollout_api.hpp"
#include "server/user_api.hpp"

namespace uh::server {

Expected<File> LockDataDir(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail(Errc::kIo, "creating " + data_dir.string() + ": " + ec.message());
  // The database, the objects and the uploads are the server's alone.
  if (::chmod(data_dir.c_str(), 0700) != 0) {
    return Fail(Errc::kIo, "chmod 0700 " + data_dir.string() + ": " + std::strerror(errno));
  }
  const auto path = data_dir / "server.lock";
  File lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock.fd() < 0) {
    return Fail(Errc::kIo, "opening " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(lock.fd(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return Fail(Errc::kIo, "locking " + path.string() + ": " + std::strerror(errno));
    }
    auto holder = ReadFileLimited(path, 64);
    std::string pid = holder ? *holder : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Fail(Errc::kAlreadyExists, "another updatehub-server" +
                                          (pid.empty() ? "" : " (pid " + pid + ")") +
                                          " is using the data directory " + data_dir.string() +
                                          ": stop it first, or give this one its own --data-dir");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock.fd(), 0) != 0 || ::pwrite(lock.fd(), pid.data(), pid.size(), 0) < 0) {
    return Fail(Errc::kIo, "writing " + path.string() + ": " + std::strerror(errno));
  }
  return lock;
}

Expected<std::string> ResetAdminPassword(const ServerConfig& config, const std::string& password) {
  auto lock = LockDataDir(config.data_dir);
  if (!lock) return std::unexpected(lock.error());
  auto store = OpenStore(config.DatabaseUrl());
  if (!store) return std::unexpected(store.error().WithContext("opening the store"));
  Auth auth(**store);
  return auth.ResetAdminPassword("admin", password);
}

namespace {

// Names this server process among those sharing a database: host, process and a random part
// (a process id comes back after a restart; the lease of the process before must not pass for
// its own).
std::string InstanceId() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device random;
  return fmt::format("{}:{}:{:08x}", host.data(), getpid(), random());
}

// The dashboard's files, read now or never: a missing or broken bundle turns the dashboard
// off, with the reason logged (a short one shown at /), and leaves the API serving.
void AddDashboard(http::Router& router, const std::filesystem::path& dir) {
  if (dir.empty()) {
    AddDashboardRoutes(router, nullptr, "no dashboard directory is configured");
    return;
  }
  auto assets = DashboardAssets::Load(dir);
  if (!assets) {
    spdlog::warn("web dashboard off: {}", assets.error().message());
    // The reason names server paths: it goes to the log, not to whoever asks for `/`.
    AddDashboardRoutes(router, nullptr, "its files could not be loaded; the server's log says why");
    return;
  }
  spdlog::info("web dashboard: {} files from {}, at /ui/", assets->size(), dir.string());
  AddDashboardRoutes(router, std::make_shared<const DashboardAssets>(std::move(*assets)), "");
}

}  // namespace

Expected<std::unique_ptr<ServerApp>> ServerApp::Start(const ServerConfig& config,
                                                      const std::string& admin_password,
                                                      std::chrono::milliseconds tick,
                                                      RolloutService::Clock clock) {
  std::unique_ptr<ServerApp> app(new ServerApp());
  app->config_ = config;
  auto listen = config.ListenAddress();
  if (!listen) return std::unexpected(listen.error());

  auto lock = LockDataDir(config.data_dir);
  if (!lock) return std::unexpected(lock.error());
  app->lock_ = std::move(*lock);

  std::error_code ec;
  const auto temp_dir = config.data_dir / "tmp";
  std::filesystem::create_directories(temp_dir, ec);
  if (ec) return Fail(Errc::kIo, "creating " + temp_dir.string() + ": " + ec.message());
  // Leftovers of uploads cut short by a crash.
  for (const auto& entry : std::filesystem::directory_iterator(temp_dir, ec)) {
    std::filesystem::remove(entry.path(), ec);
  }

  auto store = OpenStore(config.DatabaseUrl(), {.pool_size = config.database_pool_size});
  if (!store) return std::unexpected(store.error().WithContext("opening the store"));
  app->store_ = std::move(*store);
  auto objects = ObjectStore::Open(config.ObjectsDir(), config.objects_dir.empty()
                                                            ? ObjectStore::Leftovers::kMine
                                                            : ObjectStore::Leftovers::kShared);
  if (!objects) return std::unexpected(objects.error());
  app->objects_ = std::make_unique<ObjectStore>(std::move(*objects));
  app->packages_ = std::make_unique<PackageService>(*app->store_, *app->objects_);
  app->auth_ = std::make_unique<Auth>(*app->store_, clock);
  app->metrics_ = std::make_unique<Metrics>();
  app->metrics_->build = {
      .version = config.build_version.empty() ? "unknown" : config.build_version,
      .store = std::string(config.StoreBackend())};
  app->last_seen_ = std::make_unique<LastSeenBatch>();
  app->audit_ = std::make_unique<AuditLog>(*app->store_);
  app->quota_ = std::make_unique<DeviceQuota>(
      DeviceQuotaOptions{
          .reports_per_device_per_minute = config.reports_per_device_per_minute,
          .new_devices_per_product_per_minute = config.new_devices_per_product_per_minute},
      clock);
  app->instance_id_ = InstanceId();
  app->catalog_ = std::make_unique<Catalog>(*app->store_);
  app->context_ = std::make_unique<ApiContext>(
      ApiContext{app->config_, *app->store_, *app->catalog_, *app->objects_, *app->packages_,
                 *app->auth_, *app->metrics_, *app->last_seen_, *app->audit_, *app->quota_});
  app->rollouts_ = std::make_unique<RolloutService>(*app->store_, *app->catalog_, std::move(clock));

  auto router = std::make_shared<http::Router>();
  AddDeviceRoutes(*router, *app->context_, *app->rollouts_);
  AddManagementRoutes(*router, *app->context_);
  AddDeviceAuthRoutes(*router, *app->context_);
  AddUserRoutes(*router, *app->context_);
  AddRolloutRoutes(*router, *app->context_, *app->rollouts_);
  AddOverviewRoutes(*router, *app->context_, *app->rollouts_);
  AddOpenApiRoute(*router);
  AddAuditRoutes(*router, *app->context_);
  AddDashboard(*router, config.dashboard_dir);
  // Last, over every route added above.
  AuditChanges(*router, *app->context_);

  http::ServerOptions options;
  options.address = listen->first;
  options.port = listen->second;
  options.threads = config.threads;
  options.temp_dir = temp_dir;
  options.max_connections_per_address = config.max_connections_per_address;
  options.requests_per_second_per_address = config.requests_per_second_per_address;
  // A burst below the rate would refuse a second's worth of requests sent at once.
  options.request_burst_per_address =
      std::max(config.request_burst_per_address, config.requests_per_second_per_address);
  if (!config.tls_certificate.empty() || !config.tls_private_key.empty()) {
    options.tls = http::TlsOptions{.certificate = config.tls_certificate,
                                   .private_key = config.tls_private_key,
                                   .ciphers = config.tls_ciphers,
                                   .ciphersuites = config.tls_ciphersuites};
  }
  Metrics* metrics = app->metrics_.get();
  if (config.access_log) {
    auto format = ParseLogFormat(config.log_format);
    if (!format) return std::unexpected(format.error());
    app->access_log_ = std::make_unique<AccessLog>(*format);
  }
  metrics->http.RegisterRoutes(*router);
  options.on_response = [metrics, access_log = app->access_log_.get()](
                            const http::Request& request, int status, std::uint64_t bytes) {
    // Latency: from the request's head read to its answer's last byte handed to the socket (or
    // the send failing), so a download's time includes its transfer.
    metrics->http.Record(request, status, std::chrono::steady_clock::now() - request.received);
    if (access_log != nullptr) access_log->Record(request, status, bytes);
  };
  options.on_refused = [metrics](http::ServerOptions::Refusal refusal) {
    ++(refusal == http::ServerOptions::Refusal::kConnection ? metrics->refused_connections
                                                            : metrics->refused_requests);
  };
  auto http = http::HttpServer::Start(std::move(options), router);
  if (!http) return std::unexpected(http.error());
  app->http_ = std::move(*http);
  // Only once the server is really serving: a first start that fails before (the port is taken)
  // must not leave an admin whose generated password nobody saw.
  auto generated = app->auth_->EnsureAdmin(admin_password);
  if (!generated) return std::unexpected(generated.error().WithContext("creating the admin user"));
  app->generated_admin_password_ = *generated;
  app->ticker_ = std::thread([raw = app.get(), tick] { raw->TickLoop(tick); });
  return app;
}

ServerApp::~ServerApp() { Stop(); }

void ServerApp::TickLoop(std::chrono::milliseconds period) {
  // The lease outlives a few missed renewals; a server that died leaves it to another after
  // that long.
  const std::int64_t lease_ms = std::max<std::int64_t>(10 * period.count(), 2000);
  std::unique_lock lock(tick_mutex_);
  while (!stopping_) {
    tick_wake_.wait_for(lock, period, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // The rollouts' timed work is done by one server of those sharing the database at a time
    // (each change is a conditional write, so two doing it would still be safe, only wasteful).
    auto leading = store_->HoldLease(std::string(kTimedWorkLease), instance_id_, lease_ms);
    if (!leading) {
      spdlog::warn("timed work lease: {}", leading.error().message());
    } else {
      metrics_->timed_work_leader = *leading ? 1 : 0;
      if (*leading) {
        if (auto ticked = rollouts_->Tick(); !ticked) {
          spdlog::warn("rollout tick: {}", ticked.error().message());
        }
      }
    }
    FlushLastSeen();
    lock.lock();
  }
}

void ServerApp::Stop() {
  {
    std::lock_guard lock(tick_mutex_);
    stopping_ = true;
  }
  tick_wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (http_) http_->Stop();
  // Another server takes the timed work at its next tick, not once the lease has expired.
  if (store_ && metrics_ && metrics_->timed_work_leader.exchange(0) == 1) {
    if (auto released = store_->ReleaseLease(std::string(kTimedWorkLease), instance_id_);
        !released) {
      spdlog::warn("releasing the timed work lease: {}", released.error().message());
    }
  }
  if (store_ && last_seen_) FlushLastSeen();
}

void ServerApp::FlushLastSeen() {
  if (auto flushed = last_seen_->Flush(*store_); !flushed) {
    spdlog::warn("recording last seen times: {}", flushed.error().message());
  }
}

}  // namespace uh::server
