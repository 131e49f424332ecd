#pragma once

// Versioned schema migrations: the files in migrations/sqlite/NNNN_name.sql, embedded in the
// binary at build time. Each is applied once, in its own transaction, and recorded in
// schema_migrations; a database that has a version this binary does not know is refused.

#include <cstdint>
#include <span>
#include <string_view>

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

}  // namespace uh::server::sqlite
