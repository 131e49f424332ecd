// SqliteStore: the audit log, an append-only hash chain.

#include <algorithm>
#include <string>
#include <vector>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

namespace {

// Columns of the audit statements (UH_AUDIT_COLUMNS in queries.hpp).
AuditEntry ReadAuditEntry(const Query& row) {
  AuditEntry entry;
  entry.id = row.Int(0);
  entry.at = row.Text(1);
  entry.actor = row.Text(2);
  entry.user_id = row.Int(3);
  entry.token = row.Text(4);
  entry.address = row.Text(5);
  entry.action = row.Text(6);
  entry.target = row.Text(7);
  entry.status = static_cast<int>(row.Int(8));
  entry.detail = row.Text(9);
  entry.prev_hash = row.Text(10);
  entry.hash = row.Text(11);
  return entry;
}

}  // namespace

Expected<AuditEntry> SqliteStore::AppendAudit(const AuditEntry& entry) {
  AuditEntry stored = entry;
  stored.at = sqlite::OrNow(entry.at);
  return pool_->Write("appending to the audit log", [&](Connection& db) -> Expected<AuditEntry> {
    auto last = db.Prepare(sqlite::sql::kLastAudit);
    if (!last) return std::unexpected(std::move(last.error()));
    auto row = last->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    stored.id = *row ? last->Int(0) + 1 : 1;
    stored.prev_hash = *row ? last->Text(1) : std::string();
    stored.hash = AuditEntryHash(stored);
    auto insert = db.Prepare(sqlite::sql::kInsertAudit);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindInt(1, stored.id);
    insert->BindText(2, stored.at);
    insert->BindText(3, stored.actor);
    insert->BindInt(4, stored.user_id);
    insert->BindText(5, stored.token);
    insert->BindText(6, stored.address);
    insert->BindText(7, stored.action);
    insert->BindText(8, stored.target);
    insert->BindInt(9, stored.status);
    insert->BindText(10, stored.detail);
    insert->BindText(11, stored.prev_hash);
    insert->BindText(12, stored.hash);
    UH_TRY(insert->Run());
    return stored;
  });
}

Expected<std::vector<AuditEntry>> SqliteStore::FindAudit(const AuditFilter& filter) {
  const std::size_t limit = std::min(filter.limit, sqlite::kMaxPageSize);
  if (limit == 0) return std::vector<AuditEntry>{};
  std::string sql(sqlite::sql::kFindAuditHead);
  if (filter.actor) sql += sqlite::sql::kFindAuditByActor;
  if (filter.action) sql += sqlite::sql::kFindAuditByAction;
  if (filter.since) sql += sqlite::sql::kFindAuditSince;
  if (filter.until) sql += sqlite::sql::kFindAuditUntil;
  sql += sqlite::sql::kFindAuditTail;
  return pool_->Read("listing the audit log",
                     [&](Connection& db) -> Expected<std::vector<AuditEntry>> {
                       auto select = db.Prepare(sql);
                       if (!select) return std::unexpected(std::move(select.error()));
                       int index = 0;
                       select->BindInt(++index, filter.before_id);
                       if (filter.actor) select->BindText(++index, *filter.actor);
                       if (filter.action) select->BindText(++index, *filter.action);
                       if (filter.since) select->BindText(++index, *filter.since);
                       if (filter.until) select->BindText(++index, *filter.until);
                       select->BindInt(++index, sqlite::ToStoredCount(limit));
                       return sqlite::AllRows(*select, ReadAuditEntry);
                     });
}

Expected<std::vector<AuditEntry>> SqliteStore::ListAuditAfter(std::int64_t after_id,
                                                              std::size_t limit) {
  return pool_->Read(
      "reading the audit log", [&](Connection& db) -> Expected<std::vector<AuditEntry>> {
        auto select = db.Prepare(sqlite::sql::kListAuditAfter);
        if (!select) return std::unexpected(std::move(select.error()));
        select->BindInt(1, after_id);
        select->BindInt(2, sqlite::ToStoredCount(std::min(limit, sqlite::kMaxPageSize)));
        return sqlite::AllRows(*select, ReadAuditEntry);
      });
}

}  // namespace uh::server
