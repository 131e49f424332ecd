#pragma once

// Thin RAII layer over libpq, shaped like the SQLite store's (sqlite/connection.hpp) so that
// both backends read alike: a connection with its prepared statements, a statement with its
// parameters and result rows, and a transaction that rolls back unless committed. A
// connection is used by one thread at a time; ConnectionPool enforces that.
//
// Parameters are "$1", "$2", ... in the SQL; their types are inferred by the server (add a cast,
// "$1::text", where it cannot tell). Results are read in text form: Int() parses integers and
// booleans ('t' is 1), Blob() decodes bytea.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

struct pg_conn;
struct pg_result;

namespace uh::server::pg {

class Connection;

struct ResultDeleter {
  void operator()(pg_result* result) const;
};
using Result = std::unique_ptr<pg_result, ResultDeleter>;

// A prepared statement of a connection with its bound parameters. It runs at the first Step()
// (or Run()); the rows stay readable until the Query goes away.
class Query {
 public:
  Query(Query&&) noexcept = default;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() = default;

  // Parameters are numbered from 1, as in SQL ("$1").
  void BindText(int index, std::string_view text);
  void BindBlob(int index, std::string_view bytes);  // bytea, sent as binary
  void BindInt(int index, std::int64_t value);
  void BindNull(int index);

  // Advances to the next row: true when a row is available, false when there are no more.
  [[nodiscard]] Expected<bool> Step();
  // Runs a statement, ignoring any rows.
  [[nodiscard]] Expected<void> Run();

  // Column accessors for the current row; NULL reads as "" or 0.
  [[nodiscard]] std::string Text(int column) const;
  [[nodiscard]] std::string Blob(int column) const;
  [[nodiscard]] std::int64_t Int(int column) const;
  [[nodiscard]] bool IsNull(int column) const;
  // Rows the statement inserted, updated or deleted (after Run or the first Step).
  [[nodiscard]] std::int64_t Changes() const;

 private:
  friend class Connection;
  Query(Connection* connection, std::string name)
      : connection_(connection), name_(std::move(name)) {}
  void Set(int index, std::optional<std::string> value, bool binary);
  [[nodiscard]] Expected<void> Execute();

  Connection* connection_;
  std::string name_;  // of the prepared statement
  std::vector<std::optional<std::string>> values_;
  std::vector<int> binary_;
  Result result_;
  int row_ = -1;  // the current row; -1 before the first Step
  bool executed_ = false;
};

class Connection {
 public:
  // Connects with a libpq connection string or URI ("postgresql://user@host:5432/db?...").
  // Unless the URI says otherwise, gives up connecting after 10 seconds.
  [[nodiscard]] static Expected<std::unique_ptr<Connection>> Open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement, prepared once per connection and reused.
  [[nodiscard]] Expected<Query> Prepare(std::string_view sql);
  // Runs SQL text that may hold several statements and takes no parameters (migrations,
  // transaction control).
  [[nodiscard]] Expected<void> Exec(std::string_view sql);

  // Rows changed by the last statement run on this connection.
  [[nodiscard]] std::int64_t Changes() const { return changes_; }
  [[nodiscard]] bool InTransaction() const;
  // Whether the connection to the server still stands (a pool drops broken ones).
  [[nodiscard]] bool Healthy() const;
  // Like Healthy, and false too when the server sent anything while the connection was idle:
  // the store listens for nothing, so that can only be the server closing it (a restart, a
  // terminated backend). For a pool handing out a kept connection.
  [[nodiscard]] bool StillOpen();
  // The SQLSTATE of the last error on this connection ("" for none since ClearSqlState).
  [[nodiscard]] const std::string& LastSqlState() const { return last_sqlstate_; }
  void ClearSqlState() { last_sqlstate_.clear(); }
  // Whether the last error only means "run the transaction again": a serialization failure
  // or a deadlock, which PostgreSQL resolves by failing one of the transactions.
  [[nodiscard]] bool LastErrorIsRetryable() const;

  // Whether the last transaction got as far as sending COMMIT: when the connection broke
  // after that, the transaction may have been committed, and running it again could do it twice.
  [[nodiscard]] bool CommitSent() const { return commit_sent_; }

  // The error of a failed result, mapped to the project's codes; remembers its SQLSTATE.
  [[nodiscard]] Error ErrorFor(const pg_result* result, std::string_view doing);
  [[nodiscard]] pg_conn* raw() { return conn_; }

 private:
  friend class Query;
  friend class Transaction;
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name
  std::int64_t changes_ = 0;
  std::string last_sqlstate_;
  bool commit_sent_ = false;
};

// BEGIN ... ; rolled back when destroyed without Commit(). Writes run SERIALIZABLE, so that
// concurrent transactions (of this server or another) behave as if run one after another, as
// SQLite's single writer does; reads see one consistent snapshot (REPEATABLE READ, READ ONLY).
// kStatement runs no BEGIN: one statement, which PostgreSQL runs as its own transaction (one
// round trip instead of three).
class Transaction {
 public:
  enum class Mode { kRead, kWrite, kStatement };
  [[nodiscard]] static Expected<Transaction> Begin(Connection& connection, Mode mode);
  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)), single_(other.single_) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  [[nodiscard]] Expected<void> Commit();

 private:
  Transaction(Connection* connection, bool single) : connection_(connection), single_(single) {}
  Connection* connection_;
  bool single_;  // Mode::kStatement: nothing to commit
};

}  // namespace uh::server::pg
