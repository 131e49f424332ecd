// SqliteStore: users and tokens.

#include <algorithm>
#include <string>
#include <vector>

#include "core/words.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/store/sqlite/store_helpers.hpp"

namespace uh::server {

using sqlite::Connection;
using sqlite::Query;

namespace {

// Columns UH_USER_COLUMNS.
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

// Columns UH_TOKEN_COLUMNS.
Token ReadToken(const Query& row) {
  return {row.Text(0), row.Int(1),  row.Text(2), row.Text(3),
          row.Text(4), row.Text(5), row.Text(6), row.Text(7)};
}

}  // namespace

Expected<User> SqliteStore::CreateUser(const User& user) {
  User stored = user;
  stored.created_at = sqlite::OrNow(user.created_at);
  return pool_->Write("creating user", [&](Connection& db) -> Expected<User> {
    auto insert = db.Prepare(sqlite::sql::kInsertUser);
    if (!insert) return std::unexpected(std::move(insert.error()));
    insert->BindText(1, stored.name);
    insert->BindText(2, stored.password_hash);
    insert->BindInt(3, stored.IsAdmin() ? 1 : 0);
    insert->BindText(4, stored.role);
    insert->BindText(5, JoinWords(stored.products));
    insert->BindText(6, stored.created_at);
    auto id = sqlite::ReturnedId(*insert);
    if (!id) return std::unexpected(std::move(id.error()));
    stored.id = *id;
    return stored;
  });
}

Expected<std::optional<User>> SqliteStore::FindUser(const std::string& name) {
  return pool_->Read("finding user", [&](Connection& db) -> Expected<std::optional<User>> {
    auto select = db.Prepare(sqlite::sql::kFindUser);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, name);
    return sqlite::OptionalRow(*select, ReadUser);
  });
}

Expected<std::size_t> SqliteStore::CountUsers() {
  return pool_->Read("counting users", [&](Connection& db) -> Expected<std::size_t> {
    auto select = db.Prepare(sqlite::sql::kCountUsers);
    if (!select) return std::unexpected(std::move(select.error()));
    auto count = sqlite::OptionalRow(*select, [](const Query& row) { return row.Int(0); });
    if (!count) return std::unexpected(std::move(count.error()));
    return static_cast<std::size_t>(std::max<std::int64_t>(count->value_or(0), 0));
  });
}

Expected<std::optional<User>> SqliteStore::GetUser(std::int64_t id) {
  return pool_->Read("reading user", [&](Connection& db) -> Expected<std::optional<User>> {
    auto select = db.Prepare(sqlite::sql::kSelectUser);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, id);
    return sqlite::OptionalRow(*select, ReadUser);
  });
}

Expected<std::vector<User>> SqliteStore::ListUsers() {
  return pool_->Read("listing users", [&](Connection& db) -> Expected<std::vector<User>> {
    auto select = db.Prepare(sqlite::sql::kListUsers);
    if (!select) return std::unexpected(std::move(select.error()));
    return sqlite::AllRows(*select, ReadUser);
  });
}

Expected<bool> SqliteStore::SetUserPassword(std::int64_t id, const std::string& password_hash) {
  return pool_->Write("changing password", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetUserPassword);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, password_hash);
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

Expected<bool> SqliteStore::DeleteUser(std::int64_t id) {
  return pool_->Write("deleting user", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(sqlite::sql::kDeleteUser);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, id);
    UH_TRY(remove->Run());
    return db.Changes() > 0;
  });
}

Expected<void> SqliteStore::DeleteUserTokens(std::int64_t user_id) {
  return pool_->Write("revoking tokens", [&](Connection& db) -> Expected<void> {
    auto remove = db.Prepare(sqlite::sql::kDeleteUserTokens);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindInt(1, user_id);
    return remove->Run();
  });
}

Expected<void> SqliteStore::InsertToken(const Token& token) {
  const std::string created_at = sqlite::OrNow(token.created_at);
  return pool_->Write("storing token", [&](Connection& db) -> Expected<void> {
    auto insert = db.Prepare(sqlite::sql::kInsertToken);
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

Expected<std::optional<Token>> SqliteStore::FindToken(const std::string& token_hash,
                                                      const std::string& now) {
  return pool_->Read("finding token", [&](Connection& db) -> Expected<std::optional<Token>> {
    auto select = db.Prepare(sqlite::sql::kFindToken);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindText(1, token_hash);
    select->BindText(2, sqlite::OrNow(now));  // never "" (which every expiry is after)
    return sqlite::OptionalRow(*select, ReadToken);
  });
}

Expected<bool> SqliteStore::DeleteToken(const std::string& token_hash) {
  return pool_->Write("deleting token", [&](Connection& db) -> Expected<bool> {
    auto remove = db.Prepare(sqlite::sql::kDeleteToken);
    if (!remove) return std::unexpected(std::move(remove.error()));
    remove->BindText(1, token_hash);
    UH_TRY(remove->Run());
    return db.Changes() > 0;
  });
}

Expected<std::vector<Token>> SqliteStore::ListTokens(std::int64_t user_id) {
  return pool_->Read("listing tokens", [&](Connection& db) -> Expected<std::vector<Token>> {
    auto select = db.Prepare(sqlite::sql::kListTokens);
    if (!select) return std::unexpected(std::move(select.error()));
    select->BindInt(1, user_id);
    return sqlite::AllRows(*select, ReadToken);
  });
}

Expected<void> SqliteStore::TouchToken(const std::string& token_hash, const std::string& at) {
  return pool_->Write("recording token use", [&](Connection& db) -> Expected<void> {
    auto update = db.Prepare(sqlite::sql::kTouchToken);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindText(1, token_hash);
    update->BindText(2, at);
    return update->Run();
  });
}

Expected<bool> SqliteStore::SetUserRole(std::int64_t id, const std::string& role,
                                        const std::vector<std::string>& products) {
  return pool_->Write("changing role", [&](Connection& db) -> Expected<bool> {
    auto update = db.Prepare(sqlite::sql::kSetUserRole);
    if (!update) return std::unexpected(std::move(update.error()));
    update->BindInt(1, id);
    update->BindText(2, role);
    update->BindInt(3, role == "admin" ? 1 : 0);
    update->BindText(4, JoinWords(products));
    UH_TRY(update->Run());
    return db.Changes() > 0;
  });
}

}  // namespace uh::server
