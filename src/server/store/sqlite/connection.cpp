#include "server/store/sqlite/connection.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

namespace uh::server::sqlite {
namespace {

// Maps an SQLite result code to the project's error codes: the caller's mistakes (duplicates,
// dangling references, failed checks) apart from everything else, which is I/O.
Errc CodeFor(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return Errc::kAlreadyExists;
    case SQLITE_FULL:
      return Errc::kNoSpace;
    case SQLITE_TOOBIG:
      return Errc::kTooLarge;
    default:
      break;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Errc::kInvalidArgument;
  return Errc::kIo;
}

// A failed constraint is the caller's mistake and reaches API answers: it is told in words
// of its own, without the schema's names (tables, columns, triggers), which go to the log.
std::optional<std::string_view> ConstraintText(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return "a record with the same key already exists";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return "it refers to a record that does not exist, or is referred to by another";
    case SQLITE_CONSTRAINT_NOTNULL:
      return "a required value is missing";
    case SQLITE_CONSTRAINT_CHECK:
      return "a value is not one of those allowed";
    case SQLITE_CONSTRAINT_TRIGGER:
      return "the record may not be changed";
    default:
      break;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return "a constraint of the store was violated";
  return std::nullopt;
}

Error ErrorWithMessage(int rc, std::string_view message) {
  if (const auto text = ConstraintText(rc)) {
    spdlog::debug("sqlite: {}", message);
    return Error(CodeFor(rc), std::string(*text));
  }
  return Error(CodeFor(rc), "sqlite: " + std::string(message));
}

// The store shares connections across threads and uses UPSERT and RETURNING (3.35).
Expected<void> CheckLibrary() {
  if (sqlite3_threadsafe() == 0) {
    return Fail(Errc::kUnsupported, "sqlite: the library was built without thread support");
  }
  if (sqlite3_libversion_number() < 3035000) {
    return Fail(Errc::kUnsupported, "sqlite: version " + std::string(sqlite3_libversion()) +
                                        " is too old; 3.35 or newer is needed");
  }
  return {};
}

}  // namespace

Query::Query(Query&& other) noexcept
    : connection_(other.connection_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      owned_(other.owned_),
      bind_rc_(other.bind_rc_) {}

Query::~Query() {
  if (stmt_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) *in_use_ = false;
}

void Query::NoteBind(int rc) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

// Values are copied (SQLITE_TRANSIENT) so a temporary argument cannot dangle. An empty view
// may have a null data pointer, which SQLite would bind as NULL: bind "" instead.
void Query::BindText(int index, std::string_view text) {
  const char* data = text.data() != nullptr ? text.data() : "";
  NoteBind(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Query::BindBlob(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  NoteBind(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT));
}

void Query::BindInt(int index, std::int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
}

void Query::BindNull(int index) { NoteBind(sqlite3_bind_null(stmt_, index)); }

Expected<bool> Query::Step() {
  if (bind_rc_ != SQLITE_OK) return std::unexpected(connection_->ErrorFor(bind_rc_));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(connection_->ErrorFor(rc));
}

Expected<void> Query::Run() {
  while (true) {
    auto row = Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return {};
  }
}

std::string Query::Text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  if (data == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string Query::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, column);
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::int64_t Query::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Query::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

namespace {

// The database holds password and token hashes: readable by its owner only. A new file is
// made 0600 before SQLite opens it (its -wal and -shm files take the database file's mode); an
// existing one is set to 0600.
Expected<void> RestrictToOwner(const std::filesystem::path& path) {
  if (path.empty() || path.native().starts_with(":memory:") || path.native().starts_with("file:")) {
    return {};
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return Fail(Errc::kIo, "sqlite: opening " + path.string() + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0600);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) {
    return Fail(Errc::kIo, "sqlite: chmod 0600 " + path.string() + ": " + std::strerror(saved));
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    ::chmod((path.native() + suffix).c_str(), 0600);  // absent is fine
  }
  return {};
}

}  // namespace

Expected<std::unique_ptr<Connection>> Connection::Open(const std::filesystem::path& path,
                                                       Role role) {
  UH_TRY(CheckLibrary());
  // Each connection is confined to one thread at a time by the pool, so SQLite's own
  // per-connection mutex (serialized mode) is not needed.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (role == Role::kWriter) {
    flags |= SQLITE_OPEN_CREATE;
    UH_TRY(RestrictToOwner(path));
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = ErrorWithMessage(rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return std::unexpected(std::move(error));
  }
  std::unique_ptr<Connection> connection(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (role == Role::kWriter) {
    // journal_mode=WAL persists in the file; readers inherit it.
    auto mode = connection->Prepare("PRAGMA journal_mode=WAL");
    if (!mode) return std::unexpected(std::move(mode.error()));
    auto row = mode->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row || mode->Text(0) != "wal") {
      return Fail(Errc::kUnsupported, "sqlite: cannot switch the database to WAL mode");
    }
  }
  // FULL: the WAL is synced at every commit, so a write reported as done survives power loss.
  UH_TRY(connection->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  if (role == Role::kReader) UH_TRY(connection->Exec("PRAGMA query_only=ON;"));
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  sqlite3_close_v2(db_);
}

Expected<Query> Connection::Prepare(std::string_view sql) {
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Fail(Errc::kTooLarge, "sqlite: statement too long");
  }
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Query(this, it->second.stmt, &it->second.in_use, false);
  }
  sqlite3_stmt* stmt = nullptr;
  // A statement already borrowed (a nested use of the same SQL) gets a private copy.
  const bool cache = it == cache_.end();
  const unsigned flags = cache ? SQLITE_PREPARE_PERSISTENT : 0;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::unexpected(ErrorFor(rc));
  }
  if (stmt == nullptr) return Fail(Errc::kInternal, "sqlite: empty statement");
  if (!cache) return Query(this, stmt, nullptr, true);
  auto [entry, inserted] = cache_.emplace(std::string(sql), CachedStatement{stmt, true});
  return Query(this, stmt, &entry->second.in_use, false);
}

Expected<void> Connection::Exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a terminated string
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  // SQL text (migrations, pragmas) is the operator's: its errors keep SQLite's words.
  Error error(CodeFor(rc),
              "sqlite: " + std::string(message != nullptr ? message : sqlite3_errstr(rc)));
  sqlite3_free(message);
  return std::unexpected(std::move(error));
}

std::int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Error Connection::ErrorFor(int rc) const {
  // sqlite3_errmsg describes the most recent failure on this connection; a bind failure has
  // not been recorded there, so fall back to the generic text of its code.
  const bool recorded = sqlite3_extended_errcode(db_) == rc;
  return ErrorWithMessage(rc, recorded ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
}

Expected<Transaction> Transaction::Begin(Connection& connection, Mode mode) {
  UH_TRY(connection.Exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&connection);
}

Transaction::~Transaction() {
  // Some errors (I/O, out of memory) already rolled the transaction back.
  if (connection_ != nullptr && connection_->InTransaction()) {
    (void)connection_->Exec("ROLLBACK");
  }
}

Expected<void> Transaction::Commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  if (connection == nullptr) return Fail(Errc::kInternal, "sqlite: transaction already ended");
  if (auto done = connection->Exec("COMMIT"); !done) {
    if (connection->InTransaction()) (void)connection->Exec("ROLLBACK");
    return done;
  }
  return {};
}

}  // namespace uh::server::sqlite
