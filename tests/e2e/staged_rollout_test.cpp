// The main job, end to end: a signed 2.0 release rolled out in two stages (25 %, then
// everyone) to 20 simulated devices on 1.0, each a real agent process (8 under ASan+UBSan,
// where each of them costs several times the CPU: the same steps, on a smaller fleet). Every
// other device streams the update into its slot as it downloads (update.stream_objects: the
// gzip root file system decompressed into the partition, the tarball extracted).

#include "e2e/e2e_fixture.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using uh::testing::ReadFile;

constexpr int kStagedDevices = kSlowdown > 1 ? 8 : 20;
constexpr int kFirstStage = kStagedDevices / 4;

TEST_F(E2eTest, StagedRolloutUpdatesEveryDevice) {
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
  const auto streams = [](int i) { return i % 2 == 0; };
  for (int i = 1; i <= kStagedDevices; ++i) {
    devices.push_back({Serial("stage", i), streams(i) ? std::vector<std::string>{"--stream-objects"}
                                                      : std::vector<std::string>{}});
  }
  fleet.Add(devices);
  Step("devices made");
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  ASSERT_TRUE(WaitForDevices(spec.product, kStagedDevices))
      << "not every device reached the server";
  Step("devices known to the server");

  const auto rollout = server_.CreateRollout(
      spec.product, {{"package", package},
                     {"name", "2.0 in two stages"},
                     {"stages", json::array({json{{"percent", 25}}, 100})},
                     {"failure_threshold", {{"percent", 10}, {"min_attempted", 5}}}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  Step("rollout created, devices asked to probe");

  const auto shown = WaitForRollout(rollout, "finished", Limit(150));
  Step("rollout " + shown.value("state", std::string()));
  ASSERT_EQ(shown.value("state", ""), "finished") << shown.dump(2);

  // The server's statistics say what the devices did: everyone updated, a quarter in the first
  // stage and the rest in the second.
  EXPECT_EQ(shown["statistics"]["total"], kStagedDevices);
  EXPECT_EQ(CountOf(shown, "updated"), kStagedDevices);
  for (const char* state : {"pending", "downloading", "installing", "rebooting", "failed"}) {
    EXPECT_EQ(CountOf(shown, state), 0) << state;
  }
  EXPECT_EQ(StageCountOf(shown, 0, "total"), kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 0, "updated"), kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 1, "total"), kStagedDevices - kFirstStage);
  EXPECT_EQ(StageCountOf(shown, 1, "updated"), kStagedDevices - kFirstStage);
  EXPECT_EQ(shown["current_stage"], 1);
  EXPECT_TRUE(server_.Reports("status=error").empty());

  const auto ids = DeviceIds(spec.product);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kStagedDevices));
  for (const auto& device : server_.Devices(spec.product)) {
    EXPECT_EQ(device["version"], "2.0") << device.dump();
  }
  const std::string new_image = ReadFile(release.new_image);
  const std::string old_image = ReadFile(release.old_image);
  const std::vector<std::string> every_step = {"downloading", "downloaded", "installing",
                                               "installed", "rebooting"};
  int index = 0;
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    ++index;
    ASSERT_TRUE(ids.contains(device->serial()));
    // Every step reported, in order, once, and nothing else.
    EXPECT_EQ(ReportStatuses(ids.at(device->serial())), every_step);
    // Slot B runs 2.0, confirmed; its root file system is the new image byte for byte, the
    // application files are in slot B's directory, and slot A was left alone.
    EXPECT_EQ(device->Slot(), "1");
    EXPECT_EQ(device->Version(), "2.0");
    EXPECT_EQ(device->BootVar("updatehub_active"), "1");
    EXPECT_EQ(device->BootVar("upgrade_available"), "0");
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p3")) == new_image)
        << "slot B's root file system differs from the 2.0 image";
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p2")) == old_image)
        << "slot A's root file system changed";
    EXPECT_EQ(ReadIfExists(device->OnDevice("/dev/mmcblk0p6/motd")), "hello from version 2.0\n");
    EXPECT_EQ(ReadIfExists(device->OnDevice("/dev/mmcblk0p6/etc/app.conf")), "version = 2.0\n");
    EXPECT_TRUE(std::filesystem::is_empty(device->OnDevice("/dev/mmcblk0p5")));
    // A streaming device kept nothing in its download directory, at any time: both objects went
    // from the transfer into their installers.
    if (streams(index)) {
      const std::string log = ReadFile(device->dir() / "agent.log");
      EXPECT_NE(log.find("installing (raw) while it downloads"), std::string::npos);
      EXPECT_NE(log.find("installing (tarball) while it downloads"), std::string::npos);
      EXPECT_EQ(log.find("info installing "), std::string::npos);  // nothing left to install
    }
    // One reboot, into slot 1, which validated.
    EXPECT_EQ(EventsOf(*device),
              (std::vector<std::string>{"boot: slot 0, version 1.0", "reboot",
                                        "boot: slot 1, version 2.0", "validate ok: slot 1"}));
  }
}

}  // namespace
}  // namespace uh::e2e
