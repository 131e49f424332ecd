// update.refuse_downgrades: with it on, an offer older than the version the device runs (from the
// server or a package file) is refused at validation like any refused offer: an error report,
// nothing downloaded or installed, and for a server's offer a failed probe. A newer or the same
// version installs; with it off (the default) an older one installs as upstream does.
// The test package is version 1.0.0; the simulated device's slot A runs what version.0 says.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_server.hpp"

namespace uh::agent {
namespace {

using nlohmann::json;
using testing::Device;
using testing::FakeServer;
using ::testing::HasSubstr;
using testing::kRootfs;
using testing::kTarball;
using testing::ObjectBytes;

constexpr char kRefused[] =
    "downgrade refused: the package is version 1.0.0 and this device runs 2.0 "
    "(update.refuse_downgrades)";

// The device's running system (slot A) says `version`.
void RunsVersion(const Device& device, const std::string& version) {
  uh::testing::WriteFile(device.Path("version.0"), version + "\n");
}

void ExpectSlotUntouched(const Device& device) {
  EXPECT_EQ(uh::testing::ReadFile(device.config.update.target_root / "dev" / "mmcblk0p2"),
            std::string(1 << 20, '\0'));
  EXPECT_TRUE(std::filesystem::is_empty(device.config.update.target_root / "dev" / "mmcblk0p3"));
  EXPECT_EQ(device.Reboots(), 0);
  if (std::filesystem::exists(device.Path("abenv"))) {
    EXPECT_THAT(device.Env(), ::testing::Not(HasSubstr("updatehub_active=1")));
  }
}

void ExpectNothingInTheDownloadDirectory(const Device& device) {
  EXPECT_FALSE(std::filesystem::exists(device.config.update.download_dir / kRootfs));
  EXPECT_FALSE(std::filesystem::exists(device.config.update.download_dir / kTarball));
}

class DaemonDowngradeTest : public ::testing::Test {
 protected:
  // The first error report; empty when none came.
  json ErrorReport() {
    for (const auto& report : server_.Reports()) {
      if (report["status"] == "error") return report;
    }
    return json::object();
  }

  // Runs the device until the offer's update has rebooted into slot B.
  void ExpectInstalled() {
    ASSERT_TRUE(device_.RunUntil([&] { return device_.Reboots() == 1; }));
    EXPECT_EQ(uh::testing::ReadFile(device_.config.update.target_root / "dev" / "mmcblk0p2"),
              ObjectBytes(kRootfs));
    EXPECT_THAT(device_.Env(), HasSubstr("updatehub_active=1"));
    EXPECT_TRUE(ErrorReport().empty()) << ErrorReport();
  }

  FakeServer server_;
  Device device_{server_.Url()};
};

TEST_F(DaemonDowngradeTest, AnOlderOfferIsRefusedBeforeAnythingIsDownloaded) {
  RunsVersion(device_, "2.0");
  device_.config.update.refuse_downgrades = true;
  server_.Offer(testing::TestMetadata());
  StateId last = StateId::kEntryPoint;
  ASSERT_TRUE(device_.RunUntil([&] { return !ErrorReport().empty(); }, &last));
  EXPECT_NE(last, StateId::kReboot);
  const json report = ErrorReport();
  EXPECT_EQ(report["previous-state"], "validation");
  EXPECT_THAT(report["error-message"].get<std::string>(), HasSubstr(kRefused));
  for (const auto& sent : server_.Reports()) EXPECT_EQ(sent["status"], "error") << sent;
  EXPECT_EQ(server_.Downloads(kRootfs), 0);
  EXPECT_EQ(server_.Downloads(kTarball), 0);
  ExpectNothingInTheDownloadDirectory(device_);
  ExpectSlotUntouched(device_);
  EXPECT_FALSE(std::filesystem::exists(device_.config.storage.state_file));
  // A refused offer is a failed probe: the next one backs off.
  auto settings = LoadRuntimeSettings(device_.config.storage.runtime_settings);
  ASSERT_TRUE(settings);
  EXPECT_GE(settings->settings.polling.retries, 1u);
}

TEST_F(DaemonDowngradeTest, ANewerOfferInstalls) {
  device_.config.update.refuse_downgrades = true;  // slot A runs 0.9
  server_.Offer(testing::TestMetadata());
  ExpectInstalled();
}

TEST_F(DaemonDowngradeTest, TheSameVersionIsNotADowngrade) {
  RunsVersion(device_, "1.0.0");
  device_.config.update.refuse_downgrades = true;
  server_.Offer(testing::TestMetadata());
  ExpectInstalled();
}

TEST_F(DaemonDowngradeTest, WithTheOptionOffAnOlderOfferInstallsAsUpstream) {
  RunsVersion(device_, "2.0");
  ASSERT_FALSE(device_.config.update.refuse_downgrades);
  server_.Offer(testing::TestMetadata());
  ExpectInstalled();
}

// A package file is refused the same way, whether unpacked first or (streaming) read in place;
// the error-callback gets the reason, and what was unpacked is removed.
TEST(DaemonLocalDowngrade, AnOlderPackageFileIsRefused) {
  for (const bool stream : {false, true}) {
    Device device("http://127.0.0.1:9");  // no server: the package comes from a USB stick
    device.config.polling.enabled = false;
    device.config.update.refuse_downgrades = true;
    device.config.update.stream_objects = stream;
    RunsVersion(device, "2.0");
    device.AddCallback("error-callback", "echo \"$1\" >> " + device.Path("errors").string());
    StateId last = StateId::kEntryPoint;
    bool accepted = false;
    ASSERT_TRUE(device.RunUntil(
        [&] {
          return std::filesystem::exists(device.Path("errors")) &&
                 !std::filesystem::exists(device.config.update.download_dir / kRootfs);
        },
        &last,
        [&](Daemon& daemon) {
          ASSERT_TRUE(testing::WaitFor([&] { return daemon.state() == StateId::kPark; }));
          accepted =
              daemon.RequestLocalInstall(uh::testing::TestPackagesDir() / "signed.uhupkg").accepted;
        }))
        << stream;
    EXPECT_TRUE(accepted) << stream;
    EXPECT_THAT(uh::testing::ReadFile(device.Path("errors")), HasSubstr(kRefused)) << stream;
    EXPECT_NE(last, StateId::kReboot) << stream;
    ExpectNothingInTheDownloadDirectory(device);
    ExpectSlotUntouched(device);
    EXPECT_FALSE(std::filesystem::exists(device.config.storage.state_file)) << stream;
  }
}

}  // namespace
}  // namespace uh::agent
