#pragma once

// Versioned schema migrations of the PostgreSQL store: the files in
// migrations/postgresql/NNNN_name.sql, with the same versions as SQLite's (a version means the
// same schema in both), embedded in the binary at build time. Each is applied once, in its own
// transaction, and recorded in schema_migrations; a database that has a version this binary
// does not know is refused. Servers starting together take turns: the whole run holds a
// session advisory lock.

#include <cstdint>
#include <span>
#include <string_view>

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

// The advisory lock key migrations hold ("uh-migr" in ASCII).
inline constexpr std::int64_t kMigrationLock = 0x75682d6d696772;

}  // namespace uh::server::pg
