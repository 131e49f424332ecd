// The PostgreSQL backend: the contract suite on a database of its own in the test run's
// PostgreSQL server (tests/support/postgres_cluster.sh, a CTest fixture), and what only
// PostgreSQL has (URLs, migrations under an advisory lock, lost connections).

#include "server/store/postgres/postgres_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "postgres_scratch.hpp"
#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/migrations.hpp"
#include "server/store/sqlite/migrations.hpp"
#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::HasSubstr;

// Runs SQL through a connection of its own.
void PgExec(const std::string& url, std::string_view sql) {
  auto db = pg::Connection::Open(url);
  ASSERT_TRUE(db) << db.error().message();
  auto done = (*db)->Exec(sql);
  ASSERT_TRUE(done) << done.error().message();
}

std::int64_t PgCount(const std::string& url, std::string_view sql) {
  auto db = pg::Connection::Open(url);
  EXPECT_TRUE(db) << db.error().message();
  if (!db) return -1;
  auto query = (*db)->Prepare(sql);
  EXPECT_TRUE(query) << query.error().message();
  if (!query || !query->Step().value_or(false)) return -1;
  return query->Int(0);
}

class PostgresHarness : public StoreHarness {
 public:
  Expected<std::unique_ptr<Store>> Open() override {
    auto store = PostgresStore::Open(database_.url());
    if (!store) return std::unexpected(std::move(store.error()));
    return std::unique_ptr<Store>(std::move(*store));
  }

  void InsertRollout(const std::string& package_uid, const std::string& state) override {
    auto db = pg::Connection::Open(database_.url());
    ASSERT_TRUE(db) << db.error().message();
    auto insert =
        (*db)->Prepare("INSERT INTO rollouts (package_uid, state, created_at) VALUES ($1, $2, $3)");
    ASSERT_TRUE(insert) << insert.error().message();
    insert->BindText(1, package_uid);
    insert->BindText(2, state);
    insert->BindText(3, "2026-01-01T00:00:00Z");
    auto done = insert->Run();
    ASSERT_TRUE(done) << done.error().message();
  }

 private:
  ScratchDatabase database_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::Values(StoreBackend{
                             "Postgres", [] { return std::make_unique<PostgresHarness>(); }}),
                         BackendName);

// (version -> rows) of schema_migrations.
std::map<std::int64_t, std::int64_t> PgMigrationRows(const std::string& url) {
  std::map<std::int64_t, std::int64_t> rows;
  auto db = pg::Connection::Open(url);
  EXPECT_TRUE(db) << db.error().message();
  if (!db) return rows;
  auto query = (*db)->Prepare("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version");
  EXPECT_TRUE(query) << query.error().message();
  if (!query) return rows;
  while (query->Step().value_or(false)) rows[query->Int(0)] = query->Int(1);
  return rows;
}

TEST(PostgresStoreOpen, BothUrlSchemesOpenTheStore) {
  ScratchDatabase database;
  std::string url = database.url();
  for (const std::string scheme : {"postgresql://", "postgres://"}) {
    SCOPED_TRACE(scheme);
    auto store = OpenStore(scheme + url.substr(std::string_view("postgresql://").size()));
    ASSERT_TRUE(store) << store.error().message();
    auto products = (*store)->ListProducts();
    ASSERT_TRUE(products) << products.error().message();
  }
}

TEST(PostgresStoreOpen, UnreachableServerIsAnIoErrorWithoutThePassword) {
  // A socket directory where no server listens: refused at once, not after a timeout.
  const auto started = std::chrono::steady_clock::now();
  auto store = OpenStore("postgresql://uh:s3cret-password@/uh?host=/nonexistent-uh-dir");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Errc::kIo);
  EXPECT_THAT(store.error().message(), HasSubstr("PostgreSQL"));
  EXPECT_THAT(store.error().message(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(PostgresStoreOpen, UnknownDatabaseIsAnError) {
  auto store = OpenStore(PostgresUrl("uh_no_such_database"));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Errc::kIo);
  EXPECT_THAT(store.error().message(), HasSubstr("uh_no_such_database"));
}

TEST(PostgresMigrations, SameVersionsAndNamesAsSqlite) {
  const auto postgres = pg::EmbeddedMigrations();
  const auto sqlite = sqlite::EmbeddedMigrations();
  ASSERT_EQ(postgres.size(), sqlite.size());
  for (std::size_t i = 0; i < postgres.size(); ++i) {
    EXPECT_EQ(postgres[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(postgres[i].name, sqlite[i].name);
  }
}

TEST(PostgresMigrations, ServersStartingTogetherMigrateOnce) {
  ScratchDatabase database;
  constexpr int kServers = 4;
  std::vector<std::thread> servers;
  std::atomic<int> opened{0};
  for (int i = 0; i < kServers; ++i) {
    servers.emplace_back([&] {
      auto store = PostgresStore::Open(database.url());
      EXPECT_TRUE(store) << store.error().message();
      if (store) ++opened;
    });
  }
  for (auto& server : servers) server.join();
  EXPECT_EQ(opened.load(), kServers);
  std::map<std::int64_t, std::int64_t> expected;
  for (const auto& migration : pg::EmbeddedMigrations()) expected[migration.version] = 1;
  EXPECT_EQ(PgMigrationRows(database.url()), expected);
}

TEST(PostgresMigrations, NewerDatabaseIsRefused) {
  ScratchDatabase database;
  ASSERT_TRUE(PostgresStore::Open(database.url()));
  PgExec(database.url(),
         "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, "
         "'2030-01-01T00:00:00Z')");
  auto store = PostgresStore::Open(database.url());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Errc::kUnsupported);
  EXPECT_THAT(store.error().message(), HasSubstr("9999"));
}

TEST(PostgresMigrations, FailedMigrationLeavesNoTrace) {
  ScratchDatabase database;
  auto db = pg::Connection::Open(database.url());
  ASSERT_TRUE(db) << db.error().message();
  const pg::Migration broken[] = {
      {1, "0001_broken.sql", "CREATE TABLE a (x BIGINT); INSERT INTO missing VALUES (1);"}};
  auto applied = pg::ApplyMigrations(**db, broken);
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message(), HasSubstr("0001_broken.sql"));
  EXPECT_THAT(applied.error().message(), HasSubstr("missing"));
  EXPECT_TRUE(PgMigrationRows(database.url()).empty());
  EXPECT_EQ(PgCount(database.url(), "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'a'"), 0);
  // The lock was given back: the right migrations still apply on the same connection.
  const pg::Migration fine[] = {{1, "0001_fine.sql", "CREATE TABLE a (x BIGINT);"}};
  auto retried = pg::ApplyMigrations(**db, fine);
  EXPECT_TRUE(retried) << retried.error().message();
}

TEST(PostgresStore, ConstraintErrorsNameNoSchema) {
  ScratchDatabase database;
  auto store = PostgresStore::Open(database.url());
  ASSERT_TRUE(store) << store.error().message();
  ASSERT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  auto again = (*store)->CreateProduct(MakeProduct(1));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kAlreadyExists);
  EXPECT_THAT(again.error().message(), ::testing::Not(HasSubstr("products")));
  EXPECT_THAT(again.error().message(), ::testing::Not(HasSubstr("pkey")));
}

TEST(PostgresStore, ConnectionsClosedByTheServerAreReplaced) {
  ScratchDatabase database;
  auto store = PostgresStore::Open(database.url());
  ASSERT_TRUE(store) << store.error().message();
  ASSERT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  // What a database restart or failover does to the pool's idle connections.
  const std::string mine = "FROM pg_stat_activity WHERE datname = '" + database.name() + "'";
  PgExec(PostgresUrl("postgres"), "SELECT pg_terminate_backend(pid) " + mine);
  for (int i = 0; i < 100 && PgCount(PostgresUrl("postgres"), "SELECT COUNT(*) " + mine) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(PgCount(PostgresUrl("postgres"), "SELECT COUNT(*) " + mine), 0);
  auto product = (*store)->GetProduct(MakeProduct(1).uid);
  ASSERT_TRUE(product) << product.error().message();
  EXPECT_TRUE(product->has_value());
  EXPECT_TRUE((*store)->CreateProduct(MakeProduct(2)));
}

}  // namespace
}  // namespace uh::server::testing
