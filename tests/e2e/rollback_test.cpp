// A release that fails on some devices: their new system fails its self-test on the first
// boot, they go back to the old slot and report the error, and the rollout pauses once the
// failures pass its threshold.

#include "e2e/e2e_fixture.hpp"
#include "server/http/http_test_client.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using uh::testing::ReadFile;

constexpr int kRollbackDevices = 10;
constexpr int kFailing = 4;  // the last four

TEST_F(E2eTest, FailedValidationRollsBackAndPausesRollout) {
  const auto key = MakeKey(dir_ / "keys");
  ReleaseSpec spec;
  spec.product = server_.CreateProduct("e2e board");
  ASSERT_FALSE(spec.product.empty());
  server_.RegisterKey(spec.product, key.pub);
  const auto release = BuildRelease(dir_ / "release", spec, key);
  const auto package = server_.UploadPackage(release.package);
  ASSERT_FALSE(package.empty());
  Step("release built and uploaded");

  auto args = ReleaseDeviceArgs(spec, key);
  args.insert(args.end(), {"--image", release.old_image.string()});
  auto& fleet = MakeFleet(args);
  std::vector<DeviceSpec> devices;
  for (int i = 1; i <= kRollbackDevices; ++i) {
    const bool failing = i > kRollbackDevices - kFailing;
    devices.push_back(
        {Serial(failing ? "failing" : "good", i),
         failing ? std::vector<std::string>{"--fail-validation"} : std::vector<std::string>{}});
  }
  fleet.Add(devices);
  Step("devices made");
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  // One more device of the rollout is switched off: it asked once, long ago. It keeps the
  // rollout from finishing, so that the rollout still runs when the devices that rolled back
  // ask again at the end.
  const auto asleep = server::http::testing::Fetch(
      server_.Url("/upgrades"), {.method = "POST",
                                 .headers = {"Content-Type: application/json",
                                             "Api-Content-Type: application/vnd.updatehub-v1+json"},
                                 .body = json{{"product-uid", spec.product},
                                              {"version", spec.from},
                                              {"hardware", spec.hardware},
                                              {"device-identity", {{"serial", "switched-off"}}}}
                                             .dump()});
  ASSERT_EQ(asleep.status, 404) << asleep.body;
  ASSERT_TRUE(WaitForDevices(spec.product, kRollbackDevices + 1))
      << "not every device reached the server";
  Step("devices known to the server");

  const auto rollout = server_.CreateRollout(
      spec.product, {{"package", package},
                     {"name", "2.0, failing on some"},
                     {"stages", json::array({100})},
                     {"failure_threshold", {{"percent", 20}, {"min_attempted", 2}}}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  Step("rollout created, devices asked to probe");

  // The third failure (3 of the 10 devices that started: 30 %) pauses the rollout; the devices
  // that had started go on to their end: the fourth failing device fails too.
  json shown = WaitForRollout(rollout, "paused", Limit(120));
  Step("rollout " + shown.value("state", std::string()));
  ASSERT_EQ(shown.value("state", ""), "paused") << shown.dump(2);
  const bool settled = WaitUntil(
      [&] {
        shown = server_.Rollout(rollout);
        if (CountOf(shown, "updated") + CountOf(shown, "failed") < kRollbackDevices) return false;
        for (auto& device : fleet) {
          const bool failing = device->serial().starts_with("failing");
          if (device->Version() != (failing ? "1.0" : "2.0") || !device->AgentReady()) {
            return false;
          }
        }
        return true;
      },
      Limit(60), std::chrono::milliseconds(250));
  ASSERT_TRUE(settled) << shown.dump(2);
  Step("every device at its end");

  EXPECT_EQ(shown.value("state", ""), "paused");
  EXPECT_EQ(shown.value("reason", ""),
            "failure threshold: 3 of 10 attempted devices failed (30.0%), more than the "
            "threshold of 20.0%");
  EXPECT_EQ(CountOf(shown, "updated"), kRollbackDevices - kFailing);
  EXPECT_EQ(CountOf(shown, "failed"), kFailing);
  EXPECT_EQ(CountOf(shown, "pending"), 1);  // the device that is switched off
  for (const char* state : {"downloading", "installing", "rebooting"}) {
    EXPECT_EQ(CountOf(shown, state), 0) << state;
  }

  const auto ids = DeviceIds(spec.product);
  const std::string old_image = ReadFile(release.old_image);
  const std::string new_image = ReadFile(release.new_image);
  std::set<std::int64_t> failing_ids;
  std::map<std::string, std::size_t> reports_of;
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    ASSERT_TRUE(ids.contains(device->serial()));
    const auto id = ids.at(device->serial());
    const auto reports = server_.Reports("device=" + std::to_string(id));
    reports_of[device->serial()] = reports.size();
    std::vector<std::string> statuses;
    for (const auto& report : reports) statuses.push_back(report["status"].get<std::string>());
    if (!device->serial().starts_with("failing")) {
      EXPECT_EQ(device->Slot(), "1");
      EXPECT_EQ(device->Version(), "2.0");
      EXPECT_EQ(statuses, (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                    "installed", "rebooting"}));
      continue;
    }
    failing_ids.insert(id);
    // Back on slot 0 and 1.0 for good: the bootloader holds no pending trial.
    EXPECT_EQ(device->Slot(), "0");
    EXPECT_EQ(device->Version(), "1.0");
    EXPECT_EQ(device->BootVar("updatehub_active"), "0");
    EXPECT_EQ(device->BootVar("upgrade_available"), "0");
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p2")) == old_image)
        << "slot A's root file system changed";
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p3")) == new_image)
        << "slot B does not hold what was installed";
    EXPECT_EQ(EventsOf(*device), (std::vector<std::string>{
                                     "boot: slot 0, version 1.0", "reboot",
                                     "boot: slot 1, version 2.0", "validate failed: slot 1",
                                     "rollback: slot 1 failed, the bootloader goes back to slot 0",
                                     "reboot", "boot: slot 0, version 1.0"}));
    // Every step up to the reboot, then the error of the new system's self-test.
    ASSERT_EQ(statuses, (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                  "installed", "rebooting", "error"}));
    const auto& error = reports.back();
    EXPECT_EQ(error["package_uid"], package);
    EXPECT_EQ(error["previous_state"], "rebooting");
    const auto message = error["error_message"].get<std::string>();
    EXPECT_NE(message.find("self-test failed"), std::string::npos) << message;
    EXPECT_NE(message.find("rolled back to slot 0"), std::string::npos) << message;
  }
  EXPECT_EQ(failing_ids.size(), static_cast<std::size_t>(kFailing));
  std::set<std::int64_t> reported;
  for (const auto& report : server_.Reports("status=error"))
    reported.insert(report["device_id"].get<std::int64_t>());
  EXPECT_EQ(reported, failing_ids) << "error reports come from the failing devices only";
  Step("checked; resuming");

  // With a higher threshold the rollout runs again; a device that failed is never offered the
  // package again: it asks, gets nothing, and stays on 1.0.
  const auto resumed =
      server_.Api("POST", "/rollouts/" + std::to_string(rollout) + "/resume",
                  {{"failure_threshold", {{"percent", 50}, {"min_attempted", 2}}}});
  ASSERT_EQ(resumed.status, 200) << resumed.text;
  EXPECT_EQ(resumed.body["state"], "running");
  for (auto& device : fleet) {
    if (!device->serial().starts_with("failing")) continue;
    SCOPED_TRACE(device->serial());
    EXPECT_EQ(device->Probe(), "There are no updates available.");
  }
  // Then every device asks once more. An agent takes a probe only when it is idle (Probe() asks
  // again while it is busy) and answers once the server has: an agent still at work on anything
  // would have sent its reports before this answer, so the answers prove the quiet that the
  // counts below check, instead of a sleep that a loaded machine may outlast.
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    EXPECT_EQ(device->Probe(), "There are no updates available.");
  }
  shown = server_.Rollout(rollout);
  EXPECT_EQ(shown.value("state", ""), "running");
  EXPECT_EQ(CountOf(shown, "failed"), kFailing);
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    EXPECT_EQ(server_.Reports("device=" + std::to_string(ids.at(device->serial()))).size(),
              reports_of[device->serial()]);
    if (!device->serial().starts_with("failing")) continue;
    EXPECT_EQ(device->Version(), "1.0");
    EXPECT_EQ(CountLines(device->Events(), "boot: slot 1"), 1u);
  }
}

}  // namespace
}  // namespace uh::e2e
