#pragma once

// Connections to one PostgreSQL database shared by the server's threads: opened when needed,
// at most max_connections() at once (a caller beyond that waits for one), kept with their
// prepared statements for the next caller, and dropped when the server closed them.
//
// Writes run SERIALIZABLE (connection.hpp): when PostgreSQL fails one of two conflicting
// transactions (of this process or another server's), Write runs `work` again on a fresh
// snapshot, a few times with a growing random pause. A transaction whose connection broke
// before its COMMIT was sent (a database restart, a failover) runs again once, on a new
// connection. So `work` must not change anything but the database before it returns: build its
// result inside it.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "server/store/postgres/connection.hpp"
#include "server/store/store_metrics.hpp"

namespace uh::server::pg {

class ConnectionPool {
 public:
  static constexpr std::size_t kDefaultMaxConnections = 16;
  // Attempts of one Write when PostgreSQL keeps failing it for conflicts.
  static constexpr int kMaxWriteAttempts = 12;

  // `first` is an open connection (the one that applied the migrations), counted in
  // `max_connections` (at least 1).
  ConnectionPool(std::string url, std::unique_ptr<Connection> first,
                 std::size_t max_connections = kDefaultMaxConnections);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // The most connections open at once.
  [[nodiscard]] std::size_t max_connections() const { return max_connections_; }
  // Connections open now, in use or idle.
  [[nodiscard]] std::size_t open_connections();

  // Runs `work(Connection&)` in a SERIALIZABLE transaction, again when PostgreSQL says it
  // conflicted with another; an error from `work` rolls everything back. Returns what `work`
  // returns (an Expected), errors prefixed with `what`.
  template <typename Work>
  auto Write(std::string_view what, Work&& work) -> std::invoke_result_t<Work&, Connection&> {
    return Run(what, Transaction::Mode::kWrite, work);
  }

  // Runs `work(Connection&)` in a read-only transaction (one consistent snapshot).
  template <typename Work>
  auto Read(std::string_view what, Work&& work) -> std::invoke_result_t<Work&, Connection&> {
    return Run(what, Transaction::Mode::kRead, work);
  }

  // Runs `work(Connection&)`, which reads with one statement, without BEGIN and COMMIT: the
  // statement is its own transaction.
  template <typename Work>
  auto ReadStatement(std::string_view what, Work&& work)
      -> std::invoke_result_t<Work&, Connection&> {
    return Run(what, Transaction::Mode::kStatement, work);
  }

 private:
  template <typename Work>
  auto Run(std::string_view what, Transaction::Mode mode, Work& work)
      -> std::invoke_result_t<Work&, Connection&> {
    StoreMetrics& metrics = PostgresStoreMetrics();
    // The whole call as its caller waits for it: a free connection, the attempts, the pauses.
    const ScopedLatency timed(mode == Transaction::Mode::kWrite ? metrics.write : metrics.read);
    bool reconnected = false;
    for (int attempt = 1;; ++attempt) {
      auto connection = Acquire();
      if (!connection) return std::unexpected(std::move(connection.error()).WithContext(what));
      Connection& db = **connection;
      db.ClearSqlState();
      auto result = InTransaction(db, mode, work);
      const bool lost = !result && !db.Healthy() && !db.CommitSent() && !reconnected;
      const bool retry =
          lost || (!result && db.LastErrorIsRetryable() && attempt < kMaxWriteAttempts);
      reconnected = reconnected || lost;
      Release(std::move(*connection));
      if (result) return result;
      if (!retry) return std::unexpected(std::move(result.error()).WithContext(what));
      metrics.retries.fetch_add(1, std::memory_order_relaxed);
      if (!lost) PauseBeforeRetry(attempt);
    }
  }

  template <typename Work>
  static auto InTransaction(Connection& connection, Transaction::Mode mode, Work& work)
      -> std::invoke_result_t<Work&, Connection&> {
    auto transaction = Transaction::Begin(connection, mode);
    if (!transaction) return std::unexpected(std::move(transaction.error()));
    auto result = work(connection);
    if (!result) return result;  // the transaction rolls back as it goes away
    if (auto committed = transaction->Commit(); !committed) {
      return std::unexpected(std::move(committed.error()));
    }
    return result;
  }

  [[nodiscard]] Expected<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  static void PauseBeforeRetry(int attempt);

  std::string url_;
  std::size_t max_connections_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections in use or idle
};

}  // namespace uh::server::pg
