// The fleet engine against the in-memory server: every device goes through the agent's update
// flow, reports in order, downloads each byte once, and the run ends at its goal.

#include <gtest/gtest.h>

#include <thread>

#include "fake_update_server.hpp"
#include "sim/fleet.hpp"
#include "support/test_support.hpp"

namespace uh::sim {
namespace {

using std::chrono::milliseconds;
using testing::FakeUpdateServer;
using testing::MakePackage;
using testing::TestObject;

// Set A (slot 0 runs it) and set B (slot 0 installs it) differ in their root file system and
// share the application image.
const TestObject kA{"rootfs.img", uh::testing::RandomBytes(2000, 11)};
const TestObject kB{"rootfs.img", uh::testing::RandomBytes(9000, 12)};
const TestObject kC{"app.img", uh::testing::RandomBytes(1500, 13)};

FleetOptions Options(std::uint32_t devices) {
  FleetOptions options;
  options.server_url = "http://fake.invalid";
  options.devices = devices;
  options.product_uid = testing::kProduct;
  options.hardware = "board-a";
  options.version = "1.0";
  options.poll_interval = milliseconds(40);
  options.jitter = milliseconds(20);
  options.retry_base = milliseconds(10);
  options.until_version = "2.0";
  options.timeout = milliseconds(20'000);
  return options;
}

const std::vector<std::string> kUpdated = {"downloading", "downloaded", "installing", "installed",
                                           "rebooting"};

TEST(FleetEngineTest, EveryDeviceUpdatesThroughTheAgentsSteps) {
  // Slot-0 devices install set B: its root file system and the shared application.
  FakeUpdateServer server(MakePackage("2.0", {kA, kC}, {kB, kC}, &testing::TestKey()));
  FleetOptions options = Options(300);
  options.interrupt_rate = 0.3;
  options.public_key = *package::PublicKey::FromPem(testing::TestKey().PublicPem());
  auto fleet = Fleet::Create(options, server.Factory());
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  const Summary summary = (*fleet)->Run();

  EXPECT_EQ(summary.end, EndReason::kGoal) << FormatSummary(summary);
  EXPECT_TRUE(summary.GoalMet());
  EXPECT_EQ(summary.updated, 300u);
  EXPECT_EQ(summary.at_goal, 300u);
  EXPECT_EQ(summary.unchanged, 0u);
  EXPECT_EQ(summary.http_errors, 0u);
  EXPECT_EQ(summary.offers, 300u);
  EXPECT_EQ(summary.reports, 300u * 5);
  EXPECT_EQ(summary.object_bytes, 300u * (kB.bytes.size() + kC.bytes.size()));
  EXPECT_GT(summary.cuts, 30u);
  EXPECT_EQ(server.range_requests(), summary.cuts) << "each cut resumed with a range";
  EXPECT_EQ(summary.downloads, 300u * 2 + summary.cuts);
  ASSERT_EQ(server.reports().size(), 300u);
  for (const auto& [serial, reports] : server.reports()) {
    EXPECT_EQ(reports, kUpdated) << serial;
    EXPECT_EQ(server.versions().at(serial), "2.0") << serial << " told the server";
  }
  EXPECT_EQ(server.reports().count("sim-0"), 1u);
  EXPECT_EQ(server.reports().count("sim-299"), 1u);
  for (const auto& device : (*fleet)->devices()) {
    EXPECT_EQ(device.slot, 1);
    EXPECT_FALSE(device.hash) << "no hasher left behind";
  }
}

TEST(FleetEngineTest, PlannedFailuresFailAndAreCounted) {
  FakeUpdateServer server(MakePackage("2.0", {kC}, {kC}, nullptr));
  FleetOptions options = Options(200);
  options.failure_rate = 0.1;
  options.seed = 77;
  auto fleet = Fleet::Create(options, server.Factory());
  ASSERT_TRUE(fleet.has_value());
  const Summary summary = (*fleet)->Run();
  EXPECT_TRUE(summary.GoalMet()) << FormatSummary(summary);
  EXPECT_EQ(summary.failed, 20u);
  EXPECT_EQ(summary.failed_planned, 20u);
  EXPECT_EQ(summary.updated, 180u);
  const auto plan = PlanFailures(77, 200, 0.1);
  for (std::uint32_t i = 0; i < 200; ++i) {
    const auto& reports = server.reports().at((*fleet)->Serial(i));
    switch (plan[i]) {
      case PlannedFailure::kNone:
        EXPECT_EQ(reports, kUpdated) << i;
        break;
      case PlannedFailure::kInstall:
        EXPECT_EQ(reports, (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                     "error(installing)"}))
            << i;
        break;
      case PlannedFailure::kValidation:
        EXPECT_EQ(reports, (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                     "installed", "rebooting", "error(rebooting)"}))
            << i;
        EXPECT_EQ(server.versions().at((*fleet)->Serial(i)), "1.0") << "came back on 1.0";
        break;
    }
  }
}

TEST(FleetEngineTest, DurationEndsARunWithoutGoalAndStopWorksFromAnotherThread) {
  // A package for another product: refused at validation, once per device.
  FakeUpdateServer server(MakePackage("2.0", {kC}, {kC}, nullptr, std::string(64, 'a')));
  FleetOptions options = Options(50);
  options.until_version.reset();
  options.duration = milliseconds(300);
  auto fleet = Fleet::Create(options, server.Factory());
  ASSERT_TRUE(fleet.has_value());
  Summary summary = (*fleet)->Run();
  EXPECT_EQ(summary.end, EndReason::kDuration);
  EXPECT_FALSE(summary.GoalMet());
  EXPECT_EQ(summary.failed, 50u);
  EXPECT_EQ(summary.failed_planned, 0u);
  for (const auto& [serial, reports] : server.reports()) {
    EXPECT_EQ(reports, std::vector<std::string>{"error(validation)"}) << serial;
  }
  EXPECT_GT(summary.probes, 50u * 3) << "devices keep polling after a failure";

  options.duration.reset();
  auto endless = Fleet::Create(options, server.Factory());
  ASSERT_TRUE(endless.has_value());
  std::thread stopper([&] {
    while ((*endless)->Snapshot().probed < 50) std::this_thread::sleep_for(milliseconds(5));
    (*endless)->Stop();
  });
  summary = (*endless)->Run();
  stopper.join();
  EXPECT_EQ(summary.end, EndReason::kStopped);
}

TEST(FleetEngineTest, BadOptionsAreRefused) {
  FakeUpdateServer server(MakePackage("2.0", {kC}, {kC}, nullptr));
  for (const auto& change : std::vector<std::function<void(FleetOptions&)>>{
           [](FleetOptions& o) { o.devices = 0; },
           [](FleetOptions& o) { o.product_uid = "xyz"; },
           [](FleetOptions& o) { o.failure_rate = 1.5; },
           [](FleetOptions& o) { o.interrupt_rate = -0.1; },
           [](FleetOptions& o) { o.connections = 0; },
           [](FleetOptions& o) { o.poll_interval = milliseconds(0); },
           [](FleetOptions& o) { o.server_url = "https://example.com"; },
           [](FleetOptions& o) { o.server_url = "ftp://example.com"; },
           [](FleetOptions& o) { o.server_url = "http://:80"; },
           [](FleetOptions& o) { o.server_url = "http://host:99999"; },
       }) {
    FleetOptions options = Options(1);
    change(options);
    EXPECT_FALSE(Fleet::Create(options, server.Factory()).has_value());
  }
  auto address = ParseServerUrl("http://[::1]:8080/base/");
  ASSERT_TRUE(address.has_value());
  EXPECT_EQ(address->host, "::1");
  EXPECT_EQ(address->port, 8080);
  EXPECT_EQ(address->base_path, "/base");
}

}  // namespace
}  // namespace uh::sim
