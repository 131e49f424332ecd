// Storage contract: products, signing keys, packages, durability, hostile strings.

#include "server/store/store_contract.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace uh::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_P(StoreContractTest, ProductsRoundTrip) {
  const Product product = MakeProduct(1);
  UH_ASSERT_OK_AND_ASSIGN(created, store().CreateProduct(product));
  EXPECT_EQ(Fields(created), Fields(product));
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetProduct(product.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(product));
  UH_ASSERT_OK_AND_ASSIGN(missing, store().GetProduct(Hex64(99)));
  EXPECT_FALSE(missing.has_value());

  Product second = MakeProduct(2);
  second.name = "another";
  second.created_at.clear();
  UH_ASSERT_OK_AND_ASSIGN(stamped, store().CreateProduct(second));
  EXPECT_TRUE(IsUtcTime(stamped.created_at)) << stamped.created_at;
  UH_ASSERT_OK_AND_ASSIGN(all, store().ListProducts());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].uid, second.uid);  // by name
  EXPECT_EQ(all[1].uid, product.uid);
}

TEST_P(StoreContractTest, ForbidDowngradesIsAProductSetting) {
  const Product product = AddProduct(1);
  EXPECT_FALSE(product.forbid_downgrades);
  UH_ASSERT_OK_AND_ASSIGN(set, store().SetForbidDowngrades(product.uid, true));
  EXPECT_TRUE(set);
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetProduct(product.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->forbid_downgrades);
  Reopen();
  UH_ASSERT_OK_AND_ASSIGN(again, store().GetProduct(product.uid));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->forbid_downgrades);
  UH_ASSERT_OK_AND_ASSIGN(unknown, store().SetForbidDowngrades(Hex64(0xabc), true));
  EXPECT_FALSE(unknown);
}

TEST_P(StoreContractTest, DuplicateProductIsAlreadyExists) {
  AddProduct(1);
  auto again = store().CreateProduct(MakeProduct(1));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kAlreadyExists);
}

TEST_P(StoreContractTest, SigningKeys) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  SigningKey key{0, product.uid, "release", "-----BEGIN PUBLIC KEY-----\nAAAA\n", "ab12", ""};
  UH_ASSERT_OK_AND_ASSIGN(added, store().AddKey(key));
  EXPECT_GT(added.id, 0);
  EXPECT_TRUE(IsUtcTime(added.created_at));

  auto duplicate = store().AddKey(key);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), Errc::kAlreadyExists);
  key.product_uid = other.uid;  // the same key may sign for another product
  UH_ASSERT_OK_AND_ASSIGN(added_other, store().AddKey(key));
  key.product_uid = Hex64(99);
  auto orphan = store().AddKey(key);
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), Errc::kInvalidArgument);

  UH_ASSERT_OK_AND_ASSIGN(keys, store().ListKeys(product.uid));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(Fields(keys[0]), Fields(added));
  UH_ASSERT_OK_AND_ASSIGN(by_id, store().GetKey(added.id));
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(Fields(*by_id), Fields(added));
  UH_ASSERT_OK_AND_ASSIGN(deleted, store().DeleteKey(added.id));
  EXPECT_TRUE(deleted);
  UH_ASSERT_OK_AND_ASSIGN(deleted_again, store().DeleteKey(added.id));
  EXPECT_FALSE(deleted_again);
  EXPECT_FALSE(Ok(store().GetKey(added.id)).has_value());
  UH_ASSERT_OK_AND_ASSIGN(remaining, store().ListKeys(product.uid));
  EXPECT_THAT(remaining, IsEmpty());
  UH_ASSERT_OK_AND_ASSIGN(others, store().ListKeys(other.uid));
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].id, added_other.id);
}

TEST_P(StoreContractTest, PackageRoundTripKeepsExactBytes) {
  const Product product = AddProduct(1);
  const Package package = MakePackage(product.uid, 1);
  UH_ASSERT_OK_AND_ASSIGN(inserted, store().InsertPackage(package));
  EXPECT_TRUE(inserted);
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetPackage(package.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(package));
  EXPECT_EQ(found->metadata.size(), package.metadata.size());
  UH_ASSERT_OK_AND_ASSIGN(missing, store().GetPackage(Hex64(42)));
  EXPECT_FALSE(missing.has_value());
}

TEST_P(StoreContractTest, InsertPackageIsIdempotent) {
  const Product product = AddProduct(1);
  const Package package = MakePackage(product.uid, 1);
  UH_ASSERT_OK_AND_ASSIGN(first, store().InsertPackage(package));
  EXPECT_TRUE(first);
  Package changed = package;  // same uid, different content: must not overwrite
  changed.version = "9.9.9";
  changed.objects = {{Hex64(0x7777), 1}};
  UH_ASSERT_OK_AND_ASSIGN(second, store().InsertPackage(changed));
  EXPECT_FALSE(second);
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetPackage(package.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(package));
  UH_ASSERT_OK_AND_ASSIGN(unused, store().ObjectInUse(Hex64(0x7777)));
  EXPECT_FALSE(unused);
}

TEST_P(StoreContractTest, UpdatePackageSignatureChangesOnlySignatureAndKey) {
  const Product product = AddProduct(1);
  const Package package = MakePackage(product.uid, 1);
  ASSERT_TRUE(Ok(store().InsertPackage(package)));
  UH_ASSERT_OK_AND_ASSIGN(updated, store().UpdatePackageSignature(package.uid, "bmV3", 4242));
  EXPECT_TRUE(updated);
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetPackage(package.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->signature, "bmV3");
  EXPECT_EQ(found->key_id, 4242);
  Package expected = package;
  expected.signature = "bmV3";
  expected.key_id = 4242;
  EXPECT_EQ(Fields(*found), Fields(expected));
  UH_ASSERT_OK_AND_ASSIGN(unknown, store().UpdatePackageSignature(Hex64(0x9999), "eA==", 1));
  EXPECT_FALSE(unknown);
}

TEST_P(StoreContractTest, PackageOfUnknownProductIsRefusedWhole) {
  const Package package = MakePackage(Hex64(99), 1);
  auto inserted = store().InsertPackage(package);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code(), Errc::kInvalidArgument);
  UH_ASSERT_OK_AND_ASSIGN(in_use, store().ObjectInUse(package.objects[0].sha256));
  EXPECT_FALSE(in_use);
}

TEST_P(StoreContractTest, DuplicateObjectInOnePackageIsStoredOnce) {
  const Product product = AddProduct(1);
  Package package = MakePackage(product.uid, 1);
  package.objects.push_back(package.objects[0]);
  UH_ASSERT_OK_AND_ASSIGN(inserted, store().InsertPackage(package));
  EXPECT_TRUE(inserted);
  UH_ASSERT_OK_AND_ASSIGN(found, store().GetPackage(package.uid));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->objects.size(), 2u);
}

TEST_P(StoreContractTest, ListPackagesByProductWithObjects) {
  const Product product = AddProduct(1);
  const Product other = AddProduct(2);
  Package older = MakePackage(product.uid, 1);
  older.created_at = "2026-01-01T00:00:00Z";
  Package newer = MakePackage(product.uid, 2);
  newer.created_at = "2026-03-01T00:00:00Z";
  for (const Package& p : {older, newer, MakePackage(other.uid, 3)}) {
    UH_ASSERT_OK_AND_ASSIGN(inserted, store().InsertPackage(p));
    EXPECT_TRUE(inserted);
  }
  UH_ASSERT_OK_AND_ASSIGN(listed, store().ListPackages(product.uid));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(Fields(listed[0]), Fields(newer));  // newest first
  EXPECT_EQ(Fields(listed[1]), Fields(older));
  UH_ASSERT_OK_AND_ASSIGN(none, store().ListPackages(Hex64(99)));
  EXPECT_THAT(none, IsEmpty());
}

TEST_P(StoreContractTest, DeletePackageAndSharedObjects) {
  const Product product = AddProduct(1);
  const Package first = MakePackage(product.uid, 1);
  const Package second = MakePackage(product.uid, 2);
  ASSERT_TRUE(Ok(store().InsertPackage(first)));
  ASSERT_TRUE(Ok(store().InsertPackage(second)));
  const std::string shared = first.objects[1].sha256;
  const std::string own = first.objects[0].sha256;

  UH_ASSERT_OK_AND_ASSIGN(deleted, store().DeletePackage(first.uid));
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(Ok(store().ObjectInUse(own)));
  EXPECT_TRUE(Ok(store().ObjectInUse(shared)));
  UH_ASSERT_OK_AND_ASSIGN(gone, store().GetPackage(first.uid));
  EXPECT_FALSE(gone.has_value());
  UH_ASSERT_OK_AND_ASSIGN(deleted_again, store().DeletePackage(first.uid));
  EXPECT_FALSE(deleted_again);

  EXPECT_TRUE(Ok(store().DeletePackage(second.uid)));
  EXPECT_FALSE(Ok(store().ObjectInUse(shared)));
}

TEST_P(StoreContractTest, DeletePackageRefusedWhileARolloutUsesIt) {
  const Product product = AddProduct(1);
  const Package package = MakePackage(product.uid, 1);
  ASSERT_TRUE(Ok(store().InsertPackage(package)));
  harness().InsertRollout(package.uid, "archived");
  harness().InsertRollout(package.uid, "stopped");
  harness().InsertRollout(package.uid, "running");

  auto refused = store().DeletePackage(package.uid);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), HasSubstr("rollout"));
  UH_ASSERT_OK_AND_ASSIGN(kept, store().GetPackage(package.uid));
  EXPECT_TRUE(kept.has_value());

  const Package unused = MakePackage(product.uid, 2);  // archived rollouts do not hold it
  ASSERT_TRUE(Ok(store().InsertPackage(unused)));
  harness().InsertRollout(unused.uid, "archived");
  harness().InsertRollout(unused.uid, "stopped");
  harness().InsertRollout(unused.uid, "finished");
  EXPECT_TRUE(Ok(store().DeletePackage(unused.uid)));
}

TEST_P(StoreContractTest, EverythingSurvivesReopening) {
  const Product product = AddProduct(1);
  const Package package = MakePackage(product.uid, 1);
  ASSERT_TRUE(Ok(store().InsertPackage(package)));
  UH_ASSERT_OK_AND_ASSIGN(key, store().AddKey({0, product.uid, "k", "pem", "fp", ""}));
  UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(MakeProbe(product.uid, "s1")));
  UH_ASSERT_OK_AND_ASSIGN(report, store().InsertReport({0, device.id, package.uid, "installed",
                                                        "installing", "", "log", ""}));
  UH_ASSERT_OK_AND_ASSIGN(user, store().CreateUser({0, "admin", "$argon2id$x", "admin", {}, ""}));
  ASSERT_TRUE(store().InsertToken({"hash", user.id, "api", "ci", "", "", "", ""}));

  Reopen();
  EXPECT_EQ(Ok(store().GetProduct(product.uid)).value().name, product.name);
  EXPECT_EQ(Fields(Ok(store().GetPackage(package.uid)).value()), Fields(package));
  EXPECT_EQ(Fields(Ok(store().ListKeys(product.uid)).at(0)), Fields(key));
  EXPECT_EQ(Fields(Ok(store().GetDevice(device.id)).value()), Fields(device));
  EXPECT_EQ(Fields(Ok(store().ListReports(device.id, 10)).at(0)), Fields(report));
  EXPECT_EQ(Fields(Ok(store().FindUser("admin")).value()), Fields(user));
  EXPECT_TRUE(Ok(store().FindToken("hash", "2030-01-01T00:00:00Z")).has_value());
}

TEST_P(StoreContractTest, HostileStringsRoundTripUnchanged) {
  int n = 0;
  for (const std::string& text : HostileStrings()) {
    SCOPED_TRACE(text);
    ++n;
    Product product{text + std::to_string(n), text, text, text};
    ASSERT_TRUE(store().CreateProduct(product));
    EXPECT_EQ(Fields(Ok(store().GetProduct(product.uid)).value()), Fields(product));

    UH_ASSERT_OK_AND_ASSIGN(key, store().AddKey({0, product.uid, text, text, text, text}));
    EXPECT_EQ(Fields(Ok(store().ListKeys(product.uid)).at(0)), Fields(key));

    Package package{text + "pkg", product.uid, text, text, text, text, 1, 2, {{text, 3}}, text};
    ASSERT_TRUE(Ok(store().InsertPackage(package)));
    EXPECT_EQ(Fields(Ok(store().GetPackage(package.uid)).value()), Fields(package));
    EXPECT_TRUE(Ok(store().ObjectInUse(text)));

    const DeviceProbe probe{product.uid, text, text, text, text, text};
    UH_ASSERT_OK_AND_ASSIGN(device, store().UpsertDevice(probe));
    EXPECT_EQ(Fields(device), Fields(Device{device.id, text + std::to_string(n), text, text, text,
                                            text, text, text}));
    EXPECT_EQ(Fields(Ok(store().FindDevice(product.uid, text)).value()), Fields(device));
    DeviceFilter filter{product.uid, text, text, 0, 10};
    EXPECT_EQ(Ok(store().ListDevices(filter)).size(), 1u);

    UH_ASSERT_OK_AND_ASSIGN(
        report, store().InsertReport({0, device.id, text, text, text, text, text, text}));
    EXPECT_EQ(Fields(Ok(store().ListReports(device.id, 1)).at(0)), Fields(report));

    UH_ASSERT_OK_AND_ASSIGN(user, store().CreateUser({0, text, text, "viewer", {}, text}));
    EXPECT_EQ(Fields(Ok(store().FindUser(text)).value()), Fields(user));
    const Token token{text, user.id, text, text, "", text, text, text};
    ASSERT_TRUE(store().InsertToken(token));
    EXPECT_EQ(Fields(Ok(store().FindToken(text, text)).value()), Fields(token));
  }
  // Nothing was dropped along the way.
  EXPECT_EQ(Ok(store().CountUsers()), HostileStrings().size());
  EXPECT_EQ(Ok(store().ListProducts()).size(), HostileStrings().size());
  EXPECT_THAT(Ok(store().ListDevices({})), ::testing::SizeIs(HostileStrings().size()));
}

}  // namespace
}  // namespace uh::server::testing
