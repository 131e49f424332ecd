#pragma once

// `updatehub-server backup DEST`: a consistent copy of a server's data taken while it runs,
// which a server started with `--data-dir DEST` serves as it was. With SQLite, the database
// (SQLite's online backup: one snapshot, writers not held up) and the objects; with PostgreSQL,
// the objects only (the database is pg_dump's job). The backup is built in a hidden directory
// beside DEST and renamed to DEST when whole, so that a cut backup never looks complete.

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "core/error.hpp"
#include "server/config.hpp"

namespace uh::server {

struct BackupSummary {
  bool database = false;  // the SQLite database is in the backup; false: PostgreSQL, not in it
  std::size_t objects = 0;
  std::uint64_t object_bytes = 0;
  std::size_t linked = 0;  // of `objects`, hard links to the data directory's files
};

// Backs up the data of the server configured by `config`, running or stopped, into `dest`,
// which must not exist or be an empty directory outside the data directory. Every object is
// checked against its sha256 on the way, and every object the database refers to must be in
// the backup. On error nothing is left at `dest` (an empty `dest` stays empty).
[[nodiscard]] Expected<BackupSummary> Backup(const ServerConfig& config,
                                             const std::filesystem::path& dest);

}  // namespace uh::server
