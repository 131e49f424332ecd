// Contract tests of the audit log: one hash chain, also when appends race (threads of one
// server, or several servers on one database), filters and paging, and text kept as it came.

#include <atomic>
#include <thread>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

AuditEntry Entry(const std::string& actor, const std::string& action, const std::string& at) {
  AuditEntry entry;
  entry.at = at;
  entry.actor = actor;
  entry.user_id = 3;
  entry.token = "sha256:0123456789ab";
  entry.address = "192.0.2.7";
  entry.action = action;
  entry.target = "rollout 1";
  entry.status = 200;
  entry.detail = R"({"reason":"test"})";
  return entry;
}

// Filters field by field (AuditFilter's optional members have no default initialisers).
AuditFilter AuditBy(std::optional<std::string> actor, std::optional<std::string> action = {}) {
  AuditFilter filter;
  filter.actor = std::move(actor);
  filter.action = std::move(action);
  return filter;
}
AuditFilter AuditBetween(const std::string& since, const std::string& until) {
  AuditFilter filter;
  filter.since = since;
  filter.until = until;
  return filter;
}
AuditFilter AuditPage(std::int64_t before_id, std::size_t limit) {
  AuditFilter filter;
  filter.before_id = before_id;
  filter.limit = limit;
  return filter;
}

// Every row, oldest first, checked to make one chain.
void ExpectOneChain(Store& store, std::size_t rows) {
  auto all = store.ListAuditAfter(0, 1000);
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), rows);
  std::string previous;
  for (std::size_t i = 0; i < all->size(); ++i) {
    const AuditEntry& entry = (*all)[i];
    EXPECT_EQ(entry.id, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(entry.prev_hash, previous) << "row " << entry.id;
    EXPECT_EQ(entry.hash, AuditEntryHash(entry)) << "row " << entry.id;
    previous = entry.hash;
  }
}

TEST_P(StoreContractTest, AuditEntriesMakeOneChainAndKeepTheirText) {
  UH_ASSERT_OK_AND_ASSIGN(first,
                          store().AppendAudit(Entry("ops", "login", "2026-06-01T00:00:00Z")));
  EXPECT_EQ(first.id, 1);
  EXPECT_EQ(first.prev_hash, "");
  EXPECT_EQ(first.hash, AuditEntryHash(first));
  std::int64_t expected_id = 2;
  for (const std::string& hostile : HostileStrings()) {
    AuditEntry entry = Entry(hostile, "login.failed", "2026-06-01T00:01:00Z");
    entry.target = hostile;
    entry.detail = nlohmann::json{{"tried", hostile}}.dump();
    UH_ASSERT_OK_AND_ASSIGN(stored, store().AppendAudit(entry));
    EXPECT_EQ(stored.id, expected_id++);
    UH_ASSERT_OK_AND_ASSIGN(found, store().FindAudit(AuditBy(hostile)));
    ASSERT_EQ(found.size(), 1u) << hostile;
    EXPECT_EQ(found[0].target, hostile);
    EXPECT_EQ(found[0].detail, entry.detail);
    EXPECT_EQ(found[0].hash, stored.hash);
  }
  // An empty time is the store's now.
  UH_ASSERT_OK_AND_ASSIGN(now, store().AppendAudit(Entry("ops", "logout", "")));
  EXPECT_TRUE(IsUtcTime(now.at)) << now.at;
  ExpectOneChain(store(), HostileStrings().size() + 2);
  Reopen();
  ExpectOneChain(store(), HostileStrings().size() + 2);
}

TEST_P(StoreContractTest, AuditIsFilteredAndPagedNewestFirst) {
  for (int i = 0; i < 10; ++i) {
    const std::string at = "2026-06-01T00:0" + std::to_string(i) + ":00Z";
    ASSERT_TRUE(store().AppendAudit(
        Entry(i % 2 == 0 ? "alice" : "bob", i < 5 ? "rollout.pause" : "rollout.resume", at)));
  }
  UH_ASSERT_OK_AND_ASSIGN(alice, store().FindAudit(AuditBy("alice")));
  ASSERT_EQ(alice.size(), 5u);
  EXPECT_EQ(alice.front().id, 9);  // newest first
  EXPECT_EQ(alice.back().id, 1);
  UH_ASSERT_OK_AND_ASSIGN(resumes, store().FindAudit(AuditBy(std::nullopt, "rollout.resume")));
  EXPECT_EQ(resumes.size(), 5u);
  UH_ASSERT_OK_AND_ASSIGN(
      window, store().FindAudit(AuditBetween("2026-06-01T00:03:00Z", "2026-06-01T00:06:00Z")));
  ASSERT_EQ(window.size(), 3u);
  EXPECT_EQ(window.front().id, 6);
  EXPECT_EQ(window.back().id, 4);
  // Pages of 4, each from before the last one's smallest id: every row once.
  std::vector<std::int64_t> seen;
  std::int64_t before = 0;
  while (true) {
    UH_ASSERT_OK_AND_ASSIGN(page, store().FindAudit(AuditPage(before, 4)));
    if (page.empty()) break;
    for (const auto& entry : page) seen.push_back(entry.id);
    before = page.back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  UH_ASSERT_OK_AND_ASSIGN(after, store().ListAuditAfter(7, 100));
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after.front().id, 8);
  UH_ASSERT_OK_AND_ASSIGN(none, store().FindAudit(AuditPage(0, 0)));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreContractTest, ConcurrentAuditAppendsStillMakeOneChain) {
  constexpr int kThreads = 6;
  constexpr int kEach = 15;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!store().AppendAudit(Entry("t" + std::to_string(t), "login", ""))) ++failed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  ExpectOneChain(store(), kThreads * kEach);
}

}  // namespace
}  // namespace uh::server::testing
