// Group commit of the SQLite store's writes (sqlite/pool.hpp): writes that wait while another
// group is written are committed together, one transaction for all, and each keeps its own
// outcome: a write that fails or throws leaves nothing, the others are committed.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/store/sqlite/connection.hpp"
#include "server/store/sqlite/pool.hpp"
#include "server/store/store_metrics.hpp"
#include "support/test_support.hpp"

namespace uh::server::testing {
namespace {

using sqlite::Connection;
using sqlite::ConnectionPool;

Expected<void> Insert(Connection& db, int key, const std::string& value) {
  auto insert = db.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
  if (!insert) return std::unexpected(std::move(insert.error()));
  insert->BindInt(1, key);
  insert->BindText(2, value);
  return insert->Run();
}

// The rows of t, by key.
std::vector<std::pair<int, std::string>> Rows(ConnectionPool& pool) {
  auto rows = pool.Read("reading",
                        [](Connection& db) -> Expected<std::vector<std::pair<int, std::string>>> {
                          auto select = db.Prepare("SELECT k, v FROM t ORDER BY k");
                          if (!select) return std::unexpected(std::move(select.error()));
                          std::vector<std::pair<int, std::string>> out;
                          for (;;) {
                            auto row = select->Step();
                            if (!row) return std::unexpected(std::move(row.error()));
                            if (!*row) return out;
                            out.emplace_back(static_cast<int>(select->Int(0)), select->Text(1));
                          }
                        });
  EXPECT_TRUE(rows) << rows.error().message();
  return rows ? *rows : std::vector<std::pair<int, std::string>>{};
}

class SqliteGroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto writer = Connection::Open(dir_.path() / "group.db", Connection::Role::kWriter);
    ASSERT_TRUE(writer) << writer.error().message();
    ASSERT_TRUE((*writer)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"));
    pool_ = std::make_unique<ConnectionPool>(dir_.path() / "group.db", std::move(*writer));
  }

  // Waits (up to 30 s) until `count` writes wait for their group.
  void WaitForWaiting(std::size_t count) {
    for (int i = 0; i < 30'000 && pool_->waiting_writes() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(pool_->waiting_writes(), count);
  }

  uh::testing::TempDir dir_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_F(SqliteGroupCommitTest, WritesWaitingTogetherAreCommittedOnceAndKeepTheirOutcomes) {
  // A first write holds the writer until seven others wait behind it.
  std::atomic<bool> running{false};
  std::atomic<bool> release{false};
  std::thread first([&] {
    auto done = pool_->Write("first", [&](Connection& db) -> Expected<void> {
      running = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Insert(db, 0, "first");
    });
    EXPECT_TRUE(done) << done.error().message();
  });
  while (!running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::uint64_t commits = SqliteStoreMetrics().commits.load();

  constexpr int kWriters = 7;
  std::vector<std::string> outcomes(kWriters + 1);
  std::vector<std::thread> writers;
  for (int i = 1; i <= kWriters; ++i) {
    writers.emplace_back([&, i] {
      try {
        auto done =
            pool_->Write("write " + std::to_string(i), [&](Connection& db) -> Expected<void> {
              UH_TRY(Insert(db, i, "w" + std::to_string(i)));
              // Write 3 changes a row, then fails: its change is undone, nobody else's.
              if (i == 3) return Fail(Errc::kInvalidArgument, "refused");
              // Write 5 changes a row, then throws: the same, and the caller gets the exception.
              if (i == 5) throw std::runtime_error("thrown");
              // Write 6 breaks a constraint (the key of write 1's row, or of its own twice).
              if (i == 6) return Insert(db, 6, "again");
              return {};
            });
        outcomes[i] = done ? "ok" : done.error().message();
      } catch (const std::runtime_error& error) {
        outcomes[i] = std::string("exception: ") + error.what();
      }
    });
  }
  WaitForWaiting(kWriters);
  release = true;
  first.join();
  for (auto& writer : writers) writer.join();

  // The first group held the first write; the seven that waited made one more transaction.
  EXPECT_EQ(SqliteStoreMetrics().commits.load() - commits, 1U);
  EXPECT_EQ(outcomes[1], "ok");
  EXPECT_EQ(outcomes[2], "ok");
  EXPECT_EQ(outcomes[3], "write 3: refused");
  EXPECT_EQ(outcomes[4], "ok");
  EXPECT_EQ(outcomes[5], "exception: thrown");
  EXPECT_NE(outcomes[6].find("write 6: "), std::string::npos) << outcomes[6];
  EXPECT_EQ(outcomes[7], "ok");
  const std::vector<std::pair<int, std::string>> expected = {
      {0, "first"}, {1, "w1"}, {2, "w2"}, {4, "w4"}, {7, "w7"}};
  EXPECT_EQ(Rows(*pool_), expected);
}

TEST_F(SqliteGroupCommitTest, ManyThreadsWritingAtOnceAllLand) {
  constexpr int kThreads = 8;
  constexpr int kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int key = t * kEach + i;
        auto done = pool_->Write("write", [&](Connection& db) { return Insert(db, key, "v"); });
        EXPECT_TRUE(done) << done.error().message();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto rows = Rows(*pool_);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kThreads * kEach));
  for (int key = 0; key < kThreads * kEach; ++key)
    EXPECT_EQ(rows[static_cast<std::size_t>(key)].first, key);
}

}  // namespace
}  // namespace uh::server::testing
