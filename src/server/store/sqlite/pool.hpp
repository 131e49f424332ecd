#pragma once

// Connections to one SQLite database shared by the server's threads. SQLite allows one writer
// at a time, so there is one writer connection behind a mutex, held only for the length of a
// write transaction; in WAL mode readers never wait for it, and each concurrent reader gets
// its own connection (kept afterwards, with its prepared statements, for the next reader).

#include <filesystem>
#include <memory>
#include <mutex>
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

  // Runs `work(Connection&)` inside BEGIN IMMEDIATE ... COMMIT on the writer connection;
  // an error from `work` rolls everything back. Returns what `work` returns (an Expected),
  // errors prefixed with `what`.
  template <typename Work>
  auto Write(std::string_view what, Work&& work) -> std::invoke_result_t<Work&, Connection&> {
    const ScopedLatency timed(SqliteStoreMetrics().write);  // waiting for the writer included
    std::lock_guard lock(writer_mutex_);
    return WithContext(InTransaction(*writer_, Transaction::Mode::kWrite, work), what);
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
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace uh::server::sqlite
