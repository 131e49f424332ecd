// Device quotas: reports per device and new devices per product, each per minute, answered 429
// with Retry-After, counted in /metrics, and nothing stored for what was refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace uh::server::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kT0 = std::chrono::sys_days(std::chrono::year{2026} / 12 / 1) + 12h;

class QuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Stop();
    server_.config().reports_per_device_per_minute = 3;
    server_.config().new_devices_per_product_per_minute = 2;
    server_.SetNow(kT0);
    server_.Start();
    server_.SetUpConformanceProduct();
    ASSERT_EQ(server_.Upload(uh::testing::TestPackagesDir() / "signed.uhupkg").status, 201);
  }

  json Devices() { return json::parse(server_.Api("GET", "/api/v1/devices").body)["devices"]; }
  std::string Metrics() { return server_.Api("GET", "/metrics").body; }

  ServerFixture server_;
};

TEST_F(QuotaTest, ReportsOverTheDeviceQuotaAre429AndNotStored) {
  const json device = ServerFixture::DeviceBody("dev0", "0.9");
  const json other = ServerFixture::DeviceBody("dev1", "0.9");
  ASSERT_EQ(server_.Probe(device).status, 404);  // known before the rollout selects devices
  ASSERT_EQ(server_.Probe(other).status, 404);
  ASSERT_EQ(server_
                .Api("POST", std::string("/api/v1/products/") + kConformanceProduct + "/rollouts",
                     {{"package", kUid}, {"stages", {100}}})
                .status,
            201);
  ASSERT_EQ(server_.Probe(device).status, 200);
  ASSERT_EQ(server_.Probe(other).status, 200);

  for (const char* status : {"downloading", "downloaded", "installing"}) {
    ASSERT_EQ(server_.Report(device, status, kUid).status, 200) << status;
  }
  auto refused = server_.Report(device, "installed", kUid);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers["retry-after"], "20");  // 3 a minute: one more every 20 s
  EXPECT_THAT(refused.body, HasSubstr("quota of reports"));
  // Another device has its own quota.
  EXPECT_EQ(server_.Report(other, "downloading", kUid).status, 200);

  const auto id = Devices()[0]["id"].get<std::int64_t>();
  auto shown = json::parse(server_.Api("GET", "/api/v1/devices/" + std::to_string(id)).body);
  std::vector<std::string> stored;
  for (const auto& report : shown["reports"]) stored.push_back(report["status"]);
  EXPECT_THAT(stored, ::testing::UnorderedElementsAre("downloading", "downloaded", "installing"));
  EXPECT_THAT(Metrics(), HasSubstr("updatehub_quota_refused_total{kind=\"reports\"} 1\n"));

  server_.SetNow(kT0 + 20s);  // one report's worth of quota back
  EXPECT_EQ(server_.Report(device, "installed", kUid).status, 200);
  EXPECT_EQ(server_.Report(device, "rebooting", kUid).status, 429);
}

TEST_F(QuotaTest, NewDevicesOverTheProductQuotaAre429AndNotCreated) {
  const json first = ServerFixture::DeviceBody("dev0", "0.9");
  ASSERT_EQ(server_.Probe(first).status, 404);
  ASSERT_EQ(server_.Probe(ServerFixture::DeviceBody("dev1", "0.9")).status, 404);
  auto refused = server_.Probe(ServerFixture::DeviceBody("dev2", "0.9"));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers["retry-after"], "30");
  EXPECT_THAT(refused.body, HasSubstr("quota of new devices"));
  EXPECT_EQ(Devices().size(), 2u);
  // Known devices are not new: they go on probing, and changing, as before.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(server_.Probe(first).status, 404);
  EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody("dev0", "1.0")).status, 404);
  EXPECT_THAT(Metrics(), HasSubstr("updatehub_quota_refused_total{kind=\"devices\"} 1\n"));

  server_.SetNow(kT0 + 30s);
  EXPECT_EQ(server_.Probe(ServerFixture::DeviceBody("dev2", "0.9")).status, 404);
  EXPECT_EQ(Devices().size(), 3u);
}

TEST_F(QuotaTest, ZeroTurnsAQuotaOff) {
  server_.Stop();
  server_.config().new_devices_per_product_per_minute = 0;
  server_.Start();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(server_.Probe(ServerFixture::DeviceBody("dev" + std::to_string(i), "0.9")).status,
              404);
  }
  EXPECT_EQ(Devices().size(), 10u);
}

}  // namespace
}  // namespace uh::server::testing
