// Contract tests of the store's conditional writes, on which several servers sharing one
// database rely: a rollout saved only over the revision it was read at, and a device's first
// offer taking a slot of the rollout's rate in the same transaction as counting them.

#include <atomic>
#include <thread>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

TEST_P(StoreContractTest, RolloutIsSavedOnlyOverTheRevisionItWasReadAt) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Rollout created = AddRollout(product.uid, package.uid);
  UH_ASSERT_OK_AND_ASSIGN(read, store().GetRollout(created.id));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->revision, 0);

  // Two servers read the same rollout; the first saves its change, the second's is refused.
  Rollout first = *read;
  first.state = RolloutState::kPaused;
  first.reason = "paused by first";
  Rollout second = *read;
  second.current_stage = 1;
  UH_ASSERT_OK_AND_ASSIGN(saved, store().UpdateRolloutIfUnchanged(first));
  EXPECT_TRUE(saved);
  UH_ASSERT_OK_AND_ASSIGN(refused, store().UpdateRolloutIfUnchanged(second));
  EXPECT_FALSE(refused);
  UH_ASSERT_OK_AND_ASSIGN(now, store().GetRollout(created.id));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->state, RolloutState::kPaused);
  EXPECT_EQ(now->reason, "paused by first");
  EXPECT_EQ(now->current_stage, 0);
  EXPECT_EQ(now->revision, 1);

  // Made again from what is stored now, it is saved.
  second = *now;
  second.current_stage = 1;
  UH_ASSERT_OK_AND_ASSIGN(again, store().UpdateRolloutIfUnchanged(second));
  EXPECT_TRUE(again);
  // An unconditional save moves the revision on too, so that readers before it are refused.
  Rollout unconditional = second;
  unconditional.revision = 2;
  ASSERT_TRUE(store().UpdateRollout(unconditional));
  UH_ASSERT_OK_AND_ASSIGN(last, store().GetRollout(created.id));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->revision, 3);
  UH_ASSERT_OK_AND_ASSIGN(stale, store().UpdateRolloutIfUnchanged(second));
  EXPECT_FALSE(stale);

  // The rules of UpdateRollout hold as well: unknown id, an archived rollout stays archived.
  Rollout missing = *last;
  missing.id = created.id + 100;
  auto unknown = store().UpdateRolloutIfUnchanged(missing);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::kNotFound);
  Rollout stopped = *last;
  stopped.state = RolloutState::kStopped;
  UH_ASSERT_OK_AND_ASSIGN(archived, store().UpdateRolloutIfUnchanged(stopped));
  EXPECT_TRUE(archived);
  Rollout revived = stopped;
  revived.revision = stopped.revision + 1;
  revived.state = RolloutState::kRunning;
  auto refused_revival = store().UpdateRolloutIfUnchanged(revived);
  ASSERT_FALSE(refused_revival);
  EXPECT_EQ(refused_revival.error().code(), Errc::kInvalidArgument);
}

TEST_P(StoreContractTest, ConcurrentConditionalSavesLetExactlyOneWin) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Rollout created = AddRollout(product.uid, package.uid);
  constexpr int kWriters = 6;
  std::atomic<int> won{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      Rollout mine = created;
      mine.reason = "writer " + std::to_string(i);
      auto saved = store().UpdateRolloutIfUnchanged(mine);
      if (!saved) {
        ++failed;
      } else if (*saved) {
        ++won;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(won.load(), 1);
  UH_ASSERT_OK_AND_ASSIGN(now, store().GetRollout(created.id));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->revision, 1);
}

TEST_P(StoreContractTest, StartingDevicesTakesTheRatesSlots) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 5);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  UH_ASSERT_OK_AND_ASSIGN(added, store().AddRolloutDevices(product.uid, Members(rollout.id, ids)));
  ASSERT_EQ(added, 5u);
  const std::string since = "2026-06-01T00:00:00Z";
  const std::string at = "2026-06-01T00:30:00Z";
  auto member = [&](std::int64_t id) {
    RolloutDevice place;
    place.rollout_id = rollout.id;
    place.device_id = id;
    return place;
  };
  // A rate of 2: two devices start, the third waits.
  for (int i = 0; i < 2; ++i) {
    UH_ASSERT_OK_AND_ASSIGN(started, store().StartRolloutDevice(member(ids[i]), 2, since, at));
    EXPECT_TRUE(started) << i;
  }
  UH_ASSERT_OK_AND_ASSIGN(third, store().StartRolloutDevice(member(ids[2]), 2, since, at));
  EXPECT_FALSE(third);
  // A device that started already is started, whatever the rate says; it keeps its time.
  UH_ASSERT_OK_AND_ASSIGN(
      first_again, store().StartRolloutDevice(member(ids[0]), 2, since, "2026-06-01T00:40:00Z"));
  EXPECT_TRUE(first_again);
  UH_ASSERT_OK_AND_ASSIGN(places, store().FindRolloutDevices(rollout.id, ids));
  ASSERT_EQ(places.size(), 5u);
  EXPECT_EQ(places[0].started_at, at);
  EXPECT_EQ(places[0].updated_at, at);
  EXPECT_EQ(places[1].started_at, at);
  EXPECT_EQ(places[2].started_at, "");
  // Starts before the window's beginning do not count; no rate: always.
  UH_ASSERT_OK_AND_ASSIGN(later,
                          store().StartRolloutDevice(member(ids[2]), 2, "2026-06-01T00:31:00Z",
                                                     "2026-06-01T01:31:00Z"));
  EXPECT_TRUE(later);
  UH_ASSERT_OK_AND_ASSIGN(unlimited, store().StartRolloutDevice(member(ids[3]), 0, since, at));
  EXPECT_TRUE(unlimited);
  UH_ASSERT_OK_AND_ASSIGN(counted, store().CountStartedSince(rollout.id, since));
  EXPECT_EQ(counted, 4);
}

TEST_P(StoreContractTest, ConcurrentStartsNeverExceedTheRate) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  constexpr int kDevices = 24;
  constexpr std::int64_t kRate = 5;
  const auto ids = AddDevices(product.uid, kDevices);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  ASSERT_TRUE(store().AddRolloutDevices(product.uid, Members(rollout.id, ids)));
  std::atomic<int> started{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> servers;
  for (int t = 0; t < 6; ++t) {
    servers.emplace_back([&, t] {
      for (int i = t; i < kDevices; i += 6) {
        RolloutDevice place;
        place.rollout_id = rollout.id;
        place.device_id = ids[static_cast<std::size_t>(i)];
        auto done = store().StartRolloutDevice(place, kRate, "2026-06-01T00:00:00Z",
                                               "2026-06-01T00:10:00Z");
        if (!done) {
          ++failed;
        } else if (*done) {
          ++started;
        }
      }
    });
  }
  for (auto& server : servers) server.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(started.load(), kRate);
  UH_ASSERT_OK_AND_ASSIGN(counted, store().CountStartedSince(rollout.id, "2026-06-01T00:00:00Z"));
  EXPECT_EQ(counted, kRate);
}

}  // namespace
}  // namespace uh::server::testing
