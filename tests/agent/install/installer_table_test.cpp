#include <gtest/gtest.h>

#include <tuple>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"

namespace uh::agent {
namespace {

using package::Mode;

TEST(InstallerTable, EveryLinuxModeHasItsInstaller) {
  EXPECT_NE(dynamic_cast<const RawInstaller*>(FindInstaller(Mode::kRaw)), nullptr);
  EXPECT_NE(dynamic_cast<const CopyInstaller*>(FindInstaller(Mode::kCopy)), nullptr);
  EXPECT_NE(dynamic_cast<const TarballInstaller*>(FindInstaller(Mode::kTarball)), nullptr);
  EXPECT_NE(dynamic_cast<const FlashInstaller*>(FindInstaller(Mode::kFlash)), nullptr);
  EXPECT_NE(dynamic_cast<const UbifsInstaller*>(FindInstaller(Mode::kUbifs)), nullptr);
  EXPECT_NE(dynamic_cast<const ImxkobsInstaller*>(FindInstaller(Mode::kImxkobs)), nullptr);
  EXPECT_NE(dynamic_cast<const UbootEnvInstaller*>(FindInstaller(Mode::kUbootEnv)), nullptr);
  EXPECT_NE(dynamic_cast<const TestInstaller*>(FindInstaller(Mode::kTest)), nullptr);
}

// The capability columns: what streaming, piping and install-if-different are decided from.
TEST(InstallerTable, SaysWhatEachModeCanDoBesidesInstallingFromAFile) {
  const auto can = [](Mode mode) {
    const auto c = CapabilitiesOf(mode);
    return std::tuple{c.into_target, c.pipe, c.if_different};
  };
  using enum IfDifferentCheck;
  EXPECT_EQ(can(Mode::kRaw), std::tuple(true, true, kDevice));
  EXPECT_EQ(can(Mode::kCopy), std::tuple(false, true, kFile));
  EXPECT_EQ(can(Mode::kTarball), std::tuple(false, true, kNone));
  EXPECT_EQ(can(Mode::kFlash), std::tuple(false, false, kDevice));
  for (const auto mode : {Mode::kUbifs, Mode::kImxkobs, Mode::kUbootEnv, Mode::kTest, Mode::kMender,
                          Mode::kZephyr, Mode::kRawDelta}) {
    EXPECT_EQ(can(mode), std::tuple(false, false, kNone)) << package::ModeName(mode);
  }
  // A pipe is no use to an object that asks install-if-different: it needs the whole object.
  package::Object object;
  object.mode = Mode::kTarball;
  EXPECT_TRUE(PipedInstallOf(object));
  object.install_if_different = package::InstallIfDifferent{};
  EXPECT_FALSE(PipedInstallOf(object));
  object.mode = Mode::kFlash;
  object.install_if_different.reset();
  EXPECT_FALSE(PipedInstallOf(object));
}

TEST(InstallerTable, OtherModesAreUnsupported) {
  for (const auto mode : {Mode::kMender, Mode::kZephyr, Mode::kRawDelta}) {
    EXPECT_EQ(FindInstaller(mode), nullptr);
    package::Object object;
    object.mode = mode;
    object.filename = "thing";
    auto checked = CheckRequirements(object, InstallContext{});
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().code(), Errc::kUnsupported);
    EXPECT_NE(checked.error().message().find("object 'thing'"), std::string::npos);
  }
}

TEST(InstallerTable, ErrorsNameTheModeAndTheObject) {
  uh::testing::TempDir dir;
  testing::Device device(dir.path());
  package::Object object;
  object.mode = Mode::kRaw;
  object.filename = "rootfs.img";
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p2";
  auto checked = CheckRequirements(object, device.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().message().rfind("raw object 'rootfs.img': target /dev/mmcblk0p2", 0),
            0u)
      << checked.error().message();
}

TEST(InstallTestMode, ForcedRequirementFailure) {
  package::Object object;
  object.mode = Mode::kTest;
  object.filename = "t";
  EXPECT_TRUE(CheckRequirements(object, InstallContext{}));
  EXPECT_TRUE(Install(object, InstallContext{}));
  object.force_check_requirements_fail = false;
  EXPECT_TRUE(CheckRequirements(object, InstallContext{}));
  object.force_check_requirements_fail = true;
  auto checked = CheckRequirements(object, InstallContext{});
  ASSERT_FALSE(checked);
  EXPECT_TRUE(Install(object, InstallContext{}));
}

}  // namespace
}  // namespace uh::agent
