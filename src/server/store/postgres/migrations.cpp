#include "server/store/postgres/migrations.hpp"

#include <set>
#include <string>

#include "core/time.hpp"

namespace uh::server::pg {
namespace {

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY NOT NULL,"
    " applied_at TEXT NOT NULL)";
constexpr std::string_view kSelectVersion = "SELECT 1 FROM schema_migrations WHERE version = $1";
constexpr std::string_view kSelectUnknownVersion =
    "SELECT version FROM schema_migrations WHERE version > $1 ORDER BY version DESC LIMIT 1";
constexpr std::string_view kInsertVersion =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)";
// The table as CREATE TABLE IF NOT EXISTS finds it: through the search path.
constexpr std::string_view kHasMigrationsTable =
    "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE 1 END";
constexpr std::string_view kSelectAppliedVersions =
    "SELECT version FROM schema_migrations ORDER BY version";

Expected<bool> IsApplied(Connection& connection, std::int64_t version) {
  auto query = connection.Prepare(kSelectVersion);
  if (!query) return std::unexpected(std::move(query.error()));
  query->BindInt(1, version);
  return query->Step();
}

// Fails when the database was migrated by a newer binary: running old code on a schema it
// does not know could corrupt data.
Expected<void> RefuseNewerSchema(Connection& connection, std::int64_t newest_known) {
  auto query = connection.Prepare(kSelectUnknownVersion);
  if (!query) return std::unexpected(std::move(query.error()));
  query->BindInt(1, newest_known);
  auto row = query->Step();
  if (!row) return std::unexpected(std::move(row.error()));
  if (!*row) return {};
  return Fail(Errc::kUnsupported, "database schema version " + std::to_string(query->Int(0)) +
                                      " is newer than this server supports (" +
                                      std::to_string(newest_known) + "); upgrade the server");
}

Expected<void> CheckOrder(std::span<const Migration> migrations) {
  std::int64_t previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return Fail(Errc::kInternal,
                  "migration " + std::string(migration.name) + " is out of version order");
    }
    previous = migration.version;
  }
  return {};
}

Expected<void> Apply(Connection& connection, const Migration& migration) {
  // READ COMMITTED: a migration is DDL and data fix-ups run while no other server migrates
  // (the advisory lock), so it needs no serializable snapshot.
  UH_TRY(connection.Exec("BEGIN"));
  auto rollback = [&] { (void)connection.Exec("ROLLBACK"); };
  auto applied = IsApplied(connection, migration.version);
  if (!applied) {
    rollback();
    return std::unexpected(std::move(applied.error()));
  }
  if (*applied) {
    rollback();
    return {};
  }
  if (auto done = connection.Exec(migration.sql); !done) {
    rollback();
    return done;
  }
  auto insert = connection.Prepare(kInsertVersion);
  if (!insert) {
    rollback();
    return std::unexpected(std::move(insert.error()));
  }
  insert->BindInt(1, migration.version);
  insert->BindText(2, FormatTime(std::chrono::system_clock::now()));
  if (auto done = insert->Run(); !done) {
    rollback();
    return done;
  }
  return connection.Exec("COMMIT");
}

Expected<void> ApplyLocked(Connection& connection, std::span<const Migration> migrations) {
  UH_TRY_CTX(connection.Exec(kCreateMigrationsTable), "creating schema_migrations");
  UH_TRY(RefuseNewerSchema(connection, LatestVersion(migrations)));
  for (const Migration& migration : migrations) {
    auto applied = IsApplied(connection, migration.version);
    if (!applied) return std::unexpected(std::move(applied.error()));
    if (*applied) continue;
    UH_TRY_CTX(Apply(connection, migration), "applying migration " + std::string(migration.name));
  }
  return {};
}

}  // namespace

Expected<void> ApplyMigrations(Connection& connection, std::span<const Migration> migrations) {
  UH_TRY(CheckOrder(migrations));
  // Servers starting together wait here for the first one's migrations, then find them done.
  UH_TRY_CTX(connection.Exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"),
             "waiting for other servers' migrations");
  auto result = ApplyLocked(connection, migrations);
  (void)connection.Exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
  return result;
}

std::int64_t LatestVersion(std::span<const Migration> migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

Expected<SchemaStatus> ReadSchemaStatus(Connection& connection,
                                        std::span<const Migration> migrations) {
  UH_TRY(CheckOrder(migrations));
  SchemaStatus status;
  status.latest = LatestVersion(migrations);
  std::set<std::int64_t> applied;
  auto table = connection.Prepare(kHasMigrationsTable);
  if (!table) return std::unexpected(std::move(table.error()));
  auto found = table->Step();
  if (!found) return std::unexpected(std::move(found.error()));
  if (*found && table->Int(0) == 1) {
    auto versions = connection.Prepare(kSelectAppliedVersions);
    if (!versions) return std::unexpected(std::move(versions.error()));
    for (;;) {
      auto row = versions->Step();
      if (!row) return std::unexpected(std::move(row.error()));
      if (!*row) break;
      applied.insert(versions->Int(0));
    }
  }
  if (!applied.empty()) status.version = *applied.rbegin();
  for (const Migration& migration : migrations) {
    if (!applied.contains(migration.version)) status.pending.push_back(migration.version);
  }
  return status;
}

Expected<SchemaStatus> ReadSchemaStatus(const std::string& url,
                                        std::span<const Migration> migrations) {
  auto connection = Connection::Open(url);
  if (!connection) return std::unexpected(std::move(connection.error()));
  return ReadSchemaStatus(**connection, migrations);
}

}  // namespace uh::server::pg
