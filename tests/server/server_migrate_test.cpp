// `updatehub-server migrate [--check]`, the real binary as a child process: a new database gets
// every migration and a second run none; --check changes nothing and says what is pending (exit
// status 3); a database migrated by a newer release, or one that cannot be reached, is refused
// with exit status 1. On SQLite, and on PostgreSQL (MigratePostgresTest, in the
// server_test_postgres run).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "postgres_scratch.hpp"
#include "server/server_app.hpp"
#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/migrations.hpp"
#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/migrations.hpp"
#include "support/test_support.hpp"

namespace uh::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

uh::testing::RunResult Migrate(const std::vector<std::string>& flags,
                               const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {UH_SERVER_BINARY};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.emplace_back("migrate");
  argv.insert(argv.end(), extra.begin(), extra.end());
  return uh::testing::Run(argv);
}

std::string Describe(const uh::testing::RunResult& result) {
  return "status " + std::to_string(result.status) + "\nstdout: " + result.out +
         "\nstderr: " + result.err;
}

void SqliteExec(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

class MigrateTest : public ::testing::Test {
 protected:
  std::vector<std::string> Flags() const { return {"--data-dir", data_dir_.string()}; }

  uh::testing::TempDir dir_;
  std::filesystem::path data_dir_ = dir_.path() / "data";
  std::filesystem::path db_ = data_dir_ / "updatehub.db";
  const std::int64_t latest_ = sqlite::LatestVersion(sqlite::EmbeddedMigrations());
};

TEST_F(MigrateTest, NewDatabaseGetsEveryMigrationThenNone) {
  ASSERT_GE(latest_, 12);
  const std::string latest = std::to_string(latest_);

  auto check = Migrate(Flags(), {"--check"});
  EXPECT_EQ(check.status, 3) << Describe(check);
  EXPECT_THAT(check.out, HasSubstr("schema at version 0, latest " + latest + ": " + latest +
                                   " migrations pending (0001_init.sql, "));
  EXPECT_FALSE(std::filesystem::exists(db_)) << "--check created the database";

  auto first = Migrate(Flags());
  EXPECT_EQ(first.status, 0) << Describe(first);
  EXPECT_THAT(first.out, HasSubstr("schema at version " + latest + ", applied " + latest +
                                   " (0 -> " + latest + "): 0001_init.sql, "));
  EXPECT_TRUE(std::filesystem::exists(db_));

  auto second = Migrate(Flags());
  EXPECT_EQ(second.status, 0) << Describe(second);
  EXPECT_EQ(second.out, "schema at version " + latest + ", applied 0\n");

  check = Migrate(Flags(), {"--check"});
  EXPECT_EQ(check.status, 0) << Describe(check);
  EXPECT_THAT(check.out, HasSubstr("no migrations pending"));

  // The same database through --database, and through a configuration file.
  auto by_url = Migrate(
      {"--data-dir", (dir_.path() / "elsewhere").string(), "--database", "sqlite:" + db_.string()},
      {"--check"});
  EXPECT_EQ(by_url.status, 0) << Describe(by_url);
  const auto config = dir_.path() / "server.toml";
  uh::testing::WriteFile(config, "data_dir = \"" + data_dir_.string() + "\"\n");
  auto by_file = Migrate({"-c", config.string()});
  EXPECT_EQ(by_file.status, 0) << Describe(by_file);
  EXPECT_THAT(by_file.out, HasSubstr("applied 0"));
}

TEST_F(MigrateTest, OlderDatabaseGetsTheMissingOnes) {
  // A database as an older release left it: all but the last two migrations.
  std::filesystem::create_directories(data_dir_);
  const auto migrations = sqlite::EmbeddedMigrations();
  ASSERT_GE(migrations.size(), 3u);
  {
    auto connection = sqlite::Connection::Open(db_, sqlite::Connection::Role::kWriter);
    ASSERT_TRUE(connection) << connection.error().message();
    auto applied = sqlite::ApplyMigrations(**connection, migrations.first(migrations.size() - 2));
    ASSERT_TRUE(applied) << applied.error().message();
  }
  const std::string older = std::to_string(latest_ - 2);
  const std::string latest = std::to_string(latest_);
  auto check = Migrate(Flags(), {"--check"});
  EXPECT_EQ(check.status, 3) << Describe(check);
  EXPECT_THAT(check.out, HasSubstr("schema at version " + older + ", latest " + latest +
                                   ": 2 migrations pending (" +
                                   std::string(migrations[migrations.size() - 2].name) + ", " +
                                   std::string(migrations.back().name) + ")"));
  auto applied = Migrate(Flags());
  EXPECT_EQ(applied.status, 0) << Describe(applied);
  EXPECT_THAT(applied.out,
              HasSubstr("schema at version " + latest + ", applied 2 (" + older + " -> " + latest));
}

TEST_F(MigrateTest, NewerSchemaIsRefused) {
  ASSERT_EQ(Migrate(Flags()).status, 0);
  const std::string newer = std::to_string(latest_ + 7);
  SqliteExec(db_, "INSERT INTO schema_migrations (version, applied_at) VALUES (" + newer +
                      ", '2030-01-01T00:00:00Z')");
  for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--check"}}) {
    auto refused = Migrate(Flags(), extra);
    EXPECT_EQ(refused.status, 1) << Describe(refused);
    EXPECT_THAT(refused.err,
                HasSubstr("schema is at version " + newer + ", newer than this server knows (" +
                          std::to_string(latest_) + ")"));
    EXPECT_EQ(refused.out, "");
  }
}

TEST_F(MigrateTest, NotWhileAServerHasTheDataDirectory) {
  auto lock = LockDataDir(data_dir_);  // what a running server holds
  ASSERT_TRUE(lock) << lock.error().message();
  auto refused = Migrate(Flags());
  EXPECT_EQ(refused.status, 1) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("another updatehub-server"));
  EXPECT_FALSE(std::filesystem::exists(db_));
  // Looking changes nothing: allowed.
  EXPECT_EQ(Migrate(Flags(), {"--check"}).status, 3);
}

TEST_F(MigrateTest, UnreachableDatabaseIsAnError) {
  for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--check"}}) {
    auto refused = Migrate({"--data-dir", data_dir_.string(), "--database",
                            "postgresql://uh@/uh?host=/nonexistent-uh-dir&connect_timeout=2"},
                           extra);
    EXPECT_EQ(refused.status, 1) << Describe(refused);
    EXPECT_THAT(refused.err,
                HasSubstr("cannot read the schema version of the postgresql database"));
    EXPECT_THAT(refused.err, HasSubstr("/nonexistent-uh-dir"));
  }
  auto junk = dir_.path() / "junk.db";
  uh::testing::WriteFile(junk, std::string(4096, 'x'));
  auto refused = Migrate({"--database", "sqlite:" + junk.string()}, {"--check"});
  EXPECT_EQ(refused.status, 1) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("cannot read the schema version of the sqlite database"));
}

// Run with the test run's PostgreSQL server (server_test_postgres.MigratePostgresTest.*).
TEST(MigratePostgresTest, AppliesEverythingThenNoneAndRefusesANewerSchema) {
  if (std::getenv("UH_TEST_SERVER_POSTGRES_DIR") == nullptr &&
      std::getenv("UH_TEST_POSTGRES_DIR") == nullptr) {
    GTEST_SKIP() << "needs the test run's PostgreSQL server (server_test_postgres)";
  }
  ScratchDatabase database;
  uh::testing::TempDir dir;
  const std::vector<std::string> flags = {"--data-dir", (dir.path() / "data").string(),
                                          "--database", database.url()};
  const std::int64_t latest_version = pg::LatestVersion(pg::EmbeddedMigrations());
  const std::string latest = std::to_string(latest_version);

  auto check = Migrate(flags, {"--check"});
  EXPECT_EQ(check.status, 3) << Describe(check);
  EXPECT_THAT(check.out, HasSubstr("schema at version 0, latest " + latest));
  auto first = Migrate(flags);
  EXPECT_EQ(first.status, 0) << Describe(first);
  EXPECT_THAT(first.out, HasSubstr("schema at version " + latest + ", applied " + latest +
                                   " (0 -> " + latest));
  auto second = Migrate(flags);
  EXPECT_EQ(second.status, 0) << Describe(second);
  EXPECT_EQ(second.out, "schema at version " + latest + ", applied 0\n");
  check = Migrate(flags, {"--check"});
  EXPECT_EQ(check.status, 0) << Describe(check);
  // The URL may hold a password: never printed.
  EXPECT_THAT(first.out + second.out + check.out, Not(HasSubstr(database.url())));
  // With PostgreSQL the data directory is not the database's: migrate leaves it alone.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "server.lock"));

  auto connection = pg::Connection::Open(database.url());
  ASSERT_TRUE(connection) << connection.error().message();
  const std::string newer = std::to_string(latest_version + 1);
  ASSERT_TRUE((*connection)
                  ->Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" + newer +
                         ", '2030-01-01T00:00:00Z')"));
  for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--check"}}) {
    auto refused = Migrate(flags, extra);
    EXPECT_EQ(refused.status, 1) << Describe(refused);
    EXPECT_THAT(refused.err, HasSubstr("postgresql database's schema is at version " + newer +
                                       ", newer than this server knows (" + latest + ")"));
  }
}

}  // namespace
}  // namespace uh::server::testing
