// Which packages switch slots. A package with one installation set is installed over the running
// system: no slot switch, no reboot (a tarball of application files would otherwise leave the
// device booting an empty slot). A package with two sets installs the inactive slot's set and
// switches to it, whatever that set holds.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.hpp"
#include "fake_server.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using testing::Device;
using testing::FakeServer;
using testing::kTarball;

// The test package's tarball (data.tar.gz into /data of /dev/mmcblk0p3) alone, in `sets`
// installation sets.
std::string TarballOnly(int sets) {
  return testing::TestMetadataWith([&](json& metadata) {
    json tarball;
    for (const auto& object : metadata["objects"][0]) {
      if (object["mode"] == "tarball") tarball = object;
    }
    metadata["objects"] = json::array();
    for (int i = 0; i < sets; ++i) metadata["objects"].push_back(json::array({tarball}));
  });
}

class DaemonInPlaceTest : public ::testing::Test {
 protected:
  std::filesystem::path Motd() const {
    return device_.config.update.target_root / "dev" / "mmcblk0p3" / "data" / "etc" / "motd";
  }
  bool SlotSwitched() const {
    return std::filesystem::exists(device_.Path("abenv")) &&
           device_.Env().find("updatehub_active=1") != std::string::npos;
  }

  FakeServer server_;
  Device device_{server_.Url()};
};

// Reported as upstream's agents report the steps they take (downloading, downloaded,
// installing, installed), with no "rebooting" as there is no reboot; then a probe at once, as
// after a validated update, tells the server the version the device runs. The server still
// offers the package then: it is installed, and waits for the next regular poll.
TEST_F(DaemonInPlaceTest, ASingleSetPackageInstallsInPlaceWithoutASlotSwitchOrReboot) {
  const std::string metadata = TarballOnly(1);
  server_.Offer(metadata);
  ASSERT_TRUE(device_.RunUntil([&] { return server_.Probes() >= 2; }))
      << ::testing::PrintToString(server_.Statuses());
  EXPECT_EQ(uh::testing::ReadFile(Motd()), std::string(uh::testing::kTestMotd));
  EXPECT_EQ(device_.Reboots(), 0);
  EXPECT_FALSE(SlotSwitched());
  EXPECT_EQ(server_.Statuses(),
            (std::vector<std::string>{"downloading", "downloaded", "installing", "installed"}));
  EXPECT_EQ(server_.Downloads(kTarball), 1);
  EXPECT_EQ(server_.ProbeLog()[1].api_retries, "0");
  // Done: no update in progress, nothing left in the download directory, the package recorded
  // as installed and no slot expected at the next boot.
  EXPECT_FALSE(std::filesystem::exists(device_.config.storage.state_file));
  EXPECT_FALSE(std::filesystem::exists(device_.config.update.download_dir / kTarball));
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->settings.update.applied_package_uid, Sha256Hex(metadata));
  EXPECT_FALSE(settings->settings.update.upgrade_to_installation);
}

// The same with the work done in updatehub-worker processes, as the updatehub program runs.
TEST_F(DaemonInPlaceTest, ASingleSetPackageInstallsInPlaceThroughTheWorker) {
  device_.worker = true;
  server_.Offer(TarballOnly(1));
  ASSERT_TRUE(device_.RunUntil([&] { return server_.Probes() >= 2; }))
      << ::testing::PrintToString(server_.Statuses());
  EXPECT_EQ(uh::testing::ReadFile(Motd()), std::string(uh::testing::kTestMotd));
  EXPECT_EQ(device_.Reboots(), 0);
  EXPECT_FALSE(SlotSwitched());
  EXPECT_EQ(server_.Statuses(),
            (std::vector<std::string>{"downloading", "downloaded", "installing", "installed"}));
}

// Streaming devices too: installed over the running system, an object is written only once it
// is whole and verified, never piped into its live target as it downloads.
TEST_F(DaemonInPlaceTest, AStreamingDeviceVerifiesASingleSetObjectBeforeInstallingIt) {
  device_.config.update.stream_objects = true;
  server_.Offer(TarballOnly(1));
  std::string wrong = testing::ObjectBytes(kTarball);
  wrong[wrong.size() - 6] ^= 1;  // the gzip trailer: it still extracts, its hash is wrong
  server_.SetObject(kTarball, wrong);
  ASSERT_TRUE(device_.RunUntil([&] {
    const auto statuses = server_.Statuses();
    return std::ranges::find(statuses, "error") != statuses.end();
  })) << ::testing::PrintToString(server_.Statuses());
  EXPECT_FALSE(std::filesystem::exists(Motd()));
  EXPECT_EQ(device_.Reboots(), 0);
  EXPECT_FALSE(SlotSwitched());
}

// Two sets: the inactive slot's set is installed and the device switches to it and reboots, as
// before, even when the set holds no system of its own.
TEST_F(DaemonInPlaceTest, ATwoSetPackageStillSwitchesSlotsAndReboots) {
  server_.Offer(TarballOnly(2));
  ASSERT_TRUE(device_.RunUntil([&] { return device_.Reboots() == 1; }))
      << ::testing::PrintToString(server_.Statuses());
  EXPECT_TRUE(SlotSwitched());
  EXPECT_THAT(device_.Env(), HasSubstr("upgrade_available=1"));
  EXPECT_EQ(server_.Statuses(), (std::vector<std::string>{"downloading", "downloaded", "installing",
                                                          "installed", "rebooting"}));
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->settings.update.upgrade_to_installation, 1);
}

}  // namespace
}  // namespace uh::agent
