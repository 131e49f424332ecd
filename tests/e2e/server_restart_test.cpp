// The server dies (SIGKILL) while devices download, and comes back on the same port with the
// same data: the agents resume their downloads where they stopped and every device updates.

#include <iostream>
#include <thread>

#include "core/hash.hpp"
#include "e2e/e2e_fixture.hpp"

namespace uh::e2e {
namespace {

using nlohmann::json;
using uh::testing::ReadFile;

// Fewer under ASan+UBSan, where each agent costs several times the CPU.
constexpr int kRestartDevices = kSlowdown > 1 ? 3 : 6;
constexpr std::size_t kImageSize = 12 << 20;
// Per connection, through the proxy: slow while the devices are asked to probe one after the
// other, so that they all start near the beginning; then each needs about 6 s for the image.
constexpr std::size_t kStartRate = 128 << 10;
constexpr std::size_t kRate = 2 << 20;

TEST_F(E2eTest, ServerKilledMidDownloadDevicesResume) {
  const auto key = MakeKey(dir_ / "keys");
  ReleaseSpec spec;
  spec.product = server_.CreateProduct("e2e board");
  ASSERT_FALSE(spec.product.empty());
  server_.RegisterKey(spec.product, key.pub);
  spec.image_size = kImageSize;
  spec.gzip_rootfs = false;  // the object is the image: its sha256 names the download
  const auto release = BuildRelease(dir_ / "release", spec, key);
  const auto package = server_.UploadPackage(release.package);
  ASSERT_FALSE(package.empty());
  const std::string new_image = ReadFile(release.new_image);
  const std::string rootfs_object = uh::Sha256Hex(new_image);
  Step("release built and uploaded");

  // The devices reach the server through a proxy as slow as a network.
  proxy_ = std::make_unique<ThrottlingProxy>(server_.port(), kStartRate);
  auto args = ReleaseDeviceArgs(spec, key);
  args.insert(args.end(), {"--image", release.old_image.string()});
  auto& fleet = MakeFleet(args, "http://127.0.0.1:" + std::to_string(proxy_->port()));
  std::vector<DeviceSpec> devices;
  for (int i = 1; i <= kRestartDevices; ++i) devices.push_back({Serial("restart", i), {}});
  fleet.Add(devices);
  Step("devices made");
  ASSERT_TRUE(fleet.PowerOnAll()) << "not every agent started";
  ASSERT_TRUE(WaitForDevices(spec.product, kRestartDevices))
      << "not every device reached the server";
  Step("devices known to the server");

  const auto rollout =
      server_.CreateRollout(spec.product, {{"package", package}, {"name", "2.0 over a slow link"}});
  ASSERT_GT(rollout, 0);
  ASSERT_EQ(fleet.ProbeAll(), "");
  Step("rollout created, devices asked to probe");

  // Kill the server while every device has a good part of the image still to come.
  const auto partial = [&](SimulatedDevice& device) {
    return SizeOf(device.dir() / "var" / "download" / rootfs_object);
  };
  const auto every_device_has = [&](std::uintmax_t bytes) {
    return WaitUntil(
        [&] {
          for (auto& device : fleet) {
            if (partial(*device) < bytes) return false;
          }
          return true;
        },
        Limit(30), std::chrono::milliseconds(50));
  };
  ASSERT_TRUE(every_device_has(1)) << "the devices did not start downloading";
  proxy_->SetRate(kRate);
  ASSERT_TRUE(every_device_has(1 << 20)) << "the downloads did not go on";
  Step("devices downloading: killing the server");
  server_.Kill();
  for (auto& device : fleet) {
    EXPECT_LT(partial(*device), kImageSize / 2) << device->serial();
  }

  // Every download breaks (once the server's socket buffers have drained: a few MiB), and
  // each agent waits to try again, and tries while the server is down (the proxy closes what
  // it cannot forward).
  const bool broken = WaitUntil(
      [&] {
        for (auto& device : fleet) {
          if (CountLines(device->AgentLog(), "resuming in") < 2) return false;
        }
        return true;
      },
      Limit(20));
  ASSERT_TRUE(broken) << "not every agent noticed the server's death";
  EXPECT_GT(proxy_->Refused(), 0u);
  // What each device has now is where it resumes: nothing arrives while the server is down.
  std::uintmax_t had = 0;
  for (auto& device : fleet) {
    EXPECT_LT(partial(*device), kImageSize) << device->serial() << " has nothing left to resume";
    for (const auto& entry :
         std::filesystem::directory_iterator(device->dir() / "var" / "download")) {
      if (entry.is_regular_file()) had += entry.file_size();
    }
  }
  Step("every agent is waiting to retry");

  // The server comes back on the same port with the same data.
  const auto port = server_.port();
  server_.Start(port);
  ASSERT_EQ(server_.port(), port);
  Step("server restarted");

  const auto shown = WaitForRollout(rollout, "finished", Limit(120));
  Step("rollout " + shown.value("state", std::string()));
  ASSERT_EQ(shown.value("state", ""), "finished") << shown.dump(2);
  EXPECT_EQ(CountOf(shown, "updated"), kRestartDevices);
  EXPECT_EQ(CountOf(shown, "failed"), 0);
  EXPECT_TRUE(server_.Reports("status=error").empty());

  // After its restart the server sent exactly what the devices were missing: every download
  // resumed where it stopped. Through the proxy, over both lives of the server, each device
  // got its objects once (plus the small answers to probes and reports).
  const auto served = server_.Metric("updatehub_download_bytes_total");
  const auto needed = static_cast<std::int64_t>(kRestartDevices * release.objects_size);
  std::cout << "downloaded before the restart: " << had << " bytes; served after it: " << served
            << " of " << needed << "; through the proxy: " << proxy_->BytesDown() << "\n";
  EXPECT_EQ(served, needed - static_cast<std::int64_t>(had));
  EXPECT_GE(proxy_->BytesDown(), static_cast<std::uint64_t>(needed));
  EXPECT_LT(proxy_->BytesDown(),
            static_cast<std::uint64_t>(needed) + kRestartDevices * (64u << 10));

  const auto ids = DeviceIds(spec.product);
  for (auto& device : fleet) {
    SCOPED_TRACE(device->serial());
    EXPECT_EQ(device->Slot(), "1");
    EXPECT_EQ(device->Version(), "2.0");
    EXPECT_TRUE(ReadFile(device->OnDevice("/dev/mmcblk0p3")) == new_image)
        << "slot B's root file system differs from the 2.0 image";
    EXPECT_EQ(ReadIfExists(device->OnDevice("/dev/mmcblk0p6/motd")), "hello from version 2.0\n");
    // The download went on: one report of each step, no error, no second download.
    EXPECT_EQ(ReportStatuses(ids.at(device->serial())),
              (std::vector<std::string>{"downloading", "downloaded", "installing", "installed",
                                        "rebooting"}));
    const auto log = device->AgentLog();
    EXPECT_GE(CountLines(log, "resuming in"), 2u);
    EXPECT_EQ(CountLines(log, "starting over"), 0u) << "a resume was answered with everything";
    EXPECT_EQ(EventsOf(*device),
              (std::vector<std::string>{"boot: slot 0, version 1.0", "reboot",
                                        "boot: slot 1, version 2.0", "validate ok: slot 1"}));
  }
}

}  // namespace
}  // namespace uh::e2e
