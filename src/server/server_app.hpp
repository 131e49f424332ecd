#pragma once

// updatehub-server assembled: store, object store, services, routes and the HTTP server, plus
// the background ticker that moves time-driven rollout transitions along.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/fs.hpp"
#include "server/api_context.hpp"
#include "server/config.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"
#include "server/server_log.hpp"

namespace uh::server {

// Takes the data directory for this process: creates it, makes it 0700 and holds an exclusive
// lock on its server.lock (which names the holder's pid) for as long as the File lives. A second
// server, or an admin command, on the same directory gets kAlreadyExists naming the holder.
[[nodiscard]] Expected<File> LockDataDir(const std::filesystem::path& data_dir);

// Sets a new password for the user "admin" (created if there is none) on the store of `config`,
// with the data directory locked (the server must be stopped), and revokes admin's tokens.
// An empty `password` generates one, which is returned.
[[nodiscard]] Expected<std::string> ResetAdminPassword(const ServerConfig& config,
                                                       const std::string& password);

class ServerApp {
 public:
  // Opens everything and starts serving. `admin_password` (UPDATEHUB_ADMIN_PASSWORD) is used
  // for the first admin; when empty a random one is generated and returned by
  // generated_admin_password(), to be shown once.
  [[nodiscard]] static Expected<std::unique_ptr<ServerApp>> Start(
      const ServerConfig& config, const std::string& admin_password,
      std::chrono::milliseconds tick = std::chrono::seconds(1),
      RolloutService::Clock clock = std::chrono::system_clock::now);
  ~ServerApp();

  [[nodiscard]] std::uint16_t port() const { return http_->port(); }
  [[nodiscard]] const std::optional<std::string>& generated_admin_password() const {
    return generated_admin_password_;
  }
  [[nodiscard]] Store& store() { return *store_; }
  [[nodiscard]] RolloutService& rollouts() { return *rollouts_; }
  [[nodiscard]] const Catalog& catalog() const { return *catalog_; }
  // SIGHUP: the TLS certificate and key again, for new connections; on error the old stay.
  [[nodiscard]] Expected<void> ReloadTls() { return http_->ReloadTls(); }
  // Graceful: in-flight requests finish, the store closes cleanly.
  void Stop();

 private:
  ServerApp() = default;
  void TickLoop(std::chrono::milliseconds period);
  void FlushLastSeen();

  File lock_;  // first: released last
  ServerConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<PackageService> packages_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<LastSeenBatch> last_seen_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<DeviceQuota> quota_;
  std::unique_ptr<AccessLog> access_log_;  // when config.access_log
  // This process among the servers sharing the database (the timed work's lease holder).
  std::string instance_id_;
  static constexpr std::string_view kTimedWorkLease = "rollouts.timed-work";
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ApiContext> context_;
  std::unique_ptr<RolloutService> rollouts_;
  std::unique_ptr<http::HttpServer> http_;
  std::optional<std::string> generated_admin_password_;
  std::mutex tick_mutex_;
  std::condition_variable tick_wake_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace uh::server
