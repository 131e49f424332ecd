// A product can forbid downgrades: no rollout takes a device to an older version than it runs,
// so a validly signed old package cannot be replayed onto devices that moved past it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class DowngradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.SetUpConformanceProduct();
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
    // The package is 1.0.0: old is behind it, new past it.
    ASSERT_EQ(server_.Probe(old_).status, 404);
    ASSERT_EQ(server_.Probe(new_).status, 404);
  }

  http::testing::FetchResult Forbid(const json& body) {
    return server_.Api("PATCH", std::string("/api/v1/products/") + kConformanceProduct, body);
  }

  http::testing::FetchResult CreateRollout(const json& selection = json::object()) {
    json definition = {{"package", kUid}, {"stages", {100}}};
    definition.update(selection);
    return server_.Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                       definition);
  }

  ServerFixture server_;
  json old_ = ServerFixture::DeviceBody("old", "0.9");
  json new_ = ServerFixture::DeviceBody("new", "1.10");
};

TEST_F(DowngradeTest, AllowedByDefaultAsUpstreamDoes) {
  ASSERT_EQ(CreateRollout().status, 201);
  EXPECT_EQ(server_.Probe(old_).status, 200);
  EXPECT_EQ(server_.Probe(new_).status, 200);  // 1.10 -> 1.0.0
}

TEST_F(DowngradeTest, TheSettingIsAProductFieldWithItsOwnChecks) {
  auto set = Forbid({{"forbid_downgrades", true}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["forbid_downgrades"], true);
  auto shown = server_.Api("GET", std::string("/api/v1/products/") + kConformanceProduct);
  EXPECT_EQ(json::parse(shown.body)["forbid_downgrades"], true);
  EXPECT_EQ(Forbid({{"forbid_downgrades", "yes"}}).status, 400);
  EXPECT_EQ(Forbid({{"name", "renamed"}}).status, 400);
  EXPECT_EQ(
      server_
          .Api("PATCH", "/api/v1/products/" + std::string(64, 'f'), {{"forbid_downgrades", true}})
          .status,
      404);
}

TEST_F(DowngradeTest, ARolloutThatWouldTakeADeviceBackIsRefused) {
  ASSERT_EQ(Forbid({{"forbid_downgrades", true}}).status, 200);
  auto refused = CreateRollout();
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("1 of the selected devices run a newer version"));
  EXPECT_THAT(refused.body, HasSubstr("runs 1.10"));
  EXPECT_EQ(server_.Probe(new_).status, 404);

  // Selecting only the devices behind the package is fine.
  auto created = CreateRollout({{"filter", {{"versions", {"0.9"}}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(server_.Probe(old_).status, 200);
  EXPECT_EQ(server_.Probe(new_).status, 404);
}

TEST_F(DowngradeTest, DevicesThatMovePastThePackageAreNeverOffered) {
  ASSERT_EQ(Forbid({{"forbid_downgrades", true}}).status, 200);
  ASSERT_EQ(CreateRollout({{"filter", {{"hardware", {"board-a"}}}}}).status, 409);
  // Every device is behind when the rollout is made...
  json ahead = old_;
  new_["version"] = "0.8";
  ASSERT_EQ(server_.Probe(new_).status, 404);
  ASSERT_EQ(CreateRollout({{"filter", {{"hardware", {"board-a"}}}}}).status, 201);
  // ... then one is updated some other way, and a newcomer arrives already ahead.
  new_["version"] = "2.0";
  EXPECT_EQ(server_.Probe(new_).status, 404);
  const json newcomer = ServerFixture::DeviceBody("newcomer", "1.0.1");
  EXPECT_EQ(server_.Probe(newcomer).status, 404);
  EXPECT_EQ(server_.Probe(ahead).status, 200);
}

}  // namespace
}  // namespace uh::server::testing
