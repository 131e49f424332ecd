#pragma once

// What the server and its connections share. Connections hold the context by shared_ptr, so it
// outlives whichever of them goes last, even when an io_context is torn down with handlers
// still queued.

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "server/http/http.hpp"
#include "server/http/rate_limit.hpp"

namespace uh::server::http {

// What Stop needs from a live connection. Both calls are thread-safe (they post to the
// connection's strand).
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection if it is between requests; a request in flight finishes first.
  virtual void CloseWhenIdle() = 0;
  virtual void CloseNow() = 0;
};

class ConnectionRegistry {
 public:
  void Add(const Connection* key, std::weak_ptr<Connection> connection) {
    const std::lock_guard lock(mutex_);
    connections_.emplace(key, std::move(connection));
  }
  void Remove(const Connection* key) {
    const std::lock_guard lock(mutex_);
    connections_.erase(key);
    if (connections_.empty()) empty_.notify_all();
  }
  [[nodiscard]] std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return connections_.size();
  }
  [[nodiscard]] std::vector<std::shared_ptr<Connection>> Snapshot() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<Connection>> out;
    for (const auto& [key, weak] : connections_) {
      if (auto connection = weak.lock()) out.push_back(std::move(connection));
    }
    return out;
  }
  // True when every connection is gone before `deadline`.
  bool WaitUntilEmpty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return empty_.wait_until(lock, deadline, [&] { return connections_.empty(); });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::map<const Connection*, std::weak_ptr<Connection>> connections_;
};

struct ServerContext {
  explicit ServerContext(ServerOptions server_options)
      : options(std::move(server_options)),
        per_address(options.max_connections_per_address),
        requests(KeyedRateLimiter::Options{.per_second = options.requests_per_second_per_address,
                                           .burst = options.request_burst_per_address,
                                           .max_keys = options.max_tracked_addresses}) {}

  // Whether a request from `address` is within its rate; counts the refusal when not.
  [[nodiscard]] std::optional<std::chrono::seconds> TakeRequest(const std::string& address) {
    auto wait = requests.Take(address, std::chrono::steady_clock::now().time_since_epoch());
    if (wait) Refused(ServerOptions::Refusal::kRequest);
    return wait;
  }
  void Refused(ServerOptions::Refusal refusal) const {
    if (options.on_refused) options.on_refused(refusal);
  }

  ServerOptions options;
  std::shared_ptr<const Router> router;
  std::atomic<bool> stopping{false};
  ConnectionRegistry connections;
  ConnectionsPerAddress per_address;
  KeyedRateLimiter requests;

  // The TLS context for connections accepted now (null for plain HTTP). A reload replaces it;
  // each connection holds the one it started with.
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> CurrentTls() const {
    const std::lock_guard lock(tls_mutex_);
    return tls_;
  }
  void SetTls(std::shared_ptr<boost::asio::ssl::context> tls) {
    const std::lock_guard lock(tls_mutex_);
    tls_ = std::move(tls);
  }

 private:
  mutable std::mutex tls_mutex_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace uh::server::http
