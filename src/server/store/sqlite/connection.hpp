#pragma once

// Thin RAII layer over the SQLite C API: a connection with its cache of prepared statements,
// a statement borrowed from that cache, and a transaction that rolls back unless committed.
// A connection is used by one thread at a time (SQLite's multi-thread mode); ConnectionPool
// enforces that.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace uh::server::sqlite {

// How long a connection waits for a lock held by another connection or process.
inline constexpr int kBusyTimeoutMs = 10'000;

class Connection;

// A prepared statement borrowed from a connection; reset and unbound when it goes away.
// Bind failures are remembered and reported by the next Step().
class Query {
 public:
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  // Parameters are numbered from 1, as in SQL ("?1").
  void BindText(int index, std::string_view text);
  void BindBlob(int index, std::string_view bytes);
  void BindInt(int index, std::int64_t value);
  void BindNull(int index);

  // Advances to the next row: true when a row is available, false when the statement is done.
  [[nodiscard]] Expected<bool> Step();
  // Runs a statement that returns no rows.
  [[nodiscard]] Expected<void> Run();

  // Column accessors for the current row; NULL reads as "" or 0.
  [[nodiscard]] std::string Text(int column) const;
  [[nodiscard]] std::string Blob(int column) const;
  [[nodiscard]] std::int64_t Int(int column) const;
  [[nodiscard]] bool IsNull(int column) const;

 private:
  friend class Connection;
  Query(Connection* connection, sqlite3_stmt* stmt, bool* in_use, bool owned)
      : connection_(connection), stmt_(stmt), in_use_(in_use), owned_(owned) {}
  void NoteBind(int rc);

  Connection* connection_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // the cache entry's flag; null for a statement this query owns
  bool owned_;
  int bind_rc_ = 0;
};

class Connection {
 public:
  enum class Role { kWriter, kReader };

  // Opens (creating if needed, for the writer) the database file and sets the pragmas every
  // connection needs: WAL, synchronous=FULL, busy timeout, foreign keys.
  [[nodiscard]] static Expected<std::unique_ptr<Connection>> Open(const std::filesystem::path& path,
                                                                  Role role);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement, prepared once per connection and reused.
  [[nodiscard]] Expected<Query> Prepare(std::string_view sql);
  // Runs SQL text that may hold several statements and takes no parameters (pragmas,
  // migrations, transaction control).
  [[nodiscard]] Expected<void> Exec(std::string_view sql);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  [[nodiscard]] std::int64_t Changes() const;
  [[nodiscard]] bool InTransaction() const;
  // The error SQLite reported for `rc` on this connection, mapped to the project's codes.
  [[nodiscard]] Error ErrorFor(int rc) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_;
  std::map<std::string, CachedStatement, std::less<>> cache_;
};

// BEGIN IMMEDIATE (writers) or BEGIN (readers, for a consistent snapshot across statements);
// rolled back when destroyed without Commit().
class Transaction {
 public:
  enum class Mode { kRead, kWrite };
  [[nodiscard]] static Expected<Transaction> Begin(Connection& connection, Mode mode);
  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  [[nodiscard]] Expected<void> Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

}  // namespace uh::server::sqlite
