// Contract tests of Store::RolloutProgress.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using ProgressRow = std::tuple<std::string, std::int64_t, std::int64_t>;  // minute, updated, failed

std::vector<ProgressRow> ProgressRows(const std::vector<RolloutProgressPoint>& points) {
  std::vector<ProgressRow> out;
  for (const RolloutProgressPoint& point : points) {
    out.emplace_back(point.minute, point.updated, point.failed);
  }
  return out;
}

// A member of `rollout_id` in `state`, last changed at `updated_at`.
RolloutDevice MemberAt(std::int64_t rollout_id, std::int64_t device_id, DeviceState state,
                       const std::string& updated_at) {
  return RolloutDevice{.rollout_id = rollout_id,
                       .device_id = device_id,
                       .stage = 0,
                       .state = state,
                       .error_message = "",
                       .started_at = "2026-06-01T09:00:00Z",
                       .updated_at = updated_at,
                       .retries = 0};
}

TEST_P(StoreContractTest, RolloutProgressCountsEndedDevicesByMinuteOldestFirst) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 9);
  ASSERT_EQ(ids.size(), 9u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  const Rollout other = AddRollout(product.uid, package.uid);
  // Given in no particular order; seconds of one minute count together.
  const std::vector<RolloutDevice> members = {
      MemberAt(rollout.id, ids[0], DeviceState::kUpdated, "2026-06-01T10:02:59Z"),
      MemberAt(rollout.id, ids[1], DeviceState::kFailed, "2026-06-01T10:00:10Z"),
      MemberAt(rollout.id, ids[2], DeviceState::kUpdated, "2026-06-01T10:00:00Z"),
      MemberAt(rollout.id, ids[3], DeviceState::kUpdated, "2026-06-01T10:00:59Z"),
      MemberAt(rollout.id, ids[4], DeviceState::kFailed, "2026-06-01T10:02:00Z"),
      // Not ended: not counted, whenever they last changed.
      MemberAt(rollout.id, ids[5], DeviceState::kPending, "2026-06-01T10:01:00Z"),
      MemberAt(rollout.id, ids[6], DeviceState::kDownloading, "2026-06-01T10:01:30Z"),
      MemberAt(rollout.id, ids[7], DeviceState::kInstalling, "2026-06-01T10:00:30Z"),
  };
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), members.size());
  ASSERT_EQ(
      Ok(store().AddRolloutDevices(product.uid, {MemberAt(other.id, ids[8], DeviceState::kUpdated,
                                                          "2026-06-01T10:01:00Z")})),
      1u);

  UH_ASSERT_OK_AND_ASSIGN(progress, store().RolloutProgress(rollout.id, 100));
  EXPECT_THAT(ProgressRows(progress), ElementsAre(ProgressRow{"2026-06-01T10:00", 2, 1},
                                                  ProgressRow{"2026-06-01T10:02", 1, 1}));
  EXPECT_THAT(ProgressRows(Ok(store().RolloutProgress(other.id, 100))),
              ElementsAre(ProgressRow{"2026-06-01T10:01", 1, 0}));
  EXPECT_THAT(Ok(store().RolloutProgress(rollout.id + 1000, 100)), IsEmpty());
}

TEST_P(StoreContractTest, RolloutProgressFollowsTheDevicesCurrentState) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 3);
  ASSERT_EQ(ids.size(), 3u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  ASSERT_EQ(Ok(store().AddRolloutDevices(
                product.uid,
                {MemberAt(rollout.id, ids[0], DeviceState::kFailed, "2026-06-01T10:00:00Z"),
                 MemberAt(rollout.id, ids[1], DeviceState::kFailed, "2026-06-01T10:00:20Z"),
                 MemberAt(rollout.id, ids[2], DeviceState::kInstalling, "2026-06-01T10:00:40Z")})),
            3u);
  EXPECT_THAT(ProgressRows(Ok(store().RolloutProgress(rollout.id, 10))),
              ElementsAre(ProgressRow{"2026-06-01T10:00", 0, 2}));

  // A retry takes one failed device back to pending; another device ends a minute later.
  UH_ASSERT_OK_AND_ASSIGN(
      retried, store().RetryFailedRolloutDevices(rollout.id, {ids[0]}, "2026-06-01T10:05:00Z"));
  EXPECT_THAT(retried, ElementsAre(ids[0]));
  ASSERT_TRUE(store().UpdateRolloutDevice(
      MemberAt(rollout.id, ids[2], DeviceState::kUpdated, "2026-06-01T10:06:30Z")));
  EXPECT_THAT(
      ProgressRows(Ok(store().RolloutProgress(rollout.id, 10))),
      ElementsAre(ProgressRow{"2026-06-01T10:00", 0, 1}, ProgressRow{"2026-06-01T10:06", 1, 0}));

  // The retried device succeeds: it counts at its new time only.
  ASSERT_TRUE(store().UpdateRolloutDevice(
      MemberAt(rollout.id, ids[0], DeviceState::kUpdated, "2026-06-01T10:06:00Z")));
  EXPECT_THAT(
      ProgressRows(Ok(store().RolloutProgress(rollout.id, 10))),
      ElementsAre(ProgressRow{"2026-06-01T10:00", 0, 1}, ProgressRow{"2026-06-01T10:06", 2, 0}));

  // An archived rollout keeps its history.
  Rollout stopped = Ok(store().GetRollout(rollout.id)).value_or(Rollout{});
  ASSERT_EQ(stopped.id, rollout.id);
  stopped.state = RolloutState::kStopped;
  ASSERT_TRUE(store().UpdateRollout(stopped));
  EXPECT_THAT(
      ProgressRows(Ok(store().RolloutProgress(rollout.id, 10))),
      ElementsAre(ProgressRow{"2026-06-01T10:00", 0, 1}, ProgressRow{"2026-06-01T10:06", 2, 0}));
}

TEST_P(StoreContractTest, RolloutProgressKeepsTheLatestMinutesUpToTheLimit) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 5);
  ASSERT_EQ(ids.size(), 5u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  std::vector<RolloutDevice> members;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    members.push_back(MemberAt(rollout.id, ids[i], DeviceState::kUpdated,
                               "2026-06-01T1" + std::to_string(i) + ":00:00Z"));
  }
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), members.size());

  EXPECT_THAT(
      ProgressRows(Ok(store().RolloutProgress(rollout.id, 2))),
      ElementsAre(ProgressRow{"2026-06-01T13:00", 1, 0}, ProgressRow{"2026-06-01T14:00", 1, 0}));
  EXPECT_THAT(ProgressRows(Ok(store().RolloutProgress(rollout.id, 1))),
              ElementsAre(ProgressRow{"2026-06-01T14:00", 1, 0}));
  EXPECT_THAT(Ok(store().RolloutProgress(rollout.id, 0)), IsEmpty());
  // A limit beyond the store's page size is capped, not an error.
  UH_ASSERT_OK_AND_ASSIGN(
      all, store().RolloutProgress(rollout.id, std::numeric_limits<std::size_t>::max()));
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().minute, "2026-06-01T10:00");
  EXPECT_EQ(all.back().minute, "2026-06-01T14:00");
}

}  // namespace
}  // namespace uh::server::testing
