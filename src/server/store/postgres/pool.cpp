#include "server/store/postgres/pool.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <utility>

namespace uh::server::pg {

ConnectionPool::ConnectionPool(std::string url, std::unique_ptr<Connection> first,
                               std::size_t max_connections)
    : url_(std::move(url)), max_connections_(std::max<std::size_t>(max_connections, 1)) {
  if (first) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }
}

ConnectionPool::~ConnectionPool() = default;

std::size_t ConnectionPool::open_connections() {
  std::lock_guard lock(mutex_);
  return open_;
}

Expected<std::unique_ptr<Connection>> ConnectionPool::Acquire() {
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !idle_.empty() || open_ < max_connections_; });
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->StillOpen()) return connection;
      --open_;  // closed by the server since: replaced below
    }
    ++open_;  // this caller opens one; counted now so that others wait
  }
  // Connected outside the lock: it talks to the server.
  auto connection = Connection::Open(url_);
  if (!connection) {
    std::lock_guard lock(mutex_);
    --open_;
    available_.notify_one();
  }
  return connection;
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  // A connection the server closed (restart, failover, idle timeout) is dropped; the next
  // caller opens a new one.
  if (connection->Healthy() && !connection->InTransaction()) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  available_.notify_one();
}

void ConnectionPool::PauseBeforeRetry(int attempt) {
  // Random, growing pauses keep two transactions that conflicted from meeting again.
  thread_local std::minstd_rand random(std::random_device{}());
  const int ceiling_ms = 2 << std::min(attempt, 7);  // 4 ms .. 256 ms
  std::uniform_int_distribution<int> pause(1, ceiling_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(pause(random)));
}

}  // namespace uh::server::pg
