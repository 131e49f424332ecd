// Storage contract: a rollout's devices counted, paged, and added by two threads at once.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <set>
#include <thread>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_P(StoreContractTest, RolloutStatsCountPerStageAndState) {
  constexpr int kStages = 3;
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 40);
  ASSERT_EQ(ids.size(), 40u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  const Rollout other = AddRollout(product.uid, package.uid);

  // Devices 0..35 in `rollout`, spread over four stages (the fourth counts as the last) and
  // every state; 36..39 in `other`.
  std::vector<RolloutDevice> members = Members(rollout.id, {ids.begin(), ids.begin() + 36});
  std::array<std::array<std::int64_t, kDeviceStateCount>, kStages> expected{};
  for (std::size_t i = 0; i < members.size(); ++i) {
    members[i].stage = static_cast<int>(i % 4);
    members[i].state = static_cast<DeviceState>(i % kDeviceStateCount);
    ++expected[std::min<std::size_t>(i % 4, kStages - 1)][i % kDeviceStateCount];
  }
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), members.size());
  ASSERT_EQ(
      Ok(store().AddRolloutDevices(product.uid, Members(other.id, {ids.begin() + 36, ids.end()}))),
      4u);

  UH_ASSERT_OK_AND_ASSIGN(stats, store().GetRolloutStats(rollout.id, kStages));
  ASSERT_EQ(stats.stages.size(), static_cast<std::size_t>(kStages));
  for (int stage = 0; stage < kStages; ++stage) {
    EXPECT_THAT(stats.stages[static_cast<std::size_t>(stage)],
                ::testing::ElementsAreArray(expected[static_cast<std::size_t>(stage)]))
        << "stage " << stage;
  }
  EXPECT_EQ(stats.Total(), 36);
  EXPECT_EQ(stats.Count(DeviceState::kPending), 6);

  RolloutDevice member = members[0];  // stage 0, pending
  member.state = DeviceState::kUpdated;
  ASSERT_TRUE(store().UpdateRolloutDevice(member));
  UH_ASSERT_OK_AND_ASSIGN(after, store().GetRolloutStats(rollout.id, kStages));
  EXPECT_EQ(after.stages[0][static_cast<std::size_t>(DeviceState::kPending)], expected[0][0] - 1);
  EXPECT_EQ(after.Count(DeviceState::kUpdated), stats.Count(DeviceState::kUpdated) + 1);

  // One stage: everyone counts there.
  EXPECT_EQ(Ok(store().GetRolloutStats(rollout.id, 1)).StageTotal(0), 36);
  UH_ASSERT_OK_AND_ASSIGN(other_stats, store().GetRolloutStats(other.id, kStages));
  EXPECT_EQ(other_stats.Total(), 4);
  UH_ASSERT_OK_AND_ASSIGN(empty, store().GetRolloutStats(rollout.id + 1000, 2));
  EXPECT_EQ(empty.stages.size(), 2u);
  EXPECT_EQ(empty.Total(), 0);
  auto no_stages = store().GetRolloutStats(rollout.id, 0);
  ASSERT_FALSE(no_stages);
  EXPECT_EQ(no_stages.error().code(), Errc::kInvalidArgument);
}

TEST_P(StoreContractTest, CountStartedSince) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 5);
  ASSERT_EQ(ids.size(), 5u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  const Rollout other = AddRollout(product.uid, package.uid);
  auto members = Members(rollout.id, ids);
  const char* kStarted[] = {"", "2026-06-01T00:59:59Z", "2026-06-01T01:00:00Z",
                            "2026-06-01T01:30:00Z", "2026-06-01T02:00:00Z"};
  for (std::size_t i = 0; i < members.size(); ++i) members[i].started_at = kStarted[i];
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), 5u);

  EXPECT_EQ(Ok(store().CountStartedSince(rollout.id, "2026-06-01T01:00:00Z")), 3);
  EXPECT_EQ(Ok(store().CountStartedSince(rollout.id, "")), 4);  // never started: not counted
  EXPECT_EQ(Ok(store().CountStartedSince(rollout.id, "2026-07-01T00:00:00Z")), 0);
  EXPECT_EQ(Ok(store().CountStartedSince(other.id, "")), 0);

  members[0].started_at = "2026-06-01T03:00:00Z";
  ASSERT_TRUE(store().UpdateRolloutDevice(members[0]));
  EXPECT_EQ(Ok(store().CountStartedSince(rollout.id, "2026-06-01T01:00:00Z")), 4);
}

TEST_P(StoreContractTest, PagingThroughRolloutDevicesReturnsEachOnce) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 27);
  ASSERT_EQ(ids.size(), 27u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  const Rollout other = AddRollout(product.uid, package.uid);
  // Added out of order; the last two go to the other rollout.
  const std::vector<std::int64_t> mine(ids.rbegin() + 2, ids.rend());
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(rollout.id, mine))), 25u);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(other.id, {ids[25], ids[26]}))), 2u);

  std::set<std::int64_t> seen;
  std::vector<std::size_t> page_sizes;
  std::int64_t after = 0;
  while (true) {
    UH_ASSERT_OK_AND_ASSIGN(page, store().ListRolloutDevices(rollout.id, after, 10));
    if (page.empty()) break;
    page_sizes.push_back(page.size());
    for (const RolloutDevice& member : page) {
      EXPECT_EQ(member.rollout_id, rollout.id);
      EXPECT_GT(member.device_id, after);  // ascending ids
      EXPECT_TRUE(seen.insert(member.device_id).second) << "device " << member.device_id;
      after = member.device_id;
    }
  }
  EXPECT_THAT(page_sizes, ElementsAre(10u, 10u, 5u));
  EXPECT_EQ(seen, std::set<std::int64_t>(mine.begin(), mine.end()));
  EXPECT_EQ(Ok(store().ListRolloutDevices(rollout.id, 0, 5000)).size(), 25u);  // capped
  EXPECT_THAT(Ok(store().ListRolloutDevices(rollout.id, 0, 0)), IsEmpty());
  EXPECT_THAT(Ok(store().ListRolloutDevices(rollout.id + 1000, 0, 10)), IsEmpty());

  // Only one state: three of the devices failed.
  for (std::size_t i = 0; i < 3; ++i) {
    RolloutDevice member = Members(rollout.id, {mine[i * 5]}).front();
    member.state = DeviceState::kFailed;
    member.error_message = "failure " + std::to_string(i);
    ASSERT_TRUE(store().UpdateRolloutDevice(member));
  }
  UH_ASSERT_OK_AND_ASSIGN(failed,
                          store().ListRolloutDevices(rollout.id, 0, 10, DeviceState::kFailed));
  ASSERT_EQ(failed.size(), 3u);
  EXPECT_LT(failed[0].device_id, failed[1].device_id);
  for (const RolloutDevice& member : failed) EXPECT_EQ(member.state, DeviceState::kFailed);
  UH_ASSERT_OK_AND_ASSIGN(
      rest, store().ListRolloutDevices(rollout.id, failed[0].device_id, 10, DeviceState::kFailed));
  EXPECT_EQ(rest.size(), 2u);
  EXPECT_EQ(Ok(store().ListRolloutDevices(rollout.id, 0, 100, DeviceState::kPending)).size(), 22u);
  EXPECT_THAT(Ok(store().ListRolloutDevices(rollout.id, 0, 100, DeviceState::kUpdated)), IsEmpty());
}

// Two servers starting rollouts of one product that select overlapping devices: each device
// ends up in exactly one of them.
TEST_P(StoreContractTest, ConcurrentAddRolloutDevicesGiveEachDeviceOneRollout) {
  constexpr int kDevices = 40;
  constexpr std::size_t kBatch = 5;
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, kDevices);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kDevices));
  const Rollout first = AddRollout(product.uid, package.uid);
  const Rollout second = AddRollout(product.uid, package.uid);
  // first wants devices 0..29 in order, second 39..10 backwards: they meet in the middle.
  const std::vector<std::int64_t> wanted[] = {{ids.begin(), ids.begin() + 30},
                                              {ids.rbegin(), ids.rbegin() + 30}};
  const std::int64_t rollout_ids[] = {first.id, second.id};

  std::mutex mutex;
  std::vector<std::string> errors;
  std::size_t added = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      const auto& mine = wanted[t];
      for (std::size_t i = 0; i < mine.size(); i += kBatch) {
        const std::vector<std::int64_t> batch(
            mine.begin() + static_cast<std::ptrdiff_t>(i),
            mine.begin() + static_cast<std::ptrdiff_t>(i + kBatch));
        auto result = store().AddRolloutDevices(product.uid, Members(rollout_ids[t], batch));
        std::lock_guard lock(mutex);
        if (result) {
          added += *result;
        } else {
          errors.push_back(result.error().message());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(added, static_cast<std::size_t>(kDevices));

  std::set<std::int64_t> in_first;
  std::set<std::int64_t> in_second;
  for (const RolloutDevice& m : Ok(store().ListRolloutDevices(first.id, 0, 100))) {
    in_first.insert(m.device_id);
  }
  for (const RolloutDevice& m : Ok(store().ListRolloutDevices(second.id, 0, 100))) {
    in_second.insert(m.device_id);
  }
  EXPECT_EQ(in_first.size() + in_second.size(), static_cast<std::size_t>(kDevices));
  for (int i = 0; i < kDevices; ++i) {
    const std::int64_t id = ids[static_cast<std::size_t>(i)];
    SCOPED_TRACE("device " + std::to_string(i));
    EXPECT_NE(in_first.count(id), in_second.count(id));  // in exactly one
    EXPECT_EQ(HolderOf(store(), id), in_first.count(id) != 0 ? first.id : second.id);
    if (i < 10) {
      EXPECT_EQ(in_first.count(id), 1u);
    } else if (i >= 30) {
      EXPECT_EQ(in_second.count(id), 1u);
    }
  }
}

}  // namespace
}  // namespace uh::server::testing
