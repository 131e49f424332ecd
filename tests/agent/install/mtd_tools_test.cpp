// The modes that hand the object to a tool: flash, ubifs, imxkobs, uboot-env. Fake tools on
// PATH record their arguments; the tests assert the exact argv.

#include <gtest/gtest.h>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"
#include "agent/install/mtd.hpp"
#include "agent/install/tools.hpp"

namespace uh::agent {
namespace {

using testing::Device;
using uh::testing::ReadFile;
using uh::testing::TempDir;

constexpr char kProcMtd[] =
    "dev:    size   erasesize  name\n"
    "mtd0: 00080000 00020000 \"u-boot\"\n"
    "mtd1: 00800000 00020000 \"rootfs\"\n"
    "mtd12: 00100000 00020000 \"name with spaces\"\n";

class InstallToolModesTest : public ::testing::Test {
 protected:
  void SetUp() override { device_.ctx.object_file = testing::WriteObject(dir_.path(), "image"); }
  std::string Root(const std::string& path) const { return (device_.root / path).string(); }
  std::string Object() const { return device_.ctx.object_file.string(); }

  TempDir dir_;
  Device device_{dir_.path()};
};

// --- lookups -----------------------------------------------------------------------------

TEST(InstallMtd, DeviceFromProcMtd) {
  EXPECT_EQ(MtdDeviceFromProcMtd(kProcMtd, "rootfs"), "/dev/mtd1");
  EXPECT_EQ(MtdDeviceFromProcMtd(kProcMtd, "name with spaces"), "/dev/mtd12");
  EXPECT_EQ(MtdDeviceFromProcMtd(kProcMtd, "kernel"), std::nullopt);
  EXPECT_EQ(MtdDeviceFromProcMtd("mtd0: zz 00 \"x\"\nmtdx: 00 00 \"x\"\nmtd1: 00 00 x\n", "x"),
            std::nullopt);
}

TEST(InstallMtd, UbinfoVolumeId) {
  EXPECT_EQ(ParseUbinfoVolumeId("Volume ID:   3 (on ubi0)\nType: dynamic\n"), 3u);
  EXPECT_EQ(ParseUbinfoVolumeId("Volume ID:   12 (on ubi1)"), 12u);
  EXPECT_EQ(ParseUbinfoVolumeId("ubinfo: error!"), std::nullopt);
  EXPECT_EQ(ParseUbinfoVolumeId("Volume ID: x"), std::nullopt);
}

TEST(InstallTools, SplitWords) {
  EXPECT_EQ(*SplitWords(""), std::vector<std::string>{});
  EXPECT_EQ(*SplitWords("  -L  'my label' -O \"a b\" c\\ d "),
            (std::vector<std::string>{"-L", "my label", "-O", "a b", "c d"}));
  EXPECT_EQ(*SplitWords("'$HOME' ;rm"), (std::vector<std::string>{"$HOME", ";rm"}));
  EXPECT_FALSE(SplitWords("'open"));
  EXPECT_FALSE(SplitWords("trailing\\"));
}

TEST_F(InstallToolModesTest, ToolFailureNamesStatusAndStderr) {
  device_.tools.Add("flash_erase", "echo 'flash_erase: /dev/mtd1: MTD erase failure' >&2", 3);
  auto ran = RunTool({"flash_erase", "/dev/mtd1", "0", "0"}, device_.ctx);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().message(),
            "flash_erase exited with status 3: flash_erase: /dev/mtd1: MTD erase failure");
}

TEST_F(InstallToolModesTest, MissingToolIsNotFound) {
  auto ran = RunTool({"kobs-ng"}, device_.ctx);
  ASSERT_FALSE(ran);
  EXPECT_EQ(ran.error().code(), Errc::kNotFound);
}

// --- flash -------------------------------------------------------------------------------

package::Object Flash(package::TargetType type, const std::string& target) {
  package::Object object;
  object.mode = package::Mode::kFlash;
  object.filename = "rootfs.jffs2";
  object.target_type = type;
  object.target = target;
  return object;
}

TEST_F(InstallToolModesTest, FlashNandByMtdName) {
  for (const char* tool : {"flash_erase", "nandwrite", "flashcp"}) device_.tools.Add(tool);
  device_.AddFile("/proc/mtd", kProcMtd);
  device_.AddFile("/sys/class/mtd/mtd1/type", "nand\n");
  device_.AddFile("/dev/mtd1", "");
  const auto object = Flash(package::TargetType::kMtdName, "rootfs");
  FlashInstaller installer;
  ASSERT_TRUE(installer.CheckRequirements(object, device_.ctx));
  auto installed = installer.Install(object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(device_.tools.Calls(),
            (std::vector<std::string>{"flash_erase " + Root("dev/mtd1") + " 0 0",
                                      "nandwrite -p " + Root("dev/mtd1") + " " + Object()}));
}

TEST_F(InstallToolModesTest, FlashNorByDevice) {
  for (const char* tool : {"flash_erase", "nandwrite", "flashcp"}) device_.tools.Add(tool);
  device_.tools.Add("flashcp", "/bin/cat \"$1\" > \"$2\"");
  device_.AddFile("/sys/class/mtd/mtd0/type", "nor\n");
  device_.AddFile("/dev/mtd0", "");
  const auto object = Flash(package::TargetType::kDevice, "/dev/mtd0");
  FlashInstaller installer;
  ASSERT_TRUE(installer.CheckRequirements(object, device_.ctx));
  auto installed = installer.Install(object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(device_.tools.Calls(),
            (std::vector<std::string>{"flash_erase " + Root("dev/mtd0") + " 0 0",
                                      "flashcp " + Object() + " " + Root("dev/mtd0")}));
  EXPECT_EQ(ReadFile(device_.root / "dev/mtd0"), "image");
}

TEST_F(InstallToolModesTest, FlashObjectLargerThanThePartition) {
  for (const char* tool : {"flash_erase", "nandwrite", "flashcp"}) device_.tools.Add(tool);
  device_.AddFile("/sys/class/mtd/mtd0/size", "4\n");
  device_.AddFile("/dev/mtd0", "");
  auto object = Flash(package::TargetType::kDevice, "/dev/mtd0");
  object.size = 5;
  auto checked = FlashInstaller().CheckRequirements(object, device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNoSpace);
  object.size = 4;
  EXPECT_TRUE(FlashInstaller().CheckRequirements(object, device_.ctx));
}

TEST_F(InstallToolModesTest, FlashNeedsAllThreeTools) {
  device_.tools.Add("flash_erase");
  device_.tools.Add("flashcp");
  device_.AddFile("/dev/mtd0", "");
  auto checked = FlashInstaller().CheckRequirements(
      Flash(package::TargetType::kDevice, "/dev/mtd0"), device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message().find("'nandwrite' not found"), std::string::npos);
}

TEST_F(InstallToolModesTest, FlashUnknownMtdName) {
  for (const char* tool : {"flash_erase", "nandwrite", "flashcp"}) device_.tools.Add(tool);
  device_.AddFile("/proc/mtd", kProcMtd);
  auto checked = FlashInstaller().CheckRequirements(Flash(package::TargetType::kMtdName, "kernel"),
                                                    device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNotFound);
  EXPECT_NE(checked.error().message().find("no MTD partition named 'kernel'"), std::string::npos);
}

TEST_F(InstallToolModesTest, FlashEraseFailureStopsTheInstall) {
  device_.tools.Add("flash_erase", "echo 'erase: boom' >&2", 1);
  device_.tools.Add("nandwrite");
  device_.tools.Add("flashcp");
  device_.AddFile("/sys/class/mtd/mtd0/type", "nor\n");
  device_.AddFile("/dev/mtd0", "");
  auto installed =
      FlashInstaller().Install(Flash(package::TargetType::kDevice, "/dev/mtd0"), device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("erasing /dev/mtd0: flash_erase exited with "
                                             "status 1: erase: boom"),
            std::string::npos)
      << installed.error().message();
  EXPECT_EQ(device_.tools.Calls().size(), 1u);
}

TEST_F(InstallToolModesTest, FlashWithoutNandOrNorInformation) {
  for (const char* tool : {"flash_erase", "nandwrite", "flashcp"}) device_.tools.Add(tool);
  device_.AddFile("/dev/mtd0", "");
  auto installed =
      FlashInstaller().Install(Flash(package::TargetType::kDevice, "/dev/mtd0"), device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("NAND or NOR"), std::string::npos);
  EXPECT_TRUE(device_.tools.Calls().empty());
}

// --- ubifs -------------------------------------------------------------------------------

package::Object Ubifs(const std::string& volume) {
  package::Object object;
  object.mode = package::Mode::kUbifs;
  object.filename = "rootfs.ubifs";
  object.target_type = package::TargetType::kUbiVolume;
  object.target = volume;
  return object;
}

class InstallUbifsTest : public InstallToolModesTest {
 protected:
  void SetUp() override {
    InstallToolModesTest::SetUp();
    device_.AddFile("/dev/ubi0", "");
    device_.AddFile("/dev/ubi1", "");
    device_.AddFile("/dev/ubi_ctrl", "");
    device_.AddFile("/dev/ubi1_2", "");
    // ubinfo knows the volume "rootfs" as volume 2 of ubi1 only.
    device_.tools.Add("ubinfo",
                      "case \"$1 $3\" in *ubi1\\ rootfs) echo 'Volume ID:   2 (on ubi1)'; "
                      "echo 'Type:        dynamic';; *) echo 'ubinfo: error!: cannot find "
                      "volume' >&2; exit 255;; esac");
    device_.tools.Add("ubiupdatevol", "/bin/cat \"$2\" > \"$1\"");
  }
};

TEST_F(InstallUbifsTest, UpdatesTheVolumeFoundByName) {
  UbifsInstaller installer;
  ASSERT_TRUE(installer.CheckRequirements(Ubifs("rootfs"), device_.ctx));
  auto installed = installer.Install(Ubifs("rootfs"), device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto calls = device_.tools.Calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "ubiupdatevol " + Root("dev/ubi1_2") + " " + Object());
  EXPECT_EQ(calls.front(), "ubinfo " + Root("dev/ubi0") + " -N rootfs");
  EXPECT_EQ(ReadFile(device_.root / "dev/ubi1_2"), "image");
}

TEST_F(InstallUbifsTest, CompressedObjectIsDecompressedFirst) {
  const auto data = uh::testing::RandomBytes(50000);
  device_.ctx.object_file =
      testing::WriteObject(dir_.path(), testing::Compress(data, testing::Filter::kGzip));
  auto object = Ubifs("rootfs");
  object.compressed = true;
  auto installed = UbifsInstaller().Install(object, device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  EXPECT_EQ(ReadFile(device_.root / "dev/ubi1_2"), data);
  const auto last = device_.tools.Calls().back();
  EXPECT_EQ(last.substr(0, last.rfind(' ')), "ubiupdatevol " + Root("dev/ubi1_2"));
  EXPECT_TRUE(std::filesystem::is_empty(device_.ctx.work_dir));  // temporary file removed
}

TEST_F(InstallUbifsTest, ObjectLargerThanTheVolume) {
  device_.AddFile("/sys/class/ubi/ubi1_2/data_bytes", "1000\n");
  auto object = Ubifs("rootfs");
  object.size = 1001;
  auto checked = UbifsInstaller().CheckRequirements(object, device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNoSpace);
}

TEST_F(InstallUbifsTest, UnknownVolume) {
  auto checked = UbifsInstaller().CheckRequirements(Ubifs("home"), device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNotFound);
  EXPECT_NE(checked.error().message().find("no UBI volume named 'home'"), std::string::npos);
}

// --- imxkobs -----------------------------------------------------------------------------

TEST_F(InstallToolModesTest, ImxkobsArguments) {
  device_.tools.Add("kobs-ng");
  package::Object object;
  object.mode = package::Mode::kImxkobs;
  object.filename = "u-boot.imx";
  ImxkobsInstaller installer;
  ASSERT_TRUE(installer.CheckRequirements(object, device_.ctx));
  ASSERT_TRUE(installer.Install(object, device_.ctx));
  object.padding_1k = true;
  object.search_exponent = 2;
  object.chip_0_device_path = "/dev/mtd0";
  object.chip_1_device_path = "/dev/mtd1";
  ASSERT_TRUE(installer.Install(object, device_.ctx));
  object.padding_1k = false;
  object.search_exponent = 0;
  object.chip_1_device_path.reset();
  ASSERT_TRUE(installer.Install(object, device_.ctx));
  EXPECT_EQ(device_.tools.Calls(),
            (std::vector<std::string>{
                "kobs-ng init " + Object() + " -v",
                "kobs-ng init -x " + Object() + " --search_exponent=2 --chip_0_device_path=" +
                    Root("dev/mtd0") + " --chip_1_device_path=" + Root("dev/mtd1") + " -v",
                "kobs-ng init " + Object() + " --chip_0_device_path=" + Root("dev/mtd0") + " -v"}));
}

TEST_F(InstallToolModesTest, ImxkobsMissingTool) {
  package::Object object;
  object.mode = package::Mode::kImxkobs;
  EXPECT_FALSE(ImxkobsInstaller().CheckRequirements(object, device_.ctx));
}

TEST_F(InstallToolModesTest, ImxkobsChipPathEscapingIsRefused) {
  device_.tools.Add("kobs-ng");
  package::Object object;
  object.mode = package::Mode::kImxkobs;
  object.chip_0_device_path = "/../../dev/sda";
  EXPECT_FALSE(ImxkobsInstaller().Install(object, device_.ctx));
  EXPECT_TRUE(device_.tools.Calls().empty());
}

// --- uboot-env ---------------------------------------------------------------------------

package::Object UbootEnv() {
  package::Object object;
  object.mode = package::Mode::kUbootEnv;
  object.filename = "updatehub.defenv";
  return object;
}

TEST_F(InstallToolModesTest, UbootEnvAppliesTheScriptAndKeepsTheActiveSet) {
  device_.tools.Add("fw_setenv",
                    "if [ \"$1\" = --help ]; then echo '  -s, --script   batch mode' >&2; fi");
  device_.tools.Add("updatehub-active-get", "echo 1");
  UbootEnvInstaller installer;
  ASSERT_TRUE(installer.CheckRequirements(UbootEnv(), device_.ctx));
  auto installed = installer.Install(UbootEnv(), device_.ctx);
  ASSERT_TRUE(installed) << installed.error().message();
  const auto config = Root("etc/fw_env.config");
  EXPECT_EQ(device_.tools.Calls(),
            (std::vector<std::string>{"fw_setenv --help", "updatehub-active-get",
                                      "fw_setenv -c " + config + " --script " + Object(),
                                      "fw_setenv -c " + config + " updatehub_active 1"}));
}

TEST_F(InstallToolModesTest, UbootEnvActiveSetFromTheContext) {
  device_.tools.Add("fw_setenv");
  device_.ctx.active_set = 0;
  ASSERT_TRUE(UbootEnvInstaller().Install(UbootEnv(), device_.ctx));
  EXPECT_EQ(device_.tools.Calls().back(),
            "fw_setenv -c " + Root("etc/fw_env.config") + " updatehub_active 0");
}

TEST_F(InstallToolModesTest, UbootEnvNeedsScriptSupport) {
  device_.tools.Add("fw_setenv", "echo 'usage: fw_setenv name value' >&2");
  auto checked = UbootEnvInstaller().CheckRequirements(UbootEnv(), device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kUnsupported);
}

TEST_F(InstallToolModesTest, UbootEnvHelpExitStatusDoesNotMatter) {
  device_.tools.Add("fw_setenv", "echo 'Usage: fw_setenv [--script file]'", 1);
  EXPECT_TRUE(UbootEnvInstaller().CheckRequirements(UbootEnv(), device_.ctx));
}

TEST_F(InstallToolModesTest, UbootEnvMissingTool) {
  auto checked = UbootEnvInstaller().CheckRequirements(UbootEnv(), device_.ctx);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code(), Errc::kNotFound);
}

TEST_F(InstallToolModesTest, UbootEnvBadActiveSet) {
  device_.tools.Add("fw_setenv");
  device_.tools.Add("updatehub-active-get", "echo banana");
  auto installed = UbootEnvInstaller().Install(UbootEnv(), device_.ctx);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message().find("banana"), std::string::npos);
  EXPECT_EQ(device_.tools.Calls(), std::vector<std::string>{"updatehub-active-get"});
}

}  // namespace
}  // namespace uh::agent
