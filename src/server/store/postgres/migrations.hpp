#pragma once

// Versioned schema migrations of the PostgreSQL store: the files in
// migrations/postgresql/NNNN_name.sql, with the same versions as SQLite's (a version means the
// same schema in both), embedded in the binary at build time. Each is applied once, in its own
// transaction, and recorded in schema_migrations; a database that has a version this binary
// does not know is refused. Servers starting together take turns: the whole run holds a
// session advisory lock.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "server/store/postgres/connection.hpp"

namespace uh::server::pg {

struct Migration {
  std::int64_t version;
  std::string_view name;  // the file name, for messages
  std::string_view sql;
};

// The migrations built into this binary, in increasing version order.
[[nodiscard]] std::span<const Migration> EmbeddedMigrations();

// Applies the migrations the database lacks, under pg_advisory_lock(kMigrationLock).
[[nodiscard]] Expected<void> ApplyMigrations(Connection& connection,
                                             std::span<const Migration> migrations);

// The newest version of `migrations` (0: none).
[[nodiscard]] std::int64_t LatestVersion(std::span<const Migration> migrations);

// Where a database's schema stands against the migrations of this binary.
struct SchemaStatus {
  std::int64_t version = 0;           // the newest applied (0: a new database)
  std::int64_t latest = 0;            // the newest this binary knows
  std::vector<std::int64_t> pending;  // known versions not applied yet, in order
  // Migrated by a newer binary: ApplyMigrations refuses it.
  [[nodiscard]] bool Newer() const { return version > latest; }
};

// Reads the schema's status without changing anything and without the advisory lock (no
// schema_migrations table: a new database, everything pending). What another server is
// applying at that moment may or may not be seen.
[[nodiscard]] Expected<SchemaStatus> ReadSchemaStatus(Connection& connection,
                                                      std::span<const Migration> migrations);
// The same on a connection of its own to `url`.
[[nodiscard]] Expected<SchemaStatus> ReadSchemaStatus(const std::string& url,
                                                      std::span<const Migration> migrations);

// The advisory lock key migrations hold ("uh-migr" in ASCII).
inline constexpr std::int64_t kMigrationLock = 0x75682d6d696772;

}  // namespace uh::server::pg
