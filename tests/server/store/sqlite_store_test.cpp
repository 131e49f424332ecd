// The SQLite backend: the contract suite on a file in a temporary directory, and what only
// SQLite has (URLs, migrations, pragmas).

#include "server/store/sqlite/sqlite_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/migrations.hpp"
#include "server/store/sqlite/queries.hpp"
#include "server/store/store_contract.hpp"
#include "support/test_support.hpp"

namespace uh::server::testing {
namespace {

using sqlite::Connection;
using ::testing::HasSubstr;

constexpr std::string_view kInsertRollout =
    "INSERT INTO rollouts (package_uid, state, created_at) VALUES (?1, ?2, ?3)";

// Runs SQL on the database file through a connection of its own.
void ExecOn(const std::filesystem::path& path, std::string_view sql) {
  auto db = Connection::Open(path, Connection::Role::kWriter);
  ASSERT_TRUE(db) << db.error().message();
  auto done = (*db)->Exec(sql);
  ASSERT_TRUE(done) << done.error().message();
}

// (version -> rows) of schema_migrations.
std::map<std::int64_t, std::int64_t> MigrationRows(const std::filesystem::path& path) {
  std::map<std::int64_t, std::int64_t> rows;
  auto db = Connection::Open(path, Connection::Role::kReader);
  EXPECT_TRUE(db) << db.error().message();
  if (!db) return rows;
  auto query = (*db)->Prepare("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version");
  EXPECT_TRUE(query) << query.error().message();
  if (!query) return rows;
  while (query->Step().value_or(false)) rows[query->Int(0)] = query->Int(1);
  return rows;
}

// The error of a result, if it failed.
template <typename T>
std::optional<Error> ErrorOf(const Expected<T>& result) {
  if (result) return std::nullopt;
  return result.error();
}

class SqliteHarness : public StoreHarness {
 public:
  Expected<std::unique_ptr<Store>> Open() override {
    auto store = SqliteStore::Open(path());
    if (!store) return std::unexpected(std::move(store.error()));
    return std::unique_ptr<Store>(std::move(*store));
  }

  void InsertRollout(const std::string& package_uid, const std::string& state) override {
    auto db = Connection::Open(path(), Connection::Role::kWriter);
    ASSERT_TRUE(db) << db.error().message();
    auto insert = (*db)->Prepare(kInsertRollout);
    ASSERT_TRUE(insert) << insert.error().message();
    insert->BindText(1, package_uid);
    insert->BindText(2, state);
    insert->BindText(3, "2026-01-01T00:00:00Z");
    auto done = insert->Run();
    ASSERT_TRUE(done) << done.error().message();
  }

  [[nodiscard]] std::filesystem::path path() const { return dir_ / "store.db"; }

 private:
  uh::testing::TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         ::testing::Values(StoreBackend{
                             "Sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
                         BackendName);

TEST(OpenStore, SqliteUrlsAndPlainPaths) {
  uh::testing::TempDir dir;
  for (const std::string& url :
       {"sqlite:" + (dir / "a/one.db").string(), "sqlite://" + (dir / "b/two.db").string(),
        (dir / "c/d/three.db").string()}) {
    SCOPED_TRACE(url);
    auto store = OpenStore(url);
    ASSERT_TRUE(store) << store.error().message();
    EXPECT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "a/one.db"));
  EXPECT_TRUE(std::filesystem::exists(dir / "b/two.db"));
  EXPECT_TRUE(std::filesystem::exists(dir / "c/d/three.db"));
}

TEST(OpenStore, OtherSchemes) {
  for (const char* url : {"mysql://db/uh", "http://x/y", "", "sqlite:", "sqlite://", ":memory:"}) {
    SCOPED_TRACE(url);
    auto store = OpenStore(url);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code(), Errc::kInvalidArgument);
  }
}

TEST(OpenStore, NotADatabaseIsAnError) {
  uh::testing::TempDir dir;
  uh::testing::WriteFile(dir / "junk.db", std::string(4096, 'x'));
  auto store = OpenStore((dir / "junk.db").string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Errc::kIo);
  EXPECT_THAT(store.error().message(), HasSubstr("junk.db"));
}

TEST(SqliteStore, UsesWalAndForeignKeys) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  auto db = Connection::Open(dir / "s.db", Connection::Role::kReader);
  ASSERT_TRUE(db);
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  ASSERT_TRUE(mode->Step().value_or(false));
  EXPECT_EQ(mode->Text(0), "wal");
}

// A violated constraint reaches API answers: its message names no table, column or SQL.
TEST(SqliteStore, ConstraintErrorsNameNoSchema) {
  uh::testing::TempDir dir;
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  auto again = (*store)->CreateProduct(MakeProduct(1));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kAlreadyExists);
  EXPECT_THAT(again.error().message(), HasSubstr("already exists"));
  for (const char* internal : {"UNIQUE", "constraint", "products", "uid", "sqlite"}) {
    EXPECT_THAT(again.error().message(), ::testing::Not(HasSubstr(internal)));
  }
}

// The dashboard's reads of one product use an index, never a scan of every device (the
// 100,000-device fleet of the issue).
TEST(SqliteStore, DashboardQueriesOfAProductUseIndexes) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  auto db = Connection::Open(dir / "s.db", Connection::Role::kReader);
  ASSERT_TRUE(db);
  namespace q = sqlite::sql;
  auto s = [](std::initializer_list<std::string_view> parts) {
    std::string text;
    for (auto part : parts) text += part;
    return text;
  };
  const std::string statements[] = {
      s({q::kDevicesByVersionHead, q::kWhereProduct, q::kGroupByFirstTail}),
      s({q::kDevicesByHardwareHead, q::kWhereProduct, q::kGroupByFirstTail}),
      s({q::kDevicesByRolloutStateHead, q::kAndProduct, q::kGroupByFirstTail}),
      s({q::kDevicesSeenHead, q::kWhereProduct}),
      s({q::kCountDevicesHead, q::kListDevicesByProduct, q::kListDevicesSeenBefore}),
      s({q::kCountDevicesHead, q::kListDevicesByProduct, q::kListDevicesInRolloutState}),
      s({q::kListDevicesHead, q::kListDevicesByProduct, q::kListDevicesByIdentity,
         q::kListDevicesTail}),
      s({q::kLatestFailuresHead, q::kLatestFailuresByProduct, q::kLatestFailuresTail}),
      std::string(q::kListRolloutMembersByState),
      // A device's history, what other rollouts hold, a selection counted, a list's statistics.
      std::string(q::kListDeviceVersions),
      std::string(q::kListDeviceRollouts),
      std::string(q::kHeldDevices),
      s({q::kCountSelectionHead, q::kCountSelectionByHardware, q::kCountSelectionByIdentity,
         q::kCountSelectionTail}),
      std::string(q::kRolloutStatsOf),
      std::string(q::kCountStartedSinceOf),
  };
  for (const auto& statement : statements) {
    SCOPED_TRACE(statement);
    auto plan = (*db)->Prepare("EXPLAIN QUERY PLAN " + statement);
    ASSERT_TRUE(plan) << plan.error().message();
    std::string steps;
    while (plan->Step().value_or(false)) steps += plan->Text(3) + "\n";
    EXPECT_THAT(steps,
                ::testing::ContainsRegex("USING (COVERING )?INDEX|USING (INTEGER )?PRIMARY KEY"))
        << steps;
    EXPECT_THAT(steps,
                ::testing::Not(::testing::ContainsRegex("SCAN (devices|d|rollout_devices|rd)\n")))
        << steps;
  }
}

// Across every product, a search by an identity or attribute value, or by the state in the
// rollout that holds a device, starts from the few matching rows (device_fields, the active
// members by state), not from every device in id order.
TEST(SqliteStore, FleetWideDeviceSearchesStartFromTheirIndex) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  auto db = Connection::Open(dir / "s.db", Connection::Role::kReader);
  ASSERT_TRUE(db);
  namespace q = sqlite::sql;
  const std::pair<std::string, std::string> cases[] = {
      {std::string(q::kListDevicesHead) + std::string(q::kListDevicesByIdentity) +
           std::string(q::kListDevicesTail),
       "device_fields_by_value"},
      {std::string(q::kCountDevicesHead) + std::string(q::kListDevicesByAttribute),
       "device_fields_by_value"},
      {std::string(q::kListDevicesHead) + std::string(q::kListDevicesInRolloutState) +
           std::string(q::kListDevicesTail),
       "rollout_devices_active_state_device"},
      {std::string(q::kCountDevicesHead) + std::string(q::kListDevicesInRolloutState),
       "rollout_devices_active_state_device"},
  };
  for (const auto& [statement, index] : cases) {
    SCOPED_TRACE(statement);
    auto plan = (*db)->Prepare("EXPLAIN QUERY PLAN " + statement);
    ASSERT_TRUE(plan) << plan.error().message();
    std::string steps;
    while (plan->Step().value_or(false)) steps += plan->Text(3) + "\n";
    EXPECT_THAT(steps, HasSubstr(index)) << steps;
    EXPECT_THAT(steps, ::testing::Not(::testing::ContainsRegex("SCAN (devices|device_fields)\n")))
        << steps;
  }
}

TEST(SqliteMigrations, EmbeddedAreNumberedFromOne) {
  const auto migrations = sqlite::EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_THAT(std::string(migrations[i].sql), ::testing::ContainsRegex("(CREATE|ALTER) "));
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%04zu_", i + 1);
    EXPECT_THAT(std::string(migrations[i].name), ::testing::StartsWith(prefix));
  }
  EXPECT_EQ(migrations[0].name, "0001_init.sql");
}

TEST(SqliteMigrations, AppliedOnceAcrossOpens) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  std::map<std::int64_t, std::int64_t> expected;
  for (const auto& migration : sqlite::EmbeddedMigrations()) expected[migration.version] = 1;
  EXPECT_EQ(MigrationRows(dir / "s.db"), expected);
}

TEST(SqliteMigrations, NewerDatabaseIsRefused) {
  uh::testing::TempDir dir;
  ASSERT_TRUE(SqliteStore::Open(dir / "s.db"));
  ExecOn(
      dir / "s.db",
      "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, '2030-01-01T00:00:00Z')");
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Errc::kUnsupported);
  EXPECT_THAT(store.error().message(), HasSubstr("9999"));
  EXPECT_THAT(store.error().message(), HasSubstr("newer"));
}

TEST(SqliteMigrations, AppliesOnlyMissingOnes) {
  uh::testing::TempDir dir;
  auto db = Connection::Open(dir / "m.db", Connection::Role::kWriter);
  ASSERT_TRUE(db);
  // Re-running version 1 would fail: its table exists.
  const sqlite::Migration v1{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"};
  const sqlite::Migration v2{2, "0002_b.sql",
                             "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (2);"};
  const sqlite::Migration first[] = {v1};
  const sqlite::Migration both[] = {v1, v2};
  ASSERT_TRUE(sqlite::ApplyMigrations(**db, first));
  auto applied = sqlite::ApplyMigrations(**db, both);
  ASSERT_TRUE(applied) << applied.error().message();
  ASSERT_TRUE(sqlite::ApplyMigrations(**db, both));
  auto rows = (*db)->Prepare("SELECT COUNT(*) FROM a");
  ASSERT_TRUE(rows);
  ASSERT_TRUE(rows->Step().value_or(false));
  EXPECT_EQ(rows->Int(0), 1);
  EXPECT_EQ(MigrationRows(dir / "m.db"), (std::map<std::int64_t, std::int64_t>{{1, 1}, {2, 1}}));
}

TEST(SqliteMigrations, FailedMigrationLeavesNoTrace) {
  uh::testing::TempDir dir;
  auto db = Connection::Open(dir / "m.db", Connection::Role::kWriter);
  ASSERT_TRUE(db);
  const sqlite::Migration broken[] = {
      {1, "0001_broken.sql", "CREATE TABLE a (x INTEGER); INSERT INTO missing VALUES (1);"}};
  auto applied = sqlite::ApplyMigrations(**db, broken);
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message(), HasSubstr("0001_broken.sql"));
  EXPECT_THAT(applied.error().message(), HasSubstr("missing"));
  EXPECT_TRUE(MigrationRows(dir / "m.db").empty());
  EXPECT_FALSE((*db)->Prepare("SELECT * FROM a"));  // the CREATE was rolled back
}

// A database made before the rollout engine, with a row in the placeholder rollouts table.
TEST(SqliteMigrations, PlaceholderRolloutsSurviveTheUpgrade) {
  uh::testing::TempDir dir;
  {
    auto db = Connection::Open(dir / "s.db", Connection::Role::kWriter);
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, sqlite::EmbeddedMigrations().first(1)));
    auto insert = (*db)->Prepare(kInsertRollout);
    ASSERT_TRUE(insert);
    insert->BindText(1, Hex64(7));
    insert->BindText(2, "running");
    insert->BindText(3, "2026-01-01T00:00:00Z");
    ASSERT_TRUE(insert->Run());
  }
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store) << store.error().message();
  UH_ASSERT_OK_AND_ASSIGN(rollout, (*store)->GetRollout(1));
  ASSERT_TRUE(rollout.has_value());
  EXPECT_EQ(rollout->package_uid, Hex64(7));
  EXPECT_EQ(rollout->state, RolloutState::kRunning);
  EXPECT_EQ(rollout->stages.size(), 1u);
  EXPECT_TRUE(rollout->selection.device_ids.empty());
}

// A database with rollouts made before the statistics were kept as counts (migration 4): the
// counts start from the devices already there, then follow every change.
TEST(SqliteMigrations, RolloutCountsStartFromExistingDevices) {
  uh::testing::TempDir dir;
  {
    auto db = Connection::Open(dir / "s.db", Connection::Role::kWriter);
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, sqlite::EmbeddedMigrations().first(3)));
    auto done = (*db)->Exec(
        "INSERT INTO products (uid, name, created_at) VALUES ('" + Hex64(1) +
        "', 'p', '2026-01-01T00:00:00Z');"
        "INSERT INTO rollouts (product_uid, package_uid, state, created_at) VALUES ('" +
        Hex64(1) + "', '" + Hex64(2) +
        "', 'running', '2026-01-01T00:00:00Z');"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)"
        " INSERT INTO devices (product_uid, identity, attributes, hardware, version,"
        " last_seen, created_at) SELECT '" +
        Hex64(1) +
        "', '{\"id\": \"' || i || '\"}', '{}', 'hw', '1.0', '', '' FROM n;"
        "INSERT INTO rollout_devices (rollout_id, device_id, product_uid, stage, state,"
        " error_message, started_at, updated_at, active) SELECT 1, id, product_uid, id % 2,"
        " CASE WHEN id <= 10 THEN 'updated' ELSE 'pending' END, '', '', '', 1 FROM devices;");
    ASSERT_TRUE(done) << done.error().message();
  }
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store) << store.error().message();
  UH_ASSERT_OK_AND_ASSIGN(stats, (*store)->GetRolloutStats(1, 2));
  EXPECT_EQ(stats.Total(), 30);
  EXPECT_EQ(stats.Count(DeviceState::kUpdated), 10);
  EXPECT_EQ(stats.stages[1][static_cast<std::size_t>(DeviceState::kUpdated)], 5);
  EXPECT_EQ(stats.stages[0][static_cast<std::size_t>(DeviceState::kPending)], 10);
  UH_ASSERT_OK_AND_ASSIGN(member, (*store)->FindRolloutDevice(11));
  ASSERT_TRUE(member.has_value());
  member->state = DeviceState::kFailed;
  ASSERT_TRUE((*store)->UpdateRolloutDevice(*member));
  UH_ASSERT_OK_AND_ASSIGN(after, (*store)->GetRolloutStats(1, 2));
  EXPECT_EQ(after.Count(DeviceState::kFailed), 1);
  EXPECT_EQ(after.Count(DeviceState::kPending), 19);
  // Devices removed behind the store's back (ON DELETE CASCADE) leave the counts too.
  ExecOn(dir / "s.db", "DELETE FROM devices WHERE id <= 4");
  UH_ASSERT_OK_AND_ASSIGN(pruned, (*store)->GetRolloutStats(1, 2));
  EXPECT_EQ(pruned.Total(), 26);
  EXPECT_EQ(pruned.Count(DeviceState::kUpdated), 6);
}

// Migration 10 on a database with a rollout paused by a person and devices: who paused it and
// when come from its reason, and each device starts its version history with its version now.
TEST(SqliteMigrations, PausesAndVersionsFromBeforeTheHistory) {
  uh::testing::TempDir dir;
  {
    auto db = Connection::Open(dir / "s.db", Connection::Role::kWriter);
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, sqlite::EmbeddedMigrations().first(9)));
    auto done = (*db)->Exec(
        "INSERT INTO products (uid, name, created_at) VALUES ('" + Hex64(1) +
        "', 'p', '2026-01-01T00:00:00Z');"
        "INSERT INTO rollouts (product_uid, package_uid, state, reason, created_at, plan)"
        " VALUES ('" +
        Hex64(1) + "', '" + Hex64(2) +
        "', 'paused', 'paused by Ann at 2026 at 2026-03-04T05:06:07Z', '2026-01-01T00:00:00Z',"
        " '{\"stages\":[{\"percent\":100}]}'),"
        " ('" +
        Hex64(1) + "', '" + Hex64(2) +
        "', 'paused', 'failure threshold: 3 failed', '2026-01-01T00:00:00Z',"
        " '{\"stages\":[{\"percent\":100}]}');"
        "INSERT INTO devices (product_uid, identity, attributes, hardware, version, last_seen,"
        " created_at) VALUES ('" +
        Hex64(1) + "', '{}', '{}', 'hw', '1.0', '', '');");
    ASSERT_TRUE(done) << done.error().message();
  }
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store) << store.error().message();
  UH_ASSERT_OK_AND_ASSIGN(by_person, (*store)->GetRollout(1));
  ASSERT_TRUE(by_person.has_value());
  EXPECT_EQ(by_person->paused_by, "Ann at 2026");
  EXPECT_EQ(by_person->paused_at, "2026-03-04T05:06:07Z");
  UH_ASSERT_OK_AND_ASSIGN(by_server, (*store)->GetRollout(2));
  ASSERT_TRUE(by_server.has_value());
  EXPECT_EQ(by_server->paused_by, "");
  UH_ASSERT_OK_AND_ASSIGN(versions, (*store)->ListDeviceVersions(1, 0, 10));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version, "1.0");
  EXPECT_EQ(versions[0].since, "");
}

// Damage done to the database behind the store's back is an error naming the rollout.
TEST(SqliteStore, DamagedRolloutRowsAreErrors) {
  const struct {
    const char* what;
    const char* sql;
  } kDamage[] = {
      {"plan", "UPDATE rollouts SET plan = '{\"stages\": [50, '"},
      {"plan", "UPDATE rollouts SET plan = '{\"stages\": []}'"},
      {"plan", "UPDATE rollouts SET plan = '[1, 2]'"},
      {"selection", "UPDATE rollouts SET selection = '{\"devices\": \"all\"}'"},
      {"selection", "UPDATE rollouts SET selection = 'null'"},
      {"state", "UPDATE rollouts SET state = 'exploded'"},
      {"current stage", "UPDATE rollouts SET current_stage = 3"},
  };
  uh::testing::TempDir dir;
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  for (const auto& damage : kDamage) {
    SCOPED_TRACE(damage.sql);
    UH_ASSERT_OK_AND_ASSIGN(rollout, (*store)->CreateRollout(MakeRollout(Hex64(1), Hex64(2))));
    ExecOn(dir / "s.db", damage.sql);
    for (const std::optional<Error>& error :
         {ErrorOf((*store)->GetRollout(rollout.id)), ErrorOf((*store)->ListRollouts("", true))}) {
      ASSERT_TRUE(error.has_value());
      EXPECT_EQ(error->code(), Errc::kInternal);
      EXPECT_THAT(error->message(), HasSubstr("rollout " + std::to_string(rollout.id)));
      EXPECT_THAT(error->message(), HasSubstr(damage.what));
    }
    ExecOn(dir / "s.db", "DELETE FROM rollouts");  // the next case starts clean
  }
}

TEST(SqliteStore, DamagedRolloutDeviceRowsAreErrors) {
  uh::testing::TempDir dir;
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->CreateProduct(MakeProduct(1)));
  UH_ASSERT_OK_AND_ASSIGN(device, (*store)->UpsertDevice(MakeProbe(Hex64(1), "s1")));
  Rollout definition = MakeRollout(Hex64(1), Hex64(2));
  definition.state = RolloutState::kRunning;
  UH_ASSERT_OK_AND_ASSIGN(rollout, (*store)->CreateRollout(definition));
  ASSERT_TRUE((*store)->AddRolloutDevices(Hex64(1), Members(rollout.id, {device.id})));
  ExecOn(dir / "s.db", "UPDATE rollout_devices SET state = 'confused'");
  for (const std::optional<Error>& error :
       {ErrorOf((*store)->FindRolloutDevice(device.id)),
        ErrorOf((*store)->ListRolloutDevices(rollout.id, 0, 10)),
        ErrorOf((*store)->GetRolloutStats(rollout.id, 3))}) {
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code(), Errc::kInternal);
    EXPECT_THAT(error->message(), HasSubstr("confused"));
  }
}

TEST(SqliteMigrations, OutOfOrderListIsRefused) {
  uh::testing::TempDir dir;
  auto db = Connection::Open(dir / "m.db", Connection::Role::kWriter);
  ASSERT_TRUE(db);
  const sqlite::Migration unordered[] = {{2, "0002_b.sql", "SELECT 1;"},
                                         {1, "0001_a.sql", "SELECT 1;"}};
  auto applied = sqlite::ApplyMigrations(**db, unordered);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code(), Errc::kInternal);
}

// A database made before roles: its administrators stay administrators, the other users keep
// what they could do (packages and rollouts), and nobody is limited to some products.
TEST(SqliteMigrations, UsersGetRolesFromTheAdminFlag) {
  uh::testing::TempDir dir;
  {
    auto db = Connection::Open(dir / "s.db", Connection::Role::kWriter);
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, sqlite::EmbeddedMigrations().first(6)));
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO users (name, password_hash, admin, created_at) VALUES"
        " ('root', 'h', 1, '2026-01-01T00:00:00Z'), ('ci', 'h', 0, '2026-01-01T00:00:00Z')"));
  }
  auto store = SqliteStore::Open(dir / "s.db");
  ASSERT_TRUE(store) << store.error().message();
  auto root = (*store)->FindUser("root");
  auto ci = (*store)->FindUser("ci");
  ASSERT_TRUE(root && *root && ci && *ci);
  EXPECT_EQ((*root)->role, "admin");
  EXPECT_EQ((*ci)->role, "release-manager");
  EXPECT_TRUE((*root)->products.empty());
  EXPECT_TRUE((*ci)->products.empty());
}

}  // namespace
}  // namespace uh::server::testing
