// Storage contract: device tokens of products, batched last-seen times, the reports listing
// and user management.

#include <gtest/gtest.h>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

TEST_P(StoreContractTest, DeviceTokenHashIsSetClearedAndKeptAcrossReopen) {
  const Product product = AddProduct(1);
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_token_hash, "");
  EXPECT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, Hex64(77))));
  Reopen();
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_token_hash, Hex64(77));
  EXPECT_EQ(Ok(store().ListProducts()).at(0).device_token_hash, Hex64(77));
  EXPECT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, "")));
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_token_hash, "");
  EXPECT_FALSE(Ok(store().SetDeviceTokenHash(Hex64(999), Hex64(1))));
}

TEST_P(StoreContractTest, TouchDevicesMovesLastSeenForwardOnly) {
  const Product product = AddProduct(1);
  DeviceProbe probe = MakeProbe(product.uid, "s1");
  probe.seen_at = "2026-05-01T00:00:00Z";
  UH_ASSERT_OK_AND_ASSIGN(first, store().UpsertDevice(probe));
  UH_ASSERT_OK_AND_ASSIGN(second, store().UpsertDevice(MakeProbe(product.uid, "s2")));
  ASSERT_TRUE(store().TouchDevices({{first.id, "2026-05-02T00:00:00Z"},
                                    {second.id, "2000-01-01T00:00:00Z"},
                                    {first.id + second.id + 100, "2026-05-02T00:00:00Z"}}));
  EXPECT_EQ(Ok(store().GetDevice(first.id))->last_seen, "2026-05-02T00:00:00Z");
  // Never back in time (a late flush after a newer probe), and nothing else changes.
  EXPECT_EQ(Fields(Ok(store().GetDevice(second.id)).value()), Fields(second));
  ASSERT_TRUE(store().TouchDevices({{first.id, "2026-04-01T00:00:00Z"}}));
  EXPECT_EQ(Ok(store().GetDevice(first.id))->last_seen, "2026-05-02T00:00:00Z");
  ASSERT_TRUE(store().TouchDevices({}));
}

TEST_P(StoreContractTest, FindReportsFiltersAndPagesNewestFirst) {
  const Product product = AddProduct(1);
  UH_ASSERT_OK_AND_ASSIGN(a, store().UpsertDevice(MakeProbe(product.uid, "a")));
  UH_ASSERT_OK_AND_ASSIGN(b, store().UpsertDevice(MakeProbe(product.uid, "b")));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    Report report;
    report.device_id = i % 2 == 0 ? a.id : b.id;
    report.package_uid = Hex64(i < 3 ? 1 : 2);
    report.status = i == 5 ? "error" : "downloading";
    UH_ASSERT_OK_AND_ASSIGN(stored, store().InsertReport(report));
    ids.push_back(stored.id);
  }
  const auto ids_of = [](const std::vector<Report>& reports) {
    std::vector<std::int64_t> out;
    for (const auto& report : reports) out.push_back(report.id);
    return out;
  };
  UH_ASSERT_OK_AND_ASSIGN(all, store().FindReports({}));
  EXPECT_EQ(ids_of(all),
            (std::vector<std::int64_t>{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}));

  ReportFilter of_b;
  of_b.device_id = b.id;
  EXPECT_EQ(ids_of(Ok(store().FindReports(of_b))),
            (std::vector<std::int64_t>{ids[5], ids[3], ids[1]}));
  ReportFilter errors_of_package_2;
  errors_of_package_2.package_uid = Hex64(2);
  errors_of_package_2.status = "error";
  EXPECT_EQ(ids_of(Ok(store().FindReports(errors_of_package_2))),
            (std::vector<std::int64_t>{ids[5]}));

  ReportFilter page;
  page.limit = 4;
  UH_ASSERT_OK_AND_ASSIGN(first_page, store().FindReports(page));
  ASSERT_EQ(first_page.size(), 4u);
  page.before_id = first_page.back().id;
  EXPECT_EQ(ids_of(Ok(store().FindReports(page))), (std::vector<std::int64_t>{ids[1], ids[0]}));

  for (const auto& hostile : HostileStrings()) {
    ReportFilter filter;
    filter.status = hostile;
    EXPECT_TRUE(Ok(store().FindReports(filter)).empty()) << hostile;
  }
}

TEST_P(StoreContractTest, UsersAreListedChangedAndDeletedWithTheirTokens) {
  UH_ASSERT_OK_AND_ASSIGN(alice, store().CreateUser({0, "alice", "hash-a", "admin", {}, ""}));
  UH_ASSERT_OK_AND_ASSIGN(bob, store().CreateUser({0, "bob", "hash-b", "viewer", {}, ""}));
  EXPECT_EQ(Fields(Ok(store().GetUser(bob.id)).value()), Fields(bob));
  EXPECT_FALSE(Ok(store().GetUser(bob.id + 100)).has_value());
  UH_ASSERT_OK_AND_ASSIGN(users, store().ListUsers());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[1].name, "bob");

  EXPECT_TRUE(Ok(store().SetUserPassword(bob.id, "hash-b2")));
  EXPECT_EQ(Ok(store().GetUser(bob.id))->password_hash, "hash-b2");
  EXPECT_FALSE(Ok(store().SetUserPassword(bob.id + 100, "x")));

  ASSERT_TRUE(store().InsertToken({Hex64(1), bob.id, "session", "", "", "", "", ""}));
  ASSERT_TRUE(store().InsertToken({Hex64(2), bob.id, "api", "ci", "", "", "", ""}));
  ASSERT_TRUE(store().InsertToken({Hex64(3), alice.id, "api", "ci", "", "", "", ""}));
  ASSERT_TRUE(store().DeleteUserTokens(bob.id));
  EXPECT_FALSE(Ok(store().FindToken(Hex64(1), "")).has_value());
  EXPECT_FALSE(Ok(store().FindToken(Hex64(2), "")).has_value());
  EXPECT_TRUE(Ok(store().FindToken(Hex64(3), "")).has_value());

  ASSERT_TRUE(store().InsertToken({Hex64(4), bob.id, "session", "", "", "", "", ""}));
  EXPECT_TRUE(Ok(store().DeleteUser(bob.id)));
  EXPECT_FALSE(Ok(store().DeleteUser(bob.id)));
  EXPECT_FALSE(Ok(store().FindToken(Hex64(4), "")).has_value());
  EXPECT_FALSE(Ok(store().FindUser("bob")).has_value());
  EXPECT_EQ(Ok(store().CountUsers()), 1u);
}

}  // namespace
}  // namespace uh::server::testing
