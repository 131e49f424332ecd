#include <gtest/gtest.h>

#include "agent/install/install_test_support.hpp"
#include "agent/install/installers.hpp"
#include "core/hash.hpp"

namespace uh::agent {
namespace {

using package::InstallIfDifferent;
using testing::Device;
using uh::testing::RandomBytes;
using uh::testing::TempDir;

using Kind = InstallIfDifferent::Kind;

InstallIfDifferent Rule(Kind kind, std::string version = "") {
  InstallIfDifferent rule;
  rule.kind = kind;
  rule.version = std::move(version);
  return rule;
}

package::Object Raw(std::string_view data, InstallIfDifferent rule) {
  package::Object object;
  object.mode = package::Mode::kRaw;
  object.filename = "image.bin";
  object.size = data.size();
  object.sha256sum = Sha256Hex(data);
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p1";
  object.install_if_different = std::move(rule);
  return object;
}

void Put(std::string& image, std::size_t at, std::string_view bytes) {
  if (image.size() < at + bytes.size()) image.resize(at + bytes.size(), '\0');
  image.replace(at, bytes.size(), bytes);
}

// A U-Boot legacy image (uImage) whose header names the kernel.
std::string UImage(const std::string& name) {
  std::string image(4096, '\0');
  Put(image, 0, "\x27\x05\x19\x56");
  Put(image, 32, name);
  return image;
}

// An x86 bzImage: boot flag, setup sectors and the kernel_version pointer.
std::string BzImage(const std::string& banner) {
  std::string image(8192, '\0');
  Put(image, 0x1F1, "\x04");                      // setup_sects
  Put(image, 0x1FE, "\x55\xAA");                  // boot_flag
  Put(image, 0x20E, std::string("\x00\x01", 2));  // kernel_version = 0x100 (+0x200)
  Put(image, 0x211, "\x01");                      // loadflags: bzImage
  Put(image, 0x300, banner);
  return image;
}

// An ARM zImage: magic at 0x24, the compressed kernel after the decompressor.
std::string ZImage(const std::string& banner) {
  std::string image(0x800, '\0');
  Put(image, 0x24, "\x18\x28\x6F\x01");
  Put(image, 0x400, testing::Compress(banner + std::string(2000, '\0'), testing::Filter::kGzip));
  return image;
}

class InstallIfDifferentTest : public ::testing::Test {
 protected:
  Expected<bool> Check(const package::Object& object, std::string_view target) {
    device_.AddFile(*object.target, target);
    return AlreadyInstalled(object, device_.ctx);
  }

  TempDir dir_;
  Device device_{dir_.path()};
};

TEST_F(InstallIfDifferentTest, NoRuleMeansInstall) {
  auto object = Raw("data", Rule(Kind::kSha256sum));
  object.install_if_different.reset();
  EXPECT_FALSE(*Check(object, "data"));
}

TEST_F(InstallIfDifferentTest, Sha256sumRaw) {
  const auto data = RandomBytes(10000);
  const auto object = Raw(data, Rule(Kind::kSha256sum));
  EXPECT_TRUE(*Check(object, data));
  EXPECT_TRUE(*Check(object, data + "rest of a larger partition"));
  EXPECT_FALSE(*Check(object, RandomBytes(10000, 9)));
  EXPECT_FALSE(*Check(object, data.substr(0, 9999)));
}

TEST_F(InstallIfDifferentTest, Sha256sumRawMissingTargetIsDifferent) {
  const auto object = Raw("data", Rule(Kind::kSha256sum));
  auto same = AlreadyInstalled(object, device_.ctx);
  ASSERT_TRUE(same) << same.error().message();
  EXPECT_FALSE(*same);
}

TEST_F(InstallIfDifferentTest, Sha256sumRawWithSeekSkipAndCount) {
  const auto data = RandomBytes(4096);
  auto object = Raw(data, Rule(Kind::kSha256sum));
  object.chunk_size = 512;
  object.seek = 2;
  object.skip = 1;
  object.count = 4;
  device_.ctx.object_file = testing::WriteObject(dir_.path(), data);
  const std::string written = data.substr(512, 2048);
  EXPECT_TRUE(*Check(object, std::string(1024, 'x') + written + "tail"));
  EXPECT_FALSE(*Check(object, std::string(1024, 'x') + data.substr(0, 2048)));
}

TEST_F(InstallIfDifferentTest, Sha256sumCompressedConformanceObject) {
  auto boot = testing::LoadTestObject("compressed.uhupkg", "boot.img.xz", dir_.path());
  ASSERT_TRUE(boot.object.install_if_different);
  ASSERT_EQ(boot.object.install_if_different->kind, Kind::kSha256sum);
  device_.ctx.object_file = boot.file;
  device_.AddFile("/dev/mmcblk0p1", std::string(70000, '\0'));
  EXPECT_FALSE(*AlreadyInstalled(boot.object, device_.ctx));
  ASSERT_TRUE(RawInstaller().Install(boot.object, device_.ctx));
  EXPECT_TRUE(*AlreadyInstalled(boot.object, device_.ctx));
}

TEST_F(InstallIfDifferentTest, Sha256sumCopy) {
  const auto partition = device_.AddDir("/dev/mmcblk0p3");
  std::filesystem::create_directories(partition / "etc");
  package::Object object;
  object.mode = package::Mode::kCopy;
  object.filename = "app.conf";
  object.size = 5;
  object.sha256sum = Sha256Hex("hello");
  object.target_type = package::TargetType::kDevice;
  object.target = "/dev/mmcblk0p3";
  object.target_path = "/etc/app.conf";
  object.filesystem = "ext4";
  object.install_if_different = Rule(Kind::kSha256sum);
  EXPECT_FALSE(*AlreadyInstalled(object, device_.ctx));  // no file yet
  uh::testing::WriteFile(partition / "etc/app.conf", "hello!");
  EXPECT_FALSE(*AlreadyInstalled(object, device_.ctx));  // longer: different
  uh::testing::WriteFile(partition / "etc/app.conf", "hello");
  EXPECT_TRUE(*AlreadyInstalled(object, device_.ctx));
}

TEST_F(InstallIfDifferentTest, Sha256sumFlash) {
  auto object = Raw("nor image", Rule(Kind::kSha256sum));
  object.mode = package::Mode::kFlash;
  object.target = "/dev/mtd0";
  EXPECT_TRUE(*Check(object, std::string("nor image") + std::string(100, '\xff')));
  EXPECT_FALSE(*Check(object, std::string(100, '\xff')));
}

TEST_F(InstallIfDifferentTest, LinuxKernelUImage) {
  const auto image = UImage("Linux-4.1.15-1.2.0+g274a055");
  EXPECT_TRUE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.1.15-1.2.0+g274a055")), image));
  EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.1.16")), image));
}

TEST_F(InstallIfDifferentTest, LinuxKernelX86BzImage) {
  const auto image = BzImage("4.1.30-1-MANJARO (builduser@foo) #1 SMP PREEMPT");
  EXPECT_TRUE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.1.30-1-MANJARO")), image));
  EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "5.10.0")), image));
  // A kernel_version pointer past the setup sectors finds nothing.
  auto bad = image;
  Put(bad, 0x1F1, std::string(1, '\0'));
  EXPECT_FALSE(*Check(Raw(bad, Rule(Kind::kLinuxKernel, "4.1.30-1-MANJARO")), bad));
}

TEST_F(InstallIfDifferentTest, LinuxKernelArmZImage) {
  const auto image = ZImage("Linux version 4.4.1 (builder@host) (gcc version 5.2.0) #1");
  EXPECT_TRUE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.4.1")), image));
  EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.4.2")), image));
}

TEST_F(InstallIfDifferentTest, LinuxKernelAtTheRawSeekOffset) {
  const auto image = UImage("Linux-5.15.0");
  auto object = Raw(image, Rule(Kind::kLinuxKernel, "5.15.0"));
  object.chunk_size = 1024;
  object.seek = 3;
  EXPECT_TRUE(*Check(object, std::string(3072, '\0') + image));
  EXPECT_FALSE(*Check(object, image));
}

TEST_F(InstallIfDifferentTest, UnknownKernelFormatIsDifferent) {
  const auto image = RandomBytes(4096);
  EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kLinuxKernel, "4.4.1")), image));
}

TEST_F(InstallIfDifferentTest, UBootAnywhereInTheTarget) {
  const std::string banner = "U-Boot SPL 2019.04-00014-gc93ced78db (Apr 10 2019 - 12:00:00)";
  for (const std::size_t at : {std::size_t{100}, std::size_t{65536 - 20}, std::size_t{200000}}) {
    std::string image(300000, '\0');
    Put(image, at, banner);
    EXPECT_TRUE(*Check(Raw(image, Rule(Kind::kUBoot, "2019.04-00014-gc93ced78db")), image)) << at;
    EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kUBoot, "2020.01")), image)) << at;
  }
}

// Found by fuzz/version_finder_fuzz (fuzz/regressions/version-finder-nul-in-uboot-version):
// the "maybe one character" before the dot was any character, so "U-Boot 2\0.4" gave the version
// "2\0.4" and "U-Boot 2019 .04" the version "2019 .04". Versions hold no whitespace or NUL.
TEST_F(InstallIfDifferentTest, VersionsHoldNoWhitespaceOrNul) {
  for (const std::string& version : {std::string("2\0.4", 4), std::string("2019 .04")}) {
    std::string image(1024, '\0');
    Put(image, 100, "U-Boot " + version + " (Apr 10 2019 - 12:00:00)");
    EXPECT_FALSE(*Check(Raw(image, Rule(Kind::kUBoot, version)), image)) << version;
  }
  const auto kernel = UImage("Linux-4 .1");
  EXPECT_FALSE(*Check(Raw(kernel, Rule(Kind::kLinuxKernel, "4 .1")), kernel));
}

TEST_F(InstallIfDifferentTest, CustomPatternWithSeekAndBufferSize) {
  std::string image(8192, '\0');
  Put(image, 5000, "product firmware version=3.2.1-rc1 built today");
  auto rule = Rule(Kind::kCustomPattern, "3.2.1-rc1");
  rule.regexp = R"(version=(\S+))";
  EXPECT_TRUE(*Check(Raw(image, rule), image));
  rule.seek = 4096;
  rule.buffer_size = 2048;
  EXPECT_TRUE(*Check(Raw(image, rule), image));
  rule.buffer_size = 800;  // the string is past the window
  EXPECT_FALSE(*Check(Raw(image, rule), image));
  rule.buffer_size = -1;
  rule.seek = 6000;  // the window starts after it
  EXPECT_FALSE(*Check(Raw(image, rule), image));
  rule.seek = 0;
  rule.version = "3.2.2";
  EXPECT_FALSE(*Check(Raw(image, rule), image));
}

TEST_F(InstallIfDifferentTest, CustomPatternInvalidRegexpIsAnError) {
  auto rule = Rule(Kind::kCustomPattern, "1");
  rule.regexp = "version=(";
  auto same = Check(Raw("version=1", rule), "version=1");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code(), Errc::kMalformed);
  EXPECT_NE(same.error().message().find("invalid regexp"), std::string::npos);
}

TEST_F(InstallIfDifferentTest, ModesWithoutTheCheck) {
  auto object = Raw("data", Rule(Kind::kSha256sum));
  object.mode = package::Mode::kImxkobs;
  EXPECT_FALSE(*Check(object, "data"));
}

}  // namespace
}  // namespace uh::agent
