// Storage contract: rollouts, which devices they hold, and what they do to package deletion.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::int64_t> Ids(const std::vector<Rollout>& rollouts) {
  std::vector<std::int64_t> ids;
  for (const Rollout& rollout : rollouts) ids.push_back(rollout.id);
  return ids;
}

// Moves the rollout to `state` through UpdateRollout.
void SetState(Store& store, Rollout& rollout, RolloutState state) {
  rollout.state = state;
  auto updated = store.UpdateRollout(rollout);
  ASSERT_TRUE(updated) << updated.error().message();
}

TEST_P(StoreContractTest, RolloutsCreateGetAndList) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Product other = AddProduct(2);
  Rollout first = MakeRollout(product.uid, package.uid);
  UH_ASSERT_OK_AND_ASSIGN(created, store().CreateRollout(first));
  EXPECT_GT(created.id, 0);
  first.id = created.id;
  EXPECT_EQ(Fields(created), Fields(first));
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetRollout(created.id));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(first));
  EXPECT_FALSE(Ok(store().GetRollout(created.id + 1000)).has_value());

  // Defaults: an explicit device list, one stage, no threshold or window, no creation time.
  Rollout plain;
  plain.product_uid = product.uid;
  plain.package_uid = package.uid;
  plain.selection.device_ids = {3, 1, 2};
  plain.stages = {Stage{}};
  UH_ASSERT_OK_AND_ASSIGN(second, store().CreateRollout(plain));
  EXPECT_TRUE(IsUtcTime(second.created_at)) << second.created_at;
  plain.id = second.id;
  plain.created_at = second.created_at;
  EXPECT_EQ(Fields(Ok(store().GetRollout(second.id)).value()), Fields(plain));
  EXPECT_GT(second.id, created.id);

  Rollout elsewhere = AddRollout(other.uid, package.uid);
  SetState(store(), second, RolloutState::kFinished);
  Rollout stopped = AddRollout(product.uid, package.uid);
  SetState(store(), stopped, RolloutState::kStopped);

  EXPECT_THAT(Ids(Ok(store().ListRollouts(product.uid, false))), ElementsAre(created.id));
  EXPECT_THAT(Ids(Ok(store().ListRollouts(product.uid, true))),
              ElementsAre(created.id, second.id, stopped.id));
  EXPECT_THAT(Ids(Ok(store().ListRollouts("", false))), ElementsAre(created.id, elsewhere.id));
  EXPECT_THAT(Ids(Ok(store().ListRollouts("", true))),
              ElementsAre(created.id, second.id, elsewhere.id, stopped.id));
  EXPECT_THAT(Ok(store().ListRollouts(Hex64(99), true)), IsEmpty());
  EXPECT_EQ(Fields(Ok(store().ListRollouts(product.uid, false)).at(0)), Fields(first));

  Reopen();
  EXPECT_EQ(Fields(Ok(store().GetRollout(created.id)).value()), Fields(first));
}

TEST_P(StoreContractTest, CreateRolloutRefusesWhatCouldNotBeReadBack) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  auto expect_refused = [&](const Rollout& rollout, const std::string& why) {
    SCOPED_TRACE(why);
    auto created = store().CreateRollout(rollout);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code(), Errc::kInvalidArgument) << created.error().message();
  };
  Rollout rollout = MakeRollout(product.uid, package.uid);
  rollout.product_uid = Hex64(99);
  expect_refused(rollout, "unknown product");
  rollout = MakeRollout(product.uid, package.uid);
  rollout.stages.clear();
  expect_refused(rollout, "no stages");
  rollout = MakeRollout(product.uid, package.uid);
  rollout.stages.back().percent = 80;
  expect_refused(rollout, "last stage short of 100%");
  rollout = MakeRollout(product.uid, package.uid);
  rollout.current_stage = 3;
  expect_refused(rollout, "no such stage");
  rollout = MakeRollout(product.uid, package.uid);
  rollout.selection.hardware = {std::string("\xff\xfe")};
  expect_refused(rollout, "not UTF-8");
  EXPECT_THAT(Ok(store().ListRollouts("", true)), IsEmpty());
}

TEST_P(StoreContractTest, UpdateRolloutSavesProgressAndThreshold) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  Rollout rollout = AddRollout(product.uid, package.uid, RolloutState::kScheduled);
  Rollout changed = rollout;
  changed.state = RolloutState::kPaused;
  changed.current_stage = 2;
  changed.stage_succeeded_at = "2026-06-02T03:04:05Z";
  changed.reason = "paused by ops at 2026-06-02T03:04:06Z";
  changed.paused_by = "ops";
  changed.paused_at = "2026-06-02T03:04:06Z";
  changed.threshold = {50, std::nullopt, 4};
  changed.started_at = "2026-06-01T02:00:00Z";
  changed.finished_at = "2026-06-03T00:00:00Z";
  ASSERT_TRUE(store().UpdateRollout(changed));
  EXPECT_EQ(Fields(Ok(store().GetRollout(rollout.id)).value()), Fields(changed));

  // What defines the rollout is fixed once it is created.
  Rollout redefined = changed;
  redefined.name = "renamed";
  redefined.package_uid = Hex64(77);
  redefined.selection.hardware = {"other"};
  redefined.start_at = "2030-01-01T00:00:00Z";
  ASSERT_TRUE(store().UpdateRollout(redefined));
  EXPECT_EQ(Fields(Ok(store().GetRollout(rollout.id)).value()), Fields(changed));

  changed.current_stage = 3;
  auto bad_stage = store().UpdateRollout(changed);
  ASSERT_FALSE(bad_stage);
  EXPECT_EQ(bad_stage.error().code(), Errc::kInvalidArgument);
  changed.current_stage = 0;
  changed.id = rollout.id + 1000;
  auto missing = store().UpdateRollout(changed);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
}

TEST_P(StoreContractTest, ArchivedRolloutStaysArchived) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  Rollout rollout = AddRollout(product.uid, package.uid);
  SetState(store(), rollout, RolloutState::kStopped);
  SetState(store(), rollout, RolloutState::kFinished);  // archived to archived is fine
  rollout.state = RolloutState::kRunning;
  auto revived = store().UpdateRollout(rollout);
  ASSERT_FALSE(revived);
  EXPECT_EQ(revived.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(Ok(store().GetRollout(rollout.id)).value().state, RolloutState::kFinished);
}

TEST_P(StoreContractTest, ADeviceIsInOneActiveRolloutPerProduct) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Product other = AddProduct(2);
  const auto d = AddDevices(product.uid, 4);
  ASSERT_EQ(d.size(), 4u);
  Rollout first = AddRollout(product.uid, package.uid);
  Rollout second = AddRollout(product.uid, package.uid);
  Rollout foreign = AddRollout(other.uid, package.uid);

  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(first.id, {d[0], d[1], d[2]}))), 3u);
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(second.id, {d[1], d[2], d[3]}))), 1u);
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(first.id, {d[0]}))), 0u);
  // The index is per product: another product's rollout does not compete.
  EXPECT_EQ(Ok(store().AddRolloutDevices(other.uid, Members(foreign.id, {d[0], d[1]}))), 2u);
  EXPECT_EQ(HolderOf(store(), d[0]), first.id);
  EXPECT_EQ(HolderOf(store(), d[1]), first.id);
  EXPECT_EQ(HolderOf(store(), d[3]), second.id);

  // Archiving frees the devices, whichever way the rollout ended.
  SetState(store(), first, RolloutState::kStopped);
  EXPECT_EQ(HolderOf(store(), d[0]), 0);
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(second.id, {d[0], d[1], d[2]}))), 3u);
  EXPECT_EQ(HolderOf(store(), d[1]), second.id);
  SetState(store(), second, RolloutState::kFinished);
  Rollout third = AddRollout(product.uid, package.uid);
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(third.id, d))), 4u);
  EXPECT_EQ(HolderOf(store(), d[3]), third.id);

  // An archived rollout keeps its history but takes no one.
  EXPECT_EQ(Ok(store().ListRolloutDevices(first.id, 0, 100)).size(), 3u);
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(first.id, d))), 0u);
  EXPECT_EQ(Ok(store().ListRolloutDevices(first.id, 0, 100)).size(), 3u);
}

TEST_P(StoreContractTest, AddRolloutDevicesRefusesDanglingReferencesWhole) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Product other = AddProduct(2);
  const auto d = AddDevices(product.uid, 2);
  Rollout rollout = AddRollout(product.uid, package.uid);
  const struct {
    const char* why;
    std::string product;
    std::vector<RolloutDevice> members;
  } kCases[] = {
      {"unknown device", product.uid, Members(rollout.id, {d[0], d[1] + 1000})},
      {"unknown rollout", product.uid, Members(rollout.id + 1000, {d[0]})},
      {"another product's rollout", other.uid, Members(rollout.id, {d[0]})},
  };
  for (const auto& test : kCases) {
    SCOPED_TRACE(test.why);
    auto added = store().AddRolloutDevices(test.product, test.members);
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code(), Errc::kInvalidArgument) << added.error().message();
  }
  EXPECT_THAT(Ok(store().ListRolloutDevices(rollout.id, 0, 100)), IsEmpty());
  EXPECT_EQ(Ok(store().AddRolloutDevices(product.uid, {})), 0u);
}

TEST_P(StoreContractTest, FindAndUpdateRolloutDevice) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto d = AddDevices(product.uid, 2);
  Rollout rollout = AddRollout(product.uid, package.uid);
  RolloutDevice member{
      rollout.id, d[0], 2, DeviceState::kUpdated, "none", "", "2026-06-01T00:00:00Z"};
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, {member})), 1u);
  UH_ASSERT_OK_AND_ASSIGN(found, store().FindRolloutDevice(d[0]));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(member));
  EXPECT_FALSE(Ok(store().FindRolloutDevice(d[1])).has_value());

  RolloutDevice changed = member;
  changed.state = DeviceState::kFailed;
  changed.error_message = "install failed: no space";
  changed.started_at = "2026-06-01T01:00:00Z";
  changed.updated_at = "2026-06-01T02:00:00Z";
  ASSERT_TRUE(store().UpdateRolloutDevice(changed));
  EXPECT_EQ(Fields(Ok(store().FindRolloutDevice(d[0])).value()), Fields(changed));
  EXPECT_EQ(Fields(Ok(store().ListRolloutDevices(rollout.id, 0, 10)).at(0)), Fields(changed));

  changed.device_id = d[1];
  auto missing = store().UpdateRolloutDevice(changed);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
}

TEST_P(StoreContractTest, DeletePackageWaitsForTheRolloutToEnd) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const Package second = AddPackage(product.uid, 2);
  Rollout running = AddRollout(product.uid, package.uid);
  Rollout paused = AddRollout(product.uid, second.uid, RolloutState::kPaused);
  for (const std::string& uid : {package.uid, second.uid}) {
    auto refused = store().DeletePackage(uid);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::kInvalidArgument);
    EXPECT_THAT(refused.error().message(), HasSubstr("rollout"));
  }
  SetState(store(), running, RolloutState::kStopped);
  EXPECT_TRUE(Ok(store().DeletePackage(package.uid)));
  SetState(store(), paused, RolloutState::kFinished);
  EXPECT_TRUE(Ok(store().DeletePackage(second.uid)));
  // The history outlives the package.
  EXPECT_EQ(Ok(store().GetRollout(running.id)).value().package_uid, package.uid);
}

TEST_P(StoreContractTest, HostileStringsInRollouts) {
  const Product product = AddProduct(1);
  int n = 0;
  for (const std::string& text : HostileStrings()) {
    SCOPED_TRACE(text);
    const auto d = AddDevices(product.uid, 1, text + std::to_string(++n));
    ASSERT_EQ(d.size(), 1u);
    Rollout rollout = MakeRollout(product.uid, text);
    rollout.name = text;
    rollout.selection.hardware = {text};
    rollout.selection.identity = {{text, text}};
    rollout.start_at = text;
    UH_ASSERT_OK_AND_ASSIGN(created, store().CreateRollout(rollout));
    created.reason = text;
    created.stage_succeeded_at = text;
    created.state = RolloutState::kStopped;  // frees the device for the next round
    const RolloutDevice member{created.id, d[0], 0, DeviceState::kFailed, text, text, text};
    ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, {member})), 1u);
    EXPECT_EQ(Fields(Ok(store().FindRolloutDevice(d[0])).value()), Fields(member));
    ASSERT_TRUE(store().UpdateRollout(created));
    EXPECT_EQ(Fields(Ok(store().GetRollout(created.id)).value()), Fields(created));
    EXPECT_EQ(Ok(store().CountStartedSince(created.id, text)), 1);
  }
  EXPECT_EQ(Ok(store().ListRollouts(product.uid, true)).size(), HostileStrings().size());
}

}  // namespace
}  // namespace uh::server::testing
