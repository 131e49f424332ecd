// Contract tests of what a probe reads: the device, its rollout membership and the catalog
// version in one lookup (Store::LookupProbe), and a catalog version that moves on with every
// change to products, keys, packages and rollouts and with nothing a probe or report writes.
// And of the leases that let one server of several do the timed work.

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

std::int64_t VersionOf(Store& store) { return Ok(store.CatalogVersion()); }

TEST_P(StoreContractTest, ProbeLookupReadsTheDeviceAndItsMembershipInOneGo) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  const Package package = AddPackage(product.uid, 1);
  const DeviceProbe probe = MakeProbe(product.uid, "d0");

  UH_ASSERT_OK_AND_ASSIGN(unknown, store().LookupProbe(product.uid, probe.identity));
  EXPECT_FALSE(unknown.device.has_value());
  EXPECT_FALSE(unknown.membership.has_value());
  EXPECT_EQ(unknown.catalog_version, VersionOf(store()));

  UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(probe));
  UH_ASSERT_OK_AND_ASSIGN(alone, store().LookupProbe(product.uid, probe.identity));
  ASSERT_TRUE(alone.device.has_value());
  EXPECT_EQ(Fields(*alone.device), Fields(device));
  EXPECT_EQ(alone.device->auth_state, device.auth_state);
  EXPECT_EQ(alone.device->token_hash, device.token_hash);
  EXPECT_FALSE(alone.membership.has_value());
  // The same identity under another product is another device.
  UH_ASSERT_OK_AND_ASSIGN(elsewhere, store().LookupProbe(other.uid, probe.identity));
  EXPECT_FALSE(elsewhere.device.has_value());

  // A device token's hash and a pending standing are read as FindDevice reads them.
  UH_ASSERT_OK_AND_ASSIGN(secret_set, store().SetDeviceSecretHash(device.id, Hex64(7)));
  ASSERT_TRUE(secret_set);
  UH_ASSERT_OK_AND_ASSIGN(pending, store().SetDeviceAuthState(device.id, "pending"));
  ASSERT_TRUE(pending);
  UH_ASSERT_OK_AND_ASSIGN(found, store().FindDevice(product.uid, probe.identity));
  UH_ASSERT_OK_AND_ASSIGN(standing, store().LookupProbe(product.uid, probe.identity));
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(standing.device.has_value());
  EXPECT_EQ(Fields(*standing.device), Fields(*found));
  EXPECT_EQ(standing.device->token_hash, Hex64(7));
  EXPECT_EQ(standing.device->auth_state, "pending");

  // In a running rollout: its place, as FindRolloutDevice reads it.
  const Rollout rollout = AddRollout(product.uid, package.uid);
  std::vector<RolloutDevice> members = Members(rollout.id, {device.id});
  members[0].stage = 2;
  members[0].error_message = "it's \"quoted\"";
  members[0].started_at = "2026-12-01T10:00:00Z";
  members[0].updated_at = "2026-12-01T10:00:01Z";
  members[0].retries = 3;
  UH_ASSERT_OK_AND_ASSIGN(added, store().AddRolloutDevices(product.uid, members));
  ASSERT_EQ(added, 1U);
  UH_ASSERT_OK_AND_ASSIGN(member, store().LookupProbe(product.uid, probe.identity));
  UH_ASSERT_OK_AND_ASSIGN(place, store().FindRolloutDevice(device.id));
  ASSERT_TRUE(member.membership.has_value());
  ASSERT_TRUE(place.has_value());
  EXPECT_EQ(Fields(*member.membership), Fields(*place));
  EXPECT_EQ(Fields(*member.membership), Fields(members[0]));

  // An archived rollout holds it no more.
  Rollout stopped = rollout;
  stopped.state = RolloutState::kStopped;
  ASSERT_TRUE(store().UpdateRollout(stopped));
  UH_ASSERT_OK_AND_ASSIGN(released, store().LookupProbe(product.uid, probe.identity));
  ASSERT_TRUE(released.device.has_value());
  EXPECT_FALSE(released.membership.has_value());
}

TEST_P(StoreContractTest, ProbeLookupTakesHostileIdentitiesAsData) {
  const Product product = AddProduct(1);
  for (const std::string& text : HostileStrings()) {
    UH_ASSERT_OK_AND_ASSIGN(none, store().LookupProbe(product.uid, text));
    EXPECT_FALSE(none.device.has_value());
    DeviceProbe probe = MakeProbe(product.uid, "x");
    probe.identity = nlohmann::json{{"serial", text}}.dump();
    UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(probe));
    UH_ASSERT_OK_AND_ASSIGN(found, store().LookupProbe(product.uid, probe.identity));
    ASSERT_TRUE(found.device.has_value()) << text;
    EXPECT_EQ(found.device->id, device.id);
  }
}

TEST_P(StoreContractTest, CatalogVersionMovesWithCatalogChangesOnly) {
  std::int64_t last = VersionOf(store());
  // Expects the version to have moved on (or not) since the last look.
  auto moved = [&](const char* what) {
    const std::int64_t now = VersionOf(store());
    EXPECT_GT(now, last) << what;
    last = now;
  };
  auto still = [&](const char* what) { EXPECT_EQ(VersionOf(store()), last) << what; };

  const Product product = AddProduct(1);
  moved("a product created");
  ASSERT_TRUE(Ok(store().SetForbidDowngrades(product.uid, true)));
  moved("a product's downgrade rule");
  ASSERT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, Hex64(9))));
  moved("a product token");
  ASSERT_TRUE(Ok(store().SetProductDeviceAuth(product.uid, "device-token", "auto", "")));
  moved("a product's device authentication");
  UH_ASSERT_OK_AND_ASSIGN(key, store().AddKey({0, product.uid, "k", "pem", "fp", ""}));
  moved("a key added");
  const Package package = AddPackage(product.uid, 1);
  moved("a package stored");
  ASSERT_TRUE(Ok(store().UpdatePackageSignature(package.uid, "c2lnbmF0dXJl", key.id)));
  moved("a package re-signed");
  const Package spare = AddPackage(product.uid, 2);
  moved("another package");
  ASSERT_TRUE(Ok(store().DeletePackage(spare.uid)));
  moved("a package deleted");

  // What probes and reports write leaves it.
  const std::vector<std::int64_t> ids = AddDevices(product.uid, 3);
  still("devices recorded");
  ASSERT_TRUE(store().TouchDevices({{ids[0], "2026-12-01T10:00:00Z"}}));
  still("devices seen");
  Report report;
  report.package_uid = package.uid;
  report.status = "downloading";
  ASSERT_TRUE(store().RecordReport(MakeProbe(product.uid, "d1"), report));
  still("a report");

  const Rollout rollout = AddRollout(product.uid, package.uid);
  moved("a rollout created");
  ASSERT_EQ(Ok(store().AddRolloutDevices(product.uid, Members(rollout.id, ids))), ids.size());
  still("devices added to a rollout");
  RolloutDevice first = Members(rollout.id, {ids[0]})[0];
  UH_ASSERT_OK_AND_ASSIGN(started, store().StartRolloutDevice(first, 0, "2026-12-01T09:00:00Z",
                                                              "2026-12-01T10:00:00Z"));
  ASSERT_TRUE(started);
  still("a device's first offer");
  first.state = DeviceState::kFailed;
  first.updated_at = "2026-12-01T10:05:00Z";
  ASSERT_TRUE(store().UpdateRolloutDevice(first));
  still("a device's state in a rollout");
  UH_ASSERT_OK_AND_ASSIGN(current, store().GetRollout(rollout.id));
  ASSERT_TRUE(current.has_value());
  Rollout paused = *current;
  paused.state = RolloutState::kPaused;
  UH_ASSERT_OK_AND_ASSIGN(saved, store().UpdateRolloutIfUnchanged(paused));
  ASSERT_TRUE(saved);
  moved("a rollout paused");
  ASSERT_TRUE(Ok(store().DeleteKey(key.id)));
  moved("a key deleted");

  // Kept in the database: the same after reopening.
  Reopen();
  still("reopened");
}

}  // namespace
}  // namespace uh::server::testing

namespace uh::server::testing {
namespace {

TEST_P(StoreContractTest, ALeaseHasOneHolderUntilItExpiresOrIsReleased) {
  // Taken when free; renewed by its holder; refused to another while it lasts.
  EXPECT_TRUE(Ok(store().HoldLease("work", "server-a", 60'000)));
  EXPECT_TRUE(Ok(store().HoldLease("work", "server-a", 60'000)));
  EXPECT_FALSE(Ok(store().HoldLease("work", "server-b", 60'000)));
  // Leases by other names are others.
  EXPECT_TRUE(Ok(store().HoldLease("other work", "server-b", 60'000)));
  // Released by someone else: still a's. Released by a: b takes it.
  ASSERT_TRUE(store().ReleaseLease("work", "server-b"));
  EXPECT_FALSE(Ok(store().HoldLease("work", "server-b", 60'000)));
  ASSERT_TRUE(store().ReleaseLease("work", "server-a"));
  EXPECT_TRUE(Ok(store().HoldLease("work", "server-b", 50)));
  EXPECT_FALSE(Ok(store().HoldLease("work", "server-a", 60'000)));
  // Expired (b did not renew it in time): a takes it, and b no longer holds it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(Ok(store().HoldLease("work", "server-a", 60'000)));
  EXPECT_FALSE(Ok(store().HoldLease("work", "server-b", 60'000)));
  // Kept in the database.
  Reopen();
  EXPECT_FALSE(Ok(store().HoldLease("work", "server-b", 60'000)));
  EXPECT_TRUE(Ok(store().HoldLease("work", "server-a", 60'000)));
  // A lease of no time is refused.
  auto none = store().HoldLease("work", "server-a", 0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Errc::kInvalidArgument);
}

TEST_P(StoreContractTest, ConcurrentHoldersGetALeaseOnce) {
  constexpr int kThreads = 6;
  std::atomic<int> held{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto got = store().HoldLease("race", "server-" + std::to_string(i), 60'000);
      ASSERT_TRUE(got) << got.error().message();
      if (*got) ++held;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(held.load(), 1);
}

}  // namespace
}  // namespace uh::server::testing
