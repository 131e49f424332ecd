// Devices that prove who they are: a product in device-token mode with automatic enrolment.
// Real agents make their own secret at first start (or are given one made by the server),
// send it with every probe, download and report, and update; someone who only knows the
// product UID can neither report in a device's name nor fetch the package.

#include "e2e/e2e_fixture.hpp"
#include "server/http/http_test_client.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using server::http::testing::Fetch;

constexpr int kEnrolled = 3;

TEST_F(E2eTest, DevicesWithTheirOwnTokensUpdateAndStrangersAreRefused) {
  const auto key = MakeKey(dir_ / "keys");
  ReleaseSpec spec;
  spec.product = server_.CreateProduct("e2e board, device tokens");
  ASSERT_FALSE(spec.product.empty());
  server_.RegisterKey(spec.product, key.pub);
  const auto mode = server_.Api("PATCH", "/products/" + spec.product,
                                {{"device_auth", "device-token"}, {"enrolment", "auto"}});
  ASSERT_EQ(mode.status, 200) << mode.text;
  const auto release = BuildRelease(dir_ / "release", spec, key);
  const auto package = server_.UploadPackage(release.package);
  ASSERT_FALSE(package.empty());

  // One device is registered by the operator, who puts its secret on it.
  const auto provisioned = server_.Api("POST", "/products/" + spec.product + "/devices",
                                       {{"identity", {{"serial", "provisioned"}}}});
  ASSERT_EQ(provisioned.status, 201) << provisioned.text;
  const std::string secret = provisioned.body.value("token", "");
  ASSERT_EQ(secret.size(), 64u);

  auto args = ReleaseDeviceArgs(spec, key);
  args.insert(args.end(), {"--image", release.old_image.string()});
  auto& fleet = MakeFleet(args);
  std::vector<DeviceSpec> devices;
  for (int i = 1; i <= kEnrolled; ++i)
    devices.push_back({Serial("enrolled", i), {"--device-token", "new"}});
  devices.push_back({"provisioned", {"--device-token", secret}});
  fleet.Add(devices);
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  ASSERT_TRUE(WaitForDevices(spec.product, kEnrolled + 1)) << "not every device enrolled";
  Step("devices enrolled");

  const auto rollout =
      server_.CreateRollout(spec.product, {{"package", package}, {"stages", json::array({100})}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  json shown = WaitForRollout(rollout, "finished", Limit(180));
  ASSERT_EQ(shown.value("state", ""), "finished") << shown.dump(2);
  EXPECT_EQ(CountOf(shown, "updated"), kEnrolled + 1);
  for (auto& device : fleet) EXPECT_EQ(device->Version(), "2.0") << device->serial();
  Step("every device updated");

  // A stranger who knows the product UID and a device's identity.
  const json device = {{"product-uid", spec.product},
                       {"version", "2.0"},
                       {"hardware", spec.hardware},
                       {"device-identity", {{"serial", Serial("enrolled", 1)}}}};
  const std::vector<std::string> headers = {"Content-Type: application/json",
                                            "Api-Content-Type: application/vnd.updatehub-v1+json"};
  json report = device;
  report["status"] = "error";
  report["package-uid"] = package;
  report["previous-state"] = "installing";
  report["error-message"] = "forged";
  const auto reports_before = server_.Reports("status=error").size();
  const auto forged =
      Fetch(server_.Url("/report"), {.method = "POST", .headers = headers, .body = report.dump()});
  EXPECT_EQ(forged.status, 401) << forged.body;
  auto wrong = headers;
  wrong.push_back("UH-Device-Token: " + std::string(64, 'a'));
  EXPECT_EQ(
      Fetch(server_.Url("/report"), {.method = "POST", .headers = wrong, .body = report.dump()})
          .status,
      401);
  EXPECT_EQ(
      Fetch(server_.Url("/upgrades"), {.method = "POST", .headers = headers, .body = device.dump()})
          .status,
      401);
  EXPECT_EQ(server_.Reports("status=error").size(), reports_before);
  EXPECT_EQ(CountOf(server_.Rollout(rollout), "updated"), kEnrolled + 1);
}

}  // namespace
}  // namespace uh::e2e
