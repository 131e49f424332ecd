#pragma once

// updatehub-server assembled: store, object store, services, routes and the HTTP server, plus
// the background ticker that moves time-driven rollout transitions along.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/api_context.hpp"
#include "server/config.hpp"
#include "server/http/http.hpp"
#include "server/rollout_service.hpp"

namespace uh::server {

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
  // Graceful: in-flight requests finish, the store closes cleanly.
  void Stop();

 private:
  ServerApp() = default;
  void TickLoop(std::chrono::milliseconds period);
  void FlushLastSeen();

  ServerConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<PackageService> packages_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<LastSeenBatch> last_seen_;
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
