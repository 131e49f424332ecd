// PostgresStore: opening. Products, keys and packages are in postgres_store_catalog.cpp, users,
// tokens and the audit log in postgres_store_people.cpp, devices and reports in
// postgres_store_devices.cpp, rollouts in postgres_store_rollouts.cpp.

#include "server/store/postgres/postgres_store.hpp"

#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/migrations.hpp"
#include "server/store/postgres/pool.hpp"

namespace uh::server {

Expected<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                             std::size_t pool_size) {
  // The URL may hold a password: messages name the database only by what libpq says.
  constexpr std::string_view kContext = "opening the PostgreSQL store";
  auto first = pg::Connection::Open(url);
  if (!first) return std::unexpected(std::move(first.error()).WithContext(kContext));
  UH_TRY_CTX(pg::ApplyMigrations(**first, pg::EmbeddedMigrations()), kContext);
  auto pool = std::make_unique<pg::ConnectionPool>(url, std::move(*first), pool_size);
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(pool)));
}

PostgresStore::PostgresStore(std::unique_ptr<pg::ConnectionPool> pool) : pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() = default;

}  // namespace uh::server
