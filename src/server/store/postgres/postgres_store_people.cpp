// PostgresStore: users, tokens and the audit log (an append-only hash chain).
//
// Every Write lambda may run more than once (pool.hpp): it builds its result from what it
// reads and writes in that attempt and changes nothing outside the database.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/words.hpp"
#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/pool.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/postgres/queries_catalog.hpp"
#include "server/store/postgres/store_helpers.hpp"

namespace uh::server {

using pg::Connection;
using pg::Query;

namespace {

// Columns UH_PG_USER_COLUMNS.
User ReadUser(const Query& row) {
  User user;
  user.id = row.Int(0);
  user.name = row.Text(1);
  user.password_hash = row.Text(2);
  user.role = row.Text(3);
  user.products = SplitWords(row.Text(4));
  user.created_at = row.Text(5);
  return user;
}

// Columns UH_PG_TOKEN_COLUMNS.
Token ReadToken(const Query& row) {
  return {row.Text(0), row.Int(1),  row.Text(2), row.Text(3),
          row.Text(4), row.Text(5), row.Text(6), row.Text(7)};
}

// Columns UH_PG_AUDIT_COLUMNS.
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

Expected<User> PostgresStore::CreateUser(const User& user) {
  User stored = user;
  stored.created_at = pg::OrNow(user.created_at);
  return pool_->Write("creating user", [&](Connection& db) -> Expected<User> {
    auto insert = db.Prepare(pg::sql::kInsertUser);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.name);
    insert->BindText(2, stored.password_hash);
    insert->BindInt(3, stored.IsAdmin() ? 1 : 0);
    insert->BindText(4, stored.role);
    insert->BindText(5, JoinWords(stored.products));
    insert->BindText(6, stored.created_at);
    auto id = pg::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    User created = stored;
    created.id = *id;
    return created;
  });
}

Expected<std::optional<User>> PostgresStore::FindUser(const std::string& name) {
  return pool_->Read("finding user", [&](Connection& db) -> Expected<std::optional<User>> {
    auto select = db.Prepare(pg::sql::kFindUser);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, name);
    return pg::OptionalRow(*select, ReadUser);
  });
}

Expected<std::size_t> PostgresStore::CountUsers() {
  return pool_->Read("counting users", [&](Connection& db) -> Expected<std::size_t> {
    auto select = db.Prepare(pg::sql::kCountUsers);
    if (!select) return std::unexpected(std::move(select.error()));
    auto count = pg::OptionalRow(*select, [](const Query& row) { return row.Int(0); });
    if (!count) return std::unexpected(std::move(count.error()));
    return static_cast<std::size_t>(std::max<std::int64_t>(count->value_or(0), 0));
  });
}

Expected<std::optional<User>> PostgresStore::GetUser(std::int64_t id) {
  return pool_->Read("reading user", [&](Connection& db) -> Expected<std::optional<User>> {
    auto select = db.Prepare(pg::sql::kSelectUser);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return pg::OptionalRow(*select, ReadUser);
  });
}

Expected<std::vector<User>> PostgresStore::ListUsers() {
  return pool_->Read("listing users", [&](Connection& db) -> Expected<std::vector<User>> {
    auto select = db.Prepare(pg::sql::kListUsers);
    if (!select) return std::unexpected(std::move(select.error()));
    return pg::AllRows(*select, ReadUser);
  });
}

Expected<bool> PostgresStore::SetUserPassword(std::int64_t id, const std::string& password_hash) {
  return pool_->Write("changing password", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kSetUserPassword);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, password_hash);
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<bool> PostgresStore::SetUserRole(std::int64_t id, const std::string& role,
                                          const std::vector<std::string>& products) {
  return pool_->Write("changing role", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(pg::sql::kSetUserRole);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, role);
    update->BindInt(3, role == "admin" ? 1 : 0);  // the old column, kept for older readers
    update->BindText(4, JoinWords(products));
    UH_TRY(update->Run());
    return update->Changes() > 0;
  });
}

Expected<bool> PostgresStore::DeleteUser(std::int64_t id) {
  return pool_->Write("deleting user", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(pg::sql::kDeleteUser);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, id);
    UH_TRY(remove->Run());
    return remove->Changes() > 0;
  });
}

Expected<void> PostgresStore::DeleteUserTokens(std::int64_t user_id) {
  return pool_->Write("revoking tokens", [&](Connection& db) -> Expected<void> {
    auto remove = db.Prepare(pg::sql::kDeleteUserTokens);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, user_id);
    return remove->Run();
  });
}

Expected<void> PostgresStore::InsertToken(const Token& token) {
  const std::string created_at = pg::OrNow(token.created_at);
  return pool_->Write("storing token", [&](Connection& db) -> Expected<void> {
    auto insert = db.Prepare(pg::sql::kInsertToken);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, token.token_hash);
    insert->BindInt(2, token.user_id);
    insert->BindText(3, token.kind);
    insert->BindText(4, token.name);
    insert->BindText(5, token.expires_at);
    insert->BindText(6, created_at);
    insert->BindText(7, token.scopes);
    insert->BindText(8, token.last_used_at);
    return insert->Run();
  });
}

Expected<std::optional<Token>> PostgresStore::FindToken(const std::string& token_hash,
                                                        const std::string& now) {
  return pool_->Read("finding token", [&](Connection& db) -> Expected<std::optional<Token>> {
    auto select = db.Prepare(pg::sql::kFindToken);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, token_hash);
    select->BindText(2, pg::OrNow(now));  // never "" (which every expiry is after)
    return pg::OptionalRow(*select, ReadToken);
  });
}

Expected<bool> PostgresStore::DeleteToken(const std::string& token_hash) {
  return pool_->Write("deleting token", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(pg::sql::kDeleteToken);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindText(1, token_hash);
    UH_TRY(remove->Run());
    return remove->Changes() > 0;
  });
}

Expected<std::vector<Token>> PostgresStore::ListTokens(std::int64_t user_id) {
  return pool_->Read("listing tokens", [&](Connection& db) -> Expected<std::vector<Token>> {
    auto select = db.Prepare(pg::sql::kListTokens);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, user_id);
    return pg::AllRows(*select, ReadToken);
  });
}

Expected<void> PostgresStore::TouchToken(const std::string& token_hash, const std::string& at) {
  return pool_->Write("recording token use", [&](Connection& db) -> Expected<void> {
    auto update = db.Prepare(pg::sql::kTouchToken);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, token_hash);
    update->BindText(2, at);
    return update->Run();
  });
}

Expected<AuditEntry> PostgresStore::AppendAudit(const AuditEntry& entry) {
  const std::string at = pg::OrNow(entry.at);
  // The last row is read inside the write transaction: when another server appends at the same
  // time, PostgreSQL fails one of the two and the pool runs it again, reading the other's row.
  return pool_->Write("appending to the audit log", [&](Connection& db) -> Expected<AuditEntry> {
    AuditEntry stored = entry;
    stored.at = at;
    auto last = db.Prepare(pg::sql::kLastAudit);
    if (!last) return std::unexpected(std::move(last.error()));
    auto row = last->Step();
    if (!row) return std::unexpected(std::move(row.error()));
    stored.id = *row ? last->Int(0) + 1 : 1;
    stored.prev_hash = *row ? last->Text(1) : std::string();
    stored.hash = AuditEntryHash(stored);
    auto insert = db.Prepare(pg::sql::kInsertAudit);
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

Expected<std::vector<AuditEntry>> PostgresStore::FindAudit(const AuditFilter& filter) {
  namespace q = pg::sql;
  const std::size_t limit = std::min(filter.limit, pg::kMaxPageSize);
  if (limit == 0) return std::vector<AuditEntry>{};
  // Only the conditions given, so that each statement can use its index (audit_by_actor,
  // audit_by_action, the primary key).
  pg::SqlBuilder fragments(q::kFindAuditHead);
  if (filter.before_id != 0) fragments.Append(q::kFindAuditBefore);
  if (filter.actor) {
    fragments.Append(filter.actor->size() <= q::kMaxIndexedActorBytes ? q::kFindAuditByActor
                                                                      : q::kFindAuditByLongActor);
  }
  if (filter.action) fragments.Append(q::kFindAuditByAction);
  if (filter.since) fragments.Append(q::kFindAuditSince);
  if (filter.until) fragments.Append(q::kFindAuditUntil);
  fragments.Append(q::kFindAuditTail);
  const std::string sql = fragments.sql();
  return pool_->Read("listing the audit log",
                     [&](Connection& db) -> Expected<std::vector<AuditEntry>> {
                       auto select = db.Prepare(sql);
                       if (!select) return std::unexpected(std::move(select.error()));
                       int index = 0;
                       if (filter.before_id != 0) select->BindInt(++index, filter.before_id);
                       if (filter.actor) select->BindText(++index, *filter.actor);
                       if (filter.action) select->BindText(++index, *filter.action);
                       if (filter.since) select->BindText(++index, *filter.since);
                       if (filter.until) select->BindText(++index, *filter.until);
                       select->BindInt(++index, pg::ToStoredCount(limit));
                       return pg::AllRows(*select, ReadAuditEntry);
                     });
}

Expected<std::vector<AuditEntry>> PostgresStore::ListAuditAfter(std::int64_t after_id,
                                                                std::size_t limit) {
  return pool_->Read("reading the audit log",
                     [&](Connection& db) -> Expected<std::vector<AuditEntry>> {
                       auto select = db.Prepare(pg::sql::kListAuditAfter);
                       if (!select) return std::unexpected(std::move(select.error()));
                       select->BindInt(1, after_id);
                       select->BindInt(2, pg::ToStoredCount(std::min(limit, pg::kMaxPageSize)));
                       return pg::AllRows(*select, ReadAuditEntry);
                     });
}

}  // namespace uh::server
