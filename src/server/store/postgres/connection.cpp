#include "server/store/postgres/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <limits>

namespace uh::server::pg {
namespace {

// Maps an SQLSTATE to the project's error codes: the caller's mistakes (duplicates, dangling
// references, failed checks) apart from everything else, which is I/O.
Errc CodeFor(std::string_view state) {
  if (state == "23505") return Errc::kAlreadyExists;  // unique_violation
  if (state == "53100") return Errc::kNoSpace;        // disk_full
  if (state == "54000" || state == "54001") return Errc::kTooLarge;
  if (state.starts_with("23")) return Errc::kInvalidArgument;  // other integrity violations
  if (state == "P0001") return Errc::kInvalidArgument;         // RAISE in a trigger
  if (state == "57014") return Errc::kTimeout;                 // query_canceled
  return Errc::kIo;
}

// A failed constraint is the caller's mistake and reaches API answers: it is told in words of
// its own, without the schema's names (tables, columns, constraints), which go to the log.
std::optional<std::string_view> ConstraintText(std::string_view state) {
  if (state == "23505") return "a record with the same key already exists";
  if (state == "23503") {
    return "it refers to a record that does not exist, or is referred to by another";
  }
  if (state == "23502") return "a required value is missing";
  if (state == "23514") return "a value is not one of those allowed";
  if (state == "P0001") return "the record may not be changed";
  if (state.starts_with("23")) return "a constraint of the store was violated";
  return std::nullopt;
}

std::string Trimmed(const char* text) {
  std::string message = text != nullptr ? text : "";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void ResultDeleter::operator()(pg_result* result) const { PQclear(result); }

// --- Query ---------------------------------------------------------------------------------

void Query::Set(int index, std::optional<std::string> value, bool binary) {
  if (index < 1 || index > 1000) return;  // a programming error: the server reports the gap
  const auto slot = static_cast<std::size_t>(index - 1);
  if (values_.size() <= slot) {
    values_.resize(slot + 1);
    binary_.resize(slot + 1, 0);
  }
  values_[slot] = std::move(value);
  binary_[slot] = binary ? 1 : 0;
}

void Query::BindText(int index, std::string_view text) { Set(index, std::string(text), false); }

void Query::BindBlob(int index, std::string_view bytes) { Set(index, std::string(bytes), true); }

void Query::BindInt(int index, std::int64_t value) { Set(index, std::to_string(value), false); }

void Query::BindNull(int index) { Set(index, std::nullopt, false); }

Expected<void> Query::Execute() {
  executed_ = true;
  std::vector<const char*> values(values_.size());
  std::vector<int> lengths(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (!values_[i]) continue;
    if (values_[i]->size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Fail(Errc::kTooLarge, "postgresql: parameter too large");
    }
    values[i] = values_[i]->c_str();
    lengths[i] = static_cast<int>(values_[i]->size());
  }
  result_.reset(PQexecPrepared(connection_->conn_, name_.c_str(), static_cast<int>(values.size()),
                               values.data(), lengths.data(), binary_.data(), 0));
  const ExecStatusType status = PQresultStatus(result_.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return std::unexpected(connection_->ErrorFor(result_.get(), "running a statement"));
  }
  const char* tuples = PQcmdTuples(result_.get());
  connection_->changes_ = tuples != nullptr && *tuples != '\0' ? std::atoll(tuples) : 0;
  return {};
}

Expected<bool> Query::Step() {
  if (!executed_) UH_TRY(Execute());
  if (!result_) return false;
  ++row_;
  return row_ < PQntuples(result_.get());
}

Expected<void> Query::Run() {
  if (!executed_) return Execute();
  return {};
}

bool Query::IsNull(int column) const {
  return result_ == nullptr || row_ < 0 || PQgetisnull(result_.get(), row_, column) != 0;
}

std::string Query::Text(int column) const {
  if (IsNull(column)) return {};
  return std::string(PQgetvalue(result_.get(), row_, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row_, column)));
}

std::string Query::Blob(int column) const {
  const std::string text = Text(column);
  // bytea's text form is "\x" and two hex digits a byte (bytea_output = hex, set at connect).
  if (!text.starts_with("\\x")) return text;
  std::string bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
    const int high = HexValue(text[i]);
    const int low = HexValue(text[i + 1]);
    if (high < 0 || low < 0) break;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

std::int64_t Query::Int(int column) const {
  if (IsNull(column)) return 0;
  const char* text = PQgetvalue(result_.get(), row_, column);
  if (text[0] == 't') return 1;  // boolean
  if (text[0] == 'f') return 0;
  return std::strtoll(text, nullptr, 10);
}

std::int64_t Query::Changes() const { return connection_->changes_; }

// --- Connection ----------------------------------------------------------------------------

Expected<std::unique_ptr<Connection>> Connection::Open(const std::string& url) {
  // Defaults first: what the URL says wins (expand_dbname applies its settings in order).
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "updatehub-server", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return Fail(Errc::kIo, "postgresql: out of memory connecting");
  std::unique_ptr<Connection> connection(new Connection(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    return Fail(Errc::kIo, "postgresql: connecting: " + Trimmed(PQerrorMessage(conn)));
  }
  // Times are text and comparisons byte-wise in the schema; these make the session's own
  // formats fixed whatever the server's configuration says.
  UH_TRY(connection->Exec(
      "SET client_encoding = 'UTF8'; SET bytea_output = 'hex'; SET TIME ZONE 'UTC';"
      " SET client_min_messages = 'warning'"));
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

Expected<Query> Connection::Prepare(std::string_view sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "uh" + std::to_string(prepared_.size() + 1);
    const std::string text(sql);
    Result result(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return std::unexpected(ErrorFor(result.get(), "preparing a statement"));
    }
    it = prepared_.emplace(text, std::move(name)).first;
  }
  return Query(this, it->second);
}

Expected<void> Connection::Exec(std::string_view sql) {
  const std::string text(sql);
  Result result(PQexec(conn_, text.c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ErrorFor(result.get(), "running SQL"));
  }
  return {};
}

bool Connection::InTransaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

bool Connection::Healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

bool Connection::StillOpen() {
  if (!Healthy()) return false;
  pollfd idle{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  return idle.fd >= 0 && ::poll(&idle, 1, 0) == 0;
}

bool Connection::LastErrorIsRetryable() const {
  return last_sqlstate_ == "40001" || last_sqlstate_ == "40P01";
}

Error Connection::ErrorFor(const pg_result* result, std::string_view doing) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string message = Trimmed(result != nullptr ? PQresultErrorMessage(result) : "");
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  if (const auto text = ConstraintText(last_sqlstate_)) {
    spdlog::debug("postgresql: {}", message);
    return Error(CodeFor(last_sqlstate_), std::string(*text));
  }
  if (last_sqlstate_.empty() && !Healthy()) {
    return Error(Errc::kIo, "postgresql: the connection to the database was lost: " + message);
  }
  return Error(CodeFor(last_sqlstate_), "postgresql: " + std::string(doing) + ": " + message);
}

// --- Transaction ---------------------------------------------------------------------------

Expected<Transaction> Transaction::Begin(Connection& connection, Mode mode) {
  connection.commit_sent_ = false;
  if (mode == Mode::kStatement) return Transaction(&connection, true);
  UH_TRY(connection.Exec(mode == Mode::kWrite
                             ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                             : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  return Transaction(&connection, false);
}

Transaction::~Transaction() {
  if (connection_ != nullptr && connection_->InTransaction()) {
    (void)connection_->Exec("ROLLBACK");
  }
}

Expected<void> Transaction::Commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  if (connection == nullptr) return Fail(Errc::kInternal, "postgresql: transaction already ended");
  if (single_) return {};
  // COMMIT of a transaction a failed statement aborted "succeeds" as a ROLLBACK: that a caller
  // went on after such a failure must not pass for a stored write.
  if (PQtransactionStatus(connection->raw()) == PQTRANS_INERROR) {
    (void)connection->Exec("ROLLBACK");
    return Fail(Errc::kInternal, "postgresql: a statement of the transaction failed");
  }
  connection->commit_sent_ = true;
  if (auto done = connection->Exec("COMMIT"); !done) {
    if (connection->InTransaction()) (void)connection->Exec("ROLLBACK");
    return done;
  }
  return {};
}

}  // namespace uh::server::pg
