// What the rollout engine pays on every report, as a rollout grows: reading the rollout's
// statistics (kept as per-(stage, state) counts by triggers, migration 0004), against the
// baseline of counting the rollout's devices with GROUP BY as the server did before, both on
// the same database in the same run; and one device's state change (the write of a report,
// with the counts' triggers and the disk sync) followed by the statistics read.
//
// The database goes to $TMPDIR (default /tmp): the write benchmark's figure is mostly the
// disk's sync time, so say which disk it ran on.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/sqlite_store.hpp"

namespace {

using uh::server::DeviceState;
using uh::server::RolloutDevice;
using uh::server::SqliteStore;
using uh::server::sqlite::Connection;

constexpr int kStages = 3;
constexpr std::string_view kCountByGroup =
    "SELECT stage, state, COUNT(*) FROM rollout_devices WHERE rollout_id = ?1"
    " GROUP BY stage, state";

// A database with one rollout of `devices` devices spread over three stages, 10 % of them
// updated; made with SQL in one transaction (the triggers keep the counts as they go).
class RolloutDatabase {
 public:
  explicit RolloutDatabase(std::int64_t devices) {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
           ("uh-rollout-bench-" + std::to_string(::getpid()) + "-" + std::to_string(devices));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = SqliteStore::Open(dir_ / "store.db");
    if (!store) {
      error_ = store.error().message();
      return;
    }
    store_ = std::move(*store);
    auto db = Connection::Open(dir_ / "store.db", Connection::Role::kWriter);
    if (!db) {
      error_ = db.error().message();
      return;
    }
    db_ = std::move(*db);
    const std::string product(64, 'a');
    const std::string n = std::to_string(devices);
    auto made = db_->Exec(
        "BEGIN;"
        "INSERT INTO products (uid, name, created_at) VALUES ('" +
        product +
        "', 'bench', '2026-01-01T00:00:00Z');"
        "INSERT INTO rollouts (product_uid, package_uid, state, created_at) VALUES ('" +
        product + "', '" + std::string(64, 'b') +
        "', 'running', '2026-01-01T00:00:00Z');"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        n +
        ") INSERT INTO devices (product_uid, identity, attributes, hardware, version,"
        " last_seen, created_at) SELECT '" +
        product +
        "', '{\"serial\": \"' || i || '\"}', '{}', 'board', '1.0', '', '' FROM n;"
        "INSERT INTO rollout_devices (rollout_id, device_id, product_uid, stage, state,"
        " error_message, started_at, updated_at, active) SELECT 1, id, product_uid, id % 3,"
        " CASE WHEN id % 10 = 0 THEN 'updated' ELSE 'pending' END, '', '', '', 1"
        " FROM devices;"
        "COMMIT;");
    if (!made) error_ = made.error().message();
  }
  ~RolloutDatabase() {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  RolloutDatabase(const RolloutDatabase&) = delete;
  RolloutDatabase& operator=(const RolloutDatabase&) = delete;

  [[nodiscard]] bool Ready(benchmark::State& state) const {
    if (error_.empty()) return true;
    state.SkipWithError(error_.c_str());
    return false;
  }
  SqliteStore& store() { return *store_; }
  Connection& db() { return *db_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Connection> db_;
  std::string error_;
};

void BM_RolloutStatsFromCounts(benchmark::State& state) {
  RolloutDatabase database(state.range(0));
  if (!database.Ready(state)) return;
  for (auto _ : state) {
    auto stats = database.store().GetRolloutStats(1, kStages);
    if (!stats || stats->Total() != state.range(0)) {
      state.SkipWithError("wrong statistics");
      return;
    }
    benchmark::DoNotOptimize(stats);
  }
}

// The baseline: counting the rollout's devices, the query the statistics used to be.
void BM_RolloutStatsByCounting(benchmark::State& state) {
  RolloutDatabase database(state.range(0));
  if (!database.Ready(state)) return;
  for (auto _ : state) {
    auto query = database.db().Prepare(kCountByGroup);
    if (!query) {
      state.SkipWithError(query.error().message().c_str());
      return;
    }
    query->BindInt(1, 1);
    std::int64_t total = 0;
    while (query->Step().value_or(false)) total += query->Int(2);
    if (total != state.range(0)) {
      state.SkipWithError("wrong count");
      return;
    }
  }
}

// A report's write (one device changes state, the triggers move the counts, the disk syncs)
// and the statistics read that follows it.
void BM_ReportWriteThenStats(benchmark::State& state) {
  RolloutDatabase database(state.range(0));
  if (!database.Ready(state)) return;
  RolloutDevice member;
  member.rollout_id = 1;
  member.device_id = 1;
  member.stage = 1;
  member.updated_at = "2026-01-01T00:00:00Z";
  bool downloading = false;
  for (auto _ : state) {
    downloading = !downloading;
    member.state = downloading ? DeviceState::kDownloading : DeviceState::kPending;
    if (!database.store().UpdateRolloutDevice(member)) {
      state.SkipWithError("update failed");
      return;
    }
    auto stats = database.store().GetRolloutStats(1, kStages);
    if (!stats) {
      state.SkipWithError("statistics failed");
      return;
    }
    benchmark::DoNotOptimize(stats);
  }
}

BENCHMARK(BM_RolloutStatsFromCounts)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_RolloutStatsByCounting)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_ReportWriteThenStats)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

}  // namespace

BENCHMARK_MAIN();
