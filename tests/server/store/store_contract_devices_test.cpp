// Storage contract: devices, reports, users, tokens, and several threads at once.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

using ::testing::IsEmpty;

TEST_P(StoreContractTest, UpsertDeviceInsertsThenUpdatesInPlace) {
  const Product product = AddProduct(1);
  DeviceProbe probe = MakeProbe(product.uid, "s1");
  UH_ASSERT_OK_AND_ASSIGN(first, store().UpsertDevice(probe));
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(Fields(first),
            Fields(Device{first.id, probe.product_uid, probe.identity, probe.attributes,
                          probe.hardware, probe.version, probe.seen_at, probe.seen_at}));

  probe.attributes = R"({"region":"us"})";
  probe.hardware = "board-b";
  probe.version = "2.0.0";
  probe.seen_at = "2026-03-01T00:00:00Z";
  UH_ASSERT_OK_AND_ASSIGN(second, store().UpsertDevice(probe));
  EXPECT_EQ(Fields(second),
            Fields(Device{first.id, probe.product_uid, probe.identity, probe.attributes,
                          probe.hardware, probe.version, probe.seen_at, first.created_at}));
  EXPECT_EQ(Fields(Ok(store().GetDevice(first.id)).value()), Fields(second));
  EXPECT_EQ(Fields(Ok(store().FindDevice(product.uid, probe.identity)).value()), Fields(second));
  EXPECT_FALSE(Ok(store().GetDevice(first.id + 1000)).has_value());
  EXPECT_FALSE(Ok(store().FindDevice(product.uid, "{}")).has_value());

  probe.seen_at.clear();
  UH_ASSERT_OK_AND_ASSIGN(stamped, store().UpsertDevice(probe));
  EXPECT_TRUE(IsUtcTime(stamped.last_seen)) << stamped.last_seen;
}

TEST_P(StoreContractTest, RecordReportStoresTheDeviceAndItsReportTogether) {
  const Product product = AddProduct(1);
  DeviceProbe probe = MakeProbe(product.uid, "s1");
  const Report report{0, 0, Hex64(5), "error", "installing", "no space", "log", ""};
  // A device first heard of in a report is registered by it.
  UH_ASSERT_OK_AND_ASSIGN(first, store().RecordReport(probe, report));
  EXPECT_GT(first.device.id, 0);
  EXPECT_EQ(first.device.version, probe.version);
  EXPECT_EQ(first.report.device_id, first.device.id);
  EXPECT_GT(first.report.id, 0);
  EXPECT_TRUE(IsUtcTime(first.report.created_at)) << first.report.created_at;
  EXPECT_EQ(Fields(Ok(store().ListReports(first.device.id, 10)).at(0)), Fields(first.report));

  probe.version = "2.0.0";
  UH_ASSERT_OK_AND_ASSIGN(second, store().RecordReport(probe, report));
  EXPECT_EQ(second.device.id, first.device.id);
  EXPECT_EQ(Ok(store().GetDevice(first.device.id)).value().version, "2.0.0");
  EXPECT_EQ(Ok(store().ListReports(first.device.id, 10)).size(), 2u);

  // A report for an unknown product is refused and registers nothing.
  auto orphan = store().RecordReport(MakeProbe(Hex64(99), "s2"), report);
  ASSERT_FALSE(orphan);
  EXPECT_FALSE(Ok(store().FindDevice(Hex64(99), MakeProbe(Hex64(99), "s2").identity)));
}

TEST_P(StoreContractTest, SameIdentityInAnotherProductIsAnotherDevice) {
  const Product a = AddProduct(1);
  const Product b = AddProduct(2);
  UH_ASSERT_OK_AND_ASSIGN(in_a, store().UpsertDevice(MakeProbe(a.uid, "s1")));
  UH_ASSERT_OK_AND_ASSIGN(in_b, store().UpsertDevice(MakeProbe(b.uid, "s1")));
  EXPECT_NE(in_a.id, in_b.id);
  auto orphan = store().UpsertDevice(MakeProbe(Hex64(99), "s1"));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), Errc::kInvalidArgument);
}

TEST_P(StoreContractTest, PagingThroughDevicesReturnsEachOnce) {
  const Product product = AddProduct(1);
  std::set<std::int64_t> inserted;
  for (int i = 0; i < 250; ++i) {
    UH_ASSERT_OK_AND_ASSIGN(device,
                            store().UpsertDevice(MakeProbe(product.uid, std::to_string(i))));
    inserted.insert(device.id);
  }
  std::set<std::int64_t> seen;
  std::vector<std::size_t> page_sizes;
  DeviceFilter filter;
  filter.product_uid = product.uid;
  filter.limit = 100;
  while (true) {
    UH_ASSERT_OK_AND_ASSIGN(page, store().ListDevices(filter));
    if (page.empty()) break;
    page_sizes.push_back(page.size());
    for (const Device& device : page) {
      EXPECT_GT(device.id, filter.after_id);  // ascending ids
      EXPECT_TRUE(seen.insert(device.id).second) << "device " << device.id << " twice";
      filter.after_id = device.id;
    }
  }
  EXPECT_THAT(page_sizes, ::testing::ElementsAre(100u, 100u, 50u));
  EXPECT_EQ(seen, inserted);

  filter.after_id = 0;
  filter.limit = 5000;  // capped, not refused
  EXPECT_EQ(Ok(store().ListDevices(filter)).size(), 250u);
  filter.limit = 0;
  EXPECT_THAT(Ok(store().ListDevices(filter)), IsEmpty());
}

TEST_P(StoreContractTest, ListDevicesFilters) {
  const Product a = AddProduct(1);
  const Product b = AddProduct(2);
  const struct {
    const Product* product;
    const char* hardware;
    const char* version;
  } kDevices[] = {{&a, "hw1", "1.0"}, {&a, "hw1", "2.0"}, {&a, "hw2", "1.0"}, {&b, "hw1", "1.0"}};
  int serial = 0;
  for (const auto& spec : kDevices) {
    DeviceProbe probe = MakeProbe(spec.product->uid, std::to_string(++serial));
    probe.hardware = spec.hardware;
    probe.version = spec.version;
    ASSERT_TRUE(store().UpsertDevice(probe));
  }
  auto count = [&](std::optional<std::string> product, std::optional<std::string> hardware,
                   std::optional<std::string> version) {
    return Ok(store().ListDevices({product, hardware, version, 0, 100})).size();
  };
  EXPECT_EQ(count({}, {}, {}), 4u);
  EXPECT_EQ(count(a.uid, {}, {}), 3u);
  EXPECT_EQ(count({}, "hw1", {}), 3u);
  EXPECT_EQ(count({}, {}, "1.0"), 3u);
  EXPECT_EQ(count(a.uid, "hw1", {}), 2u);
  EXPECT_EQ(count(a.uid, "hw1", "2.0"), 1u);
  EXPECT_EQ(count(b.uid, "hw2", {}), 0u);
  EXPECT_EQ(count({}, "", {}), 0u);  // an empty filter value matches only empty fields
}

TEST_P(StoreContractTest, ReportsNewestFirst) {
  const Product product = AddProduct(1);
  UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(MakeProbe(product.uid, "s1")));
  UH_ASSERT_OK_AND_ASSIGN(other, store().UpsertDevice(MakeProbe(product.uid, "s2")));
  const char* kStatuses[] = {"downloading", "downloaded", "installing", "installed", "rebooting"};
  std::vector<Report> inserted;
  for (const char* status : kStatuses) {
    UH_ASSERT_OK_AND_ASSIGN(
        report, store().InsertReport({0, device.id, Hex64(5), status, "", "",
                                      "log of " + std::string(status), "2026-04-01T00:00:00Z"}));
    EXPECT_GT(report.id, 0);
    inserted.push_back(report);
  }
  ASSERT_TRUE(store().InsertReport({0, other.id, Hex64(5), "error", "installing", "boom", "", ""}));

  UH_ASSERT_OK_AND_ASSIGN(all, store().ListReports(device.id, 100));
  ASSERT_EQ(all.size(), inserted.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(Fields(all[i]), Fields(inserted[inserted.size() - 1 - i]));
  }
  UH_ASSERT_OK_AND_ASSIGN(latest, store().ListReports(device.id, 2));
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].status, "rebooting");
  EXPECT_EQ(latest[1].status, "installed");

  UH_ASSERT_OK_AND_ASSIGN(others, store().ListReports(other.id, 10));
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].error_message, "boom");
  EXPECT_TRUE(IsUtcTime(others[0].created_at));

  auto orphan = store().InsertReport({0, other.id + 1000, Hex64(5), "error", "", "", "", ""});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), Errc::kInvalidArgument);
}

TEST_P(StoreContractTest, Users) {
  EXPECT_EQ(Ok(store().CountUsers()), 0u);
  UH_ASSERT_OK_AND_ASSIGN(admin,
                          store().CreateUser({0, "admin", "$argon2id$v=19$a", "admin", {}, ""}));
  EXPECT_GT(admin.id, 0);
  EXPECT_TRUE(IsUtcTime(admin.created_at));
  UH_ASSERT_OK_AND_ASSIGN(
      viewer, store().CreateUser(
                  {0, "viewer", "$argon2id$v=19$b", "viewer", {Hex64(7)}, "2026-01-01T00:00:00Z"}));
  EXPECT_NE(viewer.id, admin.id);
  EXPECT_EQ(Ok(store().CountUsers()), 2u);
  EXPECT_EQ(Fields(Ok(store().FindUser("admin")).value()), Fields(admin));
  EXPECT_EQ(Fields(Ok(store().FindUser("viewer")).value()), Fields(viewer));
  EXPECT_FALSE(Ok(store().FindUser("Admin")).has_value());

  auto duplicate = store().CreateUser({0, "admin", "other", "viewer", {}, ""});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), Errc::kAlreadyExists);
}

TEST_P(StoreContractTest, TokensExpire) {
  UH_ASSERT_OK_AND_ASSIGN(user, store().CreateUser({0, "admin", "hash", "admin", {}, ""}));
  const Token session{"a1", user.id, "session", "", "2026-05-01T12:00:00Z", "", "", ""};
  const Token api{"b2", user.id, "api", "ci", "", "2026-01-01T00:00:00Z", "read packages:write",
                  ""};
  ASSERT_TRUE(store().InsertToken(session));
  ASSERT_TRUE(store().InsertToken(api));

  UH_ASSERT_OK_AND_ASSIGN(valid, store().FindToken("a1", "2026-05-01T11:59:59Z"));
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ(valid->kind, "session");
  EXPECT_TRUE(IsUtcTime(valid->created_at));
  EXPECT_FALSE(Ok(store().FindToken("a1", "2026-05-01T12:00:00Z")).has_value());
  EXPECT_FALSE(Ok(store().FindToken("a1", "2027-01-01T00:00:00Z")).has_value());
  EXPECT_EQ(Fields(Ok(store().FindToken("b2", "2099-01-01T00:00:00Z")).value()), Fields(api));
  EXPECT_FALSE(Ok(store().FindToken("c3", "2026-01-01T00:00:00Z")).has_value());
  // An empty `now` means the current time, not "before everything".
  ASSERT_TRUE(
      store().InsertToken({"old", user.id, "session", "", "2001-01-01T00:00:00Z", "", "", ""}));
  EXPECT_FALSE(Ok(store().FindToken("old", "")).has_value());
  EXPECT_TRUE(Ok(store().FindToken("b2", "")).has_value());

  auto duplicate = store().InsertToken(session);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), Errc::kAlreadyExists);
  auto orphan = store().InsertToken({"d4", user.id + 1000, "api", "x", "", "", "", ""});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), Errc::kInvalidArgument);

  // Listing (expired ones too), per user and for everyone, and the last use.
  UH_ASSERT_OK_AND_ASSIGN(other, store().CreateUser({0, "other", "hash", "viewer", {}, ""}));
  ASSERT_TRUE(store().InsertToken({"e5", other.id, "api", "x", "", "", "", ""}));
  UH_ASSERT_OK_AND_ASSIGN(mine, store().ListTokens(user.id));
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(Ok(store().ListTokens(0)).size(), 4u);
  EXPECT_EQ(Ok(store().ListTokens(other.id)).size(), 1u);
  ASSERT_TRUE(store().TouchToken("b2", "2026-06-01T00:00:00Z"));
  EXPECT_EQ(Ok(store().FindToken("b2", "")).value().last_used_at, "2026-06-01T00:00:00Z");

  EXPECT_TRUE(Ok(store().DeleteToken("b2")));
  EXPECT_FALSE(Ok(store().DeleteToken("b2")));
  EXPECT_FALSE(Ok(store().FindToken("b2", "2026-01-01T00:00:00Z")).has_value());
}

TEST_P(StoreContractTest, UserRoles) {
  UH_ASSERT_OK_AND_ASSIGN(user, store().CreateUser({0, "dana", "hash", "viewer", {}, ""}));
  EXPECT_FALSE(user.IsAdmin());
  ASSERT_TRUE(Ok(store().SetUserRole(user.id, "release-manager", {Hex64(1), Hex64(2)})));
  UH_ASSERT_OK_AND_ASSIGN(changed, store().GetUser(user.id));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->role, "release-manager");
  EXPECT_EQ(changed->products, (std::vector<std::string>{Hex64(1), Hex64(2)}));
  ASSERT_TRUE(Ok(store().SetUserRole(user.id, "admin", {})));
  EXPECT_TRUE(Ok(store().GetUser(user.id)).value().IsAdmin());
  EXPECT_TRUE(Ok(store().GetUser(user.id)).value().products.empty());
  EXPECT_FALSE(Ok(store().SetUserRole(user.id + 1000, "admin", {})));
  auto bad = store().SetUserRole(user.id, "root", {});
  EXPECT_FALSE(bad && *bad) << "the schema only knows three roles";
}

// Several server threads probing and reporting at once: nothing lost, no "database is locked".
TEST_P(StoreContractTest, ConcurrentDevicesAndReports) {
  constexpr int kThreads = 4;
  constexpr int kDevicesPerThread = 100;  // every write is synced: more only costs time
  const Product product = AddProduct(1);
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  auto note = [&](const Error& error) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(error.message());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDevicesPerThread; ++i) {
        const auto serial = std::to_string(t) + "-" + std::to_string(i);
        auto device = store().UpsertDevice(MakeProbe(product.uid, serial));
        if (!device) {
          note(device.error());
          continue;
        }
        auto report = store().InsertReport({0, device->id, Hex64(1), "installed", "", "", "", ""});
        if (!report) note(report.error());
        auto read = store().GetDevice(device->id);  // readers alongside the writer
        if (!read) note(read.error());
        if (i % 50 == 0) {
          if (auto page = store().ListDevices({}); !page) note(page.error());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(errors, IsEmpty());

  std::size_t devices = 0;
  DeviceFilter filter;
  filter.limit = 1000;
  UH_ASSERT_OK_AND_ASSIGN(all, store().ListDevices(filter));
  for (const Device& device : all) {
    ++devices;
    EXPECT_EQ(Ok(store().ListReports(device.id, 10)).size(), 1u) << device.identity;
  }
  EXPECT_EQ(devices, static_cast<std::size_t>(kThreads * kDevicesPerThread));
}

}  // namespace
}  // namespace uh::server::testing
