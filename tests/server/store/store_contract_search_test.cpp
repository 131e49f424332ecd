// Storage contract: the dashboard's reads. Device search and its total, the overview's
// counts, the latest failures, and a rollout's devices with who they are.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records a device of `product_uid` with the given identity, attributes and last probe.
std::int64_t AddDevice(Store& store, const std::string& product_uid, const std::string& identity,
                       const std::string& hardware = "board-a", const std::string& version = "1.0",
                       const std::string& seen_at = "2026-02-01T00:00:00Z",
                       const std::string& attributes = R"({"region":"eu"})") {
  auto device = store.UpsertDevice({product_uid, identity, attributes, hardware, version, seen_at});
  EXPECT_TRUE(device) << device.error().message();
  return device ? device->id : 0;
}

std::vector<std::int64_t> Ids(const std::vector<Device>& devices) {
  std::vector<std::int64_t> ids;
  for (const auto& device : devices) ids.push_back(device.id);
  return ids;
}

TEST_P(StoreContractTest, DeviceSearchByIdentityAttributesSeenAndRolloutState) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  const auto a = AddDevice(store(), product.uid, R"({"mac":["aa","bb"],"serial":"A1"})", "hw1",
                           "1.0", "2026-01-01T00:00:00Z");
  const auto b = AddDevice(store(), product.uid, R"({"serial":"B2"})", "hw2", "2.0",
                           "2026-03-01T00:00:00Z", R"({"region":"us","tags":["x","y"]})");
  const auto c = AddDevice(store(), product.uid, R"({"serial":"C3","n":7})", "hw1", "1.0",
                           "2026-05-01T00:00:00Z");
  AddDevice(store(), other.uid, R"({"serial":"A1"})");

  auto search = [&](DeviceFilter filter) {
    filter.product_uid = product.uid;
    auto devices = Ok(store().ListDevices(filter));
    EXPECT_EQ(Ok(store().CountDevices(filter)), static_cast<std::int64_t>(devices.size()));
    return Ids(devices);
  };
  EXPECT_THAT(search({.identity = {{"serial", "A1"}}}), ElementsAre(a));
  EXPECT_THAT(search({.identity = {{"mac", "bb"}}}), ElementsAre(a));
  EXPECT_THAT(search({.identity = {{"mac", "cc"}}}), IsEmpty());
  EXPECT_THAT(search({.identity = {{"n", "7"}}}), IsEmpty());  // values compare as strings
  EXPECT_THAT(search({.identity = {{"serial", "A1"}, {"mac", "aa"}}}), ElementsAre(a));
  EXPECT_THAT(search({.identity = {{"serial", "A1"}, {"mac", "zz"}}}), IsEmpty());
  EXPECT_THAT(search({.attributes = {{"region", "eu"}}}), ElementsAre(a, c));
  EXPECT_THAT(search({.attributes = {{"tags", "y"}}}), ElementsAre(b));
  EXPECT_THAT(search({.seen_before = "2026-03-01T00:00:00Z"}), ElementsAre(a));
  EXPECT_THAT(search({.seen_after = "2026-03-01T00:00:00Z"}), ElementsAre(b, c));
  EXPECT_THAT(search({.hardware = "hw1", .seen_after = "2026-02-01T00:00:00Z"}), ElementsAre(c));
  for (const auto& hostile : HostileStrings()) {
    EXPECT_THAT(search({.identity = {{hostile, hostile}}}), IsEmpty()) << hostile;
  }
  // Every product's, and the total beside one page.
  DeviceFilter all{.identity = {{"serial", "A1"}}};
  EXPECT_EQ(Ok(store().CountDevices(all)), 2);
  DeviceFilter page{.product_uid = product.uid, .after_id = a, .limit = 1};
  EXPECT_THAT(Ids(Ok(store().ListDevices(page))), ElementsAre(b));
  EXPECT_EQ(Ok(store().CountDevices(page)), 3);

  // The state in the rollout that holds the device; "none" for no such rollout.
  const Package package = AddPackage(product.uid, 1);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  auto members = Members(rollout.id, {a, b});
  members[1].state = DeviceState::kFailed;
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), 2u);
  EXPECT_THAT(search({.rollout_state = "pending"}), ElementsAre(a));
  EXPECT_THAT(search({.rollout_state = "failed"}), ElementsAre(b));
  EXPECT_THAT(search({.rollout_state = std::string(kNoRolloutState)}), ElementsAre(c));
  Rollout stopped = rollout;
  stopped.state = RolloutState::kStopped;
  ASSERT_TRUE(store().UpdateRollout(stopped));
  EXPECT_THAT(search({.rollout_state = std::string(kNoRolloutState)}), ElementsAre(a, b, c));
}

TEST_P(StoreContractTest, DeviceOverviewCountsByGroupAndLastSeen) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  const auto a =
      AddDevice(store(), product.uid, R"({"s":"1"})", "hw1", "1.0", "2026-02-01T11:30:00Z");
  AddDevice(store(), product.uid, R"({"s":"2"})", "hw1", "2.0", "2026-02-01T06:00:00Z");
  const auto c =
      AddDevice(store(), product.uid, R"({"s":"3"})", "hw2", "2.0", "2026-01-01T00:00:00Z");
  AddDevice(store(), other.uid, R"({"s":"4"})", "hw3", "3.0", "2026-02-01T11:59:00Z");
  const Package package = AddPackage(product.uid, 1);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  auto members = Members(rollout.id, {a, c});
  members[0].state = DeviceState::kUpdated;
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), 2u);

  const OverviewTimes times{.hour_ago = "2026-02-01T11:00:00Z",
                            .day_ago = "2026-01-31T12:00:00Z",
                            .overdue_before = "2026-01-29T12:00:00Z"};
  UH_ASSERT_OK_AND_ASSIGN(overview, store().GetDeviceOverview(product.uid, times));
  EXPECT_EQ(overview.total, 3);
  EXPECT_EQ(overview.by_version, (GroupCounts{{"2.0", 2}, {"1.0", 1}}));
  EXPECT_EQ(overview.by_hardware, (GroupCounts{{"hw1", 2}, {"hw2", 1}}));
  EXPECT_EQ(overview.by_rollout_state, (GroupCounts{{"none", 1}, {"pending", 1}, {"updated", 1}}));
  EXPECT_EQ(overview.seen_since_hour, 1);
  EXPECT_EQ(overview.seen_since_day, 2);
  EXPECT_EQ(overview.overdue, 1);

  UH_ASSERT_OK_AND_ASSIGN(everyone, store().GetDeviceOverview(std::nullopt, times));
  EXPECT_EQ(everyone.total, 4);
  EXPECT_EQ(everyone.by_hardware, (GroupCounts{{"hw1", 2}, {"hw2", 1}, {"hw3", 1}}));
  EXPECT_EQ(everyone.seen_since_hour, 2);
  UH_ASSERT_OK_AND_ASSIGN(empty, store().GetDeviceOverview(Hex64(99), times));
  EXPECT_EQ(empty.total, 0);
  EXPECT_THAT(empty.by_rollout_state, IsEmpty());
}

TEST_P(StoreContractTest, LatestFailuresAreErrorReportsWithTheirDevices) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  const auto a = AddDevice(store(), product.uid, R"({"serial":"A"})", "hw1", "1.0");
  const auto b = AddDevice(store(), other.uid, R"({"serial":"B"})", "hw2", "2.0");
  for (const auto& [device, status, message] :
       std::vector<std::tuple<std::int64_t, std::string, std::string>>{{a, "error", "first"},
                                                                       {a, "downloading", ""},
                                                                       {b, "error", "other"},
                                                                       {a, "error", "second"}}) {
    Report report;
    report.device_id = device;
    report.package_uid = Hex64(5);
    report.status = status;
    report.error_message = message;
    ASSERT_TRUE(store().InsertReport(report));
  }
  UH_ASSERT_OK_AND_ASSIGN(mine, store().LatestFailures(product.uid, 10));
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].report.error_message, "second");
  EXPECT_EQ(mine[1].report.error_message, "first");
  EXPECT_EQ(mine[0].identity, R"({"serial":"A"})");
  EXPECT_EQ(mine[0].hardware, "hw1");
  EXPECT_EQ(mine[0].version, "1.0");
  EXPECT_EQ(mine[0].product_uid, product.uid);
  UH_ASSERT_OK_AND_ASSIGN(all, store().LatestFailures(std::nullopt, 2));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].report.error_message, "other");
}

TEST_P(StoreContractTest, RolloutMembersCarryTheirDevices) {
  const Product product = AddProduct(1);
  const Package package = AddPackage(product.uid, 1);
  const auto ids = AddDevices(product.uid, 5);
  const Rollout rollout = AddRollout(product.uid, package.uid);
  auto members = Members(rollout.id, ids);
  members[1].state = DeviceState::kFailed;
  members[1].error_message = "broken";
  members[3].state = DeviceState::kFailed;
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, members)), 5u);

  UH_ASSERT_OK_AND_ASSIGN(failed,
                          store().ListRolloutMembers(rollout.id, 0, 100, DeviceState::kFailed));
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].place.device_id, ids[1]);
  EXPECT_EQ(failed[0].place.error_message, "broken");
  EXPECT_EQ(failed[0].identity, R"({"serial":"d1"})");
  EXPECT_EQ(failed[0].hardware, "board-a");
  EXPECT_EQ(failed[0].version, "1.0.0");
  EXPECT_EQ(failed[1].place.device_id, ids[3]);
  UH_ASSERT_OK_AND_ASSIGN(page, store().ListRolloutMembers(rollout.id, ids[1], 2, std::nullopt));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].place.device_id, ids[2]);
  EXPECT_EQ(page[1].place.device_id, ids[3]);
  EXPECT_THAT(Ok(store().ListRolloutMembers(rollout.id + 1, 0, 100, std::nullopt)), IsEmpty());
}

}  // namespace
}  // namespace uh::server::testing
