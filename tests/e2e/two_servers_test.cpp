// Two real updatehub-server processes on one PostgreSQL database (a scratch database of the test
// run's server) with one objects directory, as behind a load balancer, and one updatehub-sim
// spreading its devices over both. A staged rollout with a failure threshold runs; once the first
// stage has updated devices, the server holding the timed work's lease is killed (SIGKILL). The
// simulator's devices fail over to the survivor, which takes over the timed work, and the
// rollout finishes. Checked against what the devices did: no stage ever started a device beyond
// its quota, the threshold (which the planned failures stay under) never paused the rollout, and
// the final statistics, stage by stage and device by device, are what the simulator's devices
// report. The killed server, restarted, serves the same rollout as the survivor.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/child_process.hpp"
#include "e2e/e2e_support.hpp"
#include "e2e/package_builder.hpp"
#include "e2e/server_process.hpp"
#include "postgres_scratch.hpp"
#include "support/test_support.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;

// 10 % of them in the first stage, 40 % in the second, the rest in the third.
constexpr int kDevices = kSlowdown > 1 ? 60 : 120;
constexpr int kStageTotals[] = {kDevices / 10, kDevices * 4 / 10, kDevices / 2};
// 5 % of the devices fail their update (the simulator plans exactly round(rate * devices)).
constexpr double kFailureRate = 0.05;
constexpr int kFailures = kDevices / 20;
// Even if every planned failure fell in the first stage (6 of its 12 devices), half of it
// updates (its success share) and 50 % failed is under the threshold's 75 %: the rollout never
// pauses and finishes.
constexpr double kThresholdPercent = 75;
constexpr int kMinAttempted = kDevices / 10;

std::filesystem::path SimBinary() { return UH_SIM_BINARY; }

std::int64_t StageState(const json& rollout, std::size_t stage, const std::string& state) {
  return rollout["statistics"]["stages"][stage]["states"][state]["count"].get<std::int64_t>();
}

// What a watcher saw of the rollout, read every 50 ms while the simulator runs.
struct Watch {
  std::mutex mutex;
  std::vector<std::string> violations;  // a stage beyond its quota, a failure share too high
  std::set<std::string> states;         // the rollout's states seen
  int observations = 0;

  void Look(const json& rollout) {
    if (!rollout.contains("statistics")) return;
    std::lock_guard lock(mutex);
    ++observations;
    states.insert(rollout.value("state", std::string()));
    const auto current = rollout["current_stage"].get<std::size_t>();
    const json& stages = rollout["statistics"]["stages"];
    std::int64_t started = 0;  // devices that left pending
    for (std::size_t stage = 0; stage < stages.size(); ++stage) {
      const std::int64_t total = stages[stage]["total"].get<std::int64_t>();
      const std::int64_t moved = total - StageState(rollout, stage, "pending");
      started += moved;
      if (stage > current && moved != 0) {
        violations.push_back("stage " + std::to_string(stage) + " started " +
                             std::to_string(moved) + " devices during stage " +
                             std::to_string(current) + ": " + rollout["statistics"].dump());
      }
    }
    std::int64_t quota = 0;
    for (std::size_t stage = 0; stage <= current && stage < stages.size(); ++stage) {
      quota += stages[stage]["total"].get<std::int64_t>();
    }
    if (started > quota) {
      violations.push_back(std::to_string(started) + " devices started, the quota through stage " +
                           std::to_string(current) + " is " + std::to_string(quota));
    }
    const auto failed = rollout["statistics"]["states"]["failed"]["count"].get<std::int64_t>();
    const auto attempted = rollout["statistics"]["attempted"].get<std::int64_t>();
    if (attempted >= kMinAttempted && 100.0 * failed > kThresholdPercent * attempted) {
      violations.push_back("the failures crossed the threshold: " + rollout["statistics"].dump());
    }
  }
};

class TwoServersE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto config = dir_ / "server.toml";
    // The simulated fleet enrols within a second, from one address: limits an operator raises
    // for such a fleet behind a NAT.
    uh::testing::WriteFile(config, "database = \"" + database_.url() + "\"\nobjects_dir = \"" +
                                       (dir_ / "objects").string() +
                                       "\"\nrequests_per_second_per_address = 0\n"
                                       "new_devices_per_product_per_minute = 0\n");
    first_ = std::make_unique<ServerProcess>(dir_ / "first",
                                             std::vector<std::string>{"--config", config.string()});
    second_ = std::make_unique<ServerProcess>(
        dir_ / "second", std::vector<std::string>{"--config", config.string()});
    // The first one up takes the timed work's lease and keeps it while it runs.
    first_->Start();
    ASSERT_TRUE(
        WaitUntil([&] { return first_->Metric("updatehub_timed_work_leader") == 1; }, Limit(10)));
    second_->Start();
    Step("servers listening on ports " + std::to_string(first_->port()) + " and " +
         std::to_string(second_->port()));
  }

  void TearDown() override {
    if (HasFailure()) {
      for (ServerProcess* server : {first_.get(), second_.get()}) {
        if (server != nullptr) {
          std::cout << "==== server log (last 40 lines): " << server->log() << "\n"
                    << Tail(server->log(), 40) << "\n";
        }
      }
      std::cout << "==== simulator log: " << (dir_ / "sim.log") << "\n"
                << Tail(dir_ / "sim.log", 40) << "\n";
    }
    sim_.reset();
    for (ServerProcess* server : {first_.get(), second_.get()}) {
      if (server != nullptr && server->Running()) {
        EXPECT_EQ(server->Stop(), "exited with status 0") << Tail(server->log(), 40);
      }
    }
  }

  void Step(const std::string& what) const {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
    std::printf("[%6.1f s] %s\n", seconds, what.c_str());
    std::fflush(stdout);
  }

  std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
  uh::testing::TempDir dir_;
  server::testing::ScratchDatabase database_;
  std::unique_ptr<ServerProcess> first_;
  std::unique_ptr<ServerProcess> second_;
  std::unique_ptr<ChildProcess> sim_;
};

TEST_F(TwoServersE2eTest, KillingOneServerMidRolloutLosesNothing) {
  const auto key = MakeKey(dir_ / "keys");
  ReleaseSpec spec;
  spec.image_size = 64 * 1024;
  spec.product = first_->CreateProduct("two servers");
  ASSERT_FALSE(spec.product.empty());
  first_->RegisterKey(spec.product, key.pub);
  const auto release = BuildRelease(dir_ / "release", spec, key);
  // Uploaded to one server, its objects are in the shared directory for both.
  const auto package = second_->UploadPackage(release.package);
  ASSERT_FALSE(package.empty());
  Step("release built and uploaded");

  // Device i talks to server i mod 2 and moves to the other one when its own is gone.
  const std::string sim_log = (dir_ / "sim.log").string();
  sim_ = std::make_unique<ChildProcess>(std::vector<std::string>{SimBinary().string(),
                                                                 "--server",
                                                                 first_->Url(),
                                                                 "--server",
                                                                 second_->Url(),
                                                                 "--product",
                                                                 spec.product,
                                                                 "--hardware",
                                                                 spec.hardware,
                                                                 "--version",
                                                                 spec.from,
                                                                 "--until-version",
                                                                 spec.to,
                                                                 "--key",
                                                                 key.pub.string(),
                                                                 "--devices",
                                                                 std::to_string(kDevices),
                                                                 "--failure-rate",
                                                                 std::to_string(kFailureRate),
                                                                 "--seed",
                                                                 "19",
                                                                 "--poll-interval",
                                                                 "1",
                                                                 "--jitter",
                                                                 "0.5",
                                                                 "--connections",
                                                                 "16",
                                                                 "--request-timeout",
                                                                 std::to_string(10 * kSlowdown),
                                                                 "--timeout",
                                                                 std::to_string(120 * kSlowdown),
                                                                 "--json"},
                                        sim_log);
  ASSERT_TRUE(WaitUntil(
      [&] { return second_->Devices(spec.product).size() == static_cast<std::size_t>(kDevices); },
      Limit(30)))
      << "not every simulated device reached the servers";
  Step("devices known");

  const std::int64_t id = second_->CreateRollout(
      spec.product,
      {{"package", package},
       {"name", "2.0 over two servers"},
       {"stages", json::array({json{{"percent", 10}, {"success_percent", 50}},
                               json{{"percent", 50}, {"success_percent", 50}}, 100})},
       {"failure_threshold", {{"percent", kThresholdPercent}, {"min_attempted", kMinAttempted}}}});
  ASSERT_GT(id, 0);
  const json created = second_->Rollout(id);
  ASSERT_EQ(created["statistics"]["total"], kDevices) << created.dump();
  for (std::size_t stage = 0; stage < 3; ++stage) {
    EXPECT_EQ(created["statistics"]["stages"][stage]["total"], kStageTotals[stage]) << stage;
  }

  // The survivor's view of the rollout, all along.
  Watch watch;
  std::atomic<bool> watching{true};
  std::thread watcher([&] {
    while (watching) {
      watch.Look(second_->Rollout(id));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  json at_kill;
  const bool first_updates = WaitUntil(
      [&] {
        at_kill = second_->Rollout(id);
        return at_kill.contains("statistics") && StageState(at_kill, 0, "updated") > 0;
      },
      Limit(60), std::chrono::milliseconds(20));
  if (first_updates) {
    first_->Kill();
    Step("first server killed; the rollout was at stage " + at_kill["current_stage"].dump() + ": " +
         at_kill["statistics"]["states"].dump());
  }
  EXPECT_TRUE(first_updates) << "no device of the first stage updated";
  EXPECT_NE(at_kill.value("state", ""), "finished") << "killed after the rollout, not in it";
  // The survivor takes the timed work over once the dead server's lease has run out.
  EXPECT_TRUE(
      WaitUntil([&] { return second_->Metric("updatehub_timed_work_leader") == 1; }, Limit(30)))
      << "the survivor did not take the timed work's lease";
  Step("the survivor leads the timed work");

  const bool ended = WaitUntil([&] { return !sim_->Running(); }, Limit(150));
  watching = false;
  watcher.join();
  ASSERT_TRUE(ended) << "the simulator did not end";
  Step("simulator " + sim_->ending());
  EXPECT_TRUE(sim_->ExitedCleanly()) << sim_->ending() << "\n" << Tail(sim_log, 40);
  const std::string output = ReadIfExists(sim_log);
  const auto brace = output.find('{');
  ASSERT_NE(brace, std::string::npos) << output;
  const json summary = json::parse(output.substr(brace), nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << output;
  std::cout << summary.dump() << "\n";

  // The devices: every one at 2.0 but the planned failures, and those of the killed server moved
  // to the survivor.
  EXPECT_EQ(summary["end"], "goal");
  EXPECT_TRUE(summary["goal"]["met"].get<bool>());
  EXPECT_EQ(summary["devices"], kDevices);
  EXPECT_EQ(summary["planned_failures"], kFailures);
  EXPECT_EQ(summary["failed"], kFailures);
  EXPECT_EQ(summary["failed_planned"], kFailures);
  EXPECT_EQ(summary["updated"], kDevices - kFailures);
  EXPECT_EQ(summary["updating"], 0);
  EXPECT_EQ(summary["unchanged"], 0);
  const auto failovers = summary["failovers"].get<int>();
  EXPECT_GT(failovers, 0);
  EXPECT_LE(failovers, kDevices / 2) << "only the killed server's devices move, once each";

  // What the survivor saw all along: no stage started a device before its turn, no more than
  // the quotas through the current stage, the failures under the threshold; never paused.
  {
    std::lock_guard lock(watch.mutex);
    EXPECT_GT(watch.observations, 10);
    EXPECT_TRUE(watch.violations.empty()) << ::testing::PrintToString(watch.violations);
    EXPECT_FALSE(watch.states.contains("paused")) << ::testing::PrintToString(watch.states);
  }

  // The final statistics are what the devices did, stage by stage.
  const json shown = second_->Rollout(id);
  EXPECT_EQ(shown["state"], "finished") << shown.dump();
  EXPECT_EQ(shown["reason"], "") << shown.dump();
  EXPECT_EQ(shown["current_stage"], 2);
  EXPECT_EQ(shown["statistics"]["total"], kDevices);
  EXPECT_EQ(CountOf(shown, "updated"), summary["updated"].get<std::int64_t>());
  EXPECT_EQ(CountOf(shown, "failed"), summary["failed"].get<std::int64_t>());
  for (const char* state : {"pending", "downloading", "installing", "rebooting"}) {
    EXPECT_EQ(CountOf(shown, state), 0) << state;
  }
  std::int64_t failed_in_stages = 0;
  for (std::size_t stage = 0; stage < 3; ++stage) {
    EXPECT_EQ(StageCountOf(shown, stage, "total"), kStageTotals[stage]) << stage;
    EXPECT_EQ(StageCountOf(shown, stage, "updated") + StageCountOf(shown, stage, "failed"),
              kStageTotals[stage])
        << stage;
    failed_in_stages += StageCountOf(shown, stage, "failed");
  }
  EXPECT_EQ(failed_in_stages, kFailures);

  // Device by device: the updated ones told the server they run 2.0, the failed ones 1.0, each
  // failure with the simulated device's error message.
  const auto listed =
      second_->Api("GET", "/rollouts/" + std::to_string(id) + "/devices?limit=1000");
  ASSERT_EQ(listed.status, 200) << listed.text;
  const json& devices = listed.body["devices"];
  ASSERT_EQ(devices.size(), static_cast<std::size_t>(kDevices));
  std::set<std::string> serials;
  int updated = 0;
  int failed = 0;
  for (const json& device : devices) {
    SCOPED_TRACE(device.dump());
    serials.insert(device["identity"].value("serial", std::string()));
    if (device["state"] == "updated") {
      ++updated;
      EXPECT_EQ(device["version"], spec.to);
    } else {
      ++failed;
      EXPECT_EQ(device["state"], "failed");
      EXPECT_EQ(device["version"], spec.from);
      EXPECT_NE(device["error_message"].get<std::string>(), "");
    }
  }
  EXPECT_EQ(updated, summary["updated"].get<int>());
  EXPECT_EQ(failed, summary["failed"].get<int>());
  EXPECT_EQ(serials.size(), static_cast<std::size_t>(kDevices));
  EXPECT_TRUE(serials.contains("sim-0"));
  EXPECT_TRUE(serials.contains("sim-" + std::to_string(kDevices - 1)));

  // The killed server comes back on its port and serves the same state.
  first_->Start(first_->port());
  Step("first server restarted");
  const json again = first_->Rollout(id);
  EXPECT_EQ(again, second_->Rollout(id));
  EXPECT_EQ(again["state"], "finished");
  const auto listed_again =
      first_->Api("GET", "/rollouts/" + std::to_string(id) + "/devices?limit=1000");
  ASSERT_EQ(listed_again.status, 200) << listed_again.text;
  EXPECT_EQ(listed_again.body,
            second_->Api("GET", "/rollouts/" + std::to_string(id) + "/devices?limit=1000").body);
  EXPECT_EQ(listed_again.body["devices"].size(), static_cast<std::size_t>(kDevices));
  EXPECT_EQ(first_->Metric("updatehub_timed_work_leader"), 0) << "the survivor keeps the lease";
}

}  // namespace
}  // namespace uh::e2e
