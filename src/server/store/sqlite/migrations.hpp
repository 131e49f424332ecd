#pragma once

// Versioned schema migrations: the files in migrations/sqlite/NNNN_name.sql, embedded in the
// binary at build time. Each is applied once, in its own transaction, and recorded in
// schema_migrations; a database that has a version this binary does not know is refused.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "server/store/sqlite/connection.hpp"

namespace uh::server::sqlite {

struct Migration {
  std::int64_t version;
  std::string_view name;  // the file name, for messages
  std::string_view sql;
};

// The migrations built into this binary, in increasing version order.
[[nodiscard]] std::span<const Migration> EmbeddedMigrations();

// Applies the migrations the database lacks. Safe against another process migrating the same
// file at the same time: each version is checked again under the write lock.
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

// Reads the schema's status without changing anything (no schema_migrations table: a new
// database, everything pending).
[[nodiscard]] Expected<SchemaStatus> ReadSchemaStatus(Connection& connection,
                                                      std::span<const Migration> migrations);
// The same for the database file at `path`, opened read-only; a file that does not exist is a
// new database (and is not created).
[[nodiscard]] Expected<SchemaStatus> ReadSchemaStatus(const std::filesystem::path& path,
                                                      std::span<const Migration> migrations);

}  // namespace uh::server::sqlite
