// The fleet engine against the in-memory server: every device goes through the agent's update
// flow, reports in order, downloads each byte once, and the run ends at its goal.

#include <gtest/gtest.h>

#include <set>
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
  options.servers = {"http://fake.invalid"};
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
           [](FleetOptions& o) { o.servers = {"https://example.com"}; },
           [](FleetOptions& o) { o.servers = {"ftp://example.com"}; },
           [](FleetOptions& o) { o.servers = {"http://:80"}; },
           [](FleetOptions& o) { o.servers = {"http://host:99999"}; },
           [](FleetOptions& o) { o.servers = {}; },
           [](FleetOptions& o) {
             o.servers = {"http://a", "https://b"};
           },
           [](FleetOptions& o) { o.servers.resize(kMaxServers + 1, "http://a"); },
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

// Two servers, as behind a load balancer: device i starts on server i mod 2, and while both
// answer, every device keeps to its own.
TEST(FleetEngineTest, DevicesAreSpreadEvenlyOverTheServers) {
  const auto package = MakePackage("2.0", {kC}, {kC}, nullptr);
  FakeUpdateServer first(package), second(package);
  FleetOptions options = Options(40);
  options.servers = {"http://first.invalid", "http://second.invalid"};
  auto fleet = Fleet::Create(options, testing::FactoryOf({&first, &second}));
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  const Summary summary = (*fleet)->Run();
  EXPECT_TRUE(summary.GoalMet()) << FormatSummary(summary);
  EXPECT_EQ(summary.failovers, 0u);
  EXPECT_EQ(SummaryJson(summary)["failovers"], 0);
  ASSERT_EQ(first.versions().size(), 20u);
  ASSERT_EQ(second.versions().size(), 20u);
  for (std::uint32_t i = 0; i < 40; ++i) {
    const std::string serial = "sim-" + std::to_string(i);
    FakeUpdateServer& own = i % 2 == 0 ? first : second;
    EXPECT_EQ(own.versions().at(serial), "2.0") << serial;
    EXPECT_EQ(own.reports().at(serial), kUpdated) << serial;
  }
}

// One of three servers dies in the middle of the rollout (a download cut halfway, then refused
// connections): its devices move on to the next server, resume there, and every device ends
// with the update, each step reported once to one server or the other.
TEST(FleetEngineTest, DevicesOfAServerThatDiesFailOverToTheNext) {
  const auto package = MakePackage("2.0", {kA, kC}, {kB, kC}, nullptr);
  FakeUpdateServer first(package), second(package), third(package);
  FleetOptions options = Options(60);
  options.servers = {"http://first.invalid", "http://second.invalid", "http://third.invalid"};
  // It dies in the middle of the first download after its 20th answer.
  second.DieInDownloadAfter(20);
  auto fleet = Fleet::Create(options, testing::FactoryOf({&first, &second, &third}));
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  const Summary summary = (*fleet)->Run();

  EXPECT_TRUE(second.down());
  EXPECT_EQ(summary.end, EndReason::kGoal) << FormatSummary(summary);
  EXPECT_TRUE(summary.GoalMet());
  EXPECT_EQ(summary.updated, 60u);
  // Each of the dead server's devices that asked anything after its death moved once, to the
  // third server, which never failed: all of those that had not finished there.
  std::uint64_t moved = 0;
  for (const DeviceState& device : (*fleet)->devices()) {
    const std::string serial = "sim-" + std::to_string(device.index);
    if (device.index % 3 != 1) {
      EXPECT_EQ(device.server, device.index % 3) << serial;
      continue;
    }
    const auto told = second.versions().find(serial);  // none: its first probe was refused
    const bool done = told != second.versions().end() && told->second == "2.0";
    if (device.server == 1) {
      EXPECT_TRUE(done) << serial << " finished before the death, and was quiet since";
      continue;
    }
    ++moved;
    EXPECT_EQ(device.server, 2) << serial;
    if (!done) {
      ASSERT_TRUE(third.versions().contains(serial)) << serial;
      EXPECT_EQ(third.versions().at(serial), "2.0") << serial << " finished on the third server";
    }
  }
  EXPECT_GE(moved, 10u) << "it died early in the rollout";
  EXPECT_EQ(summary.failovers, moved);
  EXPECT_EQ(SummaryJson(summary)["failovers"], moved);
  EXPECT_NE(FormatSummary(summary).find(std::to_string(moved) + " failovers"), std::string::npos);
  EXPECT_GT(summary.http_errors, 0u);
  EXPECT_GT(third.range_requests(), 0u) << "the download cut by the death resumed";
  EXPECT_EQ(summary.object_bytes, 60u * (kB.bytes.size() + kC.bytes.size()))
      << "no byte twice, none missing";
  for (std::uint32_t i = 0; i < 60; ++i) {
    const std::string serial = "sim-" + std::to_string(i);
    SCOPED_TRACE(serial);
    std::vector<std::string> reports;
    for (FakeUpdateServer* server : {&first, &second, &third}) {
      if (server->reports().contains(serial)) {
        const auto& more = server->reports().at(serial);
        reports.insert(reports.end(), more.begin(), more.end());
      }
    }
    // The order within a server is kept; a device's steps are reported in order by design.
    EXPECT_EQ(reports.size(), kUpdated.size());
    EXPECT_EQ(std::set<std::string>(reports.begin(), reports.end()),
              std::set<std::string>(kUpdated.begin(), kUpdated.end()));
    if (i % 3 == 0) {
      EXPECT_FALSE(second.reports().contains(serial));
      EXPECT_FALSE(third.reports().contains(serial));
    } else if (i % 3 == 2) {
      EXPECT_FALSE(first.reports().contains(serial));
      EXPECT_FALSE(second.reports().contains(serial));
    } else {
      EXPECT_FALSE(first.reports().contains(serial));
    }
  }
}

// A report that cannot reach its server is sent on to the next one at once: devices do not
// send a report again, and the server would never learn that step.
TEST(FleetEngineTest, AReportRefusedByItsServerGoesToTheNextOne) {
  const auto package = MakePackage("2.0", {kC}, {kC}, nullptr);
  FakeUpdateServer first(package), second(package);
  second.DieAtReport("installed");
  FleetOptions options = Options(20);
  options.servers = {"http://first.invalid", "http://second.invalid"};
  auto fleet = Fleet::Create(options, testing::FactoryOf({&first, &second}));
  ASSERT_TRUE(fleet.has_value());
  const Summary summary = (*fleet)->Run();
  EXPECT_TRUE(second.down());
  EXPECT_TRUE(summary.GoalMet()) << FormatSummary(summary);
  EXPECT_EQ(summary.report_errors, 0u) << "the refused report reached the first server";
  EXPECT_GE(summary.http_errors, 1u);
  EXPECT_GE(summary.failovers, 1u);
  int resent = 0;
  for (std::uint32_t i = 1; i < 20; i += 2) {
    const std::string serial = "sim-" + std::to_string(i);
    SCOPED_TRACE(serial);
    std::vector<std::string> reports;
    if (second.reports().contains(serial)) reports = second.reports().at(serial);
    if (first.reports().contains(serial)) {
      const auto& more = first.reports().at(serial);
      if (more.front() == "installed" && reports.size() == 3) ++resent;
      reports.insert(reports.end(), more.begin(), more.end());
    }
    EXPECT_EQ(reports, kUpdated) << "every step reported once, in order";
  }
  EXPECT_GE(resent, 1) << "the report that killed the second server went to the first";
}

// Every server gone: the devices go round the list, and the run times out without them.
TEST(FleetEngineTest, WhenEveryServerIsDownTheDevicesKeepTryingAndTheGoalIsMissed) {
  const auto package = MakePackage("2.0", {kC}, {kC}, nullptr);
  FakeUpdateServer first(package), second(package);
  first.GoDown();
  second.GoDown();
  FleetOptions options = Options(4);
  options.servers = {"http://first.invalid", "http://second.invalid"};
  options.timeout = milliseconds(300);
  auto fleet = Fleet::Create(options, testing::FactoryOf({&first, &second}));
  ASSERT_TRUE(fleet.has_value());
  const Summary summary = (*fleet)->Run();
  EXPECT_EQ(summary.end, EndReason::kTimeout);
  EXPECT_EQ(summary.unchanged, 4u);
  EXPECT_GE(summary.failovers, 8u) << "each device went round at least once";
  EXPECT_EQ(summary.failovers, summary.probe_errors) << "every failed probe moved its device";
  EXPECT_EQ(first.probes() + second.probes(), 0u);
}

}  // namespace
}  // namespace uh::sim
