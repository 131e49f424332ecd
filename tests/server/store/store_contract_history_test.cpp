// Storage contract: retrying failed rollout devices, devices held by other rollouts, selections
// counted by the database, the statistics of many rollouts at once, and a device's history
// (versions, rollouts).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_P(StoreContractTest, RetryFailedRolloutDevicesGivesOnlyFailedOnesANewAttempt) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 4);
  ASSERT_EQ(ids.size(), 4u);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  auto members = Members(rollout.id, ids);
  for (std::size_t i = 0; i < 3; ++i) {
    members[i].state = DeviceState::kFailed;
    members[i].error_message = "broken " + std::to_string(i);
    members[i].started_at = "2026-06-01T00:00:00Z";
  }
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), 4u);

  // Listed: only the failed ones of the list change.
  EXPECT_THAT(
      Ok(store().RetryFailedRolloutDevices(rollout.id, {ids[0], ids[3]}, "2026-06-02T00:00:00Z")),
      ElementsAre(ids[0]));
  UH_ASSERT_OK_AND_ASSIGN(first, store().FindRolloutDevices(rollout.id, {ids[0], ids[1], 999}));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].state, DeviceState::kPending);
  EXPECT_EQ(first[0].error_message, "");
  EXPECT_EQ(first[0].started_at, "");
  EXPECT_EQ(first[0].updated_at, "2026-06-02T00:00:00Z");
  EXPECT_EQ(first[0].retries, 1);
  EXPECT_EQ(first[1].state, DeviceState::kFailed);
  EXPECT_EQ(first[1].retries, 0);

  // All: the other failed ones; the counts follow.
  EXPECT_THAT(Ok(store().RetryFailedRolloutDevices(rollout.id, {}, "2026-06-03T00:00:00Z")),
              ElementsAre(ids[1], ids[2]));
  UH_ASSERT_OK_AND_ASSIGN(stats, store().GetRolloutStats(rollout.id, 1));
  EXPECT_EQ(stats.Count(DeviceState::kFailed), 0);
  EXPECT_EQ(stats.Count(DeviceState::kPending), 4);
  EXPECT_THAT(Ok(store().RetryFailedRolloutDevices(rollout.id, {}, "2026-06-04T00:00:00Z")),
              IsEmpty());

  // An archived rollout's devices are not its own any more: nothing changes.
  RolloutDevice again = Ok(store().FindRolloutDevice(ids[0])).value();
  again.state = DeviceState::kFailed;
  ASSERT_TRUE(store().UpdateRolloutDevice(again));
  Rollout stopped = rollout;
  stopped.state = RolloutState::kStopped;
  ASSERT_TRUE(store().UpdateRollout(stopped));
  EXPECT_THAT(Ok(store().RetryFailedRolloutDevices(rollout.id, {}, "2026-06-05T00:00:00Z")),
              IsEmpty());
}

TEST_P(StoreContractTest, HeldDevicesAreThoseOfActiveRollouts) {
  const Product product = AddProduct(1);
  const Product other_product = AddProduct(2);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 4);
  const Rollout active = AddRollout(product.uid, package.uid);
  const Rollout archived = AddRollout(product.uid, package.uid);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(active.id, {ids[0], ids[1]}))), 2u);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(archived.id, {ids[2]}))), 1u);
  Rollout finished = archived;
  finished.state = RolloutState::kFinished;
  ASSERT_TRUE(store().UpdateRollout(finished));
  EXPECT_THAT(Ok(store().HeldDevices(product.uid, {ids[3], ids[2], ids[1], ids[0], 999})),
              ElementsAre(ids[0], ids[1]));
  EXPECT_THAT(Ok(store().HeldDevices(other_product.uid, ids)), IsEmpty());
  EXPECT_THAT(Ok(store().HeldDevices(product.uid, {})), IsEmpty());
}

TEST_P(StoreContractTest, StatisticsOfManyRolloutsInOneRead) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 6);
  const Rollout one = AddRollout(product.uid, package.uid);
  const Rollout two = AddRollout(product.uid, package.uid);
  const Rollout empty = AddRollout(product.uid, package.uid);
  auto first = Members(one.id, {ids[0], ids[1], ids[2]});
  first[0].state = DeviceState::kUpdated;
  first[1].stage = 2;
  first[1].started_at = "2026-06-01T01:00:00Z";
  first[2].started_at = "2026-06-01T00:00:00Z";
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, first)), 3u);
  auto second = Members(two.id, {ids[3], ids[4]});
  second[0].started_at = "2026-06-01T02:00:00Z";
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, second)), 2u);

  UH_ASSERT_OK_AND_ASSIGN(all, store().GetRolloutStatsOf({two, empty, one}));
  ASSERT_EQ(all.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const Rollout& rollout = i == 0 ? two : (i == 1 ? empty : one);
    UH_ASSERT_OK_AND_ASSIGN(
        alone, store().GetRolloutStats(rollout.id, static_cast<int>(rollout.stages.size())));
    EXPECT_EQ(all[i].stages, alone.stages) << "rollout " << rollout.id;
  }
  EXPECT_EQ(all[2].Count(DeviceState::kUpdated), 1);
  EXPECT_EQ(all[1].Total(), 0);
  EXPECT_THAT(Ok(store().GetRolloutStatsOf({})), IsEmpty());

  UH_ASSERT_OK_AND_ASSIGN(
      started, store().CountStartedSinceOf({one.id, two.id, empty.id}, "2026-06-01T01:00:00Z"));
  EXPECT_EQ(started, (std::map<std::int64_t, std::int64_t>{{one.id, 1}, {two.id, 1}}));
}

TEST_P(StoreContractTest, ADeviceKeepsItsVersionsAndRollouts) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  DeviceProbe probe = MakeProbe(product.uid, "h");
  UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(probe));
  probe.seen_at = "2026-02-02T00:00:00Z";
  ASSERT_TRUE(store().UpsertDevice(probe));  // the same version: no new row
  probe.version = "2.0";
  probe.seen_at = "2026-02-03T00:00:00Z";
  ASSERT_TRUE(store().UpsertDevice(probe));
  UH_ASSERT_OK_AND_ASSIGN(versions, store().ListDeviceVersions(device.id, 0, 10));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, "2.0");
  EXPECT_EQ(versions[0].since, "2026-02-03T00:00:00Z");
  EXPECT_EQ(versions[1].version, "1.0.0");
  EXPECT_EQ(versions[1].since, "2026-02-01T00:00:00Z");
  UH_ASSERT_OK_AND_ASSIGN(older, store().ListDeviceVersions(device.id, versions[0].id, 10));
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].version, "1.0.0");

  const Rollout first = AddRollout(product.uid, package.uid);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(first.id, {device.id}))), 1u);
  Rollout stopped = first;
  stopped.state = RolloutState::kStopped;
  ASSERT_TRUE(store().UpdateRollout(stopped));
  const Rollout second = AddRollout(product.uid, package.uid);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(second.id, {device.id}))), 1u);
  UH_ASSERT_OK_AND_ASSIGN(rollouts, store().ListDeviceRollouts(device.id, 0, 10));
  ASSERT_EQ(rollouts.size(), 2u);
  EXPECT_EQ(rollouts[0].place.rollout_id, second.id);
  EXPECT_TRUE(rollouts[0].active);
  EXPECT_EQ(rollouts[0].rollout_state, RolloutState::kRunning);
  EXPECT_EQ(rollouts[0].package_uid, package.uid);
  EXPECT_EQ(rollouts[0].package_version, package.version);
  EXPECT_EQ(rollouts[1].place.rollout_id, first.id);
  EXPECT_FALSE(rollouts[1].active);
  EXPECT_EQ(rollouts[1].rollout_state, RolloutState::kStopped);
  UH_ASSERT_OK_AND_ASSIGN(page, store().ListDeviceRollouts(device.id, second.id, 10));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].place.rollout_id, first.id);
  EXPECT_THAT(Ok(store().ListDeviceRollouts(device.id + 100, 0, 10)), IsEmpty());
}

TEST_P(StoreContractTest, CountSelectionGroupsWhatDecidesARollout) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  const Package package = AddPackage(product.uid, 1);
  auto add = [&](const std::string& product_uid, const std::string& identity,
                 const std::string& hardware, const std::string& version) {
    DeviceProbe probe = MakeProbe(product_uid, "x");
    probe.identity = identity;
    probe.hardware = hardware;
    probe.version = version;
    return Ok(store().UpsertDevice(probe)).id;
  };
  const auto a = add(product.uid, R"({"serial":"a","mac":["m1","m2"]})", "hw1", "1.0");
  const auto b = add(product.uid, R"({"serial":"b","mac":"m1"})", "hw1", "2.0");
  const auto c = add(product.uid, R"({"serial":"c","mac":7})", "hw2", "1.0");
  const auto d = add(product.uid, R"({"serial":"d","mac":{"x":"m1"}})", "hw1", "1.0");
  const auto e = add(other.uid, R"({"serial":"e","mac":"m1"})", "hw1", "1.0");
  ASSERT_TRUE(Ok(store().SetDeviceAuthState(d, "pending")));
  const Rollout holder = AddRollout(product.uid, package.uid);
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(holder.id, {b}))), 1u);

  auto total = [](const SelectionCounts& counts) {
    std::int64_t n = 0;
    for (const auto& group : counts.groups) n += group.devices;
    return n;
  };
  Selection everyone;
  UH_ASSERT_OK_AND_ASSIGN(all, store().CountSelection(product.uid, everyone));
  EXPECT_EQ(total(all), 4);
  EXPECT_THAT(all.unknown_ids, IsEmpty());
  for (const SelectionGroup& group : all.groups) {
    SCOPED_TRACE(group.example_id);
    EXPECT_EQ(group.held, group.example_id == b);
    EXPECT_EQ(group.accepted, group.example_id != d);
  }

  // The key's value is the text or a list holding it; numbers and objects never match.
  Selection by_mac;
  by_mac.identity = {{"mac", "m1"}};
  UH_ASSERT_OK_AND_ASSIGN(macs, store().CountSelection(product.uid, by_mac));
  EXPECT_EQ(total(macs), 2);  // a and b
  Selection by_version;
  by_version.versions = {"1.0"};
  by_version.hardware = {"hw1", "hw2"};
  by_version.attributes = {{"region", "eu"}};
  UH_ASSERT_OK_AND_ASSIGN(versions, store().CountSelection(product.uid, by_version));
  EXPECT_EQ(total(versions), 3);  // a, c, d
  by_version.attributes = {{"region", "us"}};
  EXPECT_EQ(total(Ok(store().CountSelection(product.uid, by_version))), 0);

  Selection listed;
  listed.device_ids = {c, e, a, 999, c};
  UH_ASSERT_OK_AND_ASSIGN(ids, store().CountSelection(product.uid, listed));
  EXPECT_EQ(total(ids), 2);  // a and c; e is another product's
  EXPECT_THAT(ids.unknown_ids, ElementsAre(e, 999));
}

}  // namespace
}  // namespace uh::server::testing
