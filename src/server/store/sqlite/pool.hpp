#pragma once

// Connections to one SQLite database shared by the server's threads. SQLite allows one writer
// at a time, so there is one writer connection; in WAL mode readers never wait for it, and
// each concurrent reader gets its own connection (kept afterwards, with its prepared
// statements, for the next reader).
//
// Writes are committed in groups: a write that arrives while another group is being written
// waits, and the next group runs every write waiting then in one transaction, each write in a
// savepoint of its own (a write that fails rolls back its own changes only), and commits once.
// The store is thus limited by how many syncs the disk makes a second, not by one sync per
// write; each caller still returns only once its write is committed (durable), or failed.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/store_metrics.hpp"

namespace uh::server::sqlite {

class ConnectionPool {
 public:
  ConnectionPool(std::filesystem::path path, std::unique_ptr<Connection> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  // Runs `work(Connection&)` in a write transaction on the writer connection (with other
  // writes waiting at the same time: see above); an error from `work` rolls back what it
  // changed. Returns what `work` returns (an Expected) once committed, errors prefixed with
  // `what`; when the commit fails, its error.
  template <typename Work>
  auto Write(std::string_view what, Work&& work) -> std::invoke_result_t<Work&, Connection&> {
    const ScopedLatency timed(SqliteStoreMetrics().write);  // waiting for the group included
    using Result = std::invoke_result_t<Work&, Connection&>;
    std::optional<Result> result;
    PendingWrite write;
    write.run = [&](Connection& db) {
      result.emplace(work(db));
      return result->has_value();
    };
    WriteInGroup(write);
    if (write.exception) std::rethrow_exception(write.exception);
    if (write.error) return std::unexpected(std::move(*write.error).WithContext(what));
    return WithContext(std::move(*result), what);
  }

  // Writes waiting for their group now.
  [[nodiscard]] std::size_t waiting_writes() {
    std::lock_guard lock(queue_mutex_);
    return queue_.size();
  }

  // Runs `work(Connection&)` in a read transaction (one consistent snapshot) on a reader
  // connection of its own.
  template <typename Work>
  auto Read(std::string_view what, Work&& work) -> std::invoke_result_t<Work&, Connection&> {
    const ScopedLatency timed(SqliteStoreMetrics().read);
    auto reader = AcquireReader();
    if (!reader) return std::unexpected(std::move(reader.error()).WithContext(what));
    auto result = InTransaction(**reader, Transaction::Mode::kRead, work);
    ReleaseReader(std::move(*reader));
    return WithContext(std::move(result), what);
  }

 private:
  // Idle readers kept open; more may exist while many threads read at once.
  static constexpr std::size_t kMaxIdleReaders = 8;
  // Writes in one transaction at most: a group is written while the next one gathers.
  static constexpr std::size_t kMaxGroup = 256;

  // A write waiting for its group. `run` runs the caller's work and says whether it succeeded;
  // `error` is set when the group's transaction failed after it (its changes are gone).
  struct PendingWrite {
    std::function<bool(Connection&)> run;
    std::optional<Error> error;
    std::exception_ptr exception;  // thrown by `run`, thrown again in the caller's thread
    bool done = false;
  };
  // Queues `write` and returns once it is done: written by the thread that leads the group it
  // is in, which may be this one.
  void WriteInGroup(PendingWrite& write);
  // Runs the group in one transaction on the writer connection, sets each write's outcome.
  void WriteGroup(const std::vector<PendingWrite*>& group);

  template <typename T>
  static Expected<T> WithContext(Expected<T> result, std::string_view what) {
    if (!result) return std::unexpected(std::move(result.error()).WithContext(what));
    return result;
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

  [[nodiscard]] Expected<std::unique_ptr<Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> reader);

  std::filesystem::path path_;
  std::unique_ptr<Connection> writer_;  // used by the leading thread only
  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::vector<PendingWrite*> queue_;
  bool leading_ = false;  // a thread is writing a group
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace uh::server::sqlite
