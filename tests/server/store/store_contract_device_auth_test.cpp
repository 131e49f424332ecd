// Storage contract: device authentication (a product's mode, enrolled and pre-provisioned
// devices, their standing and secret).

#include <gtest/gtest.h>

#include "server/store/store_contract.hpp"

namespace uh::server::testing {
namespace {

TEST_P(StoreContractTest, ProductDeviceAuthSettingsRoundTrip) {
  const Product product = AddProduct(1);
  UH_ASSERT_OK_AND_ASSIGN(fresh, store().GetProduct(product.uid));
  EXPECT_EQ(fresh->device_auth, "none");
  EXPECT_EQ(fresh->enrolment, "off");
  EXPECT_EQ(fresh->client_ca, "");
  for (const auto& text : HostileStrings()) {
    ASSERT_TRUE(Ok(store().SetProductDeviceAuth(product.uid, "mtls", "manual", text)));
    UH_ASSERT_OK_AND_ASSIGN(set, store().GetProduct(product.uid));
    EXPECT_EQ(set->device_auth, "mtls");
    EXPECT_EQ(set->enrolment, "manual");
    EXPECT_EQ(set->client_ca, text);
  }
  EXPECT_FALSE(Ok(store().SetProductDeviceAuth(Hex64(99), "none", "off", "")));
  // A product token moves "none" to "product-token" and back, and leaves other modes alone.
  ASSERT_TRUE(Ok(store().SetProductDeviceAuth(product.uid, "none", "off", "")));
  ASSERT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, "hash")));
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_auth, "product-token");
  ASSERT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, "")));
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_auth, "none");
  ASSERT_TRUE(Ok(store().SetProductDeviceAuth(product.uid, "device-token", "auto", "")));
  ASSERT_TRUE(Ok(store().SetDeviceTokenHash(product.uid, "hash")));
  EXPECT_EQ(Ok(store().GetProduct(product.uid))->device_auth, "device-token");
}

TEST_P(StoreContractTest, CreatedDevicesKeepTheirStandingAndSecret) {
  const Product product = AddProduct(1);
  const DeviceProbe probe = MakeProbe(product.uid, "s1");
  UH_ASSERT_OK_AND_ASSIGN(created, store().CreateDevice(probe, "pending", "h1"));
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->auth_state, "pending");
  EXPECT_EQ(created->token_hash, "h1");
  EXPECT_EQ(created->identity, probe.identity);
  // The same identity again: nothing is created or replaced.
  UH_ASSERT_OK_AND_ASSIGN(again, store().CreateDevice(probe, "accepted", "h2"));
  EXPECT_FALSE(again.has_value());
  UH_ASSERT_OK_AND_ASSIGN(found, store().FindDeviceBySecretHash(product.uid, "h1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, created->id);
  EXPECT_FALSE(Ok(store().FindDeviceBySecretHash(product.uid, "h2")).has_value());
  EXPECT_FALSE(Ok(store().FindDeviceBySecretHash(product.uid, "")).has_value());
  EXPECT_FALSE(Ok(store().FindDeviceBySecretHash(Hex64(99), "h1")).has_value());

  ASSERT_TRUE(Ok(store().SetDeviceAuthState(created->id, "accepted")));
  ASSERT_TRUE(Ok(store().SetDeviceSecretHash(created->id, "h3")));
  // A probe's upsert changes neither.
  ASSERT_TRUE(Ok(store().UpsertDevice(probe)).id == created->id);
  UH_ASSERT_OK_AND_ASSIGN(device, store().GetDevice(created->id));
  EXPECT_EQ(device->auth_state, "accepted");
  EXPECT_EQ(device->token_hash, "h3");
  EXPECT_FALSE(Ok(store().SetDeviceAuthState(created->id + 1000, "rejected")));
  EXPECT_FALSE(Ok(store().SetDeviceSecretHash(created->id + 1000, "h4")));
  // Devices a probe creates are accepted, without a secret.
  UH_ASSERT_OK_AND_ASSIGN(probed, store().UpsertDevice(MakeProbe(product.uid, "s2")));
  EXPECT_EQ(probed.auth_state, "accepted");
  EXPECT_EQ(probed.token_hash, "");
}

}  // namespace
}  // namespace uh::server::testing
