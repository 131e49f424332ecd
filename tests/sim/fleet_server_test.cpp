// The simulator against a real updatehub-server in the same process (port 0): staged rollouts
// to thousands of devices, the failure threshold, resumed downloads. The server's statistics
// and the simulator's summary must tell the same story.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "server_fixture.hpp"
#include "sim/fleet.hpp"
#include "sim_packages.hpp"
#include "support/test_support.hpp"

namespace uh::sim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::MakePackage;
using testing::TestObject;
using testing::TestPackage;

#if defined(__SANITIZE_ADDRESS__)
// Under ASan+UBSan the server and the simulator run several times slower: a smaller fleet
// exercises the same code. The release build runs the full 5,000.
constexpr std::uint32_t kStagedFleet = 1000;
#else
constexpr std::uint32_t kStagedFleet = 5000;
#endif

// Both installation sets list the same files: a root file system per slot, a shared app.
const TestObject kServerA{"rootfs.img", uh::testing::RandomBytes(3000, 21)};
const TestObject kServerB{"rootfs.img", uh::testing::RandomBytes(70'000, 22)};
const TestObject kServerSmallB{"rootfs.img", uh::testing::RandomBytes(2000, 24)};
const TestObject kServerC{"app.img", uh::testing::RandomBytes(1500, 23)};

// Polls `done` every 50 ms for up to `limit`.
bool WaitFor(const std::function<bool()>& done, milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

class FleetServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The server commits every write with fsync (SQLite synchronous=FULL): ~4 ms each on an
    // ordinary virtual disk, and a 5,000-device rollout makes ~100,000 writes. The simulator is
    // under test here, not the disk, so the server's data goes to tmpfs when there is one.
    if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) {
      ::setenv("TMPDIR", "/dev/shm", 1);
    }
  }

  void SetUp() override {
    server_ = std::make_unique<server::testing::ServerFixture>();
    // The whole simulated fleet enrols within seconds, as no real one does: an operator raises
    // the new-device quota for such a day (the per-address rate is off in the fixture).
    server_->Stop();
    server_->config().new_devices_per_product_per_minute = 0;
    server_->Start();
    auto product = server_->Api("POST", "/api/v1/products",
                                {{"uid", testing::kProduct}, {"name", "simulated board"}});
    ASSERT_EQ(product.status, 201) << product.body;
    auto key = server_->Api("POST", std::string("/api/v1/products/") + testing::kProduct + "/keys",
                            {{"name", "test key"}, {"public_key", testing::TestKey().PublicPem()}});
    ASSERT_EQ(key.status, 201) << key.body;
  }

  void Upload(const TestPackage& package) {
    const auto file = server_->dir / (package.uid + ".uhupkg");
    testing::WritePackage(package, file);
    auto uploaded = server_->Upload(file);
    ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  }

  std::int64_t CreateRollout(json definition) {
    auto created = server_->Api(
        "POST", std::string("/api/v1/products/") + testing::kProduct + "/rollouts", definition);
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body).value("id", std::int64_t{0});
  }

  json Show(std::int64_t id) {
    auto shown = server_->Api("GET", "/api/v1/rollouts/" + std::to_string(id));
    EXPECT_EQ(shown.status, 200) << shown.body;
    return json::parse(shown.body);
  }

  FleetOptions Options(std::uint32_t devices) const {
    FleetOptions options;
    options.servers = {server_->Url("")};
    options.devices = devices;
    options.product_uid = testing::kProduct;
    options.hardware = "board-a";
    options.version = "1.0";
    options.poll_interval = milliseconds(200);
    options.jitter = milliseconds(100);
    options.retry_base = milliseconds(50);
    options.connections = 16;
    options.request_timeout = milliseconds(20'000);
    options.public_key = *package::PublicKey::FromPem(testing::TestKey().PublicPem());
    return options;
  }

  // Runs the fleet on its own thread; once every device has introduced itself to the server
  // (so that a rollout selects them all), calls `then` on this thread with the fleet. Then
  // waits for the goal (--until-version) or, without one, stops the fleet.
  Summary Run(const FleetOptions& options, const std::function<void(Fleet&)>& then) {
    auto made = Fleet::Create(options);
    EXPECT_TRUE(made.has_value()) << made.error().message();
    if (!made) return {};
    Fleet& fleet = **made;
    Summary summary;
    std::thread runner([&] { summary = fleet.Run(); });
    const bool known =
        WaitFor([&] { return fleet.Snapshot().probed == options.devices; }, milliseconds(60'000));
    EXPECT_TRUE(known) << fleet.Snapshot().probed << " of " << options.devices << " probed";
    if (known) then(fleet);
    // A run with a goal ends by itself (at the goal or its timeout); others end here.
    if (!known || !options.until_version) fleet.Stop();
    runner.join();
    last_fleet_ = std::move(*made);
    return summary;
  }

  std::unique_ptr<server::testing::ServerFixture> server_;
  std::unique_ptr<Fleet> last_fleet_;
};

TEST_F(FleetServerTest, StagedRolloutUpdatesTheWholeFleet) {
  const TestPackage package = MakePackage("2.0", {kServerA}, {kServerSmallB}, &testing::TestKey());
  Upload(package);
  FleetOptions options = Options(kStagedFleet);
  // Devices waiting for their stage poll every 3 s: the server answers about 1,500 requests/s
  // here (each report re-counts the rollout's statistics), and idle probes share its queue
  // with the updates of the running stage.
  options.poll_interval = milliseconds(3000);
  options.jitter = milliseconds(1000);
  options.until_version = "2.0";
  options.timeout = milliseconds(170'000);
  std::int64_t id = 0;
  const auto started = std::chrono::steady_clock::now();
  const Summary summary = Run(options, [&](Fleet&) {
    id = CreateRollout({{"package", package.uid}, {"stages", {10, 50, 100}}});
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << FormatSummary(summary) << "whole test run " << seconds << " s\n";

  EXPECT_EQ(summary.end, EndReason::kGoal);
  EXPECT_TRUE(summary.GoalMet());
  EXPECT_EQ(summary.updated, kStagedFleet);
  EXPECT_EQ(summary.updating, 0u);
  EXPECT_EQ(summary.unchanged, 0u);
  EXPECT_EQ(summary.failed, 0u);
  EXPECT_EQ(summary.object_bytes, std::uint64_t{kStagedFleet} * kServerSmallB.bytes.size());
  EXPECT_EQ(summary.reports, std::uint64_t{kStagedFleet} * 5);
  EXPECT_EQ(summary.report_errors, 0u);
  EXPECT_EQ(summary.http_errors, 0u);

  const json shown = Show(id);
  EXPECT_EQ(shown["state"], "finished") << shown.dump();
  const json& stats = shown["statistics"];
  EXPECT_EQ(stats["total"], kStagedFleet);
  EXPECT_EQ(stats["states"]["updated"]["count"], summary.updated);
  EXPECT_EQ(stats["states"]["failed"]["count"], summary.failed);
  EXPECT_EQ(stats["states"]["pending"]["count"], 0);
  ASSERT_EQ(stats["stages"].size(), 3u);
  EXPECT_EQ(stats["stages"][0]["total"], kStagedFleet / 10);
  EXPECT_EQ(stats["stages"][0]["states"]["updated"]["count"], kStagedFleet / 10);
}

TEST_F(FleetServerTest, FailureThresholdPausesTheRolloutAndBothSidesCountTheFailures) {
  const TestPackage package = MakePackage("2.0", {kServerC}, {kServerC}, &testing::TestKey());
  Upload(package);
  FleetOptions options = Options(400);
  options.failure_rate = 0.25;
  options.seed = 2024;
  std::int64_t id = 0;
  json shown;
  const Summary summary = Run(options, [&](Fleet& fleet) {
    // The first stage (40 devices, 10 of them planned to fail on average) pauses on its
    // failures; the other 360 devices are never offered the package.
    id = CreateRollout({{"package", package.uid},
                        {"stages", {10, 100}},
                        {"failure_threshold", {{"percent", 5}, {"min_attempted", 20}}}});
    EXPECT_TRUE(WaitFor([&] { return Show(id)["state"] == "paused"; }, milliseconds(30'000)));
    // Devices in the middle of their update finish it; then nothing moves any more.
    int quiet = 0;
    EXPECT_TRUE(WaitFor(
        [&] {
          const auto live = fleet.Snapshot();
          const auto busy = live.phases[static_cast<std::size_t>(Phase::kDownloading)] +
                            live.phases[static_cast<std::size_t>(Phase::kInstalling)] +
                            live.phases[static_cast<std::size_t>(Phase::kRebooting)];
          quiet = busy == 0 ? quiet + 1 : 0;
          return quiet >= 6;
        },
        milliseconds(30'000)));
    shown = Show(id);
  });
  std::cout << FormatSummary(summary);
  EXPECT_EQ(shown["state"], "paused");
  EXPECT_NE(shown["reason"].get<std::string>().find("failure threshold"), std::string::npos);
  const json& states = shown["statistics"]["states"];
  EXPECT_GT(summary.failed, 0u);
  EXPECT_EQ(summary.failed, summary.failed_planned) << "only the planned devices failed";
  EXPECT_EQ(summary.planned_failures, 100u);
  EXPECT_EQ(states["failed"]["count"], summary.failed);
  EXPECT_EQ(states["updated"]["count"], summary.updated);
  EXPECT_EQ(summary.updating, 0u);
  EXPECT_GE(summary.unchanged, 360u) << "the pause left devices behind";
  EXPECT_EQ(states["pending"]["count"], summary.unchanged);
  EXPECT_FALSE(summary.GoalMet());
}

TEST_F(FleetServerTest, InterruptedDownloadsResumeWithoutAByteTwice) {
  // Slot-0 devices install set B (its root file system and the app); set A's root file system
  // is never downloaded.
  const TestPackage package =
      MakePackage("2.0", {kServerA, kServerC}, {kServerB, kServerC}, &testing::TestKey());
  Upload(package);
  FleetOptions options = Options(300);
  options.interrupt_rate = 0.5;
  options.until_version = "2.0";
  options.timeout = milliseconds(60'000);
  const Summary summary = Run(options, [&](Fleet&) {
    (void)CreateRollout({{"package", package.uid}, {"stages", {100}}});
  });
  std::cout << FormatSummary(summary);
  EXPECT_TRUE(summary.GoalMet());
  EXPECT_EQ(summary.updated, 300u);
  EXPECT_GT(summary.cuts, 100u);
  EXPECT_EQ(summary.downloads, 300u * 2 + summary.cuts);
  EXPECT_EQ(summary.object_bytes, 300u * (kServerB.bytes.size() + kServerC.bytes.size()))
      << "every byte once: each resume asked for exactly the bytes not yet received";
  EXPECT_EQ(summary.download_errors, 0u);
}

TEST_F(FleetServerTest, ProductTokenIsSentAndRequired) {
  const TestPackage package = MakePackage("2.0", {kServerC}, {kServerC}, &testing::TestKey());
  Upload(package);
  auto token =
      server_->Api("POST", std::string("/api/v1/products/") + testing::kProduct + "/device-token");
  ASSERT_EQ(token.status / 100, 2) << token.body;
  const std::string secret = json::parse(token.body)["device_token"];

  // Without the token every probe is refused (401): errors, never a crash.
  FleetOptions options = Options(20);
  options.duration = milliseconds(600);
  auto refused = Fleet::Create(options);
  ASSERT_TRUE(refused.has_value());
  const Summary denied = (*refused)->Run();
  EXPECT_GT(denied.probe_errors, 20u);
  EXPECT_EQ(denied.probe_errors, denied.probes);
  EXPECT_EQ(denied.unchanged, 20u);

  options.duration.reset();
  options.product_token = secret;
  options.until_version = "2.0";
  options.timeout = milliseconds(30'000);
  const Summary summary = Run(options, [&](Fleet&) {
    (void)CreateRollout({{"package", package.uid}, {"stages", {100}}});
  });
  EXPECT_TRUE(summary.GoalMet()) << FormatSummary(summary);
  EXPECT_EQ(summary.http_errors, 0u);
}

}  // namespace
}  // namespace uh::sim
